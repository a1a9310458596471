//! The lifecycle of an enrollment: status transitions, manual tier moves and custom
//! commissions. One function per change, used by the profile, bulk actions, imports and REST,
//! each recording the change on the partner's timeline and in the audit log.

use crate::access::auth::Actor;
use crate::entities::{enrollment, program, tier};
use crate::{access::audit, timeline, Error, Result};
use chrono::{DateTime, Utc};
use models::{CommissionRate, Currency, EnrollmentStatus};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

/// The statuses an enrollment may move to from `from`: pending → active / rejected;
/// active ↔ paused; a suspended partner can be reinstated; any → suspended.
pub fn next_statuses(from: EnrollmentStatus) -> Vec<EnrollmentStatus> {
    use EnrollmentStatus::*;
    match from {
        Pending => vec![Active, Rejected, Suspended],
        Active => vec![Paused, Suspended],
        Paused => vec![Active, Suspended],
        Suspended => vec![Active],
        Rejected => vec![Suspended],
    }
}

/// One change to an enrollment.
#[derive(Debug, Clone)]
pub enum Change {
    /// Move to a status, with an optional reason.
    Status(EnrollmentStatus, Option<String>),
    /// Put in the named tier of its program.
    Tier(String),
    /// Set (`Some("10%")`, `Some("5.00")`) or clear the custom commission.
    Commission(Option<String>),
}

/// Whether a change did something.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Stored, on the timeline and in the audit log.
    Changed,
    /// Already so; nothing written.
    Unchanged,
}

/// Parses a commission as people type it: `12.5%` is a percentage, `5.00` a flat amount in the
/// program's currency.
pub fn parse_commission(text: &str, currency: Currency) -> Result<CommissionRate> {
    let t = text.trim();
    match t.strip_suffix('%') {
        Some(p) => CommissionRate::parse_percent(p.trim()),
        None => CommissionRate::parse_flat(t, currency),
    }
    .map_err(Error::field("commission"))
}

