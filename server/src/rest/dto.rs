//! The shapes of REST API v1 answers: one typed resource per route, values never display text
//! (api.md "REST API v1"). Money is a decimal string beside its `currency`, a rate the commission
//! object the API accepts, a ratio a decimal string with four places, times RFC 3339 UTC, days
//! `YYYY-MM-DD`, an absent value `null`. Pages format for people in the app from the same
//! service values; nothing here is shared with a page, so a page change never changes the API.
//! Every money field carries the pattern `^-?\d+(\.\d+)?$` (no decimals for currencies without
//! minor units), every ratio `^\d+\.\d{4}$`.

use super::Problem;
use backend::programs::CommissionInput;
use chrono::{DateTime, SecondsFormat, Utc};
use models::{Currency, Money};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// RFC 3339 UTC with seconds, the one time format of the API.
pub fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A stored enum value as its schema type; an unknown value is a broken invariant (500).
fn enum_of<T: DeserializeOwned>(value: &str) -> Result<T, Problem> {
    serde_json::from_value(serde_json::Value::String(value.to_string()))
        .map_err(|_| Problem::from(backend::Error::Internal(format!("unknown stored value '{value}'"))))
}

fn currency_of(code: &str) -> Result<Currency, Problem> {
    Currency::parse(code).map_err(|e| Problem::from(backend::Error::Internal(e.0)))
}

/// A commission as written on ledger entries and stored answers (`"10%"`, `"5.00"`, `""`) as the
/// API's commission object; `None` when nothing was earned at a rate.
pub fn commission_of_label(label: &str) -> Option<CommissionInput> {
    let label = label.trim();
    if label.is_empty() {
        return None;
    }
    Some(match label.strip_suffix('%') {
        Some(p) => CommissionInput { percent: Some(p.trim().to_string()), flat: None },
        None => CommissionInput { percent: None, flat: Some(label.to_string()) },
    })
}

/// The state of an enrollment.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EnrollmentStatus {
    Pending,
    Active,
    Paused,
    Suspended,
    Rejected,
}

/// A health band: healthy (≥ 70), watch, at risk (below the program's threshold), not scored.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum HealthBand {
    Healthy,
    Watch,
    AtRisk,
    Unscored,
}

/// One program enrollment of a partner.
#[derive(Serialize, ToSchema)]
pub struct Enrollment {
    program_id: i64,
    status: EnrollmentStatus,
    /// Tier name.
    tier: String,
    /// The effective commission (a custom commission overrides the tier's).
    commission: CommissionInput,
    /// Latest health score 0–100, null until scored.
    health_score: Option<i32>,
    #[schema(format = DateTime, example = "2026-03-01T09:30:00Z")]
    joined_at: String,
}

/// A partner with its enrollments.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"id": 12, "name": "Ava Thompson", "email": "ava.thompson@partners.example", "company": "Trailhead Media",
    "source": "conference", "phone": null, "website": "https://trailhead.example", "country": "US", "owner_user_id": 2,
    "custom": {"niche": "Outdoor"}, "enrollments": [{"program_id": 1, "status": "active", "tier": "Gold",
    "commission": {"percent": "20"}, "health_score": 82, "joined_at": "2026-01-15T10:00:00Z"}]}))]
pub struct Partner {
    id: i64,
    name: String,
    email: String,
    company: Option<String>,
    /// Acquisition source.
    source: Option<String>,
    phone: Option<String>,
    website: Option<String>,
    /// ISO 3166-1 alpha-2.
    country: Option<String>,
    /// Relationship owner (team user id).
    owner_user_id: Option<i64>,
    /// Custom attribute values by field key, in their canonical text form.
    #[schema(value_type = Object, additional_properties)]
    custom: BTreeMap<String, String>,
    enrollments: Vec<Enrollment>,
}

impl Partner {
    /// The resource of a partner.
    pub fn of(p: backend::partners::view::PartnerOut) -> Result<Self, Problem> {
        Ok(Self {
            id: p.id,
            name: p.name,
            email: p.email,
            company: p.company,
            source: p.source,
            phone: p.phone,
            website: p.website,
            country: p.country,
            owner_user_id: p.owner_user_id,
            custom: p.custom,
            enrollments: p
                .enrollments
                .into_iter()
                .map(|e| {
                    Ok(Enrollment {
                        program_id: e.program_id,
                        status: enum_of(&e.status)?,
                        tier: e.tier,
                        commission: e.commission,
                        health_score: e.health_score,
                        joined_at: e.joined_at,
                    })
                })
                .collect::<Result<_, Problem>>()?,
        })
    }
}

