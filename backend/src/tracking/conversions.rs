//! Conversion and refund ingestion: idempotent per (program, external id), attributed with the
//! visitor's click path, rated by the enrollment's commission, written to the ledger, the
//! rollups and the timeline in one transaction.

use crate::entities::{click, conversion, enrollment, ledger_entry, link, partner, tier};
use crate::programs::commission::{effective_commission, rate_label};
use crate::programs::{self, Program};
use crate::rollups::{self, Delta};
use crate::timeline::{self, Event};
use crate::tracking::ClickRecorder;
use crate::{Clock, Error, Result};
use chrono::{DateTime, Duration, Utc};
use models::{CommissionRate, EnrollmentStatus, Money};
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder, Set};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};

/// A conversion as an integrator reports it (api.md `POST /api/v1/conversions`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConversionInput {
    /// The program.
    pub program_id: i64,
    /// The merchant's id of the sale; unique per program.
    pub external_id: String,
    /// Decimal amount in the program's currency.
    pub amount: String,
    /// Must be the program's currency when given.
    #[serde(default)]
    pub currency: Option<String>,
    /// The click (`trellis_click`) that led to the sale.
    #[serde(default)]
    pub click_id: Option<String>,
    /// A link code, when no click id is known.
    #[serde(default)]
    pub link_code: Option<String>,
    /// A partner, when neither click nor link is known.
    #[serde(default)]
    pub partner_id: Option<i64>,
    /// The merchant's customer (an email enables the self-referral check).
    #[serde(default)]
    pub customer_id: Option<String>,
    /// When the sale happened (RFC 3339); default now.
    #[serde(default)]
    pub occurred_at: Option<String>,
}

/// The commission a conversion earned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CommissionAnswer {
    /// Decimal amount (`"0.00"` when nothing was earned).
    pub amount: String,
    /// Rate applied (`"15%"` or a flat amount); null when nothing was earned.
    pub rate: Option<String>,
    /// Tier at the time; null when nothing was earned.
    pub tier: Option<String>,
}

/// The answer to `POST /api/v1/conversions`, stored and replayed verbatim.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ConversionAnswer {
    /// Conversion id.
    pub id: i64,
    /// The merchant's id.
    pub external_id: String,
    /// Program.
    pub program_id: i64,
    /// Decimal amount.
    pub amount: String,
    /// Currency code.
    pub currency: String,
    /// The partner credited, if attributed.
    pub partner_id: Option<i64>,
    /// `click_id`, `link_code` or `partner_id`; null when unattributed.
    pub attributed_via: Option<String>,
    /// The visitor's clicks inside the cookie window, oldest first.
    pub click_path: Vec<String>,
    /// `attributed`, `unattributed` or `ineligible`.
    pub status: String,
    /// Why it earns nothing, if it does not.
    pub reason: Option<String>,
    /// When it happened (RFC 3339).
    pub occurred_at: String,
    /// What it earned.
    pub commission: CommissionAnswer,
}

/// The canonical hash of a request body: same JSON value, same hash, whatever the key order
/// or whitespace.
pub fn request_hash(body: &serde_json::Value) -> String {
    hex::encode(Sha256::digest(body.to_string().as_bytes()))
}

/// Whether an ingestion created the conversion or replayed an earlier answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// First time: 201.
    Created(ConversionAnswer),
    /// Same body again: 200 with the first answer.
    Replayed(ConversionAnswer),
}

struct Attribution {
    enrollment: Option<enrollment::Model>,
    via: Option<&'static str>,
    click: Option<click::Model>,
    reason: Option<String>,
}

async fn find_click(db: &impl sea_orm::ConnectionTrait, program_id: i64, id: &str) -> Result<Option<click::Model>> {
    Ok(click::Entity::find_by_id(id.to_string()).filter(click::Column::ProgramId.eq(program_id)).one(db).await?)
}

