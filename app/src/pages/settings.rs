//! Settings. Today: the scheduler's jobs with their runs.

use crate::api::tiers::{load_jobs, RunJobNow};
use crate::components::{ErrorNote, TeamShell};
use leptos::prelude::*;
use leptos_meta::Title;

/// `/settings`.
#[component]
pub fn SettingsPage() -> impl IntoView {
    let run = ServerAction::<RunJobNow>::new();
    let data = Resource::new(move || run.version().get(), |_| load_jobs());
    view! {
        <TeamShell>
            <Title text="Settings"/>
            <header class="page-head">
                <div>
                    <h1>"Settings"</h1>
                    <p class="muted">"Background jobs. Team, programs, API keys and the audit log are coming here."</p>
                </div>
            </header>
            <h2 class="section">"Jobs"</h2>
            {move || run.value().get().map(|r| match r {
                Ok(msg) => view! { <div class="notice" role="status">{msg}</div> }.into_any(),
                Err(e) => view! { <ErrorNote error=e/> }.into_any(),
            })}
            <Transition fallback=|| view! { <div class="loading">"Loading jobs…"</div> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                        Ok((jobs, runs)) => view! {
                            <div class="card table-card">
                                <table class="table">
                                    <thead><tr><th>"Job"</th><th>"Runs"</th><th>"Last run"</th><th>"Next"</th><th></th></tr></thead>
                                    <tbody>
                                        {jobs.into_iter().map(|j| {
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
                                        }).collect_view()}
                                    </tbody>
                                </table>
                            </div>
                            <h2 class="section">"Recent runs"</h2>
                            <div class="card table-card">
                                <table class="table">
                                    <thead><tr><th>"Job"</th><th>"Started"</th><th>"As of"</th><th>"Outcome"</th><th class="right">"Examined"</th><th class="right">"Changed"</th><th>"Runner"</th></tr></thead>
                                    <tbody>
                                        {runs.into_iter().map(|r| view! {
                                            <tr>
                                                <td>{r.job}</td><td class="num">{r.started}</td><td class="num">{r.as_of}</td>
                                                <td><span class=format!("badge run-{}", r.outcome)>{r.outcome.clone()}</span>{r.error.map(|e| view! { <div class="sub error-text">{e}</div> })}</td>
                                                <td class="num right">{r.examined}</td><td class="num right">{r.changed}</td><td class="sub">{r.holder}</td>
                                            </tr>
                                        }).collect_view()}
                                    </tbody>
                                </table>
                            </div>
                        }.into_any(),
                    }
                })}
            </Transition>
        </TeamShell>
    }
}
