//! Building blocks shared by the pages: the team shell, the portal shell, badges, and the
//! scaffolding every page repeats otherwise (loading and errors around a resource, data tables,
//! the pager, the outcome of an action).

mod async_view;
mod badges;
mod notice;
mod pager;
mod table;

pub use async_view::Async;
pub use badges::{HealthPill, StatusBadge, TierBadge};
pub use notice::{go_to_answer, notice, ActionError, Done, ErrorNote, Outcome, OutcomeView};
pub use pager::Pager;
pub use table::{Col, DataTable};

use crate::api::access::{current_user, Logout};
use crate::error::AppError;
use leptos::prelude::*;
use leptos_router::components::Redirect;
use leptos_router::hooks::use_location;
use models::{Role, SessionInfo};

/// The team navigation: path, label, and the roles that may open it (empty: every team member;
/// admins see everything).
const NAV: &[(&str, &str, &[Role])] = &[
    ("/directory", "Directory", &[]),
    ("/analytics", "Analytics", &[]),
    ("/tiers", "Tiers", &[]),
    ("/communication", "Communication", &[]),
    ("/finance", "Finance", &[Role::FinanceApprover]),
    ("/settings", "Settings", &[]),
];

/// The partner portal's navigation.
const PORTAL_NAV: &[(&str, &str)] =
    &[("/portal", "Dashboard"), ("/portal#links", "Links"), ("/portal/earnings", "Earnings"), ("/portal/messages", "Messages"), ("/portal/profile", "Profile")];

/// Signs out and returns to the sign-in page.
#[component]
fn SignOut() -> impl IntoView {
    let logout = ServerAction::<Logout>::new();
    Effect::new(move |_| {
        if let Some(Ok(())) = logout.value().get() {
            let navigate = leptos_router::hooks::use_navigate();
            navigate("/login", Default::default());
        }
    });
    view! {
        <ActionForm action=logout attr:class="signout">
            <button type="submit" class="btn btn-ghost">"Sign out"</button>
        </ActionForm>
    }
}

/// Who is signed in; partner users are sent to the portal and visitors to the sign-in page.
fn with_user(
    want_partner: bool,
    render: impl Fn(SessionInfo) -> AnyView + Send + Sync + 'static,
) -> impl IntoView {
    let me = Resource::new(|| (), |_| current_user());
    let render = std::sync::Arc::new(render);
    view! {
        <Suspense fallback=|| view! { <div class="loading">"Loading…"</div> }>
            {move || {
                let render = render.clone();
                Suspend::new(async move {
                match me.await {
                    Ok(user) if user.is_partner == want_partner => render(user),
                    Ok(user) => view! { <Redirect path=user.home()/> }.into_any(),
                    Err(AppError::Unauthenticated) => view! { <Redirect path="/login"/> }.into_any(),
                    Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                }
            })}}
        </Suspense>
    }
}

/// The team dashboard frame: navigation on the left, the page on the right.
#[component]
pub fn TeamShell(children: ChildrenFn) -> impl IntoView {
    let children = StoredValue::new(children);
    with_user(false, move |user| {
        let path = use_location().pathname;
        let roles = user.roles.iter().map(|r| r.label()).collect::<Vec<_>>().join(", ");
        view! {
            <div class="team">
                <aside class="sidebar">
                    <Brand href="/directory" name="Trellis"/>
                    <div class="account">{user.account_name.clone()}</div>
                    <nav>
                        {NAV
                            .iter()
                            .filter(|(_, _, need)| need.is_empty() || user.roles.iter().any(|r| *r == Role::Admin || need.contains(r)))
                            .map(|(href, label, _)| {
                                let active = move || path.get().starts_with(href);
                                view! {
                                    <a href=*href class:active=active aria-current=move || active().then_some("page")>
                                        {*label}
                                    </a>
                                }
                            })
                            .collect_view()}
                    </nav>
                    <div class="me">
                        <div class="me-name">{user.name.clone()}</div>
                        <div class="me-roles">{roles}</div>
                        <SignOut/>
                    </div>
                </aside>
                <main class="content">{children.read_value()()}</main>
            </div>
        }
        .into_any()
    })
}

