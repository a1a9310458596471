//! Finance: the review queue of pending commissions, approval and voiding (maker-checker for
//! manual adjustments, a hold period per program), payout batches with a formula-safe CSV export
//! and mark-as-paid. Every step lands on the partner's timeline. Only status, approval and batch
//! columns of ledger entries ever change; amounts never do.

use crate::access::auth::Actor;
use crate::entities::{conversion, ledger_entry, partner, payout_batch, program};
use crate::timeline::{self, Event};
use crate::{Clock, Error, Result};
use chrono::Duration;
use models::{BatchRow, BulkResult, Currency, Money, ReviewFilter, ReviewQueue, ReviewRow, Role};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
    UpdateMany,
};
use serde_json::json;
use std::collections::{BTreeMap, HashMap};

const FINANCE: &[Role] = &[Role::FinanceApprover];

fn money(minor: i64, code: &str) -> Result<Money> {
    Ok(Money::from_minor(minor, Currency::parse(code).map_err(|e| Error::Internal(e.0))?))
}

async fn program_map(db: &impl ConnectionTrait, account_id: i64) -> Result<HashMap<i64, program::Model>> {
    Ok(program::Entity::find().filter(program::Column::AccountId.eq(account_id)).all(db).await?.into_iter().map(|p| (p.id, p)).collect())
}

/// Why `actor` may not approve `e` now, if they may not.
fn approval_block(actor: &Actor, e: &ledger_entry::Model, p: &program::Model, now: chrono::DateTime<chrono::Utc>) -> Option<String> {
    if e.status != "pending" {
        return Some(format!("it is {}", e.status));
    }
    // The maker by user id (a rename changes the label, not the id); older entries by label.
    let own = match e.created_by_user_id {
        Some(maker) => maker == actor.user_id,
        None => e.created_by == actor.label(),
    };
    if e.kind == "adjustment" && own {
        return Some("you created this adjustment; another approver must approve it".into());
    }
    let ready = e.created_at + Duration::days(p.hold_days as i64);
    if e.amount_minor > 0 && e.kind == "earned" && ready > now {
        return Some(format!("in the {}-day hold period until {}", p.hold_days, ready.format("%Y-%m-%d")));
    }
    None
}

