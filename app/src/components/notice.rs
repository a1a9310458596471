//! What an action came to: a notice on success, the error in words otherwise.

use crate::error::AppError;
use leptos::prelude::*;
use leptos::server_fn::ServerFn;

/// An error in words, as a page shows it.
#[component]
pub fn ErrorNote(error: AppError) -> impl IntoView {
    view! { <div class="error" role="alert">{error.to_string()}</div> }
}

/// A result in one line: the text as a notice, or the error.
pub fn notice(result: Result<String, AppError>) -> AnyView {
    match result {
        Ok(text) => view! { <div class="notice" role="status">{text}</div> }.into_any(),
        Err(e) => view! { <ErrorNote error=e/> }.into_any(),
    }
}

/// After `action` has run: the sentence `ok` makes of its answer as a notice (an inline one
/// with `inline`), or its error. Nothing before the first run.
#[component]
pub fn Outcome<S, F>(
    action: ServerAction<S>,
    /// The sentence for a success.
    ok: F,
    /// A `<span>` inside a line (beside buttons) instead of a block.
    #[prop(optional)]
    inline: bool,
) -> impl IntoView
where
    S: ServerFn<Error = AppError> + Send + Sync + Clone + 'static,
    S::Output: Clone + Send + Sync + 'static,
    F: Fn(S::Output) -> String + Send + Sync + 'static,
{
    move || {
        action.value().get().map(|r| match r {
            Ok(v) if inline => view! { <span class="notice inline" role="status">{ok(v)}</span> }.into_any(),
            r => notice(r.map(&ok)),
        })
    }
}

/// After `action` has run: what `ok` makes of its answer, or its error.
#[component]
pub fn OutcomeView<S, F, V>(action: ServerAction<S>, ok: F) -> impl IntoView
where
    S: ServerFn<Error = AppError> + Send + Sync + Clone + 'static,
    S::Output: Clone + Send + Sync + 'static,
    F: Fn(S::Output) -> V + Send + Sync + 'static,
    V: IntoView + 'static,
{
    move || {
        action.value().get().map(|r| match r {
            Ok(v) => ok(v).into_any(),
            Err(e) => view! { <ErrorNote error=e/> }.into_any(),
        })
    }
}

/// The error of `action`'s last run, if it failed (a success shows nothing).
#[component]
pub fn ActionError<S>(action: ServerAction<S>) -> impl IntoView
where
    S: ServerFn<Error = AppError> + Send + Sync + Clone + 'static,
    S::Output: Clone + Send + Sync + 'static,
{
    move || action.value().get().and_then(|r| r.err()).map(|e| view! { <ErrorNote error=e/> })
}

/// A form that is done once `action` succeeds: `children` (the form; put an [`ActionError`] in
/// it where a failed try should be said) until then, what `done` makes of the answer afterwards.
#[component]
pub fn Done<S, F, V>(action: ServerAction<S>, done: F, children: ChildrenFn) -> impl IntoView
where
    S: ServerFn<Error = AppError> + Send + Sync + Clone + 'static,
    S::Output: Clone + Send + Sync + 'static,
    F: Fn(S::Output) -> V + Send + Sync + 'static,
    V: IntoView + 'static,
{
    move || match action.value().get() {
        Some(Ok(v)) => done(v).into_any(),
        _ => children().into_any(),
    }
}

/// After a success of `action`, goes to the path its answer names (signing in, accepting an
/// invitation).
pub fn go_to_answer<S>(action: ServerAction<S>)
where
    S: ServerFn<Output = String, Error = AppError> + Send + Sync + Clone + 'static,
{
    Effect::new(move |_| {
        if let Some(Ok(path)) = action.value().get() {
            leptos_router::hooks::use_navigate()(&path, Default::default());
        }
    });
}
