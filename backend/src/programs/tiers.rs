//! The tier engine: which tier an enrollment qualifies for as of a moment, upgrades in real time
//! (inside the conversion's transaction) and in scheduled passes, downgrades at review cycles,
//! and retroactive re-rating by adjustment entries.
//!
//! A rule is met when, over the window that ends at the moment of evaluation (both ends
//! included), the enrollment's attributed, not fully refunded conversions reach every minimum the
//! rule gives. Revenue counts amounts net of refunds.

use crate::entities::{conversion, enrollment, ledger_entry, program, tier};
use crate::rollups::{self, Delta};
use crate::timeline::{self, Event};
use crate::{Error, Result};
use chrono::{DateTime, Duration, Utc};
use models::{CommissionRate, Currency, Money};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter, QueryOrder, Set};
use serde_json::json;
use std::collections::HashMap;

/// Conversions and revenue inside one tier's window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Standing {
    /// Attributed, not fully refunded conversions.
    pub conversions: i64,
    /// Their amounts net of refunds, minor units.
    pub revenue_minor: i64,
}

/// True when `t`'s rule is met by `s` (the lowest tier, without a rule, is always met).
pub fn qualifies(t: &tier::Model, s: Standing) -> bool {
    if t.min_conversions.is_none() && t.min_revenue_minor.is_none() {
        return true;
    }
    t.min_conversions.is_none_or(|m| s.conversions >= m as i64) && t.min_revenue_minor.is_none_or(|m| s.revenue_minor >= m)
}

/// The highest tier (by rank) whose rule `standing_of` meets.
pub fn best_tier<'a>(tiers: &'a [tier::Model], standing_of: impl Fn(&tier::Model) -> Standing) -> &'a tier::Model {
    let mut best = &tiers[0];
    for t in tiers {
        if t.rank > best.rank && qualifies(t, standing_of(t)) {
            best = t;
        }
    }
    best
}

fn counted(now: DateTime<Utc>, window_days: i32) -> sea_orm::Condition {
    sea_orm::Condition::all()
        .add(conversion::Column::Status.eq("attributed"))
        .add(conversion::Column::OccurredAt.gte(now - Duration::days(window_days as i64)))
        .add(conversion::Column::OccurredAt.lte(now))
        .add(
            sea_orm::Condition::any()
                .add(Expr::col(conversion::Column::RefundedMinor).lt(Expr::col(conversion::Column::AmountMinor)))
                .add(conversion::Column::AmountMinor.eq(0)),
        )
}

#[derive(FromQueryResult)]
struct Agg {
    enrollment_id: i64,
    n: i64,
    revenue: Option<i64>,
}

/// Standing of every enrollment of a program in one window, in one grouped query.
pub async fn standings(db: &impl ConnectionTrait, program_id: i64, now: DateTime<Utc>, window_days: i32) -> Result<HashMap<i64, Standing>> {
    let mut q = Query::select();
    q.from(conversion::Entity)
        .column(conversion::Column::EnrollmentId)
        .expr_as(Expr::col(conversion::Column::Id).count(), Alias::new("n"))
        .expr_as(
            Expr::col(conversion::Column::AmountMinor).sub(Expr::col(conversion::Column::RefundedMinor)).sum().cast_as(Alias::new("bigint")),
            Alias::new("revenue"),
        )
        .and_where(Expr::col(conversion::Column::ProgramId).eq(program_id))
        .and_where(Expr::col(conversion::Column::EnrollmentId).is_not_null())
        .cond_where(counted(now, window_days))
        .group_by_col(conversion::Column::EnrollmentId);
    let rows = Agg::find_by_statement(db.get_database_backend().build(&q)).all(db).await?;
    Ok(rows.into_iter().map(|r| (r.enrollment_id, Standing { conversions: r.n, revenue_minor: r.revenue.unwrap_or(0) })).collect())
}

/// Standing of one enrollment in one window.
pub async fn standing(db: &impl ConnectionTrait, enrollment_id: i64, now: DateTime<Utc>, window_days: i32) -> Result<Standing> {
    let rows =
        conversion::Entity::find().filter(conversion::Column::EnrollmentId.eq(enrollment_id)).filter(counted(now, window_days)).all(db).await?;
    Ok(Standing { conversions: rows.len() as i64, revenue_minor: rows.iter().map(|c| c.amount_minor - c.refunded_minor).sum() })
}

/// What caused a tier change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// A conversion crossed the threshold.
    Conversion,
    /// The scheduled tier pass.
    Pass,
    /// The downgrade review.
    Review,
}

