//! Tier rules per program with the what-if simulator: edit a draft, see on real history who
//! would move and what it would cost, then save.

use crate::api::programs::{load_tier_rules, SaveTiers, SimulateTiers};
use crate::components::{Async, Col, DataTable, Outcome, OutcomeView, PageHead, TeamShell, TierBadge};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_query_map};
use models::{Mover, TierDraft, TierRules};

/// `/tiers`.
#[component]
pub fn TiersPage() -> impl IntoView {
    let query = use_query_map();
    let program = Memo::new(move |_| query.read().get("program").and_then(|p| p.parse::<i64>().ok()));
    let rules = Resource::new(move || program.get(), load_tier_rules);
    view! {
        <TeamShell>
            <Title text="Tiers"/>
            <PageHead title="Tiers" intro="Partners move up automatically when a rule is met. Try a change on real history before you save it."/>
            <Async resource=rules loading="Loading tiers…" let:r>
                <TierEditor rules=r/>
            </Async>
        </TeamShell>
    }
}

#[component]
fn TierEditor(rules: TierRules) -> impl IntoView {
    let program_id = rules.program_id;
    let drafts = RwSignal::new(rules.tiers.clone());
    let simulate = ServerAction::<SimulateTiers>::new();
    let save = ServerAction::<SaveTiers>::new();
    let navigate = use_navigate();
    let on_program = move |ev: leptos::ev::Event| navigate(&format!("/tiers?program={}", event_target_value(&ev)), Default::default());
    let members = rules.members.clone();
    let currency = rules.currency.clone();
    let edit = move |i: usize, f: fn(&mut TierDraft, String)| {
        move |ev: leptos::ev::Event| {
            let v = event_target_value(&ev);
            drafts.update(|d| f(&mut d[i], v));
        }
    };
    let cols: Vec<Col> = vec![
        "Tier".into(),
        "Commission".into(),
        "Min. conversions".into(),
        format!("Min. revenue ({})", rules.currency).into(),
        "Window (days)".into(),
        "Retroactive".into(),
    ];
    let tiers: Vec<(usize, TierDraft)> = rules.tiers.iter().cloned().enumerate().collect();
    let row = move |(i, t): (usize, TierDraft)| {
            let base = i == 0;
            let n = members.iter().find(|(name, _)| *name == t.name).map(|(_, n)| *n).unwrap_or(0);
            view! {
                <tr>
                    <td><TierBadge tier=t.name.clone()/><div class="sub">{format!("{n} active")}</div></td>
                    <td class="commission">
                        <select on:change=edit(i, |d, v| d.commission_kind = v) aria-label=format!("{} commission kind", t.name)>
                            <option value="percent" selected=t.commission_kind == "percent">"%"</option>
                            <option value="flat" selected=t.commission_kind == "flat">{currency.clone()}</option>
                        </select>
                        <input class="short" value=t.commission_value.clone() on:input=edit(i, |d, v| d.commission_value = v) aria-label=format!("{} commission", t.name)/>
                    </td>
                    {if base {
                        view! { <td colspan="4" class="muted">"Every partner starts here."</td> }.into_any()
                    } else {
                        view! {
                            <td><input class="short" inputmode="numeric" value=t.min_conversions.clone() on:input=edit(i, |d, v| d.min_conversions = v) aria-label=format!("{} minimum conversions", t.name)/></td>
                            <td><input class="short" inputmode="decimal" value=t.min_revenue.clone() on:input=edit(i, |d, v| d.min_revenue = v) aria-label=format!("{} minimum revenue", t.name)/></td>
                            <td><input class="short" inputmode="numeric" value=t.window_days.clone() on:input=edit(i, |d, v| d.window_days = v) aria-label=format!("{} window days", t.name)/></td>
                            <td><input type="checkbox" checked=t.retroactive on:change=move |ev| { let c = event_target_checked(&ev); drafts.update(|d| d[i].retroactive = c); } aria-label=format!("{} retroactive", t.name)/></td>
                        }.into_any()
                    }}
                </tr>
            }
        };
    view! {
        <div class="toolbar">
            <label class="picker">
                "Program "
                <select on:change=on_program aria-label="Program">
                    {rules.programs.iter().map(|p| view! { <option value=p.id selected=p.id == program_id>{p.name.clone()}</option> }).collect_view()}
                </select>
            </label>
        </div>
        <DataTable class="table tiers" cols rows=tiers row/>
        <p class="muted small">"A tier is reached when every minimum it gives is met inside its window. Retroactive tiers re-rate the window's earlier conversions on upgrade."</p>
        <div class="actions card">
            <button class="btn" disabled=move || simulate.pending().get()
                on:click=move |_| { simulate.dispatch(SimulateTiers { program_id, tiers: drafts.get_untracked() }); }>
                {move || if simulate.pending().get() { "Simulating…" } else { "Simulate on real history" }}
            </button>
            <button class="btn btn-primary" disabled=move || save.pending().get()
                on:click=move |_| { save.dispatch(SaveTiers { program_id, tiers: drafts.get_untracked() }); }>"Save rules"</button>
            <Outcome action=save inline=true ok=|()| "Saved. Upgrades follow at the next tier pass.".to_string()/>
        </div>
        <OutcomeView action=simulate ok=|s| view! {
            <section class="card simulation" aria-label="Simulation">
                <h2>"If you saved this draft"</h2>
                <div class="kpis">
                    <div class="kpi"><div class="kpi-value up">{s.up.len()}</div><div class="kpi-label">"move up"</div></div>
                    <div class="kpi"><div class="kpi-value down">{s.down.len()}</div><div class="kpi-label">"move down at review"</div></div>
                    <div class="kpi"><div class="kpi-value">{s.evaluated}</div><div class="kpi-label">"active partners evaluated"</div></div>
                    <div class="kpi"><div class="kpi-value cost">{s.difference.clone()}</div>
                        <div class="kpi-label">{format!("commission, last {} days: {} → {}", s.window_days, s.cost_now, s.cost_draft)}</div></div>
                </div>
                <MoverTable title="Moving up" movers=s.up/>
                <MoverTable title="Moving down" movers=s.down/>
            </section>
        }/>
    }
}

#[component]
fn MoverTable(title: &'static str, movers: Vec<Mover>) -> impl IntoView {
    (!movers.is_empty()).then(|| {
        let shown = movers.len().min(100);
        let more = movers.len() - shown;
        view! {
            <h3 class="section">{format!("{title} ({})", movers.len())}</h3>
            <DataTable class="table movers" bare=true cols=["Partner", "From", "To", ">Conversions", ">Revenue"] rows=movers.into_iter().take(shown).collect() row=|m| view! {
                <tr>
                    <td>{m.partner}</td>
                    <td><TierBadge tier=m.from/></td>
                    <td><TierBadge tier=m.to/></td>
                    <td class="num right">{m.conversions}</td>
                    <td class="num right">{m.revenue}</td>
                </tr>
            }/>
            {(more > 0).then(|| view! { <p class="muted">{format!("and {more} more")}</p> })}
        }
    })
}
