//! The Sequences and Templates tabs of `/communication`: behaviour-triggered email sequences
//! with each partner's progress, and each program's wording of its system emails with a
//! preview filled with a real partner's data.

use crate::api::comms::{load_sequence, load_sequences, load_templates, PreviewTemplate, SaveFooter, SaveSequence, SaveTemplate};
use crate::components::{ActionError, Async, DataTable, Outcome, OutcomeView};
use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_query_map};
use models::{EmailPreview, PreviewInput, SequenceInput, SequenceStepInput, TemplateInput, TemplateVariable};

fn variables_hint(vars: &[TemplateVariable]) -> impl IntoView {
    view! {
        <details class="variables">
            <summary>"Variables"</summary>
            <ul>
                {vars.iter().map(|v| view! { <li><code>{format!("{{{{{}}}}}", v.name)}</code>" — "{v.about.clone()}</li> }).collect_view()}
            </ul>
        </details>
    }
}

/// `?view=sequences`: the list, or one sequence (`&seq=ID` or `&seq=new`) with its editor and
/// every partner's progress.
#[component]
pub fn Sequences() -> impl IntoView {
    let query = use_query_map();
    let seq = Memo::new(move |_| query.read().get("seq"));
    view! {
        {move || match seq.get() {
            Some(s) => {
                let id: Option<i64> = s.parse().ok();
                view! { <SequenceEditor id/> }.into_any()
            }
            None => view! { <SequenceList/> }.into_any(),
        }}
    }
}

#[component]
fn SequenceList() -> impl IntoView {
    let data = Resource::new(|| (), |_| load_sequences());
    view! {
        <Async resource=data loading="Loading sequences…" let:page>
            <div class="section-head">
                <p class="muted">"A sequence sends its emails one after another when something happens to a partner: enrolled, approved, first conversion, tier upgrade, dormant, at risk. Each partner enters once per occurrence."</p>
                {page.can_edit.then(|| view! { <a class="btn btn-primary" href="/communication?view=sequences&seq=new">"New sequence"</a> })}
            </div>
            <DataTable class="table sequences" cols=["Sequence", "Trigger", ">Emails", ">In progress", ">Completed", ">Stopped"] rows=page.items
                none="No sequences yet." row=|s| view! {
                    <tr>
                        <td>
                            <a class="name" href=format!("/communication?view=sequences&seq={}", s.id)>{s.name.clone()}</a>
                            <div class="sub">{s.program.clone()}{(!s.active).then_some(" · paused")}</div>
                        </td>
                        <td>{s.trigger.clone()}</td>
                        <td class="num right">{s.steps}</td>
                        <td class="num right">{s.running}</td>
                        <td class="num right">{s.completed}</td>
                        <td class="num right">{s.stopped}</td>
                    </tr>
            }/>
        </Async>
    }
}

