//! Settings → Team: invite members, set their roles, reset passwords, deactivate and reactivate.

use super::{IssuedNote, RolePicker};
use crate::api::access::{load_team, DeactivateMember, InviteMember, ReactivateMember, ResetMemberPassword, SetMemberRoles};
use crate::components::{Async, DataTable, Outcome, OutcomeView};
use leptos::prelude::*;
use models::{MemberRow, Role};
use std::collections::BTreeSet;

#[component]
pub(super) fn TeamTab() -> impl IntoView {
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
    let actions = MemberActions { invite, set_roles, deactivate, reactivate, reset };
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
            <OutcomeView action=invite ok=|link| view! { <IssuedNote link=link what="Invitation created"/> }/>
        </section>
        <OutcomeView action=reset ok=|link| view! { <IssuedNote link=link what="Password reset link created"/> }/>
        <Outcome action=set_roles ok=|_| "Roles saved. They apply from the member's next request.".to_string()/>
        <Outcome action=deactivate ok=|_| "Member deactivated; their sessions have ended.".to_string()/>
        <Outcome action=reactivate ok=|_| "Member reactivated.".to_string()/>
        <h2 class="section">"Members"</h2>
        <Async resource=team loading="Loading the team…" let:rows>
            <DataTable class="table members" cols=["Member", "Roles", "Status", "Last sign-in", ">Actions"] rows
                row=move |m| view! { <MemberLine m actions/> }/>
        </Async>
    }
}

/// The actions a member's row can start.
#[derive(Clone, Copy)]
struct MemberActions {
    invite: ServerAction<InviteMember>,
    set_roles: ServerAction<SetMemberRoles>,
    deactivate: ServerAction<DeactivateMember>,
    reactivate: ServerAction<ReactivateMember>,
    reset: ServerAction<ResetMemberPassword>,
}

#[component]
fn MemberLine(m: MemberRow, actions: MemberActions) -> impl IntoView {
    let MemberActions { invite, set_roles, deactivate, reactivate, reset } = actions;
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
    }
}
