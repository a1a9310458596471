//! A partner's profile: contact details and custom attributes (editable), enrollments with
//! their lifecycle (status, tier, commission), notes, and the activity timeline with filter,
//! search, paging and CSV export. Also the "add partner" form.

use crate::api::partners::{load_compliance, load_profile, load_timeline, AddNote, ChangeEnrollment, CreatePartner, ReviewDocument, UpdatePartner};
use crate::components::{ActionError, Async, DataTable, HealthPill, Outcome, PageHead, Pager, StatusBadge, TeamShell, TierBadge, FromDirectory};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Form;
use leptos_router::hooks::{use_navigate, use_params_map, use_query_map};
use models::{HealthBand, PartnerFields, PartnerProfile, ProfileEnrollment};
use std::collections::BTreeMap;


/// `/partners/:id`.
#[component]
pub fn PartnerPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let id = Memo::new(move |_| params.read().get("id").and_then(|i| i.parse::<i64>().ok()).unwrap_or(0));
    let kind = Memo::new(move |_| query.read().get("kind").filter(|k| !k.is_empty()));
    let q = Memo::new(move |_| query.read().get("q").filter(|k| !k.is_empty()));
    let page = Memo::new(move |_| query.read().get("page").and_then(|p| p.parse::<u64>().ok()).unwrap_or(1).max(1));
    let update = ServerAction::<UpdatePartner>::new();
    let change = ServerAction::<ChangeEnrollment>::new();
    let note = ServerAction::<AddNote>::new();
    let review = ServerAction::<ReviewDocument>::new();
    let compliance = Resource::new(move || (id.get(), review.version().get()), |(id, _)| load_compliance(id));
    let data = Resource::new(move || (id.get(), update.version().get(), change.version().get()), |(id, _, _)| load_profile(id, None, None));
    let timeline = Resource::new(
        move || (id.get(), kind.get(), q.get(), page.get(), note.version().get(), update.version().get(), change.version().get()),
        |(id, kind, q, page, ..)| load_timeline(id, kind, q, page),
    );
    view! {
        <TeamShell>
            <Title text="Partner"/>
            <Async resource=data loading="Loading…" let:p>
                <Profile p update change/>
            </Async>
            <Async resource=compliance let:c>
                <ComplianceCard c review/>
            </Async>
            <div class="section-head">
                <h2 class="section">"Activity timeline"</h2>
                <a class="btn" href=move || format!("/partners/{}/timeline.csv", id.get()) download>"Export CSV"</a>
            </div>
            <ActionForm action=note attr:class="card note-form">
                <input type="hidden" name="id" prop:value=move || id.get()/>
                <textarea name="text" rows="2" placeholder="Add a note for the team…" aria-label="Note" required></textarea>
                <button class="btn btn-primary" type="submit">"Add note"</button>
            </ActionForm>
            <ActionError action=note/>
            <Async resource=timeline loading="Loading the timeline…" let:t>
                {
                    let pid = id.get_untracked();
                    let selected = kind.get_untracked().unwrap_or_default();
                    let search = q.get_untracked().unwrap_or_default();
                    let link = {
                        let (selected, search) = (selected.clone(), search.clone());
                        move |p: u64| {
                        let mut parts = vec![format!("page={p}")];
                        if !selected.is_empty() { parts.push(format!("kind={selected}")); }
                        if !search.is_empty() { parts.push(format!("q={}", models::url_encode(&search))); }
                        format!("/partners/{pid}?{}", parts.join("&"))
                        }
                    };
                    view! {
                        <Form method="GET" action=format!("/partners/{pid}") attr:class="toolbar">
                            <select name="kind" aria-label="Event kind">
                                <option value="" selected=selected.is_empty()>"Everything"</option>
                                {t.kinds.iter().map(|k| view! { <option value=k.clone() selected=*k == selected>{k.replace('_', " ")}</option> }).collect_view()}
                            </select>
                            <input type="search" name="q" placeholder="Search the timeline" value=search.clone() aria-label="Search the timeline"/>
                            <button class="btn" type="submit">"Filter"</button>
                            <span class="muted">{format!("{} events", t.list.total)}</span>
                        </Form>
                        <ol class="timeline card">
                            {if t.list.items.is_empty() {
                                view! { <li class="muted">"Nothing here yet."</li> }.into_any()
                            } else {
                                t.list.items.into_iter().map(|t| view! {
                                    <li class=format!("ev ev-{}", t.kind)>
                                        <span class="ev-kind">{t.kind.replace('_', " ")}</span>
                                        <div class="ev-body">
                                            <div>{t.summary}</div>
                                            <div class="sub">{format!("{} · {}", t.at, t.actor)}</div>
                                        </div>
                                    </li>
                                }).collect_view().into_any()
                            }}
                        </ol>
                        <Pager total=t.list.total page=t.list.page per_page=t.list.per_page href=link/>
                    }
                }
            </Async>
        </TeamShell>
    }
}