async fn attribute(
    db: &DatabaseConnection,
    clicks: Option<&std::sync::Arc<ClickRecorder>>,
    program: &Program,
    input: &ConversionInput,
    occurred_at: DateTime<Utc>,
) -> Result<Attribution> {
    let pid = program.row.id;
    let window = Duration::days(program.row.cookie_days as i64);
    if let Some(click_id) = input.click_id.as_deref().filter(|c| !c.is_empty()) {
        let mut found = find_click(db, pid, click_id).await?;
        if found.is_none() {
            // The click may still sit in this replica's buffer: write it out and look again.
            if let Some(rec) = clicks {
                rec.flush().await?;
                found = find_click(db, pid, click_id).await?;
            }
        }
        let c = found.ok_or_else(|| Error::invalid("click_id", "no such click in this program"))?;
        let reason = if c.is_bot {
            Some("the click was flagged as a bot".to_string())
        } else if c.at < occurred_at - window || c.at > occurred_at + Duration::minutes(5) {
            Some(format!("the click is outside the {}-day cookie window", program.row.cookie_days))
        } else {
            None
        };
        if reason.is_some() {
            return Ok(Attribution { enrollment: None, via: None, click: Some(c), reason });
        }
        let e = enrollment::Entity::find_by_id(c.enrollment_id).one(db).await?.ok_or(Error::NotFound("enrollment"))?;
        return Ok(Attribution { enrollment: Some(e), via: Some("click_id"), click: Some(c), reason: None });
    }
    if let Some(code) = input.link_code.as_deref().filter(|c| !c.is_empty()) {
        let l = link::Entity::find()
            .filter(link::Column::Code.eq(code))
            .filter(link::Column::ProgramId.eq(pid))
            .one(db)
            .await?
            .ok_or_else(|| Error::invalid("link_code", "no such link in this program"))?;
        let e = enrollment::Entity::find_by_id(l.enrollment_id).one(db).await?.ok_or(Error::NotFound("enrollment"))?;
        return Ok(Attribution { enrollment: Some(e), via: Some("link_code"), click: None, reason: None });
    }
    if let Some(partner_id) = input.partner_id {
        let e = enrollment::Entity::find()
            .filter(enrollment::Column::PartnerId.eq(partner_id))
            .filter(enrollment::Column::ProgramId.eq(pid))
            .filter(enrollment::Column::AccountId.eq(program.row.account_id))
            .one(db)
            .await?
            .ok_or_else(|| Error::invalid("partner_id", "no such partner in this program"))?;
        return Ok(Attribution { enrollment: Some(e), via: Some("partner_id"), click: None, reason: None });
    }
    Ok(Attribution { enrollment: None, via: None, click: None, reason: Some("no click, link or partner was given".into()) })
}

fn validate(program: &Program, input: &ConversionInput, now: DateTime<Utc>) -> Result<(Money, DateTime<Utc>)> {
    Error::check_line("external_id", &input.external_id)?;
    for (field, value) in
        [("click_id", &input.click_id), ("link_code", &input.link_code), ("customer_id", &input.customer_id), ("currency", &input.currency)]
    {
        if let Some(v) = value {
            Error::check_line(field, v)?;
        }
    }
    let external_id = input.external_id.trim();
    if external_id.is_empty() || external_id.len() > 255 {
        return Err(Error::invalid("external_id", "give an id of 1 to 255 characters"));
    }
    if let Some(c) = &input.currency {
        if !c.trim().eq_ignore_ascii_case(program.currency.code()) {
            return Err(Error::invalid("currency", format!("must be {}, the program's currency", program.currency.code())));
        }
    }
    let amount = Money::parse(&input.amount, program.currency).map_err(Error::field("amount"))?;
    let occurred_at = match &input.occurred_at {
        Some(t) => {
            DateTime::parse_from_rfc3339(t).map_err(|_| Error::invalid("occurred_at", format!("'{t}' is not an RFC 3339 time")))?.with_timezone(&Utc)
        }
        None => now,
    };
    if occurred_at > now + Duration::hours(1) {
        return Err(Error::invalid("occurred_at", "must not be in the future"));
    }
    if input.customer_id.as_ref().is_some_and(|c| c.len() > 255) {
        return Err(Error::invalid("customer_id", "at most 255 characters"));
    }
    if input.click_id.as_ref().is_some_and(|c| c.len() > 32) {
        return Err(Error::invalid("click_id", "no such click in this program"));
    }
    Ok((amount, occurred_at))
}

