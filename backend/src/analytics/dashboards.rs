//! The KPI dashboard, the executive view's data, the at-risk and dormant lists, and custom
//! dashboards saved per user and shared per role. Everything here reads rollups and the
//! per-enrollment columns the jobs keep (`health_score`, `dormant_since`, `last_conversion_at`);
//! nothing scans raw clicks or conversions. Any team member may read analytics; partners none.

use crate::analytics;
use crate::entities::{enrollment, health_score, partner, program, tier};
use crate::{Actor, Error, Result};
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use models::{CohortRow, CohortTable, Currency, Kpi, Money, RiskRow, TierHealth, TopPartner};
use rust_decimal::prelude::*;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, FromQueryResult, QueryFilter, QueryOrder, QuerySelect, Statement,
};
use std::collections::HashMap;

/// Window lengths offered on the dashboard, in days.
pub const WINDOWS: &[u32] = &[7, 30, 90, 365];

fn ph(backend: DbBackend, n: usize) -> String {
    match backend {
        DbBackend::Postgres => format!("${n}"),
        _ => "?".into(),
    }
}

fn parse_minor(text: &str, currency: Currency) -> i64 {
    Money::parse(text, currency).map(|m| m.minor).unwrap_or(0)
}

/// `+12.5%`, `-3.0%`, or `None` when there is nothing to compare with.
fn change(now: Decimal, before: Decimal) -> Option<String> {
    if before.is_zero() {
        return None;
    }
    let pct = ((now - before) / before * Decimal::from(100)).round_dp_with_strategy(1, RoundingStrategy::MidpointAwayFromZero);
    Some(if pct.is_sign_negative() { format!("{pct}%") } else { format!("+{pct}%") })
}

fn kpi(key: &str, label: &str, value: String, previous: String, now: Decimal, before: Decimal) -> Kpi {
    Kpi { key: key.into(), label: label.into(), value, previous, change: change(now, before), up: now >= before }
}

#[derive(FromQueryResult)]
struct Count {
    n: i64,
}

/// Enrollments with at least one conversion in `[from, to)` (days), from the daily rollups.
async fn converting_partners(db: &impl ConnectionTrait, account_id: i64, program_id: Option<i64>, from: NaiveDate, to: NaiveDate) -> Result<i64> {
    let b = db.get_database_backend();
    let cast = if b == DbBackend::Postgres { "::date" } else { "" };
    let mut sql = format!(
        "SELECT COUNT(DISTINCT enrollment_id) AS n FROM daily_rollups WHERE account_id = {} AND day >= {}{cast} AND day < {}{cast} AND conversions > 0",
        ph(b, 1),
        ph(b, 2),
        ph(b, 3)
    );
    let mut values: Vec<sea_orm::Value> = vec![account_id.into(), from.to_string().into(), to.to_string().into()];
    if let Some(p) = program_id {
        sql.push_str(&format!(" AND program_id = {}", ph(b, 4)));
        values.push(p.into());
    }
    Ok(Count::find_by_statement(Statement::from_sql_and_values(b, sql, values)).one(db).await?.map_or(0, |c| c.n))
}

struct Window {
    from: DateTime<Utc>,
    to: DateTime<Utc>,
}

/// The last `days` whole UTC days up to and including today, and the `days` before them.
fn windows(now: DateTime<Utc>, days: u32) -> (Window, Window) {
    let to = (now.date_naive() + Duration::days(1)).and_time(NaiveTime::MIN).and_utc();
    let from = to - Duration::days(days as i64);
    (Window { from, to }, Window { from: from - Duration::days(days as i64), to: from })
}

fn label(w: &Window) -> String {
    format!("{} – {}", w.from.format("%Y-%m-%d"), (w.to - Duration::days(1)).format("%Y-%m-%d"))
}

