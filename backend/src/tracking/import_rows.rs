//! One row of an import file: a partner with its enrollments, a link, or a conversion, applied
//! inside the chunk's transaction through the same services as the forms.

use crate::access::auth::Actor;
use crate::entities::{enrollment, link, partner, program};
use crate::partners::lifecycle::{self, Change, Outcome};
use crate::partners::{self, NewPartner};
use crate::{outbox, timeline, Clock, Error, Result};
use chrono::{DateTime, Utc};
use models::{EnrollmentStatus, PartnerFields};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use std::collections::BTreeMap;

/// What a row did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowOutcome {
    /// Something new.
    Created,
    /// Something existing changed.
    Updated,
    /// Already as the file says.
    Unchanged,
}

pub(super) fn get<'a>(row: &'a BTreeMap<String, String>, key: &str) -> Option<&'a str> {
    row.get(key).map(String::as_str).filter(|v| !v.is_empty())
}

pub(super) fn find_program<'a>(programs: &'a [program::Model], text: &str) -> Result<&'a program::Model> {
    programs
        .iter()
        .find(|p| p.id.to_string() == text || p.name.eq_ignore_ascii_case(text))
        .ok_or_else(|| Error::invalid("program", format!("no program '{text}' in this account")))
}

pub(super) async fn partner_row(
    txn: &sea_orm::DatabaseTransaction,
    now: DateTime<Utc>,
    actor: &Actor,
    programs: &[program::Model],
    row: &BTreeMap<String, String>,
) -> Result<RowOutcome> {
    let email = models::PartnerEmail::parse(get(row, "email").unwrap_or("")).map_err(Error::field("email"))?;
    // An empty cell leaves the value as it is: a file fills in, it never erases.
    let cell = |k: &str| get(row, k).map(str::to_string);
    let fields = PartnerFields {
        name: cell("name"),
        company: cell("company"),
        source: cell("source"),
        phone: cell("phone"),
        website: cell("website"),
        country: cell("country"),
        owner_user_id: None,
        custom: row
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .filter_map(|(k, v)| k.strip_prefix("custom.").map(|k| (k.to_string(), v.clone())))
            .collect(),
    };
    let status = get(row, "status").map(EnrollmentStatus::parse).transpose().map_err(Error::field("status"))?;
    let prog = get(row, "program").map(|p| find_program(programs, p)).transpose()?;
    if prog.is_none() && (status.is_some() || get(row, "tier").is_some()) {
        return Err(Error::invalid("program", "a status or tier needs a program column"));
    }
    let existing = partner::Entity::find()
        .filter(partner::Column::AccountId.eq(actor.account_id))
        .filter(partner::Column::Email.eq(email.as_str()))
        .one(txn)
        .await?;
    let mut outcome = RowOutcome::Unchanged;
    let p = match existing {
        Some(p) => {
            if !partners::update_in(txn, now, actor, p.id, &fields).await?.is_empty() {
                outcome = RowOutcome::Updated;
            }
            partners::find(txn, actor.account_id, p.id).await?
        }
        None => {
            let id =
                partners::create_in(txn, now, actor, &NewPartner { email: email.as_str().into(), fields, program_id: None, status: None }).await?;
            outcome = RowOutcome::Created;
            partners::find(txn, actor.account_id, id).await?
        }
    };
    if let Some(prog) = prog {
        let e = match crate::db::enrollment_of(txn, p.id, prog.id).await? {
            Some(e) => {
                // Statuses in a file are where the partner should be, not a transition: a
                // changed status goes through the lifecycle.
                if let Some(s) = status {
                    if lifecycle::apply(txn, actor, now, prog, &e, &p.name, &Change::Status(s, Some("import".into()))).await? == Outcome::Changed {
                        outcome = outcome.max_with(RowOutcome::Updated);
                    }
                }
                enrollment::Entity::find_by_id(e.id).one(txn).await?.ok_or(Error::NotFound("enrollment"))?
            }
            None => {
                outcome = outcome.max_with(RowOutcome::Updated);
                partners::enroll_in(txn, now, actor, &p, prog.id, status).await?
            }
        };
        if let Some(t) = get(row, "tier") {
            if lifecycle::apply(txn, actor, now, prog, &e, &p.name, &Change::Tier(t.to_string())).await? == Outcome::Changed {
                outcome = outcome.max_with(RowOutcome::Updated);
            }
        }
        let invite = get(row, "invite").map(|v| models::FieldKind::Boolean.canonical(v, &[])).transpose().map_err(Error::field("invite"))?.flatten();
        if invite.as_deref() == Some("true") {
            let key = format!("invite:{}:{}", p.id, prog.id);
            let queued = outbox::queue(txn, now, outbox::NewEmail {
                account_id: actor.account_id,
                program_id: Some(prog.id),
                partner_id: Some(p.id),
                kind: "invitation",
                to: &p.email,
                subject: format!("You're invited to {}", prog.name),
                text: format!("Hello {},\n\n{} has moved its partner program to Trellis. Sign in to the partner portal to see your links, earnings and tier.\n", p.name, prog.name),
                dedupe_key: Some(key),
            })
            .await?;
            if queued {
                timeline::record(
                    txn,
                    timeline::Event::partner(
                        actor.account_id,
                        p.id,
                        "email",
                        &actor.label(),
                        format!("Re-enrollment invitation to {} queued", prog.name),
                        now,
                    )
                    .for_enrollment(e.id)
                    .with_data(serde_json::json!({"kind": "invitation"})),
                )
                .await?;
                outcome = outcome.max_with(RowOutcome::Updated);
            }
        }
    }
    if outcome != RowOutcome::Unchanged {
        timeline::record(txn, timeline::Event::partner(actor.account_id, p.id, "import", &actor.label(), "Imported from a CSV file", now)).await?;
    }
    Ok(outcome)
}

