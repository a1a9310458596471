//! The partner portal landing page.

use crate::api::tracking::{my_links, CreateMyLink};
use crate::api::portal::{load_portal_dashboard, load_portal_home, ResendVerification};
use crate::components::{copy, Async, DataTable, ErrorNote, OutcomeView, PortalShell, StatusBadge, TierBadge};
use leptos::prelude::*;
use leptos_meta::Title;

/// `/portal`.
#[component]
pub fn PortalPage() -> impl IntoView {
    let home = Resource::new(|| (), |_| load_portal_home());
    // Created here, not inside the Suspend below, so server and browser create resources in the
    // same order during hydration.
    let create = ServerAction::<CreateMyLink>::new();
    let resend = ServerAction::<ResendVerification>::new();
    let days = RwSignal::new(30i64);
    let dash = Resource::new(move || days.get(), load_portal_dashboard);
    let links = Resource::new(move || create.version().get(), |_| my_links());
    view! {
        <PortalShell>
            <Title text="Portal"/>
            <Async resource=home loading="Loading…" suspense=true let:h>
                {
                    let programs: Vec<_> = h.enrollments.iter().filter(|e| e.status == models::EnrollmentStatus::Active).map(|e| (e.program_id, e.program.clone(), e.allowed_hosts.clone())).collect();
                    view! {
                    {h.email_unverified.then(|| view! {
                        <div class="notice verify-notice" role="status">
                            <strong>"Please verify your email."</strong>
                            " We sent you a link when you applied; open it to confirm your address. "
                            {move || match resend.value().get() {
                                Some(Ok(())) => view! { <span>"A new link is on its way."</span> }.into_any(),
                                Some(Err(e)) => view! { <ErrorNote error=e/> }.into_any(),
                                None => view! { <button class="btn btn-small" on:click=move |_| { resend.dispatch(ResendVerification {}); }>"Send it again"</button> }.into_any(),
                            }}
                        </div>
                    })}
                    <section class="portal-hero">
                        <h1>"Welcome back, " {h.partner_name.clone()}</h1>
                        <p class="muted">"Your partnership with " {h.account_name.clone()}</p>
                    </section>
                    <section class="cards">
                        {h.enrollments.into_iter().map(|e| view! {
                            <article class="card enrollment">
                                <header>
                                    <h2>{e.program}</h2>
                                    <StatusBadge status=e.status/>
                                </header>
                                <dl class="facts">
                                    <div><dt>"Tier"</dt><dd><TierBadge tier=e.tier/></dd></div>
                                    <div><dt>"Commission"</dt><dd>{e.commission}</dd></div>
                                    <div><dt>"Partner since"</dt><dd>{e.joined}</dd></div>
                                </dl>
                            </article>
                        }).collect_view()}
                    </section>
                    <Dashboard days dash/>
                    <Links programs create links/>
                }}
            </Async>
        </PortalShell>
    }
}

/// The partner's tracking links and a form to create one.
#[component]
fn Links(
    programs: Vec<(i64, String, Vec<String>)>,
    create: ServerAction<CreateMyLink>,
    links: Resource<Result<Vec<models::LinkRow>, crate::error::AppError>>,
) -> impl IntoView {
    let copied = RwSignal::new(None::<String>);
    let hosts = programs.first().map(|p| p.2.join(", ")).unwrap_or_default();
    let can_create = !programs.is_empty();
    view! {
        <section class="portal-links" id="links">
            <h2 class="section">"Your links"</h2>
            {can_create.then(|| view! {
                <ActionForm action=create attr:class="card link-form">
                    <label>
                        "Program"
                        <select name="program_id">
                            {programs.iter().map(|(id, name, _)| view! { <option value=*id>{name.clone()}</option> }).collect_view()}
                        </select>
                    </label>
                    <label class="grow">
                        "Page to link to (optional)"
                        <input type="url" name="destination" placeholder="https://…"/>
                        <span class="sub">{format!("Allowed: {hosts} and their subdomains")}</span>
                    </label>
                    <button type="submit" class="btn btn-primary" disabled=move || create.pending().get()>"Create link"</button>
                </ActionForm>
            })}
            <OutcomeView action=create ok=|url| view! { <div class="notice" role="status">"New link: " <code>{url}</code></div> }/>
            <Async resource=links loading="Loading links…" let:rows>
                <DataTable class="table links" cols=["Link", "Leads to", ">Clicks", ">Conversions", ""] rows
                    none="No links yet: create one above and share it." row=move |l| {
                        let url = l.url.clone();
                        let shown = l.url.clone();
                        let is_copied = move || copied.get().as_deref() == Some(shown.as_str());
                        view! {
                            <tr>
                                <td><code class="link-url">{l.url.clone()}</code><div class="sub">{format!("{} · {}", l.program, l.created)}</div></td>
                                <td class="sub dest">{l.destination}</td>
                                <td class="num right">{l.clicks}</td>
                                <td class="num right">{l.conversions}</td>
                                <td><button class="btn" on:click=move |_| { copy(url.clone()); copied.set(Some(url.clone())); }>
                                    {move || if is_copied() { "Copied" } else { "Copy" }}
                                </button></td>
                            </tr>
                        }
                }/>
            </Async>
        </section>
    }
}

