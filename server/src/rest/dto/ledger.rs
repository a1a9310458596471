//! The commission ledger.

use super::enum_of;
use backend::programs::commission::input_of_label as commission_of_label;
use crate::edge::Problem;
use backend::programs::CommissionInput;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

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
