//! The public side of the partner portal: applying to a program (`/apply/{program_id}`),
//! confirming the applicant's email (`/portal/verify/{token}`) and "Forgot password?"
//! (`/forgot-password`).

use crate::api::portal::{load_apply_page, ForgotPassword, SubmitApplication, VerifyPartnerEmail};
use crate::components::{ActionError, Async, Done, ErrorNote, PublicCard};
use crate::error::AppError;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;
use models::{Application, FieldKind};
use std::collections::BTreeMap;

/// `/apply/{program_id}`: the program's branded application form.
#[component]
pub fn ApplyFormPage() -> impl IntoView {
    let params = use_params_map();
    let program_id = Memo::new(move |_| params.read().get("program_id").and_then(|p| p.parse::<i64>().ok()).unwrap_or(0));
    let page = Resource::new(move || program_id.get(), load_apply_page);
    let submit = ServerAction::<SubmitApplication>::new();
    let name = RwSignal::new(String::new());
    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let company = RwSignal::new(String::new());
    let website = RwSignal::new(String::new());
    let answers = RwSignal::new(BTreeMap::<String, String>::new());
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        submit.dispatch(SubmitApplication {
            application: Application {
                program_id: program_id.get_untracked(),
                name: name.get_untracked(),
                email: email.get_untracked(),
                password: password.get_untracked(),
                company: company.get_untracked(),
                website: website.get_untracked(),
                answers: answers.get_untracked().into_iter().filter(|(_, v)| !v.trim().is_empty()).collect(),
            },
        });
    };
    view! {
        <Title text="Apply"/>
        <div class="center-page apply-page">
            <Async resource=page loading="Loading…" suspense=true
                error=|e: AppError| view! { <div class="login-card card"><ErrorNote error=e/></div> }.into_any() let:p>
                    {
                        let color = if p.brand_color.trim().is_empty() { "#2f6f4f".to_string() } else { p.brand_color.clone() };
                        let questions = p.questions.clone();
                        view! {
                            <div class="apply-card card" style=format!("--brand:{color}")>
                                <header class="apply-head">
                                    {p.logo_url.clone().map(|u| view! { <img class="apply-logo" src=u alt=""/> })}
                                    <div>
                                        <h1>{if p.program.to_lowercase().ends_with("program") { format!("Join the {}", p.program) } else { format!("Join the {} partner program", p.program) }}</h1>
                                        <p class="muted">{format!("Run by {} · earn {} on every sale you refer", p.account_name, p.commission)}</p>
                                    </div>
                                </header>
                                {move || match submit.value().get() {
                                    Some(Ok(o)) => view! {
                                        <div class="notice apply-done" role="status">
                                            <h2>{if o.approved { "You're in!" } else { "Application received" }}</h2>
                                            <p>{format!("We sent a confirmation link to {}: open it to confirm your email.", o.email)}</p>
                                            <p>{if o.approved { "Your application is approved: sign in to create your links." } else { "The team reviews every application; we'll email you when it's decided. You can sign in meanwhile." }}</p>
                                            <a class="btn btn-primary" href="/login">"Sign in"</a>
                                        </div>
                                    }.into_any(),
                                    _ => {
                                        let questions = questions.clone();
                                        view! {
                                            <form class="form apply-form" on:submit=on_submit>
                                                <div class="grid-2">
                                                    <label>"Your name"<input type="text" name="name" required autocomplete="name" bind:value=name/></label>
                                                    <label>"Email"<input type="email" name="email" required autocomplete="email" bind:value=email/></label>
                                                    <label>"Password"<input type="password" name="password" required minlength="8" autocomplete="new-password" bind:value=password/><span class="sub">"At least 8 characters."</span></label>
                                                    <label>"Company (optional)"<input type="text" name="company" autocomplete="organization" bind:value=company/></label>
                                                    <label class="span-2">"Website (optional)"<input type="url" name="website" placeholder="https://…" autocomplete="url" bind:value=website/></label>
                                                </div>
                                                {(!questions.is_empty()).then(|| view! {
                                                    <fieldset class="apply-questions">
                                                        <legend>"A few questions"</legend>
                                                        <div class="grid-2">
                                                        {questions.into_iter().map(|q| {
                                                            let key = q.key.clone();
                                                            let key2 = q.key.clone();
                                                            let label = if q.required { q.label.clone() } else { format!("{} (optional)", q.label) };
                                                            let set = move |v: String| answers.update(|a| { a.insert(key.clone(), v); });
                                                            let value = move || answers.with(|a| a.get(&key2).cloned().unwrap_or_default());
                                                            let input = match q.kind {
                                                                FieldKind::Select => view! {
                                                                    <select name=format!("custom.{}", q.key) prop:value=value on:change=move |ev| set(event_target_value(&ev))>
                                                                        <option value="">"Choose…"</option>
                                                                        {q.options.iter().map(|o| view! { <option value=o.clone()>{o.clone()}</option> }).collect_view()}
                                                                    </select>
                                                                }.into_any(),
                                                                FieldKind::Boolean => view! {
                                                                    <select name=format!("custom.{}", q.key) prop:value=value on:change=move |ev| set(event_target_value(&ev))>
                                                                        <option value="">"Choose…"</option>
                                                                        <option value="true">"Yes"</option>
                                                                        <option value="false">"No"</option>
                                                                    </select>
                                                                }.into_any(),
                                                                kind => {
                                                                    let ty = match kind { FieldKind::Number => "number", FieldKind::Date => "date", _ => "text" };
                                                                    view! { <input type=ty step="any" name=format!("custom.{}", q.key) prop:value=value on:input=move |ev| set(event_target_value(&ev))/> }.into_any()
                                                                }
                                                            };
                                                            view! { <label>{label}{input}</label> }
                                                        }).collect_view()}
                                                        </div>
                                                    </fieldset>
                                                })}
                                                <ActionError action=submit/>
                                                <button type="submit" class="btn btn-primary wide brand-btn" disabled=move || submit.pending().get()>
                                                    {move || if submit.pending().get() { "Sending…" } else { "Apply" }}
                                                </button>
                                                <p class="muted small">"Already a partner? " <a href="/login">"Sign in"</a></p>
                                            </form>
                                        }.into_any()
                                    }
                                }}
                            </div>
                        }
                    }
            </Async>
        </div>
    }
}

