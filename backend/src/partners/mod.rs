//! **Partners**: the directory and everything about one partner: profiles and enrollments (this
//! file), the enrollment lifecycle ([`lifecycle`]), custom fields, saved segments, the directory
//! search and export, bulk actions, and the health score that surfaces partners before they churn
//! ([`health`]).
//!
//! Partners: create and edit (contact details, source, owner, custom attributes), enroll in a
//! program, change an enrollment through the lifecycle, notes, the profile and its timeline.
//! Forms, bulk actions, imports and REST all come through here, so every rule holds on every
//! write path and every change lands on the timeline and in the audit log.

pub mod bulk;
pub mod custom_fields;
pub mod directory;
pub mod health;
pub mod lifecycle;
pub mod segments;
pub mod view;

use crate::access::auth::Actor;
use crate::entities::{enrollment, partner, program, tier};
use crate::{access::audit, db::begin_write, timeline, Error, Result};
use chrono::{DateTime, Utc};
use lifecycle::{Change, Outcome};
use models::{CustomFieldDef, EnrollmentStatus, PartnerEmail, PartnerFields, Role};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    Set,
};
use std::collections::BTreeMap;

/// A new partner.
#[derive(Debug, Clone, Default)]
pub struct NewPartner {
    /// Email, unique in the account.
    pub email: String,
    /// Name and the other fields (name required).
    pub fields: PartnerFields,
    /// Enroll in this program too.
    pub program_id: Option<i64>,
    /// Status of that enrollment (default: active when the program auto-approves, else pending).
    pub status: Option<EnrollmentStatus>,
}

/// Loads a partner of the account.
pub async fn find(db: &impl ConnectionTrait, account_id: i64, id: i64) -> Result<partner::Model> {
    crate::db::find_in_account(db, partner::Column::AccountId, account_id, id, "partner").await
}

fn opt_text(field: &str, v: &str, max: usize) -> Result<Option<String>> {
    Error::check_line(field, v)?;
    let t = v.trim();
    if t.chars().count() > max {
        return Err(Error::invalid(field, format!("at most {max} characters")));
    }
    Ok((!t.is_empty()).then(|| t.to_string()))
}

/// The checked values of `f` applied over `p`'s; returns the descriptions of what changed.
async fn apply_fields(
    db: &impl ConnectionTrait,
    account_id: i64,
    p: &mut partner::Model,
    f: &PartnerFields,
    defs: &[CustomFieldDef],
) -> Result<Vec<String>> {
    let mut changed = Vec::new();
    if let Some(name) = &f.name {
        Error::check_line("name", name)?;
        let n = name.trim();
        if n.is_empty() || n.chars().count() > 200 {
            return Err(Error::invalid("name", "give a name of 1 to 200 characters"));
        }
        if p.name != n {
            p.name = n.to_string();
            changed.push("name".into());
        }
    }
    macro_rules! text_field {
        ($f:ident, $max:expr) => {
            if let Some(v) = &f.$f {
                let v = opt_text(stringify!($f), v, $max)?;
                if p.$f != v {
                    p.$f = v;
                    changed.push(stringify!($f).to_string());
                }
            }
        };
    }
    text_field!(company, 200);
    text_field!(source, 100);
    text_field!(phone, 40);
    if let Some(w) = &f.website {
        let w = match w.trim() {
            "" => None,
            t => Some(crate::programs::parse_web_url("website", t)?.0.to_string()),
        };
        if p.website != w {
            p.website = w;
            changed.push("website".into());
        }
    }
    if let Some(c) = &f.country {
        let c = match c.trim() {
            "" => None,
            t if t.len() == 2 && t.chars().all(|c| c.is_ascii_alphabetic()) => Some(t.to_uppercase()),
            t => return Err(Error::invalid("country", format!("'{t}' is not a two-letter country code"))),
        };
        if p.country != c {
            p.country = c;
            changed.push("country".into());
        }
    }
    if let Some(owner) = f.owner_user_id {
        if let Some(o) = owner {
            if !directory::owners(db, account_id).await?.iter().any(|m| m.id == o) {
                return Err(Error::invalid("owner_user_id", "not an active team member of this account who can own partners"));
            }
        }
        if p.owner_user_id != owner {
            p.owner_user_id = owner;
            changed.push("owner".into());
        }
    }
    let current = custom_fields::parse_stored(&p.custom);
    let merged = custom_fields::merge(defs, &current, &f.custom)?;
    if merged != current {
        p.custom = serde_json::to_string(&merged).map_err(|e| Error::Internal(e.to_string()))?;
        changed.extend(
            merged
                .keys()
                .chain(current.keys())
                .filter(|k| merged.get(*k) != current.get(*k))
                .map(|k| format!("custom.{k}"))
                .collect::<std::collections::BTreeSet<_>>(),
        );
    }
    Ok(changed)
}

