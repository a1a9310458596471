//! Health scores: 0–100 per active enrollment, from five explainable parts, recomputed daily by
//! the `health_scores` job. The current score goes to `enrollments.health_score` (the directory
//! derives its health bands from it and `programs.at_risk_threshold`); every day's score and its
//! parts are kept in `health_scores`.
//!
//! | part | score 0–100 | data |
//! | --- | --- | --- |
//! | trend | conversion rate of the last 30 days ÷ the prior 30, capped at 1 (×100) | daily rollups |
//! | recency | 100 up to 7 days since the last conversion, falling to 0 at 60 | daily rollups |
//! | email | open rate of the emails sent in the last 90 days | *not yet*: excluded (#7) |
//! | compliance | 100 − 50 per open fraud flag (held, pending ledger entry); a rejected tax document halves it (none uploaded: left out) | ledger, documents |
//! | activity | mean of link clicks (10+ in 30 days = 100) and portal login (≤ 14 days 100, ≤ 45 days 50) | rollups, users |
//!
//! A part without data (no email sent yet, a partner too new for a trend) is excluded and the
//! remaining weights are re-normalised, so missing data never counts as bad data. Below the
//! program's threshold the enrollment is at risk; the reason lists its weak parts in words.

use crate::entities::{enrollment, health_score, ledger_entry, program, user};
use crate::report::Report;
use crate::{Actor, Error, Result};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use models::{HealthPart, HealthWeights, Role};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, FromQueryResult, QueryFilter, Set, Statement};
use std::collections::HashMap;

/// Reads a program's weights (`programs.health_weights` JSON; the defaults when unset or invalid).
pub fn weights(p: &program::Model) -> HealthWeights {
    p.health_weights.as_deref().and_then(|j| serde_json::from_str(j).ok()).unwrap_or_default()
}

/// What the score of one enrollment is computed from.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Inputs {
    /// Days since the enrollment joined.
    pub days_enrolled: i64,
    /// Clicks and conversions of the last 30 days.
    pub clicks_last: i64,
    /// Conversions of the last 30 days.
    pub conversions_last: i64,
    /// Clicks of the 30 days before.
    pub clicks_prior: i64,
    /// Conversions of the 30 days before.
    pub conversions_prior: i64,
    /// Days since the last conversion (within the last year).
    pub days_since_conversion: Option<i64>,
    /// Email open rate in percent (none until emails are sent and open-tracked: issue #7).
    pub email_open_rate: Option<u8>,
    /// Open fraud flags: held ledger entries still pending.
    pub fraud_flags: i64,
    /// Whether a tax document is on file (none until tax documents exist: issue #8).
    pub tax_document: Option<bool>,
    /// Days since the partner's last portal login; `Some(None)` when it has a portal user that
    /// never logged in, `None` when it has no portal user.
    pub days_since_login: Option<Option<i64>>,
}

fn pct_change(now: f64, before: f64) -> i64 {
    ((now - before) / before * 100.0).round() as i64
}