/// The KPIs of a window against the previous window of the same length.
pub async fn kpis(
    db: &DatabaseConnection,
    account_id: i64,
    program_id: Option<i64>,
    days: u32,
    now: DateTime<Utc>,
) -> Result<(Vec<Kpi>, String, String)> {
    if !(1..=730).contains(&days) {
        return Err(Error::invalid("days", "must be between 1 and 730"));
    }
    let (cur, prev) = windows(now, days);
    let a = analytics::summary(db, account_id, program_id, cur.from, cur.to).await?;
    let b = analytics::summary(db, account_id, program_id, prev.from, prev.to).await?;
    let currency = currency_of(db, account_id, program_id).await?;
    let money = |s: &str| Money::from_minor(parse_minor(s, currency), currency).display();
    let dec = |s: &str| Decimal::from(parse_minor(s, currency));
    let rate = |s: &str| Decimal::from_str(s).unwrap_or_default();
    let pct = |s: &str| format!("{:.2}%", rate(s) * Decimal::from(100));
    let pa = converting_partners(db, account_id, program_id, cur.from.date_naive(), cur.to.date_naive()).await?;
    let pb = converting_partners(db, account_id, program_id, prev.from.date_naive(), prev.to.date_naive()).await?;
    let list = vec![
        kpi("revenue", "Revenue", money(&a.revenue), money(&b.revenue), dec(&a.revenue), dec(&b.revenue)),
        kpi("conversions", "Conversions", a.conversions.to_string(), b.conversions.to_string(), a.conversions.into(), b.conversions.into()),
        kpi("clicks", "Clicks", a.clicks.to_string(), b.clicks.to_string(), a.clicks.into(), b.clicks.into()),
        kpi(
            "conversion_rate",
            "Conversion rate",
            pct(&a.conversion_rate),
            pct(&b.conversion_rate),
            rate(&a.conversion_rate),
            rate(&b.conversion_rate),
        ),
        kpi("commission", "Commission", money(&a.commission), money(&b.commission), dec(&a.commission), dec(&b.commission)),
        kpi("active_partners", "Converting partners", pa.to_string(), pb.to_string(), pa.into(), pb.into()),
    ];
    Ok((list, label(&cur), label(&prev)))
}

async fn currency_of(db: &DatabaseConnection, account_id: i64, program_id: Option<i64>) -> Result<Currency> {
    let programs = crate::programs::summaries(db, account_id).await?;
    let code = match program_id {
        Some(p) => programs.iter().find(|x| x.id == p).map(|x| x.currency.clone()).ok_or(Error::NotFound("program"))?,
        None => programs.first().map(|x| x.currency.clone()).unwrap_or_else(|| "USD".into()),
    };
    Currency::parse(&code).map_err(|e| Error::Internal(e.0))
}

/// The program's tiers, lowest rank first.
async fn tiers_of(db: &DatabaseConnection, program_id: i64) -> Result<Vec<tier::Model>> {
    Ok(tier::Entity::find().filter(tier::Column::ProgramId.eq(program_id)).order_by_asc(tier::Column::Rank).all(db).await?)
}

/// The cohort trend of a program as a table, tiers lowest rank first.
pub async fn cohort_table(
    db: &DatabaseConnection,
    account_id: i64,
    program_id: i64,
    weeks: u32,
    now: DateTime<Utc>,
) -> Result<(CohortTable, Currency)> {
    let points = analytics::cohorts(db, account_id, program_id, weeks, now).await?;
    let currency = currency_of(db, account_id, Some(program_id)).await?;
    let tiers: Vec<String> = tiers_of(db, program_id).await?.into_iter().map(|t| t.name).collect();
    let first = crate::rollups::week_start(now.date_naive()) - Duration::weeks(weeks as i64 - 1);
    let rows = (0..weeks as i64)
        .map(|i| {
            let week = (first + Duration::weeks(i)).to_string();
            let of = |t: &String| points.iter().find(|p| p.week_start == week && &p.tier == t);
            CohortRow {
                revenue: tiers.iter().map(|t| of(t).map_or_else(|| Money::from_minor(0, currency).amount_string(), |p| p.revenue.clone())).collect(),
                conversions: tiers.iter().map(|t| of(t).map_or(0, |p| p.conversions)).collect(),
                partners: tiers.iter().map(|t| of(t).map_or(0, |p| p.partners)).collect(),
                week_start: week,
            }
        })
        .collect();
    Ok((CohortTable { tiers, rows }, currency))
}

fn to_f32(amount: &str) -> f32 {
    amount.parse::<f32>().unwrap_or(0.0)
}

