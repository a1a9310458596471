//! Bulk actions over a selection of enrollments or every enrollment matching a filter: change
//! status, tier, custom commission or relationship owner, or add a note. One transaction; each
//! partner's timeline gets its entry; the report says what changed and what was refused and why.

use crate::access::auth::Actor;
use crate::entities::{enrollment, partner, program};
use crate::partners::lifecycle::{self, Change, Outcome};
use crate::{access::audit, db::begin_write, partners, partners::directory, Error, Result};
use chrono::{DateTime, Utc};
use models::{BulkAction, BulkReport, BulkTarget, PartnerFields, Role};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use std::collections::{BTreeSet, HashMap};

/// Largest explicit selection.
pub const MAX_SELECTION: usize = 100_000;

/// Applies `action` to every enrollment of `target`.
pub async fn apply(db: &DatabaseConnection, now: DateTime<Utc>, actor: &Actor, target: &BulkTarget, action: &BulkAction) -> Result<BulkReport> {
    actor.require_any(&[Role::ProgramManager, Role::RelationshipOwner])?;
    if let BulkAction::SetOwner { .. } = action {
        actor.require_any(&[Role::ProgramManager])?;
    }
    let ids: Vec<i64> = match target {
        BulkTarget::Ids { ids } => {
            if ids.len() > MAX_SELECTION {
                return Err(Error::invalid("ids", format!("at most {MAX_SELECTION} at once")));
            }
            ids.iter().copied().collect::<BTreeSet<_>>().into_iter().collect()
        }
        BulkTarget::Filter { query } => directory::matching_ids(db, actor, query).await?,
    };
    if ids.is_empty() {
        return Err(Error::invalid("selection", "select at least one partner"));
    }
    let change = match action {
        BulkAction::SetStatus { status, reason } => Some(Change::Status(*status, reason.clone())),
        BulkAction::SetTier { tier } => Some(Change::Tier(tier.clone())),
        BulkAction::SetCommission { commission } => Some(Change::Commission(commission.clone())),
        BulkAction::SetOwner { .. } | BulkAction::AddNote { .. } => None,
    };
    if let BulkAction::AddNote { text } = action {
        if text.trim().is_empty() {
            return Err(Error::invalid("note", "write the note first"));
        }
    }

    let txn = begin_write(db).await?;
    let mut report = BulkReport { selected: ids.len() as u64, ..Default::default() };
    let mut programs: HashMap<i64, program::Model> = HashMap::new();
    let mut partners_done: BTreeSet<i64> = BTreeSet::new();
    for chunk in ids.chunks(500) {
        let rows = enrollment::Entity::find()
            .filter(enrollment::Column::AccountId.eq(actor.account_id))
            .filter(enrollment::Column::Id.is_in(chunk.iter().copied()))
            .all(&txn)
            .await?;
        let owners = crate::db::rows_by_id(&txn, partner::Column::Id, rows.iter().map(|e| e.partner_id).collect::<BTreeSet<_>>()).await?;
        let found: BTreeSet<i64> = rows.iter().map(|e| e.id).collect();
        for id in chunk.iter().filter(|id| !found.contains(id)) {
            report.refused.push((format!("enrollment {id}"), "not found".into()));
        }
        for e in rows {
            let p = owners.get(&e.partner_id).cloned().ok_or(Error::Internal("enrollment without partner".into()))?;
            if !actor.can_edit_partner(p.owner_user_id) {
                report.refused.push((p.name.clone(), "not one of your partners".into()));
                continue;
            }
            let result =
                match (&change, action) {
                    (Some(c), _) => {
                        if !programs.contains_key(&e.program_id) {
                            let prog = program::Entity::find_by_id(e.program_id).one(&txn).await?.ok_or(Error::NotFound("program"))?;
                            programs.insert(prog.id, prog);
                        }
                        lifecycle::apply(&txn, actor, now, &programs[&e.program_id], &e, &p.name, c).await
                    }
                    // Partner-level actions apply once per partner, however many of its
                    // enrollments are selected.
                    (None, _) if !partners_done.insert(p.id) => Ok(Outcome::Unchanged),
                    (None, BulkAction::SetOwner { owner }) => {
                        let fields = PartnerFields { owner_user_id: Some(*owner), ..Default::default() };
                        partners::update_in(&txn, now, actor, p.id, &fields).await.map(|c| {
                            if c.is_empty() {
                                Outcome::Unchanged
                            } else {
                                Outcome::Changed
                            }
                        })
                    }
                    (None, BulkAction::AddNote { text }) => partners::add_note(&txn, now, actor, p.id, text).await.map(|_| Outcome::Changed),
                    (None, _) => Err(Error::Internal("bulk action without a change".into())),
                };
            match result {
                Ok(Outcome::Changed) => report.changed += 1,
                Ok(Outcome::Unchanged) => report.unchanged += 1,
                Err(Error::Invalid { message, .. }) => report.refused.push((p.name.clone(), message)),
                Err(Error::Conflict(m)) => report.refused.push((p.name.clone(), m)),
                Err(Error::Forbidden) => report.refused.push((p.name.clone(), "not allowed for your role".into())),
                Err(other) => return Err(other),
            }
        }
    }
    audit::record(
        &txn,
        actor,
        now,
        audit::Change {
            kind: "bulk_action",
            subject: format!("{} enrollments", report.selected),
            before: None,
            after: Some(format!(
                "{} — {} changed, {} unchanged, {} refused",
                serde_json::to_string(action).unwrap_or_default(),
                report.changed,
                report.unchanged,
                report.refused.len()
            )),
        },
    )
    .await?;
    txn.commit().await?;
    Ok(report)
}