#[component]
fn SequenceEditor(id: Option<i64>) -> impl IntoView {
    let save = ServerAction::<SaveSequence>::new();
    // The list (for the programs and whether the viewer may edit) and the sequence, if any.
    let data = Resource::new(move || save.version().get(), move |_| async move {
        let page = load_sequences().await?;
        let detail = match id {
            Some(id) => Some(load_sequence(id).await?),
            None => None,
        };
        Ok((page, detail))
    });
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(new_id)) = save.value().get() {
            if id.is_none() {
                // After the action has finished notifying: navigating disposes this editor.
                let navigate = navigate.clone();
                set_timeout(move || navigate(&format!("/communication?view=sequences&seq={new_id}"), Default::default()), std::time::Duration::ZERO);
            }
        }
    });
    view! {
        <p><a href="/communication?view=sequences">"← All sequences"</a></p>
        <Async resource=data loading="Loading…" let:both>
            {
                let (page, detail) = both;
                let initial = detail.as_ref().map(|d| d.sequence.clone()).unwrap_or_else(|| SequenceInput {
                    program_id: page.programs.first().map(|p| p.0).unwrap_or_default(),
                    trigger: "approved".into(),
                    stop_on_conversion: true,
                    active: true,
                    steps: vec![SequenceStepInput { delay_hours: 0, subject: "Welcome to {{program}}, {{partner_name}}".into(), body: "Hello {{partner_name}},\n\nYour tracking link: {{link}}".into() }],
                    ..Default::default()
                });
                let can_edit = detail.as_ref().map(|d| d.can_edit).unwrap_or(page.can_edit);
                let program_name = detail.as_ref().map(|d| d.program.clone());
                let form = RwSignal::new(initial);
                // Steps re-render only when added or removed; typing updates them untracked.
                let steps_version = RwSignal::new(0u32);
                let runs = detail.map(|d| d.runs).unwrap_or_default();
                view! {
                    <section class="card sequence-editor">
                        <h2>{if id.is_some() { "Sequence" } else { "New sequence" }}</h2>
                        <div class="form-grid">
                            <label>"Name"
                                <input type="text" aria-label="Name" maxlength="120" value=form.get_untracked().name
                                    on:input=move |ev| form.update_untracked(|f| f.name = event_target_value(&ev))/>
                            </label>
                            <label>"Program"
                                {match program_name {
                                    Some(n) => view! { <input type="text" aria-label="Program" value=n disabled/> }.into_any(),
                                    None => view! {
                                        <select aria-label="Program" on:change=move |ev| form.update_untracked(|f| f.program_id = event_target_value(&ev).parse().unwrap_or_default())>
                                            {page.programs.iter().map(|(pid, n)| view! { <option value=*pid>{n.clone()}</option> }).collect_view()}
                                        </select>
                                    }.into_any(),
                                }}
                            </label>
                            <label>"Trigger"
                                <select aria-label="Trigger" on:change=move |ev| form.update_untracked(|f| f.trigger = event_target_value(&ev))>
                                    {page.triggers.iter().map(|(v, l)| {
                                        let selected = form.get_untracked().trigger == *v;
                                        view! { <option value=v.clone() selected=selected>{l.clone()}</option> }
                                    }).collect_view()}
                                </select>
                            </label>
                        </div>
                        <div class="checks">
                            <label class="check"><input type="checkbox" aria-label="Stop when the partner converts" checked=form.get_untracked().stop_on_conversion
                                on:change=move |ev| form.update_untracked(|f| f.stop_on_conversion = event_target_checked(&ev))/>
                                "Stop when the partner converts"</label>
                            <label class="check"><input type="checkbox" aria-label="Active" checked=form.get_untracked().active
                                on:change=move |ev| form.update_untracked(|f| f.active = event_target_checked(&ev))/>
                                "Active (paused sequences take no one and send nothing)"</label>
                        </div>
                        <p class="sub">"A partner also leaves a sequence when the enrollment is no longer active or pending, or when the address unsubscribed."</p>
                        <h3>"Emails"</h3>
                        {variables_hint(&page.variables)}
                        <ol class="steps">
                            {move || {
                                steps_version.track();
                                form.get_untracked().steps.into_iter().enumerate().map(|(i, st)| view! {
                                    <li class="step card">
                                        <div class="step-head">
                                            <strong>{format!("Email {}", i + 1)}</strong>
                                            <label class="inline">"sent"
                                                <input type="number" min="0" max="8760" class="hours" aria-label=format!("Delay of email {}", i + 1) value=st.delay_hours.to_string()
                                                    on:input=move |ev| form.update_untracked(|f| f.steps[i].delay_hours = event_target_value(&ev).parse().unwrap_or(0))/>
                                                {if i == 0 { "hours after the trigger" } else { "hours after the previous email" }}
                                            </label>
                                            <button class="btn btn-small" type="button" on:click=move |_| {
                                                form.update_untracked(|f| { f.steps.remove(i); });
                                                steps_version.update(|v| *v += 1);
                                            }>"Remove"</button>
                                        </div>
                                        <label>"Subject"<input type="text" maxlength="200" aria-label=format!("Subject of email {}", i + 1) value=st.subject
                                            on:input=move |ev| form.update_untracked(|f| f.steps[i].subject = event_target_value(&ev))/></label>
                                        <label>"Text"<textarea rows="5" aria-label=format!("Text of email {}", i + 1)
                                            on:input=move |ev| form.update_untracked(|f| f.steps[i].body = event_target_value(&ev))>{st.body}</textarea></label>
                                    </li>
                                }).collect_view()
                            }}
                        </ol>
                        {can_edit.then(|| view! {
                            <div class="actions">
                                <button class="btn" type="button" on:click=move |_| {
                                    form.update_untracked(|f| f.steps.push(SequenceStepInput { delay_hours: 72, ..Default::default() }));
                                    steps_version.update(|v| *v += 1);
                                }>"Add an email"</button>
                                <button class="btn btn-primary" type="button" disabled=move || save.pending().get()
                                    on:click=move |_| { save.dispatch(SaveSequence { input: form.get_untracked() }); }>"Save sequence"</button>
                            </div>
                        })}
                        <Outcome action=save ok=|_| "Sequence saved.".to_string()/>
                    </section>
                    {id.is_some().then(|| view! {
                        <h2 class="section">"Partners in this sequence"</h2>
                        <DataTable class="table runs" cols=["Partner", "Status", "Progress", "Entered", "Next email"] rows=runs
                            none="No partner has entered yet." row=|r| view! {
                                <tr>
                                    <td><a href=format!("/partners/{}", r.partner_id)>{r.partner}</a></td>
                                    <td><span class=format!("badge run-{}", r.status)>{r.status.clone()}</span></td>
                                    <td>{r.progress}</td>
                                    <td class="sub">{r.entered}</td>
                                    <td class="sub">{r.next_at.unwrap_or_else(|| "—".into())}</td>
                                </tr>
                        }/>
                    })}
                }
            }
        </Async>
    }
}