/// Performance and earnings per program for a chosen window, and the latest conversions.
#[component]
fn Dashboard(days: RwSignal<i64>, dash: Resource<Result<models::PortalDashboard, crate::error::AppError>>) -> impl IntoView {
    view! {
        <section class="portal-dash" id="earnings">
            <div class="dash-head">
                <h2 class="section">"Performance"</h2>
                <div class="window-picker" role="group" aria-label="Window">
                    {[30i64, 90, 365].into_iter().map(|d| view! {
                        <button class="btn btn-small" class:active=move || days.get() == d aria-pressed=move || (days.get() == d).to_string()
                            on:click=move |_| days.set(d)>{format!("{d} days")}</button>
                    }).collect_view()}
                </div>
            </div>
            <Async resource=dash loading="Loading…" let:d>
                {d.programs.into_iter().map(|p| view! {
                    <article class="card perf" data-program=p.program_id>
                        <h3>{p.program}</h3>
                        <div class="kpis">
                            <div class="kpi"><span class="kpi-label">"Clicks"</span><span class="kpi-value" data-kpi="clicks">{p.clicks}</span></div>
                            <div class="kpi"><span class="kpi-label">"Conversions"</span><span class="kpi-value" data-kpi="conversions">{p.conversions}</span></div>
                            <div class="kpi"><span class="kpi-label">"Conversion rate"</span><span class="kpi-value">{p.conversion_rate}</span></div>
                            <div class="kpi"><span class="kpi-label">"Earned"</span><span class="kpi-value">{p.earnings}</span></div>
                        </div>
                        <div class="balances">
                            <div class="bal pending"><span>"Pending"</span><strong data-bal="pending">{p.pending}</strong></div>
                            <div class="bal approved"><span>"Approved"</span><strong data-bal="approved">{p.approved}</strong></div>
                            <div class="bal paid"><span>"Paid"</span><strong data-bal="paid">{p.paid}</strong></div>
                        </div>
                        <p class="next-payout">{p.next_payout}</p>
                        <div class="tier-progress">
                            <div class="tp-head">
                                <span>"Tier " <TierBadge tier=p.tier.current.clone()/> " · " {p.tier.rate.clone()}</span>
                                {p.tier.next.clone().map(|n| view! { <span class="muted">"Next: " {n} " · " {p.tier.next_rate.clone().unwrap_or_default()}</span> })}
                            </div>
                            {p.tier.next.is_some().then(|| view! {
                                <div class="tp-bar" role="progressbar" aria-valuemin="0" aria-valuemax="100" aria-valuenow=p.tier.percent>
                                    <span style=format!("width:{}%", p.tier.percent)></span>
                                </div>
                            })}
                            <p class="tp-missing">{p.tier.missing.clone().unwrap_or_else(|| "You are in the top tier.".to_string())}</p>
                            {p.tier.rule.clone().map(|r| view! { <p class="tp-rule muted small">"Rule: " {r}</p> })}
                        </div>
                    </article>
                }).collect_view()}
                <h2 class="section">"Recent conversions"</h2>
                <DataTable class="table recent-conversions" cols=["Date", "Program", ">Order", ">Commission", "Status"] rows=d.recent
                    none="No conversions yet: share your links to earn your first commission." row=|c| view! {
                        <tr>
                            <td data-label="Date">{c.date}</td>
                            <td data-label="Program">{c.program}</td>
                            <td class="num right" data-label="Order">{c.amount}</td>
                            <td class="num right" data-label="Commission">{c.commission}</td>
                            <td data-label="Status"><span class=format!("badge ledger-{}", c.status)>{c.status.clone()}</span></td>
                        </tr>
                }/>
            </Async>
        </section>
    }
}
