//! The account's audit trail: every administrative and financial change, with who, what, when,
//! and the values before and after. Append-only; written in the transaction of the change.

use crate::access::auth::Actor;
use crate::entities::audit_entry;
use crate::Result;
use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ConnectionTrait, Set};

/// One change to record.
pub struct Change<'a> {
    /// What kind of change (`partner_status_changed`, `member_invited`, `program_updated`, …).
    pub kind: &'a str,
    /// What it was made to, for people ("Ava Thompson / Demo Store").
    pub subject: String,
    /// The value before (JSON or plain text), if there was one.
    pub before: Option<String>,
    /// The value after, if there is one.
    pub after: Option<String>,
}

/// Appends a change made by `actor` at `at` to its account's audit log.
pub async fn record(db: &impl ConnectionTrait, actor: &Actor, at: DateTime<Utc>, c: Change<'_>) -> Result<()> {
    record_as(db, actor.account_id, &actor.label(), at, c).await
}

/// Appends a change made by a named non-user actor (`api`, `system`, `import`).
pub async fn record_as(db: &impl ConnectionTrait, account_id: i64, actor: &str, at: DateTime<Utc>, c: Change<'_>) -> Result<()> {
    audit_entry::ActiveModel {
        account_id: Set(account_id),
        actor: Set(actor.to_string()),
        kind: Set(c.kind.to_string()),
        subject: Set(c.subject),
        before: Set(c.before),
        after: Set(c.after),
        at: Set(at),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

/// Rows per page of the audit log.
pub const AUDIT_PER_PAGE: u64 = 50;
/// The most rows one CSV export holds.
pub const AUDIT_CSV_MAX: u64 = 100_000;

fn day(field: &str, text: Option<&str>) -> Result<Option<chrono::NaiveDate>> {
    text.map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d").map_err(|_| crate::Error::invalid(field, "use a date like 2026-01-31")))
        .transpose()
}

fn filtered(actor: &Actor, q: &models::AuditQuery) -> Result<sea_orm::Select<audit_entry::Entity>> {
    use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr};
    use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter};
    let mut s = audit_entry::Entity::find().filter(audit_entry::Column::AccountId.eq(actor.account_id));
    if let Some(a) = q.actor.as_deref().filter(|a| !a.is_empty()) {
        s = s.filter(audit_entry::Column::Actor.eq(a));
    }
    if let Some(k) = q.kind.as_deref().filter(|k| !k.is_empty()) {
        s = s.filter(audit_entry::Column::Kind.eq(k));
    }
    if let Some(from) = day("from", q.from.as_deref())? {
        s = s.filter(audit_entry::Column::At.gte(from.and_hms_opt(0, 0, 0).expect("midnight").and_utc()));
    }
    if let Some(to) = day("to", q.to.as_deref())? {
        let end = to.succ_opt().unwrap_or(to).and_hms_opt(0, 0, 0).expect("midnight").and_utc();
        s = s.filter(audit_entry::Column::At.lt(end));
    }
    if let Some(text) = q.q.as_deref().filter(|t| !t.trim().is_empty()) {
        let pattern = crate::db::like_pattern(text);
        let like =
            |c: audit_entry::Column| Expr::expr(Func::lower(Expr::col((audit_entry::Entity, c)))).like(LikeExpr::new(pattern.clone()).escape('\\'));
        s = s.filter(
            Condition::any()
                .add(like(audit_entry::Column::Actor))
                .add(like(audit_entry::Column::Kind))
                .add(like(audit_entry::Column::Subject))
                .add(like(audit_entry::Column::Before))
                .add(like(audit_entry::Column::After)),
        );
    }
    Ok(s)
}

/// A stored value for people: a JSON object becomes one `key: value` line per field.
fn readable(value: Option<String>) -> Option<String> {
    let v = value?;
    match serde_json::from_str::<serde_json::Value>(&v) {
        Ok(serde_json::Value::Object(m)) => Some(
            m.into_iter()
                .map(|(k, v)| match v {
                    serde_json::Value::String(s) => format!("{k}: {s}"),
                    other => format!("{k}: {other}"),
                })
                .collect::<Vec<_>>()
                .join("\n"),
        ),
        _ => Some(v),
    }
}

fn row(e: audit_entry::Model) -> models::AuditRow {
    models::AuditRow {
        id: e.id,
        at: e.at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
        actor: e.actor,
        kind: e.kind,
        subject: e.subject,
        before: readable(e.before),
        after: readable(e.after),
    }
}

/// One page of the account's audit log, newest first, with the actors and kinds to filter by
/// (admins).
pub async fn list(db: &sea_orm::DatabaseConnection, actor: &Actor, q: &models::AuditQuery) -> Result<models::AuditPage> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
    actor.require_admin()?;
    let s = filtered(actor, q)?.order_by_desc(audit_entry::Column::At).order_by_desc(audit_entry::Column::Id);
    let list = crate::db::fetch_page(db, s, q.page, AUDIT_PER_PAGE).await?.map(row);
    let distinct = |c: audit_entry::Column| {
        audit_entry::Entity::find()
            .select_only()
            .column(c)
            .distinct()
            .filter(audit_entry::Column::AccountId.eq(actor.account_id))
            .order_by_asc(c)
            .into_tuple::<String>()
            .all(db)
    };
    Ok(models::AuditPage { list, actors: distinct(audit_entry::Column::Actor).await?, kinds: distinct(audit_entry::Column::Kind).await? })
}

/// Every entry matching the filter as CSV (formula-safe, RFC 4180), newest first (admins).
pub async fn csv(db: &sea_orm::DatabaseConnection, actor: &Actor, q: &models::AuditQuery) -> Result<String> {
    use sea_orm::{QueryOrder, QuerySelect};
    actor.require_admin()?;
    let rows = filtered(actor, q)?.order_by_desc(audit_entry::Column::At).order_by_desc(audit_entry::Column::Id).limit(AUDIT_CSV_MAX).all(db).await?;
    let mut out = vec![["at", "actor", "kind", "subject", "before", "after"].map(String::from).to_vec()];
    for e in rows {
        out.push(vec![
            e.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            e.actor,
            e.kind,
            e.subject,
            e.before.unwrap_or_default(),
            e.after.unwrap_or_default(),
        ]);
    }
    crate::csv_export::to_csv(&out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn json_objects_read_as_one_field_a_line() {
        assert_eq!(super::readable(Some(r#"{"hold_days":"7","auto_approve":true}"#.into())).unwrap(), "auto_approve: true\nhold_days: 7");
        assert_eq!(super::readable(Some("active".into())).unwrap(), "active");
        assert_eq!(super::readable(None), None);
    }
}
