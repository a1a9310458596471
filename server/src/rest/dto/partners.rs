//! Partners: a partner with its enrollments, the partner list, timelines, and the bodies of
//! creating and changing a partner.

use super::enum_of;
use crate::edge::Problem;
use backend::programs::CommissionInput;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

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

/// A new partner.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PartnerInput {
    pub(crate) email: String,
    pub(crate) name: String,
    #[serde(default)]
    pub(crate) company: Option<String>,
    #[serde(default)]
    pub(crate) source: Option<String>,
    #[serde(default)]
    pub(crate) phone: Option<String>,
    #[serde(default)]
    pub(crate) website: Option<String>,
    #[serde(default)]
    pub(crate) country: Option<String>,
    /// Custom attribute values by field key.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub(crate) custom: Option<BTreeMap<String, serde_json::Value>>,
    /// Enroll in this program too (in its lowest tier).
    #[serde(default)]
    pub(crate) program_id: Option<i64>,
    /// Status of that enrollment (default: active if the program auto-approves, else pending).
    #[serde(default)]
    pub(crate) status: Option<String>,
}

/// Changes to a partner: any of the contact fields and custom values, and/or an enrollment's
/// status or tier (with `program_id`).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PartnerPatch {
    #[serde(default)]
    pub(crate) name: Option<String>,
    #[serde(default)]
    pub(crate) company: Option<String>,
    #[serde(default)]
    pub(crate) source: Option<String>,
    #[serde(default)]
    pub(crate) phone: Option<String>,
    #[serde(default)]
    pub(crate) website: Option<String>,
    #[serde(default)]
    pub(crate) country: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub(crate) custom: Option<BTreeMap<String, serde_json::Value>>,
    /// The enrollment `status`/`tier` apply to; enrolls the partner when it is not enrolled yet.
    #[serde(default)]
    pub(crate) program_id: Option<i64>,
    #[serde(default)]
    pub(crate) status: Option<String>,
    /// Tier name.
    #[serde(default)]
    pub(crate) tier: Option<String>,
    /// Reason for a status change, on the timeline.
    #[serde(default)]
    pub(crate) reason: Option<String>,
}