/// Scores one enrollment: the total and its parts.
pub fn score(i: &Inputs, w: &HealthWeights) -> (i32, Vec<HealthPart>) {
    let mut parts: Vec<(&str, &str, Option<u8>, u32, String)> = Vec::new();

    // Trend: rates when both periods had clicks, else conversion counts.
    let trend = if i.days_enrolled < 30 {
        (None, format!("joined {} days ago: too new for a 30-day trend", i.days_enrolled))
    } else if i.conversions_prior == 0 && i.conversions_last == 0 {
        (Some(0), "no conversions in the last 60 days".to_string())
    } else if i.conversions_prior == 0 {
        (Some(100), format!("{} conversions in the last 30 days, none in the prior 30", i.conversions_last))
    } else {
        let (now, before, what) = if i.clicks_last > 0 && i.clicks_prior > 0 {
            (i.conversions_last as f64 / i.clicks_last as f64, i.conversions_prior as f64 / i.clicks_prior as f64, "conversion rate")
        } else {
            (i.conversions_last as f64, i.conversions_prior as f64, "conversions")
        };
        let change = pct_change(now, before);
        let s = (now / before * 100.0).clamp(0.0, 100.0).round() as u8;
        let words = match change {
            c if c <= -5 => format!("{what} down {}% vs prior 30 days", -c),
            c if c >= 5 => format!("{what} up {c}% vs prior 30 days"),
            _ => format!("{what} steady vs prior 30 days"),
        };
        (Some(s), words)
    };
    parts.push(("trend", "Conversion-rate trend", trend.0, w.trend, trend.1));

    let recency = match i.days_since_conversion {
        None => (Some(0), "no conversion in the last year".to_string()),
        Some(d) => {
            let s = if d <= 7 {
                100
            } else if d >= 60 {
                0
            } else {
                ((60 - d) as f64 / 53.0 * 100.0).round() as u8
            };
            (
                Some(s),
                match d {
                    0 => "converted today".to_string(),
                    1 => "last conversion yesterday".to_string(),
                    d => format!("last conversion {d} days ago"),
                },
            )
        }
    };
    parts.push(("recency", "Recency of last conversion", recency.0, w.recency, recency.1));

    let email = match i.email_open_rate {
        Some(r) => (Some(r.min(100)), format!("{r}% of emails opened in 90 days")),
        None => (None, "no email sent yet: excluded".to_string()),
    };
    parts.push(("email", "Email open rate", email.0, w.email, email.1));

    let flags = (100 - 50 * i.fraud_flags).max(0) as u8;
    let (compliance, tax_words) = match i.tax_document {
        Some(true) => (flags, "; tax document on file"),
        Some(false) => (flags / 2, "; no tax document on file"),
        None => (flags, ""),
    };
    let flag_words = match i.fraud_flags {
        0 => "no open fraud flags".to_string(),
        1 => "1 open fraud flag".to_string(),
        n => format!("{n} open fraud flags"),
    };
    parts.push(("compliance", "Compliance", Some(compliance), w.compliance, format!("{flag_words}{tax_words}")));

    let clicks = (i.clicks_last * 10).min(100) as u8;
    let (activity, login_words) = match i.days_since_login {
        None => (clicks, String::new()),
        Some(None) => (clicks / 2, "; never logged in to the portal".to_string()),
        Some(Some(d)) => {
            let l = if d <= 14 {
                100
            } else if d <= 45 {
                50
            } else {
                0
            };
            (
                (clicks + l) / 2,
                if d > 14 {
                    format!("; no login for {d} days")
                } else {
                    match d {
                        0 => "; logged in today".to_string(),
                        1 => "; last login yesterday".to_string(),
                        d => format!("; last login {d} days ago"),
                    }
                },
            )
        }
    };
    let click_words = if i.clicks_last == 0 { "no link clicks in 30 days".to_string() } else { format!("{} link clicks in 30 days", i.clicks_last) };
    parts.push(("activity", "Activity", Some(activity), w.activity, format!("{click_words}{login_words}")));

    let total_weight: u32 = parts.iter().filter(|p| p.2.is_some()).map(|p| p.3).sum();
    let sum: f64 = parts.iter().filter_map(|p| p.2.map(|s| s as f64 * p.3 as f64)).sum();
    let total = if total_weight == 0 { 0 } else { (sum / total_weight as f64).round() as i32 };
    let parts = parts
        .into_iter()
        .map(|(key, label, s, weight, detail)| HealthPart {
            key: key.into(),
            label: label.into(),
            score: s,
            weight,
            contribution: match s {
                Some(s) if total_weight > 0 => {
                    format!("{:.1}", s as f64 * weight as f64 / total_weight as f64)
                }
                _ => "—".into(),
            },
            detail,
        })
        .collect();
    (total, parts)
}

/// The reason in words: the details of the weighted parts scoring below 50, weakest first;
/// without any, the weakest part below 100.
pub fn reason(parts: &[HealthPart]) -> String {
    let counted = || parts.iter().filter(|p| p.weight > 0 && p.score.is_some());
    let mut weak: Vec<&HealthPart> = counted().filter(|p| p.score.is_some_and(|s| s < 50)).collect();
    if weak.is_empty() {
        weak.extend(counted().filter(|p| p.score.is_some_and(|s| s < 100)).min_by_key(|p| p.score));
    }
    weak.sort_by_key(|p| p.score);
    if weak.is_empty() {
        return "no weak part".into();
    }
    weak.iter().map(|p| p.detail.trim_start_matches("; ").replace("; ", ", ")).collect::<Vec<_>>().join("; ")
}

#[derive(FromQueryResult)]
struct Window {
    enrollment_id: i64,
    clicks_last: i64,
    conv_last: i64,
    clicks_prior: i64,
    conv_prior: i64,
}

#[derive(FromQueryResult)]
struct LastDay {
    enrollment_id: i64,
    d: NaiveDate,
}