/// Applies `change` to enrollment `e` (of program `prog`, partner named `partner`) inside the
/// caller's transaction. The caller has checked that the actor may change this partner.
pub async fn apply(
    txn: &sea_orm::DatabaseTransaction,
    actor: &Actor,
    now: DateTime<Utc>,
    prog: &program::Model,
    e: &enrollment::Model,
    partner: &str,
    change: &Change,
) -> Result<Outcome> {
    let subject = format!("{partner} / {}", prog.name);
    match change {
        Change::Status(to, reason) => {
            let from = EnrollmentStatus::parse(&e.status).map_err(|x| Error::Internal(x.0))?;
            if from == *to {
                return Ok(Outcome::Unchanged);
            }
            if !next_statuses(from).contains(to) {
                return Err(Error::invalid("status", format!("cannot go from {} to {}", from.label().to_lowercase(), to.label().to_lowercase())));
            }
            let reason = reason.as_deref().map(str::trim).filter(|r| !r.is_empty());
            if reason.is_some_and(|r| r.chars().count() > 500) {
                return Err(Error::invalid("reason", "at most 500 characters"));
            }
            // Guarded by the old status, so two concurrent changes cannot both apply.
            let n = enrollment::Entity::update_many()
                .col_expr(enrollment::Column::Status, Expr::value(to.as_str()))
                .col_expr(enrollment::Column::StatusChangedAt, Expr::value(now))
                .filter(enrollment::Column::Id.eq(e.id))
                .filter(enrollment::Column::Status.eq(from.as_str()))
                .exec(txn)
                .await?
                .rows_affected;
            if n == 0 {
                return Err(Error::Conflict("the status changed meanwhile; reload and try again".into()));
            }
            let summary = match reason {
                Some(r) => format!("Status {} → {} in {}: {r}", from.label(), to.label(), prog.name),
                None => format!("Status {} → {} in {}", from.label(), to.label(), prog.name),
            };
            record(txn, actor, now, e, "status_changed", summary, serde_json::json!({"from": from, "to": to, "reason": reason})).await?;
            audit::record(
                txn,
                actor,
                now,
                audit::Change {
                    kind: "partner_status_changed",
                    subject,
                    before: Some(from.as_str().into()),
                    after: Some(match reason {
                        Some(r) => format!("{} ({r})", to.as_str()),
                        None => to.as_str().into(),
                    }),
                },
            )
            .await?;
            if from == EnrollmentStatus::Pending && *to == EnrollmentStatus::Active {
                crate::events::publish(txn, now, crate::events::Event::Approved { program: prog, enrollment: e }).await?;
            }
        }
        Change::Tier(name) => {
            let tiers = tier::Entity::find().filter(tier::Column::ProgramId.eq(prog.id)).all(txn).await?;
            let to = tiers
                .iter()
                .find(|t| t.name.eq_ignore_ascii_case(name.trim()))
                .ok_or_else(|| Error::invalid("tier", format!("{} has no tier '{}'", prog.name, name.trim())))?;
            if to.id == e.tier_id {
                return Ok(Outcome::Unchanged);
            }
            let from = tiers.iter().find(|t| t.id == e.tier_id).map(|t| t.name.clone()).unwrap_or_default();
            enrollment::Entity::update_many()
                .col_expr(enrollment::Column::TierId, Expr::value(to.id))
                .col_expr(enrollment::Column::TierChangedAt, Expr::value(now))
                .filter(enrollment::Column::Id.eq(e.id))
                .exec(txn)
                .await?;
            let summary = format!("Tier {from} → {} in {} (set by hand)", to.name, prog.name);
            record(txn, actor, now, e, "tier_changed", summary, serde_json::json!({"from": from, "to": to.name, "manual": true})).await?;
            audit::record(txn, actor, now, audit::Change { kind: "partner_tier_set", subject, before: Some(from), after: Some(to.name.clone()) })
                .await?;
        }
        Change::Commission(text) => {
            let currency = Currency::parse(&prog.currency).map_err(|x| Error::Internal(x.0))?;
            let new = match text.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
                Some(t) => Some(parse_commission(t, currency)?.to_stored(currency)),
                None => None,
            };
            let old = e.commission_kind.clone().zip(e.commission_value.clone());
            if new.as_ref().map(|(k, v)| (k.to_string(), v.clone())) == old {
                return Ok(Outcome::Unchanged);
            }
            let words = |kv: &Option<(String, String)>| match kv {
                Some((k, v)) => CommissionRate::parse_stored(k, v, currency).map(|r| r.display(currency)).unwrap_or_else(|_| v.clone()),
                None => "tier rate".into(),
            };
            let new_s = new.as_ref().map(|(k, v)| (k.to_string(), v.clone()));
            enrollment::Entity::update_many()
                .col_expr(enrollment::Column::CommissionKind, Expr::value(new_s.as_ref().map(|(k, _)| k.clone())))
                .col_expr(enrollment::Column::CommissionValue, Expr::value(new_s.as_ref().map(|(_, v)| v.clone())))
                .filter(enrollment::Column::Id.eq(e.id))
                .exec(txn)
                .await?;
            let summary = format!("Commission in {}: {} → {}", prog.name, words(&old), words(&new_s));
            record(txn, actor, now, e, "commission_changed", summary, serde_json::json!({"before": words(&old), "after": words(&new_s)})).await?;
            audit::record(
                txn,
                actor,
                now,
                audit::Change { kind: "partner_commission_set", subject, before: Some(words(&old)), after: Some(words(&new_s)) },
            )
            .await?;
        }
    }
    Ok(Outcome::Changed)
}

async fn record(
    txn: &impl ConnectionTrait,
    actor: &Actor,
    now: DateTime<Utc>,
    e: &enrollment::Model,
    kind: &str,
    summary: String,
    data: serde_json::Value,
) -> Result<()> {
    timeline::record(txn, timeline::Event::enrollment(e, kind, &actor.label(), summary, now).with_data(data)).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use EnrollmentStatus::*;

    #[test]
    fn the_lifecycle_allows_only_its_transitions() {
        assert_eq!(next_statuses(Pending), vec![Active, Rejected, Suspended]);
        assert!(next_statuses(Active).contains(&Paused) && next_statuses(Paused).contains(&Active));
        for s in EnrollmentStatus::ALL {
            assert!(*s == Suspended || next_statuses(*s).contains(&Suspended), "{s} → suspended");
        }
        assert!(!next_statuses(Rejected).contains(&Active));
        assert!(!next_statuses(Active).contains(&Pending));
    }

    #[test]
    fn commissions_are_typed_as_percent_or_flat() {
        let usd = Currency::parse("USD").unwrap();
        assert_eq!(parse_commission("12.5%", usd).unwrap().to_stored(usd).0, "percent");
        assert_eq!(parse_commission("5.00", usd).unwrap().to_stored(usd).0, "flat");
        assert!(parse_commission("5.001", usd).is_err());
        assert!(parse_commission("abc%", usd).is_err());
    }
}
