//! Finance: the review queue (approve or void in bulk) and payout batches.

use crate::api::money::{load_review_queue, list_batches, ApproveEntries, CreateBatch, MarkBatchPaid, VoidEntries};
use crate::components::{notice, Async, DataTable, Outcome, PageHead, TeamShell};
use crate::error::AppError;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_query_map};
use models::{BulkResult, ReviewQueue};
use std::collections::BTreeSet;

fn summary(r: &BulkResult, verb: &str) -> String {
    let mut s = format!("{verb} {}.", r.changed);
    if !r.refused.is_empty() {
        let reasons: Vec<String> = r.refused.iter().take(3).map(|(id, why)| format!("#{id}: {why}")).collect();
        s.push_str(&format!(" Refused {}: {}", r.refused.len(), reasons.join("; ")));
        if r.refused.len() > 3 {
            s.push('…');
        }
    }
    s
}

/// `/finance`.
#[component]
pub fn FinancePage() -> impl IntoView {
    let query = use_query_map();
    let batches_view = move || query.read().get("view").as_deref() == Some("batches");
    view! {
        <TeamShell>
            <Title text="Finance"/>
            <PageHead title="Finance" intro="Review commissions, approve them and pay partners in batches."/>
            <nav class="tabs">
                <a href="/finance" class="tab" class:active=move || !batches_view()>"Review queue"</a>
                <a href="/finance?view=batches" class="tab" class:active=batches_view>"Payout batches"</a>
            </nav>
            {move || if batches_view() { view! { <Batches/> }.into_any() } else { view! { <Queue/> }.into_any() }}
        </TeamShell>
    }
}

#[component]
fn Queue() -> impl IntoView {
    let query = use_query_map();
    let program = Memo::new(move |_| query.read().get("program").and_then(|p| p.parse::<i64>().ok()));
    let held = Memo::new(move |_| query.read().get("held").as_deref() == Some("1"));
    let age = Memo::new(move |_| query.read().get("age").and_then(|a| a.parse::<i64>().ok()));
    let approve = ServerAction::<ApproveEntries>::new();
    let void = ServerAction::<VoidEntries>::new();
    let data = Resource::new(
        move || (program.get(), held.get(), age.get(), approve.version().get(), void.version().get()),
        |(p, h, a, _, _)| load_review_queue(p, Some(h), a),
    );
    let selected = RwSignal::new(BTreeSet::<i64>::new());
    let reason = RwSignal::new(String::new());
    let message = RwSignal::new(None::<Result<String, AppError>>);
    Effect::new(move |_| {
        if let Some(r) = approve.value().get() {
            message.set(Some(r.map(|r| summary(&r, "Approved"))));
            selected.set(BTreeSet::new());
        }
    });
    Effect::new(move |_| {
        if let Some(r) = void.value().get() {
            message.set(Some(r.map(|r| summary(&r, "Voided"))));
            selected.set(BTreeSet::new());
            reason.set(String::new());
        }
    });
    let navigate = use_navigate();
    let href = move |p: Option<i64>, h: bool, a: Option<i64>| {
        let mut parts = Vec::new();
        if let Some(p) = p {
            parts.push(format!("program={p}"));
        }
        if h {
            parts.push("held=1".to_string());
        }
        if let Some(a) = a {
            parts.push(format!("age={a}"));
        }
        if parts.is_empty() { "/finance".to_string() } else { format!("/finance?{}", parts.join("&")) }
    };
    let nav_program = navigate.clone();
    let on_program = move |ev: leptos::ev::Event| {
        nav_program(&href(event_target_value(&ev).parse().ok(), held.get_untracked(), age.get_untracked()), Default::default());
    };
    let nav_age = navigate.clone();
    let on_age = move |ev: leptos::ev::Event| {
        nav_age(&href(program.get_untracked(), held.get_untracked(), event_target_value(&ev).parse().ok()), Default::default());
    };
    let on_held = move |ev: leptos::ev::Event| {
        navigate(&href(program.get_untracked(), event_target_checked(&ev), age.get_untracked()), Default::default());
    };

    view! {
        <Async resource=data loading="Loading the review queue…" let:q>
            {
                let q: ReviewQueue = q;
                let on_program = on_program.clone();
                let on_held = on_held.clone();
                let on_age = on_age.clone();
                let approvable: Vec<i64> = q.rows.iter().filter(|r| r.blocked.is_none()).map(|r| r.id).collect();
                let all_ids: Vec<i64> = q.rows.iter().filter(|r| r.kind != "payout").map(|r| r.id).collect();
                view! {
                    <div class="toolbar">
                        <label class="picker">
                            "Program "
                            <select on:change=on_program aria-label="Program">
                                <option value="" selected=program.get_untracked().is_none()>"All programs"</option>
                                {q.programs.iter().map(|p| view! {
                                    <option value=p.id selected=program.get_untracked() == Some(p.id)>{p.name.clone()}</option>
                                }).collect_view()}
                            </select>
                        </label>
                        <label class="picker">
                            "Older than "
                            <select on:change=on_age aria-label="Minimum age">
                                {[(None, "any age"), (Some(7), "7 days"), (Some(30), "30 days"), (Some(60), "60 days")].into_iter().map(|(v, label)| view! {
                                    <option value=v.map(|d: i64| d.to_string()).unwrap_or_default() selected=age.get_untracked() == v>{label}</option>
                                }).collect_view()}
                            </select>
                        </label>
                        <label class="check">
                            <input type="checkbox" checked=held.get_untracked() on:change=on_held/>
                            " Held for review only"
                        </label>
                        <span class="muted">{format!("{} pending", q.total)}</span>
                    </div>
                    <div class="actions card">
                        <span class="muted">{move || format!("{} selected", selected.read().len())}</span>
                        <button class="btn" on:click={
                            let approvable = approvable.clone();
                            move |_| selected.set(approvable.iter().copied().collect())
                        }>"Select all approvable"</button>
                        <button class="btn" on:click={
                            let all_ids = all_ids.clone();
                            move |_| selected.set(all_ids.iter().copied().collect())
                        }>"Select all"</button>
                        <button
                            class="btn btn-primary"
                            disabled=move || selected.read().is_empty() || approve.pending().get()
                            on:click=move |_| { approve.dispatch(ApproveEntries { ids: selected.get_untracked().into_iter().collect() }); }
                        >"Approve selected"</button>
                        <input type="text" placeholder="Reason to void" prop:value=reason on:input=move |ev| reason.set(event_target_value(&ev)) aria-label="Reason to void"/>
                        <button
                            class="btn btn-danger"
                            disabled=move || selected.read().is_empty() || reason.read().trim().is_empty() || void.pending().get()
                            on:click=move |_| { void.dispatch(VoidEntries { ids: selected.get_untracked().into_iter().collect(), reason: reason.get_untracked() }); }
                        >"Void selected"</button>
                    </div>
                    {move || message.get().map(notice)}
                    <DataTable cols=["", "Partner", "Conversion", "Kind", ">Amount", "Rate · tier", "Created", "Review"] rows=q.rows
                        empty="Nothing waits for review." row=move |r| {
                            let id = r.id;
                            let held = r.hold_reason.is_some();
                            let checked = move || selected.read().contains(&id);
                            let toggle = move |_| selected.update(|s| { if !s.remove(&id) { s.insert(id); } });
                            view! {
                                <tr class:held=held>
                                    <td><input type="checkbox" prop:checked=checked on:change=toggle aria-label=format!("Select entry {id}")/></td>
                                    <td><div class="name">{r.partner}</div><div class="sub">{r.program}</div></td>
                                    <td>{match (r.conversion_id, r.external_id) {
                                        (Some(c), Some(x)) => view! { <a href=format!("/conversions/{c}")>{x}</a> }.into_any(),
                                        _ => view! { <span class="muted">{r.note.unwrap_or_default()}</span> }.into_any(),
                                    }}</td>
                                    <td>{r.kind}</td>
                                    <td class="num right">{r.amount}</td>
                                    <td>{format!("{} · {}", r.rate, r.tier)}</td>
                                    <td class="num">{r.created}<div class="sub">{format!("{} days", r.age_days)}</div></td>
                                    <td>
                                        {r.hold_reason.map(|h| view! { <span class="badge flag">{h.replace('_', " ")}</span> })}
                                        {match r.blocked {
                                            Some(why) => view! { <span class="sub">{why}</span> }.into_any(),
                                            None => view! { <span class="badge status-active">"approvable"</span> }.into_any(),
                                        }}
                                    </td>
                                </tr>
                            }
                    }/>
                }
            }
        </Async>
    }
}