/// Recomputes every active enrollment's score as of `now`: writes `enrollments.health_score`
/// and the day's history row (a second run the same day replaces it). Idempotent.
pub async fn refresh(db: &DatabaseConnection, now: DateTime<Utc>) -> Result<Report> {
    let mut report = Report::default();
    let today = now.date_naive();
    let backend = db.get_database_backend();
    let (p, cast) = match backend {
        DbBackend::Postgres => (["$1", "$2", "$3"], "::date"),
        _ => (["?", "?", "?"], ""),
    };
    let day = |d: NaiveDate| d.format("%Y-%m-%d").to_string();
    let logins: HashMap<i64, Option<DateTime<Utc>>> = {
        let mut m: HashMap<i64, Option<DateTime<Utc>>> = HashMap::new();
        for u in user::Entity::find().filter(user::Column::PartnerId.is_not_null()).all(db).await? {
            let e = m.entry(u.partner_id.expect("filtered")).or_insert(None);
            *e = (*e).max(u.last_login_at);
        }
        m
    };
    let open_rates = crate::outbox::open_rates(db, now).await?;
    let mut tax_documents: HashMap<i64, HashMap<i64, bool>> = HashMap::new();
    for prog in program::Entity::find().filter(program::Column::ArchivedAt.is_null()).all(db).await? {
        let w = weights(&prog);
        if !tax_documents.contains_key(&prog.account_id) {
            tax_documents.insert(prog.account_id, crate::money::compliance::tax_documents(db, prog.account_id).await?);
        }
        let docs = &tax_documents[&prog.account_id];
        let enrollments = enrollment::Entity::find()
            .filter(enrollment::Column::ProgramId.eq(prog.id))
            .filter(enrollment::Column::Status.eq("active"))
            .all(db)
            .await?;
        if enrollments.is_empty() {
            continue;
        }
        let split = today - Duration::days(29);
        let windows: HashMap<i64, Window> = Window::find_by_statement(Statement::from_sql_and_values(
            backend,
            format!(
                "SELECT enrollment_id, \
                   CAST(SUM(CASE WHEN day >= {a}{cast} THEN clicks ELSE 0 END) AS BIGINT) AS clicks_last, \
                   CAST(SUM(CASE WHEN day >= {a}{cast} THEN conversions ELSE 0 END) AS BIGINT) AS conv_last, \
                   CAST(SUM(CASE WHEN day < {a}{cast} THEN clicks ELSE 0 END) AS BIGINT) AS clicks_prior, \
                   CAST(SUM(CASE WHEN day < {a}{cast} THEN conversions ELSE 0 END) AS BIGINT) AS conv_prior \
                 FROM daily_rollups WHERE program_id = {c} AND day >= {b}{cast} AND day <= {a2}{cast} GROUP BY enrollment_id",
                a = p[0],
                b = p[1],
                c = p[2],
                a2 = if backend == DbBackend::Postgres { "$4" } else { "?" },
            ),
            match backend {
                DbBackend::Postgres => vec![day(split).into(), day(split - Duration::days(30)).into(), prog.id.into(), day(today).into()],
                // SQLite binds positionally: the split date appears four times before the rest.
                _ => vec![
                    day(split).into(),
                    day(split).into(),
                    day(split).into(),
                    day(split).into(),
                    prog.id.into(),
                    day(split - Duration::days(30)).into(),
                    day(today).into(),
                ],
            },
        ))
        .all(db)
        .await?
        .into_iter()
        .map(|r| (r.enrollment_id, r))
        .collect();
        let last: HashMap<i64, NaiveDate> = LastDay::find_by_statement(Statement::from_sql_and_values(
            backend,
            format!(
                "SELECT enrollment_id, MAX(day) AS d FROM daily_rollups \
                 WHERE program_id = {} AND conversions > 0 AND day >= {}{cast} AND day <= {}{cast} GROUP BY enrollment_id",
                p[0], p[1], p[2]
            ),
            [prog.id.into(), day(today - Duration::days(365)).into(), day(today).into()],
        ))
        .all(db)
        .await?
        .into_iter()
        .map(|r| (r.enrollment_id, r.d))
        .collect();
        let mut flags: HashMap<i64, i64> = HashMap::new();
        for e in ledger_entry::Entity::find()
            .filter(ledger_entry::Column::ProgramId.eq(prog.id))
            .filter(ledger_entry::Column::HoldReason.is_not_null())
            .filter(ledger_entry::Column::Status.eq("pending"))
            .all(db)
            .await?
        {
            *flags.entry(e.enrollment_id).or_default() += 1;
        }

        let mut by_score: HashMap<i32, Vec<i64>> = HashMap::new();
        let mut history = Vec::with_capacity(enrollments.len());
        // Enrollments whose score fell below the at-risk threshold today.
        let mut fell = Vec::new();
        for e in &enrollments {
            report.examined += 1;
            let win = windows.get(&e.id);
            let inputs = Inputs {
                days_enrolled: (now - e.joined_at).num_days(),
                clicks_last: win.map_or(0, |x| x.clicks_last),
                conversions_last: win.map_or(0, |x| x.conv_last),
                clicks_prior: win.map_or(0, |x| x.clicks_prior),
                conversions_prior: win.map_or(0, |x| x.conv_prior),
                days_since_conversion: last.get(&e.id).map(|d| (today - *d).num_days()),
                email_open_rate: open_rates.get(&e.partner_id).copied(),
                fraud_flags: flags.get(&e.id).copied().unwrap_or(0),
                tax_document: docs.get(&e.partner_id).copied(),
                days_since_login: logins.get(&e.partner_id).map(|l| l.map(|t| (now - t).num_days().max(0))),
            };
            let (total, parts) = score(&inputs, &w);
            let threshold = prog.at_risk_threshold;
            if total < threshold && e.health_score.is_none_or(|old| old >= threshold) {
                fell.push(e);
            }
            if e.health_score != Some(total) {
                by_score.entry(total).or_default().push(e.id);
                report.changed += 1;
            }
            history.push(health_score::ActiveModel {
                enrollment_id: Set(e.id),
                day: Set(today),
                account_id: Set(e.account_id),
                program_id: Set(prog.id),
                score: Set(total),
                parts: Set(serde_json::to_string(&parts).expect("plain data serialises")),
                computed_at: Set(now),
            });
        }
        let txn = crate::db::begin_write(db).await?;
        for (s, ids) in by_score {
            for chunk in ids.chunks(500) {
                enrollment::Entity::update_many()
                    .col_expr(enrollment::Column::HealthScore, Expr::value(s))
                    .filter(enrollment::Column::Id.is_in(chunk.to_vec()))
                    .exec(&txn)
                    .await?;
            }
        }
        let mut rows = history.into_iter().peekable();
        while rows.peek().is_some() {
            let chunk: Vec<_> = rows.by_ref().take(500).collect();
            health_score::Entity::insert_many(chunk)
                .on_conflict(
                    OnConflict::columns([health_score::Column::EnrollmentId, health_score::Column::Day])
                        .update_columns([health_score::Column::Score, health_score::Column::Parts, health_score::Column::ComputedAt])
                        .to_owned(),
                )
                .exec_without_returning(&txn)
                .await?;
        }
        let day = today.to_string();
        for e in fell {
            crate::events::publish(&txn, now, crate::events::Event::AtRisk { enrollment: e, day: &day }).await?;
        }
        txn.commit().await?;
    }
    Ok(report)
}