/// The cohort revenue chart (grouped bars per week and tier).
pub fn cohort_svg(t: &CohortTable, program_name: &str) -> String {
    let weeks: Vec<String> = t.rows.iter().map(|r| r.week_start.clone()).collect();
    let series: Vec<(String, Vec<f32>)> =
        t.tiers.iter().enumerate().map(|(i, name)| (name.clone(), t.rows.iter().map(|r| to_f32(&r.revenue[i])).collect())).collect();
    crate::analytics::charts::cohort_bars(&format!("Revenue by tier cohort · {program_name}"), &weeks, &series)
}

#[derive(FromQueryResult)]
struct DayRow {
    day: NaiveDate,
    revenue: i64,
    conversions: i64,
}

/// Weekly revenue and conversions of the last `weeks` weeks, from the program rollups.
pub async fn revenue_trend(
    db: &DatabaseConnection,
    account_id: i64,
    program_id: Option<i64>,
    weeks: u32,
    now: DateTime<Utc>,
) -> Result<(Vec<String>, Vec<i64>, Vec<i64>)> {
    let b = db.get_database_backend();
    let cast = if b == DbBackend::Postgres { "::date" } else { "" };
    let first = crate::rollups::week_start(now.date_naive()) - Duration::weeks(weeks as i64 - 1);
    let mut sql = format!(
        "SELECT day, CAST(SUM(revenue_minor) AS BIGINT) AS revenue, CAST(SUM(conversions) AS BIGINT) AS conversions FROM program_rollups \
         WHERE account_id = {} AND day >= {}{cast} AND day <= {}{cast}",
        ph(b, 1),
        ph(b, 2),
        ph(b, 3)
    );
    let mut values: Vec<sea_orm::Value> = vec![account_id.into(), first.to_string().into(), now.date_naive().to_string().into()];
    if let Some(p) = program_id {
        sql.push_str(&format!(" AND program_id = {}", ph(b, 4)));
        values.push(p.into());
    }
    sql.push_str(" GROUP BY day");
    let rows = DayRow::find_by_statement(Statement::from_sql_and_values(b, sql, values)).all(db).await?;
    let labels: Vec<String> = (0..weeks as i64).map(|i| (first + Duration::weeks(i)).to_string()).collect();
    let mut revenue = vec![0i64; weeks as usize];
    let mut conversions = vec![0i64; weeks as usize];
    for r in rows {
        let i = ((crate::rollups::week_start(r.day) - first).num_days() / 7) as usize;
        if i < revenue.len() {
            revenue[i] += r.revenue;
            conversions[i] += r.conversions;
        }
    }
    Ok((labels, revenue, conversions))
}

#[derive(FromQueryResult)]
struct HealthRow {
    tier_id: i64,
    n: i64,
    scored: i64,
    total: i64,
    at_risk: i64,
}