/// The partner portal frame.
#[component]
pub fn PortalShell(children: ChildrenFn) -> impl IntoView {
    let children = StoredValue::new(children);
    with_user(true, move |user| {
        view! {
            <div class="portal">
                <header class="portal-top">
                    <Brand href="/portal" name="Partner portal"/>

                    <div class="portal-me">
                        <span>{user.name.clone()}</span>
                        <SignOut/>
                    </div>
                </header>
                <nav class="portal-nav" aria-label="Portal">
                    {PORTAL_NAV.iter().map(|(href, label)| {
                        let path = use_location().pathname;
                        let active = move || path.get() == *href;
                        view! { <a href=*href class:active=active aria-current=move || active().then_some("page")>{*label}</a> }
                    }).collect_view()}
                </nav>
                <main class="portal-main">{children.read_value()()}</main>
            </div>
        }
        .into_any()
    })
}

/// A page's heading: the title, a line under it, and at the right whatever `children` holds
/// (links, buttons, a badge).
#[component]
pub fn PageHead(#[prop(into)] title: String, #[prop(into)] intro: String, #[prop(optional)] children: Option<Children>) -> impl IntoView {
    view! {
        <header class="page-head">
            <div>
                <h1>{title}</h1>
                <p class="muted">{intro}</p>
            </div>
            {children.map(|c| c())}
        </header>
    }
}

/// A team page reached from the directory: the team shell, the browser tab's `title`, the
/// page heading with a way back to the directory, then `children`.
#[component]
pub fn FromDirectory(title: &'static str, heading: &'static str, intro: &'static str, children: ChildrenFn) -> impl IntoView {
    view! {
        <TeamShell>
            <leptos_meta::Title text=title/>
            <PageHead title=heading intro=intro>
                <a class="btn" href="/directory">"← Directory"</a>
            </PageHead>
            {children()}
        </TeamShell>
    }
}

/// A filter's drop-down: "any" (the empty value) first, then `options` as (value, label), with
/// `selected` chosen.
#[component]
pub fn FilterSelect(
    name: &'static str,
    label: &'static str,
    any: &'static str,
    options: Vec<(String, String)>,
    selected: Option<String>,
) -> impl IntoView {
    view! {
        <select name=name aria-label=label>
            <option value="">{any}</option>
            {options
                .into_iter()
                .map(|(value, text)| {
                    let chosen = selected.as_deref() == Some(value.as_str());
                    view! { <option value=value selected=chosen>{text}</option> }
                })
                .collect_view()}
        </select>
    }
}

/// The brand at the top of a shell, linking home.
#[component]
fn Brand(href: &'static str, name: &'static str) -> impl IntoView {
    view! {
        <a class="brand" href=href>
            <span class="logo" aria-hidden="true">"◆"</span>
            {format!(" {name}")}
        </a>
    }
}

/// The heading of a portal page: its title and a line under it.
#[component]
pub fn PortalHead(title: &'static str, intro: &'static str) -> impl IntoView {
    view! {
        <section class="portal-hero">
            <h1>{title}</h1>
            <p class="muted">{intro}</p>
        </section>
    }
}

/// The frame of the public pages (sign-in, one-time links, forgot password): a centred card
/// under the brand (`Trellis` unless another name is given).
#[component]
pub fn PublicCard(#[prop(default = "Trellis")] brand: &'static str, children: Children) -> impl IntoView {
    view! {
        <div class="center-page login-page">
            <div class="login-card card">
                <div class="brand big"><span class="logo" aria-hidden="true">"◆"</span>{format!(" {brand}")}</div>
                {children()}
            </div>
        </div>
    }
}

/// Copies text to the clipboard (in the browser).
pub fn copy(text: String) {
    #[cfg(feature = "hydrate")]
    {
        let _ = window().navigator().clipboard().write_text(&text);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = text;
}