/// One enrollment in the partner list, with its 90-day figures.
#[derive(Serialize, ToSchema)]
pub struct PartnerListItem {
    enrollment_id: i64,
    partner_id: i64,
    name: String,
    email: String,
    company: Option<String>,
    source: Option<String>,
    /// The relationship owner's name.
    owner: Option<String>,
    program_id: i64,
    /// Program name.
    program: String,
    /// Tier name.
    tier: String,
    status: EnrollmentStatus,
    /// The day the partner joined the program.
    #[schema(format = Date, example = "2026-01-15")]
    joined: String,
    /// Revenue over the last 90 days, net of refunds.
    #[schema(pattern = r"^-?\d+(\.\d+)?$", example = "1187.64")]
    revenue_90d: String,
    /// ISO 4217 code of `revenue_90d`.
    #[schema(example = "USD")]
    currency: String,
    conversions_90d: i64,
    clicks_90d: i64,
    /// Conversions ÷ clicks over the last 90 days; null without clicks.
    #[schema(pattern = r"^\d+\.\d{4}$", example = "0.2000")]
    conversion_rate: Option<String>,
    /// The day of the last conversion; null before the first.
    #[schema(format = Date, example = "2026-11-30")]
    last_conversion: Option<String>,
    /// Health score 0–100; null until scored.
    health_score: Option<i32>,
    health_band: HealthBand,
}

impl PartnerListItem {
    /// The list item of a directory row.
    pub fn of(r: models::DirectoryRow) -> Result<Self, Problem> {
        Ok(Self {
            enrollment_id: r.enrollment_id,
            partner_id: r.partner_id,
            name: r.name,
            email: r.email,
            company: r.company,
            source: r.source,
            owner: r.owner,
            program_id: r.program_id,
            program: r.program,
            tier: r.tier,
            status: enum_of(r.status.as_str())?,
            joined: r.joined,
            revenue_90d: r.revenue_90d.amount_string(),
            currency: r.revenue_90d.currency.code().to_string(),
            conversions_90d: r.conversions_90d,
            clicks_90d: r.clicks_90d,
            conversion_rate: models::ratio_string(r.conversions_90d, r.clicks_90d),
            last_conversion: r.last_conversion,
            health_score: r.health,
            health_band: enum_of(r.health_band.as_str())?,
        })
    }
}

/// Enrollments per status for the whole filter (ignoring the status filter itself).
#[derive(Serialize, ToSchema)]
pub struct StatusCounts {
    all: u64,
    active: u64,
    pending: u64,
    paused: u64,
    suspended: u64,
    rejected: u64,
}

impl From<models::StatusCounts> for StatusCounts {
    fn from(c: models::StatusCounts) -> Self {
        Self { all: c.all, active: c.active, pending: c.pending, paused: c.paused, suspended: c.suspended, rejected: c.rejected }
    }
}

/// A page of the partner list.
#[derive(Serialize, ToSchema)]
pub struct PartnerPage {
    /// One item per enrollment.
    pub items: Vec<PartnerListItem>,
    pub total: u64,
    pub counts: StatusCounts,
}

/// One timeline event.
#[derive(Serialize, ToSchema)]
pub struct TimelineEvent {
    #[schema(format = DateTime)]
    pub at: String,
    /// `conversion`, `status`, `tier`, `commission`, `note`, `profile`, `email`, `import`…
    pub kind: String,
    /// Who did it: a team member's name, `API`, `system`…
    pub actor: String,
    /// One line for people.
    pub summary: String,
    /// The event's values.
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
}

/// A page of a timeline.
#[derive(Serialize, ToSchema)]
pub struct TimelinePage {
    pub items: Vec<TimelineEvent>,
    pub total: u64,
}

/// A tier's qualification rule.
#[derive(Serialize, ToSchema)]
pub struct Rule {
    /// Minimum attributed conversions inside the window.
    min_conversions: Option<i64>,
    /// Minimum revenue inside the window, in the program's currency.
    #[schema(pattern = r"^-?\d+(\.\d+)?$", example = "10000.00")]
    min_revenue: Option<String>,
    /// The rolling window in days.
    window_days: i64,
}

/// A tier.
#[derive(Serialize, ToSchema)]
pub struct Tier {
    id: i64,
    name: String,
    /// Higher is better.
    rank: i32,
    commission: CommissionInput,
    /// Null for the lowest tier, where every enrollment starts.
    rule: Option<Rule>,
    retroactive: bool,
}

