//! The partner directory: enrollments of the account's partners, filtered, counted by status
//! and paginated on the server.

use crate::auth::Actor;
use crate::entities::{enrollment, partner, program, tier};
use crate::{Error, Result};
use models::{DirectoryPage, DirectoryQuery, DirectoryRow, EnrollmentStatus, ProgramSummary, StatusCounts};
use sea_orm::sea_query::{Alias, Cond, Expr, ExprTrait, Func, LikeExpr, Order, Query, SelectStatement};
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, FromQueryResult, QueryFilter, QueryOrder,
};

/// Largest page the directory serves.
pub const MAX_PER_PAGE: u64 = 200;

#[derive(FromQueryResult)]
struct Row {
    partner_id: i64,
    name: String,
    email: String,
    company: Option<String>,
    program: String,
    tier: String,
    status: String,
    joined_at: chrono::DateTime<chrono::Utc>,
}

#[derive(FromQueryResult)]
struct CountRow {
    status: String,
    n: i64,
}

/// Escapes `%`, `_` and `\` so user text matches literally inside a LIKE pattern.
fn like_pattern(q: &str) -> String {
    let mut out = String::from("%");
    for c in q.trim().to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// Enrollments joined with their partner, program and tier, filtered by everything but status.
fn base(account_id: i64, q: &DirectoryQuery) -> SelectStatement {
    let mut s = Query::select();
    s.from(enrollment::Entity)
        .inner_join(
            partner::Entity,
            Expr::col((partner::Entity, partner::Column::Id)).equals((enrollment::Entity, enrollment::Column::PartnerId)),
        )
        .and_where(Expr::col((enrollment::Entity, enrollment::Column::AccountId)).eq(account_id));
    if let Some(program_id) = q.program_id {
        s.and_where(Expr::col((enrollment::Entity, enrollment::Column::ProgramId)).eq(program_id));
    }
    if let Some(text) = q.q.as_deref().filter(|t| !t.trim().is_empty()) {
        let pattern = like_pattern(text);
        let like = |col: partner::Column| {
            Expr::expr(Func::lower(Expr::col((partner::Entity, col)))).like(LikeExpr::new(pattern.clone()).escape('\\'))
        };
        s.cond_where(
            Cond::any()
                .add(like(partner::Column::Name))
                .add(like(partner::Column::Email))
                .add(like(partner::Column::Company)),
        );
    }
    s
}

/// One page of the directory for a team member of the account.
pub async fn list(db: &DatabaseConnection, actor: &Actor, q: &DirectoryQuery) -> Result<DirectoryPage> {
    actor.require_team()?;
    let per_page = match q.per_page {
        0 => 50,
        n if n > MAX_PER_PAGE => return Err(Error::invalid("per_page", format!("at most {MAX_PER_PAGE}"))),
        n => n,
    };
    let page = std::cmp::max(q.page, 1);
    let backend = db.get_database_backend();

    let mut counts_q = base(actor.account_id, q);
    counts_q
        .column((enrollment::Entity, enrollment::Column::Status))
        .expr_as(Expr::col((enrollment::Entity, enrollment::Column::Id)).count(), Alias::new("n"))
        .group_by_col((enrollment::Entity, enrollment::Column::Status));
    let mut counts = StatusCounts::default();
    for c in CountRow::find_by_statement(backend.build(&counts_q)).all(db).await? {
        let n = c.n as u64;
        counts.all += n;
        match EnrollmentStatus::parse(&c.status) {
            Ok(EnrollmentStatus::Active) => counts.active += n,
            Ok(EnrollmentStatus::Pending) => counts.pending += n,
            Ok(EnrollmentStatus::Paused) => counts.paused += n,
            Ok(EnrollmentStatus::Suspended) => counts.suspended += n,
            _ => {}
        }
    }
    let total = match q.status {
        None => counts.all,
        Some(EnrollmentStatus::Active) => counts.active,
        Some(EnrollmentStatus::Pending) => counts.pending,
        Some(EnrollmentStatus::Paused) => counts.paused,
        Some(EnrollmentStatus::Suspended) => counts.suspended,
        Some(EnrollmentStatus::Rejected) => counts.all - counts.active - counts.pending - counts.paused - counts.suspended,
    };

    let mut rows_q = base(actor.account_id, q);
    if let Some(status) = q.status {
        rows_q.and_where(Expr::col((enrollment::Entity, enrollment::Column::Status)).eq(status.as_str()));
    }
    rows_q
        .inner_join(
            program::Entity,
            Expr::col((program::Entity, program::Column::Id)).equals((enrollment::Entity, enrollment::Column::ProgramId)),
        )
        .inner_join(
            tier::Entity,
            Expr::col((tier::Entity, tier::Column::Id)).equals((enrollment::Entity, enrollment::Column::TierId)),
        )
        .expr_as(Expr::col((partner::Entity, partner::Column::Id)), Alias::new("partner_id"))
        .column((partner::Entity, partner::Column::Name))
        .column((partner::Entity, partner::Column::Email))
        .column((partner::Entity, partner::Column::Company))
        .expr_as(Expr::col((program::Entity, program::Column::Name)), Alias::new("program"))
        .expr_as(Expr::col((tier::Entity, tier::Column::Name)), Alias::new("tier"))
        .column((enrollment::Entity, enrollment::Column::Status))
        .column((enrollment::Entity, enrollment::Column::JoinedAt))
        .order_by((partner::Entity, partner::Column::Name), Order::Asc)
        .order_by((enrollment::Entity, enrollment::Column::Id), Order::Asc)
        .limit(per_page)
        .offset((page - 1) * per_page);
    let items = Row::find_by_statement(backend.build(&rows_q))
        .all(db)
        .await?
        .into_iter()
        .map(|r| {
            Ok(DirectoryRow {
                partner_id: r.partner_id,
                name: r.name,
                email: r.email,
                company: r.company,
                program: r.program,
                tier: r.tier,
                status: EnrollmentStatus::parse(&r.status).map_err(|e| Error::Internal(e.0))?,
                joined: r.joined_at.format("%Y-%m-%d").to_string(),
            })
        })
        .collect::<Result<Vec<_>>>()?;

    Ok(DirectoryPage { programs: programs(db, actor.account_id).await?, counts, items, total, page, per_page })
}

/// The account's programs, oldest first.
pub async fn programs(db: &DatabaseConnection, account_id: i64) -> Result<Vec<ProgramSummary>> {
    Ok(program::Entity::find()
        .filter(program::Column::AccountId.eq(account_id))
        .order_by_asc(program::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|p| ProgramSummary { id: p.id, name: p.name, currency: p.currency })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::like_pattern;

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(like_pattern(" Ab%_ "), "%ab\\%\\_%");
    }
}
