//! In-app messaging: threads between the team and one partner. Team members of the account see
//! every thread of the account (and write to partners they may edit); a partner user sees and
//! writes only its own partner's threads. Each side has an unread count; every message lands on
//! the partner's timeline, and a team message also emails the partner a notice.

use crate::access::auth::Actor;
use crate::entities::{message, message_thread, partner};
use crate::outbox::{self, NewEmail};
use crate::{db::begin_write, timeline, Error, Result};
use chrono::{DateTime, Utc};
use models::{Inbox, MessageView, Role, ThreadRow, ThreadView};
use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr, Query, SelectStatement};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};

/// Longest message.
pub const MAX_BODY: usize = 5_000;

fn fmt(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

fn snippet(s: &str) -> String {
    let one_line = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() > 90 {
        format!("{}…", one_line.chars().take(90).collect::<String>())
    } else {
        one_line
    }
}

fn check_body(body: &str) -> Result<String> {
    Error::check_multiline("body", body)?;
    let body = body.trim();
    if body.is_empty() {
        return Err(Error::invalid("body", "write a message"));
    }
    if body.chars().count() > MAX_BODY {
        return Err(Error::invalid("body", format!("at most {MAX_BODY} characters")));
    }
    Ok(body.to_string())
}

/// Whether a team member may write to this partner (managers and admins to anyone, relationship
/// owners to their own partners; analytics viewers and finance read).
fn team_may_write(actor: &Actor, p: &partner::Model) -> bool {
    actor.has_any(&[Role::ProgramManager, Role::RelationshipOwner]) && actor.can_edit_partner(p.owner_user_id)
}

/// The thread if the actor may see it (else not found: its existence is not revealed).
async fn visible(db: &impl ConnectionTrait, actor: &Actor, id: i64) -> Result<message_thread::Model> {
    let t = crate::db::find_in_account(db, message_thread::Column::AccountId, actor.account_id, id, "thread").await?;
    match actor.partner_id {
        Some(pid) if pid != t.partner_id => Err(Error::NotFound("thread")),
        _ => Ok(t),
    }
}

/// `SELECT column FROM its table WHERE account = account_id AND cond`: a search's subquery.
fn matching<E: EntityTrait>(column: E::Column, account: E::Column, account_id: i64, cond: Expr) -> SelectStatement {
    Query::select().column(column).from(E::default()).and_where(Expr::col(account).eq(account_id)).and_where(cond).to_owned()
}

/// The actor's threads, most recent first; `q` searches subjects, partner names and message text.
pub async fn inbox(db: &impl ConnectionTrait, actor: &Actor, q: Option<&str>) -> Result<Inbox> {
    let mut find = message_thread::Entity::find().filter(message_thread::Column::AccountId.eq(actor.account_id));
    if let Some(pid) = actor.partner_id {
        find = find.filter(message_thread::Column::PartnerId.eq(pid));
    } else {
        actor.require_team()?;
    }
    if let Some(q) = q.map(str::trim).filter(|q| !q.is_empty()) {
        let pattern = crate::db::like_pattern(q);
        let like = |e: Expr| e.like(LikeExpr::new(pattern.clone()).escape('\\'));
        let in_messages = matching::<message::Entity>(
            message::Column::ThreadId,
            message::Column::AccountId,
            actor.account_id,
            like(Expr::expr(Func::lower(Expr::col(message::Column::Body)))),
        );
        let in_partners = matching::<partner::Entity>(
            partner::Column::Id,
            partner::Column::AccountId,
            actor.account_id,
            like(Expr::expr(Func::lower(Expr::col(partner::Column::Name)))),
        );
        find = find.filter(
            Condition::any()
                .add(like(Expr::expr(Func::lower(Expr::col((message_thread::Entity, message_thread::Column::Subject))))))
                .add(Expr::col((message_thread::Entity, message_thread::Column::Id)).in_subquery(in_messages))
                .add(Expr::col((message_thread::Entity, message_thread::Column::PartnerId)).in_subquery(in_partners)),
        );
    }
    let threads = find.order_by_desc(message_thread::Column::LastMessageAt).limit(200).all(db).await?;
    let partner_ids: Vec<i64> = threads.iter().map(|t| t.partner_id).collect();
    let names: std::collections::HashMap<i64, String> =
        crate::db::names(db, (partner::Column::Id, partner::Column::Name), partner::Column::Id.is_in(partner_ids), partner::Column::Id).await?;
    let mut rows = Vec::with_capacity(threads.len());
    for t in threads {
        let last = message::Entity::find().filter(message::Column::ThreadId.eq(t.id)).order_by_desc(message::Column::Id).one(db).await?;
        rows.push(ThreadRow {
            id: t.id,
            partner_id: t.partner_id,
            partner_name: names.get(&t.partner_id).cloned().unwrap_or_default(),
            subject: t.subject,
            last_message_at: fmt(t.last_message_at),
            snippet: last.map(|m| snippet(&m.body)).unwrap_or_default(),
            unread: if actor.partner_id.is_some() { t.partner_unread } else { t.team_unread },
        });
    }
    Ok(Inbox {
        unread: unread(db, actor).await?,
        threads: rows,
        can_write: actor.partner_id.is_some() || actor.has_any(&[Role::ProgramManager, Role::RelationshipOwner]),
        announcements: crate::comms::broadcasts::announcements(db, actor).await?,
    })
}

/// Unread messages of the actor's side over all its threads.
pub async fn unread(db: &impl ConnectionTrait, actor: &Actor) -> Result<i64> {
    let (col, mut find) = match actor.partner_id {
        Some(pid) => (message_thread::Column::PartnerUnread, message_thread::Entity::find().filter(message_thread::Column::PartnerId.eq(pid))),
        None => (message_thread::Column::TeamUnread, message_thread::Entity::find()),
    };
    find = find.filter(message_thread::Column::AccountId.eq(actor.account_id));
    let n: Option<Option<i64>> = find.select_only().column_as(Expr::col(col).sum().cast_as("BIGINT"), "n").into_tuple().one(db).await?;
    Ok(n.flatten().unwrap_or(0))
}

/// A thread with its messages; reading it clears the viewer's unread count.
pub async fn thread(db: &impl ConnectionTrait, actor: &Actor, id: i64) -> Result<ThreadView> {
    let t = visible(db, actor, id).await?;
    let p = partner::Entity::find_by_id(t.partner_id).one(db).await?.ok_or(Error::NotFound("partner"))?;
    let side = if actor.partner_id.is_some() { "partner" } else { "team" };
    let unread_col = if actor.partner_id.is_some() { message_thread::Column::PartnerUnread } else { message_thread::Column::TeamUnread };
    message_thread::Entity::update_many().col_expr(unread_col, Expr::value(0)).filter(message_thread::Column::Id.eq(t.id)).exec(db).await?;
    let messages = message::Entity::find()
        .filter(message::Column::ThreadId.eq(t.id))
        .order_by_asc(message::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|m| MessageView { id: m.id, mine: m.author_kind == side, author: m.author_name, body: m.body, at: fmt(m.created_at) })
        .collect();
    Ok(ThreadView {
        id: t.id,
        partner_id: t.partner_id,
        partner_name: p.name.clone(),
        subject: t.subject,
        messages,
        can_reply: actor.partner_id.is_some() || team_may_write(actor, &p),
    })
}

/// Starts a thread: a team member with a partner (`partner_id`), or a partner user with the team.
pub async fn start(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    actor: &Actor,
    public_url: &str,
    partner_id: Option<i64>,
    subject: &str,
    body: &str,
) -> Result<i64> {
    let subject = subject.trim();
    if subject.is_empty() || subject.chars().count() > 200 {
        return Err(Error::invalid("subject", "between 1 and 200 characters"));
    }
    let body = check_body(body)?;
    let pid = match actor.partner_id {
        Some(own) => own,
        None => partner_id.ok_or_else(|| Error::invalid("partner_id", "choose a partner"))?,
    };
    let txn = begin_write(db).await?;
    let p = crate::partners::find(&txn, actor.account_id, pid).await?;
    if actor.partner_id.is_none() && !team_may_write(actor, &p) {
        return Err(Error::Forbidden);
    }
    let t = message_thread::ActiveModel {
        account_id: Set(actor.account_id),
        partner_id: Set(p.id),
        subject: Set(subject.to_string()),
        created_at: Set(now),
        last_message_at: Set(now),
        team_unread: Set(0),
        partner_unread: Set(0),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    post(&txn, now, actor, public_url, &t, &p, &body).await?;
    txn.commit().await?;
    Ok(t.id)
}

/// Replies in a thread.
pub async fn reply(db: &DatabaseConnection, now: DateTime<Utc>, actor: &Actor, public_url: &str, thread_id: i64, body: &str) -> Result<()> {
    let body = check_body(body)?;
    let txn = begin_write(db).await?;
    let t = visible(&txn, actor, thread_id).await?;
    let p = partner::Entity::find_by_id(t.partner_id).one(&txn).await?.ok_or(Error::NotFound("partner"))?;
    if actor.partner_id.is_none() && !team_may_write(actor, &p) {
        return Err(Error::Forbidden);
    }
    post(&txn, now, actor, public_url, &t, &p, &body).await?;
    txn.commit().await?;
    Ok(())
}

async fn post(
    txn: &impl ConnectionTrait,
    now: DateTime<Utc>,
    actor: &Actor,
    public_url: &str,
    t: &message_thread::Model,
    p: &partner::Model,
    body: &str,
) -> Result<()> {
    let from_partner = actor.partner_id.is_some();
    let author_name = if from_partner { p.name.clone() } else { actor.name.clone() };
    message::ActiveModel {
        thread_id: Set(t.id),
        account_id: Set(t.account_id),
        partner_id: Set(t.partner_id),
        author_kind: Set(if from_partner { "partner" } else { "team" }.into()),
        author_user_id: Set(Some(actor.user_id)),
        author_name: Set(author_name.clone()),
        body: Set(body.to_string()),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    let (col, other) = if from_partner { (message_thread::Column::TeamUnread, "team") } else { (message_thread::Column::PartnerUnread, "partner") };
    message_thread::Entity::update_many()
        .col_expr(col, Expr::col(col).add(1))
        .col_expr(message_thread::Column::LastMessageAt, Expr::value(now))
        .filter(message_thread::Column::Id.eq(t.id))
        .exec(txn)
        .await?;
    timeline::record(
        txn,
        timeline::Event::partner(t.account_id, t.partner_id, "message", &author_name, format!("Message “{}”: {}", t.subject, snippet(body)), now)
            .with_data(serde_json::json!({"thread_id": t.id, "to": other})),
    )
    .await?;
    if !from_partner {
        outbox::queue(
            txn,
            now,
            NewEmail {
                account_id: t.account_id,
                program_id: None,
                partner_id: Some(p.id),
                kind: "message",
                to: &p.email,
                subject: format!("New message: {}", t.subject),
                text: format!(
                    "Hi {},\n\n{} wrote:\n\n{}\n\nReply in your partner portal: {}/portal/messages?thread={}",
                    p.name,
                    author_name,
                    body,
                    public_url.trim_end_matches('/'),
                    t.id
                ),
                dedupe_key: None,
            },
        )
        .await?;
    }
    Ok(())
}