/// Payout details, tax documents (to download, accept or reject) and the compliance status.
#[component]
fn ComplianceCard(c: models::PortalProfile, review: ServerAction<ReviewDocument>) -> impl IntoView {
    let method = c.payout_methods.iter().find(|m| m.0 == c.details.payout_method).map(|m| m.1.clone()).unwrap_or_else(|| "not set".into());
    let can_review = c.can_review;
    view! {
        <section class=format!("card compliance {}", if c.compliance.complete { "ok" } else { "todo" }) aria-label="Compliance">
            <h2>"Compliance: " <span class="compliance-summary">{c.compliance.summary.clone()}</span></h2>
            <dl class="facts">
                <div><dt>"Payout method"</dt><dd>{method}</dd></div>
                <div><dt>"Payout account"</dt><dd>{if c.details.payout_account.is_empty() { "—".to_string() } else { c.details.payout_account.clone() }}</dd></div>
                <div><dt>"Tax ID"</dt><dd>{if c.details.tax_id.is_empty() { "—".to_string() } else { c.details.tax_id.clone() }}</dd></div>
            </dl>
            {if c.documents.is_empty() {
                view! { <p class="muted">"No tax document uploaded yet (partners upload them in the portal's Profile page)."</p> }.into_any()
            } else {
                view! {
                    <ul class="doc-list">
                        {c.documents.into_iter().map(|d| {
                            let note = RwSignal::new(String::new());
                            let id = d.id;
                            view! {
                                <li>
                                    <a href=format!("/documents/{}", d.id) rel="external">{d.filename}</a>
                                    <span class="sub">{format!(" · {} · {}", d.size, d.uploaded)}</span>
                                    " "<span class=format!("badge doc-{}", d.status)>{d.status.clone()}</span>
                                    {d.note.map(|n| view! { <div class="sub">{n}</div> })}
                                    {(can_review && d.status == "received").then(|| view! {
                                        <div class="review">
                                            <input type="text" placeholder="Reason (to reject)" aria-label="Reason" prop:value=note on:input=move |ev| note.set(event_target_value(&ev))/>
                                            <button class="btn btn-small btn-primary" on:click=move |_| { review.dispatch(ReviewDocument { id, accept: true, note: None }); }>"Accept"</button>
                                            <button class="btn btn-small" on:click=move |_| { review.dispatch(ReviewDocument { id, accept: false, note: Some(note.get_untracked()) }); }>"Reject"</button>
                                        </div>
                                    })}
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
            <ActionError action=review/>
        </section>
    }
}

#[component]
fn Profile(p: PartnerProfile, update: ServerAction<UpdatePartner>, change: ServerAction<ChangeEnrollment>) -> impl IntoView {
    let pid = p.id;
    let editing = RwSignal::new(false);
    let can_edit = p.can_edit;
    let enrollments = p.enrollments.clone();
    view! {
        <PageHead title={p.name.clone()} intro={format!("{} · {} · partner since {}", p.email, p.company.clone().unwrap_or_else(|| "no company".into()), p.since)}>
            <div class="head-actions">
                <a class="btn" href=format!("/communication?partner={}", p.id)>"Message"</a>
                <a class="btn" href="/directory">"← Directory"</a>
            </div>
        </PageHead>
        <section class="kpis">
            <div class="kpi"><div class="kpi-value">{p.balances.0.clone()}</div><div class="kpi-label">"pending commission"</div></div>
            <div class="kpi"><div class="kpi-value">{p.balances.1.clone()}</div><div class="kpi-label">"approved, unpaid"</div></div>
            <div class="kpi"><div class="kpi-value">{p.balances.2.clone()}</div><div class="kpi-label">"paid"</div></div>
            <div class="kpi"><div class="kpi-value small-value">{p.owner.as_ref().map(|o| o.name.clone()).unwrap_or_else(|| "—".into())}</div><div class="kpi-label">"relationship owner"</div></div>
        </section>
        <Outcome action=update ok=|changed| if changed.is_empty() { "Nothing changed.".to_string() } else { format!("Saved: {}.", changed.join(", ")) }/>
        <div class="section-head">
            <h2 class="section">"Contact and attributes"</h2>
            {can_edit.then(|| view! { <button class="btn" on:click=move |_| editing.update(|e| *e = !*e)>{move || if editing.get() { "Cancel" } else { "Edit" }}</button> })}
        </div>
        {
            let p2 = p.clone();
            move || if editing.get() {
                view! { <EditForm p=p2.clone() update editing/> }.into_any()
            } else {
                view! { <Details p=p2.clone()/> }.into_any()
            }
        }
        <h2 class="section">"Programs"</h2>
        <Outcome action=change ok=|changed| if changed { "Enrollment updated." } else { "Already so; nothing changed." }.to_string()/>
        <DataTable cols=["Program", "Status", "Tier", "Commission", ">Revenue 90 d", "Health", "Joined"] rows=enrollments.clone()
            row=move |e| view! { <EnrollmentRow e pid can_edit change/> }/>
        {enrollments.into_iter().filter(|e| !e.health_parts.is_empty()).map(|e| view! { <HealthBreakdown e/> }).collect_view()}
    }
}

/// How an enrollment's health score is made: each part, its weight and what it added.
#[component]
fn HealthBreakdown(e: ProfileEnrollment) -> impl IntoView {
    let band = HealthBand::of(e.health, e.at_risk_threshold);
    view! {
        <section class="card health-breakdown" aria-label=format!("Health of {}", e.program)>
            <header class="health-head">
                <h3>{format!("Health in {}", e.program)}</h3>
                <HealthPill score=e.health band/>
                <span class="muted">{e.health_day.map(|d| format!("scored {d} · at risk below {}", e.at_risk_threshold))}</span>
            </header>
            <DataTable class="table compact" bare=true cols=["Part", ">Score", ">Weight", ">Adds", "Why"] rows=e.health_parts row=|p| view! {
                <tr class:excluded=p.score.is_none()>
                    <td>{p.label}</td>
                    <td class="num right">{p.score.map(|s| s.to_string()).unwrap_or_else(|| "—".into())}</td>
                    <td class="num right">{p.weight}</td>
                    <td class="num right">{p.contribution}</td>
                    <td class="muted">{p.detail}</td>
                </tr>
            }/>
        </section>
    }
}

#[component]
fn Details(p: PartnerProfile) -> impl IntoView {
    let row = |label: &'static str, v: Option<String>| view! { <div class="dl-row"><dt>{label}</dt><dd>{v.unwrap_or_else(|| "—".into())}</dd></div> };
    view! {
        <dl class="card details">
            {row("Email", Some(p.email.clone()))}
            {row("Company", p.company.clone())}
            {row("Phone", p.phone.clone())}
            {row("Website", p.website.clone())}
            {row("Country", p.country.clone())}
            {row("Acquisition source", p.source.clone())}
            {p.attributes.into_iter().map(|a| view! {
                <div class="dl-row"><dt>{a.field.label}</dt><dd>{a.value.map(|v| match v.as_str() { "true" => "yes".to_string(), "false" => "no".to_string(), _ => v }).unwrap_or_else(|| "—".into())}</dd></div>
            }).collect_view()}
        </dl>
    }
}

#[component]
fn EditForm(p: PartnerProfile, update: ServerAction<UpdatePartner>, editing: RwSignal<bool>) -> impl IntoView {
    let name = RwSignal::new(p.name.clone());
    let company = RwSignal::new(p.company.clone().unwrap_or_default());
    let source = RwSignal::new(p.source.clone().unwrap_or_default());
    let phone = RwSignal::new(p.phone.clone().unwrap_or_default());
    let website = RwSignal::new(p.website.clone().unwrap_or_default());
    let country = RwSignal::new(p.country.clone().unwrap_or_default());
    let owner = RwSignal::new(p.owner.as_ref().map(|o| o.id.to_string()).unwrap_or_default());
    let custom = RwSignal::new(p.attributes.iter().map(|a| (a.field.key.clone(), a.value.clone().unwrap_or_default())).collect::<BTreeMap<_, _>>());
    let id = p.id;
    let save = move |_| {
        update.dispatch(UpdatePartner {
            id,
            fields: PartnerFields {
                name: Some(name.get_untracked()),
                company: Some(company.get_untracked()),
                source: Some(source.get_untracked()),
                phone: Some(phone.get_untracked()),
                website: Some(website.get_untracked()),
                country: Some(country.get_untracked()),
                owner_user_id: Some(owner.get_untracked().parse().ok()),
                custom: custom.get_untracked(),
            },
        });
    };
    Effect::new(move |_| {
        if let Some(Ok(_)) = update.value().get() {
            editing.set(false);
        }
    });
    let input = |label: &'static str, sig: RwSignal<String>| view! {
        <label>{label}<input type="text" prop:value=sig on:input=move |ev| sig.set(event_target_value(&ev))/></label>
    };
    view! {
        <div class="card form-grid edit-partner">
            {input("Name", name)}
            {input("Company", company)}
            {input("Acquisition source", source)}
            {input("Phone", phone)}
            {input("Website", website)}
            {input("Country (2 letters)", country)}
            <label>"Relationship owner"
                <select on:change=move |ev| owner.set(event_target_value(&ev))>
                    <option value="">"nobody"</option>
                    {p.owners.iter().map(|o| view! { <option value=o.id selected=p.owner.as_ref().is_some_and(|x| x.id == o.id)>{o.name.clone()}</option> }).collect_view()}
                </select>
            </label>
            {p.attributes.into_iter().map(|a| {
                let key = a.field.key.clone();
                let k2 = key.clone();
                let value = move || custom.read().get(&k2).cloned().unwrap_or_default();
                let set = move |ev: leptos::ev::Event| { let v = event_target_value(&ev); let k = key.clone(); custom.update(|m| { m.insert(k, v); }); };
                let label = format!("{}{}", a.field.label, if a.field.required { " *" } else { "" });
                match a.field.kind {
                    models::FieldKind::Select => view! {
                        <label>{label}<select on:change=set>
                            <option value="">"—"</option>
                            {a.field.options.iter().map(|o| view! { <option value=o.clone() selected=a.value.as_deref() == Some(o.as_str())>{o.clone()}</option> }).collect_view()}
                        </select></label>
                    }.into_any(),
                    models::FieldKind::Boolean => view! {
                        <label>{label}<select on:change=set>
                            <option value="">"—"</option>
                            <option value="true" selected=a.value.as_deref() == Some("true")>"yes"</option>
                            <option value="false" selected=a.value.as_deref() == Some("false")>"no"</option>
                        </select></label>
                    }.into_any(),
                    models::FieldKind::Date => view! { <label>{label}<input type="date" prop:value=value on:input=set/></label> }.into_any(),
                    _ => view! { <label>{label}<input type="text" prop:value=value on:input=set/></label> }.into_any(),
                }
            }).collect_view()}
            <button class="btn btn-primary" disabled=move || update.pending().get() on:click=save>"Save"</button>
        </div>
    }
}

#[component]
fn EnrollmentRow(e: ProfileEnrollment, pid: i64, can_edit: bool, change: ServerAction<ChangeEnrollment>) -> impl IntoView {
    let program_id = e.program_id;
    let to_status = RwSignal::new(String::new());
    let reason = RwSignal::new(String::new());
    let commission = RwSignal::new(e.custom_commission.clone().unwrap_or_default());
    let dispatch = move |what: &str, value: String, reason: Option<String>| {
        change.dispatch(ChangeEnrollment { partner_id: pid, program_id, what: what.to_string(), value, reason });
    };
    let band = HealthBand::of(e.health, e.at_risk_threshold);
    let current_tier = e.tier.clone();
    view! {
        <tr>
            <td>{e.program.clone()}{e.dormant_since.clone().map(|d| view! { <div class="sub">{format!("dormant since {d}")}</div> })}</td>
            <td>
                <StatusBadge status=e.status/>
                {(can_edit && !e.next_statuses.is_empty()).then(|| view! {
                    <div class="inline-form">
                        <select aria-label="Change status" on:change=move |ev| to_status.set(event_target_value(&ev))>
                            <option value="">"Change to…"</option>
                            {e.next_statuses.iter().map(|s| view! { <option value=s.as_str()>{s.label()}</option> }).collect_view()}
                        </select>
                        <input type="text" placeholder="Reason (optional)" aria-label="Reason" prop:value=reason on:input=move |ev| reason.set(event_target_value(&ev))/>
                        <button class="btn" disabled=move || to_status.read().is_empty() || change.pending().get()
                            on:click=move |_| dispatch("status", to_status.get_untracked(), Some(reason.get_untracked()).filter(|r| !r.trim().is_empty()))>"Change"</button>
                    </div>
                })}
            </td>
            <td>
                <TierBadge tier=e.tier.clone()/>
                {can_edit.then(|| view! {
                    <div class="inline-form">
                        <select aria-label="Set tier" on:change=move |ev| { let v = event_target_value(&ev); if !v.is_empty() { dispatch("tier", v, None); } }>
                            <option value="">"Set tier…"</option>
                            {e.tiers.iter().filter(|t| **t != current_tier).map(|t| view! { <option value=t.clone()>{t.clone()}</option> }).collect_view()}
                        </select>
                    </div>
                })}
            </td>
            <td>
                {e.commission.clone()}
                {can_edit.then(|| view! {
                    <div class="inline-form">
                        <input type="text" placeholder="12.5% or 5.00" aria-label="Custom commission" prop:value=commission on:input=move |ev| commission.set(event_target_value(&ev))/>
                        <button class="btn" on:click=move |_| dispatch("commission", commission.get_untracked(), None)>"Set"</button>
                    </div>
                })}
            </td>
            <td class="num right">{e.revenue_90d.clone()}<div class="sub">{format!("{} conversions", e.conversions_90d)}</div></td>
            <td><HealthPill score=e.health band/></td>
            <td class="num">{e.joined.clone()}</td>
        </tr>
    }
}

/// `/directory/new`: add a partner by hand.
#[component]
pub fn NewPartnerPage() -> impl IntoView {
    let create = ServerAction::<CreatePartner>::new();
    let email = RwSignal::new(String::new());
    let name = RwSignal::new(String::new());
    let company = RwSignal::new(String::new());
    let source = RwSignal::new(String::new());
    let program = RwSignal::new(String::new());
    // The directory lists enrollments, so a new partner is enrolled in a program straight away.
    let programs = Resource::new(|| (), |_| crate::api::partners::list_directory(models::DirectoryQuery { per_page: 1, ..Default::default() }));
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(id)) = create.value().get() {
            navigate(&format!("/partners/{id}"), Default::default());
        }
    });
    let input = |label: &'static str, sig: RwSignal<String>| view! {
        <label>{label}<input type="text" prop:value=sig on:input=move |ev| sig.set(event_target_value(&ev))/></label>
    };
    view! {
        <FromDirectory title="Add partner" heading="Add a partner" intro="Custom attributes and enrollments can be set on the profile afterwards.">
            <div class="card form-grid">
                {input("Email", email)}
                {input("Name", name)}
                {input("Company", company)}
                {input("Acquisition source", source)}
                <label>"Program"
                    <select on:change=move |ev| program.set(event_target_value(&ev))>
                        <option value="">"Choose…"</option>
                        <Suspense fallback=|| ()>
                            {move || Suspend::new(async move {
                                programs.await.map(|p| p.programs.into_iter().map(|p| view! { <option value=p.id>{p.name}</option> }).collect_view()).ok()
                            })}
                        </Suspense>
                    </select>
                </label>
                <button class="btn btn-primary" disabled=move || create.pending().get() || program.read().is_empty() on:click=move |_| {
                    create.dispatch(CreatePartner {
                        email: email.get_untracked(),
                        fields: PartnerFields { name: Some(name.get_untracked()), company: Some(company.get_untracked()), source: Some(source.get_untracked()), ..Default::default() },
                        program_id: program.get_untracked().parse().ok(),
                    });
                }>"Add partner"</button>
            </div>
            <ActionError action=create/>
        </FromDirectory>
    }
}