/// A program with its tiers.
#[derive(Serialize, ToSchema)]
pub struct Program {
    id: i64,
    name: String,
    #[schema(example = "USD")]
    currency: String,
    website: String,
    /// Further hosts links may point at.
    allowed_domains: Vec<String>,
    cookie_days: i32,
    default_commission: CommissionInput,
    /// Lowest rank first.
    tiers: Vec<Tier>,
    #[schema(format = DateTime)]
    created_at: String,
}

impl Program {
    /// The resource of a program and its tiers (lowest rank first).
    pub fn of(p: &backend::programs::Program, tiers: &[backend::entities::tier::Model]) -> Result<Self, Problem> {
        let c = p.currency;
        let tiers = tiers
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let rate = models::CommissionRate::parse_stored(&t.commission_kind, &t.commission_value, c)
                    .map_err(|e| Problem::from(backend::Error::Internal(e.0)))?;
                let rule = (i > 0).then(|| Rule {
                    min_conversions: t.min_conversions.map(i64::from),
                    min_revenue: t.min_revenue_minor.map(|m| Money::from_minor(m, c).amount_string()),
                    window_days: t.window_days.into(),
                });
                Ok(Tier { id: t.id, name: t.name.clone(), rank: t.rank, commission: CommissionInput::from_rate(&rate, c), rule, retroactive: t.retroactive })
            })
            .collect::<Result<Vec<_>, Problem>>()?;
        let mut allowed_domains = p.hosts.clone();
        if !allowed_domains.is_empty() {
            allowed_domains.remove(0);
        }
        Ok(Self {
            id: p.row.id,
            name: p.row.name.clone(),
            currency: c.code().to_string(),
            website: p.row.website.clone(),
            allowed_domains,
            cookie_days: p.row.cookie_days,
            default_commission: CommissionInput::from_rate(&p.default_commission()?, c),
            tiers,
            created_at: time(p.row.created_at),
        })
    }
}

/// A tracking link.
#[derive(Serialize, ToSchema)]
pub struct Link {
    pub id: i64,
    pub code: String,
    /// `{TRELLIS_PUBLIC_URL}/r/{code}`.
    pub url: String,
    pub destination: String,
}

/// How a conversion was attributed.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AttributedVia {
    ClickId,
    LinkCode,
    PartnerId,
}

/// Whether a conversion earns.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConversionStatus {
    Attributed,
    Unattributed,
    Ineligible,
}

/// What a conversion earned.
#[derive(Serialize, ToSchema)]
pub struct ConversionCommission {
    /// Zero when nothing was earned.
    #[schema(pattern = r"^-?\d+(\.\d+)?$", example = "18.52")]
    amount: String,
    /// The rate applied; null when nothing was earned.
    rate: Option<CommissionInput>,
    /// The tier at the time; null when nothing was earned.
    tier: Option<String>,
}

/// A conversion as first answered.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"id": 5012, "external_id": "order-1001", "program_id": 1, "amount": "123.45", "currency": "USD",
    "partner_id": 12, "attributed_via": "click_id", "click_path": ["c_8f2k3m9x"], "status": "attributed", "reason": null,
    "occurred_at": "2026-12-01T14:03:00Z", "commission": {"amount": "18.52", "rate": {"percent": "15"}, "tier": "Silver"}}))]
pub struct Conversion {
    id: i64,
    /// The merchant's id of the sale, unique per program.
    external_id: String,
    program_id: i64,
    #[schema(pattern = r"^-?\d+(\.\d+)?$", example = "123.45")]
    amount: String,
    #[schema(example = "USD")]
    currency: String,
    /// The partner credited; null when unattributed.
    partner_id: Option<i64>,
    /// Null when unattributed.
    attributed_via: Option<AttributedVia>,
    /// The visitor's clicks inside the cookie window, oldest first.
    click_path: Vec<String>,
    status: ConversionStatus,
    /// Why it earns nothing, if it does not.
    reason: Option<String>,
    #[schema(format = DateTime)]
    occurred_at: String,
    commission: ConversionCommission,
}

impl Conversion {
    /// The resource of a conversion answer (also of answers stored before this shape).
    pub fn of(a: backend::tracking::conversions::ConversionAnswer) -> Result<Self, Problem> {
        Ok(Self {
            id: a.id,
            external_id: a.external_id,
            program_id: a.program_id,
            amount: a.amount,
            currency: a.currency,
            partner_id: a.partner_id,
            attributed_via: a.attributed_via.as_deref().map(enum_of).transpose()?,
            click_path: a.click_path,
            status: enum_of(&a.status)?,
            reason: a.reason,
            occurred_at: a.occurred_at,
            commission: ConversionCommission {
                amount: a.commission.amount,
                rate: a.commission.rate.as_deref().and_then(commission_of_label),
                tier: a.commission.tier,
            },
        })
    }
}