async fn existing(db: &impl sea_orm::ConnectionTrait, program_id: i64, external_id: &str) -> Result<Option<conversion::Model>> {
    Ok(conversion::Entity::find()
        .filter(conversion::Column::ProgramId.eq(program_id))
        .filter(conversion::Column::ExternalId.eq(external_id))
        .one(db)
        .await?)
}

fn replay(found: conversion::Model, hash: &str) -> Result<Outcome> {
    if found.request_hash != hash {
        return Err(Error::Conflict(format!("conversion '{}' was already reported with a different body", found.external_id)));
    }
    let mut answer: ConversionAnswer = serde_json::from_str(&found.response).map_err(|e| Error::Internal(e.to_string()))?;
    // The stored answer is written before the row has its id (saving an UPDATE per conversion).
    answer.id = found.id;
    Ok(Outcome::Replayed(answer))
}

/// Ingests a conversion for an account. `hash` is [`request_hash`] of the body as received.
pub async fn ingest(
    db: &DatabaseConnection,
    clicks: Option<&std::sync::Arc<ClickRecorder>>,
    clock: &Clock,
    account_id: i64,
    input: &ConversionInput,
    hash: &str,
) -> Result<Outcome> {
    let now = clock.now();
    let program = programs::load(db, account_id, input.program_id).await?;
    Error::check_line("external_id", &input.external_id)?;
    let external_id = input.external_id.trim().to_string();
    if let Some(found) = existing(db, program.row.id, &external_id).await? {
        return replay(found, hash);
    }
    program.require_open()?;
    let (amount, occurred_at) = validate(&program, input, now)?;
    let attribution = attribute(db, clicks, &program, input, occurred_at).await?;

    let txn = crate::db::begin_write(db).await?;
    match write(&txn, &program, input, &external_id, amount, occurred_at, now, hash, attribution).await {
        Ok(answer) => {
            txn.commit().await?;
            Ok(Outcome::Created(answer))
        }
        Err(Error::Db(e)) if matches!(e.sql_err(), Some(sea_orm::SqlErr::UniqueConstraintViolation(_))) => {
            // A concurrent request with the same external id won the race.
            txn.rollback().await?;
            let found = existing(db, program.row.id, &external_id).await?.ok_or(Error::Db(e))?;
            replay(found, hash)
        }
        Err(e) => Err(e),
    }
}