#[component]
fn Batches() -> impl IntoView {
    let create = ServerAction::<CreateBatch>::new();
    let paid = ServerAction::<MarkBatchPaid>::new();
    let data = Resource::new(move || (create.version().get(), paid.version().get()), |_| list_batches());
    let queue = Resource::new(|| (), |_| load_review_queue(None, None, None));
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                let programs = queue.await.map(|q| q.programs).unwrap_or_default();
                view! {
                    <div class="actions card">
                        {programs.into_iter().map(|p| {
                            let id = p.id;
                            view! {
                                <button class="btn btn-primary" disabled=move || create.pending().get()
                                    on:click=move |_| { create.dispatch(CreateBatch { program_id: id }); }>
                                    {format!("Create payout batch: {}", p.name)}
                                </button>
                            }
                        }).collect_view()}
                        <span class="muted">"Groups every approved, unpaid commission per partner."</span>
                    </div>
                }
            })}
        </Suspense>
        <Outcome action=create ok=|r| match r {
            Some(id) => format!("Payout batch #{id} created."),
            None => "Nothing approved is waiting to be paid.".to_string(),
        }/>
        <Async resource=data loading="Loading batches…" let:rows>
            <DataTable cols=["Batch", "Program", ">Partners", ">Entries", ">Total", "Status", "Created", ""] rows
                empty="No payout batches yet." row=move |b| {
                    let id = b.id;
                    let open = b.status == "open";
                    view! {
                        <tr>
                            <td class="num">{format!("#{id}")}</td>
                            <td>{b.program}</td>
                            <td class="num right">{b.partners}</td>
                            <td class="num right">{b.entries}</td>
                            <td class="num right">{b.total}</td>
                            <td><span class=format!("badge batch-{}", b.status)>{b.status.clone()}</span>
                                {b.paid.map(|p| view! { <div class="sub">{format!("paid {p}")}</div> })}</td>
                            <td class="num">{b.created}<div class="sub">{b.created_by}</div></td>
                            <td class="row-actions">
                                <a class="btn" href=format!("/finance/batches/{id}/csv") download=format!("payout-batch-{id}.csv") rel="external">"CSV"</a>
                                {open.then(|| view! {
                                    <button class="btn btn-primary" on:click=move |_| { paid.dispatch(MarkBatchPaid { batch_id: id }); }>"Mark paid"</button>
                                })}
                            </td>
                        </tr>
                    }
            }/>
        </Async>
    }
}
