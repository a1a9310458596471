//! A partner's profile: contact, enrollments, balances and the activity timeline.

use crate::api::partners::load_profile;
use crate::components::{ErrorNote, StatusBadge, TeamShell, TierBadge};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Form;
use leptos_router::hooks::{use_params_map, use_query_map};

/// `/partners/:id`.
#[component]
pub fn PartnerPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let id = Memo::new(move |_| params.read().get("id").and_then(|i| i.parse::<i64>().ok()).unwrap_or(0));
    let kind = Memo::new(move |_| query.read().get("kind").filter(|k| !k.is_empty()));
    let data = Resource::new(move || (id.get(), kind.get()), |(id, kind)| load_profile(id, kind));
    view! {
        <TeamShell>
            <Title text="Partner"/>
            <Transition fallback=|| view! { <div class="loading">"Loading…"</div> }>
                {move || {
                    Suspend::new(async move {
                    match data.await {
                        Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                        Ok(p) => {
                            let pid = p.id;
                            let selected = kind.get_untracked().unwrap_or_default();
                            view! {
                                <header class="page-head">
                                    <div>
                                        <h1>{p.name.clone()}</h1>
                                        <p class="muted">{format!("{} · {} · partner since {}", p.email, p.company.clone().unwrap_or_else(|| "no company".into()), p.since)}</p>
                                    </div>
                                    <a class="btn" href="/directory">"← Directory"</a>
                                </header>
                                <section class="kpis">
                                    <div class="kpi"><div class="kpi-value">{p.balances.0.clone()}</div><div class="kpi-label">"pending commission"</div></div>
                                    <div class="kpi"><div class="kpi-value">{p.balances.1.clone()}</div><div class="kpi-label">"approved, unpaid"</div></div>
                                    <div class="kpi"><div class="kpi-value">{p.balances.2.clone()}</div><div class="kpi-label">"paid"</div></div>
                                    <div class="kpi"><div class="kpi-value small-value">{p.source.clone().unwrap_or_else(|| "—".into())}</div><div class="kpi-label">"acquisition source"</div></div>
                                </section>
                                <h2 class="section">"Programs"</h2>
                                <div class="card table-card">
                                    <table class="table">
                                        <thead><tr><th>"Program"</th><th>"Status"</th><th>"Tier"</th><th>"Commission"</th><th>"Joined"</th></tr></thead>
                                        <tbody>
                                            {p.enrollments.into_iter().map(|e| view! {
                                                <tr>
                                                    <td>{e.program}{e.dormant_since.map(|d| view! { <div class="sub">{format!("dormant since {d}")}</div> })}</td>
                                                    <td><StatusBadge status=e.status/></td>
                                                    <td><TierBadge tier=e.tier/></td>
                                                    <td>{e.commission}</td>
                                                    <td class="num">{e.joined}</td>
                                                </tr>
                                            }).collect_view()}
                                        </tbody>
                                    </table>
                                </div>
                                <div class="section-head">
                                    <h2 class="section">"Activity timeline"</h2>
                                    <Form method="GET" action=format!("/partners/{pid}") attr:class="picker">
                                        <label class="picker">"Show "
                                            <select name="kind" aria-label="Event kind" onchange="this.form.requestSubmit()">
                                                <option value="" selected=selected.is_empty()>"everything"</option>
                                                {p.kinds.iter().map(|k| view! { <option value=k.clone() selected=*k == selected>{k.replace('_', " ")}</option> }).collect_view()}
                                            </select>
                                        </label>
                                        <noscript><button class="btn" type="submit">"Filter"</button></noscript>
                                    </Form>
                                </div>
                                <ol class="timeline card">
                                    {if p.timeline.is_empty() {
                                        view! { <li class="muted">"Nothing here yet."</li> }.into_any()
                                    } else {
                                        p.timeline.into_iter().map(|t| view! {
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
                            }.into_any()
                        }
                    }
                })}}
            </Transition>
        </TeamShell>
    }
}