/// `?view=templates`: a program's footer and its wording of each system email, with a preview.
#[component]
pub fn Templates() -> impl IntoView {
    let query = use_query_map();
    let program = Memo::new(move |_| query.read().get("program").and_then(|p| p.parse::<i64>().ok()));
    let save = ServerAction::<SaveTemplate>::new();
    let footer_save = ServerAction::<SaveFooter>::new();
    let data = Resource::new(move || (program.get(), save.version().get(), footer_save.version().get()), |(p, _, _)| load_templates(p));
    let navigate = use_navigate();
    view! {
        <Async resource=data loading="Loading templates…" let:page>
            {
                let navigate = navigate.clone();
                let pid = page.program_id;
                let partner = RwSignal::new(page.partners.first().map(|p| p.0));
                let footer = RwSignal::new(page.footer.clone());
                let can_edit = page.can_edit;
                view! {
                    <section class="card template-head">
                        <div class="form-grid">
                            <label>"Program"
                                <select aria-label="Program" on:change=move |ev| navigate(&format!("/communication?view=templates&program={}", event_target_value(&ev)), Default::default())>
                                    {page.programs.iter().map(|(id, n)| view! { <option value=*id selected=*id == pid>{n.clone()}</option> }).collect_view()}
                                </select>
                            </label>
                            <label>"Preview with partner"
                                <select aria-label="Preview with partner" on:change=move |ev| partner.set(event_target_value(&ev).parse().ok())>
                                    {page.partners.iter().map(|(id, n)| view! { <option value=*id>{n.clone()}</option> }).collect_view()}
                                </select>
                            </label>
                        </div>
                        <label>"Footer of every email (address, legal note)"
                            <input type="text" maxlength="500" aria-label="Footer" value=page.footer.clone() on:input=move |ev| footer.set(event_target_value(&ev)) disabled=!can_edit/>
                        </label>
                        {can_edit.then(|| view! {
                            <div class="actions">
                                <button class="btn" type="button" on:click=move |_| { footer_save.dispatch(SaveFooter { program_id: pid, footer: footer.get_untracked() }); }>"Save footer"</button>
                            </div>
                        })}
                        <ActionError action=footer_save/>
                        <p class="sub">"Sender, colour and logo are set in Settings → Programs."</p>
                        {variables_hint(&page.variables)}
                    </section>
                    <Outcome action=save ok=|_| "Template saved.".to_string()/>
                    {page.templates.into_iter().map(|t| {
                        let subject = RwSignal::new(t.subject.clone());
                        let body = RwSignal::new(t.body.clone());
                        let preview = ServerAction::<PreviewTemplate>::new();
                        let kind = t.kind.clone();
                        view! {
                            <section class="card template" data-kind=t.kind.clone()>
                                <h3>{t.label.clone()}</h3>
                                <p class="sub">{if t.customized { format!("Changed by {}", t.updated.clone().unwrap_or_default()) } else { "Built-in wording".to_string() }}</p>
                                <label>"Subject"<input type="text" maxlength="200" aria-label=format!("Subject of {}", t.kind) value=t.subject.clone() on:input=move |ev| subject.set(event_target_value(&ev)) disabled=!can_edit/></label>
                                <label>"Text"<textarea rows="7" aria-label=format!("Text of {}", t.kind) on:input=move |ev| body.set(event_target_value(&ev)) disabled=!can_edit>{t.body.clone()}</textarea></label>
                                <div class="actions">
                                    <button class="btn" type="button" on:click=move |_| {
                                        preview.dispatch(PreviewTemplate { input: PreviewInput { program_id: pid, partner_id: partner.get_untracked(), subject: subject.get_untracked(), body: body.get_untracked() } });
                                    }>"Preview"</button>
                                    {can_edit.then(|| {
                                        let kind = kind.clone();
                                        view! {
                                            <button class="btn btn-primary" type="button" on:click=move |_| {
                                                save.dispatch(SaveTemplate { input: TemplateInput { program_id: pid, kind: kind.clone(), subject: subject.get_untracked(), body: body.get_untracked() } });
                                            }>"Save"</button>
                                        }
                                    })}
                                </div>
                                <OutcomeView action=preview ok=|p| view! { <PreviewPane preview=p/> }/>
                            </section>
                        }
                    }).collect_view()}
                }
            }
        </Async>
    }
}

#[component]
fn PreviewPane(preview: EmailPreview) -> impl IntoView {
    view! {
        <div class="email-preview" role="region" aria-label="Email preview">
            <dl class="email-head">
                <dt>"From"</dt><dd>{preview.from}</dd>
                <dt>"Subject"</dt><dd class="preview-subject">{preview.subject}</dd>
                <dt>"Data of"</dt><dd>{preview.partner}</dd>
            </dl>
            <iframe class="email-html" title="HTML part" sandbox="" srcdoc=preview.html></iframe>
            <details><summary>"Plain-text part"</summary><pre class="preview-text">{preview.text}</pre></details>
        </div>
    }
}
