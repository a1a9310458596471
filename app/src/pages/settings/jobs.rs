//! Settings → Jobs: the scheduler's jobs with their last run, "Run now", and recent runs (the
//! instance operator only; others see a note).

use crate::api::programs::{load_jobs, RunJobNow};
use crate::components::{Async, DataTable, Outcome};
use leptos::prelude::*;

#[component]
pub(super) fn JobsTab() -> impl IntoView {
    let run = ServerAction::<RunJobNow>::new();
    let data = Resource::new(move || run.version().get(), |_| load_jobs());
    view! {
        <Outcome action=run ok=|msg| msg/>
        <Async resource=data loading="Loading jobs…" let:jobs_runs>
            {
                let (jobs, runs) = jobs_runs;
                if jobs.is_empty() {
                    view! {
                        <p class="muted">"Background jobs run for every account on this server; the instance operator (an admin of its first account) sees and starts them here."</p>
                    }.into_any()
                } else { view! {
                    <DataTable cols=["Job", "Runs", "Last run", "Next", ""] rows=jobs row=move |j| {
                        let name = j.name.clone();
                        view! {
                            <tr>
                                <td><div class="name">{j.name.clone()}</div><div class="sub">{j.about}</div></td>
                                <td>{j.every}</td>
                                <td>{match j.last {
                                    None => view! { <span class="muted">"never"</span> }.into_any(),
                                    Some(l) => view! {
                                        <span class=format!("badge run-{}", l.outcome)>{l.outcome.clone()}</span>
                                        <div class="sub">{format!("{} · examined {}, changed {}", l.started, l.examined, l.changed)}</div>
                                        {l.error.map(|e| view! { <div class="sub error-text">{e}</div> })}
                                    }.into_any(),
                                }}</td>
                                <td class="num">{j.next}</td>
                                <td><button class="btn" on:click=move |_| { run.dispatch(RunJobNow { name: name.clone() }); }>"Run now"</button></td>
                            </tr>
                        }
                    }/>
                    <h2 class="section">"Recent runs"</h2>
                    <DataTable cols=["Job", "Started", "As of", "Outcome", ">Examined", ">Changed", "Runner"] rows=runs row=|r| view! {
                        <tr>
                            <td>{r.job}</td><td class="num">{r.started}</td><td class="num">{r.as_of}</td>
                            <td><span class=format!("badge run-{}", r.outcome)>{r.outcome.clone()}</span>{r.error.map(|e| view! { <div class="sub error-text">{e}</div> })}</td>
                            <td class="num right">{r.examined}</td><td class="num right">{r.changed}</td><td class="sub">{r.holder}</td>
                        </tr>
                    }/>
                }.into_any() }
            }
        </Async>
    }
}
