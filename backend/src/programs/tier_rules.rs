//! Editing a program's tier rules, and the what-if simulator that shows on real history what a
//! draft would do (who moves, what it costs) before it is saved.

use crate::access::auth::Actor;
use crate::entities::{conversion, enrollment, partner, tier};
use crate::programs::tiers::{best_tier, standings, Standing};
use crate::{Error, Result};
use chrono::{DateTime, Duration, Utc};
use models::{CommissionRate, Currency, Money, Mover, Role, Simulation, TierDraft, TierRules};
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set};
use std::collections::HashMap;

const EDITORS: &[Role] = &[Role::ProgramManager];

fn draft_of(t: &tier::Model, currency: Currency) -> TierDraft {
    TierDraft {
        id: t.id,
        name: t.name.clone(),
        rank: t.rank,
        commission_kind: t.commission_kind.clone(),
        commission_value: t.commission_value.clone(),
        min_conversions: t.min_conversions.map(|n| n.to_string()).unwrap_or_default(),
        min_revenue: t.min_revenue_minor.map(|m| Money::from_minor(m, currency).amount_string()).unwrap_or_default(),
        window_days: if t.window_days > 0 { t.window_days.to_string() } else { String::new() },
        retroactive: t.retroactive,
    }
}

/// A program's tiers as drafts, with their active members.
pub async fn rules(db: &DatabaseConnection, actor: &Actor, program_id: Option<i64>) -> Result<TierRules> {
    actor.require_team()?;
    let programs = crate::programs::summaries(db, actor.account_id).await?;
    let program_id = program_id.or(programs.first().map(|p| p.id)).ok_or(Error::NotFound("program"))?;
    let p = crate::programs::load(db, actor.account_id, program_id).await?;
    let tiers = crate::programs::tiers(db, program_id).await?;
    let enrollments = enrollment::Entity::find()
        .filter(enrollment::Column::ProgramId.eq(program_id))
        .filter(enrollment::Column::Status.eq("active"))
        .all(db)
        .await?;
    let members = tiers.iter().map(|t| (t.name.clone(), enrollments.iter().filter(|e| e.tier_id == t.id).count() as u64)).collect();
    Ok(TierRules {
        program_id,
        currency: p.currency.code().to_string(),
        programs,
        tiers: tiers.iter().map(|t| draft_of(t, p.currency)).collect(),
        members,
    })
}

/// Parses drafts against the program's existing tiers (same ids, same order of rank).
fn parse(drafts: &[TierDraft], existing: &[tier::Model], currency: Currency) -> Result<Vec<tier::Model>> {
    if drafts.len() != existing.len() {
        return Err(Error::invalid("tiers", "edit the existing tiers; adding or removing tiers is not supported here"));
    }
    let mut out = Vec::new();
    for (i, d) in drafts.iter().enumerate() {
        let base = existing.iter().find(|t| t.id == d.id).ok_or(Error::NotFound("tier"))?;
        let field = |f: &str| format!("{} {f}", base.name);
        let rate = CommissionRate::parse_stored(&d.commission_kind, &d.commission_value, currency).map_err(Error::field(&field("commission")))?;
        let (kind, value) = rate.to_stored(currency);
        let min_conversions = match d.min_conversions.trim() {
            "" => None,
            n => Some(
                n.parse::<i32>()
                    .ok()
                    .filter(|n| *n >= 0)
                    .ok_or_else(|| Error::invalid(field("minimum conversions"), "must be a whole number ≥ 0"))?,
            ),
        };
        let min_revenue_minor = match d.min_revenue.trim() {
            "" => None,
            m => Some(Money::parse(m, currency).map_err(Error::field(&field("minimum revenue")))?.minor),
        };
        let window_days = match d.window_days.trim() {
            "" if i == 0 => 0,
            w => w
                .parse::<i32>()
                .ok()
                .filter(|w| (1..=730).contains(w))
                .ok_or_else(|| Error::invalid(field("window"), "must be between 1 and 730 days"))?,
        };
        if i > 0 && min_conversions.is_none() && min_revenue_minor.is_none() {
            return Err(Error::invalid(field("rule"), "give a minimum number of conversions, a minimum revenue or both"));
        }
        let (min_conversions, min_revenue_minor, window_days) =
            if i == 0 { (None, None, 0) } else { (min_conversions, min_revenue_minor, window_days) };
        out.push(tier::Model {
            commission_kind: kind.to_string(),
            commission_value: value,
            min_conversions,
            min_revenue_minor,
            window_days,
            retroactive: d.retroactive,
            ..base.clone()
        });
    }
    out.sort_by_key(|t| t.rank);
    Ok(out)
}

