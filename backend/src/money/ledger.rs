//! The commission ledger: append-only entries per enrollment. Amounts are never changed after
//! insert; corrections are new entries. Balances are always derived from the entries.

use crate::entities::{ledger_entry, partner};
use crate::{Error, Result};
use models::{Currency, Money};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::Serialize;

/// Entry kinds.
pub const KINDS: &[&str] = &["earned", "adjustment", "clawback", "payout"];
/// Entry statuses.
pub const STATUSES: &[&str] = &["pending", "approved", "paid", "void"];

/// Filter of a commissions listing.
#[derive(Debug, Clone, Default)]
pub struct EntryFilter {
    /// One partner.
    pub partner_id: Option<i64>,
    /// One program.
    pub program_id: Option<i64>,
    /// One status.
    pub status: Option<String>,
    /// Page from 1.
    pub page: u64,
    /// Page size, at most 200.
    pub per_page: u64,
}

/// A ledger entry as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct EntryView {
    /// Entry id.
    pub id: i64,
    /// Partner.
    pub partner_id: i64,
    /// Program.
    pub program_id: i64,
    /// Conversion, for earned/adjustment/clawback entries.
    pub conversion_id: Option<i64>,
    /// `earned`, `adjustment`, `clawback` or `payout`.
    pub kind: String,
    /// Signed decimal amount.
    pub amount: String,
    /// Currency code.
    pub currency: String,
    /// The rate applied.
    pub rate: String,
    /// The tier at the time.
    pub tier: String,
    /// `pending`, `approved`, `paid` or `void`.
    pub status: String,
    /// Why it is held for review, if it is.
    pub hold_reason: Option<String>,
    /// Created (RFC 3339).
    pub created_at: String,
}

impl EntryView {
    /// The view of a row.
    pub fn of(e: &ledger_entry::Model) -> Result<Self> {
        let currency = Currency::parse(&e.currency).map_err(|x| Error::Internal(x.0))?;
        Ok(Self {
            id: e.id,
            partner_id: e.partner_id,
            program_id: e.program_id,
            conversion_id: e.conversion_id,
            kind: e.kind.clone(),
            amount: Money::from_minor(e.amount_minor, currency).amount_string(),
            currency: e.currency.clone(),
            rate: e.rate.clone(),
            tier: e.tier.clone(),
            status: e.status.clone(),
            hold_reason: e.hold_reason.clone(),
            created_at: e.created_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        })
    }
}

/// A page of an account's ledger entries, newest first.
pub async fn list(db: &impl ConnectionTrait, account_id: i64, f: &EntryFilter) -> Result<models::Page<EntryView>> {
    let per_page = match f.per_page {
        0 => 50,
        n if n > 200 => return Err(Error::invalid("per_page", "at most 200")),
        n => n,
    };
    let mut q = ledger_entry::Entity::find().filter(ledger_entry::Column::AccountId.eq(account_id));
    if let Some(p) = f.partner_id {
        q = q.filter(ledger_entry::Column::PartnerId.eq(p));
    }
    if let Some(p) = f.program_id {
        q = q.filter(ledger_entry::Column::ProgramId.eq(p));
    }
    if let Some(s) = &f.status {
        if !STATUSES.contains(&s.as_str()) {
            return Err(Error::invalid("status", format!("expected one of: {}", STATUSES.join(", "))));
        }
        q = q.filter(ledger_entry::Column::Status.eq(s.as_str()));
    }
    let page = crate::db::fetch_page(db, q.order_by_desc(ledger_entry::Column::Id), f.page, per_page).await?;
    let items = page.items.iter().map(EntryView::of).collect::<Result<_>>()?;
    Ok(models::Page { items, total: page.total, page: page.page, per_page })
}

/// A partner's balances in minor units, derived from the entries.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Balances {
    /// Earned, awaiting approval (net of pending clawbacks).
    pub pending: i64,
    /// Approved, not yet paid.
    pub approved: i64,
    /// Paid out.
    pub paid: i64,
}

/// Balances of a partner in the account: every non-void entry other than `payout` counted by
/// its status.
pub async fn balances(db: &impl ConnectionTrait, account_id: i64, partner_id: i64) -> Result<Balances> {
    partner::Entity::find_by_id(partner_id).filter(partner::Column::AccountId.eq(account_id)).one(db).await?.ok_or(Error::NotFound("partner"))?;
    let rows = ledger_entry::Entity::find()
        .filter(ledger_entry::Column::AccountId.eq(account_id))
        .filter(ledger_entry::Column::PartnerId.eq(partner_id))
        .filter(ledger_entry::Column::Kind.ne("payout"))
        .all(db)
        .await?;
    let mut b = Balances::default();
    for e in rows {
        match e.status.as_str() {
            "pending" => b.pending += e.amount_minor,
            "approved" => b.approved += e.amount_minor,
            "paid" => b.paid += e.amount_minor,
            _ => {}
        }
    }
    Ok(b)
}