/// Moves an enrollment from its current tier to `to` inside `txn`, if it is still in `from`
/// (so concurrent runners change it once): timeline event with the qualifying numbers, an
/// upgrade email, and retroactive adjustments when `to` is retroactive. Returns false when
/// somebody else changed the tier first.
#[expect(clippy::too_many_arguments, reason = "the full context of one tier change")]
pub async fn change_tier(
    txn: &sea_orm::DatabaseTransaction,
    prog: &program::Model,
    e: &enrollment::Model,
    from: &tier::Model,
    to: &tier::Model,
    s: Standing,
    now: DateTime<Utc>,
    cause: Cause,
) -> Result<bool> {
    let updated = enrollment::Entity::update_many()
        .col_expr(enrollment::Column::TierId, Expr::value(to.id))
        .col_expr(enrollment::Column::TierChangedAt, Expr::value(now))
        .filter(enrollment::Column::Id.eq(e.id))
        .filter(enrollment::Column::TierId.eq(from.id))
        .exec(txn)
        .await?
        .rows_affected;
    if updated == 0 {
        return Ok(false);
    }
    let currency = Currency::parse(&prog.currency).map_err(|x| crate::Error::Internal(x.0))?;
    let upgrade = to.rank > from.rank;
    let why = format!(
        "{} conversions and {} revenue in the last {} days",
        s.conversions,
        Money::from_minor(s.revenue_minor, currency).display(),
        if upgrade { to.window_days } else { from.window_days }
    );
    let summary = format!("Tier {} → {} ({why})", from.name, to.name);
    timeline::record(
        txn,
        Event::enrollment(
            e,
            "tier_changed",
            match cause {
                Cause::Conversion => "system: conversion",
                Cause::Pass => "system: tier pass",
                Cause::Review => "system: downgrade review",
            },
            summary,
            now,
        )
        .with_data(json!({"from": from.name, "to": to.name, "conversions": s.conversions,
                "revenue": Money::from_minor(s.revenue_minor, currency).amount_string(), "upgrade": upgrade})),
    )
    .await?;
    if upgrade {
        let rate = CommissionRate::parse_stored(&to.commission_kind, &to.commission_value, currency).map_err(|x| crate::Error::Internal(x.0))?;
        let mut after = e.clone();
        after.tier_id = to.id;
        let rate = rate.display(currency);
        crate::events::publish(txn, now, crate::events::Event::TierUpgraded { program: prog, enrollment: &after, tier: to, rate: &rate }).await?;
        if to.retroactive && e.commission_kind.is_none() {
            rerate(txn, prog, e, to, now).await?;
        }
    }
    Ok(true)
}

/// Brings every earlier conversion of the enrollment inside `to`'s window that is neither voided
/// nor refunded to `to`'s rate with adjustment entries. Running it again adds nothing.
async fn rerate(txn: &impl ConnectionTrait, prog: &program::Model, e: &enrollment::Model, to: &tier::Model, now: DateTime<Utc>) -> Result<()> {
    let currency = Currency::parse(&prog.currency).map_err(|x| crate::Error::Internal(x.0))?;
    let rate = CommissionRate::parse_stored(&to.commission_kind, &to.commission_value, currency).map_err(|x| crate::Error::Internal(x.0))?;
    let convs = conversion::Entity::find()
        .filter(conversion::Column::EnrollmentId.eq(e.id))
        .filter(conversion::Column::Status.eq("attributed"))
        .filter(conversion::Column::RefundedMinor.eq(0))
        .filter(conversion::Column::OccurredAt.gte(now - Duration::days(to.window_days as i64)))
        .filter(conversion::Column::OccurredAt.lte(now))
        .order_by_asc(conversion::Column::Id)
        .all(txn)
        .await?;
    if convs.is_empty() {
        return Ok(());
    }
    let entries = ledger_entry::Entity::find()
        .filter(ledger_entry::Column::ConversionId.is_in(convs.iter().map(|c| c.id).collect::<Vec<_>>()))
        .all(txn)
        .await?;
    let label = crate::programs::commission::rate_label(&rate, currency);
    for c in convs {
        let mine: Vec<_> = entries.iter().filter(|x| x.conversion_id == Some(c.id)).collect();
        let live: Vec<_> = mine.iter().filter(|x| x.status != "void").collect();
        if live.is_empty() || live.iter().any(|x| x.kind == "clawback") {
            continue; // voided, or (partly) refunded
        }
        let current: i64 = live.iter().filter(|x| x.kind == "earned" || x.kind == "adjustment").map(|x| x.amount_minor).sum();
        let target = rate.commission_on(c.amount_minor);
        if target <= current {
            continue;
        }
        let diff = target - current;
        ledger_entry::ActiveModel {
            account_id: Set(e.account_id),
            program_id: Set(prog.id),
            enrollment_id: Set(e.id),
            partner_id: Set(e.partner_id),
            conversion_id: Set(Some(c.id)),
            kind: Set("adjustment".into()),
            amount_minor: Set(diff),
            currency: Set(prog.currency.clone()),
            rate: Set(label.clone()),
            tier: Set(to.name.clone()),
            status: Set("pending".into()),
            hold_reason: Set(live.iter().find_map(|x| x.hold_reason.clone())),
            note: Set(Some(format!("retroactive {} rate", to.name))),
            created_by: Set("system".into()),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(txn)
        .await?;
        rollups::add(txn, e.account_id, prog.id, e.id, c.occurred_at.date_naive(), Delta { commission_minor: diff, ..Default::default() }).await?;
    }
    Ok(())
}

/// What a pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PassReport {
    /// Enrollments evaluated.
    pub examined: u64,
    /// Tier changes made.
    pub changed: u64,
}

