//! Analytics: the KPI dashboard (`/analytics`), the executive view (`/analytics/executive`) and
//! custom dashboards (`/analytics/dashboards`). Charts arrive as server-rendered SVG strings and
//! are inserted as they are, so the hydrated page matches the server's byte for byte.

use crate::api::analytics::{load_custom_dashboard, load_dashboard, DeleteDashboard, SaveDashboard};
use crate::components::{ActionError, Async, Col, DataTable, PageHead, TeamShell};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use models::{CohortTable, Dashboard, DashboardDef, Kpi, RenderedDashboard, RiskRow, TierHealth, Widget, WIDGET_KINDS};

const WINDOWS: &[(u32, &str)] = &[(7, "Last 7 days"), (30, "Last 30 days"), (90, "Last 90 days"), (365, "Last 365 days")];

fn scope_query(program: Option<i64>, days: Option<u32>) -> String {
    let mut q = Vec::new();
    if let Some(p) = program {
        q.push(format!("program_id={p}"));
    }
    if let Some(d) = days {
        q.push(format!("days={d}"));
    }
    if q.is_empty() { String::new() } else { format!("?{}", q.join("&")) }
}

#[component]
fn KpiCards(kpis: Vec<Kpi>) -> impl IntoView {
    view! {
        <div class="an-kpis">
            {kpis.into_iter().map(|k| {
                let class = match (&k.change, k.up) {
                    (None, _) => "an-change flat",
                    (Some(_), true) => "an-change up",
                    (Some(_), false) => "an-change down",
                };
                view! {
                    <div class="an-kpi" data-kpi=k.key.clone()>
                        <div class="an-kpi-label">{k.label.clone()}</div>
                        <div class="an-kpi-value">{k.value.clone()}</div>
                        <div class="an-kpi-foot">
                            <span class=class>{k.change.clone().unwrap_or_else(|| "new".into())}</span>
                            <span class="muted">{format!(" vs {}", k.previous)}</span>
                        </div>
                    </div>
                }
            }).collect_view()}
        </div>
    }
    .into_any()
}

/// A chart card: the SVG, a title and the download link.
#[component]
fn Chart(title: String, svg: String, download: String) -> impl IntoView {
    view! {
        <figure class="an-chart">
            <figcaption>
                <span>{title}</span>
                <a class="an-dl noprint" href=download download="">"SVG"</a>
            </figcaption>
            <div class="an-svg" inner_html=svg></div>
        </figure>
    }
    .into_any()
}