/// A conversion after a refund.
#[derive(Serialize, ToSchema)]
pub struct RefundedConversion {
    id: i64,
    external_id: String,
    program_id: i64,
    /// The original amount.
    #[schema(pattern = r"^-?\d+(\.\d+)?$")]
    amount: String,
    currency: String,
    partner_id: Option<i64>,
    attributed_via: Option<AttributedVia>,
    click_path: Vec<String>,
    status: ConversionStatus,
    reason: Option<String>,
    #[schema(format = DateTime)]
    occurred_at: String,
    /// What it earned when it arrived.
    commission: ConversionCommission,
    /// Refunded so far.
    #[schema(pattern = r"^-?\d+(\.\d+)?$")]
    refunded: String,
    /// Commission net of clawbacks and adjustments.
    #[schema(pattern = r"^-?\d+(\.\d+)?$")]
    commission_net: String,
}

/// An amount clawed back.
#[derive(Serialize, ToSchema)]
pub struct Clawback {
    /// Positive; the ledger entry is negative.
    #[schema(pattern = r"^-?\d+(\.\d+)?$")]
    amount: String,
}

/// A refund's answer.
#[derive(Serialize, ToSchema)]
pub struct Refund {
    conversion: RefundedConversion,
    clawback: Clawback,
}

impl Refund {
    /// The resource of a refund outcome.
    pub fn of(r: backend::tracking::refunds::RefundOutcome) -> Result<Self, Problem> {
        let c = Conversion::of(r.conversion.conversion)?;
        Ok(Self {
            conversion: RefundedConversion {
                id: c.id,
                external_id: c.external_id,
                program_id: c.program_id,
                amount: c.amount,
                currency: c.currency,
                partner_id: c.partner_id,
                attributed_via: c.attributed_via,
                click_path: c.click_path,
                status: c.status,
                reason: c.reason,
                occurred_at: c.occurred_at,
                commission: c.commission,
                refunded: r.conversion.refunded,
                commission_net: r.conversion.commission_net,
            },
            clawback: Clawback { amount: r.clawback.amount },
        })
    }
}

/// The kind of a ledger entry.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    Earned,
    Adjustment,
    Clawback,
    Payout,
}

/// The state of a ledger entry.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EntryStatus {
    Pending,
    Approved,
    Paid,
    Void,
}

/// A commission ledger entry.
#[derive(Serialize, ToSchema)]
pub struct Entry {
    id: i64,
    partner_id: i64,
    program_id: i64,
    /// The conversion of an earned, adjustment or clawback entry.
    conversion_id: Option<i64>,
    kind: EntryKind,
    /// Signed: clawbacks and downward adjustments are negative.
    #[schema(pattern = r"^-?\d+(\.\d+)?$", example = "-12.50")]
    amount: String,
    #[schema(example = "USD")]
    currency: String,
    /// The rate applied; null for payouts and manual adjustments.
    rate: Option<CommissionInput>,
    /// The tier at the time; null where none applies.
    tier: Option<String>,
    status: EntryStatus,
    /// Why it is held for review, if it is.
    hold_reason: Option<String>,
    #[schema(format = DateTime)]
    created_at: String,
}

impl Entry {
    /// The resource of a ledger entry.
    pub fn of(e: backend::money::ledger::EntryView) -> Result<Self, Problem> {
        Ok(Self {
            id: e.id,
            partner_id: e.partner_id,
            program_id: e.program_id,
            conversion_id: e.conversion_id,
            kind: enum_of(&e.kind)?,
            amount: e.amount,
            currency: e.currency,
            rate: commission_of_label(&e.rate),
            tier: Some(e.tier).filter(|t| !t.trim().is_empty()),
            status: enum_of(&e.status)?,
            hold_reason: e.hold_reason,
            created_at: e.created_at,
        })
    }
}

/// A page of ledger entries, newest first.
#[derive(Serialize, ToSchema)]
pub struct EntryPage {
    pub items: Vec<Entry>,
    pub total: u64,
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_labels_become_commission_objects() {
        assert_eq!(commission_of_label("15%"), Some(CommissionInput { percent: Some("15".into()), flat: None }));
        assert_eq!(commission_of_label("12.5%"), Some(CommissionInput { percent: Some("12.5".into()), flat: None }));
        assert_eq!(commission_of_label("5.00"), Some(CommissionInput { percent: None, flat: Some("5.00".into()) }));
        assert_eq!(commission_of_label(""), None);
    }
}
