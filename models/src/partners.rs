//! The directory, its queries and segments, custom fields, bulk actions, and one partner's profile and timeline.

use crate::*;
use serde::{Deserialize, Serialize};

/// A program as offered in pickers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProgramSummary {
    /// Program id.
    pub id: i64,
    /// Program name.
    pub name: String,
    /// ISO currency code.
    pub currency: String,
}

/// One custom-field condition of a directory filter: the field's value equals `value`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldFilter {
    /// Field key.
    pub key: String,
    /// Value, compared in its canonical form.
    pub value: String,
}

/// Filter and order of the directory. Saved as JSON in segments, so every field has a default.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DirectoryQuery {
    /// One program, or every program of the account.
    pub program_id: Option<i64>,
    /// One status, or all.
    pub status: Option<EnrollmentStatus>,
    /// Tier name (tiers are per program; the name matches across programs).
    pub tier: Option<String>,
    /// Acquisition source.
    pub source: Option<String>,
    /// Relationship owner (user id).
    pub owner: Option<i64>,
    /// Health band.
    pub health: Option<HealthBand>,
    /// Custom-field conditions, all of which must hold.
    pub fields: Vec<FieldFilter>,
    /// Free text over name, email and company.
    pub q: Option<String>,
    /// Order; name when unset.
    pub sort: Option<DirectorySort>,
    /// Descending order.
    pub desc: bool,
    /// Page number from 1.
    pub page: u64,
    /// Rows per page (at most 200).
    pub per_page: u64,
}

/// Enrollment counts by status for the current filter (ignoring the status filter itself).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusCounts {
    /// Every enrollment.
    pub all: u64,
    /// Active.
    pub active: u64,
    /// Pending review.
    pub pending: u64,
    /// Paused.
    pub paused: u64,
    /// Suspended.
    pub suspended: u64,
    /// Rejected.
    pub rejected: u64,
}

impl StatusCounts {
    /// The count of one status, or of all.
    pub fn of(&self, status: Option<EnrollmentStatus>) -> u64 {
        match status {
            None => self.all,
            Some(EnrollmentStatus::Active) => self.active,
            Some(EnrollmentStatus::Pending) => self.pending,
            Some(EnrollmentStatus::Paused) => self.paused,
            Some(EnrollmentStatus::Suspended) => self.suspended,
            Some(EnrollmentStatus::Rejected) => self.rejected,
        }
    }
}

/// One row of the directory: a partner's enrollment in a program.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DirectoryRow {
    /// Enrollment id (what bulk actions select).
    pub enrollment_id: i64,
    /// Partner id.
    pub partner_id: i64,
    /// Partner name.
    pub name: String,
    /// Partner email.
    pub email: String,
    /// Company, if any.
    pub company: Option<String>,
    /// Acquisition source.
    pub source: Option<String>,
    /// Relationship owner's name.
    pub owner: Option<String>,
    /// Program id.
    pub program_id: i64,
    /// Program name.
    pub program: String,
    /// Current tier name.
    pub tier: String,
    /// Enrollment status.
    pub status: EnrollmentStatus,
    /// Joined date, `YYYY-MM-DD`.
    pub joined: String,
    /// Revenue over the last 90 days (net of refunds), in the program's currency.
    pub revenue_90d: Money,
    /// Conversions over the last 90 days.
    pub conversions_90d: i64,
    /// Clicks over the last 90 days.
    pub clicks_90d: i64,
    /// Day of the last conversion, `YYYY-MM-DD`.
    pub last_conversion: Option<String>,
    /// Health score 0–100.
    pub health: Option<i32>,
    /// Health band.
    pub health_band: HealthBand,
}

impl DirectoryRow {
    /// Conversions ÷ clicks over the last 90 days for people: `12.5%`, or `—` without clicks.
    pub fn conversion_rate_display(&self) -> String {
        percent_display(self.conversions_90d, self.clicks_90d)
    }
}

/// A team member as offered in pickers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberOption {
    /// User id.
    pub id: i64,
    /// Display name.
    pub name: String,
}

/// A page of the directory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DirectoryPage {
    /// The account's programs, for the program picker.
    pub programs: Vec<ProgramSummary>,
    /// Tier names of the account's programs, lowest first.
    pub tiers: Vec<String>,
    /// Acquisition sources in use.
    pub sources: Vec<String>,
    /// Team members who can own partners.
    pub owners: Vec<MemberOption>,
    /// The account's custom fields.
    pub fields: Vec<CustomFieldDef>,
    /// Counts by status.
    pub counts: StatusCounts,
    /// This page of rows.
    pub list: crate::Page<DirectoryRow>,
    /// True when the viewer may change partners (bulk actions, notes, status).
    pub can_edit: bool,
    /// The viewer's user id (for "My partners").
    pub me: i64,
}

/// A custom field of the account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomFieldDef {
    /// Stable key (`[a-z0-9_]`, used in imports, REST and URLs).
    pub key: String,
    /// Label for people.
    pub label: String,
    /// Value type.
    pub kind: FieldKind,
    /// Options of a select.
    pub options: Vec<String>,
    /// Every partner must have a value.
    pub required: bool,
}

