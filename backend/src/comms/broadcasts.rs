//! Broadcasts: one email to a saved segment's active partners or to every active partner of a
//! program, now or at a set time. Each recipient gets an outbox email (kind `broadcast`, tied to
//! the broadcast) in the same transaction that marks the broadcast sent, so a broadcast goes out
//! exactly once; its sent, delivered and opened counts come from those emails. Partners see the
//! broadcasts they received as announcements in the portal.

use crate::access::audit::{self, Change};
use crate::access::auth::Actor;
use crate::entities::{broadcast, enrollment, outbox_email, partner, program, segment};
use crate::outbox::{self, NewEmail};
use crate::report::Report;
use crate::{db::begin_write, partners::segments, Error, Result};
use chrono::{DateTime, NaiveDateTime, Utc};
use models::{Announcement, BroadcastInput, BroadcastPreview, BroadcastRow, BroadcastsPage, Role};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use std::collections::BTreeMap;

fn fmt(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// Recipients of an audience: partner id → (program id, name, email), active enrollments only.
async fn audience(
    db: &impl ConnectionTrait,
    actor: &Actor,
    segment_id: Option<i64>,
    program_id: Option<i64>,
) -> Result<(String, BTreeMap<i64, (i64, String, String)>)> {
    let (label, mut find) = match (segment_id, program_id) {
        (Some(sid), None) => {
            let (seg, _) = segments::find(db, actor.account_id, sid).await?;
            let ids = segments::members(db, actor, sid).await?;
            (format!("segment “{}”", seg.name), enrollment::Entity::find().filter(enrollment::Column::Id.is_in(ids)))
        }
        (None, Some(pid)) => {
            let prog = crate::db::find_in_account(db, program::Column::AccountId, actor.account_id, pid, "program").await?;
            (format!("all active partners of {}", prog.name), enrollment::Entity::find().filter(enrollment::Column::ProgramId.eq(pid)))
        }
        _ => return Err(Error::invalid("audience", "choose a segment or a program")),
    };
    find = find.filter(enrollment::Column::AccountId.eq(actor.account_id)).filter(enrollment::Column::Status.eq("active"));
    let enrollments = find.order_by_asc(enrollment::Column::Id).all(db).await?;
    let mut by_partner: BTreeMap<i64, i64> = BTreeMap::new();
    for e in enrollments {
        by_partner.entry(e.partner_id).or_insert(e.program_id);
    }
    let mut out = BTreeMap::new();
    for chunk in by_partner.keys().copied().collect::<Vec<_>>().chunks(1000) {
        for p in partner::Entity::find().filter(partner::Column::Id.is_in(chunk.to_vec())).all(db).await? {
            out.insert(p.id, (by_partner[&p.id], p.name, p.email));
        }
    }
    Ok((format!("{label} ({} partners)", out.len()), out))
}

/// Who a broadcast would reach.
pub async fn preview(db: &impl ConnectionTrait, actor: &Actor, segment_id: Option<i64>, program_id: Option<i64>) -> Result<BroadcastPreview> {
    actor.require_team()?;
    let (label, r) = audience(db, actor, segment_id, program_id).await?;
    Ok(BroadcastPreview { recipients: r.len() as u64, sample: r.values().take(5).map(|v| v.1.clone()).collect(), audience: label })
}

fn parse_send_at(s: &str) -> Result<DateTime<Utc>> {
    let s = s.trim();
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M").map(|t| t.and_utc()))
        .map_err(|_| Error::invalid("send_at", "a date and time such as 2026-12-01T09:00"))
}

/// Writes a broadcast: sent at once, or scheduled for `send_at` (the `broadcasts` job sends it).
pub async fn create(db: &DatabaseConnection, now: DateTime<Utc>, actor: &Actor, input: &BroadcastInput) -> Result<i64> {
    actor.require_any(&[Role::ProgramManager])?;
    let subject = input.subject.trim();
    if subject.is_empty() || subject.chars().count() > 200 {
        return Err(Error::invalid("subject", "between 1 and 200 characters"));
    }
    let body = input.body.trim();
    if body.is_empty() || body.chars().count() > 20_000 {
        return Err(Error::invalid("body", "between 1 and 20,000 characters"));
    }
    crate::comms::templates::check("subject", subject)?;
    crate::comms::templates::check("body", body)?;
    let send_at = match input.send_at.as_deref().filter(|s| !s.trim().is_empty()) {
        Some(s) => parse_send_at(s)?,
        None => now,
    };
    if send_at < now - chrono::Duration::minutes(5) {
        return Err(Error::invalid("send_at", "is in the past"));
    }
    // A program's partners hear from that program's managers (or an admin), not from others.
    if let Some(p) = input.program_id {
        crate::programs::settings::require_edit(db, actor, p).await?;
    }
    let (label, recipients) = audience(db, actor, input.segment_id, input.program_id).await?;
    if recipients.is_empty() {
        return Err(Error::invalid("audience", "reaches no active partner"));
    }
    let txn = begin_write(db).await?;
    let b = broadcast::ActiveModel {
        account_id: Set(actor.account_id),
        program_id: Set(input.program_id),
        segment_id: Set(input.segment_id),
        audience: Set(label),
        subject: Set(subject.to_string()),
        body: Set(body.to_string()),
        status: Set("scheduled".into()),
        send_at: Set(send_at),
        sent_at: Set(None),
        recipients: Set(0),
        created_by: Set(actor.label()),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    audit::record(&txn, actor, now, Change { kind: "broadcast_created", subject: b.subject.clone(), before: None, after: Some(b.audience.clone()) })
        .await?;
    if send_at <= now {
        send(&txn, now, actor, &b, &recipients).await?;
    }
    txn.commit().await?;
    Ok(b.id)
}

/// Queues one email per recipient and marks the broadcast sent; the guarded status change makes
/// a second sender (a second replica's job) a no-op.
async fn send(
    txn: &impl ConnectionTrait,
    now: DateTime<Utc>,
    actor: &Actor,
    b: &broadcast::Model,
    recipients: &BTreeMap<i64, (i64, String, String)>,
) -> Result<bool> {
    let claimed = broadcast::Entity::update_many()
        .col_expr(broadcast::Column::Status, Expr::value("sent"))
        .col_expr(broadcast::Column::SentAt, Expr::value(now))
        .col_expr(broadcast::Column::Recipients, Expr::value(recipients.len() as i32))
        .filter(broadcast::Column::Id.eq(b.id))
        .filter(broadcast::Column::Status.eq("scheduled"))
        .exec(txn)
        .await?
        .rows_affected;
    if claimed == 0 {
        return Ok(false);
    }
    let programs: BTreeMap<i64, String> =
        crate::db::names(txn, (program::Column::Id, program::Column::Name), program::Column::AccountId.eq(actor.account_id), program::Column::Id)
            .await?;
    // Names and the program come from the audience; other variables (tier, earnings, …) are
    // read per recipient, only when the text uses them.
    let simple = |t: &str| crate::comms::templates::variables_in(t).iter().all(|v| matches!(v.as_str(), "name" | "partner_name" | "program"));
    let per_recipient = !(simple(&b.subject) && simple(&b.body));
    for (pid, (program_id, name, email)) in recipients {
        let mut vars = crate::comms::templates::Vars::default();
        if per_recipient {
            if let Some(e) = crate::db::enrollment_of(txn, *pid, *program_id).await? {
                vars = crate::comms::templates::vars(txn, &e, now).await?;
            }
        }
        vars.set("partner_name", name.clone());
        vars.set("program", programs.get(program_id).cloned().unwrap_or_default());
        let fill = |s: &str| crate::comms::templates::fill(s, &vars);
        outbox::queue(
            txn,
            now,
            NewEmail {
                account_id: actor.account_id,
                program_id: Some(*program_id),
                partner_id: Some(*pid),
                kind: "broadcast",
                to: email,
                subject: fill(&b.subject),
                text: fill(&b.body),
                dedupe_key: Some(format!("broadcast:{}:{pid}", b.id)),
            },
        )
        .await?;
    }
    outbox_email::Entity::update_many()
        .col_expr(outbox_email::Column::BroadcastId, Expr::value(b.id))
        .filter(outbox_email::Column::DedupeKey.starts_with(format!("broadcast:{}:", b.id)))
        .exec(txn)
        .await?;
    Ok(true)
}

/// The scheduler job: sends every scheduled broadcast that is due.
pub async fn send_due(db: &DatabaseConnection, now: DateTime<Utc>) -> Result<Report> {
    let mut report = Report::default();
    let due = broadcast::Entity::find().filter(broadcast::Column::Status.eq("scheduled")).filter(broadcast::Column::SendAt.lte(now)).all(db).await?;
    for b in due {
        report.examined += 1;
        // The audience is taken when the broadcast goes out, as its author's team sees it.
        let actor = Actor::api(b.account_id);
        let (_, recipients) = audience(db, &actor, b.segment_id, b.program_id).await?;
        let txn = begin_write(db).await?;
        if send(&txn, now, &actor, &b, &recipients).await? {
            report.changed += 1;
        }
        txn.commit().await?;
    }
    Ok(report)
}

/// Emails, delivered and opened per broadcast (of one program's partners when given).
async fn figures(db: &impl ConnectionTrait, ids: Vec<i64>, program_id: Option<i64>) -> Result<BTreeMap<i64, (i64, i64, i64)>> {
    let mut q = outbox_email::Entity::find()
        .select_only()
        .column(outbox_email::Column::BroadcastId)
        .column_as(outbox_email::Column::Id.count(), "n")
        .column_as(outbox_email::Column::SentAt.count(), "delivered")
        .column_as(outbox_email::Column::OpenedAt.count(), "opened")
        .filter(outbox_email::Column::BroadcastId.is_in(ids));
    if let Some(p) = program_id {
        q = q.filter(outbox_email::Column::ProgramId.eq(p));
    }
    let counts: Vec<(Option<i64>, i64, i64, i64)> = q.group_by(outbox_email::Column::BroadcastId).into_tuple().all(db).await?;
    Ok(counts.into_iter().filter_map(|(b, n, d, o)| b.map(|b| (b, (n, d, o)))).collect())
}

fn row(b: broadcast::Model, counts: &BTreeMap<i64, (i64, i64, i64)>) -> BroadcastRow {
    let (n, delivered, opened) = counts.get(&b.id).copied().unwrap_or((0, 0, 0));
    BroadcastRow {
        id: b.id,
        subject: b.subject,
        audience: b.audience,
        status: b.status,
        send_at: fmt(b.sent_at.unwrap_or(b.send_at)),
        recipients: n as u64,
        delivered: delivered as u64,
        opened: opened as u64,
        open_rate: if delivered > 0 { format!("{:.1}%", opened as f64 * 100.0 / delivered as f64) } else { "—".into() },
    }
}

/// Broadcasts sent since `since` (newest first, at most 10) with their figures, for the
/// analytics dashboard; with a program, only broadcasts that reached its partners, counted over them.
pub async fn recent(db: &impl ConnectionTrait, account_id: i64, program_id: Option<i64>, since: DateTime<Utc>) -> Result<Vec<BroadcastRow>> {
    let rows = broadcast::Entity::find()
        .filter(broadcast::Column::AccountId.eq(account_id))
        .filter(broadcast::Column::Status.eq("sent"))
        .filter(broadcast::Column::SentAt.gte(since))
        .order_by_desc(broadcast::Column::SentAt)
        .limit(50)
        .all(db)
        .await?;
    let counts = figures(db, rows.iter().map(|b| b.id).collect(), program_id).await?;
    Ok(rows.into_iter().filter(|b| counts.contains_key(&b.id)).take(10).map(|b| row(b, &counts)).collect())
}

/// Broadcasts of the account, newest first, with their figures.
pub async fn list(db: &impl ConnectionTrait, actor: &Actor) -> Result<BroadcastsPage> {
    actor.require_team()?;
    let rows = broadcast::Entity::find()
        .filter(broadcast::Column::AccountId.eq(actor.account_id))
        .order_by_desc(broadcast::Column::Id)
        .limit(100)
        .all(db)
        .await?;
    let counts = figures(db, rows.iter().map(|b| b.id).collect(), None).await?;
    let items = rows.into_iter().map(|b| row(b, &counts)).collect();
    let segments =
        crate::db::names(db, (segment::Column::Id, segment::Column::Name), segment::Column::AccountId.eq(actor.account_id), segment::Column::Name)
            .await?;
    let programs = crate::programs::open_names(db, actor.account_id).await?;
    Ok(BroadcastsPage { items, segments, programs, can_send: actor.has_any(&[Role::ProgramManager]) })
}

/// Broadcasts a partner received, newest first.
pub async fn announcements(db: &impl ConnectionTrait, actor: &Actor) -> Result<Vec<Announcement>> {
    let Some(pid) = actor.partner_id else {
        return Ok(Vec::new());
    };
    Ok(outbox_email::Entity::find()
        .filter(outbox_email::Column::AccountId.eq(actor.account_id))
        .filter(outbox_email::Column::PartnerId.eq(pid))
        .filter(outbox_email::Column::BroadcastId.is_not_null())
        .order_by_desc(outbox_email::Column::Id)
        .limit(20)
        .all(db)
        .await?
        .into_iter()
        .map(|e| Announcement { subject: e.subject, body: e.body_text, at: fmt(e.created_at) })
        .collect())
}
