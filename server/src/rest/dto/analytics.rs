//! Analytics: summaries and cohorts.

use super::currency_of;
use crate::edge::Problem;
use serde::Serialize;
use utoipa::ToSchema;

/// Totals over a window.
#[derive(Serialize, ToSchema)]
pub struct Summary {
    /// Revenue of attributed conversions, net of refunds.
    #[schema(pattern = r"^-?\d+(\.\d+)?$", example = "336023.49")]
    revenue: String,
    /// ISO 4217 code of `revenue` and `commission`.
    #[schema(example = "USD")]
    currency: String,
    conversions: i64,
    clicks: i64,
    /// Conversions ÷ clicks; null without clicks.
    #[schema(pattern = r"^\d+\.\d{4}$", example = "0.1824")]
    conversion_rate: Option<String>,
    /// Commission earned, net of clawbacks.
    #[schema(pattern = r"^-?\d+(\.\d+)?$")]
    commission: String,
    /// Start (inclusive).
    #[schema(format = DateTime)]
    from: String,
    /// End (exclusive).
    #[schema(format = DateTime)]
    to: String,
}

impl From<backend::analytics::Summary> for Summary {
    fn from(s: backend::analytics::Summary) -> Self {
        Self {
            revenue: s.revenue,
            currency: s.currency,
            conversion_rate: models::ratio_string(s.conversions, s.clicks),
            conversions: s.conversions,
            clicks: s.clicks,
            commission: s.commission,
            from: s.from,
            to: s.to,
        }
    }
}

/// One week and tier of a cohort chart.
#[derive(Serialize, ToSchema)]
pub struct CohortPoint {
    /// Monday of the week (UTC).
    #[schema(format = Date, example = "2026-11-30")]
    week_start: String,
    /// The tier the conversions were earned in.
    tier: String,
    /// Revenue net of refunds.
    #[schema(pattern = r"^-?\d+(\.\d+)?$")]
    revenue: String,
    #[schema(example = "USD")]
    currency: String,
    conversions: i64,
    /// Distinct partners converting.
    partners: i64,
}

/// Cohort figures.
#[derive(Serialize, ToSchema)]
pub struct CohortPage {
    pub items: Vec<CohortPoint>,
}

impl CohortPoint {
    /// The resource of a cohort point in `currency`.
    pub fn of(p: backend::analytics::CohortPoint, currency: &str) -> Result<Self, Problem> {
        currency_of(currency)?;
        Ok(Self { week_start: p.week_start, tier: p.tier, revenue: p.revenue, currency: currency.to_string(), conversions: p.conversions, partners: p.partners })
    }
}