/// Computes, on real history as of `now`, what the draft would do: who moves up or down and the
/// commission the last window's conversions would have earned.
pub async fn simulate(db: &DatabaseConnection, actor: &Actor, program_id: i64, drafts: &[TierDraft], now: DateTime<Utc>) -> Result<Simulation> {
    actor.require_team()?;
    let p = crate::programs::load(db, actor.account_id, program_id).await?;
    let existing = crate::programs::tiers(db, program_id).await?;
    let draft = parse(drafts, &existing, p.currency)?;
    let mut by_window: HashMap<i32, HashMap<i64, Standing>> = HashMap::new();
    for t in draft.iter().skip(1) {
        if !by_window.contains_key(&t.window_days) {
            by_window.insert(t.window_days, standings(db, program_id, now, t.window_days).await?);
        }
    }
    let enrollments = enrollment::Entity::find()
        .filter(enrollment::Column::ProgramId.eq(program_id))
        .filter(enrollment::Column::Status.eq("active"))
        .all(db)
        .await?;
    let names: HashMap<i64, String> =
        crate::db::names(db, (partner::Column::Id, partner::Column::Name), partner::Column::AccountId.eq(actor.account_id), partner::Column::Id)
            .await?;
    let current_by_id: HashMap<i64, &tier::Model> = existing.iter().map(|t| (t.id, t)).collect();
    let draft_by_id: HashMap<i64, &tier::Model> = draft.iter().map(|t| (t.id, t)).collect();
    let mut sim = Simulation {
        evaluated: enrollments.len() as u64,
        up: Vec::new(),
        down: Vec::new(),
        window_days: draft.iter().map(|t| t.window_days as i64).max().unwrap_or(30).max(30),
        cost_now: String::new(),
        cost_draft: String::new(),
        difference: String::new(),
    };
    let mut new_tier: HashMap<i64, &tier::Model> = HashMap::new();
    for e in &enrollments {
        let Some(cur) = current_by_id.get(&e.tier_id) else {
            continue;
        };
        let standing_of = |t: &tier::Model| by_window.get(&t.window_days).and_then(|m| m.get(&e.id)).copied().unwrap_or_default();
        let best = best_tier(&draft, standing_of);
        new_tier.insert(e.id, best);
        if best.rank != cur.rank {
            let s = standing_of(if best.rank > cur.rank { best } else { draft_by_id[&cur.id] });
            let m = Mover {
                partner_id: e.partner_id,
                partner: names.get(&e.partner_id).cloned().unwrap_or_default(),
                from: cur.name.clone(),
                to: best.name.clone(),
                conversions: s.conversions,
                revenue: Money::from_minor(s.revenue_minor, p.currency).display(),
            };
            if best.rank > cur.rank {
                sim.up.push(m)
            } else {
                sim.down.push(m)
            }
        }
    }
    sim.up.sort_by(|a, b| a.partner.cmp(&b.partner));
    sim.down.sort_by(|a, b| a.partner.cmp(&b.partner));

    // Cost: the window's attributed conversions at their actual commission (entries) versus
    // the rate of the enrollment's draft tier (or its custom rate, which the draft leaves alone).
    let since = now - Duration::days(sim.window_days);
    let convs = conversion::Entity::find()
        .filter(conversion::Column::ProgramId.eq(program_id))
        .filter(conversion::Column::Status.eq("attributed"))
        .filter(conversion::Column::OccurredAt.gte(since))
        .filter(conversion::Column::OccurredAt.lte(now))
        .all(db)
        .await?;
    let entries = crate::entities::ledger_entry::Entity::find()
        .filter(crate::entities::ledger_entry::Column::ProgramId.eq(program_id))
        .filter(crate::entities::ledger_entry::Column::Status.ne("void"))
        .filter(crate::entities::ledger_entry::Column::Kind.is_in(["earned", "adjustment"]))
        .filter(crate::entities::ledger_entry::Column::CreatedAt.gte(since - Duration::days(1)))
        .all(db)
        .await?;
    let mut actual: HashMap<i64, i64> = HashMap::new();
    for x in entries {
        if let Some(c) = x.conversion_id {
            *actual.entry(c).or_default() += x.amount_minor;
        }
    }
    let by_enrollment: HashMap<i64, &enrollment::Model> = enrollments.iter().map(|e| (e.id, e)).collect();
    let (mut now_cost, mut draft_cost) = (0i64, 0i64);
    for c in convs {
        let current = actual.get(&c.id).copied().unwrap_or(0);
        now_cost += current;
        let Some(e) = c.enrollment_id.and_then(|id| by_enrollment.get(&id)) else {
            draft_cost += current;
            continue;
        };
        let net = c.amount_minor - c.refunded_minor;
        let rate = match (&e.commission_kind, &e.commission_value, new_tier.get(&e.id)) {
            (Some(k), Some(v), _) => CommissionRate::parse_stored(k, v, p.currency).map_err(|x| Error::Internal(x.0))?,
            (_, _, Some(t)) => CommissionRate::parse_stored(&t.commission_kind, &t.commission_value, p.currency).map_err(|x| Error::Internal(x.0))?,
            _ => {
                draft_cost += current;
                continue;
            }
        };
        draft_cost += rate.commission_on(net);
    }
    sim.cost_now = Money::from_minor(now_cost, p.currency).display();
    sim.cost_draft = Money::from_minor(draft_cost, p.currency).display();
    let diff = draft_cost - now_cost;
    sim.difference = format!("{}{}", if diff > 0 { "+" } else { "" }, Money::from_minor(diff, p.currency).display());
    Ok(sim)
}

