//! Settings: the team and their roles, programs, API keys, the audit log, one's own profile and
//! the scheduler's jobs, as tabs of `/settings?tab=…`. Which tabs show follows the roles; every
//! server function checks them again.

use crate::api::access::current_user;
use crate::api::access::{
    load_audit, load_keys, load_profile, load_storage, load_team, ChangeMyEmail, ChangeMyPassword, CreateKey, DeactivateMember, InviteMember,
    ReactivateMember, RenameMe, ResetMemberPassword, RevokeKey, SetMemberRoles,
};
use crate::api::comms::load_outbox;
use crate::api::programs::{load_programs, ArchiveProgram, CreateProgram, UpdateProgram};
use crate::api::programs::{load_jobs, RunJobNow};
use crate::components::{copy, ErrorNote, TeamShell};
use crate::error::AppError;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Redirect;
use leptos_router::hooks::{use_navigate, use_query_map};
use models::{AuditQuery, IssuedLink, ProgramForm, Role};
use std::collections::BTreeSet;

const TABS: &[(&str, &str)] = &[
    ("team", "Team"),
    ("programs", "Programs"),
    ("keys", "API keys"),
    ("audit", "Audit log"),
    ("profile", "Profile"),
    ("email", "Email"),
    ("jobs", "Jobs"),
];

/// Which tabs a user with `roles` sees.
fn visible(tab: &str, roles: &[Role]) -> bool {
    let admin = roles.contains(&Role::Admin);
    match tab {
        "programs" => admin || roles.contains(&Role::ProgramManager),
        "profile" => true,
        _ => admin,
    }
}

/// `/settings`.
#[component]
pub fn SettingsPage() -> impl IntoView {
    let query = use_query_map();
    let tab = Memo::new(move |_| query.read().get("tab"));
    let me = Resource::new(|| (), |_| current_user());
    view! {
        <TeamShell>
            <Title text="Settings"/>
            <header class="page-head">
                <div>
                    <h1>"Settings"</h1>
                    <p class="muted">"Your team, programs, API keys, the audit log and your own profile."</p>
                </div>
            </header>
            <LowSpaceNotice/>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    let roles = me.await.map(|m| m.roles).unwrap_or_default();
                    let current = tab.get();
                    match current {
                        None => {
                            let to = if roles.contains(&Role::Admin) { "/settings?tab=team" } else { "/settings?tab=profile" };
                            view! { <Redirect path=to/> }.into_any()
                        }
                        Some(current) => view! {
                            <nav class="tabs" aria-label="Settings">
                                {TABS.iter().filter(|(t, _)| visible(t, &roles)).map(|(t, label)| {
                                    let active = *t == current;
                                    view! {
                                        <a href=format!("/settings?tab={t}") class="tab" class:active=active aria-current=active.then_some("page")>{*label}</a>
                                    }
                                }).collect_view()}
                            </nav>
                        }.into_any(),
                    }
                })}
            </Suspense>
            {move || match tab.get().as_deref() {
                Some("team") => view! { <TeamTab/> }.into_any(),
                Some("programs") => view! { <ProgramsTab/> }.into_any(),
                Some("keys") => view! { <KeysTab/> }.into_any(),
                Some("audit") => view! { <AuditTab/> }.into_any(),
                Some("profile") => view! { <ProfileTab/> }.into_any(),
                Some("jobs") => view! { <JobsTab/> }.into_any(),
                Some("email") => view! { <EmailTab/> }.into_any(),
                _ => ().into_any(),
            }}
        </TeamShell>
    }
}