/// The link and conversion rows of one import run: each names an enrolled partner, and each is
/// applied on its own (no chunk transaction), or only checked on a dry run.
#[derive(Clone, Copy)]
pub(super) struct EnrolledRows<'a> {
    pub(super) db: &'a DatabaseConnection,
    pub(super) clock: &'a Clock,
    pub(super) actor: &'a Actor,
    pub(super) programs: &'a [program::Model],
    pub(super) dry_run: bool,
}

impl EnrolledRows<'_> {
    /// The partner (by email), program and enrollment a row names.
    async fn enrolled(&self, row: &BTreeMap<String, String>) -> Result<(partner::Model, program::Model, enrollment::Model)> {
        let Self { db, actor, programs, .. } = *self;
        let email = models::PartnerEmail::parse(get(row, "email").unwrap_or("")).map_err(Error::field("email"))?;
        let prog = find_program(programs, get(row, "program").unwrap_or(""))?.clone();
        let p = partner::Entity::find()
            .filter(partner::Column::AccountId.eq(actor.account_id))
            .filter(partner::Column::Email.eq(email.as_str()))
            .one(db)
            .await?
            .ok_or_else(|| Error::invalid("email", format!("no partner with the email {}", email.as_str())))?;
        let e = crate::db::enrollment_of(db, p.id, prog.id)
            .await?
            .ok_or_else(|| Error::invalid("program", format!("{} is not enrolled in {}", p.name, prog.name)))?;
        Ok((p, prog, e))
    }

    /// A row of a links import: a new link of an enrolled partner.
    pub(super) async fn link(&self, row: &BTreeMap<String, String>) -> Result<RowOutcome> {
        let (p, prog, _) = self.enrolled(row).await?;
        let Self { db, clock, actor, dry_run, .. } = *self;
        let destination = get(row, "destination").map(str::to_string).unwrap_or_else(|| prog.website.clone());
        let loaded = crate::programs::load(db, actor.account_id, prog.id).await?;
        let (url, host) = crate::programs::parse_web_url("destination", &destination)?;
        if !loaded.allows_host(&host) {
            return Err(Error::invalid("destination", format!("{host} is not an allowed domain of {}", prog.name)));
        }
        let exists = link::Entity::find()
            .filter(link::Column::PartnerId.eq(p.id))
            .filter(link::Column::ProgramId.eq(prog.id))
            .filter(link::Column::Destination.is_in([url.to_string(), destination.clone()]))
            .one(db)
            .await?;
        if exists.is_some() {
            return Ok(RowOutcome::Unchanged);
        }
        if !dry_run {
            crate::tracking::create_link(db, clock, actor.account_id, "", p.id, prog.id, Some(&destination)).await?;
        }
        Ok(RowOutcome::Created)
    }

    /// A row of a conversions import: a conversion credited to an enrolled partner.
    pub(super) async fn conversion(&self, row: &BTreeMap<String, String>) -> Result<RowOutcome> {
        let (p, prog, _) = self.enrolled(row).await?;
        let Self { db, clock, actor, dry_run, .. } = *self;
        let external_id = get(row, "external_id").ok_or_else(|| Error::invalid("external_id", "is empty"))?.to_string();
        let occurred = get(row, "occurred_at").ok_or_else(|| Error::invalid("occurred_at", "is empty"))?;
        let occurred_at = crate::clock::parse_bound("occurred_at", occurred)?;
        if occurred_at > clock.now() {
            return Err(Error::invalid("occurred_at", "is in the future"));
        }
        let currency = models::Currency::parse(&prog.currency).map_err(|e| Error::Internal(e.0))?;
        let amount = models::Money::parse(get(row, "amount").unwrap_or(""), currency).map_err(Error::field("amount"))?;
        if crate::entities::conversion::Entity::find()
            .filter(crate::entities::conversion::Column::ProgramId.eq(prog.id))
            .filter(crate::entities::conversion::Column::ExternalId.eq(&external_id))
            .one(db)
            .await?
            .is_some()
        {
            return Ok(RowOutcome::Unchanged);
        }
        if dry_run {
            return Ok(RowOutcome::Created);
        }
        let input = crate::tracking::conversions::ConversionInput {
            program_id: prog.id,
            external_id,
            amount: amount.amount_string(),
            currency: None,
            click_id: None,
            link_code: None,
            partner_id: Some(p.id),
            customer_id: get(row, "customer_id").map(str::to_string),
            occurred_at: Some(occurred_at.to_rfc3339()),
        };
        let raw = serde_json::to_value(&input).map_err(|e| Error::Internal(e.to_string()))?;
        crate::tracking::conversions::ingest(db, None, clock, actor.account_id, &input, &crate::tracking::conversions::request_hash(&raw)).await?;
        Ok(RowOutcome::Created)
    }
}

impl RowOutcome {
    /// Created stays created; otherwise the stronger of the two.
    pub(super) fn max_with(self, other: RowOutcome) -> RowOutcome {
        match (self, other) {
            (RowOutcome::Created, _) | (_, RowOutcome::Created) => RowOutcome::Created,
            (RowOutcome::Updated, _) | (_, RowOutcome::Updated) => RowOutcome::Updated,
            _ => RowOutcome::Unchanged,
        }
    }
}
