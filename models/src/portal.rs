//! The partner portal's public pages: applying to a program.

use crate::CustomFieldDef;
use crate::EnrollmentStatus;
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

/// A compliance check of a partner, and whether it is met.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComplianceItem {
    pub label: String,
    pub ok: bool,
    /// What is missing or why it is met.
    pub detail: String,
}

/// A partner's compliance: payout details and an accepted tax document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Compliance {
    /// Every item met.
    pub complete: bool,
    /// "Complete", "Tax document under review", "Payout details missing", …
    pub summary: String,
    pub items: Vec<ComplianceItem>,
}

/// An uploaded document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DocumentRow {
    pub id: i64,
    pub filename: String,
    /// "182 kB".
    pub size: String,
    pub uploaded: String,
    /// `received`, `accepted` or `rejected`.
    pub status: String,
    /// The reviewer's note (why it was rejected).
    pub note: Option<String>,
}

/// The partner's profile page in the portal (and the compliance card on the team's profile).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PortalProfile {
    pub partner_id: i64,
    pub details: ProfileInput,
    pub email: String,
    pub documents: Vec<DocumentRow>,
    pub compliance: Compliance,
    /// Upload limit in MB and the accepted kinds, in words.
    pub upload_limit: String,
    /// The payout methods (value, words).
    pub payout_methods: Vec<(String, String)>,
    /// Whether the viewer may accept or reject documents (team side).
    pub can_review: bool,
}

/// Contact and payout details a partner keeps up to date.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ProfileInput {
    pub name: String,
    pub company: String,
    pub phone: String,
    pub website: String,
    /// ISO 3166-1 alpha-2.
    pub country: String,
    /// `paypal`, `bank_transfer`, `wise` or empty.
    pub payout_method: String,
    /// PayPal/Wise address or IBAN/account number.
    pub payout_account: String,
    pub tax_id: String,
}

/// Filters of the partner's conversions list.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ConversionFilter {
    pub program_id: Option<i64>,
    /// Commission status: `pending`, `approved`, `paid`, `void`; empty: any.
    pub status: Option<String>,
    /// First day (YYYY-MM-DD), inclusive.
    pub from: Option<String>,
    /// Last day (YYYY-MM-DD), inclusive.
    pub to: Option<String>,
    /// 1-based.
    pub page: Option<u32>,
}

/// One of the partner's conversions with its commission.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PortalConversionRow {
    pub id: i64,
    pub program: String,
    pub date: String,
    /// The merchant's order reference.
    pub reference: String,
    pub amount: String,
    pub commission: String,
    /// Commission status: `pending`, `approved`, `paid`, `void`, or `none`.
    pub status: String,
    /// `attributed` or `refunded` (partly or wholly).
    pub conversion_status: String,
}

/// A page of the partner's conversions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PortalConversions {
    /// This page of conversions.
    pub list: crate::Page<PortalConversionRow>,
    /// The partner's programs (id, name).
    pub programs: Vec<(i64, String)>,
}

/// A payout to the partner.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PortalPayoutRow {
    pub batch_id: i64,
    pub program: String,
    pub created: String,
    pub amount: String,
    /// `processing` or `paid`.
    pub status: String,
    pub paid: Option<String>,
}

/// A partner's enrollment as the portal shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PortalEnrollment {
    /// Program id.
    pub program_id: i64,
    /// Hosts links may point at.
    pub allowed_hosts: Vec<String>,
    /// Program name.
    pub program: String,
    /// Status.
    pub status: EnrollmentStatus,
    /// Current tier.
    pub tier: String,
    /// Commission in words, e.g. `10%`.
    pub commission: String,
    /// Joined date, `YYYY-MM-DD`.
    pub joined: String,
}

/// The portal landing page of a partner user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PortalHome {
    /// The partner's name.
    pub partner_name: String,
    /// The account running the program(s).
    pub account_name: String,
    /// The partner's enrollments.
    pub enrollments: Vec<PortalEnrollment>,
    /// The user applied on the portal and has not opened the verification link yet.
    #[serde(default)]
    pub email_unverified: bool,
}
