//! The partner's own records in the portal: earnings (conversions with filters and CSV, payout
//! history) at `/portal/earnings`, and profile, payout details, tax documents and compliance at
//! `/portal/profile`.

use crate::api::portal::{load_my_conversions, load_my_payouts, load_my_profile, UpdateMyProfile};
use crate::components::{PortalHead, Async, DataTable, Outcome, Pager, PortalShell};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use models::{ConversionFilter, ProfileInput};

fn filter_of(q: &leptos_router::params::ParamsMap) -> ConversionFilter {
    let get = |k: &str| q.get(k).filter(|v| !v.is_empty());
    ConversionFilter {
        program_id: get("program_id").and_then(|p| p.parse().ok()),
        status: get("status"),
        from: get("from"),
        to: get("to"),
        page: get("page").and_then(|p| p.parse().ok()),
    }
}

fn query_of(f: &ConversionFilter) -> String {
    let mut parts = Vec::new();
    if let Some(p) = f.program_id {
        parts.push(format!("program_id={p}"));
    }
    for (k, v) in [("status", &f.status), ("from", &f.from), ("to", &f.to)] {
        if let Some(v) = v {
            parts.push(format!("{k}={}", models::url_encode(v)));
        }
    }
    parts.join("&")
}

/// `/portal/earnings`: the partner's conversions with filters and CSV export, and payouts.
#[component]
pub fn PortalEarningsPage() -> impl IntoView {
    let query = use_query_map();
    let filter = Memo::new(move |_| filter_of(&query.read()));
    let data = Resource::new(move || filter.get(), load_my_conversions);
    let payouts = Resource::new(|| (), |_| load_my_payouts());
    view! {
        <PortalShell>
            <Title text="Earnings"/>
            <PortalHead title="Earnings" intro="Every conversion credited to you with its commission, and the payouts you received."/>
            <Async resource=data loading="Loading conversions…" let:page>
                {
                    let f = filter.get_untracked();
                    let qs = query_of(&f);
                    let csv = if qs.is_empty() { "/portal/conversions.csv".to_string() } else { format!("/portal/conversions.csv?{qs}") };
                    let page_link = move |n: u64| if qs.is_empty() { format!("/portal/earnings?page={n}") } else { format!("/portal/earnings?{qs}&page={n}") };
                    let (total, current, per_page, pages) = (page.list.total, page.list.page, page.list.per_page, page.list.pages());
                    view! {
                        <form class="card filters" method="get" action="/portal/earnings">
                            <label>"Program"
                                <select name="program_id">
                                    <option value="">"All programs"</option>
                                    {page.programs.iter().map(|(id, n)| view! { <option value=*id selected=f.program_id == Some(*id)>{n.clone()}</option> }).collect_view()}
                                </select>
                            </label>
                            <label>"Commission"
                                <select name="status">
                                    {[("", "Any status"), ("pending", "Pending"), ("approved", "Approved"), ("paid", "Paid"), ("void", "Void")].into_iter().map(|(v, l)| {
                                        let selected = f.status.as_deref().unwrap_or("") == v;
                                        view! { <option value=v selected=selected>{l}</option> }
                                    }).collect_view()}
                                </select>
                            </label>
                            <label>"From"<input type="date" name="from" value=f.from.clone().unwrap_or_default()/></label>
                            <label>"To"<input type="date" name="to" value=f.to.clone().unwrap_or_default()/></label>
                            <div class="filter-actions">
                                <button class="btn btn-primary" type="submit">"Filter"</button>
                                <a class="btn" href=csv rel="external" download="my-conversions.csv">"Export CSV"</a>
                            </div>
                        </form>
                        <p class="muted">{format!("{} conversion{}", page.list.total, if page.list.total == 1 { "" } else { "s" })}</p>
                        <DataTable class="table portal-conversions" cols=["Date", "Order", ">Amount", ">Commission", "Status"] rows=page.list.items
                            none="No conversions match." row=|r| view! {
                                <tr>
                                    <td data-label="Date">{r.date}<div class="sub">{r.program}</div></td>
                                    <td data-label="Order" class="sub">{r.reference}{(r.conversion_status == "refunded").then_some(" · refunded")}</td>
                                    <td data-label="Amount" class="num right">{r.amount}</td>
                                    <td data-label="Commission" class="num right">{r.commission}</td>
                                    <td data-label="Status"><span class=format!("badge ledger-{}", r.status)>{r.status.clone()}</span></td>
                                </tr>
                        }/>
                        {(pages > 1).then(|| view! {
                            <Pager total=total page=current per_page=per_page href=page_link/>
                        })}
                    }
                }
            </Async>
            <h2 class="section">"Payouts"</h2>
            <Async resource=payouts loading="Loading payouts…" let:rows>
                <DataTable class="table portal-payouts" cols=["Payout", "Program", ">Amount", "Status"] rows
                    none="No payouts yet. Approved commission is paid in the next payout run." row=|r| {
                        let class = format!("badge ledger-{}", if r.status == "paid" { "paid" } else { "approved" });
                        view! {
                        <tr>
                            <td data-label="Payout">{format!("#{} · {}", r.batch_id, r.created)}</td>
                            <td data-label="Program">{r.program}</td>
                            <td data-label="Amount" class="num right">{r.amount}</td>
                            <td data-label="Status"><span class=class>{r.paid.map(|p| format!("paid {p}")).unwrap_or(r.status)}</span></td>
                        </tr>
                                        }}/>
            </Async>
        </PortalShell>
    }
}