#[expect(clippy::too_many_arguments, reason = "one private step of ingest, called once")]
async fn write(
    txn: &DatabaseTransaction,
    program: &Program,
    input: &ConversionInput,
    external_id: &str,
    amount: Money,
    occurred_at: DateTime<Utc>,
    now: DateTime<Utc>,
    hash: &str,
    a: Attribution,
) -> Result<ConversionAnswer> {
    let currency = program.currency;
    let visitor_path: Vec<String> = match &a.click {
        Some(c) if a.enrollment.is_some() => click::Entity::find()
            .filter(click::Column::ProgramId.eq(program.row.id))
            .filter(click::Column::VisitorId.eq(c.visitor_id.clone()))
            .filter(click::Column::IsBot.eq(false))
            .filter(click::Column::At.gte(occurred_at - Duration::days(program.row.cookie_days as i64)))
            .filter(click::Column::At.lte(occurred_at.max(c.at)))
            .order_by_asc(click::Column::At)
            .order_by_asc(click::Column::Id)
            .all(txn)
            .await?
            .into_iter()
            .map(|c| c.id)
            .collect::<Vec<_>>(),
        _ => Vec::new(),
    };

    // Who earns what.
    let mut status = if a.enrollment.is_some() { "attributed" } else { "unattributed" };
    let mut reason = a.reason.clone();
    let mut earned: Option<(CommissionRate, tier::Model, i64)> = None;
    let mut hold_reason: Option<&str> = None;
    if let Some(e) = &a.enrollment {
        let st = EnrollmentStatus::parse(&e.status).map_err(|e| Error::Internal(e.0))?;
        if st != EnrollmentStatus::Active {
            status = "ineligible";
            reason = Some(format!("the enrollment is {}", st.as_str()));
        } else {
            let tiers = programs::tiers(txn, program.row.id).await?;
            let current = tiers.iter().find(|t| t.id == e.tier_id).cloned().ok_or(Error::NotFound("tier"))?;
            // The conversion that crosses a threshold already earns the new tier's rate.
            let t = crate::programs::tiers::check_at_conversion(txn, &program.row, e, &tiers, current, amount.minor, occurred_at, now).await?;
            if e.dormant_since.is_some() {
                enrollment::Entity::update_many()
                    .col_expr(enrollment::Column::DormantSince, sea_orm::sea_query::Expr::value(Option::<DateTime<Utc>>::None))
                    .filter(enrollment::Column::Id.eq(e.id))
                    .exec(txn)
                    .await?;
            }
            let rate = effective_commission(e, &t, currency)?;
            let commission = rate.commission_on(amount.minor);
            let self_referral = match input.customer_id.as_deref().map(str::trim).filter(|c| c.contains('@')) {
                Some(customer) => partner::Entity::find_by_id(e.partner_id).one(txn).await?.is_some_and(|p| customer.eq_ignore_ascii_case(&p.email)),
                None => false,
            };
            if self_referral {
                hold_reason = Some("self_referral");
            } else if a.click.as_ref().and_then(|c| c.flag.as_deref()) == Some("click_burst") {
                hold_reason = Some("click_burst");
            }
            earned = Some((rate, t, commission));
        }
    }

    let commission = match &earned {
        Some((rate, t, c)) => CommissionAnswer {
            amount: Money::from_minor(*c, currency).amount_string(),
            rate: Some(rate_label(rate, currency)),
            tier: Some(t.name.clone()),
        },
        None => CommissionAnswer { amount: Money::from_minor(0, currency).amount_string(), rate: None, tier: None },
    };
    let mut answer = ConversionAnswer {
        id: 0,
        external_id: external_id.to_string(),
        program_id: program.row.id,
        amount: amount.amount_string(),
        currency: currency.code().to_string(),
        partner_id: a.enrollment.as_ref().map(|e| e.partner_id),
        attributed_via: a.via.map(str::to_string),
        click_path: visitor_path.clone(),
        status: status.to_string(),
        reason: reason.clone(),
        occurred_at: occurred_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        commission,
    };

    let conv = conversion::ActiveModel {
        account_id: Set(program.row.account_id),
        program_id: Set(program.row.id),
        external_id: Set(external_id.to_string()),
        amount_minor: Set(amount.minor),
        currency: Set(currency.code().to_string()),
        enrollment_id: Set(a.enrollment.as_ref().map(|e| e.id)),
        partner_id: Set(a.enrollment.as_ref().map(|e| e.partner_id)),
        attributed_via: Set(a.via.map(str::to_string)),
        click_id: Set(a.click.as_ref().map(|c| c.id.clone())),
        click_path: Set(serde_json::to_string(&visitor_path).expect("strings serialise")),
        customer_id: Set(input.customer_id.clone()),
        status: Set(status.to_string()),
        reason: Set(reason.clone()),
        refunded_minor: Set(0),
        tier_id: Set(earned.as_ref().map(|(_, t, _)| t.id)),
        occurred_at: Set(occurred_at),
        created_at: Set(now),
        request_hash: Set(hash.to_string()),
        response: Set(serde_json::to_string(&answer).expect("plain data serialises")),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    answer.id = conv.id;

    if let Some(e) = &a.enrollment {
        let commission = earned.as_ref().map(|(_, _, c)| *c).unwrap_or(0);
        if let Some((rate, t, c)) = &earned {
            ledger_entry::ActiveModel {
                account_id: Set(program.row.account_id),
                program_id: Set(program.row.id),
                enrollment_id: Set(e.id),
                partner_id: Set(e.partner_id),
                conversion_id: Set(Some(conv.id)),
                kind: Set("earned".into()),
                amount_minor: Set(*c),
                currency: Set(currency.code().to_string()),
                rate: Set(rate_label(rate, currency)),
                tier: Set(t.name.clone()),
                status: Set("pending".into()),
                hold_reason: Set(hold_reason.map(str::to_string)),
                note: Set(None),
                created_by: Set("api".into()),
                created_at: Set(now),
                ..Default::default()
            }
            .insert(txn)
            .await?;
        }
        let mut summary = format!("Conversion {} of {} ", conv.external_id, amount.display());
        match &earned {
            Some((rate, _, c)) => summary.push_str(&format!("earned {} at {}", Money::from_minor(*c, currency).display(), rate.display(currency))),
            None => summary.push_str(&format!("earned nothing: {}", reason.clone().unwrap_or_default())),
        }
        if let Some(h) = hold_reason {
            summary.push_str(&format!(" (held for review: {})", h.replace('_', " ")));
        }
        crate::events::publish(txn, now, crate::events::Event::Converted { enrollment: e }).await?;
        timeline::record(
            txn,
            Event::partner(program.row.account_id, e.partner_id, "conversion", "api", summary, now)
                .for_enrollment(e.id)
                .with_data(json!({ "conversion_id": conv.id, "external_id": conv.external_id, "amount": amount.amount_string() })),
        )
        .await?;
        if let Some((_, t, _)) = &earned {
            rollups::add_cohort(txn, program.row.account_id, program.row.id, t.id, e.id, occurred_at.date_naive(), 1, amount.minor).await?;
        }
        // Last: the day's rollup row is shared by every conversion of the enrollment, so its
        // lock is held for the shortest time before commit.
        rollups::add(
            txn,
            program.row.account_id,
            program.row.id,
            e.id,
            occurred_at.date_naive(),
            Delta { conversions: 1, revenue_minor: amount.minor, commission_minor: commission, ..Default::default() },
        )
        .await?;
    }
    Ok(answer)
}

/// Everything about one conversion of the account, for the team: attribution, the visitor's
/// click path and the ledger entries.
pub async fn detail(db: &DatabaseConnection, actor: &crate::Actor, id: i64) -> Result<models::ConversionDetail> {
    actor.require_team()?;
    let conv = crate::db::find_in_account(db, conversion::Column::AccountId, actor.account_id, id, "conversion").await?;
    let currency = models::Currency::parse(&conv.currency).map_err(|e| Error::Internal(e.0))?;
    let program = programs::load(db, actor.account_id, conv.program_id).await?;
    let partner = match conv.partner_id {
        Some(pid) => partner::Entity::find_by_id(pid).one(db).await?.map(|p| (p.id, p.name)),
        None => None,
    };
    let path_ids: Vec<String> = serde_json::from_str(&conv.click_path).map_err(|e| Error::Internal(e.to_string()))?;
    let mut clicks = click::Entity::find()
        .filter(click::Column::Id.is_in(path_ids.clone()))
        .filter(click::Column::ProgramId.eq(conv.program_id))
        .order_by_asc(click::Column::At)
        .all(db)
        .await?;
    if clicks.is_empty() {
        if let Some(c) = &conv.click_id {
            clicks = click::Entity::find_by_id(c.clone()).all(db).await?;
        }
    }
    let entries =
        ledger_entry::Entity::find().filter(ledger_entry::Column::ConversionId.eq(conv.id)).order_by_asc(ledger_entry::Column::Id).all(db).await?;
    Ok(models::ConversionDetail {
        id: conv.id,
        external_id: conv.external_id.clone(),
        program: program.row.name,
        partner,
        amount: Money::from_minor(conv.amount_minor, currency).display(),
        refunded: Money::from_minor(conv.refunded_minor, currency).display(),
        status: conv.status.clone(),
        reason: conv.reason.clone(),
        attributed_via: conv.attributed_via.clone(),
        customer_id: conv.customer_id.clone(),
        occurred: conv.occurred_at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
        click_path: clicks
            .into_iter()
            .map(|c| models::ClickView {
                attributed: conv.click_id.as_deref() == Some(c.id.as_str()),
                at: c.at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
                referrer: c.referrer,
                user_agent: c.user_agent,
                flag: c.flag,
                id: c.id,
            })
            .collect(),
        entries: entries
            .into_iter()
            .map(|e| models::EntryRow {
                id: e.id,
                amount: Money::from_minor(e.amount_minor, currency).display(),
                kind: e.kind,
                rate: e.rate,
                tier: e.tier,
                status: e.status,
                created: e.created_at.format("%Y-%m-%d %H:%M").to_string(),
                approved_by: e.approved_by,
                note: e.note,
            })
            .collect(),
    })
}