/// Re-checks every active enrollment of every program as of `now`; upgrades only (`downgrade`
/// false) or, at a review, moves enrollments to exactly the tier they qualify for. Each change
/// is its own transaction, so an interrupted pass resumes where it stopped.
pub async fn pass(db: &sea_orm::DatabaseConnection, now: DateTime<Utc>, downgrade_programs: Option<&[i64]>) -> Result<PassReport> {
    let mut report = PassReport::default();
    let programs = program::Entity::find().filter(program::Column::ArchivedAt.is_null()).order_by_asc(program::Column::Id).all(db).await?;
    for prog in programs {
        let downgrade = downgrade_programs.is_some_and(|ids| ids.contains(&prog.id));
        if downgrade_programs.is_some() && !downgrade {
            continue;
        }
        let tiers = crate::programs::tiers(db, prog.id).await?;
        if tiers.len() < 2 {
            continue;
        }
        let mut by_window: HashMap<i32, HashMap<i64, Standing>> = HashMap::new();
        for t in tiers.iter().skip(1) {
            if !by_window.contains_key(&t.window_days) {
                by_window.insert(t.window_days, standings(db, prog.id, now, t.window_days).await?);
            }
        }
        let enrollments = enrollment::Entity::find()
            .filter(enrollment::Column::ProgramId.eq(prog.id))
            .filter(enrollment::Column::Status.eq("active"))
            .all(db)
            .await?;
        let tier_by_id: HashMap<i64, &tier::Model> = tiers.iter().map(|t| (t.id, t)).collect();
        for e in enrollments {
            report.examined += 1;
            let Some(current) = tier_by_id.get(&e.tier_id) else {
                continue;
            };
            let standing_of = |t: &tier::Model| by_window.get(&t.window_days).and_then(|m| m.get(&e.id)).copied().unwrap_or_default();
            let best = best_tier(&tiers, standing_of);
            let moves = if downgrade { best.rank != current.rank } else { best.rank > current.rank };
            if !moves {
                continue;
            }
            let s = if best.rank > current.rank { standing_of(best) } else { standing_of(current) };
            let txn = crate::db::begin_write(db).await?;
            if change_tier(&txn, &prog, &e, current, best, s, now, if downgrade { Cause::Review } else { Cause::Pass }).await? {
                report.changed += 1;
            }
            txn.commit().await?;
        }
    }
    Ok(report)
}

