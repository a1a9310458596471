//! Tier rules as the tiers page edits them and the simulator's answer.

use crate::*;
use serde::{Deserialize, Serialize};

/// A tier's rule as edited on the tiers page (strings as typed; the server parses them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TierDraft {
    /// Tier id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Rank (higher is better).
    pub rank: i32,
    /// `percent` or `flat`.
    pub commission_kind: String,
    /// The percentage or flat amount.
    pub commission_value: String,
    /// Minimum conversions in the window, empty for none.
    pub min_conversions: String,
    /// Minimum revenue in the window, empty for none.
    pub min_revenue: String,
    /// Window in days.
    pub window_days: String,
    /// Re-rate recent conversions on upgrade.
    pub retroactive: bool,
}

/// A program's tier rules for the tiers page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TierRules {
    /// The program shown.
    pub program_id: i64,
    /// Its currency.
    pub currency: String,
    /// Every program of the account.
    pub programs: Vec<ProgramSummary>,
    /// Tiers, lowest first.
    pub tiers: Vec<TierDraft>,
    /// Active enrollments per tier name.
    pub members: Vec<(String, u64)>,
}

/// One enrollment that a draft would move.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mover {
    /// Partner id.
    pub partner_id: i64,
    /// Partner name.
    pub partner: String,
    /// Tier now.
    pub from: String,
    /// Tier under the draft.
    pub to: String,
    /// Conversions in the draft tier's window.
    pub conversions: i64,
    /// Revenue in that window, for people.
    pub revenue: String,
}

/// What a draft of tier rules would do, computed on real history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Simulation {
    /// Active enrollments evaluated.
    pub evaluated: u64,
    /// Enrollments that would move up.
    pub up: Vec<Mover>,
    /// Enrollments that would move down (at the next review, if the program reviews).
    pub down: Vec<Mover>,
    /// Days of history costed.
    pub window_days: i64,
    /// Commission earned in that window under today's rules, for people.
    pub cost_now: String,
    /// The same conversions under the draft, for people.
    pub cost_draft: String,
    /// Draft minus now, for people (signed).
    pub difference: String,
}
