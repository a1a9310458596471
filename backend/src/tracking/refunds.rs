//! Refunds of a conversion: full or partial, idempotent by the caller's `refund_id`, clawing
//! back the same share of the commission at the rate it earned.

use super::conversions::ConversionAnswer;
use crate::entities::{conversion, ledger_entry};
use crate::rollups::{self, Delta};
use crate::timeline::{self, Event};
use crate::{Clock, Error, Result};
use models::Money;
use rust_decimal::prelude::*;
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// A conversion after a refund.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RefundedConversion {
    /// The conversion as first answered.
    #[serde(flatten)]
    pub conversion: ConversionAnswer,
    /// Refunded so far (decimal).
    pub refunded: String,
    /// Commission net of clawbacks (decimal).
    pub commission_net: String,
}

/// An amount clawed back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ClawbackAnswer {
    /// Decimal amount clawed back by this refund (positive; the ledger entry is negative).
    pub amount: String,
}

/// A refund's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RefundOutcome {
    /// The conversion after the refund.
    pub conversion: RefundedConversion,
    /// The clawback written by this refund.
    pub clawback: ClawbackAnswer,
}

/// Refunds all (when `amount` is `None`) or part of a conversion and claws back the same share
/// of its commission, at the rate it earned (adjustments included). A full refund of an already
/// fully refunded conversion changes nothing. With a `refund_id` (the caller's idempotency key,
/// unique per conversion) a retried refund is applied once: the retry answers with the clawback
/// of the first, and the same key with another amount is refused (409).
pub async fn refund(
    db: &DatabaseConnection,
    clock: &Clock,
    account_id: i64,
    conversion_id: i64,
    amount: Option<&str>,
    refund_id: Option<&str>,
) -> Result<RefundOutcome> {
    use crate::entities::refund;
    if let Some(key) = refund_id {
        Error::check_line("refund_id", key)?;
        if key.trim().is_empty() || key.len() > 200 {
            return Err(Error::invalid("refund_id", "must be 1 to 200 characters"));
        }
    }
    let now = clock.now();
    let txn = crate::db::begin_write(db).await?;
    // Concurrent refunds of one conversion queue here: each reads what the one before refunded
    // (two full refunds write one clawback).
    crate::db::lock_row(&txn, "conversions", conversion_id).await?;
    let conv = conversion::Entity::find_by_id(conversion_id)
        .filter(conversion::Column::AccountId.eq(account_id))
        .one(&txn)
        .await?
        .ok_or(Error::NotFound("conversion"))?;
    let currency = models::Currency::parse(&conv.currency).map_err(|e| Error::Internal(e.0))?;
    let entries = ledger_entry::Entity::find()
        .filter(ledger_entry::Column::ConversionId.eq(conv.id))
        .filter(ledger_entry::Column::Status.ne("void"))
        .all(&txn)
        .await?;
    let earned_total: i64 = entries.iter().filter(|e| e.kind == "earned" || e.kind == "adjustment").map(|e| e.amount_minor).sum();
    let clawed: i64 = -entries.iter().filter(|e| e.kind == "clawback").map(|e| e.amount_minor).sum::<i64>();
    // A retry of a refund already applied: the same answer, nothing written.
    if let Some(key) = refund_id {
        let prior =
            refund::Entity::find().filter(refund::Column::ConversionId.eq(conv.id)).filter(refund::Column::RefundId.eq(key)).one(&txn).await?;
        if let Some(prior) = prior {
            txn.rollback().await?;
            let asked = match amount {
                Some(text) => Some(Money::parse(text, currency).map_err(Error::field("amount"))?.minor),
                None => None,
            };
            if asked.is_some_and(|m| m != prior.amount_minor) {
                return Err(Error::Conflict(format!(
                    "refund_id '{key}' was already used for a refund of {}",
                    Money::from_minor(prior.amount_minor, currency).amount_string()
                )));
            }
            return Ok(RefundOutcome {
                conversion: conversion_view(&conv, currency, clawed, earned_total)?,
                clawback: ClawbackAnswer { amount: Money::from_minor(prior.clawback_minor, currency).amount_string() },
            });
        }
    }
    let remaining = conv.amount_minor - conv.refunded_minor;
    let refund_minor = match amount {
        None => remaining,
        Some(text) => {
            let m = Money::parse(text, currency).map_err(Error::field("amount"))?.minor;
            if m > remaining {
                return Err(Error::invalid("amount", format!("exceeds the unrefunded {}", Money::from_minor(remaining, currency).amount_string())));
            }
            m
        }
    };
    // Nothing left to refund (a zero-amount sign-up counts as refunded once its commission is
    // clawed back): the refund changes nothing.
    let nothing_left = remaining == 0 && (conv.amount_minor > 0 || clawed >= earned_total);
    if nothing_left || (refund_minor == 0 && amount.is_some() && conv.amount_minor > 0) {
        txn.rollback().await?;
        return Ok(RefundOutcome {
            conversion: conversion_view(&conv, currency, clawed, earned_total)?,
            clawback: ClawbackAnswer { amount: Money::from_minor(0, currency).amount_string() },
        });
    }
    let refunded_after = conv.refunded_minor + refund_minor;
    let target = if conv.amount_minor == 0 {
        earned_total
    } else {
        (Decimal::from(earned_total) * Decimal::from(refunded_after) / Decimal::from(conv.amount_minor))
            .round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero)
            .to_i64()
            .expect("within the earned total")
    };
    let claw = target - clawed;

    if let (Some(enrollment_id), Some(partner_id)) = (conv.enrollment_id, conv.partner_id) {
        if claw != 0 {
            let earned = entries.iter().find(|e| e.kind == "earned");
            ledger_entry::ActiveModel {
                account_id: Set(account_id),
                program_id: Set(conv.program_id),
                enrollment_id: Set(enrollment_id),
                partner_id: Set(partner_id),
                conversion_id: Set(Some(conv.id)),
                kind: Set("clawback".into()),
                amount_minor: Set(-claw),
                currency: Set(conv.currency.clone()),
                rate: Set(earned.map(|e| e.rate.clone()).unwrap_or_default()),
                tier: Set(earned.map(|e| e.tier.clone()).unwrap_or_default()),
                status: Set("pending".into()),
                hold_reason: Set(None),
                note: Set(Some(format!("refund of {}", Money::from_minor(refund_minor, currency).amount_string()))),
                created_by: Set("api".into()),
                created_at: Set(now),
                ..Default::default()
            }
            .insert(&txn)
            .await?;
        }
        rollups::add(
            &txn,
            account_id,
            conv.program_id,
            enrollment_id,
            conv.occurred_at.date_naive(),
            Delta { revenue_minor: -refund_minor, commission_minor: -claw, ..Default::default() },
        )
        .await?;
        if let (Some(tier_id), "attributed") = (conv.tier_id, conv.status.as_str()) {
            rollups::add_cohort(&txn, account_id, conv.program_id, tier_id, enrollment_id, conv.occurred_at.date_naive(), 0, -refund_minor).await?;
        }
        timeline::record(
            &txn,
            Event::partner(
                account_id,
                partner_id,
                "refund",
                "api",
                format!(
                    "Refund of {} on conversion {}; {} clawed back",
                    Money::from_minor(refund_minor, currency).display(),
                    conv.external_id,
                    Money::from_minor(claw, currency).display()
                ),
                now,
            )
            .for_enrollment(enrollment_id)
            .with_data(json!({ "conversion_id": conv.id, "refund": Money::from_minor(refund_minor, currency).amount_string() })),
        )
        .await?;
    }
    let mut active: conversion::ActiveModel = conv.clone().into();
    active.refunded_minor = Set(refunded_after);
    let conv = active.update(&txn).await?;
    refund::ActiveModel {
        account_id: Set(account_id),
        conversion_id: Set(conv.id),
        refund_id: Set(refund_id.map(str::to_string)),
        amount_minor: Set(refund_minor),
        clawback_minor: Set(claw),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    Ok(RefundOutcome {
        conversion: conversion_view(&conv, currency, clawed + claw, earned_total)?,
        clawback: ClawbackAnswer { amount: Money::from_minor(claw, currency).amount_string() },
    })
}

fn conversion_view(conv: &conversion::Model, currency: models::Currency, clawed: i64, earned: i64) -> Result<RefundedConversion> {
    Ok(RefundedConversion {
        conversion: serde_json::from_str(&conv.response).map_err(|e| Error::Internal(e.to_string()))?,
        refunded: Money::from_minor(conv.refunded_minor, currency).amount_string(),
        commission_net: Money::from_minor(earned - clawed, currency).amount_string(),
    })
}