#[component]
fn CohortGrid(table: CohortTable, csv: String) -> impl IntoView {
    let tiers = table.tiers.clone();
    view! {
        <div class="an-table-wrap">
            <div class="an-table-head">
                <h3>"Revenue by week and tier at the time"</h3>
                <a class="an-dl noprint" href=csv>"CSV"</a>
            </div>
            <table class="an-table">
                <thead>
                    <tr>
                        <th>"Week of"</th>
                        {tiers.iter().map(|t| view! { <th class="num">{t.clone()}</th> }).collect_view()}
                    </tr>
                </thead>
                <tbody>
                    {table.rows.iter().rev().map(|r| view! {
                        <tr>
                            <td>{r.week_start.clone()}</td>
                            {r.revenue.iter().zip(r.conversions.iter()).zip(r.partners.iter()).map(|((rev, c), p)| view! {
                                <td class="num" title=format!("{c} conversions, {p} partners")>{rev.clone()}<span class="an-sub">{format!("{c} conv · {p} partners")}</span></td>
                            }).collect_view()}
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}

#[component]
fn HealthTable(rows: Vec<TierHealth>, threshold: i32, csv: String) -> impl IntoView {
    view! {
        <div class="an-table-wrap">
            <div class="an-table-head">
                <h3>"Health by tier"</h3>
                <a class="an-dl noprint" href=csv>"CSV"</a>
            </div>
            <DataTable class="an-table" bare=true rows
                cols=vec![Col::from("Tier"), Col::num("Active partners"), Col::num("Average health"), Col::num(format!("At risk (< {threshold})"))]
                row=|h| {
                    let avg = h.average.clone().unwrap_or_else(|| "—".into());
                    let width = h.average.as_deref().and_then(|a| a.parse::<f32>().ok()).unwrap_or(0.0);
                    view! {
                        <tr>
                            <td>{h.tier.clone()}</td>
                            <td class="num">{h.enrollments}</td>
                            <td class="num"><span class="an-meter"><span style=format!("width:{width:.0}%")></span></span>{avg}</td>
                            <td class="num">{h.at_risk}</td>
                        </tr>
                    }
            }/>
        </div>
    }
    .into_any()
}

#[component]
fn RiskTable(title: &'static str, rows: Vec<RiskRow>, csv: String, directory: String, empty: &'static str) -> impl IntoView {
    let n = rows.len();
    view! {
        <section class="card an-section" data-list=title>
            <div class="an-table-head">
                <h2>{title}<span class="an-count">{n}</span></h2>
                <span class="noprint">
                    <a class="btn" href=directory>"Open in directory"</a>
                    " "
                    <a class="an-dl" href=csv>"CSV"</a>
                </span>
            </div>
            <DataTable class="an-table" bare=true none=empty rows
                cols=vec![Col::from("Partner"), Col::from("Tier"), Col::num("Health"), Col::from("Why"), Col::from("Last conversion")]
                row=|r| {
                    let parts = r.parts.clone();
                    view! {
                        <tr>
                            <td><a href=format!("/partners/{}", r.partner_id)>{r.name.clone()}</a></td>
                            <td>{r.tier.clone()}</td>
                            <td class="num"><span class="an-score">{r.score.map(|s| s.to_string()).unwrap_or_else(|| "—".into())}</span></td>
                            <td>
                                {r.reason.clone()}
                                {(!parts.is_empty()).then(|| view! {
                                    <details class="an-parts">
                                        <summary>"Score parts"</summary>
                                        <DataTable class="an-table" bare=true rows=parts
                                            cols=vec![Col::from("Part"), Col::num("Score"), Col::num("Weight"), Col::num("Points"), Col::from("Detail")]
                                            row=|p| view! {
                                                <tr>
                                                    <td>{p.label}</td>
                                                    <td class="num">{p.score.map(|s| s.to_string()).unwrap_or_else(|| "excluded".into())}</td>
                                                    <td class="num">{p.weight}</td>
                                                    <td class="num">{p.contribution}</td>
                                                    <td>{p.detail}</td>
                                                </tr>
                                        }/>
                                    </details>
                                }.into_any())}
                            </td>
                            <td>{r.last_conversion.clone()}</td>
                        </tr>
                    }.into_any()
            }/>
        </section>
    }
    .into_any()
}

fn toolbar(d: &Dashboard, days: u32, action: &'static str) -> impl IntoView {
    let custom = !WINDOWS.iter().any(|(w, _)| *w == days);
    view! {
        <form class="toolbar an-toolbar noprint" method="get" action=action>
            <label class="picker">
                "Program "
                <select name="program_id" aria-label="Program">
                    <option value="" selected=d.program_id.is_none()>"All programs"</option>
                    {d.programs.iter().map(|(id, name)| view! {
                        <option value=*id selected=d.program_id == Some(*id)>{name.clone()}</option>
                    }).collect_view()}
                </select>
            </label>
            <label class="picker">
                "Window "
                <select name="days" aria-label="Window">
                    {WINDOWS.iter().map(|(w, label)| view! { <option value=*w selected=*w == days>{*label}</option> }).collect_view()}
                    {custom.then(|| view! { <option value=days selected=true>{format!("Last {days} days")}</option> })}
                </select>
            </label>
            <button class="btn" type="submit">"Apply"</button>
        </form>
    }
    .into_any()
}

fn read_scope() -> (Memo<Option<i64>>, Memo<u32>) {
    let query = use_query_map();
    let program = Memo::new(move |_| query.read().get("program_id").and_then(|p| p.parse::<i64>().ok()));
    let days = Memo::new(move |_| query.read().get("days").and_then(|d| d.parse::<u32>().ok()).unwrap_or(30));
    (program, days)
}

/// `/analytics`: the KPI dashboard.
#[component]
pub fn AnalyticsPage() -> impl IntoView {
    let (program, days) = read_scope();
    let data = Resource::new(move || (program.get(), days.get()), |(p, d)| load_dashboard(p, Some(d)));
    view! {
        <TeamShell>
            <Title text="Analytics"/>
            <Async resource=data loading="Loading analytics…" suspense=true let:d>
                {
                    let days = days.get_untracked();
                    let scope = scope_query(d.program_id, Some(days));
                    let executive = format!("/analytics/executive{scope}");
                    let dir_program = d.program_id.map(|p| format!("&program_id={p}")).unwrap_or_default();
                    view! {
                        <PageHead title="Analytics" intro={format!("{} · compared with the {}", d.window, d.previous_window.to_lowercase())}>
                            <div class="noprint">
                                <a class="btn" href=executive>"Executive view"</a>
                                " "
                                <a class="btn" href="/analytics/dashboards">"Custom dashboards"</a>
                            </div>
                        </PageHead>
                        {toolbar(&d, days, "/analytics")}
                        {view! { <section class="card an-section">
                            <div class="an-table-head">
                                <h2>"Key figures"</h2>
                                <a class="an-dl noprint" href=format!("/analytics/tables/kpis.csv{scope}")>"CSV"</a>
                            </div>
                            <KpiCards kpis=d.kpis.clone()/>
                        </section> }.into_any()}
                        {view! { <section class="card an-section">
                            <h2>"Tier cohorts, last 12 weeks"</h2>
                            <p class="muted">"Each conversion counts in the tier the partner held when it happened."</p>
                            <div class="an-cohort">
                                <Chart title="Revenue by tier cohort".into() svg=d.cohort_svg.clone() download=format!("/analytics/charts/cohort.svg{scope}")/>
                                <CohortGrid table=d.cohort.clone() csv=format!("/analytics/tables/cohorts.csv{scope}")/>
                            </div>
                        </section> }.into_any()}
                        {view! { <div class="an-two">
                            <section class="card an-section">
                                <Chart title="Revenue trend".into() svg=d.revenue_svg.clone() download=format!("/analytics/charts/revenue.svg{scope}")/>
                            </section>
                            <section class="card an-section">
                                <Chart title="Tier mix".into() svg=d.tier_mix_svg.clone() download=format!("/analytics/charts/tier_mix.svg{scope}")/>
                            </section>
                        </div> }.into_any()}
                        {view! { <section class="card an-section">
                            <HealthTable rows=d.health.clone() threshold=d.threshold csv=format!("/analytics/tables/health.csv{scope}")/>
                        </section> }.into_any()}
                        {view! { <RiskTable
                            title="At risk"
                            rows=d.at_risk.clone()
                            csv=format!("/analytics/tables/at_risk.csv{scope}")
                            directory=format!("/directory?health=at_risk{dir_program}")
                            empty="No active partner scores below the threshold."
                        /> }.into_any()}
                        {view! { <RiskTable
                            title="Dormant"
                            rows=d.dormant.clone()
                            csv=format!("/analytics/tables/dormant.csv{scope}")
                            directory=format!("/directory?status=active{dir_program}")
                            empty="No dormant partners."
                        /> }.into_any()}
                        {view! { <section class="card an-section">
                            <div class="an-table-head">
                                <h2>"Top partners"</h2>
                                <a class="an-dl noprint" href=format!("/analytics/tables/top.csv{scope}")>"CSV"</a>
                            </div>
                            <DataTable class="an-table" bare=true rows=d.top.clone()
                                cols=vec![Col::from("Partner"), Col::from("Tier"), Col::num("Revenue"), Col::num("Conversions")]
                                row=|t| view! {
                                    <tr>
                                        <td><a href=format!("/partners/{}", t.partner_id)>{t.name.clone()}</a></td>
                                        <td>{t.tier.clone()}</td>
                                        <td class="num">{t.revenue.clone()}</td>
                                        <td class="num">{t.conversions}</td>
                                    </tr>
                            }/>
                        </section> }.into_any()}
                        {view! { <section class="card an-section an-broadcasts">
                            <div class="an-table-head">
                                <h2>"Broadcasts"</h2>
                                <a class="an-dl noprint" href="/communication?view=broadcasts">"All broadcasts"</a>
                            </div>
                            <DataTable class="an-table" bare=true rows=d.broadcasts.clone() none="No broadcast sent in this window."
                                cols=vec![Col::from("Broadcast"), Col::num("Sent"), Col::num("Delivered"), Col::num("Opened"), Col::num("Open rate")]
                                row=|b| view! {
                                    <tr>
                                        <td>{b.subject.clone()}<div class="sub">{format!("{} · {}", b.audience, b.send_at)}</div></td>
                                        <td class="num">{b.recipients}</td>
                                        <td class="num">{b.delivered}</td>
                                        <td class="num">{b.opened}</td>
                                        <td class="num">{b.open_rate.clone()}</td>
                                    </tr>
                            }/>
                        </section> }.into_any()}
                    }
                }
            </Async>
        </TeamShell>
    }
}

/// `/analytics/executive`: one printable page for leadership.
#[component]
pub fn ExecutivePage() -> impl IntoView {
    let (program, days) = read_scope();
    let data = Resource::new(move || (program.get(), days.get()), |(p, d)| load_dashboard(p, Some(d)));
    view! {
        <TeamShell>
            <Title text="Executive view"/>
            <Async resource=data loading="Loading…" suspense=true let:d>
                {
                    let days = days.get_untracked();
                    let scope = scope_query(d.program_id, Some(days));
                    let full = format!("/analytics{scope}");
                    let program_name = d.program_id.and_then(|p| d.programs.iter().find(|x| x.0 == p)).map_or_else(|| "All programs".to_string(), |x| x.1.clone());
                    view! {
                        <div class="an-exec">
                            <PageHead title="Executive view" intro={format!("{program_name} · {} · compared with the {}", d.window, d.previous_window.to_lowercase())}>
                                <div class="noprint">
                                    <button class="btn btn-primary" onclick="window.print()">"Print"</button>
                                    " "
                                    <a class="btn" href=full>"Full dashboard"</a>
                                </div>
                            </PageHead>
                            {toolbar(&d, days, "/analytics/executive")}
                            <KpiCards kpis=d.kpis.clone()/>
                            {view! { <section class="an-exec-block">
                                <Chart title="Revenue by tier cohort, last 12 weeks".into() svg=d.cohort_svg.clone() download=format!("/analytics/charts/cohort.svg{scope}")/>
                            </section> }.into_any()}
                            {view! { <section class="an-exec-block">
                                <Chart title="Weekly revenue".into() svg=d.revenue_svg.clone() download=format!("/analytics/charts/revenue.svg{scope}")/>
                            </section> }.into_any()}
                            {view! { <div class="an-two an-exec-block">
                                <Chart title="Tier mix".into() svg=d.tier_mix_svg.clone() download=format!("/analytics/charts/tier_mix.svg{scope}")/>
                                <HealthTable rows=d.health.clone() threshold=d.threshold csv=format!("/analytics/tables/health.csv{scope}")/>
                            </div> }.into_any()}
                            {view! { <section class="an-exec-block">
                                <CohortGrid table=d.cohort.clone() csv=format!("/analytics/tables/cohorts.csv{scope}")/>
                            </section> }.into_any()}
                        </div>
                    }
                }
            </Async>
        </TeamShell>
    }
}

#[component]
fn WidgetView(w: models::RenderedWidget) -> impl IntoView {
    let wide = matches!(w.widget.kind.as_str(), "kpis" | "cohort_chart" | "at_risk");
    view! {
        <section class="card an-section an-widget" class:wide=wide data-widget=w.widget.kind.clone()>
            <h2>{w.title.clone()}</h2>
            {(!w.kpis.is_empty()).then(|| view! { <KpiCards kpis=w.kpis.clone()/> })}
            {(!w.svg.is_empty()).then(|| view! { <div class="an-svg" inner_html=w.svg.clone()></div> })}
            {(!w.head.is_empty()).then(|| view! {
                <table class="an-table">
                    <thead><tr>{w.head.iter().map(|h| view! { <th>{h.clone()}</th> }).collect_view()}</tr></thead>
                    <tbody>
                        {w.rows.iter().map(|r| view! { <tr>{r.iter().map(|c| view! { <td>{c.clone()}</td> }).collect_view()}</tr> }).collect_view()}
                    </tbody>
                </table>
                {w.rows.is_empty().then(|| view! { <p class="muted">"Nothing to show."</p> })}
            })}
        </section>
    }
    .into_any()
}

/// The editor of a new dashboard: name, sharing and widgets.
#[component]
fn Editor(programs: Vec<(i64, String)>, base: Option<DashboardDef>) -> impl IntoView {
    let save = ServerAction::<SaveDashboard>::new();
    let name = RwSignal::new(base.as_ref().map(|b| format!("{} (copy)", b.name)).unwrap_or_else(|| "My dashboard".into()));
    let shared = RwSignal::new(String::new());
    let widgets = RwSignal::new(base.map(|b| b.widgets).unwrap_or_else(|| vec![Widget { kind: "kpis".into(), program_id: None, days: 30 }]));
    let kind = RwSignal::new("cohort_chart".to_string());
    let program = RwSignal::new(String::new());
    let days = RwSignal::new("30".to_string());
    Effect::new(move |_| {
        if let Some(Ok(id)) = save.value().get() {
            let navigate = leptos_router::hooks::use_navigate();
            navigate(&format!("/analytics/dashboards?id={id}"), Default::default());
        }
    });
    let programs_for_list = programs.clone();
    view! {
        <details class="card an-section an-editor noprint">
            <summary>"Compose a dashboard"</summary>
            <div class="an-editor-grid">
                <label>"Name " <input type="text" prop:value=name on:input=move |e| name.set(event_target_value(&e)) aria-label="Dashboard name"/></label>
                <label>"Share with "
                    <select on:change=move |e| shared.set(event_target_value(&e)) aria-label="Share with role">
                        <option value="">"Only me"</option>
                        <option value="program_manager">"Program managers"</option>
                        <option value="relationship_owner">"Relationship owners"</option>
                        <option value="analytics_viewer">"Leadership (analytics viewers)"</option>
                        <option value="finance_approver">"Finance approvers"</option>
                    </select>
                </label>
            </div>
            <ol class="an-widget-list">
                {move || widgets.get().into_iter().enumerate().map(|(i, w)| {
                    let label = WIDGET_KINDS.iter().find(|(k, _)| *k == w.kind).map(|(_, l)| *l).unwrap_or("?");
                    let scope = w.program_id.and_then(|p| programs_for_list.iter().find(|x| x.0 == p)).map_or("All programs".to_string(), |x| x.1.clone());
                    view! {
                        <li>
                            {format!("{label} · {scope} · {} days ", w.days)}
                            <button class="btn" on:click=move |_| widgets.update(|v| { v.remove(i); })>"Remove"</button>
                        </li>
                    }
                }).collect_view()}
            </ol>
            <div class="an-editor-grid">
                <label>"Widget "
                    <select on:change=move |e| kind.set(event_target_value(&e)) aria-label="Widget kind">
                        {WIDGET_KINDS.iter().map(|(k, l)| view! { <option value=*k selected=*k == "cohort_chart">{*l}</option> }).collect_view()}
                    </select>
                </label>
                <label>"Program "
                    <select on:change=move |e| program.set(event_target_value(&e)) aria-label="Widget program">
                        <option value="">"All programs"</option>
                        {programs.iter().map(|(id, n)| view! { <option value=*id>{n.clone()}</option> }).collect_view()}
                    </select>
                </label>
                <label>"Days " <input type="number" min="1" max="730" prop:value=days on:input=move |e| days.set(event_target_value(&e)) aria-label="Widget days"/></label>
                <button class="btn" on:click=move |_| {
                    let w = Widget { kind: kind.get(), program_id: program.get().parse().ok(), days: days.get().parse().unwrap_or(30) };
                    widgets.update(|v| v.push(w));
                }>"Add widget"</button>
            </div>
            <button class="btn" on:click=move |_| {
                let role = shared.get();
                save.dispatch(SaveDashboard { def: DashboardDef { id: 0, name: name.get(), shared_role: (!role.is_empty()).then_some(role), mine: true, widgets: widgets.get() } });
            }>"Save dashboard"</button>
            <ActionError action=save/>
        </details>
    }
    .into_any()
}

/// `/analytics/dashboards?id=N`: custom dashboards.
#[component]
pub fn DashboardsPage() -> impl IntoView {
    let query = use_query_map();
    let id = Memo::new(move |_| query.read().get("id").and_then(|p| p.parse::<i64>().ok()));
    let delete = ServerAction::<DeleteDashboard>::new();
    let data = Resource::new(move || (id.get(), delete.version().get()), |(id, _)| load_custom_dashboard(id));
    Effect::new(move |_| {
        if let Some(Ok(())) = delete.value().get() {
            let navigate = leptos_router::hooks::use_navigate();
            navigate("/analytics/dashboards", Default::default());
        }
    });
    view! {
        <TeamShell>
            <Title text="Dashboards"/>
            <Async resource=data loading="Loading the dashboard…" suspense=true let:d>
                {
                    let d: RenderedDashboard = d;
                    let current = d.def.id;
                    let shared = match &d.def.shared_role {
                        Some(r) => format!("Shared with {}", models::Role::parse(r).map(|r| r.label().to_string()).unwrap_or_else(|_| r.clone())),
                        None => "Only you".to_string(),
                    };
                    let mine = d.def.mine;
                    view! {
                        <PageHead title={d.def.name.clone()} intro={if current < 0 { format!("Built-in default · {shared}") } else { shared }}>
                            <div class="noprint">
                                {mine.then(|| view! { <button class="btn" on:click=move |_| { delete.dispatch(DeleteDashboard { id: current }); }>"Delete"</button> })}
                                " "
                                <a class="btn" href="/analytics">"KPI dashboard"</a>
                            </div>
                        </PageHead>
                        <nav class="tabs noprint">
                            {d.available.iter().map(|x| view! {
                                <a class="tab" class:active=x.id == current href=format!("/analytics/dashboards?id={}", x.id)>{x.name.clone()}</a>
                            }).collect_view()}
                        </nav>
                        <div class="an-grid">
                            {d.widgets.into_iter().map(|w| view! { <WidgetView w=w/> }).collect_view()}
                        </div>
                        <Editor programs=d.programs.clone() base=Some(d.def.clone())/>
                    }
                }
            </Async>
        </TeamShell>
    }
}
