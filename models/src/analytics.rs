//! Analytics DTOs: KPI dashboard, cohorts, health scores, at-risk lists, custom dashboards.

use serde::{Deserialize, Serialize};

/// One part of a health score: its own 0–100 score (none when the data does not exist yet, in
/// which case the part is left out and the other weights are re-normalised), its weight and
/// what it added to the total.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HealthPart {
    /// Stable key: `trend`, `recency`, `email`, `compliance`, `activity`.
    pub key: String,
    /// Label shown to people.
    pub label: String,
    /// The part's score; `None` when excluded for lack of data.
    pub score: Option<u8>,
    /// The configured weight.
    pub weight: u32,
    /// Points this part added to the total (one decimal), `"—"` when excluded.
    pub contribution: String,
    /// The statistic behind it, in words ("conversion rate down 60% vs prior 30 days").
    pub detail: String,
}

/// A program's health weights (any non-negative integers; they are normalised) and threshold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthWeights {
    /// Conversion-rate trend, last 30 days vs prior 30.
    pub trend: u32,
    /// Recency of the last conversion.
    pub recency: u32,
    /// Email open rate.
    pub email: u32,
    /// Compliance: tax document on file, open fraud flags.
    pub compliance: u32,
    /// Activity: portal logins and link clicks.
    pub activity: u32,
}

impl Default for HealthWeights {
    fn default() -> Self {
        HealthWeights { trend: 30, recency: 25, email: 10, compliance: 15, activity: 20 }
    }
}

/// One KPI with its value in the window, in the previous window of the same length, and the
/// change in percent (`None` when the previous value is zero).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Kpi {
    /// Stable key (`revenue`, `conversions`, …).
    pub key: String,
    /// Label.
    pub label: String,
    /// Formatted value in the window.
    pub value: String,
    /// Formatted value in the previous window.
    pub previous: String,
    /// Change against the previous window, e.g. `"+12.5%"`; `None` without a previous value.
    pub change: Option<String>,
    /// True when the change is an improvement.
    pub up: bool,
}

/// A week of the cohort trend with one figure per tier (in the order of `CohortTable::tiers`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CohortRow {
    /// Monday of the week, `YYYY-MM-DD`.
    pub week_start: String,
    /// Revenue per tier (decimal strings).
    pub revenue: Vec<String>,
    /// Conversions per tier.
    pub conversions: Vec<i64>,
    /// Converting partners per tier.
    pub partners: Vec<i64>,
}

/// The cohort trend as a table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CohortTable {
    /// Tier names, lowest rank first.
    pub tiers: Vec<String>,
    /// One row per week, oldest first.
    pub rows: Vec<CohortRow>,
}

/// Average health and tier mix per tier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TierHealth {
    /// Tier name.
    pub tier: String,
    /// Active enrollments in the tier.
    pub enrollments: i64,
    /// Average health score of the scored ones, one decimal; `None` when none is scored.
    pub average: Option<String>,
    /// Of which at risk.
    pub at_risk: i64,
}

/// An at-risk or dormant enrollment with the reason in words.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RiskRow {
    /// Partner id (links to `/partners/{id}`).
    pub partner_id: i64,
    /// Partner name.
    pub name: String,
    /// Program id.
    pub program_id: i64,
    /// Tier name.
    pub tier: String,
    /// Current health score.
    pub score: Option<i32>,
    /// Why, in words.
    pub reason: String,
    /// Last conversion (`YYYY-MM-DD`) or `"never"`.
    pub last_conversion: String,
    /// The parts of the latest score (empty for dormant rows not yet scored).
    pub parts: Vec<HealthPart>,
}

/// A partner in a "top partners" widget.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TopPartner {
    /// Partner id.
    pub partner_id: i64,
    /// Name.
    pub name: String,
    /// Tier.
    pub tier: String,
    /// Revenue in the window (decimal).
    pub revenue: String,
    /// Conversions in the window.
    pub conversions: i64,
}

