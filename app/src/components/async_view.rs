//! Loading and errors around a resource, the same on every page.

use super::ErrorNote;
use crate::error::AppError;
use leptos::prelude::*;
use std::sync::Arc;

/// Shows `loading` while `resource` loads (nothing when not given), then `children` with its
/// value, or the error as an [`ErrorNote`] (or as `error` draws it):
///
/// ```ignore
/// <Async resource=data loading="Loading segments…" let:list> … </Async>
/// ```
///
/// A `Transition` by default (what is shown stays while the resource reloads); `suspense`
/// makes it a `Suspense` (the loading text shows again on every reload). Both are chosen by
/// the call site alone, so the server and the browser always build the same tree.
#[component]
pub fn Async<T, F, V>(
    /// What to wait for.
    resource: Resource<Result<T, AppError>>,
    /// Text shown while loading.
    #[prop(optional)]
    loading: Option<&'static str>,
    /// Show the loading text again on every reload instead of keeping what is shown.
    #[prop(optional)]
    suspense: bool,
    /// Draws the error instead of a bare [`ErrorNote`] (to add what to do about it).
    #[prop(optional, into)]
    error: Option<Callback<AppError, AnyView>>,
    /// Renders the loaded value.
    children: F,
) -> impl IntoView
where
    T: Clone + Send + Sync + serde::Serialize + serde::de::DeserializeOwned + 'static,
    F: Fn(T) -> V + Send + Sync + 'static,
    V: IntoView + 'static,
{
    let children = Arc::new(children);
    let fallback = move || loading.map(|text| view! { <div class="loading">{text}</div> });
    let body = move || {
        let children = children.clone();
        Suspend::new(async move {
            match resource.await {
                Ok(value) => children(value).into_any(),
                Err(e) => match error {
                    Some(draw) => draw.run(e),
                    None => view! { <ErrorNote error=e/> }.into_any(),
                },
            }
        })
    };
    if suspense {
        view! { <Suspense fallback>{body}</Suspense> }.into_any()
    } else {
        view! { <Transition fallback>{body}</Transition> }.into_any()
    }
}
