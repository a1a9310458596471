//! Segments: saved directory filters with live counts. A segment is the audience of bulk
//! actions now and of broadcasts later; its members are whoever matches its filter at the time.

use crate::access::auth::Actor;
use crate::entities::segment;
use crate::{access::audit, partners::custom_fields, partners::directory, Error, Result};
use chrono::{DateTime, Utc};
use models::{DirectoryQuery, Role, SegmentView};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set};

/// The filter a segment keeps: paging dropped.
fn stored_query(q: &DirectoryQuery) -> DirectoryQuery {
    DirectoryQuery { page: 0, per_page: 0, sort: None, desc: false, ..q.clone() }
}

/// Loads a segment of the account.
pub async fn find(db: &impl ConnectionTrait, account_id: i64, id: i64) -> Result<(segment::Model, DirectoryQuery)> {
    let s = crate::db::find_in_account(db, segment::Column::AccountId, account_id, id, "segment").await?;
    let q = serde_json::from_str(&s.query).map_err(|e| Error::Internal(format!("segment {id}: {e}")))?;
    Ok((s, q))
}

/// Saves the filter as a named segment (any team member but analytics viewers and finance).
pub async fn save(db: &impl ConnectionTrait, actor: &Actor, now: DateTime<Utc>, name: &str, q: &DirectoryQuery) -> Result<i64> {
    actor.require_any(&[Role::ProgramManager, Role::RelationshipOwner])?;
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(Error::invalid("name", "give the segment a name of 1 to 100 characters"));
    }
    let q = directory::normalise(&stored_query(q), &custom_fields::defs(db, actor.account_id).await?)?;
    if segment::Entity::find().filter(segment::Column::AccountId.eq(actor.account_id)).filter(segment::Column::Name.eq(name)).count(db).await? > 0 {
        return Err(Error::Conflict(format!("a segment named '{name}' exists already")));
    }
    let json = serde_json::to_string(&q).map_err(|e| Error::Internal(e.to_string()))?;
    let s = segment::ActiveModel {
        account_id: Set(actor.account_id),
        name: Set(name.to_string()),
        query: Set(json.clone()),
        created_by: Set(Some(actor.user_id).filter(|u| *u != 0)),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    audit::record(db, actor, now, audit::Change { kind: "segment_saved", subject: name.to_string(), before: None, after: Some(json) }).await?;
    Ok(s.id)
}

/// Deletes a segment (its creator, program managers and admins).
pub async fn delete(db: &impl ConnectionTrait, actor: &Actor, now: DateTime<Utc>, id: i64) -> Result<()> {
    actor.require_team()?;
    let (s, _) = find(db, actor.account_id, id).await?;
    if !(actor.has_any(&[Role::ProgramManager]) || s.created_by == Some(actor.user_id)) {
        return Err(Error::Forbidden);
    }
    segment::Entity::delete_by_id(s.id).exec(db).await?;
    audit::record(db, actor, now, audit::Change { kind: "segment_deleted", subject: s.name, before: Some(s.query), after: None }).await
}

/// Every segment of the account with its live count.
pub async fn list(db: &impl ConnectionTrait, actor: &Actor) -> Result<Vec<SegmentView>> {
    actor.require_team()?;
    let programs = crate::programs::summaries(db, actor.account_id).await?;
    let owners = directory::owners(db, actor.account_id).await?;
    let mut out = Vec::new();
    for s in segment::Entity::find().filter(segment::Column::AccountId.eq(actor.account_id)).order_by_asc(segment::Column::Name).all(db).await? {
        let q: DirectoryQuery = serde_json::from_str(&s.query).map_err(|e| Error::Internal(format!("segment {}: {e}", s.id)))?;
        // A segment whose custom field was removed since counts as matching nobody.
        let count = match directory::normalise(&q, &custom_fields::defs(db, actor.account_id).await?) {
            Ok(nq) => directory::counts(db, actor.account_id, &nq).await?.of(nq.status),
            Err(_) => 0,
        };
        out.push(SegmentView { id: s.id, name: s.name, description: directory::describe(&q, &programs, &owners), query: q, count });
    }
    Ok(out)
}

/// Enrollment ids of a segment's current members.
pub async fn members(db: &impl ConnectionTrait, actor: &Actor, id: i64) -> Result<Vec<i64>> {
    let (_, q) = find(db, actor.account_id, id).await?;
    directory::matching_ids(db, actor, &q).await
}
