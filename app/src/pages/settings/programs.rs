//! Settings → Programs: each program's settings, branding and managers; creating, archiving and
//! restoring programs.

use crate::api::programs::{load_programs, ArchiveProgram, CreateProgram, UpdateProgram};
use crate::components::{Async, Outcome};
use leptos::prelude::*;
use models::ProgramForm;

/// Binds a text input to one field of a form signal.
fn field(form: RwSignal<ProgramForm>, get: fn(&ProgramForm) -> String, set: fn(&mut ProgramForm, String)) -> (impl Fn() -> String + Copy, impl Fn(leptos::ev::Event) + Copy) {
    (move || form.with(get), move |ev| {
        let v = event_target_value(&ev);
        form.update(|f| set(f, v));
    })
}

#[component]
fn ProgramEditor(
    program_id: Option<i64>,
    initial: ProgramForm,
    managers: Vec<(i64, String)>,
    is_admin: bool,
    editable: bool,
    create: ServerAction<CreateProgram>,
    update: ServerAction<UpdateProgram>,
) -> impl IntoView {
    let form = RwSignal::new(initial);
    let prefix = program_id.map(|id| format!("program {id}")).unwrap_or_else(|| "new program".into());
    let text_prefix = prefix.clone();
    let text = move |label: &'static str, get: fn(&ProgramForm) -> String, set: fn(&mut ProgramForm, String), hint: &'static str| {
        let (value, on_input) = field(form, get, set);
        view! {
            <label>
                {label}
                <input type="text" prop:value=value on:input=on_input disabled=!editable aria-label=format!("{label} ({})", text_prefix)/>
                {(!hint.is_empty()).then(|| view! { <span class="hint">{hint}</span> })}
            </label>
        }
        .into_any()
    };
    let (kind, on_kind) = field(form, |f| f.commission_kind.clone(), |f, v| f.commission_kind = v);
    let (attribution, on_attribution) = field(form, |f| f.attribution.clone(), |f, v| f.attribution = v);
    let (color, on_color) = field(form, |f| f.brand_color.clone(), |f, v| f.brand_color = v);
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        match program_id {
            Some(id) => {
                update.dispatch(UpdateProgram { program_id: id, form: form.get_untracked() });
            }
            None => {
                create.dispatch(CreateProgram { form: form.get_untracked() });
            }
        }
    };
    let label_prefix = prefix.clone();
    view! {
        <form class="form program-form" on:submit=save>
            <div class="grid-2">
                {text("Name", |f| f.name.clone(), |f, v| f.name = v, "")}
                {if program_id.is_none() {
                    text("Currency", |f| f.currency.clone(), |f, v| f.currency = v, "ISO 4217 code, e.g. USD or EUR")
                } else {
                    view! { <label>"Currency"<input type="text" prop:value=move || form.with(|f| f.currency.clone()) disabled=true aria-label=format!("Currency ({label_prefix})")/><span class="hint">"Fixed once the program exists."</span></label> }.into_any()
                }}
                {text("Website", |f| f.website.clone(), |f, v| f.website = v, "Links default to it.")}
                {text("Allowed domains", |f| f.allowed_domains.clone(), |f, v| f.allowed_domains = v, "Further hosts links may point at, comma-separated; subdomains included.")}
                {text("Cookie window (days)", |f| f.cookie_days.clone(), |f, v| f.cookie_days = v, "1 to 365")}
                <label>
                    "Attribution"
                    <select prop:value=attribution on:change=on_attribution disabled=!editable aria-label=format!("Attribution ({})", prefix)>
                        <option value="last_click">"Last click named by the conversion"</option>
                    </select>
                </label>
                <label>
                    "Default commission"
                    <span class="commission">
                        <select prop:value=kind on:change=on_kind disabled=!editable aria-label=format!("Commission kind ({})", prefix)>
                            <option value="percent">"%"</option>
                            <option value="flat">"flat"</option>
                        </select>
                        <input type="text" class="short" prop:value=move || form.with(|f| f.commission_value.clone()) disabled=!editable
                            on:input=move |ev| { let v = event_target_value(&ev); form.update(|f| f.commission_value = v); }
                            aria-label=format!("Commission ({})", prefix)/>
                    </span>
                </label>
                {text("Hold period (days)", |f| f.hold_days.clone(), |f, v| f.hold_days = v, "Before a commission can be approved.")}
                <label>
                    "Eligibility"
                    <select prop:value=move || if form.with(|f| f.auto_approve) { "auto" } else { "manual" } disabled=!editable
                        on:change=move |ev| { let v = event_target_value(&ev) == "auto"; form.update(|f| f.auto_approve = v); }
                        aria-label=format!("Eligibility ({})", prefix)>
                        <option value="manual">"Manual review of applications"</option>
                        <option value="auto">"Approve applications automatically"</option>
                    </select>
                </label>
                {text("Dormant after (days without a conversion)", |f| f.dormant_days.clone(), |f, v| f.dormant_days = v, "")}
            </div>
            <h3 class="section">"Branding"</h3>
            <div class="grid-2">
                <label>
                    "Colour"
                    <span class="commission">
                        <input type="color" prop:value=color on:input=on_color disabled=!editable aria-label=format!("Colour picker ({})", prefix)/>
                        <input type="text" class="short" prop:value=color on:input=on_color disabled=!editable aria-label=format!("Colour ({})", prefix)/>
                    </span>
                </label>
                {text("Logo URL", |f| f.logo_url.clone(), |f, v| f.logo_url = v, "https://…, optional")}
                {text("Sender name", |f| f.sender_name.clone(), |f, v| f.sender_name = v, "")}
                {text("Sender address", |f| f.sender_email.clone(), |f, v| f.sender_email = v, "")}
            </div>
            {(is_admin && !managers.is_empty()).then(|| view! {
                <fieldset class="roles">
                    <legend>"Managed by"</legend>
                    <div class="role-picker">
                        {managers.into_iter().map(|(id, name)| view! {
                            <label class="check">
                                <input type="checkbox" prop:checked=move || form.with(|f| f.managers.contains(&id))
                                    on:change=move |ev| { let on = event_target_checked(&ev); form.update(|f| { f.managers.retain(|m| *m != id); if on { f.managers.push(id); } }); }/>
                                {name}
                            </label>
                        }).collect_view()}
                    </div>
                </fieldset>
            })}
            {editable.then(|| view! {
                <div>
                    <button type="submit" class="btn btn-primary">{if program_id.is_some() { "Save program" } else { "Create program" }}</button>
                </div>
            })}
        </form>
    }
    .into_any()
}

