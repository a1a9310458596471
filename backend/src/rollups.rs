//! Daily rollups per enrollment, per program and per tier at the time, maintained in the same
//! transaction as every write, so analytics never scans raw clicks or conversions.

use crate::entities::{cohort_member, daily_rollup, program_rollup, tier_rollup};
use crate::Result;
use chrono::NaiveDate;
use chrono::{Datelike, Duration};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{ConnectionTrait, EntityTrait, Set};

/// Program and tier rollup rows per day are spread over this many shard rows (by enrollment),
/// so concurrent conversions of one program do not all wait on one row lock.
pub const SHARDS: i64 = 8;

fn shard(enrollment_id: i64) -> i16 {
    enrollment_id.rem_euclid(SHARDS) as i16
}

/// The Monday of `day`'s ISO week.
pub fn week_start(day: NaiveDate) -> NaiveDate {
    day - Duration::days(day.weekday().num_days_from_monday() as i64)
}

/// On a conflict over `key`, adds the new row's `counters` to the stored row's.
fn adding<E: EntityTrait>(key: &[E::Column], counters: &[E::Column]) -> OnConflict {
    let plus = |c: E::Column| (c, Expr::col((E::default(), c)).add(Expr::cust(format!("excluded.{}", sea_orm::IdenStatic::as_str(&c)))));
    OnConflict::columns(key.iter().copied()).values(counters.iter().copied().map(plus)).to_owned()
}

/// Increments (or, with negative values, decrements) one enrollment's day.
#[derive(Debug, Clone, Copy, Default)]
pub struct Delta {
    /// Clicks.
    pub clicks: i64,
    /// Conversions.
    pub conversions: i64,
    /// Revenue in minor units.
    pub revenue_minor: i64,
    /// Commission in minor units.
    pub commission_minor: i64,
}

/// Adds `delta` to the rollup of `enrollment_id` on `day`, creating the row when needed.
pub async fn add(db: &impl ConnectionTrait, account_id: i64, program_id: i64, enrollment_id: i64, day: NaiveDate, delta: Delta) -> Result<()> {
    use daily_rollup::Column as C;
    daily_rollup::Entity::insert(daily_rollup::ActiveModel {
        enrollment_id: Set(enrollment_id),
        day: Set(day),
        account_id: Set(account_id),
        program_id: Set(program_id),
        clicks: Set(delta.clicks),
        conversions: Set(delta.conversions),
        revenue_minor: Set(delta.revenue_minor),
        commission_minor: Set(delta.commission_minor),
    })
    .on_conflict(adding::<daily_rollup::Entity>(&[C::EnrollmentId, C::Day], &[C::Clicks, C::Conversions, C::RevenueMinor, C::CommissionMinor]))
    .exec_without_returning(db)
    .await?;
    add_program(db, account_id, program_id, enrollment_id, day, delta).await
}

