//! Settings: the team and their roles, programs, API keys, the audit log, one's own profile,
//! the outbox and the scheduler's jobs, as tabs of `/settings?tab=…`, one file a tab. Which tabs
//! show follows the roles; every server function checks them again.

mod audit;
mod email;
mod jobs;
mod keys;
mod profile;
mod programs;
mod team;

use crate::api::access::{current_user, load_storage};
use crate::components::{copy, PageHead, TeamShell};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Redirect;
use leptos_router::hooks::use_query_map;
use models::{IssuedLink, Role};
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
            <PageHead title="Settings" intro="Your team, programs, API keys, the audit log and your own profile."/>
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
                Some("team") => view! { <team::TeamTab/> }.into_any(),
                Some("programs") => view! { <programs::ProgramsTab/> }.into_any(),
                Some("keys") => view! { <keys::KeysTab/> }.into_any(),
                Some("audit") => view! { <audit::AuditTab/> }.into_any(),
                Some("profile") => view! { <profile::ProfileTab/> }.into_any(),
                Some("jobs") => view! { <jobs::JobsTab/> }.into_any(),
                Some("email") => view! { <email::EmailTab/> }.into_any(),
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

/// A one-time link that was issued, to copy and pass on.
#[component]
fn IssuedNote(link: IssuedLink, what: &'static str) -> impl IntoView {
    view! {
        <div class="notice issued" role="status">
            <div>{format!("{what} for {}. Until email delivery is set up, send them this link (valid until {}):", link.email, link.expires)}</div>
            <CopyField label="Link to send" value=link.url/>
        </div>
    }
}