/// Warns admins when the filesystem under the embedded database runs low (under 10% or 1 GB):
/// once it is full, writes are refused with 503 until space is freed. Others see nothing (the
/// server function answers them with no figure, so the markup is the same on server and client).
#[component]
fn LowSpaceNotice() -> impl IntoView {
    let space = Resource::new(|| (), |_| load_storage());
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match space.await {
                    Ok(Some(s)) if s.low => view! {
                        <div class="error" role="alert">
                            <strong>"Disk space is running low. "</strong>
                            {format!("The database's disk has {}. ", s.summary)}
                            "When it is full, Trellis refuses new conversions and changes (they answer 503 and can be retried) until space is freed."
                        </div>
                    }.into_any(),
                    _ => ().into_any(),
                }
            })}
        </Suspense>
    }
}

/// A value to hand on (a link or a key) with a copy button.
#[component]
fn CopyField(label: &'static str, value: String) -> impl IntoView {
    let v = value.clone();
    view! {
        <div class="copy-field">
            <input readonly value=value aria-label=label/>
            <button type="button" class="btn" on:click=move |_| copy(v.clone())>"Copy"</button>
        </div>
    }
}

/// A one-line outcome of an action.
fn outcome<S>(action: ServerAction<S>, ok: impl Fn(S::Output) -> String + Send + Sync + 'static) -> impl IntoView
where
    S: leptos::server_fn::ServerFn<Error = AppError> + Send + Sync + Clone + 'static,
    S::Output: Clone + Send + Sync + 'static,
{
    move || {
        action.value().get().map(|r| match r {
            Ok(v) => view! { <div class="notice" role="status">{ok(v)}</div> }.into_any(),
            Err(e) => view! { <ErrorNote error=e/> }.into_any(),
        })
    }
}

/// Role checkboxes bound to a set.
#[component]
fn RolePicker(picked: RwSignal<BTreeSet<Role>>, who: String) -> impl IntoView {
    view! {
        <div class="role-picker">
            {Role::ALL.iter().map(|r| {
                let r = *r;
                view! {
                    <label class="check">
                        <input type="checkbox" prop:checked=move || picked.read().contains(&r)
                            aria-label=format!("{who}: {}", r.label())
                            on:change=move |ev| {
                                let on = event_target_checked(&ev);
                                picked.update(|s| { if on { s.insert(r); } else { s.remove(&r); } });
                            }/>
                        {r.label()}
                    </label>
                }
            }).collect_view()}
        </div>
    }
}

#[component]
fn IssuedNote(link: IssuedLink, what: &'static str) -> impl IntoView {
    view! {
        <div class="notice issued" role="status">
            <div>{format!("{what} for {}. Until email delivery is set up, send them this link (valid until {}):", link.email, link.expires)}</div>
            <CopyField label="Link to send" value=link.url/>
        </div>
    }
}

#[component]
fn TeamTab() -> impl IntoView {
    let invite = ServerAction::<InviteMember>::new();
    let set_roles = ServerAction::<SetMemberRoles>::new();
    let deactivate = ServerAction::<DeactivateMember>::new();
    let reactivate = ServerAction::<ReactivateMember>::new();
    let reset = ServerAction::<ResetMemberPassword>::new();
    let team = Resource::new(
        move || (invite.version().get(), set_roles.version().get(), deactivate.version().get(), reactivate.version().get()),
        |_| load_team(),
    );
    let email = RwSignal::new(String::new());
    let name = RwSignal::new(String::new());
    let picked = RwSignal::new(BTreeSet::<Role>::new());
    Effect::new(move |_| {
        if let Some(Ok(_)) = invite.value().get() {
            email.set(String::new());
            name.set(String::new());
            picked.set(BTreeSet::new());
        }
    });
    let on_invite = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        invite.dispatch(InviteMember { email: email.get_untracked(), name: name.get_untracked(), roles: picked.get_untracked().into_iter().collect() });
    };
    view! {
        <section class="card settings-form" aria-label="Invite a team member">
            <h2>"Invite a team member"</h2>
            <form class="form inline-form" on:submit=on_invite>
                <label>"Email"<input type="email" required prop:value=email on:input=move |ev| email.set(event_target_value(&ev)) aria-label="Invite email"/></label>
                <label>"Name"<input type="text" prop:value=name on:input=move |ev| name.set(event_target_value(&ev)) placeholder="optional" aria-label="Invite name"/></label>
                <fieldset class="roles">
                    <legend>"Roles"</legend>
                    <RolePicker picked=picked who="Invite".to_string()/>
                </fieldset>
                <div><button type="submit" class="btn btn-primary" disabled=move || invite.pending().get()>"Send invitation"</button></div>
            </form>
            {move || invite.value().get().map(|r| match r {
                Ok(link) => view! { <IssuedNote link=link what="Invitation created"/> }.into_any(),
                Err(e) => view! { <ErrorNote error=e/> }.into_any(),
            })}
        </section>
        {move || reset.value().get().map(|r| match r {
            Ok(link) => view! { <IssuedNote link=link what="Password reset link created"/> }.into_any(),
            Err(e) => view! { <ErrorNote error=e/> }.into_any(),
        })}
        {outcome(set_roles, |_| "Roles saved. They apply from the member's next request.".to_string())}
        {outcome(deactivate, |_| "Member deactivated; their sessions have ended.".to_string())}
        {outcome(reactivate, |_| "Member reactivated.".to_string())}
        <h2 class="section">"Members"</h2>
        <Transition fallback=|| view! { <div class="loading">"Loading the team…"</div> }>
            {move || Suspend::new(async move {
                match team.await {
                    Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                    Ok(rows) => view! {
                        <div class="card table-card">
                            <table class="table members">
                                <thead><tr><th>"Member"</th><th>"Roles"</th><th>"Status"</th><th>"Last sign-in"</th><th class="right">"Actions"</th></tr></thead>
                                <tbody>
                                    {rows.into_iter().map(|m| {
                                        let id = m.id;
                                        let roles = RwSignal::new(m.roles.iter().copied().collect::<BTreeSet<Role>>());
                                        let active = m.status == "active";
                                        let deactivated = m.status == "deactivated";
                                        let resend = (m.status == "invited").then(|| InviteMember { email: m.email.clone(), name: m.name.clone(), roles: m.roles.clone() });
                                        view! {
                                            <tr>
                                                <td>
                                                    <div class="name">{m.name.clone()}{m.is_me.then(|| view! { <span class="muted">" (you)"</span> })}</div>
                                                    <div class="sub">{m.email.clone()}</div>
                                                </td>
                                                <td class="roles">
                                                    <RolePicker picked=roles who=m.email.clone()/>
                                                    <button class="btn small-btn" aria-label=format!("Save roles of {}", m.email)
                                                        on:click=move |_| { set_roles.dispatch(SetMemberRoles { user_id: id, roles: roles.get_untracked().into_iter().collect() }); }>
                                                        "Save roles"
                                                    </button>
                                                </td>
                                                <td><span class=format!("badge member-{}", m.status)>{m.status.clone()}</span></td>
                                                <td class="num">{m.last_login.unwrap_or_else(|| "never".into())}</td>
                                                <td><div class="row-actions">
                                                    {active.then(|| view! {
                                                        <button class="btn" on:click=move |_| { reset.dispatch(ResetMemberPassword { user_id: id }); }
                                                            aria-label=format!("Reset password of {}", m.email)>"Reset password"</button>
                                                    })}
                                                    {(active && !m.is_me).then(|| view! {
                                                        <button class="btn btn-danger" on:click=move |_| { deactivate.dispatch(DeactivateMember { user_id: id }); }
                                                            aria-label=format!("Deactivate {}", m.email)>"Deactivate"</button>
                                                    })}
                                                    {resend.map(|again| view! {
                                                        <button class="btn" on:click=move |_| { invite.dispatch(again.clone()); }
                                                            aria-label=format!("Resend the invitation to {}", m.email)>"Resend invitation"</button>
                                                    })}
                                                    {deactivated.then(|| view! {
                                                        <button class="btn" on:click=move |_| { reactivate.dispatch(ReactivateMember { user_id: id }); }
                                                            aria-label=format!("Reactivate {}", m.email)>"Reactivate"</button>
                                                    })}
                                                </div></td>
                                            </tr>
                                        }.into_any()
                                    }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                    }.into_any(),
                }
            })}
        </Transition>
    }
}

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
fn ProgramsTab() -> impl IntoView {
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
        {outcome(create, |id| format!("Program #{id} created with one Standard tier; set its tiers under Tiers."))}
        {outcome(update, |_| "Program saved.".to_string())}
        {outcome(archive, |_| "Done.".to_string())}
        <Transition fallback=|| view! { <div class="loading">"Loading programs…"</div> }>
            {move || Suspend::new(async move {
                let page = match data.await {
                    Ok(p) => p,
                    Err(e) => return view! { <ErrorNote error=e/> }.into_any(),
                };
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
                }.into_any()
            })}
        </Transition>
    }
}