/// Creates a partner (program managers and admins; relationship owners for partners they
/// will own). A duplicate email in the account is a conflict.
pub async fn create(db: &DatabaseConnection, now: DateTime<Utc>, actor: &Actor, input: &NewPartner) -> Result<i64> {
    let txn = begin_write(db).await?;
    // Enrolling at once: relationship owners (the partner will be theirs), or someone who may
    // edit the program.
    if let Some(program_id) = input.program_id {
        if !actor.has_any(&[Role::RelationshipOwner]) && !crate::programs::settings::can_edit(&txn, actor, program_id).await? {
            return Err(Error::Forbidden);
        }
    }
    let id = create_in(&txn, now, actor, input).await?;
    txn.commit().await?;
    Ok(id)
}

/// [`create`] inside the caller's transaction.
pub async fn create_in(txn: &DatabaseTransaction, now: DateTime<Utc>, actor: &Actor, input: &NewPartner) -> Result<i64> {
    let owner_after = input.fields.owner_user_id.flatten();
    if !actor.can_edit_partner(owner_after) {
        return Err(Error::Forbidden);
    }
    Error::check_line("email", &input.email)?;
    let email = PartnerEmail::parse(&input.email).map_err(Error::field("email"))?;
    if partner::Entity::find()
        .filter(partner::Column::AccountId.eq(actor.account_id))
        .filter(partner::Column::Email.eq(email.as_str()))
        .count(txn)
        .await?
        > 0
    {
        return Err(Error::Conflict(format!("a partner with the email {} already exists", email.as_str())));
    }
    if input.fields.name.as_deref().is_none_or(|n| n.trim().is_empty()) {
        return Err(Error::invalid("name", "a partner needs a name"));
    }
    let defs = custom_fields::defs(txn, actor.account_id).await?;
    let mut p = partner::Model {
        id: 0,
        account_id: actor.account_id,
        email: email.as_str().to_string(),
        name: String::new(),
        company: None,
        source: None,
        owner_user_id: None,
        phone: None,
        website: None,
        country: None,
        custom: "{}".into(),
        created_at: now,
        updated_at: now,
        payout_method: None,
        payout_account: None,
        tax_id: None,
    };
    apply_fields(txn, actor.account_id, &mut p, &input.fields, &defs).await?;
    let saved = partner::ActiveModel {
        account_id: Set(p.account_id),
        email: Set(p.email.clone()),
        name: Set(p.name.clone()),
        company: Set(p.company.clone()),
        source: Set(p.source.clone()),
        owner_user_id: Set(p.owner_user_id),
        phone: Set(p.phone.clone()),
        website: Set(p.website.clone()),
        country: Set(p.country.clone()),
        custom: Set(p.custom.clone()),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    custom_fields::write_values(txn, actor.account_id, saved.id, &custom_fields::parse_stored(&saved.custom)).await?;
    timeline::record(
        txn,
        timeline::Event::partner(
            actor.account_id,
            saved.id,
            "created",
            &actor.label(),
            format!("Partner {} <{}> added", saved.name, saved.email),
            now,
        ),
    )
    .await?;
    audit::record(
        txn,
        actor,
        now,
        audit::Change { kind: "partner_created", subject: format!("{} <{}>", saved.name, saved.email), before: None, after: None },
    )
    .await?;
    if let Some(program_id) = input.program_id {
        enroll_in(txn, now, actor, &saved, program_id, input.status).await?;
    }
    Ok(saved.id)
}

/// Enrolls a partner in a program in its lowest tier; the status defaults to active when the
/// program approves automatically, else pending.
pub async fn enroll_in(
    txn: &DatabaseTransaction,
    now: DateTime<Utc>,
    actor: &Actor,
    p: &partner::Model,
    program_id: i64,
    status: Option<EnrollmentStatus>,
) -> Result<enrollment::Model> {
    let prog = program::Entity::find_by_id(program_id)
        .filter(program::Column::AccountId.eq(p.account_id))
        .one(txn)
        .await?
        .ok_or_else(|| Error::invalid("program_id", "no such program in this account"))?;
    if prog.archived_at.is_some() {
        return Err(Error::invalid("program_id", format!("{} is archived and takes no new enrollments", prog.name)));
    }
    if enrollment::Entity::find()
        .filter(enrollment::Column::PartnerId.eq(p.id))
        .filter(enrollment::Column::ProgramId.eq(program_id))
        .count(txn)
        .await?
        > 0
    {
        return Err(Error::Conflict(format!("{} is already enrolled in {}", p.name, prog.name)));
    }
    let lowest = tier::Entity::find()
        .filter(tier::Column::ProgramId.eq(program_id))
        .order_by_asc(tier::Column::Rank)
        .one(txn)
        .await?
        .ok_or(Error::Internal("program without tiers".into()))?;
    let status = status.unwrap_or(if prog.auto_approve { EnrollmentStatus::Active } else { EnrollmentStatus::Pending });
    let e = enrollment::ActiveModel {
        account_id: Set(p.account_id),
        partner_id: Set(p.id),
        program_id: Set(program_id),
        status: Set(status.as_str().into()),
        tier_id: Set(lowest.id),
        commission_kind: Set(None),
        commission_value: Set(None),
        joined_at: Set(now),
        status_changed_at: Set(now),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    timeline::record(
        txn,
        timeline::Event::partner(
            p.account_id,
            p.id,
            "enrolled",
            &actor.label(),
            format!("Enrolled in {} as {} ({})", prog.name, lowest.name, status.label().to_lowercase()),
            now,
        )
        .for_enrollment(e.id)
        .with_data(serde_json::json!({"program_id": program_id, "status": status})),
    )
    .await?;
    crate::events::publish(txn, now, crate::events::Event::Enrolled { enrollment: &e, active: status == EnrollmentStatus::Active }).await?;
    audit::record(
        txn,
        actor,
        now,
        audit::Change { kind: "partner_enrolled", subject: format!("{} / {}", p.name, prog.name), before: None, after: Some(status.as_str().into()) },
    )
    .await?;
    Ok(e)
}

/// Changes a partner's contact details, source, owner or custom attributes. Relationship owners
/// may edit their own partners but not hand them to someone else.
pub async fn update(db: &DatabaseConnection, now: DateTime<Utc>, actor: &Actor, id: i64, fields: &PartnerFields) -> Result<Vec<String>> {
    let txn = begin_write(db).await?;
    let changed = update_in(&txn, now, actor, id, fields).await?;
    txn.commit().await?;
    Ok(changed)
}

/// [`update`] inside the caller's transaction; returns what changed.
pub async fn update_in(txn: &impl ConnectionTrait, now: DateTime<Utc>, actor: &Actor, id: i64, fields: &PartnerFields) -> Result<Vec<String>> {
    actor.require_team()?;
    let before = find(txn, actor.account_id, id).await?;
    if !actor.can_edit_partner(before.owner_user_id) {
        return Err(Error::Forbidden);
    }
    if fields.owner_user_id.is_some_and(|o| o != before.owner_user_id) && !actor.has_any(&[Role::ProgramManager]) {
        return Err(Error::Forbidden);
    }
    let defs = custom_fields::defs(txn, actor.account_id).await?;
    let mut p = before.clone();
    let changed = apply_fields(txn, actor.account_id, &mut p, fields, &defs).await?;
    if changed.is_empty() {
        return Ok(changed);
    }
    let mut a: partner::ActiveModel = before.clone().into();
    a.name = Set(p.name.clone());
    a.company = Set(p.company.clone());
    a.source = Set(p.source.clone());
    a.phone = Set(p.phone.clone());
    a.website = Set(p.website.clone());
    a.country = Set(p.country.clone());
    a.owner_user_id = Set(p.owner_user_id);
    a.custom = Set(p.custom.clone());
    a.updated_at = Set(now);
    a.update(txn).await?;
    if p.custom != before.custom {
        custom_fields::write_values(txn, actor.account_id, id, &custom_fields::parse_stored(&p.custom)).await?;
    }
    let show = |m: &partner::Model| {
        serde_json::json!({
            "name": m.name, "company": m.company, "source": m.source, "phone": m.phone, "website": m.website,
            "country": m.country, "owner_user_id": m.owner_user_id, "custom": custom_fields::parse_stored(&m.custom),
        })
    };
    timeline::record(
        txn,
        timeline::Event::partner(actor.account_id, id, "profile_updated", &actor.label(), format!("Changed {}", changed.join(", ")), now)
            .with_data(serde_json::json!({"before": show(&before), "after": show(&p)})),
    )
    .await?;
    audit::record(
        txn,
        actor,
        now,
        audit::Change {
            kind: "partner_updated",
            subject: format!("{} <{}>", p.name, p.email),
            before: Some(show(&before).to_string()),
            after: Some(show(&p).to_string()),
        },
    )
    .await?;
    Ok(changed)
}

/// Changes one enrollment of a partner (status, tier or custom commission).
pub async fn change_enrollment(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    actor: &Actor,
    partner_id: i64,
    program_id: i64,
    change: &Change,
) -> Result<Outcome> {
    actor.require_team()?;
    let txn = begin_write(db).await?;
    let p = find(&txn, actor.account_id, partner_id).await?;
    if !actor.can_edit_partner(p.owner_user_id) {
        return Err(Error::Forbidden);
    }
    let out = change_in(&txn, now, actor, &p, program_id, change).await?;
    txn.commit().await?;
    Ok(out)
}

/// [`change_enrollment`] inside the caller's transaction, for a partner the actor may edit.
/// Refuses a team member acting on `p`'s enrollment in `program_id` unless they own the partner
/// (relationship owners) or may edit the program (its managers, admins).
async fn may_act_in(txn: &impl ConnectionTrait, actor: &Actor, p: &partner::Model, program_id: i64) -> Result<()> {
    let owner = actor.has_any(&[Role::RelationshipOwner]) && p.owner_user_id == Some(actor.user_id);
    if owner || crate::programs::settings::can_edit(txn, actor, program_id).await? {
        Ok(())
    } else {
        Err(Error::Forbidden)
    }
}

async fn change_in(
    txn: &DatabaseTransaction,
    now: DateTime<Utc>,
    actor: &Actor,
    p: &partner::Model,
    program_id: i64,
    change: &Change,
) -> Result<Outcome> {
    may_act_in(txn, actor, p, program_id).await?;
    let e = crate::db::enrollment_of(txn, p.id, program_id).await?.ok_or(Error::NotFound("enrollment"))?;
    let prog = program::Entity::find_by_id(program_id).one(txn).await?.ok_or(Error::NotFound("program"))?;
    lifecycle::apply(txn, actor, now, &prog, &e, &p.name, change).await
}

/// An enrollment change that comes with a field edit (`PATCH /api/v1/partners/{id}`).
pub struct EnrollmentPatch {
    /// The program; a partner not enrolled in it yet is enrolled (in `status`, default pending).
    pub program_id: i64,
    /// The new status.
    pub status: Option<EnrollmentStatus>,
    /// Why (timeline and audit).
    pub reason: Option<String>,
    /// The new tier, by name.
    pub tier: Option<String>,
}

/// Field edits and an enrollment change in one transaction: a refused transition leaves the
/// partner exactly as it was.
pub async fn patch(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    actor: &Actor,
    id: i64,
    fields: &PartnerFields,
    change: Option<&EnrollmentPatch>,
) -> Result<()> {
    actor.require_team()?;
    let txn = begin_write(db).await?;
    update_in(&txn, now, actor, id, fields).await?;
    if let Some(c) = change {
        let p = find(&txn, actor.account_id, id).await?;
        let enrolled = crate::db::enrollment_of(&txn, id, c.program_id).await?.is_some();
        if !enrolled {
            may_act_in(&txn, actor, &p, c.program_id).await?;
            enroll_in(&txn, now, actor, &p, c.program_id, c.status).await?;
        } else if let Some(s) = c.status {
            change_in(&txn, now, actor, &p, c.program_id, &Change::Status(s, c.reason.clone())).await?;
        }
        if let Some(t) = &c.tier {
            change_in(&txn, now, actor, &p, c.program_id, &Change::Tier(t.clone())).await?;
        }
    }
    txn.commit().await?;
    Ok(())
}

/// Enrolls an existing partner in a program (see [`enroll_in`]).
pub async fn enroll(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    actor: &Actor,
    partner_id: i64,
    program_id: i64,
    status: Option<EnrollmentStatus>,
) -> Result<()> {
    actor.require_team()?;
    let txn = begin_write(db).await?;
    let p = find(&txn, actor.account_id, partner_id).await?;
    if !actor.can_edit_partner(p.owner_user_id) {
        return Err(Error::Forbidden);
    }
    may_act_in(&txn, actor, &p, program_id).await?;
    enroll_in(&txn, now, actor, &p, program_id, status).await?;
    txn.commit().await?;
    Ok(())
}

/// Adds a note to a partner's timeline (any team member).
pub async fn add_note(db: &impl ConnectionTrait, now: DateTime<Utc>, actor: &Actor, partner_id: i64, text: &str) -> Result<()> {
    actor.require_team()?;
    Error::check_multiline("note", text)?;
    let text = text.trim();
    if text.is_empty() || text.chars().count() > 5_000 {
        return Err(Error::invalid("note", "write a note of 1 to 5,000 characters"));
    }
    let p = find(db, actor.account_id, partner_id).await?;
    timeline::record(db, timeline::Event::partner(actor.account_id, p.id, "note", &actor.label(), text.to_string(), now)).await
}

/// Partner ids by email (lower case) for a set of emails, for imports.
pub async fn ids_by_email(db: &impl ConnectionTrait, account_id: i64, emails: &[String]) -> Result<BTreeMap<String, partner::Model>> {
    let mut out = BTreeMap::new();
    for chunk in emails.chunks(500) {
        for p in partner::Entity::find()
            .filter(partner::Column::AccountId.eq(account_id))
            .filter(partner::Column::Email.is_in(chunk.iter().cloned()))
            .all(db)
            .await?
        {
            out.insert(p.email.clone(), p);
        }
    }
    Ok(out)
}