/// `/portal/verify/{token}`: confirm the applicant's email (a button, so a mail scanner opening
/// the link changes nothing).
#[component]
pub fn PortalVerifyPage() -> impl IntoView {
    let params = use_params_map();
    let token = Memo::new(move |_| params.read().get("token").unwrap_or_default());
    let confirm = ServerAction::<VerifyPartnerEmail>::new();
    view! {
        <Title text="Confirm your email"/>
        <PublicCard brand="Partner portal">
            <h1>"Confirm your email"</h1>
            <Done action=confirm done=|email| view! {
                <div class="notice" role="status">{format!("Thanks: {email} is confirmed.")}</div>
                <a class="btn btn-primary" href="/portal">"Go to your portal"</a>
            }>
                <ActionError action=confirm/>
                <ActionForm action=confirm attr:class="form">
                    <input type="hidden" name="token" value=move || token.get()/>
                    <button type="submit" class="btn btn-primary wide">"Confirm my email"</button>
                </ActionForm>
            </Done>
        </PublicCard>
    }
}

/// `/forgot-password`: asks for a reset link by email.
#[component]
pub fn ForgotPasswordPage() -> impl IntoView {
    let send = ServerAction::<ForgotPassword>::new();
    view! {
        <Title text="Forgot password"/>
        <PublicCard>
            <h1>"Forgot your password?"</h1>
            <Done action=send done=|()| view! {
                <div class="notice" role="status">"If that address has an account, a link to choose a new password is on its way. It works for 2 hours."</div>
                <a class="btn" href="/login">"Back to sign in"</a>
            }>
                <p class="muted">"Give the email you sign in with and we'll send you a link to choose a new password."</p>
                <ActionForm action=send attr:class="form">
                    <label>"Email"<input type="email" name="email" required autocomplete="username"/></label>
                    <ActionError action=send/>
                    <button type="submit" class="btn btn-primary wide" disabled=move || send.pending().get()>"Send the link"</button>
                </ActionForm>
                <p class="muted small"><a href="/login">"Back to sign in"</a></p>
            </Done>
        </PublicCard>
    }
}