/// `/portal/profile`: contact and payout details, tax documents and compliance.
#[component]
pub fn PortalProfilePage() -> impl IntoView {
    let query = use_query_map();
    let save = ServerAction::<UpdateMyProfile>::new();
    let data = Resource::new(move || save.version().get(), |_| load_my_profile());
    view! {
        <PortalShell>
            <Title text="Profile"/>
            <PortalHead title="Profile" intro="Your contact details, how you are paid, and your tax documents."/>
            {move || query.read().get("uploaded").map(|_| view! { <div class="notice" role="status">"Document uploaded: the team reviews it shortly."</div> })}
            {move || query.read().get("error").map(|e| view! { <div class="error" role="alert">{e}</div> })}
            <Async resource=data loading="Loading profile…" let:p>
                {
                    let form = RwSignal::new(p.details.clone());
                    let field = move |label: &'static str, get: fn(&ProfileInput) -> String, set: fn(&mut ProfileInput, String), kind: &'static str| view! {
                        <label>{label}
                            <input type=kind aria-label=label value=form.with_untracked(get) on:input=move |ev| form.update(|f| set(f, event_target_value(&ev)))/>
                        </label>
                    };
                    view! {
                        <section class=format!("card compliance {}", if p.compliance.complete { "ok" } else { "todo" })>
                            <h2>"Compliance: " <span class="compliance-summary">{p.compliance.summary.clone()}</span></h2>
                            <ul class="checklist">
                                {p.compliance.items.iter().map(|i| view! {
                                    <li class:ok=i.ok><span aria-hidden="true">{if i.ok { "✓" } else { "•" }}</span>" "<strong>{i.label.clone()}</strong>": "{i.detail.clone()}</li>
                                }).collect_view()}
                            </ul>
                        </section>
                        <section class="card profile-form">
                            <h2>"Details"</h2>
                            <div class="form-grid">
                                {field("Name", |f| f.name.clone(), |f, v| f.name = v, "text")}
                                <label>"Email"<input type="email" value=p.email.clone() disabled/></label>
                                {field("Company", |f| f.company.clone(), |f, v| f.company = v, "text")}
                                {field("Phone", |f| f.phone.clone(), |f, v| f.phone = v, "tel")}
                                {field("Website", |f| f.website.clone(), |f, v| f.website = v, "url")}
                                {field("Country (2 letters)", |f| f.country.clone(), |f, v| f.country = v, "text")}
                            </div>
                            <h3>"Payout details"</h3>
                            <div class="form-grid">
                                <label>"Payout method"
                                    <select aria-label="Payout method" on:change=move |ev| form.update(|f| f.payout_method = event_target_value(&ev))>
                                        <option value="">"Choose…"</option>
                                        {p.payout_methods.iter().map(|(v, l)| view! { <option value=v.clone() selected=p.details.payout_method == *v>{l.clone()}</option> }).collect_view()}
                                    </select>
                                </label>
                                {field("Payout account (PayPal/Wise email or IBAN)", |f| f.payout_account.clone(), |f, v| f.payout_account = v, "text")}
                                {field("Tax ID (optional)", |f| f.tax_id.clone(), |f, v| f.tax_id = v, "text")}
                            </div>
                            <div class="actions">
                                <button class="btn btn-primary" type="button" disabled=move || save.pending().get()
                                    on:click=move |_| { save.dispatch(UpdateMyProfile { input: form.get_untracked() }); }>"Save details"</button>
                            </div>
                            <Outcome action=save ok=|()| "Saved.".to_string()/>
                        </section>
                        <section class="card documents">
                            <h2>"Tax documents"</h2>
                            <p class="sub">{format!("Upload your tax form (W-9, W-8BEN or your country's equivalent): {}.", p.upload_limit)}</p>
                            <form method="post" action="/portal/documents" enctype="multipart/form-data" class="upload">
                                <input type="file" name="file" aria-label="Tax document" accept="application/pdf,image/png,image/jpeg" required/>
                                <button class="btn btn-primary" type="submit">"Upload"</button>
                            </form>
                            {if p.documents.is_empty() {
                                view! { <p class="muted">"No documents yet."</p> }.into_any()
                            } else {
                                view! {
                                    <ul class="doc-list">
                                        {p.documents.into_iter().map(|d| view! {
                                            <li>
                                                <a href=format!("/documents/{}", d.id) rel="external">{d.filename}</a>
                                                <span class="sub">{format!(" · {} · {}", d.size, d.uploaded)}</span>
                                                " "<span class=format!("badge doc-{}", d.status)>{d.status.clone()}</span>
                                                {d.note.map(|n| view! { <div class="sub">{n}</div> })}
                                            </li>
                                        }).collect_view()}
                                    </ul>
                                }.into_any()
                            }}
                        </section>
                    }
                }
            </Async>
        </PortalShell>
    }
}