/// Pending entries for review, oldest first.
pub async fn review_queue(db: &DatabaseConnection, clock: &Clock, actor: &Actor, f: &ReviewFilter) -> Result<ReviewQueue> {
    actor.require_any(FINANCE)?;
    let now = clock.now();
    let programs = program_map(db, actor.account_id).await?;
    let mut q = ledger_entry::Entity::find()
        .filter(ledger_entry::Column::AccountId.eq(actor.account_id))
        .filter(ledger_entry::Column::Status.eq("pending"))
        .filter(ledger_entry::Column::Kind.ne("payout"));
    if let Some(p) = f.program_id {
        q = q.filter(ledger_entry::Column::ProgramId.eq(p));
    }
    if f.held_only {
        q = q.filter(ledger_entry::Column::HoldReason.is_not_null());
    }
    if let Some(days) = f.min_age_days {
        if !(0..=3650).contains(&days) {
            return Err(Error::invalid("min_age_days", "must be between 0 and 3650"));
        }
        q = q.filter(ledger_entry::Column::CreatedAt.lte(now - Duration::days(days)));
    }
    let total = q.clone().count(db).await?;
    let rows = q.order_by_asc(ledger_entry::Column::CreatedAt).order_by_asc(ledger_entry::Column::Id).limit(500).all(db).await?;
    let partner_ids: Vec<i64> = rows.iter().map(|e| e.partner_id).collect();
    let conversion_ids: Vec<i64> = rows.iter().filter_map(|e| e.conversion_id).collect();
    let names: HashMap<i64, String> =
        crate::db::names(db, (partner::Column::Id, partner::Column::Name), partner::Column::Id.is_in(partner_ids), partner::Column::Id).await?;
    let externals: HashMap<i64, String> = conversion::Entity::find()
        .filter(conversion::Column::Id.is_in(conversion_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|c| (c.id, c.external_id))
        .collect();
    let mut out = Vec::with_capacity(rows.len());
    for e in rows {
        let p = programs.get(&e.program_id).ok_or(Error::NotFound("program"))?;
        out.push(ReviewRow {
            id: e.id,
            partner_id: e.partner_id,
            partner: names.get(&e.partner_id).cloned().unwrap_or_default(),
            program: p.name.clone(),
            conversion_id: e.conversion_id,
            external_id: e.conversion_id.and_then(|c| externals.get(&c).cloned()),
            kind: e.kind.clone(),
            amount: money(e.amount_minor, &e.currency)?.display(),
            rate: e.rate.clone(),
            tier: e.tier.clone(),
            created: e.created_at.format("%Y-%m-%d").to_string(),
            age_days: (now - e.created_at).num_days(),
            hold_reason: e.hold_reason.clone(),
            note: e.note.clone(),
            blocked: approval_block(actor, &e, p, now),
        });
    }
    let mut programs: Vec<_> = programs.into_values().map(|p| models::ProgramSummary { id: p.id, name: p.name, currency: p.currency }).collect();
    programs.sort_by_key(|p| p.id);
    Ok(ReviewQueue { programs, rows: out, total })
}

/// A bulk change of ledger entries under way: the entries found, the ids refused and the
/// entries changed (each also gets a line on its partner's timeline from the caller).
struct Bulk {
    found: HashMap<i64, ledger_entry::Model>,
    result: BulkResult,
    done: Vec<String>,
}

impl Bulk {
    /// Starts a bulk change of the account's entries among `ids`.
    async fn load(db: &impl ConnectionTrait, account_id: i64, ids: &[i64]) -> Result<Self> {
        let found = ledger_entry::Entity::find()
            .filter(ledger_entry::Column::AccountId.eq(account_id))
            .filter(ledger_entry::Column::Id.is_in(ids.to_vec()))
            .all(db)
            .await?
            .into_iter()
            .map(|e| (e.id, e))
            .collect();
        Ok(Bulk { found, result: BulkResult::default(), done: Vec::new() })
    }

    /// Entry `id`; none, with `id` refused, when it is not the account's.
    fn take(&mut self, id: i64) -> Option<ledger_entry::Model> {
        let e = self.found.remove(&id);
        if e.is_none() {
            self.refuse(id, "not found".into());
        }
        e
    }

    fn refuse(&mut self, id: i64, why: String) {
        self.result.refused.push((id, why));
    }

    /// Applies `update` to entry `e` alone and counts `e` changed; false, with `e` refused, when
    /// a concurrent change of the entry came first and the update's guard no longer matches.
    async fn apply(&mut self, txn: &impl ConnectionTrait, update: UpdateMany<ledger_entry::Entity>, e: &ledger_entry::Model) -> Result<bool> {
        let changed = update.filter(ledger_entry::Column::Id.eq(e.id)).exec(txn).await?.rows_affected;
        if changed == 0 {
            self.refuse(e.id, "it changed meanwhile".into());
            return Ok(false);
        }
        self.done.push(format!("#{}", e.id));
        self.result.changed += 1;
        Ok(true)
    }

    /// Ends the change with one audit entry (none when nothing changed).
    async fn finish(
        self,
        db: &impl ConnectionTrait,
        actor: &Actor,
        now: chrono::DateTime<chrono::Utc>,
        kind: &str,
        before: &str,
        after: String,
    ) -> Result<BulkResult> {
        let done = self.done;
        if !done.is_empty() {
            let subject = format!("{} commission entr{}: {}", done.len(), if done.len() == 1 { "y" } else { "ies" }, done.join(", "));
            let change = crate::access::audit::Change { kind, subject, before: Some(before.into()), after: Some(after) };
            crate::access::audit::record(db, actor, now, change).await?;
        }
        Ok(self.result)
    }
}

/// Checks a bulk selection and returns its ids sorted and without repeats: every bulk change
/// then locks entries in the same order, so two concurrent ones on PostgreSQL wait for each
/// other instead of deadlocking.
fn check_bulk(ids: &[i64]) -> Result<Vec<i64>> {
    if ids.is_empty() {
        return Err(Error::invalid("ids", "select at least one entry"));
    }
    if ids.len() > 5000 {
        return Err(Error::invalid("ids", "at most 5,000 entries at once"));
    }
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}

/// Approves pending entries; entries in their hold period, adjustments the approver created and
/// entries of other accounts are refused with the reason.
pub async fn approve(db: &DatabaseConnection, clock: &Clock, actor: &Actor, ids: &[i64]) -> Result<BulkResult> {
    actor.require_any(FINANCE)?;
    let ids = check_bulk(ids)?;
    let now = clock.now();
    let txn = crate::db::begin_write(db).await?;
    let programs = program_map(&txn, actor.account_id).await?;
    let mut bulk = Bulk::load(&txn, actor.account_id, &ids).await?;
    for id in ids {
        let Some(e) = bulk.take(id) else { continue };
        let p = programs.get(&e.program_id).ok_or(Error::NotFound("program"))?;
        if let Some(why) = approval_block(actor, &e, p, now) {
            bulk.refuse(id, why);
            continue;
        }
        // Guarded: a concurrent approval or void of the same entry changes it first, and this
        // one then finds nothing to change.
        let update = ledger_entry::Entity::update_many()
            .col_expr(ledger_entry::Column::Status, Expr::value("approved"))
            .col_expr(ledger_entry::Column::ApprovedBy, Expr::value(Some(actor.label())))
            .col_expr(ledger_entry::Column::ApprovedAt, Expr::value(Some(now)))
            .filter(ledger_entry::Column::Status.eq("pending"));
        if bulk.apply(&txn, update, &e).await? {
            let m = money(e.amount_minor, &e.currency)?;
            on_timeline(&txn, actor, now, &e, "commission_approved", format!("Commission of {} approved", m.display())).await?;
        }
    }
    let result = bulk.finish(&txn, actor, now, "commissions_approved", "pending", "approved".into()).await?;
    txn.commit().await?;
    Ok(result)
}

/// Records `summary` about ledger entry `e` on its partner's timeline.
async fn on_timeline(
    txn: &impl ConnectionTrait,
    actor: &Actor,
    now: chrono::DateTime<chrono::Utc>,
    e: &ledger_entry::Model,
    kind: &str,
    summary: String,
) -> Result<()> {
    let by = actor.label();
    let event = Event::partner(actor.account_id, e.partner_id, kind, &by, summary, now).for_enrollment(e.enrollment_id);
    timeline::record(txn, event.with_data(json!({ "entry_id": e.id }))).await
}

/// Voids pending or approved (not yet paid or batched) entries, with a reason.
pub async fn void(db: &DatabaseConnection, clock: &Clock, actor: &Actor, ids: &[i64], reason: &str) -> Result<BulkResult> {
    actor.require_any(FINANCE)?;
    let ids = check_bulk(ids)?;
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(Error::invalid("reason", "say why the entries are voided"));
    }
    let now = clock.now();
    let txn = crate::db::begin_write(db).await?;
    let mut bulk = Bulk::load(&txn, actor.account_id, &ids).await?;
    for id in ids {
        let Some(e) = bulk.take(id) else { continue };
        if !matches!(e.status.as_str(), "pending" | "approved") || e.payout_batch_id.is_some() || e.kind == "payout" {
            bulk.refuse(id, format!("it is {}{}", e.status, if e.payout_batch_id.is_some() { " and in a payout batch" } else { "" }));
            continue;
        }
        // Guarded like approval: never void an entry a concurrent payout batch has just taken.
        let update = ledger_entry::Entity::update_many()
            .col_expr(ledger_entry::Column::Status, Expr::value("void"))
            .col_expr(
                ledger_entry::Column::Note,
                Expr::value(Some(match &e.note {
                    Some(n) => format!("{n}; voided: {reason}"),
                    None => format!("voided: {reason}"),
                })),
            )
            .filter(ledger_entry::Column::Status.is_in(["pending", "approved"]))
            .filter(ledger_entry::Column::PayoutBatchId.is_null());
        if bulk.apply(&txn, update, &e).await? {
            let summary = format!("Commission of {} voided: {reason}", money(e.amount_minor, &e.currency)?.display());
            on_timeline(&txn, actor, now, &e, "commission_voided", summary).await?;
        }
    }
    let result = bulk.finish(&txn, actor, now, "commissions_voided", "pending or approved", format!("void: {reason}")).await?;
    txn.commit().await?;
    Ok(result)
}