#[component]
fn KeysTab() -> impl IntoView {
    let create = ServerAction::<CreateKey>::new();
    let revoke = ServerAction::<RevokeKey>::new();
    let keys = Resource::new(move || (create.version().get(), revoke.version().get()), |_| load_keys());
    let name = RwSignal::new(String::new());
    let on_create = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        create.dispatch(CreateKey { name: name.get_untracked() });
    };
    view! {
        <section class="card settings-form" aria-label="Create an API key">
            <h2>"Create an API key"</h2>
            <p class="muted">"A key acts for this account on the REST API (" <a href="/api/v1/openapi.json" rel="external">"OpenAPI"</a> "). Only a hash is stored: copy the key now, it is shown once."</p>
            <form class="form inline-form" on:submit=on_create>
                <label>"Name"<input type="text" required prop:value=name on:input=move |ev| name.set(event_target_value(&ev)) placeholder="e.g. Shop backend" aria-label="Key name"/></label>
                <div><button type="submit" class="btn btn-primary" disabled=move || create.pending().get()>"Create key"</button></div>
            </form>
            {move || create.value().get().map(|r| match r {
                Ok(k) => view! {
                    <div class="notice issued" role="status">
                        <div>"Your new key. Copy it now: it will not be shown again."</div>
                        <CopyField label="New API key" value=k.secret/>
                    </div>
                }.into_any(),
                Err(e) => view! { <ErrorNote error=e/> }.into_any(),
            })}
        </section>
        {outcome(revoke, |_| "Key revoked; it is refused from now on.".to_string())}
        <Transition fallback=|| view! { <div class="loading">"Loading keys…"</div> }>
            {move || Suspend::new(async move {
                match keys.await {
                    Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                    Ok(rows) => view! {
                        <div class="card table-card">
                            <table class="table keys">
                                <thead><tr><th>"Name"</th><th>"Key"</th><th>"Created"</th><th>"Last used"</th><th>"Status"</th><th></th></tr></thead>
                                <tbody>
                                    {if rows.is_empty() {
                                        view! { <tr><td colspan="6" class="empty">"No API keys yet."</td></tr> }.into_any()
                                    } else {
                                        rows.into_iter().map(|k| {
                                            let id = k.id;
                                            let live = k.revoked.is_none();
                                            view! {
                                                <tr>
                                                    <td class="name">{k.name.clone()}</td>
                                                    <td class="num">{k.prefix}</td>
                                                    <td class="num">{k.created}</td>
                                                    <td class="num">{k.last_used.unwrap_or_else(|| "never".into())}</td>
                                                    <td>{match k.revoked {
                                                        Some(t) => view! { <span class="badge member-deactivated">"revoked"</span><div class="sub">{t}</div> }.into_any(),
                                                        None => view! { <span class="badge member-active">"active"</span> }.into_any(),
                                                    }}</td>
                                                    <td class="row-actions">{live.then(|| view! {
                                                        <button class="btn btn-danger" aria-label=format!("Revoke {}", k.name)
                                                            on:click=move |_| { revoke.dispatch(RevokeKey { id }); }>"Revoke"</button>
                                                    })}</td>
                                                </tr>
                                            }.into_any()
                                        }).collect_view().into_any()
                                    }}
                                </tbody>
                            </table>
                        </div>
                    }.into_any(),
                }
            })}
        </Transition>
    }
}

