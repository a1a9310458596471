//! Public pages of one-time links: accepting an invitation or resetting a password
//! (`/invite/{token}`), and confirming a new email (`/verify-email/{token}`).

use crate::api::access::{load_token, ConfirmEmail, SetPasswordWithLink};
use crate::components::{go_to_answer, ActionError, Async, Done, ErrorNote, PublicCard};
use crate::error::AppError;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

/// `/invite/{token}`: choose a password (and, for an invitation, confirm the name).
#[component]
pub fn InvitePage() -> impl IntoView {
    let params = use_params_map();
    let token = Memo::new(move |_| params.read().get("token").unwrap_or_default());
    let info = Resource::new(move || token.get(), load_token);
    let accept = ServerAction::<SetPasswordWithLink>::new();
    go_to_answer(accept);
    view! {
        <Title text="Join Trellis"/>
        <PublicCard>
            <Async resource=info loading="Checking the link…" suspense=true
                error=|e: AppError| view! {
                    <ErrorNote error=e/>
                    <p class="muted">"Ask an admin of your team for a new link."</p>
                    <a class="btn" href="/login">"Sign in"</a>
                }.into_any()
                let:t>
                    {
                        let invite = t.kind == "invite";
                        view! {
                            <h1>{if invite { format!("Join {}", t.account_name) } else { "Choose a new password".to_string() }}</h1>
                            <p class="muted">{format!("For {}", t.email)}</p>
                            <ActionForm action=accept attr:class="form">
                                <input type="hidden" name="token" value=token.get_untracked()/>
                                {if invite {
                                    view! { <label>"Your name"<input type="text" name="name" value=t.name.clone() autocomplete="name"/></label> }.into_any()
                                } else {
                                    view! { <input type="hidden" name="name" value=""/> }.into_any()
                                }}
                                <label>"Password"<input type="password" name="password" minlength="8" required autocomplete="new-password"/></label>
                                <ActionError action=accept/>
                                <button type="submit" class="btn btn-primary wide" disabled=move || accept.pending().get()>
                                    {if invite { "Accept invitation" } else { "Set password" }}
                                </button>
                            </ActionForm>
                            <p class="muted small">"At least 8 characters."</p>
                        }
                    }
            </Async>
        </PublicCard>
    }
}

/// `/verify-email/{token}`: confirm a new sign-in email (a button, so a mail scanner opening the
/// link changes nothing).
#[component]
pub fn VerifyEmailPage() -> impl IntoView {
    let params = use_params_map();
    let token = Memo::new(move |_| params.read().get("token").unwrap_or_default());
    let confirm = ServerAction::<ConfirmEmail>::new();
    view! {
        <Title text="Confirm your email"/>
        <PublicCard>
            <h1>"Confirm your new email"</h1>
            <Done action=confirm done=|email| view! {
                <div class="notice" role="status">{format!("Done: you now sign in with {email}.")}</div>
                <a class="btn btn-primary" href="/login">"Sign in"</a>
            }>
                <ActionError action=confirm/>
                <ActionForm action=confirm attr:class="form">
                    <input type="hidden" name="token" value=move || token.get()/>
                    <button type="submit" class="btn btn-primary wide">"Confirm"</button>
                </ActionForm>
            </Done>
        </PublicCard>
    }
}