/// Records a manual adjustment (signed amount) for a partner's enrollment in a program. It
/// waits for a different approver.
pub async fn adjust(
    db: &DatabaseConnection,
    clock: &Clock,
    actor: &Actor,
    partner_id: i64,
    program_id: i64,
    amount: &str,
    reason: &str,
) -> Result<i64> {
    actor.require_any(&[Role::FinanceApprover, Role::ProgramManager])?;
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(Error::invalid("reason", "say why the adjustment is made"));
    }
    let program = crate::programs::load(db, actor.account_id, program_id).await?;
    let amount = Money::parse_signed(amount, program.currency).map_err(Error::field("amount"))?;
    if amount.minor == 0 {
        return Err(Error::invalid("amount", "must not be zero"));
    }
    let e = crate::entities::enrollment::Entity::find()
        .filter(crate::entities::enrollment::Column::AccountId.eq(actor.account_id))
        .filter(crate::entities::enrollment::Column::PartnerId.eq(partner_id))
        .filter(crate::entities::enrollment::Column::ProgramId.eq(program_id))
        .one(db)
        .await?
        .ok_or(Error::NotFound("enrollment"))?;
    let tier = crate::entities::tier::Entity::find_by_id(e.tier_id).one(db).await?.map(|t| t.name).unwrap_or_default();
    let now = clock.now();
    let txn = crate::db::begin_write(db).await?;
    let saved = ledger_entry::ActiveModel {
        account_id: Set(actor.account_id),
        program_id: Set(program_id),
        enrollment_id: Set(e.id),
        partner_id: Set(partner_id),
        conversion_id: Set(None),
        kind: Set("adjustment".into()),
        amount_minor: Set(amount.minor),
        currency: Set(program.currency.code().to_string()),
        rate: Set(String::new()),
        tier: Set(tier),
        status: Set("pending".into()),
        hold_reason: Set(None),
        note: Set(Some(reason.to_string())),
        created_by: Set(actor.label()),
        created_by_user_id: Set((actor.user_id != 0).then_some(actor.user_id)),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    on_timeline(&txn, actor, now, &saved, "adjustment", format!("Manual adjustment of {}: {reason}", amount.display())).await?;
    let subject = format!("entry #{} / partner #{partner_id} / {}", saved.id, program.row.name);
    crate::access::audit::record(
        &txn,
        actor,
        now,
        crate::access::audit::Change { kind: "commission_adjusted", subject, before: None, after: Some(format!("{}: {reason}", amount.display())) },
    )
    .await?;
    txn.commit().await?;
    Ok(saved.id)
}

