//! Trellis pages, components and server functions. Feature-neutral: the server enables `ssr`,
//! the browser build `hydrate`.

// Deep view trees (tables of forms inside Suspense) overflow the default query depth when
// the hydrate build computes their layouts in release.
#![recursion_limit = "256"]

pub mod api;
mod components;
#[cfg(feature = "ssr")]
pub mod correlation;
pub mod error;
mod pages;
#[cfg(feature = "ssr")]
pub mod ssr;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Title};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{path, SsrMode};

/// The HTML document around the app, rendered on the server.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <link rel="stylesheet" href="/pkg/trellis.css"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The application: routes for the team dashboard and the partner portal.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Title formatter=|page: String| if page.is_empty() { "Trellis".to_string() } else { format!("{page} · Trellis") }/>
        <Router>
            <Routes fallback=pages::NotFound>
                <Route path=path!("/") view=pages::Home ssr=SsrMode::Async/>
                <Route path=path!("/login") view=pages::LoginPage ssr=SsrMode::Async/>
                <Route path=path!("/directory") view=pages::DirectoryPage ssr=SsrMode::Async/>
                <Route path=path!("/directory/segments") view=pages::SegmentsPage ssr=SsrMode::Async/>
                <Route path=path!("/directory/fields") view=pages::FieldsPage ssr=SsrMode::Async/>
                <Route path=path!("/directory/import") view=pages::ImportPage ssr=SsrMode::Async/>
                <Route path=path!("/directory/import/:id") view=pages::ImportMapPage ssr=SsrMode::Async/>
                <Route path=path!("/directory/new") view=pages::NewPartnerPage ssr=SsrMode::Async/>
                <Route path=path!("/analytics") view=pages::AnalyticsPage ssr=SsrMode::Async/>
                <Route path=path!("/analytics/executive") view=pages::ExecutivePage ssr=SsrMode::Async/>
                <Route path=path!("/analytics/dashboards") view=pages::DashboardsPage ssr=SsrMode::Async/>
                <Route path=path!("/tiers") view=pages::TiersPage ssr=SsrMode::Async/>
                <Route path=path!("/communication") view=pages::CommunicationPage ssr=SsrMode::Async/>
                <Route path=path!("/finance") view=pages::FinancePage ssr=SsrMode::Async/>
                <Route path=path!("/partners/:id") view=pages::PartnerPage ssr=SsrMode::Async/>
                <Route path=path!("/conversions/:id") view=pages::ConversionPage ssr=SsrMode::Async/>
                <Route path=path!("/settings") view=pages::SettingsPage ssr=SsrMode::Async/>
                <Route path=path!("/invite/:token") view=pages::InvitePage ssr=SsrMode::Async/>
                <Route path=path!("/verify-email/:token") view=pages::VerifyEmailPage ssr=SsrMode::Async/>
                <Route path=path!("/portal") view=pages::PortalPage ssr=SsrMode::Async/>
                <Route path=path!("/portal/messages") view=pages::PortalMessagesPage ssr=SsrMode::Async/>
                <Route path=path!("/portal/earnings") view=pages::PortalEarningsPage ssr=SsrMode::Async/>
                <Route path=path!("/portal/profile") view=pages::PortalProfilePage ssr=SsrMode::Async/>
                <Route path=path!("/portal/verify/:token") view=pages::PortalVerifyPage ssr=SsrMode::Async/>
                <Route path=path!("/apply/:program_id") view=pages::ApplyFormPage ssr=SsrMode::Async/>
                <Route path=path!("/forgot-password") view=pages::ForgotPasswordPage ssr=SsrMode::Async/>
            </Routes>
        </Router>
    }
}
