//! The finance review queue, ledger entries and payout batches.

use crate::*;
use serde::{Deserialize, Serialize};

/// Filter of the finance review queue.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReviewFilter {
    /// One program.
    pub program_id: Option<i64>,
    /// Only entries held for review (fraud flags).
    pub held_only: bool,
    /// Only entries at least this many days old.
    pub min_age_days: Option<i64>,
}

/// A pending ledger entry awaiting a finance decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReviewRow {
    /// Entry id.
    pub id: i64,
    /// Partner id.
    pub partner_id: i64,
    /// Partner name.
    pub partner: String,
    /// Program name.
    pub program: String,
    /// Conversion id, if any.
    pub conversion_id: Option<i64>,
    /// The merchant's id of the conversion.
    pub external_id: Option<String>,
    /// `earned`, `adjustment` or `clawback`.
    pub kind: String,
    /// Signed amount for people, e.g. `18.52 USD`.
    pub amount: String,
    /// Rate applied.
    pub rate: String,
    /// Tier at the time.
    pub tier: String,
    /// Created, `YYYY-MM-DD`.
    pub created: String,
    /// Days since creation.
    pub age_days: i64,
    /// Fraud flag holding it, if any.
    pub hold_reason: Option<String>,
    /// Note (adjustments, refunds).
    pub note: Option<String>,
    /// Whether the signed-in user may approve it now, and if not why.
    pub blocked: Option<String>,
}

/// The review queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReviewQueue {
    /// Programs for the picker.
    pub programs: Vec<ProgramSummary>,
    /// Pending entries, oldest first (at most 500).
    pub rows: Vec<ReviewRow>,
    /// Pending entries matching the filter.
    pub total: u64,
}

/// What a bulk action did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BulkResult {
    /// Items changed.
    pub changed: u64,
    /// Items refused, with the reason.
    pub refused: Vec<(i64, String)>,
}

/// A payout batch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchRow {
    /// Batch id.
    pub id: i64,
    /// Program name.
    pub program: String,
    /// Total for people.
    pub total: String,
    /// Partners paid.
    pub partners: u64,
    /// Ledger entries included.
    pub entries: i32,
    /// `open` or `paid`.
    pub status: String,
    /// Created, `YYYY-MM-DD HH:MM`.
    pub created: String,
    /// Who created it.
    pub created_by: String,
    /// Paid, `YYYY-MM-DD HH:MM`.
    pub paid: Option<String>,
}

/// A ledger entry row for people.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EntryRow {
    /// Entry id.
    pub id: i64,
    /// Kind.
    pub kind: String,
    /// Signed amount for people.
    pub amount: String,
    /// Rate.
    pub rate: String,
    /// Tier at the time.
    pub tier: String,
    /// Status.
    pub status: String,
    /// Created, `YYYY-MM-DD HH:MM`.
    pub created: String,
    /// Approver, if approved.
    pub approved_by: Option<String>,
    /// Note.
    pub note: Option<String>,
}