/// Saves a draft. Enrollments move at the next tier pass (up) or review (down); nothing is
/// re-rated by the save itself.
pub async fn save(db: &DatabaseConnection, actor: &Actor, program_id: i64, drafts: &[TierDraft]) -> Result<()> {
    actor.require_any(EDITORS)?;
    let p = crate::programs::load(db, actor.account_id, program_id).await?;
    crate::programs::settings::require_edit(db, actor, program_id).await?;
    let existing = crate::programs::tiers(db, program_id).await?;
    let draft = parse(drafts, &existing, p.currency)?;
    let txn = crate::db::begin_write(db).await?;
    for t in draft {
        let before = existing.iter().find(|x| x.id == t.id).expect("parsed from existing");
        if *before == t {
            continue;
        }
        let mut a: tier::ActiveModel = before.clone().into();
        a.commission_kind = Set(t.commission_kind.clone());
        a.commission_value = Set(t.commission_value.clone());
        a.min_conversions = Set(t.min_conversions);
        a.min_revenue_minor = Set(t.min_revenue_minor);
        a.window_days = Set(t.window_days);
        a.retroactive = Set(t.retroactive);
        a.update(&txn).await?;
        crate::access::audit::record(
            &txn,
            actor,
            Utc::now(),
            crate::access::audit::Change {
                kind: "tier_rule_changed",
                subject: format!("{} / {}", p.row.name, t.name),
                before: Some(format!("{before:?}")),
                after: Some(format!("{t:?}")),
            },
        )
        .await?;
    }
    txn.commit().await?;
    Ok(())
}
