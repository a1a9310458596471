//! The partner portal's public pages: applying to a program.

use crate::CustomFieldDef;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What the public application page of a program shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApplyPage {
    /// The program.
    pub program_id: i64,
    /// Its name.
    pub program: String,
    /// The account running it.
    pub account_name: String,
    /// Brand colour (`#rrggbb`), may be empty.
    pub brand_color: String,
    /// Logo shown on the page.
    pub logo_url: Option<String>,
    /// The program's website.
    pub website: String,
    /// The default commission, for people.
    pub commission: String,
    /// Applications are approved at once (else reviewed by the team).
    pub auto_approve: bool,
    /// The account's custom questions.
    pub questions: Vec<CustomFieldDef>,
}

/// An application submitted on the public page.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Application {
    /// The program applied to.
    pub program_id: i64,
    /// The applicant's name.
    pub name: String,
    /// Email: becomes the sign-in email and the partner's email.
    pub email: String,
    /// Password for the portal (at least 8 characters).
    pub password: String,
    /// Company (optional).
    pub company: String,
    /// Website (optional).
    pub website: String,
    /// Answers to the custom questions by key.
    pub answers: BTreeMap<String, String>,
}

/// What happened to an application.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApplyOutcome {
    /// Approved at once (the program approves automatically).
    pub approved: bool,
    /// The address the verification email went to.
    pub email: String,
}

/// The portal dashboard of a partner for a window of days.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PortalDashboard {
    /// The window: 30, 90 or 365 days ending now.
    pub days: i64,
    /// One entry per program the partner is enrolled in.
    pub programs: Vec<ProgramPerformance>,
    /// The partner's latest conversions, newest first.
    pub recent: Vec<RecentConversion>,
}

/// A partner's performance and earnings in one program.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProgramPerformance {
    /// Program id.
    pub program_id: i64,
    /// Program name.
    pub program: String,
    /// Human clicks in the window.
    pub clicks: i64,
    /// Attributed conversions in the window.
    pub conversions: i64,
    /// Conversions ÷ clicks, e.g. `3.2%` (`–` without clicks).
    pub conversion_rate: String,
    /// Commission earned in the window (entries not voided).
    pub earnings: String,
    /// Balance awaiting approval (all time).
    pub pending: String,
    /// Approved, not yet paid.
    pub approved: String,
    /// Paid out.
    pub paid: String,
    /// Minor units of `pending`, `approved`, `paid` (for tests and charts).
    pub minor: [i64; 3],
    /// What the next payout will hold, for people.
    pub next_payout: String,
    /// Where the partner stands in the program's tiers.
    pub tier: TierProgress,
}

/// Current tier and what is missing for the next one (same rule as the tier engine: every
/// given minimum met inside the window ending now).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TierProgress {
    /// Current tier.
    pub current: String,
    /// Its (or the partner's custom) commission.
    pub rate: String,
    /// The next tier up, if any.
    pub next: Option<String>,
    /// The next tier's commission.
    pub next_rate: Option<String>,
    /// The next tier's rule, for people.
    pub rule: Option<String>,
    /// What is missing, for people.
    pub missing: Option<String>,
    /// Conversions still missing (0 when met or not required).
    pub missing_conversions: i64,
    /// Revenue still missing, minor units.
    pub missing_revenue_minor: i64,
    /// Progress towards the next tier, 0–100.
    pub percent: i64,
}

/// One conversion as the partner sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecentConversion {
    /// Conversion id.
    pub id: i64,
    /// Program name.
    pub program: String,
    /// When it happened (`YYYY-MM-DD`).
    pub date: String,
    /// Order amount.
    pub amount: String,
    /// The commission on it.
    pub commission: String,
    /// Status of the commission: `pending`, `approved`, `paid` or `void`.
    pub status: String,
}
