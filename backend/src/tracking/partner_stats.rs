//! The `partner_stats` job: keeps each enrollment's 90-day revenue, conversions and clicks and
//! the day of its last conversion, from the daily rollups, so the directory can filter and sort
//! 100,000 partners on indexed columns. Three set-based statements, idempotent, any time.

use crate::report::Report;
use crate::Result;
use chrono::{DateTime, Duration, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};

/// Days of the performance window, today included.
pub const WINDOW_DAYS: i64 = 90;

/// Recomputes the performance columns of every enrollment as of `now`.
pub async fn refresh(db: &DatabaseConnection, now: DateTime<Utc>) -> Result<Report> {
    let backend = db.get_database_backend();
    let today = now.date_naive();
    let from = today - Duration::days(WINDOW_DAYS - 1);
    let day = |d: chrono::NaiveDate| d.format("%Y-%m-%d").to_string();
    let last_day = match backend {
        DbBackend::Sqlite => "s.d || ' 00:00:00+00:00'",
        _ => "CAST(s.d AS TIMESTAMPTZ)",
    };
    let (p1, p2) = match backend {
        DbBackend::Postgres => ("$1", "$2"),
        _ => ("?", "?"),
    };
    let day_cast = match backend {
        DbBackend::Postgres => "::date",
        _ => "",
    };
    let txn = crate::db::begin_write(db).await?;
    let zeroed = txn
        .execute_unprepared(
            "UPDATE enrollments SET revenue_90d_minor = 0, conversions_90d = 0, clicks_90d = 0 \
             WHERE revenue_90d_minor <> 0 OR conversions_90d <> 0 OR clicks_90d <> 0",
        )
        .await?
        .rows_affected();
    let set = txn
        .execute_raw(Statement::from_sql_and_values(
            backend,
            format!(
                "UPDATE enrollments SET revenue_90d_minor = s.revenue, conversions_90d = s.conversions, clicks_90d = s.clicks \
                 FROM (SELECT enrollment_id, SUM(revenue_minor) AS revenue, SUM(conversions) AS conversions, SUM(clicks) AS clicks \
                       FROM daily_rollups WHERE day >= {p1}{day_cast} AND day <= {p2}{day_cast} GROUP BY enrollment_id) AS s \
                 WHERE enrollments.id = s.enrollment_id"
            ),
            [day(from).into(), day(today).into()],
        ))
        .await?
        .rows_affected();
    txn.execute_unprepared(&format!(
        "UPDATE enrollments SET last_conversion_at = {last_day} \
         FROM (SELECT enrollment_id, MAX(day) AS d FROM daily_rollups WHERE conversions > 0 GROUP BY enrollment_id) AS s \
         WHERE enrollments.id = s.enrollment_id"
    ))
    .await?;
    txn.commit().await?;
    Ok(Report { examined: zeroed.max(set), changed: set })
}
