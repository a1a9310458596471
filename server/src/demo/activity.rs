//! Demo activity: a year of clicks, conversions, refunds and payouts for the demo partners.

use backend::entities::{enrollment, program, tier, timeline_event};
use backend::Result;
use chrono::Duration;
use rand::rngs::StdRng;
use rand::Rng;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};

/// Clicks, conversions, ledger entries (old ones approved and paid in a batch, recent ones
/// pending, two held as self-referrals), rollups and timeline events for the active and paused
/// partners over the last 120 days.
pub(super) async fn generate_activity(
    tx: &sea_orm::DatabaseTransaction,
    rng: &mut StdRng,
    account_id: i64,
    prog: &program::Model,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<()> {
    use backend::entities::{click, conversion, ledger_entry, link, payout_batch};
    use backend::rollups::{self, Delta};
    use models::{CommissionRate, Currency, Money};
    use std::collections::BTreeMap;

    let currency = Currency::parse(&prog.currency).map_err(|e| backend::Error::Internal(e.0))?;
    let enrollments = enrollment::Entity::find()
        .filter(enrollment::Column::ProgramId.eq(prog.id))
        .filter(enrollment::Column::Status.is_in(["active", "paused"]))
        .order_by_asc(enrollment::Column::Id)
        .all(tx)
        .await?;
    let tiers: BTreeMap<i64, tier::Model> = tier::Entity::find()
        .filter(tier::Column::ProgramId.eq(prog.id))
        .all(tx)
        .await?
        .into_iter()
        .map(|t| (t.id, t))
        .collect();
    let batch = payout_batch::ActiveModel {
        account_id: Set(account_id),
        program_id: Set(prog.id),
        currency: Set(prog.currency.clone()),
        total_minor: Set(0),
        entries: Set(0),
        status: Set("paid".into()),
        created_by: Set("Jordan Finance <finance@demo.trellis.dev>".into()),
        created_at: Set(now - Duration::days(62)),
        paid_by: Set(Some("Jordan Finance <finance@demo.trellis.dev>".into())),
        paid_at: Set(Some(now - Duration::days(61))),
        ..Default::default()
    }
    .insert(tx)
    .await?;
    let (mut batch_total, mut batch_entries) = (0i64, 0i32);
    let mut rollup: BTreeMap<(i64, chrono::NaiveDate), Delta> = BTreeMap::new();
    let mut n_conv = 0usize;
    for (i, e) in enrollments.iter().enumerate() {
        let t = &tiers[&e.tier_id];
        let rate = CommissionRate::parse_stored(&t.commission_kind, &t.commission_value, currency)
            .map_err(|x| backend::Error::Internal(x.0))?;
        let code = format!("demo{:04}", i + 1);
        let l = link::ActiveModel {
            account_id: Set(account_id),
            program_id: Set(prog.id),
            enrollment_id: Set(e.id),
            partner_id: Set(e.partner_id),
            code: Set(code),
            destination: Set("https://northwind.example/".into()),
            created_at: Set(e.joined_at),
            ..Default::default()
        }
        .insert(tx)
        .await?;
        // Gold partners sell most; paused partners stopped selling a while ago.
        let sales = match t.rank {
            3 => rng.random_range(35..60),
            2 => rng.random_range(12..25),
            _ => rng.random_range(1..8),
        };
        let last_day = if e.status == "paused" { 60 } else { 0 };
        let first_day = 120.min((now - e.joined_at).num_days()).max(last_day + 1);
        let mut clicks = Vec::new();
        let mut payout_total = 0i64;
        for s in 0..sales {
            let days_ago = rng.random_range(last_day..first_day);
            let occurred =
                now - Duration::days(days_ago) - Duration::minutes(rng.random_range(0..1440));
            let visitor = format!("demovisitor{:06}{:04}", i, s);
            let path_len = rng.random_range(1..4);
            let mut path = Vec::new();
            for k in 0..path_len {
                let id = format!("d{:05}{:03}{}", i, s, k);
                let at = occurred - Duration::hours((path_len - k) * 20);
                rollup.entry((e.id, at.date_naive())).or_default().clicks += 1;
                clicks.push(click::ActiveModel {
                    id: Set(id.clone()),
                    account_id: Set(account_id),
                    program_id: Set(prog.id),
                    link_id: Set(l.id),
                    enrollment_id: Set(e.id),
                    visitor_id: Set(visitor.clone()),
                    at: Set(at),
                    referrer: Set(Some(["https://blog.example/review", "https://www.youtube.com/", "https://news.example/deals"][k as usize % 3].into())),
                    user_agent: Set(Some("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36".into())),
                    ip_hash: Set(format!("{:064x}", i * 1000 + s)),
                    is_bot: Set(false),
                    flag: Set(None),
                });
                path.push(id);
            }
            // Browsers that looked but did not buy.
            for k in 0..rng.random_range(2..6) {
                let at = occurred - Duration::hours(rng.random_range(1..200));
                clicks.push(click::ActiveModel {
                    id: Set(format!("d{:05}{:03}x{}", i, s, k)),
                    account_id: Set(account_id),
                    program_id: Set(prog.id),
                    link_id: Set(l.id),
                    enrollment_id: Set(e.id),
                    visitor_id: Set(format!("demobrowser{:05}{:03}{}", i, s, k)),
                    at: Set(at),
                    referrer: Set(None),
                    user_agent: Set(Some("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148".into())),
                    ip_hash: Set(format!("{:064x}", 9_000_000 + i * 1000 + s * 10 + k)),
                    is_bot: Set(false),
                    flag: Set(None),
                });
                rollup.entry((e.id, at.date_naive())).or_default().clicks += 1;
            }
            let amount = rng.random_range(2_000..45_000i64);
            let commission = rate.commission_on(amount);
            let external = format!("NW-{:05}", 10_000 + n_conv);
            let self_referral = n_conv % 97 == 5 && days_ago < 25;
            let response = serde_json::json!({
                "id": null, "external_id": external, "program_id": prog.id,
                "amount": Money::from_minor(amount, currency).amount_string(), "currency": prog.currency,
                "partner_id": e.partner_id, "attributed_via": "click_id", "click_path": path, "status": "attributed", "reason": null,
                "occurred_at": occurred.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                "commission": {"amount": Money::from_minor(commission, currency).amount_string(), "rate": format!("{}%", t.commission_value), "tier": t.name},
            });
            let conv = conversion::ActiveModel {
                account_id: Set(account_id),
                program_id: Set(prog.id),
                external_id: Set(external.clone()),
                amount_minor: Set(amount),
                currency: Set(prog.currency.clone()),
                enrollment_id: Set(Some(e.id)),
                partner_id: Set(Some(e.partner_id)),
                attributed_via: Set(Some("click_id".into())),
                click_id: Set(path.last().cloned()),
                click_path: Set(serde_json::to_string(&path).expect("strings serialise")),
                customer_id: Set(Some(if self_referral {
                    "self".to_string()
                } else {
                    format!("customer-{n_conv}")
                })),
                status: Set("attributed".into()),
                reason: Set(None),
                refunded_minor: Set(0),
                tier_id: Set(Some(t.id)),
                occurred_at: Set(occurred),
                created_at: Set(occurred),
                request_hash: Set(format!("{:064x}", n_conv)),
                response: Set(response.to_string()),
                ..Default::default()
            }
            .insert(tx)
            .await?;
            let mut with_id = response.clone();
            with_id["id"] = serde_json::json!(conv.id);
            let mut fix: conversion::ActiveModel = conv.clone().into();
            fix.response = Set(with_id.to_string());
            let conv = fix.update(tx).await?;
            rollups::add_cohort(
                tx,
                account_id,
                prog.id,
                t.id,
                e.id,
                occurred.date_naive(),
                1,
                amount,
            )
            .await?;
            n_conv += 1;
            let paid = days_ago > 62;
            let approved = !paid && days_ago > 34;
            if paid {
                payout_total += commission;
                batch_entries += 1;
            }
            ledger_entry::ActiveModel {
                account_id: Set(account_id),
                program_id: Set(prog.id),
                enrollment_id: Set(e.id),
                partner_id: Set(e.partner_id),
                conversion_id: Set(Some(conv.id)),
                kind: Set("earned".into()),
                amount_minor: Set(commission),
                currency: Set(prog.currency.clone()),
                rate: Set(format!("{}%", t.commission_value)),
                tier: Set(t.name.clone()),
                status: Set(if paid {
                    "paid"
                } else if approved {
                    "approved"
                } else {
                    "pending"
                }
                .into()),
                hold_reason: Set(self_referral.then(|| "self_referral".to_string())),
                note: Set(None),
                created_by: Set("api".into()),
                created_at: Set(occurred),
                approved_by: Set((paid || approved)
                    .then(|| "Jordan Finance <finance@demo.trellis.dev>".to_string())),
                approved_at: Set((paid || approved).then(|| occurred + Duration::days(30))),
                payout_batch_id: Set(paid.then_some(batch.id)),
                ..Default::default()
            }
            .insert(tx)
            .await?;
            timeline_event::ActiveModel {
                account_id: Set(account_id),
                partner_id: Set(e.partner_id),
                enrollment_id: Set(Some(e.id)),
                kind: Set("conversion".into()),
                actor: Set("api".into()),
                summary: Set(format!(
                    "Conversion {external} of {} earned {} at {}%",
                    Money::from_minor(amount, currency).display(),
                    Money::from_minor(commission, currency).display(),
                    t.commission_value
                )),
                data: Set(serde_json::json!({"conversion_id": conv.id}).to_string()),
                at: Set(occurred),
                ..Default::default()
            }
            .insert(tx)
            .await?;
            let d = rollup.entry((e.id, occurred.date_naive())).or_default();
            d.conversions += 1;
            d.revenue_minor += amount;
            d.commission_minor += commission;
        }
        for chunk in clicks.chunks(500) {
            click::Entity::insert_many(chunk.to_vec())
                .exec_without_returning(tx)
                .await?;
        }
        if payout_total > 0 {
            batch_total += payout_total;
            ledger_entry::ActiveModel {
                account_id: Set(account_id),
                program_id: Set(prog.id),
                enrollment_id: Set(e.id),
                partner_id: Set(e.partner_id),
                conversion_id: Set(None),
                kind: Set("payout".into()),
                amount_minor: Set(-payout_total),
                currency: Set(prog.currency.clone()),
                rate: Set(String::new()),
                tier: Set(t.name.clone()),
                status: Set("paid".into()),
                hold_reason: Set(None),
                note: Set(Some(format!("payout batch {}", batch.id))),
                created_by: Set("Jordan Finance <finance@demo.trellis.dev>".into()),
                created_at: Set(now - Duration::days(62)),
                approved_by: Set(Some("Jordan Finance <finance@demo.trellis.dev>".into())),
                approved_at: Set(Some(now - Duration::days(62))),
                payout_batch_id: Set(Some(batch.id)),
                ..Default::default()
            }
            .insert(tx)
            .await?;
        }
    }
    for ((enrollment_id, day), delta) in rollup {
        rollups::add(tx, account_id, prog.id, enrollment_id, day, delta).await?;
    }
    let mut b: payout_batch::ActiveModel = batch.into();
    b.total_minor = Set(batch_total);
    b.entries = Set(batch_entries);
    b.update(tx).await?;
    Ok(())
}

/// Folds the few non-ASCII letters of the demo names for email addresses.
pub(super) fn ascii(name: &str) -> String {
    name.to_lowercase().replace('ü', "ue")
}
