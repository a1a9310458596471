//! Settings → Profile: one's own name, email (confirmed by a link) and password.

use crate::api::access::{load_profile, ChangeMyEmail, ChangeMyPassword, RenameMe};
use crate::components::{Async, Outcome};
use leptos::prelude::*;

#[component]
pub(super) fn ProfileTab() -> impl IntoView {
    let rename = ServerAction::<RenameMe>::new();
    let email = ServerAction::<ChangeMyEmail>::new();
    let password = ServerAction::<ChangeMyPassword>::new();
    let profile = Resource::new(move || (rename.version().get(), email.version().get()), |_| load_profile());
    let confirm = RwSignal::new(String::new());
    let new_password = RwSignal::new(String::new());
    let current = RwSignal::new(String::new());
    let mismatch = move || !confirm.read().is_empty() && *confirm.read() != *new_password.read();
    view! {
        <Async resource=profile loading="Loading your profile…" let:p>
            <div class="cards profile">
                <section class="card settings-form" aria-label="Name">
                    <h2>"Name"</h2>
                    <ActionForm action=rename attr:class="form">
                        <label>"Name"<input type="text" name="name" required value=p.name.clone() aria-label="Your name"/></label>
                        <div><button type="submit" class="btn btn-primary">"Save name"</button></div>
                    </ActionForm>
                    <Outcome action=rename ok=|_| "Name saved.".to_string()/>
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
                    <Outcome action=email ok=|_| "We sent a confirmation link to the new address. Until you open it, sign in with your current email.".to_string()/>
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
                    <Outcome action=password ok=|n| format!("Password changed. {n} other session(s) signed out.")/>
                </section>
            </div>
        </Async>
    }
}