/// A saved segment with its live count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SegmentView {
    /// Segment id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// The saved filter.
    pub query: DirectoryQuery,
    /// Enrollments matching it now.
    pub count: u64,
    /// Filter in words, e.g. `status active · tier Gold`.
    pub description: String,
}

/// Contact details and attributes of a partner, as written by forms, REST and imports.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PartnerFields {
    /// Name.
    pub name: Option<String>,
    /// Company (empty clears it).
    pub company: Option<String>,
    /// Acquisition source (empty clears it).
    pub source: Option<String>,
    /// Phone (empty clears it).
    pub phone: Option<String>,
    /// Website (empty clears it).
    pub website: Option<String>,
    /// ISO country code (empty clears it).
    pub country: Option<String>,
    /// Relationship owner: `Some(None)` clears it.
    pub owner_user_id: Option<Option<i64>>,
    /// Custom field values by key (empty text clears one).
    pub custom: std::collections::BTreeMap<String, String>,
}

/// What a bulk action does to each selected enrollment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum BulkAction {
    /// Move to a status (through the lifecycle's allowed transitions).
    SetStatus {
        /// Target status.
        status: EnrollmentStatus,
        /// Optional reason, on the timeline and in the audit log.
        reason: Option<String>,
    },
    /// Put in a tier of its program (by name).
    SetTier {
        /// Tier name.
        tier: String,
    },
    /// Set a custom commission (`10%` or `5.00`), or clear it with `None`.
    SetCommission {
        /// The commission, or none for the tier's.
        commission: Option<String>,
    },
    /// Give the partner a relationship owner, or none.
    SetOwner {
        /// User id.
        owner: Option<i64>,
    },
    /// Add a note to the partner's timeline.
    AddNote {
        /// Note text.
        text: String,
    },
}

/// Which enrollments a bulk action applies to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "by", rename_all = "snake_case")]
pub enum BulkTarget {
    /// These enrollments.
    Ids {
        /// Enrollment ids.
        ids: Vec<i64>,
    },
    /// Every enrollment matching the filter (paging ignored).
    Filter {
        /// The filter.
        query: DirectoryQuery,
    },
}

/// What a bulk action did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BulkReport {
    /// Enrollments selected.
    pub selected: u64,
    /// Enrollments changed.
    pub changed: u64,
    /// Enrollments already as asked (nothing to do).
    pub unchanged: u64,
    /// Refused, as `(partner name, reason)`.
    pub refused: Vec<(String, String)>,
}

/// One event of a partner's activity timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimelineItem {
    /// When, `YYYY-MM-DD HH:MM UTC`.
    pub at: String,
    /// Kind (`conversion`, `tier_changed`, `status_changed`, `note`, …).
    pub kind: String,
    /// Who did it.
    pub actor: String,
    /// One line for people.
    pub summary: String,
}

/// A page of a partner's timeline.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TimelinePage {
    /// This page of events, newest first.
    pub list: crate::Page<TimelineItem>,
    /// Every kind that occurs on this timeline, for the filter.
    pub kinds: Vec<String>,
}

/// An enrollment on the partner profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProfileEnrollment {
    /// Enrollment id.
    pub id: i64,
    /// Program id.
    pub program_id: i64,
    /// Program name.
    pub program: String,
    /// Status.
    pub status: EnrollmentStatus,
    /// Statuses it may move to from here.
    pub next_statuses: Vec<EnrollmentStatus>,
    /// Tier.
    pub tier: String,
    /// Tiers of its program, lowest first.
    pub tiers: Vec<String>,
    /// Commission in words (custom rates say so).
    pub commission: String,
    /// The custom commission as typed (`10%`, `5.00`), if any.
    pub custom_commission: Option<String>,
    /// Joined, `YYYY-MM-DD`.
    pub joined: String,
    /// Dormant since, if dormant.
    pub dormant_since: Option<String>,
    /// Health score.
    pub health: Option<i32>,
    /// The program's at-risk threshold (the health band of the score).
    pub at_risk_threshold: i32,
    /// The latest score's parts and their contribution (empty before the first scoring).
    pub health_parts: Vec<crate::analytics::HealthPart>,
    /// Day of the latest score, `YYYY-MM-DD`.
    pub health_day: Option<String>,
    /// Revenue over the last 90 days.
    pub revenue_90d: String,
    /// Conversions over the last 90 days.
    pub conversions_90d: i64,
}

/// A custom attribute as the profile shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttributeView {
    /// The field.
    pub field: CustomFieldDef,
    /// Its value, if any.
    pub value: Option<String>,
}

/// A partner's profile for the team.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartnerProfile {
    /// Partner id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Email.
    pub email: String,
    /// Company.
    pub company: Option<String>,
    /// Acquisition source.
    pub source: Option<String>,
    /// Phone.
    pub phone: Option<String>,
    /// Website.
    pub website: Option<String>,
    /// Country code.
    pub country: Option<String>,
    /// Relationship owner.
    pub owner: Option<MemberOption>,
    /// Team members who can own partners.
    pub owners: Vec<MemberOption>,
    /// Custom attributes, every field of the account.
    pub attributes: Vec<AttributeView>,
    /// Partner since, `YYYY-MM-DD`.
    pub since: String,
    /// Enrollments.
    pub enrollments: Vec<ProfileEnrollment>,
    /// Commission balances for people: pending, approved, paid.
    pub balances: (String, String, String),
    /// The first timeline page (matching the filter).
    pub timeline: TimelinePage,
    /// True when the viewer may change this partner.
    pub can_edit: bool,
}