fn audit_href(q: &AuditQuery, base: &str) -> String {
    let mut parts = if base == "/settings" { vec!["tab=audit".to_string()] } else { Vec::new() };
    let enc = |s: &str| -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    for (k, v) in [("q", &q.q), ("actor", &q.actor), ("kind", &q.kind), ("from", &q.from), ("to", &q.to)] {
        if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
            parts.push(format!("{k}={}", enc(v)));
        }
    }
    if q.page > 1 {
        parts.push(format!("page={}", q.page));
    }
    if parts.is_empty() { base.to_string() } else { format!("{base}?{}", parts.join("&")) }
}

#[component]
fn AuditTab() -> impl IntoView {
    let query = use_query_map();
    let filter = Memo::new(move |_| {
        let q = query.read();
        let text = |k: &str| q.get(k).filter(|v| !v.is_empty());
        AuditQuery {
            q: text("q"),
            actor: text("actor"),
            kind: text("kind"),
            from: text("from"),
            to: text("to"),
            page: q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1),
        }
    });
    let data = Resource::new(move || filter.get(), load_audit);
    let navigate = use_navigate();
    let go = move |f: AuditQuery| navigate(&audit_href(&f, "/settings"), Default::default());
    let search = RwSignal::new(filter.get_untracked().q.unwrap_or_default());
    view! {
        <Transition fallback=|| view! { <div class="loading">"Loading the audit log…"</div> }>
            {move || {
                let go = go.clone();
                Suspend::new(async move {
                let page = match data.await {
                    Ok(p) => p,
                    Err(e) => return view! { <ErrorNote error=e/> }.into_any(),
                };
                let f = filter.get_untracked();
                let set = {
                    let go = go.clone();
                    move |change: fn(&mut AuditQuery, String)| {
                        let go = go.clone();
                        move |ev: leptos::ev::Event| {
                            let mut next = filter.get_untracked();
                            change(&mut next, event_target_value(&ev));
                            next.page = 1;
                            go(next);
                        }
                    }
                };
                let on_search = {
                    let go = go.clone();
                    move |ev: leptos::ev::SubmitEvent| {
                        ev.prevent_default();
                        let mut next = filter.get_untracked();
                        next.q = Some(search.get_untracked()).filter(|s| !s.trim().is_empty());
                        next.page = 1;
                        go(next);
                    }
                };
                let pages = page.total.div_ceil(page.per_page).max(1);
                let prev = (page.page > 1).then(|| audit_href(&AuditQuery { page: page.page - 1, ..f.clone() }, "/settings"));
                let next = (page.page < pages).then(|| audit_href(&AuditQuery { page: page.page + 1, ..f.clone() }, "/settings"));
                view! {
                    <div class="toolbar audit-filters">
                        <form class="search" on:submit=on_search>
                            <input type="search" placeholder="Search who, what, values…" prop:value=search on:input=move |ev| search.set(event_target_value(&ev)) aria-label="Search the audit log"/>
                            <button type="submit" class="btn">"Search"</button>
                        </form>
                        <label class="picker">"Actor "
                            <select on:change=set(|q, v| q.actor = Some(v).filter(|v| !v.is_empty())) aria-label="Actor">
                                <option value="" selected=f.actor.is_none()>"Anyone"</option>
                                {page.actors.iter().map(|a| view! { <option value=a.clone() selected=f.actor.as_deref() == Some(a.as_str())>{a.clone()}</option> }).collect_view()}
                            </select>
                        </label>
                        <label class="picker">"Kind "
                            <select on:change=set(|q, v| q.kind = Some(v).filter(|v| !v.is_empty())) aria-label="Kind">
                                <option value="" selected=f.kind.is_none()>"Any change"</option>
                                {page.kinds.iter().map(|k| view! { <option value=k.clone() selected=f.kind.as_deref() == Some(k.as_str())>{k.replace('_', " ")}</option> }).collect_view()}
                            </select>
                        </label>
                        <label class="picker">"From "<input type="date" value=f.from.clone().unwrap_or_default() on:change=set(|q, v| q.from = Some(v).filter(|v| !v.is_empty())) aria-label="From"/></label>
                        <label class="picker">"To "<input type="date" value=f.to.clone().unwrap_or_default() on:change=set(|q, v| q.to = Some(v).filter(|v| !v.is_empty())) aria-label="To"/></label>
                        <a class="btn" href=audit_href(&AuditQuery { page: 1, ..f.clone() }, "/settings/audit.csv") rel="external" download="audit-log.csv">"Export CSV"</a>
                    </div>
                    <p class="muted small">{format!("{} entries", page.total)}</p>
                    <div class="card table-card">
                        <table class="table audit">
                            <thead><tr><th>"When"</th><th>"Who"</th><th>"What"</th><th>"Subject"</th><th>"Before ↓ after"</th></tr></thead>
                            <tbody>
                                {if page.rows.is_empty() {
                                    view! { <tr><td colspan="5" class="empty">"No entries match."</td></tr> }.into_any()
                                } else {
                                    page.rows.into_iter().map(|r| view! {
                                        <tr>
                                            <td class="num">{r.at}</td>
                                            <td>{r.actor}</td>
                                            <td><span class="badge">{r.kind.replace('_', " ")}</span></td>
                                            <td>{r.subject}</td>
                                            <td class="change">
                                                <div class="before">{r.before.unwrap_or_else(|| "—".into())}</div>
                                                <div class="arrow" aria-hidden="true">"↓"</div>
                                                <div class="after">{r.after.unwrap_or_else(|| "—".into())}</div>
                                            </td>
                                        </tr>
                                    }.into_any()).collect_view().into_any()
                                }}
                            </tbody>
                        </table>
                    </div>
                    <div class="pager">
                        <span class="muted">{format!("Page {} of {pages}", page.page)}</span>
                        <span class="pager-links">
                            {prev.map(|h| view! { <a class="btn" href=h>"Previous"</a> })}
                            {next.map(|h| view! { <a class="btn" href=h>"Next"</a> })}
                        </span>
                    </div>
                }.into_any()
            })}}
        </Transition>
    }
}