/// Adds `delta` to the program's row of `day` only (the shard of `enrollment_id`).
pub(crate) async fn add_program(
    db: &impl ConnectionTrait,
    account_id: i64,
    program_id: i64,
    enrollment_id: i64,
    day: NaiveDate,
    delta: Delta,
) -> Result<()> {
    use program_rollup::Column as C;
    program_rollup::Entity::insert(program_rollup::ActiveModel {
        program_id: Set(program_id),
        day: Set(day),
        shard: Set(shard(enrollment_id)),
        account_id: Set(account_id),
        clicks: Set(delta.clicks),
        conversions: Set(delta.conversions),
        revenue_minor: Set(delta.revenue_minor),
        commission_minor: Set(delta.commission_minor),
    })
    .on_conflict(adding::<program_rollup::Entity>(
        &[C::ProgramId, C::Day, C::Shard],
        &[C::Clicks, C::Conversions, C::RevenueMinor, C::CommissionMinor],
    ))
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// Adds an attributed conversion (`conversions` = 1, or 0 for a refund's negative revenue) to
/// the cohort of the tier it earned in. The first conversion of an enrollment in a week and tier
/// also counts the enrollment as one of that week's converting partners.
#[expect(clippy::too_many_arguments, reason = "one row's key and its two figures")]
pub async fn add_cohort(
    db: &impl ConnectionTrait,
    account_id: i64,
    program_id: i64,
    tier_id: i64,
    enrollment_id: i64,
    day: NaiveDate,
    conversions: i64,
    revenue_minor: i64,
) -> Result<()> {
    let mut partners = 0;
    if conversions > 0 {
        partners = cohort_member::Entity::insert(cohort_member::ActiveModel {
            program_id: Set(program_id),
            week_start: Set(week_start(day)),
            tier_id: Set(tier_id),
            enrollment_id: Set(enrollment_id),
        })
        .on_conflict(
            OnConflict::columns([
                cohort_member::Column::ProgramId,
                cohort_member::Column::WeekStart,
                cohort_member::Column::TierId,
                cohort_member::Column::EnrollmentId,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(db)
        .await? as i64;
    }
    use tier_rollup::Column as C;
    tier_rollup::Entity::insert(tier_rollup::ActiveModel {
        program_id: Set(program_id),
        day: Set(day),
        tier_id: Set(tier_id),
        shard: Set(shard(enrollment_id)),
        account_id: Set(account_id),
        conversions: Set(conversions),
        revenue_minor: Set(revenue_minor),
        partners: Set(partners),
    })
    .on_conflict(adding::<tier_rollup::Entity>(&[C::ProgramId, C::Day, C::TierId, C::Shard], &[C::Conversions, C::RevenueMinor, C::Partners]))
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// Rebuilds the program and tier rollups of every program from `daily_rollups` and the raw
/// conversions, and fills `conversions.tier_id` from the earned ledger entries where it is
/// missing: the backfill after the upgrade that introduced them, and the last step of a bulk
/// load that wrote raw rows directly (bench `trellis-gen`). Writers wait while it runs (one write
/// transaction; on PostgreSQL the tables it reads are share-locked), so nothing is counted twice.
pub async fn rebuild(db: &sea_orm::DatabaseConnection) -> Result<crate::report::Report> {
    use sea_orm::{DbBackend, TransactionTrait};
    let backend = db.get_database_backend();
    let (day, week) = match backend {
        DbBackend::Postgres => ("CAST((occurred_at AT TIME ZONE 'UTC') AS DATE)", "CAST(date_trunc('week', occurred_at AT TIME ZONE 'UTC') AS DATE)"),
        _ => ("date(occurred_at)", "date(occurred_at, 'weekday 0', '-6 days')"),
    };
    let txn = if backend == DbBackend::Postgres {
        let t = db.begin().await?;
        t.execute_unprepared("LOCK TABLE conversions, daily_rollups, clicks IN SHARE MODE").await?;
        t
    } else {
        crate::db::begin_write(db).await?
    };
    for table in ["program_rollups", "tier_rollups", "cohort_members"] {
        txn.execute_unprepared(&format!("DELETE FROM {table}")).await?;
    }
    let programs = txn
        .execute_unprepared(&format!(
            "INSERT INTO program_rollups (program_id, day, shard, account_id, clicks, conversions, revenue_minor, commission_minor) \
             SELECT program_id, day, enrollment_id % {SHARDS}, MIN(account_id), SUM(clicks), SUM(conversions), SUM(revenue_minor), SUM(commission_minor) \
             FROM daily_rollups GROUP BY program_id, day, enrollment_id % {SHARDS}"
        ))
        .await?
        .rows_affected();
    txn.execute_unprepared(
        "UPDATE conversions SET tier_id = (SELECT t.id FROM ledger_entries l JOIN tiers t ON t.program_id = l.program_id AND t.name = l.tier \
           WHERE l.conversion_id = conversions.id AND l.kind = 'earned' ORDER BY l.id LIMIT 1) \
         WHERE tier_id IS NULL AND status = 'attributed' AND enrollment_id IS NOT NULL",
    )
    .await?;
    let attributed = "FROM conversions WHERE status = 'attributed' AND tier_id IS NOT NULL AND enrollment_id IS NOT NULL";
    let tiers = txn
        .execute_unprepared(&format!(
            "INSERT INTO tier_rollups (program_id, day, tier_id, shard, account_id, conversions, revenue_minor, partners) \
             SELECT program_id, {day}, tier_id, enrollment_id % {SHARDS}, MIN(account_id), COUNT(*), SUM(amount_minor - refunded_minor), 0 \
             {attributed} GROUP BY program_id, {day}, tier_id, enrollment_id % {SHARDS}"
        ))
        .await?
        .rows_affected();
    txn.execute_unprepared(&format!(
        "INSERT INTO cohort_members (program_id, week_start, tier_id, enrollment_id) \
         SELECT DISTINCT program_id, {week}, tier_id, enrollment_id {attributed}"
    ))
    .await?;
    // Each member counts once, on the day of its first conversion of the week in that tier.
    txn.execute_unprepared(&format!(
        "UPDATE tier_rollups SET partners = f.n FROM ( \
           SELECT program_id, first_day, tier_id, shard, COUNT(*) AS n FROM ( \
             SELECT program_id, MIN({day}) AS first_day, tier_id, enrollment_id % {SHARDS} AS shard \
             {attributed} GROUP BY program_id, {week}, tier_id, enrollment_id) AS m \
           GROUP BY program_id, first_day, tier_id, shard) AS f \
         WHERE tier_rollups.program_id = f.program_id AND tier_rollups.day = f.first_day \
           AND tier_rollups.tier_id = f.tier_id AND tier_rollups.shard = f.shard"
    ))
    .await?;
    txn.commit().await?;
    Ok(crate::report::Report { examined: programs + tiers, changed: programs + tiers })
}