/// A health score with its parts, for the partner profile and the at-risk list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HealthView {
    /// The score 0–100.
    pub score: i32,
    /// Its parts.
    pub parts: Vec<HealthPart>,
    /// The day it was computed, `YYYY-MM-DD`.
    pub day: String,
    /// Earlier scores, oldest first: (`YYYY-MM-DD`, score).
    pub history: Vec<(String, i32)>,
}

/// The KPI dashboard of a program (or all programs) over a window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dashboard {
    /// The programs to choose from: (id, name).
    pub programs: Vec<(i64, String)>,
    /// The program shown, or all.
    pub program_id: Option<i64>,
    /// Window label, e.g. "Last 30 days (2026-10-28 – 2026-11-26)".
    pub window: String,
    /// Previous window label.
    pub previous_window: String,
    /// The KPIs.
    pub kpis: Vec<Kpi>,
    /// Cohort trend (for one program; the first program when all are shown).
    pub cohort: CohortTable,
    /// Cohort revenue chart, SVG rendered on the server.
    pub cohort_svg: String,
    /// Weekly revenue trend chart, SVG.
    pub revenue_svg: String,
    /// Tier mix chart (active enrollments per tier), SVG.
    pub tier_mix_svg: String,
    /// Health by tier.
    pub health: Vec<TierHealth>,
    /// At-risk enrollments, worst first (at most 50).
    pub at_risk: Vec<RiskRow>,
    /// Dormant enrollments, longest first (at most 50).
    pub dormant: Vec<RiskRow>,
    /// Top partners by revenue in the window.
    pub top: Vec<TopPartner>,
    /// The program's at-risk threshold.
    pub threshold: i32,
    /// Broadcasts sent in the window with their sent, delivered and opened counts.
    pub broadcasts: Vec<crate::BroadcastRow>,
}

/// The widget kinds of a custom dashboard.
pub const WIDGET_KINDS: &[(&str, &str)] = &[
    ("kpis", "KPIs"),
    ("cohort_chart", "Cohort chart"),
    ("health_by_tier", "Health by tier"),
    ("top_partners", "Top partners"),
    ("at_risk", "At-risk list"),
    ("tier_mix", "Tier mix"),
];

/// One widget of a custom dashboard with its own filters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Widget {
    /// One of [`WIDGET_KINDS`].
    pub kind: String,
    /// Program filter; all programs when `None`.
    pub program_id: Option<i64>,
    /// Window in days (KPIs, top partners) or weeks ×7 (cohort chart).
    pub days: u32,
}

/// A saved custom dashboard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DashboardDef {
    /// Id (0 for a built-in default).
    pub id: i64,
    /// Name.
    pub name: String,
    /// Role it is shared with (`None`: only its owner).
    pub shared_role: Option<String>,
    /// True when the viewer may edit it.
    pub mine: bool,
    /// Its widgets, in order.
    pub widgets: Vec<Widget>,
}

/// A widget of a custom dashboard, rendered: a chart (SVG), KPIs or a table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RenderedWidget {
    /// The widget as saved.
    pub widget: Widget,
    /// Title, e.g. "Cohort revenue · Northwind Referral · 12 weeks".
    pub title: String,
    /// KPIs (kind `kpis`).
    pub kpis: Vec<Kpi>,
    /// Chart SVG (charts), empty otherwise.
    pub svg: String,
    /// Table header.
    pub head: Vec<String>,
    /// Table rows.
    pub rows: Vec<Vec<String>>,
}

/// A custom dashboard ready to show.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RenderedDashboard {
    /// Its definition.
    pub def: DashboardDef,
    /// Every dashboard the viewer can open (for the picker).
    pub available: Vec<DashboardDef>,
    /// Its widgets.
    pub widgets: Vec<RenderedWidget>,
    /// The programs (id, name), for the widget editor.
    pub programs: Vec<(i64, String)>,
}