/// The latest score of an enrollment with its parts and up to 90 days of history.
pub async fn view(db: &impl ConnectionTrait, enrollment_id: i64) -> Result<Option<models::HealthView>> {
    use sea_orm::{QueryOrder, QuerySelect};
    let rows = health_score::Entity::find()
        .filter(health_score::Column::EnrollmentId.eq(enrollment_id))
        .order_by_desc(health_score::Column::Day)
        .limit(90)
        .all(db)
        .await?;
    let Some(latest) = rows.first() else {
        return Ok(None);
    };
    Ok(Some(models::HealthView {
        score: latest.score,
        parts: serde_json::from_str(&latest.parts).unwrap_or_default(),
        day: latest.day.to_string(),
        history: rows.iter().rev().map(|r| (r.day.to_string(), r.score)).collect(),
    }))
}

/// A program's health weights and at-risk threshold.
pub async fn settings(db: &DatabaseConnection, actor: &Actor, program_id: i64) -> Result<(models::HealthWeights, i32)> {
    actor.require_team()?;
    let p = crate::programs::load(db, actor.account_id, program_id).await?;
    Ok((weights(&p.row), p.row.at_risk_threshold))
}

/// Changes a program's health weights and at-risk threshold (program managers); scores follow
/// at the next `health_scores` run.
pub async fn save_settings(
    db: &DatabaseConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    program_id: i64,
    weights: &models::HealthWeights,
    threshold: i32,
) -> Result<()> {
    actor.require_any(&[Role::ProgramManager])?;
    let p = crate::programs::load(db, actor.account_id, program_id).await?;
    // Only the program's own managers (and admins): these settings decide who gets at-risk emails.
    crate::programs::settings::require_edit(db, actor, program_id).await?;
    if !(0..=100).contains(&threshold) {
        return Err(Error::invalid("threshold", "must be between 0 and 100"));
    }
    let all = [weights.trend, weights.recency, weights.email, weights.compliance, weights.activity];
    if all.iter().any(|x| *x > 100) || all.iter().sum::<u32>() == 0 {
        return Err(Error::invalid("weights", "each weight is 0 to 100 and at least one is above 0"));
    }
    let describe = |w: Option<&str>, t: i32| format!("weights {}, at-risk below {t}", w.unwrap_or("default"));
    let before = describe(p.row.health_weights.as_deref(), p.row.at_risk_threshold);
    let subject = format!("health settings of {}", p.row.name);
    let weights_json = serde_json::to_string(weights).expect("plain data serialises");
    let after = describe(Some(&weights_json), threshold);
    let txn = crate::db::begin_write(db).await?;
    let mut a: program::ActiveModel = p.row.into();
    a.health_weights = Set(Some(weights_json));
    a.at_risk_threshold = Set(threshold);
    sea_orm::ActiveModelTrait::update(a, &txn).await?;
    crate::access::audit::record(
        &txn,
        actor,
        now,
        crate::access::audit::Change { kind: "health_settings_changed", subject, before: Some(before), after: Some(after) },
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn steady() -> Inputs {
        Inputs {
            days_enrolled: 200,
            clicks_last: 100,
            conversions_last: 10,
            clicks_prior: 100,
            conversions_prior: 10,
            days_since_conversion: Some(2),
            email_open_rate: None,
            fraud_flags: 0,
            tax_document: None,
            days_since_login: Some(Some(3)),
        }
    }

    #[test]
    fn a_steady_active_partner_scores_100_with_the_email_part_excluded() {
        let (total, parts) = score(&steady(), &HealthWeights::default());
        assert_eq!(total, 100);
        let email = parts.iter().find(|p| p.key == "email").unwrap();
        assert_eq!(email.score, None);
        assert_eq!(email.contribution, "—");
        // The four remaining weights (90) are re-normalised: trend 30/90 of 100 points.
        assert_eq!(parts.iter().find(|p| p.key == "trend").unwrap().contribution, "33.3");
    }

    #[test]
    fn a_falling_conversion_rate_and_no_login_are_named_in_the_reason() {
        let i = Inputs { conversions_last: 4, days_since_conversion: Some(20), days_since_login: Some(Some(45)), clicks_last: 0, ..steady() };
        let (total, parts) = score(&i, &HealthWeights::default());
        // Conversions fall from 10 to 4 (no clicks in the last period: counts are compared).
        let trend = parts.iter().find(|p| p.key == "trend").unwrap();
        assert_eq!(trend.score, Some(40));
        assert_eq!(trend.detail, "conversions down 60% vs prior 30 days");
        let activity = parts.iter().find(|p| p.key == "activity").unwrap();
        assert_eq!(activity.score, Some(25));
        // (40·30 + 75·25 + 100·15 + 25·20) / 90 = 56.4 → 56
        assert_eq!(total, 56);
        assert_eq!(reason(&parts), "no link clicks in 30 days, no login for 45 days; conversions down 60% vs prior 30 days");
    }

    #[test]
    fn weights_change_the_score_and_a_zero_weight_drops_a_part() {
        let i = Inputs { fraud_flags: 1, ..steady() };
        let only_compliance = HealthWeights { trend: 0, recency: 0, email: 0, compliance: 1, activity: 0 };
        assert_eq!(score(&i, &only_compliance).0, 50);
        assert_eq!(score(&i, &HealthWeights::default()).0, 92);
    }

    #[test]
    fn a_new_partner_has_no_trend_part_and_one_that_never_converted_scores_low() {
        let i = Inputs {
            days_enrolled: 10,
            clicks_last: 0,
            conversions_last: 0,
            conversions_prior: 0,
            clicks_prior: 0,
            days_since_conversion: None,
            days_since_login: None,
            ..steady()
        };
        let (total, parts) = score(&i, &HealthWeights::default());
        assert_eq!(parts[0].score, None);
        // recency 0·25, compliance 100·15, activity 0·20 → 1500/60 = 25
        assert_eq!(total, 25);
    }
}
