//! **Analytics**: read-only figures for the team and leadership: KPI summaries and cohorts (this
//! file), the dashboards with their exports ([`dashboards`]) and the server-rendered charts
//! ([`charts`]).
//!
//! Analytics read from the rollups (never from raw clicks or conversions): KPI summaries over a
//! window from `program_rollups`, cohorts by tier at the time from `tier_rollups`, the KPI
//! dashboard, health by tier, at-risk and dormant lists. Whole UTC days come from the rollups;
//! only the partial days at the edges of an API window that does not start or end at midnight
//! are summed from raw events, by the database (the dashboard's windows are whole days).

pub mod boards;
pub mod charts;
pub mod dashboards;

use crate::entities::program_rollup;
use crate::{Error, Result};
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use models::{Currency, Money};
use rust_decimal::prelude::*;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query};
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, FromQueryResult, QueryFilter};
use serde::Serialize;

/// KPIs of a window (api.md `GET /api/v1/analytics/summary`).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Summary {
    /// Revenue of attributed conversions, net of refunds (decimal).
    pub revenue: String,
    /// ISO 4217 code of `revenue` and `commission`.
    pub currency: String,
    /// Attributed conversions.
    pub conversions: i64,
    /// Clicks.
    pub clicks: i64,
    /// Conversions ÷ clicks over the window, 4 decimals (`"0.0000"` without clicks).
    pub conversion_rate: String,
    /// Commission earned, net of clawbacks (decimal).
    pub commission: String,
    /// The window's start (inclusive, RFC 3339).
    pub from: String,
    /// The window's end (exclusive, RFC 3339).
    pub to: String,
}

/// Totals from raw events for a stretch shorter than a day at a window's edge, with the same
/// definitions as the rollups (clicks; attributed conversions with their amounts net of
/// refunds and their commission entries) for `programs`. Every figure is summed by the database
/// on an index that starts with the program and the time (`m0013_range_edges`): no row is
/// loaded into memory, whatever the traffic of the edge.
async fn raw_totals(db: &DatabaseConnection, programs: &[i64], start: DateTime<Utc>, end: DateTime<Utc>) -> Result<[i64; 4]> {
    use crate::entities::{click, conversion, ledger_entry};
    use sea_orm::sea_query::{Asterisk, SelectStatement};
    if end <= start || programs.is_empty() {
        return Ok([0; 4]);
    }
    let backend = db.get_database_backend();
    let bigint = || Alias::new("bigint");
    // Attributed conversions of the stretch.
    let in_stretch = |q: &mut SelectStatement| {
        use conversion::Column as C;
        q.and_where(Expr::col((conversion::Entity, C::ProgramId)).is_in(programs.iter().copied()))
            .and_where(Expr::col((conversion::Entity, C::OccurredAt)).gte(start))
            .and_where(Expr::col((conversion::Entity, C::OccurredAt)).lt(end))
            .and_where(Expr::col((conversion::Entity, C::EnrollmentId)).is_not_null());
    };
    let mut convs = Query::select();
    convs.from(conversion::Entity).expr_as(Expr::col(Asterisk).count().cast_as(bigint()), Alias::new("conversions")).expr_as(
        Expr::col(conversion::Column::AmountMinor).sub(Expr::col(conversion::Column::RefundedMinor)).sum().cast_as(bigint()),
        Alias::new("revenue"),
    );
    in_stretch(&mut convs);
    let mut commission = Query::select();
    commission
        .from(ledger_entry::Entity)
        .inner_join(
            conversion::Entity,
            Expr::col((conversion::Entity, conversion::Column::Id)).equals((ledger_entry::Entity, ledger_entry::Column::ConversionId)),
        )
        .expr_as(Expr::col((ledger_entry::Entity, ledger_entry::Column::AmountMinor)).sum().cast_as(bigint()), Alias::new("commission"))
        .and_where(Expr::col((ledger_entry::Entity, ledger_entry::Column::Kind)).is_in(["earned", "adjustment", "clawback"]));
    in_stretch(&mut commission);
    let mut clicks = Query::select();
    clicks
        .from(click::Entity)
        .expr_as(Expr::col(Asterisk).count().cast_as(bigint()), Alias::new("clicks"))
        .and_where(Expr::col(click::Column::ProgramId).is_in(programs.iter().copied()))
        .and_where(Expr::col(click::Column::At).gte(start))
        .and_where(Expr::col(click::Column::At).lt(end));
    let (c, m, k) = tokio::try_join!(
        db.query_one_raw(backend.build(&convs)),
        db.query_one_raw(backend.build(&commission)),
        db.query_one_raw(backend.build(&clicks)),
    )?;
    let get = |row: &Option<sea_orm::QueryResult>, i: usize| -> Result<i64> {
        Ok(match row {
            Some(r) => r.try_get_by_index::<Option<i64>>(i)?.unwrap_or(0),
            None => 0,
        })
    };
    Ok([get(&k, 0)?, get(&c, 0)?, get(&c, 1)?, get(&m, 0)?])
}