/// Percent-encodes a query value.
pub fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Decodes a percent-encoded query value (`+` is a space).
pub fn url_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => match u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("zz"), 16) {
                Ok(v) => {
                    out.push(v);
                    i += 2;
                }
                Err(_) => out.push(b'%'),
            },
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl DirectoryQuery {
    /// Reads a filter from URL query pairs (`program`, `status`, `tier`, `source`, `owner`,
    /// `health`, `cf.{key}`, `q`, `sort`, `desc`, `page`); unknown or invalid values are ignored.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> DirectoryQuery {
        let mut q = DirectoryQuery::default();
        // A plain form names the custom field and its value in two inputs.
        let (mut cf_key, mut cf_value) = (None, None);
        for (k, v) in pairs {
            let v = v.trim();
            if v.is_empty() {
                continue;
            }
            match k {
                "program" => q.program_id = v.parse().ok(),
                "status" => q.status = EnrollmentStatus::parse(v).ok(),
                "tier" => q.tier = Some(v.to_string()),
                "source" => q.source = Some(v.to_string()),
                "owner" => q.owner = v.parse().ok(),
                "health" => q.health = HealthBand::parse(v).ok(),
                "q" => q.q = Some(v.to_string()),
                "sort" => q.sort = DirectorySort::parse(v).ok(),
                "desc" => q.desc = v == "1" || v == "true",
                "page" => q.page = v.parse().unwrap_or(1),
                "cf_key" => cf_key = Some(v.to_string()),
                "cf_value" => cf_value = Some(v.to_string()),
                k => {
                    if let Some(key) = k.strip_prefix("cf.") {
                        q.fields.push(FieldFilter { key: key.to_string(), value: v.to_string() });
                    }
                }
            }
        }
        if let (Some(key), Some(value)) = (cf_key, cf_value) {
            if !q.fields.iter().any(|f| f.key == key) {
                q.fields.push(FieldFilter { key, value });
            }
        }
        q
    }

    /// Reads a filter from a raw query string (`a=1&b=2`).
    pub fn from_query_string(s: &str) -> DirectoryQuery {
        let decoded: Vec<(String, String)> = s
            .trim_start_matches('?')
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (url_decode(k), url_decode(v))
            })
            .collect();
        DirectoryQuery::from_pairs(decoded.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    }

    /// The query string of this filter (without `?`), in a stable order.
    pub fn to_query_string(&self) -> String {
        let mut parts = Vec::new();
        if let Some(p) = self.program_id {
            parts.push(format!("program={p}"));
        }
        if let Some(s) = self.status {
            parts.push(format!("status={s}"));
        }
        if let Some(t) = &self.tier {
            parts.push(format!("tier={}", url_encode(t)));
        }
        if let Some(s) = &self.source {
            parts.push(format!("source={}", url_encode(s)));
        }
        if let Some(o) = self.owner {
            parts.push(format!("owner={o}"));
        }
        if let Some(h) = self.health {
            parts.push(format!("health={h}"));
        }
        for f in &self.fields {
            parts.push(format!("cf.{}={}", url_encode(&f.key), url_encode(&f.value)));
        }
        if let Some(q) = self.q.as_ref().filter(|q| !q.is_empty()) {
            parts.push(format!("q={}", url_encode(q)));
        }
        if let Some(s) = self.sort {
            parts.push(format!("sort={s}"));
        }
        if self.desc {
            parts.push("desc=1".into());
        }
        if self.page > 1 {
            parts.push(format!("page={}", self.page));
        }
        parts.join("&")
    }

    /// The directory URL of this filter.
    pub fn href(&self) -> String {
        match self.to_query_string() {
            s if s.is_empty() => "/directory".into(),
            s => format!("/directory?{s}"),
        }
    }
}

#[cfg(test)]
mod query_tests {
    use super::*;

    #[test]
    fn directory_filters_round_trip_through_their_url() {
        let q = DirectoryQuery {
            program_id: Some(2),
            status: Some(EnrollmentStatus::Active),
            tier: Some("Gold".into()),
            source: Some("Blog & news".into()),
            owner: Some(7),
            health: Some(HealthBand::AtRisk),
            fields: vec![FieldFilter { key: "niche".into(), value: "Outdoor gear".into() }],
            q: Some("a b&c".into()),
            sort: Some(DirectorySort::Revenue),
            desc: true,
            page: 3,
            per_page: 0,
        };
        let s = q.to_query_string();
        assert_eq!(DirectoryQuery::from_query_string(&s), q);
        assert_eq!(DirectoryQuery::default().href(), "/directory");
        assert_eq!(url_decode("a%20b+c%26"), "a b c&");
    }
}