/// Groups every approved, unbatched entry of a program into a payout batch: one `payout` entry
/// per partner whose approved net is positive. Partners whose approved net is zero or negative
/// (clawbacks after an earlier payout) are carried to the next batch.
pub async fn create_batch(db: &DatabaseConnection, clock: &Clock, actor: &Actor, program_id: i64) -> Result<Option<i64>> {
    actor.require_any(FINANCE)?;
    let program = crate::programs::load(db, actor.account_id, program_id).await?;
    let now = clock.now();
    let txn = crate::db::begin_write(db).await?;
    // One payout run per program at a time: a second concurrent run waits, then finds the
    // entries already batched.
    crate::db::lock_row(&txn, "programs", program_id).await?;
    let approved = ledger_entry::Entity::find()
        .filter(ledger_entry::Column::AccountId.eq(actor.account_id))
        .filter(ledger_entry::Column::ProgramId.eq(program_id))
        .filter(ledger_entry::Column::Status.eq("approved"))
        .filter(ledger_entry::Column::PayoutBatchId.is_null())
        .filter(ledger_entry::Column::Kind.ne("payout"))
        .all(&txn)
        .await?;
    let mut by_partner: BTreeMap<i64, Vec<ledger_entry::Model>> = BTreeMap::new();
    for e in approved {
        by_partner.entry(e.partner_id).or_default().push(e);
    }
    by_partner.retain(|_, es| es.iter().map(|e| e.amount_minor).sum::<i64>() > 0);
    if by_partner.is_empty() {
        txn.rollback().await?;
        return Ok(None);
    }
    let total: i64 = by_partner.values().flatten().map(|e| e.amount_minor).sum();
    // The payout details as they are now: the batch pays there even if the partner changes them
    // before it is paid.
    let details: HashMap<i64, (Option<String>, Option<String>)> = partner::Entity::find()
        .filter(partner::Column::AccountId.eq(actor.account_id))
        .filter(partner::Column::Id.is_in(by_partner.keys().copied().collect::<Vec<_>>()))
        .all(&txn)
        .await?
        .into_iter()
        .map(|p| (p.id, (p.payout_method, p.payout_account)))
        .collect();
    let count: usize = by_partner.values().map(Vec::len).sum();
    let batch = payout_batch::ActiveModel {
        account_id: Set(actor.account_id),
        program_id: Set(program_id),
        currency: Set(program.currency.code().to_string()),
        total_minor: Set(total),
        entries: Set(count as i32),
        status: Set("open".into()),
        created_by: Set(actor.label()),
        created_at: Set(now),
        paid_by: Set(None),
        paid_at: Set(None),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    for (partner_id, entries) in &by_partner {
        let net: i64 = entries.iter().map(|e| e.amount_minor).sum();
        // Claimed only while still approved and unbatched: anything else means another writer
        // got there first, and the whole batch is refused rather than paying an entry twice.
        let claimed = ledger_entry::Entity::update_many()
            .col_expr(ledger_entry::Column::PayoutBatchId, Expr::value(batch.id))
            .filter(ledger_entry::Column::Id.is_in(entries.iter().map(|e| e.id).collect::<Vec<_>>()))
            .filter(ledger_entry::Column::PayoutBatchId.is_null())
            .filter(ledger_entry::Column::Status.eq("approved"))
            .exec(&txn)
            .await?
            .rows_affected;
        if claimed != entries.len() as u64 {
            txn.rollback().await?;
            return Err(Error::Conflict("the approved entries changed while the batch was made: try again".into()));
        }
        let first = &entries[0];
        ledger_entry::ActiveModel {
            account_id: Set(actor.account_id),
            program_id: Set(program_id),
            enrollment_id: Set(first.enrollment_id),
            partner_id: Set(*partner_id),
            conversion_id: Set(None),
            kind: Set("payout".into()),
            amount_minor: Set(-net),
            currency: Set(program.currency.code().to_string()),
            rate: Set(String::new()),
            tier: Set(first.tier.clone()),
            status: Set("approved".into()),
            hold_reason: Set(None),
            note: Set(Some(format!("payout batch {}", batch.id))),
            created_by: Set(actor.label()),
            created_at: Set(now),
            approved_by: Set(Some(actor.label())),
            approved_at: Set(Some(now)),
            payout_batch_id: Set(Some(batch.id)),
            // Empty when the partner had none: copied, as opposed to `None` on older entries.
            payout_method: Set(Some(details.get(partner_id).and_then(|d| d.0.clone()).unwrap_or_default())),
            payout_account: Set(Some(details.get(partner_id).and_then(|d| d.1.clone()).unwrap_or_default())),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
    }
    let subject = format!("payout batch #{} / {}", batch.id, program.row.name);
    let after = format!("open, {} partner(s), {}", by_partner.len(), Money::from_minor(total, program.currency).display());
    crate::access::audit::record(
        &txn,
        actor,
        now,
        crate::access::audit::Change { kind: "payout_batch_created", subject, before: None, after: Some(after) },
    )
    .await?;
    txn.commit().await?;
    Ok(Some(batch.id))
}

async fn load_batch(db: &impl ConnectionTrait, actor: &Actor, batch_id: i64) -> Result<payout_batch::Model> {
    crate::db::find_in_account(db, payout_batch::Column::AccountId, actor.account_id, batch_id, "payout batch").await
}

/// Marks a batch paid: its entries become `paid` and each partner's timeline records the payout.
pub async fn mark_paid(db: &DatabaseConnection, clock: &Clock, actor: &Actor, batch_id: i64) -> Result<()> {
    actor.require_any(FINANCE)?;
    let now = clock.now();
    let txn = crate::db::begin_write(db).await?;
    // Two people marking one batch paid at once: the second waits and finds it paid.
    crate::db::lock_row(&txn, "payout_batches", batch_id).await?;
    let batch = load_batch(&txn, actor, batch_id).await?;
    if batch.status == "paid" {
        txn.rollback().await?;
        return Ok(());
    }
    let entries = ledger_entry::Entity::find().filter(ledger_entry::Column::PayoutBatchId.eq(batch.id)).all(&txn).await?;
    ledger_entry::Entity::update_many()
        .col_expr(ledger_entry::Column::Status, sea_orm::sea_query::Expr::value("paid"))
        .filter(ledger_entry::Column::PayoutBatchId.eq(batch.id))
        .exec(&txn)
        .await?;
    for payout in entries.iter().filter(|e| e.kind == "payout") {
        timeline::record(
            &txn,
            Event::partner(
                actor.account_id,
                payout.partner_id,
                "payout",
                &actor.label(),
                format!("Paid {} (batch {})", money(-payout.amount_minor, &payout.currency)?.display(), batch.id),
                now,
            )
            .for_enrollment(payout.enrollment_id)
            .with_data(json!({ "batch_id": batch.id })),
        )
        .await?;
    }
    let mut a: payout_batch::ActiveModel = batch.into();
    a.status = Set("paid".into());
    a.paid_by = Set(Some(actor.label()));
    a.paid_at = Set(Some(now));
    let paid = a.update(&txn).await?;
    let subject = format!("payout batch #{}", paid.id);
    crate::access::audit::record(
        &txn,
        actor,
        now,
        crate::access::audit::Change { kind: "payout_batch_paid", subject, before: Some("open".into()), after: Some("paid".into()) },
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Payout batches of the account, newest first.
pub async fn batches(db: &DatabaseConnection, actor: &Actor) -> Result<Vec<BatchRow>> {
    actor.require_any(FINANCE)?;
    let programs = program_map(db, actor.account_id).await?;
    let rows = payout_batch::Entity::find()
        .filter(payout_batch::Column::AccountId.eq(actor.account_id))
        .order_by_desc(payout_batch::Column::Id)
        .limit(200)
        .all(db)
        .await?;
    let payouts = ledger_entry::Column::Kind.eq("payout");
    let partners = crate::db::counts_by(db, ledger_entry::Column::PayoutBatchId, rows.iter().map(|b| b.id), payouts).await?;
    let mut out = Vec::new();
    for b in rows {
        out.push(BatchRow {
            id: b.id,
            program: programs.get(&b.program_id).map(|p| p.name.clone()).unwrap_or_default(),
            total: money(b.total_minor, &b.currency)?.display(),
            partners: partners.get(&b.id).copied().unwrap_or(0),
            entries: b.entries,
            status: b.status,
            created: b.created_at.format("%Y-%m-%d %H:%M").to_string(),
            created_by: b.created_by,
            paid: b.paid_at.map(|t| t.format("%Y-%m-%d %H:%M").to_string()),
        });
    }
    Ok(out)
}

/// The CSV of a batch: one row per partner with the amount to pay, formula-safe.
pub async fn batch_csv(db: &DatabaseConnection, actor: &Actor, batch_id: i64) -> Result<String> {
    actor.require_any(FINANCE)?;
    let batch = load_batch(db, actor, batch_id).await?;
    let payouts = ledger_entry::Entity::find()
        .filter(ledger_entry::Column::PayoutBatchId.eq(batch.id))
        .filter(ledger_entry::Column::Kind.eq("payout"))
        .order_by_asc(ledger_entry::Column::PartnerId)
        .all(db)
        .await?;
    let partners = crate::db::rows_by_id(db, partner::Column::Id, payouts.iter().map(|p| p.partner_id)).await?;
    let mut rows = vec![vec![
        "batch_id".to_string(),
        "partner_id".into(),
        "partner_name".into(),
        "partner_email".into(),
        "company".into(),
        "amount".into(),
        "currency".into(),
        "payout_method".into(),
        "payout_account".into(),
    ]];
    for p in payouts {
        let who = partners.get(&p.partner_id);
        rows.push(vec![
            batch.id.to_string(),
            p.partner_id.to_string(),
            who.map(|w| w.name.clone()).unwrap_or_default(),
            who.map(|w| w.email.clone()).unwrap_or_default(),
            who.and_then(|w| w.company.clone()).unwrap_or_default(),
            money(-p.amount_minor, &p.currency)?.amount_string(),
            p.currency.clone(),
            // The copy made with the batch; batches made before copies were kept (`None`) read the
            // partner as it is now.
            p.payout_method.clone().or_else(|| who.and_then(|w| w.payout_method.clone())).unwrap_or_default(),
            p.payout_account.clone().or_else(|| who.and_then(|w| w.payout_account.clone())).unwrap_or_default(),
        ]);
    }
    crate::csv_export::to_csv(&rows)
}