/// Active enrollments, average health and at-risk count per tier (lowest rank first).
pub async fn health_by_tier(db: &DatabaseConnection, account_id: i64, program_id: Option<i64>) -> Result<Vec<TierHealth>> {
    let b = db.get_database_backend();
    let mut sql = format!(
        "SELECT e.tier_id AS tier_id, CAST(COUNT(*) AS BIGINT) AS n, \
           CAST(SUM(CASE WHEN e.health_score IS NULL THEN 0 ELSE 1 END) AS BIGINT) AS scored, \
           CAST(SUM(COALESCE(e.health_score, 0)) AS BIGINT) AS total, \
           CAST(SUM(CASE WHEN e.health_score < p.at_risk_threshold THEN 1 ELSE 0 END) AS BIGINT) AS at_risk \
         FROM enrollments e JOIN programs p ON p.id = e.program_id \
         WHERE e.account_id = {} AND e.status = 'active'",
        ph(b, 1)
    );
    let mut values: Vec<sea_orm::Value> = vec![account_id.into()];
    if let Some(p) = program_id {
        sql.push_str(&format!(" AND e.program_id = {}", ph(b, 2)));
        values.push(p.into());
    }
    sql.push_str(" GROUP BY e.tier_id");
    let rows: HashMap<i64, HealthRow> =
        HealthRow::find_by_statement(Statement::from_sql_and_values(b, sql, values)).all(db).await?.into_iter().map(|r| (r.tier_id, r)).collect();
    let mut tq = tier::Entity::find().filter(tier::Column::AccountId.eq(account_id));
    if let Some(p) = program_id {
        tq = tq.filter(tier::Column::ProgramId.eq(p));
    }
    let tiers = tq.order_by_asc(tier::Column::ProgramId).order_by_asc(tier::Column::Rank).all(db).await?;
    let several = tiers.iter().map(|t| t.program_id).collect::<std::collections::BTreeSet<_>>().len() > 1;
    let names: HashMap<i64, String> = if several {
        crate::db::names(db, (program::Column::Id, program::Column::Name), program::Column::AccountId.eq(account_id), program::Column::Id).await?
    } else {
        HashMap::new()
    };
    Ok(tiers
        .iter()
        .map(|t| {
            let r = rows.get(&t.id);
            let average = r.filter(|r| r.scored > 0).map(|r| {
                format!("{:.1}", (Decimal::from(r.total) / Decimal::from(r.scored)).round_dp_with_strategy(1, RoundingStrategy::MidpointAwayFromZero))
            });
            TierHealth {
                tier: match names.get(&t.program_id) {
                    Some(p) => format!("{p} · {}", t.name),
                    None => t.name.clone(),
                },
                enrollments: r.map_or(0, |r| r.n),
                average,
                at_risk: r.map_or(0, |r| r.at_risk),
            }
        })
        .collect())
}

/// Partner names and tier names for a set of enrollments.
async fn names(db: &DatabaseConnection, rows: &[enrollment::Model]) -> Result<(HashMap<i64, String>, HashMap<i64, String>)> {
    let partners = rows.iter().map(|e| e.partner_id).collect::<Vec<_>>();
    let partners =
        crate::db::names(db, (partner::Column::Id, partner::Column::Name), partner::Column::Id.is_in(partners), partner::Column::Id).await?;
    let tiers = rows.iter().map(|e| e.tier_id).collect::<Vec<_>>();
    let tiers = crate::db::names(db, (tier::Column::Id, tier::Column::Name), tier::Column::Id.is_in(tiers), tier::Column::Id).await?;
    Ok((partners, tiers))
}

/// The account's programs, or only `program_id` when given.
async fn programs(db: &DatabaseConnection, account_id: i64, program_id: Option<i64>) -> Result<Vec<program::Model>> {
    let mut progs = program::Entity::find().filter(program::Column::AccountId.eq(account_id));
    if let Some(p) = program_id {
        progs = progs.filter(program::Column::Id.eq(p));
    }
    Ok(progs.all(db).await?)
}