/// The real-time check of a conversion's enrollment against its program's `tiers`, inside the
/// conversion's transaction and counting the conversion itself. Returns the tier the conversion
/// earns at.
#[expect(clippy::too_many_arguments, reason = "the conversion's context, passed to avoid re-reading it")]
pub async fn check_at_conversion(
    txn: &sea_orm::DatabaseTransaction,
    prog: &program::Model,
    e: &enrollment::Model,
    tiers: &[tier::Model],
    current: tier::Model,
    amount_minor: i64,
    occurred_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<tier::Model> {
    let mut cache: HashMap<i32, Standing> = HashMap::new();
    for t in tiers.iter().filter(|t| t.rank > current.rank) {
        if !cache.contains_key(&t.window_days) {
            let mut s = standing(txn, e.id, now, t.window_days).await?;
            if occurred_at >= now - Duration::days(t.window_days as i64) && occurred_at <= now {
                s.conversions += 1;
                s.revenue_minor += amount_minor;
            }
            cache.insert(t.window_days, s);
        }
    }
    let best = best_tier(tiers, |t| cache.get(&t.window_days).copied().unwrap_or_default()).clone();
    if best.rank > current.rank {
        let s = cache[&best.window_days];
        change_tier(txn, prog, e, &current, &best, s, now, Cause::Conversion).await?;
        Ok(best)
    } else {
        Ok(current)
    }
}

/// Where an enrollment stands in its program's tiers, with the tier engine's semantics: the
/// next tier's rule is met when every given minimum is met inside its window ending now.
pub async fn tier_progress(
    db: &impl sea_orm::ConnectionTrait,
    e: &enrollment::Model,
    prog: &program::Model,
    currency: Currency,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<models::TierProgress> {
    use models::Money;
    let tiers = crate::programs::tiers(db, prog.id).await?;
    let current = tiers.iter().find(|t| t.id == e.tier_id).ok_or(Error::NotFound("tier"))?;
    let rate = crate::programs::commission::effective_commission(e, current, currency)?.display(currency);
    let next = tiers.iter().filter(|t| t.rank > current.rank).min_by_key(|t| t.rank);
    let Some(next) = next else {
        return Ok(models::TierProgress {
            current: current.name.clone(),
            rate,
            next: None,
            next_rate: None,
            rule: None,
            missing: None,
            missing_conversions: 0,
            missing_revenue_minor: 0,
            percent: 100,
        });
    };
    let s = standing(db, e.id, now, next.window_days).await?;
    let money = |m: i64| Money::from_minor(m, currency).display();
    let mut needs = Vec::new();
    let mut have = Vec::new();
    let mut parts = Vec::new();
    if let Some(m) = next.min_conversions {
        needs.push(format!("{m} conversion{}", if m == 1 { "" } else { "s" }));
        parts.push((std::cmp::min(s.conversions, m as i64) * 100) / std::cmp::max(m as i64, 1));
    }
    if let Some(m) = next.min_revenue_minor {
        needs.push(format!("{} revenue", money(m)));
        parts.push((Ord::clamp(s.revenue_minor, 0, m) * 100) / std::cmp::max(m, 1));
    }
    let missing_conversions = next.min_conversions.map(|m| std::cmp::max(m as i64 - s.conversions, 0)).unwrap_or(0);
    let missing_revenue_minor = next.min_revenue_minor.map(|m| std::cmp::max(m - s.revenue_minor, 0)).unwrap_or(0);
    if missing_conversions > 0 {
        have.push(format!("{missing_conversions} more conversion{}", if missing_conversions == 1 { "" } else { "s" }));
    }
    if missing_revenue_minor > 0 {
        have.push(format!("{} more revenue", money(missing_revenue_minor)));
    }
    let rule = if needs.is_empty() {
        format!("{}: assigned by the team", next.name)
    } else {
        format!("{}: at least {} in the last {} days", next.name, needs.join(" and "), next.window_days)
    };
    let missing = if needs.is_empty() {
        format!("{} is assigned by the team", next.name)
    } else if have.is_empty() {
        format!("You meet the rule for {}: the next tier review moves you up", next.name)
    } else {
        format!("{} within the last {} days to reach {}", have.join(" and "), next.window_days, next.name)
    };
    let next_currency_rate =
        CommissionRate::parse_stored(&next.commission_kind, &next.commission_value, currency).map_err(|e| Error::Internal(e.0))?.display(currency);
    Ok(models::TierProgress {
        current: current.name.clone(),
        rate,
        next: Some(next.name.clone()),
        next_rate: Some(next_currency_rate),
        rule: Some(rule),
        missing: Some(missing),
        missing_conversions,
        missing_revenue_minor,
        percent: if parts.is_empty() { 0 } else { parts.iter().sum::<i64>() / parts.len() as i64 },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(rank: i32, min_conversions: Option<i32>, min_revenue_minor: Option<i64>) -> tier::Model {
        tier::Model {
            id: rank as i64,
            account_id: 1,
            program_id: 1,
            name: format!("T{rank}"),
            rank,
            commission_kind: "percent".into(),
            commission_value: "10".into(),
            min_conversions,
            min_revenue_minor,
            window_days: 30,
            retroactive: false,
        }
    }

    #[test]
    fn a_rule_needs_every_minimum_it_gives_and_exactly_the_minimum_is_enough() {
        let both = t(2, Some(20), Some(1_000_000));
        assert!(qualifies(&both, Standing { conversions: 20, revenue_minor: 1_000_000 }));
        assert!(!qualifies(&both, Standing { conversions: 19, revenue_minor: 5_000_000 }));
        assert!(!qualifies(&both, Standing { conversions: 50, revenue_minor: 999_999 }));
        assert!(qualifies(&t(1, None, None), Standing::default()));
    }

    #[test]
    fn the_best_tier_is_the_highest_rank_met() {
        let tiers = vec![t(1, None, None), t(2, Some(5), None), t(3, Some(10), None)];
        assert_eq!(best_tier(&tiers, |_| Standing { conversions: 7, revenue_minor: 0 }).rank, 2);
        assert_eq!(best_tier(&tiers, |_| Standing { conversions: 10, revenue_minor: 0 }).rank, 3);
        assert_eq!(best_tier(&tiers, |_| Standing::default()).rank, 1);
    }
}