#[component]
pub(super) fn ProgramsTab() -> impl IntoView {
    let create = ServerAction::<CreateProgram>::new();
    let update = ServerAction::<UpdateProgram>::new();
    let archive = ServerAction::<ArchiveProgram>::new();
    // Reload only after a success: a refused form keeps what was typed.
    let saved = RwSignal::new(0u32);
    Effect::new(move |_| {
        if matches!(create.value().get(), Some(Ok(_))) || matches!(update.value().get(), Some(Ok(_))) {
            saved.update(|n| *n += 1);
        }
    });
    let data = Resource::new(move || (saved.get(), archive.version().get()), |_| load_programs());
    view! {
        <Outcome action=create ok=|id| format!("Program #{id} created with one Standard tier; set its tiers under Tiers.")/>
        <Outcome action=update ok=|_| "Program saved.".to_string()/>
        <Outcome action=archive ok=|_| "Done.".to_string()/>
        <Async resource=data loading="Loading programs…" let:page>
            {
                let managers = page.managers.clone();
                let is_admin = page.is_admin;
                view! {
                    {is_admin.then(|| view! {
                        <details class="card program-card">
                            <summary><span class="name">"New program"</span></summary>
                            <ProgramEditor program_id=None initial=page.blank.clone() managers=managers.clone() is_admin=true editable=true create update/>
                        </details>
                    })}
                    {page.programs.into_iter().map(|p| {
                        let id = p.id;
                        let archived = p.archived.is_some();
                        view! {
                            <details class="card program-card" class:archived=archived>
                                <summary>
                                    <span class="swatch" style=format!("background:{}", p.form.brand_color)></span>
                                    <span class="name">{p.form.name.clone()}</span>
                                    <span class="muted">{format!("{} · {} active partners", p.form.currency, p.partners)}</span>
                                    {p.archived.clone().map(|a| view! { <span class="badge">{format!("archived {a}")}</span> })}
                                    {(!p.editable).then(|| view! { <span class="badge">"read-only"</span> })}
                                </summary>
                                {(!archived).then(|| view! {
                                    <p class="apply-link muted">"Public application page: " <a href=format!("/apply/{id}") target="_blank">{format!("/apply/{id}")}</a></p>
                                })}
                                <ProgramEditor program_id=Some(id) initial=p.form managers=managers.clone() is_admin editable=p.editable create update/>
                                {is_admin.then(|| view! {
                                    <div class="actions">
                                        {if archived {
                                            view! { <button class="btn" on:click=move |_| { archive.dispatch(ArchiveProgram { program_id: id, archived: false }); }>"Restore program"</button> }.into_any()
                                        } else {
                                            view! { <button class="btn btn-danger" on:click=move |_| { archive.dispatch(ArchiveProgram { program_id: id, archived: true }); }>"Archive program"</button>
                                                <span class="muted small">"Its data stays; it takes no new enrollments, links or conversions."</span> }.into_any()
                                        }}
                                    </div>
                                })}
                            </details>
                        }.into_any()
                    }).collect_view()}
                }
            }
        </Async>
    }
}