/// The account's active enrollments matching `cond`, by `order` then id, at most `limit`.
async fn active_matching(
    db: &DatabaseConnection,
    account_id: i64,
    cond: sea_orm::Condition,
    order: enrollment::Column,
    limit: u64,
) -> Result<Vec<enrollment::Model>> {
    Ok(enrollment::Entity::find()
        .filter(enrollment::Column::AccountId.eq(account_id))
        .filter(enrollment::Column::Status.eq("active"))
        .filter(cond)
        .order_by_asc(order)
        .order_by_asc(enrollment::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}

/// An at-risk or dormant row for enrollment `e`, named from `names`.
fn risk_row(
    e: &enrollment::Model,
    (partners, tiers): &(HashMap<i64, String>, HashMap<i64, String>),
    reason: String,
    parts: Vec<models::HealthPart>,
) -> RiskRow {
    RiskRow {
        partner_id: e.partner_id,
        name: partners.get(&e.partner_id).cloned().unwrap_or_default(),
        program_id: e.program_id,
        tier: tiers.get(&e.tier_id).cloned().unwrap_or_default(),
        score: e.health_score,
        reason,
        last_conversion: e.last_conversion_at.map_or_else(|| "never".into(), |t| t.format("%Y-%m-%d").to_string()),
        parts,
    }
}

/// Active enrollments scoring below their program's threshold, worst first, with the reason
/// in words from the parts of their latest score.
pub async fn at_risk(db: &DatabaseConnection, account_id: i64, program_id: Option<i64>, limit: u64) -> Result<Vec<RiskRow>> {
    let mut cond = sea_orm::Condition::any();
    for p in programs(db, account_id, program_id).await? {
        cond = cond
            .add(sea_orm::Condition::all().add(enrollment::Column::ProgramId.eq(p.id)).add(enrollment::Column::HealthScore.lt(p.at_risk_threshold)));
    }
    let rows = active_matching(db, account_id, cond, enrollment::Column::HealthScore, limit).await?;
    let names = names(db, &rows).await?;
    let mut latest: HashMap<i64, health_score::Model> = HashMap::new();
    for h in health_score::Entity::find()
        .filter(health_score::Column::EnrollmentId.is_in(rows.iter().map(|e| e.id).collect::<Vec<_>>()))
        .order_by_asc(health_score::Column::Day)
        .all(db)
        .await?
    {
        latest.insert(h.enrollment_id, h);
    }
    Ok(rows
        .iter()
        .map(|e| {
            let parts: Vec<models::HealthPart> = latest.get(&e.id).and_then(|h| serde_json::from_str(&h.parts).ok()).unwrap_or_default();
            risk_row(e, &names, crate::partners::health::reason(&parts), parts)
        })
        .collect())
}

/// Active enrollments with no conversion for their program's dormancy days (or marked dormant
/// by `dormant_detection`), longest first. Reads the per-enrollment `last_conversion_at` the
/// `partner_stats` job keeps.
pub async fn dormant(db: &DatabaseConnection, account_id: i64, program_id: Option<i64>, limit: u64, now: DateTime<Utc>) -> Result<Vec<RiskRow>> {
    use sea_orm::Condition;
    let mut cond = Condition::any();
    for p in programs(db, account_id, program_id).await? {
        let cutoff = now - Duration::days(p.dormant_days as i64);
        cond = cond.add(
            Condition::all().add(enrollment::Column::ProgramId.eq(p.id)).add(
                Condition::any()
                    .add(enrollment::Column::DormantSince.is_not_null())
                    .add(enrollment::Column::LastConversionAt.lt(cutoff))
                    .add(Condition::all().add(enrollment::Column::LastConversionAt.is_null()).add(enrollment::Column::JoinedAt.lt(cutoff))),
            ),
        );
    }
    let rows = active_matching(db, account_id, cond, enrollment::Column::LastConversionAt, limit).await?;
    let names = names(db, &rows).await?;
    Ok(rows
        .iter()
        .map(|e| {
            let reason = match e.last_conversion_at {
                Some(t) => format!("no conversion for {} days", (now - t).num_days()),
                None => format!("no conversion since joining {} days ago", (now - e.joined_at).num_days()),
            };
            let reason = match e.dormant_since {
                Some(d) => format!("{reason} (dormant since {}; re-engagement email queued)", d.format("%Y-%m-%d")),
                None => reason,
            };
            risk_row(e, &names, reason, vec![])
        })
        .collect())
}

#[derive(FromQueryResult)]
struct TopRow {
    enrollment_id: i64,
    revenue: i64,
    conversions: i64,
}

/// The partners with the most revenue in the last `days` days, from the daily rollups.
pub async fn top_partners(
    db: &DatabaseConnection,
    account_id: i64,
    program_id: Option<i64>,
    days: u32,
    now: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<TopPartner>> {
    let (cur, _) = windows(now, days);
    let b = db.get_database_backend();
    let cast = if b == DbBackend::Postgres { "::date" } else { "" };
    let mut sql = format!(
        "SELECT enrollment_id, CAST(SUM(revenue_minor) AS BIGINT) AS revenue, CAST(SUM(conversions) AS BIGINT) AS conversions FROM daily_rollups \
         WHERE account_id = {} AND day >= {}{cast} AND day < {}{cast}",
        ph(b, 1),
        ph(b, 2),
        ph(b, 3)
    );
    let mut values: Vec<sea_orm::Value> = vec![account_id.into(), cur.from.date_naive().to_string().into(), cur.to.date_naive().to_string().into()];
    if let Some(p) = program_id {
        sql.push_str(&format!(" AND program_id = {}", ph(b, 4)));
        values.push(p.into());
    }
    sql.push_str(&format!(" GROUP BY enrollment_id HAVING SUM(conversions) > 0 ORDER BY revenue DESC, enrollment_id LIMIT {limit}"));
    let top = TopRow::find_by_statement(Statement::from_sql_and_values(b, sql, values)).all(db).await?;
    let rows =
        enrollment::Entity::find().filter(enrollment::Column::Id.is_in(top.iter().map(|t| t.enrollment_id).collect::<Vec<_>>())).all(db).await?;
    let (partners, tiers) = names(db, &rows).await?;
    let currency = currency_of(db, account_id, program_id).await?;
    Ok(top
        .iter()
        .filter_map(|t| {
            let e = rows.iter().find(|e| e.id == t.enrollment_id)?;
            Some(TopPartner {
                partner_id: e.partner_id,
                name: partners.get(&e.partner_id).cloned().unwrap_or_default(),
                tier: tiers.get(&e.tier_id).cloned().unwrap_or_default(),
                revenue: Money::from_minor(t.revenue, currency).display(),
                conversions: t.conversions,
            })
        })
        .collect())
}

pub(super) fn tier_mix_svg(health: &[TierHealth]) -> String {
    let names: Vec<String> = health.iter().map(|h| h.tier.clone()).collect();
    let values: Vec<f32> = health.iter().map(|h| h.enrollments as f32).collect();
    crate::analytics::charts::bars("Tier mix (active partners)", &names, &values)
}

fn revenue_svg(labels: &[String], revenue: &[i64], currency: Currency) -> String {
    let weeks: Vec<String> = labels.iter().map(|l| crate::analytics::charts::week_label(l)).collect();
    let values: Vec<f32> = revenue.iter().map(|m| to_f32(&Money::from_minor(*m, currency).amount_string())).collect();
    crate::analytics::charts::lines(&format!("Weekly revenue ({})", currency.code()), &weeks, &[("Revenue".into(), values)], 3)
}

/// The KPI dashboard: KPIs with period comparison, cohort trend (table and chart), revenue
/// trend, tier mix, health by tier, at-risk and dormant lists, top partners.
pub async fn dashboard(db: &DatabaseConnection, actor: &Actor, program_id: Option<i64>, days: u32, now: DateTime<Utc>) -> Result<models::Dashboard> {
    actor.require_team()?;
    let programs = crate::programs::summaries(db, actor.account_id).await?;
    if let Some(p) = program_id {
        programs.iter().find(|x| x.id == p).ok_or(Error::NotFound("program"))?;
    }
    let (kpis, window, previous_window) = kpis(db, actor.account_id, program_id, days, now).await?;
    let cohort_program = program_id.or(programs.first().map(|p| p.id));
    let (cohort, cohort_svg) = match cohort_program {
        Some(p) => {
            let (t, _) = cohort_table(db, actor.account_id, p, 12, now).await?;
            let name = programs.iter().find(|x| x.id == p).map(|x| x.name.clone()).unwrap_or_default();
            let svg = cohort_svg(&t, &name);
            (t, svg)
        }
        None => (CohortTable { tiers: vec![], rows: vec![] }, String::new()),
    };
    let currency = currency_of(db, actor.account_id, program_id).await?;
    let (labels, revenue, _) = revenue_trend(db, actor.account_id, program_id, 12, now).await?;
    let health = health_by_tier(db, actor.account_id, program_id).await?;
    let threshold = match cohort_program {
        Some(p) => crate::programs::load(db, actor.account_id, p).await?.row.at_risk_threshold,
        None => 40,
    };
    Ok(models::Dashboard {
        programs: programs.iter().map(|p| (p.id, p.name.clone())).collect(),
        program_id,
        window: format!("Last {days} days ({window})"),
        previous_window: format!("Previous {days} days ({previous_window})"),
        kpis,
        cohort_svg,
        cohort,
        revenue_svg: revenue_svg(&labels, &revenue, currency),
        tier_mix_svg: tier_mix_svg(&health),
        health,
        at_risk: at_risk(db, actor.account_id, program_id, 50).await?,
        dormant: dormant(db, actor.account_id, program_id, 50, now).await?,
        top: top_partners(db, actor.account_id, program_id, days, now, 10).await?,
        threshold,
        broadcasts: crate::comms::broadcasts::recent(db, actor.account_id, program_id, now - chrono::Duration::days(days as i64)).await?,
    })
}

/// A chart as a downloadable SVG: `cohort`, `revenue` or `tier_mix`.
pub async fn chart(db: &DatabaseConnection, actor: &Actor, name: &str, program_id: Option<i64>, now: DateTime<Utc>) -> Result<String> {
    actor.require_team()?;
    let programs = crate::programs::summaries(db, actor.account_id).await?;
    if let Some(p) = program_id {
        programs.iter().find(|x| x.id == p).ok_or(Error::NotFound("program"))?;
    }
    match name {
        "cohort" => {
            let p = program_id.or(programs.first().map(|p| p.id)).ok_or(Error::NotFound("program"))?;
            let (t, _) = cohort_table(db, actor.account_id, p, 12, now).await?;
            Ok(cohort_svg(&t, &programs.iter().find(|x| x.id == p).map(|x| x.name.clone()).unwrap_or_default()))
        }
        "revenue" => {
            let (labels, revenue, _) = revenue_trend(db, actor.account_id, program_id, 12, now).await?;
            Ok(revenue_svg(&labels, &revenue, currency_of(db, actor.account_id, program_id).await?))
        }
        "tier_mix" => Ok(tier_mix_svg(&health_by_tier(db, actor.account_id, program_id).await?)),
        _ => Err(Error::NotFound("chart")),
    }
}

/// A table as CSV: `kpis`, `cohorts`, `health`, `at_risk`, `dormant`, `top`.
pub async fn table_csv(db: &DatabaseConnection, actor: &Actor, name: &str, program_id: Option<i64>, days: u32, now: DateTime<Utc>) -> Result<String> {
    actor.require_team()?;
    let programs = crate::programs::summaries(db, actor.account_id).await?;
    if let Some(p) = program_id {
        programs.iter().find(|x| x.id == p).ok_or(Error::NotFound("program"))?;
    }
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let mut out: Vec<Vec<String>> = Vec::new();
    match name {
        "kpis" => {
            out.push(s(&["kpi", "value", "previous", "change"]));
            for k in kpis(db, actor.account_id, program_id, days, now).await?.0 {
                out.push(vec![k.label, k.value, k.previous, k.change.unwrap_or_default()]);
            }
        }
        "cohorts" => {
            let p = program_id.or(programs.first().map(|p| p.id)).ok_or(Error::NotFound("program"))?;
            out.push(s(&["week_start", "tier", "revenue", "conversions", "partners"]));
            for c in analytics::cohorts(db, actor.account_id, p, 12, now).await? {
                out.push(vec![c.week_start, c.tier, c.revenue, c.conversions.to_string(), c.partners.to_string()]);
            }
        }
        "health" => {
            out.push(s(&["tier", "active_partners", "average_health", "at_risk"]));
            for h in health_by_tier(db, actor.account_id, program_id).await? {
                out.push(vec![h.tier, h.enrollments.to_string(), h.average.unwrap_or_default(), h.at_risk.to_string()]);
            }
        }
        "at_risk" | "dormant" => {
            let rows = if name == "at_risk" {
                at_risk(db, actor.account_id, program_id, 10_000).await?
            } else {
                dormant(db, actor.account_id, program_id, 10_000, now).await?
            };
            out.push(s(&["partner_id", "partner", "tier", "health", "last_conversion", "reason"]));
            for r in rows {
                out.push(vec![
                    r.partner_id.to_string(),
                    r.name,
                    r.tier,
                    r.score.map(|x| x.to_string()).unwrap_or_default(),
                    r.last_conversion,
                    r.reason,
                ]);
            }
        }
        "top" => {
            out.push(s(&["partner_id", "partner", "tier", "revenue", "conversions"]));
            for t in top_partners(db, actor.account_id, program_id, days, now, 100).await? {
                out.push(vec![t.partner_id.to_string(), t.name, t.tier, t.revenue, t.conversions.to_string()]);
            }
        }
        _ => return Err(Error::NotFound("table")),
    }
    crate::csv_export::to_csv(&out)
}
