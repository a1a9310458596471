//! **Money**: the commission ledger and its balances ([`ledger`]), the finance review queue,
//! approvals, payout batches and exports ([`finance`]), and payout details and tax documents
//! ([`compliance`]).

pub mod compliance;
pub mod finance;
pub mod ledger;
