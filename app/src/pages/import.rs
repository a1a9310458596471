//! CSV import: upload (a plain multipart form), map columns to fields, dry run with per-row
//! errors, then import with a progress bar.

use crate::api::partners::{load_import, poll_import, StartImport};
use crate::components::{ActionError, Async, DataTable, ErrorNote, PageHead, TeamShell, FromDirectory};
use crate::error::AppError;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};
use models::{ImportPreview, ImportProgress, ImportReport};

/// `/directory/import`: choose what to import and upload the file.
#[component]
pub fn ImportPage() -> impl IntoView {
    let query = use_query_map();
    let error = move || query.read().get("error");
    view! {
        <FromDirectory title="Import" heading="Import from CSV" intro="Bring partners, their links and historical conversions over from another platform. Nothing is written until you confirm after a dry run; partners are matched by email, so importing the same file twice changes nothing.">
            {move || error().map(|e| view! { <div class="error" role="alert">{e}</div> })}
            <form class="card form-grid" method="post" action="/directory/import" enctype="multipart/form-data">
                <label>"What the file holds"
                    <select name="kind">
                        <option value="partners">"Partners (contact details, custom fields, program, status, tier)"</option>
                        <option value="links">"Tracking links of existing partners"</option>
                        <option value="conversions">"Historical conversions (commissions computed by the program's rules)"</option>
                    </select>
                </label>
                <label>"CSV file (UTF-8, header row, up to 20 MB)"<input type="file" name="file" accept=".csv,text/csv" required/></label>
                <button class="btn btn-primary" type="submit">"Upload and map columns"</button>
            </form>
        </FromDirectory>
    }
}

fn report_view(r: &ImportReport) -> impl IntoView {
    let verb = if r.committed { "Imported" } else { "Dry run" };
    view! {
        <div class="card report" data-errors=r.error_count>
            <p><strong>{verb}</strong>{format!(": {} rows — {} new, {} updated, {} unchanged, {} refused.", r.rows, r.created, r.updated, r.unchanged, r.error_count)}</p>
            {(!r.errors.is_empty()).then(|| view! {
                <DataTable bare=true cols=["Line", "Problem"] rows=r.errors.clone() row=|e| view! { <tr><td class="num">{e.line}</td><td>{e.message}</td></tr> }/>
            })}
        </div>
    }
}

/// `/directory/import/:id`: the mapping step, dry run and import.
#[component]
pub fn ImportMapPage() -> impl IntoView {
    let params = use_params_map();
    let id = Memo::new(move |_| params.read().get("id").and_then(|i| i.parse::<i64>().ok()).unwrap_or(0));
    let data = Resource::new(move || id.get(), load_import);
    view! {
        <TeamShell>
            <Title text="Map columns"/>
            <Async resource=data loading="Reading the file…" let:p>
                <Mapping preview=p/>
            </Async>
        </TeamShell>
    }
}

#[component]
fn Mapping(preview: ImportPreview) -> impl IntoView {
    let id = preview.id;
    let mapping = RwSignal::new(preview.suggested.clone());
    let start = ServerAction::<StartImport>::new();
    let progress = RwSignal::new(None::<Result<ImportProgress, AppError>>);
    let ticker = StoredValue::new_local(None::<IntervalHandle>);
    let poll = move || {
        if ticker.with_value(|t| t.is_some()) {
            return;
        }
        let handle = set_interval_with_handle(
            move || {
                leptos::task::spawn_local(async move {
                    let p = poll_import(id).await;
                    let finished = matches!(&p, Ok(p) if matches!(p.status.as_str(), "checked" | "done" | "failed")) || p.is_err();
                    progress.set(Some(p));
                    if finished {
                        if let Some(h) = ticker.get_value() {
                            h.clear();
                        }
                        ticker.set_value(None);
                    }
                });
            },
            std::time::Duration::from_millis(400),
        );
        ticker.set_value(handle.ok());
    };
    Effect::new(move |_| {
        if let Some(Ok(())) = start.value().get() {
            poll();
        }
    });
    let run = move |dry_run: bool| {
        progress.set(None);
        start.dispatch(StartImport { id, mapping: mapping.get_untracked(), dry_run });
    };
    let headers = preview.headers.clone();
    let targets = preview.targets.clone();
    let sample = preview.sample.clone();
    let done_before = preview.status == "done";
    view! {
        <PageHead title={format!("Import {}", preview.filename)} intro={format!("{} rows of {}. Map each column to a field, run a dry run to see every problem, then import.", preview.rows, preview.kind.as_str())}>
            <a class="btn" href="/directory/import">"← Another file"</a>
        </PageHead>
        {done_before.then(|| view! { <div class="notice">"This file was imported already. Upload it again to re-import."</div> })}
        <DataTable class="table mapping" cols=["Column", "First values", "Goes to"] rows=headers.into_iter().enumerate().collect() row=move |(i, h): (usize, String)| {
            let examples: Vec<String> = sample.iter().filter_map(|r| r.get(i).cloned()).filter(|v| !v.is_empty()).take(3).collect();
            let targets = targets.clone();
            let current = preview.suggested.get(i).cloned().unwrap_or_default();
            view! {
                <tr>
                    <td class="name">{h.clone()}</td>
                    <td class="muted">{examples.join(" · ")}</td>
                    <td>
                        <select aria-label=format!("Map column {h}") data-column=h.clone() on:change=move |ev| {
                            let v = event_target_value(&ev);
                            mapping.update(|m| if let Some(slot) = m.get_mut(i) { *slot = v; });
                        }>
                            <option value="" selected=current.is_empty()>"— skip —"</option>
                            {targets.into_iter().map(|t| {
                                let sel = t.key == current;
                                view! { <option value=t.key.clone() selected=sel>{format!("{}{}", t.label, if t.required { " *" } else { "" })}</option> }
                            }).collect_view()}
                        </select>
                    </td>
                </tr>
            }
        }/>
        <div class="actions">
            <button class="btn" disabled=move || start.pending().get() || ticker.with_value(|t| t.is_some()) on:click=move |_| run(true)>"Dry run"</button>
            <button class="btn btn-primary" disabled=move || start.pending().get() || !matches!(progress.get(), Some(Ok(ref p)) if p.status == "checked") on:click=move |_| run(false)>"Import"</button>
            <span class="muted">"Import is enabled after a dry run."</span>
        </div>
        <ActionError action=start/>
        {move || progress.get().map(|p| match p {
            Err(e) => view! { <ErrorNote error=e/> }.into_any(),
            Ok(p) => {
                let pct = if p.total == 0 { 100 } else { p.done * 100 / p.total };
                view! {
                    <div class="progress" role="progressbar" aria-valuenow=pct aria-valuemin="0" aria-valuemax="100" data-status=p.status.clone()>
                        <div class="bar" style=format!("width: {pct}%")></div>
                        <span>{format!("{} of {} rows · {}", p.done, p.total, p.status)}</span>
                    </div>
                    {p.report.as_ref().map(report_view)}
                }.into_any()
            }
        })}
    }
}