#[component]
fn ProfileTab() -> impl IntoView {
    let rename = ServerAction::<RenameMe>::new();
    let email = ServerAction::<ChangeMyEmail>::new();
    let password = ServerAction::<ChangeMyPassword>::new();
    let profile = Resource::new(move || (rename.version().get(), email.version().get()), |_| load_profile());
    let confirm = RwSignal::new(String::new());
    let new_password = RwSignal::new(String::new());
    let current = RwSignal::new(String::new());
    let mismatch = move || !confirm.read().is_empty() && *confirm.read() != *new_password.read();
    view! {
        <Transition fallback=|| view! { <div class="loading">"Loading your profile…"</div> }>
            {move || Suspend::new(async move {
                match profile.await {
                    Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                    Ok(p) => view! {
                        <div class="cards profile">
                            <section class="card settings-form" aria-label="Name">
                                <h2>"Name"</h2>
                                <ActionForm action=rename attr:class="form">
                                    <label>"Name"<input type="text" name="name" required value=p.name.clone() aria-label="Your name"/></label>
                                    <div><button type="submit" class="btn btn-primary">"Save name"</button></div>
                                </ActionForm>
                                {outcome(rename, |_| "Name saved.".to_string())}
                                <p class="muted small">{format!("Roles: {}", p.roles.iter().map(|r| r.label()).collect::<Vec<_>>().join(", "))}</p>
                            </section>
                            <section class="card settings-form" aria-label="Email">
                                <h2>"Email"</h2>
                                <p class="muted">{format!("You sign in with {}.", p.email)}</p>
                                {p.pending_email.map(|e| view! { <p class="notice">{format!("Waiting for confirmation of {e}: open the link we sent there.")}</p> })}
                                <ActionForm action=email attr:class="form">
                                    <label>"New email"<input type="email" name="email" required aria-label="New email"/></label>
                                    <label>"Current password"<input type="password" name="current_password" required autocomplete="current-password" aria-label="Current password for email"/></label>
                                    <div><button type="submit" class="btn btn-primary">"Change email"</button></div>
                                </ActionForm>
                                {outcome(email, |_| "We sent a confirmation link to the new address. Until you open it, sign in with your current email.".to_string())}
                            </section>
                            <section class="card settings-form" aria-label="Password">
                                <h2>"Password"</h2>
                                <form class="form" on:submit=move |ev: leptos::ev::SubmitEvent| {
                                    ev.prevent_default();
                                    if !mismatch() {
                                        password.dispatch(ChangeMyPassword { current_password: current.get_untracked(), new_password: new_password.get_untracked() });
                                    }
                                }>
                                    <label>"Current password"<input type="password" required autocomplete="current-password" prop:value=current on:input=move |ev| current.set(event_target_value(&ev)) aria-label="Current password"/></label>
                                    <label>"New password"<input type="password" required minlength="8" autocomplete="new-password" prop:value=new_password on:input=move |ev| new_password.set(event_target_value(&ev)) aria-label="New password"/></label>
                                    <label>"Repeat new password"<input type="password" required autocomplete="new-password" prop:value=confirm on:input=move |ev| confirm.set(event_target_value(&ev)) aria-label="Repeat new password"/></label>
                                    {move || mismatch().then(|| view! { <div class="error" role="alert">"The new passwords differ."</div> })}
                                    <div><button type="submit" class="btn btn-primary">"Change password"</button></div>
                                </form>
                                {outcome(password, |n| format!("Password changed. {n} other session(s) signed out."))}
                            </section>
                        </div>
                    }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn JobsTab() -> impl IntoView {
    let run = ServerAction::<RunJobNow>::new();
    let data = Resource::new(move || run.version().get(), |_| load_jobs());
    view! {
        {move || run.value().get().map(|r| match r {
            Ok(msg) => view! { <div class="notice" role="status">{msg}</div> }.into_any(),
            Err(e) => view! { <ErrorNote error=e/> }.into_any(),
        })}
        <Transition fallback=|| view! { <div class="loading">"Loading jobs…"</div> }>
            {move || Suspend::new(async move {
                match data.await {
                    Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                    Ok((jobs, _)) if jobs.is_empty() => view! {
                        <p class="muted">"Background jobs run for every account on this server; the instance operator (an admin of its first account) sees and starts them here."</p>
                    }.into_any(),
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
                                        }.into_any()
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
    }
}

/// Settings → Email: every email the account sent or will send, with its delivery state.
#[component]
fn EmailTab() -> impl IntoView {
    let query = use_query_map();
    let status = Memo::new(move |_| query.read().get("status").unwrap_or_default());
    let q = Memo::new(move |_| query.read().get("q").unwrap_or_default());
    let page = Memo::new(move |_| query.read().get("page").and_then(|p| p.parse::<u64>().ok()).unwrap_or(1));
    let data = Resource::new(
        move || (status.get(), q.get(), page.get()),
        |(s, q, p)| load_outbox(Some(s).filter(|s| !s.is_empty()), Some(q).filter(|q| !q.is_empty()), p),
    );
    let href = move |s: &str, p: u64| {
        let mut parts = vec!["tab=email".to_string(), format!("status={s}")];
        let q = q.get_untracked();
        if !q.is_empty() {
            parts.push(format!("q={}", models::url_encode(&q)));
        }
        if p > 1 {
            parts.push(format!("page={p}"));
        }
        format!("/settings?{}", parts.join("&"))
    };
    view! {
        <form class="card filters" method="get" action="/settings">
            <input type="hidden" name="tab" value="email"/>
            <input type="search" name="q" placeholder="Recipient or subject" aria-label="Search emails" prop:value=move || q.get()/>
            <select name="status" aria-label="Status" prop:value=move || status.get()>
                <option value="">"Any status"</option>
                {["queued", "sending", "sent", "failed", "suppressed"].into_iter().map(|s| view! { <option value=s>{s}</option> }).collect_view()}
            </select>
            <button class="btn" type="submit">"Filter"</button>
        </form>
        <Transition fallback=|| view! { <div class="loading">"Loading emails…"</div> }>
            {move || Suspend::new(async move {
                match data.await {
                    Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                    Ok(p) => {
                        let pages = p.total.div_ceil(p.per_page).max(1);
                        let current = p.page;
                        let s = status.get_untracked();
                        view! {
                            <p class="muted">
                                {if p.delivering {
                                    "This server delivers mail over SMTP (TRELLIS_SMTP_URL); the outbox_delivery job sends queued emails every minute and retries failures with backoff.".to_string()
                                } else {
                                    "TRELLIS_SMTP_URL is not set: emails stay here, readable below, until SMTP is configured.".to_string()
                                }}
                                {format!(" {} emails.", p.total)}
                            </p>
                            <div class="card table-card">
                                <table class="table outbox">
                                    <thead><tr><th>"Email"</th><th>"To"</th><th>"Status"</th><th>"Queued"</th><th>"Opened"</th></tr></thead>
                                    <tbody>
                                        {p.items.into_iter().map(|e| view! {
                                            <tr>
                                                <td>
                                                    <details>
                                                        <summary><span class="name">{e.subject.clone()}</span><span class="sub">{format!(" · {}", e.kind)}</span></summary>
                                                        <pre class="email-body">{e.body.clone()}</pre>
                                                    </details>
                                                </td>
                                                <td>{match e.partner_id {
                                                    Some(pid) => view! { <a href=format!("/partners/{pid}")>{e.to.clone()}</a> }.into_any(),
                                                    None => view! { <span>{e.to.clone()}</span> }.into_any(),
                                                }}</td>
                                                <td>
                                                    <span class=format!("badge mail-{}", e.status)>{e.status.clone()}</span>
                                                    <div class="sub">{match (&e.sent, &e.next_attempt) {
                                                        (Some(t), _) => format!("sent {t}"),
                                                        (None, Some(t)) if e.attempts > 0 => format!("attempt {} · next {t}", e.attempts + 1),
                                                        _ => String::new(),
                                                    }}</div>
                                                    {e.last_error.clone().map(|x| view! { <div class="sub error-text">{x}</div> })}
                                                </td>
                                                <td class="num">{e.created.clone()}</td>
                                                <td class="num">{e.opened.clone().unwrap_or_else(|| "—".into())}</td>
                                            </tr>
                                        }).collect_view()}
                                    </tbody>
                                </table>
                            </div>
                            <nav class="pager">
                                {(current > 1).then(|| view! { <a class="btn" href=href(&s, current - 1)>"← Newer"</a> })}
                                <span class="muted">{format!("Page {current} of {pages}")}</span>
                                {(current < pages).then(|| view! { <a class="btn" href=href(&s, current + 1)>"Older →"</a> })}
                            </nav>
                        }.into_any()
                    }
                }
            })}
        </Transition>
    }
}

