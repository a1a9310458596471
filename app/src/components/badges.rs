//! Small coloured labels: enrollment status, tier and health.

use leptos::prelude::*;
use models::{EnrollmentStatus, HealthBand};

/// A coloured label for an enrollment status.
#[component]
pub fn StatusBadge(status: EnrollmentStatus) -> impl IntoView {
    view! { <span class=format!("badge status-{}", status.as_str())>{status.label()}</span> }
}

/// A coloured label for a tier.
#[component]
pub fn TierBadge(tier: String) -> impl IntoView {
    let class = format!("badge tier tier-{}", tier.to_lowercase());
    view! { <span class=class>{tier}</span> }
}

/// A health score as a coloured pill.
#[component]
pub fn HealthPill(score: Option<i32>, band: HealthBand) -> impl IntoView {
    view! {
        <span class=format!("health health-{}", band.as_str()) title=band.label()>
            {score.map(|s| s.to_string()).unwrap_or_else(|| "—".into())}
        </span>
    }
}