#[derive(FromQueryResult)]
struct Totals {
    clicks: Option<i64>,
    conversions: Option<i64>,
    revenue: Option<i64>,
    commission: Option<i64>,
}

/// KPIs of the account (one program, or all when they share a currency) over `[from, to)`:
/// whole UTC days from the rollups, partial days at the edges from raw events.
pub async fn summary(
    db: &DatabaseConnection,
    account_id: i64,
    program_id: Option<i64>,
    from_t: DateTime<Utc>,
    to_t: DateTime<Utc>,
) -> Result<Summary> {
    if to_t <= from_t {
        return Err(Error::invalid("to", "must be after from"));
    }
    // The programs of the window (one, or every program of the account: the edges read the
    // (program, time) indexes for each) and their currency.
    let (programs, currency) = match program_id {
        Some(p) => (vec![p], crate::programs::load(db, account_id, p).await?.currency),
        None => {
            let programs = crate::programs::summaries(db, account_id).await?;
            let mut codes: Vec<&str> = programs.iter().map(|p| p.currency.as_str()).collect();
            codes.sort_unstable();
            codes.dedup();
            if codes.len() > 1 {
                return Err(Error::invalid("program_id", "the account's programs use several currencies: name a program"));
            }
            let currency = Currency::parse(codes.first().copied().unwrap_or("USD")).map_err(|e| Error::Internal(e.0))?;
            (programs.iter().map(|p| p.id).collect::<Vec<_>>(), currency)
        }
    };
    let midnight = |t: DateTime<Utc>| t.date_naive().and_time(NaiveTime::MIN).and_utc();
    let first_full = if midnight(from_t) == from_t { from_t } else { midnight(from_t) + chrono::Duration::days(1) };
    let last_full = midnight(to_t);
    let (from, to) = (first_full.date_naive(), last_full.date_naive());
    let edges = if first_full >= last_full {
        raw_totals(db, &programs, from_t, to_t).await?
    } else {
        let a = raw_totals(db, &programs, from_t, first_full).await?;
        let b = raw_totals(db, &programs, last_full, to_t).await?;
        [a[0] + b[0], a[1] + b[1], a[2] + b[2], a[3] + b[3]]
    };
    use program_rollup::Column as C;
    let sum = |c: C| Expr::col(c).sum().cast_as(Alias::new("bigint"));
    let mut q = Query::select();
    q.from(program_rollup::Entity)
        .expr_as(sum(C::Clicks), Alias::new("clicks"))
        .expr_as(sum(C::Conversions), Alias::new("conversions"))
        .expr_as(sum(C::RevenueMinor), Alias::new("revenue"))
        .expr_as(sum(C::CommissionMinor), Alias::new("commission"))
        .and_where(Expr::col(C::AccountId).eq(account_id))
        .and_where(Expr::col(C::Day).gte(from))
        .and_where(Expr::col(C::Day).lt(to));
    if let Some(p) = program_id {
        q.and_where(Expr::col(C::ProgramId).eq(p));
    }
    let t = if from < to { Totals::find_by_statement(db.get_database_backend().build(&q)).one(db).await? } else { None }.unwrap_or(Totals {
        clicks: None,
        conversions: None,
        revenue: None,
        commission: None,
    });
    let clicks = t.clicks.unwrap_or(0) + edges[0];
    let conversions = t.conversions.unwrap_or(0) + edges[1];
    let revenue = t.revenue.unwrap_or(0) + edges[2];
    let commission = t.commission.unwrap_or(0) + edges[3];
    let rate = if clicks == 0 { Decimal::ZERO } else { Decimal::from(conversions) / Decimal::from(clicks) };
    Ok(Summary {
        revenue: Money::from_minor(revenue, currency).amount_string(),
        currency: currency.code().to_string(),
        conversions,
        clicks,
        conversion_rate: format!("{:.4}", rate.round_dp_with_strategy(4, RoundingStrategy::MidpointAwayFromZero)),
        commission: Money::from_minor(commission, currency).amount_string(),
        from: from_t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        to: to_t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    })
}

