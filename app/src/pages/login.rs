//! Sign-in for team members and partners.

use crate::api::access::{current_user, Login};
use crate::components::{go_to_answer, ActionError, PublicCard};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Redirect;

/// `/login`.
#[component]
pub fn LoginPage() -> impl IntoView {
    let login = ServerAction::<Login>::new();
    let me = Resource::new(|| (), |_| current_user());
    go_to_answer(login);
    view! {
        <Title text="Sign in"/>
        <PublicCard>
            <p class="muted">"Partner management for teams and their partners."</p>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    match me.await {
                        Ok(user) => view! { <Redirect path=user.home()/> }.into_any(),
                        _ => ().into_any(),
                    }
                })}
            </Suspense>
            <ActionForm action=login attr:class="form">
                <label>
                    "Email"
                    <input type="email" name="email" autocomplete="username" required autofocus/>
                </label>
                <label>
                    "Password"
                    <input type="password" name="password" autocomplete="current-password" required/>
                </label>
                <ActionError action=login/>
                <button type="submit" class="btn btn-primary wide" disabled=move || login.pending().get()>
                    {move || if login.pending().get() { "Signing in…" } else { "Sign in" }}
                </button>
            </ActionForm>
            <p class="small"><a href="/forgot-password">"Forgot password?"</a></p>
            <p class="muted small">"Team members land on the dashboard, partners in their portal."</p>
        </PublicCard>
    }
}
