//! The pages of the app.

mod analytics;
mod apply;
mod conversion;
pub mod directory;
mod finance;
mod import;
mod invite;
mod login;
mod messages;
mod partner;
mod portal;
mod portal_account;
mod segments;
mod sequences;
mod settings;
mod tiers;

pub use analytics::{AnalyticsPage, DashboardsPage, ExecutivePage};
pub use apply::{ApplyFormPage, ForgotPasswordPage, PortalVerifyPage};
pub use conversion::ConversionPage;
pub use directory::DirectoryPage;
pub use finance::FinancePage;
pub use import::{ImportMapPage, ImportPage};
pub use invite::{InvitePage, VerifyEmailPage};
pub use login::LoginPage;
pub use messages::{CommunicationPage, PortalMessagesPage};
pub use partner::{NewPartnerPage, PartnerPage};
pub use portal::PortalPage;
pub use portal_account::{PortalEarningsPage, PortalProfilePage};
pub use segments::{FieldsPage, SegmentsPage};
pub use settings::SettingsPage;
pub use tiers::TiersPage;

use crate::api::access::current_user;
use crate::components::ErrorNote;
use crate::error::AppError;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Redirect;

/// `/`: sends each user to their landing page.
#[component]
pub fn Home() -> impl IntoView {
    let me = Resource::new(|| (), |_| current_user());
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match me.await {
                    Ok(user) => view! { <Redirect path=user.home()/> }.into_any(),
                    Err(AppError::Unauthenticated) => view! { <Redirect path="/login"/> }.into_any(),
                    Err(e) => view! { <ErrorNote error=e/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// Unknown URL.
#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(res) = use_context::<leptos_axum::ResponseOptions>() {
        res.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <Title text="Not found"/>
        <div class="center-page">
            <div class="card narrow">
                <h1>"Page not found"</h1>
                <p>"There is nothing at this address."</p>
                <a class="btn" href="/">"Go to Trellis"</a>
            </div>
        </div>
    }
}