/// One tier's figures in one week (api.md `GET /api/v1/analytics/cohorts`).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CohortPoint {
    /// Monday of the week (UTC), `YYYY-MM-DD`.
    pub week_start: String,
    /// The tier the conversions were earned in (the tier at the time, not today's).
    pub tier: String,
    /// Revenue net of refunds (decimal).
    pub revenue: String,
    /// Conversions.
    pub conversions: i64,
    /// Distinct partners converting.
    pub partners: i64,
}

/// Revenue, conversions and converting partners per week and tier-at-the-time over the last
/// `weeks` whole weeks up to `now`'s week, for one program, from `tier_rollups` (a few rows per
/// day, whatever the number of conversions). The tier of a conversion is the tier it earned in.
pub async fn cohorts(db: &DatabaseConnection, account_id: i64, program_id: i64, weeks: u32, now: DateTime<Utc>) -> Result<Vec<CohortPoint>> {
    use crate::entities::{tier, tier_rollup};
    use std::collections::BTreeMap;
    if !(1..=104).contains(&weeks) {
        return Err(Error::invalid("weeks", "must be between 1 and 104"));
    }
    let program = crate::programs::load(db, account_id, program_id).await?;
    let first = crate::rollups::week_start(now.date_naive()) - chrono::Duration::weeks(weeks as i64 - 1);
    let names: std::collections::HashMap<i64, String> =
        crate::db::names(db, (tier::Column::Id, tier::Column::Name), tier::Column::ProgramId.eq(program_id), tier::Column::Id).await?;
    let rows = tier_rollup::Entity::find()
        .filter(tier_rollup::Column::ProgramId.eq(program_id))
        .filter(tier_rollup::Column::Day.gte(first))
        .filter(tier_rollup::Column::Day.lte(now.date_naive()))
        .all(db)
        .await?;
    let mut acc: BTreeMap<(NaiveDate, String), (i64, i64, i64)> = BTreeMap::new();
    for r in rows {
        let tier = names.get(&r.tier_id).cloned().unwrap_or_else(|| format!("tier {}", r.tier_id));
        let e = acc.entry((crate::rollups::week_start(r.day), tier)).or_default();
        e.0 += r.revenue_minor;
        e.1 += r.conversions;
        e.2 += r.partners;
    }
    Ok(acc
        .into_iter()
        .filter(|(_, (revenue, conversions, _))| *conversions != 0 || *revenue != 0)
        .map(|((week, tier), (revenue, conversions, partners))| CohortPoint {
            week_start: week.to_string(),
            tier,
            revenue: Money::from_minor(revenue, program.currency).amount_string(),
            conversions,
            partners,
        })
        .collect())
}
