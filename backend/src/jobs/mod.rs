//! **Jobs**: the scheduler that runs every periodic job of every area under a lease; the only
//! area that calls all the others. Jobs report with the leaf type [`crate::report::Report`].
//!
//! Background jobs. Each job is an idempotent `async fn(db, now) -> Result<Report>` declared in
//! [`JOBS`] with its period. A lease table elects one runner per job at a time across any number
//! of replicas (a row per job with holder and expiry: works the same on SQLite and PostgreSQL);
//! every run is recorded in `job_runs`; failures are retried with exponential backoff.
//! `trellis scheduler run-once [--job NAME] [--now T]` runs jobs by hand, as of any moment.

use crate::entities::{conversion, daily_rollup, enrollment, job_lease, job_run, ledger_entry, partner, program};
use crate::outbox::{self, NewEmail};
use crate::report::Report;
use crate::timeline::{self, Event};
use crate::{access::session_store, Result};
use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use serde_json::json;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;

type JobFn = for<'a> fn(&'a DatabaseConnection, DateTime<Utc>) -> Pin<Box<dyn Future<Output = Result<Report>> + Send + 'a>>;

/// A declared job.
pub struct Job {
    /// Stable name (`--job NAME`).
    pub name: &'static str,
    /// What it does, for the jobs page.
    pub about: &'static str,
    /// How often it runs (seconds).
    pub period_secs: i64,
    /// The job itself.
    pub run: JobFn,
}

/// Every job of the scheduler.
pub const JOBS: &[Job] = &[
    Job {
        name: "tier_evaluation",
        about: "Upgrades every active enrollment whose tier rule is met",
        period_secs: 3600,
        run: |db, now| {
            Box::pin(async move { crate::programs::tiers::pass(db, now, None).await.map(|r| Report { examined: r.examined, changed: r.changed }) })
        },
    },
    Job {
        name: "downgrade_review",
        about: "Moves enrollments to the tier they qualify for at each program's review cycle",
        period_secs: 3600,
        run: |db, now| Box::pin(downgrade_review(db, now)),
    },
    Job {
        name: "dormant_detection",
        about: "Marks partners with no conversion for the program's dormancy days and queues a re-engagement email, once per spell",
        period_secs: 3600,
        run: |db, now| Box::pin(dormant_detection(db, now)),
    },
    Job {
        name: "rollup_repair",
        about: "Recomputes yesterday's daily rollups from raw clicks and conversions and repairs any drift",
        period_secs: 86_400,
        run: |db, now| Box::pin(rollup_repair(db, now)),
    },
    Job {
        name: "partner_stats",
        about: "Refreshes each enrollment's 90-day revenue, conversions, clicks and last conversion for the directory",
        period_secs: 900,
        run: |db, now| Box::pin(crate::tracking::partner_stats::refresh(db, now)),
    },
    Job {
        name: "health_scores",
        about: "Recomputes every active enrollment's health score and keeps the day's score with its parts",
        period_secs: 86_400,
        run: |db, now| Box::pin(crate::partners::health::refresh(db, now)),
    },
    Job {
        name: "analytics_rebuild",
        about: "Rebuilds the program and tier rollups from the daily rollups and conversions (the backfill after an upgrade; yearly after)",
        period_secs: 365 * 86_400,
        run: |db, _now| Box::pin(crate::rollups::rebuild(db)),
    },
    Job {
        name: "sequences",
        about: "Sends the due steps of behaviour-triggered email sequences and stops runs whose stop condition holds",
        period_secs: 60,
        run: |db, now| Box::pin(crate::comms::sequences::advance(db, now)),
    },
    Job {
        name: "broadcasts",
        about: "Sends scheduled broadcasts that are due",
        period_secs: 60,
        run: |db, now| Box::pin(crate::comms::broadcasts::send_due(db, now)),
    },
    Job {
        name: "outbox_delivery",
        about: "Sends queued emails over SMTP (TRELLIS_SMTP_URL), retrying with backoff; without SMTP they stay in the outbox",
        period_secs: 60,
        run: |db, now| {
            Box::pin(async move {
                match crate::comms::mail::config() {
                    Some(cfg) => crate::comms::mail::deliver(db, cfg, now).await,
                    None => Ok(Report::default()),
                }
            })
        },
    },
    Job {
        name: "session_cleanup",
        about: "Deletes expired sessions",
        period_secs: 3600,
        run: |db, _now| Box::pin(async move { Ok(Report { examined: 0, changed: session_store::delete_expired(db).await? }) }),
    },
];

/// How long a runner holds a job's lease; a crashed runner's jobs are taken over after this.
pub const LEASE_SECS: i64 = 120;

/// Looks a job up by name.
pub fn job(name: &str) -> Option<&'static Job> {
    JOBS.iter().find(|j| j.name == name)
}

/// Takes (or renews) the lease of `job` for `holder` until `now + LEASE_SECS`; false when
/// another holder's lease has not expired.
pub async fn try_lease(db: &DatabaseConnection, job: &str, holder: &str, now: DateTime<Utc>) -> Result<bool> {
    let until = now + Duration::seconds(LEASE_SECS);
    let taken = job_lease::Entity::update_many()
        .col_expr(job_lease::Column::Holder, Expr::value(holder))
        .col_expr(job_lease::Column::ExpiresAt, Expr::value(until))
        .filter(job_lease::Column::Job.eq(job))
        .filter(sea_orm::Condition::any().add(job_lease::Column::ExpiresAt.lt(now)).add(job_lease::Column::Holder.eq(holder)))
        .exec(db)
        .await?
        .rows_affected;
    if taken == 1 {
        return Ok(true);
    }
    let inserted = job_lease::Entity::insert(job_lease::ActiveModel { job: Set(job.into()), holder: Set(holder.into()), expires_at: Set(until) })
        .on_conflict(OnConflict::column(job_lease::Column::Job).do_nothing().to_owned())
        .exec_without_returning(db)
        .await?;
    Ok(inserted == 1)
}

/// Gives a lease back.
pub async fn release(db: &DatabaseConnection, job: &str, holder: &str) -> Result<()> {
    job_lease::Entity::delete_many().filter(job_lease::Column::Job.eq(job)).filter(job_lease::Column::Holder.eq(holder)).exec(db).await?;
    Ok(())
}

/// When `job` is next due, from its recorded runs: a period after the last success, or after a
/// backoff of 1, 2, 4 … 60 minutes following consecutive failures.
pub async fn next_due(db: &DatabaseConnection, job: &Job) -> Result<Option<DateTime<Utc>>> {
    let recent = job_run::Entity::find()
        .filter(job_run::Column::Job.eq(job.name))
        // A run that is running, or was interrupted, has not done the job: it stays due.
        .filter(job_run::Column::Outcome.is_not_in(["running", "interrupted"]))
        .order_by_desc(job_run::Column::Id)
        .limit(8)
        .all(db)
        .await?;
    let Some(last) = recent.first() else {
        return Ok(None);
    };
    if last.outcome == "ok" {
        return Ok(Some(last.as_of + Duration::seconds(job.period_secs)));
    }
    let failures = recent.iter().take_while(|r| r.outcome == "failed").count().max(1) as u32;
    let backoff = Duration::minutes((1i64 << (failures - 1).min(6)).min(60));
    Ok(Some(last.finished_at.unwrap_or(last.started_at) + backoff))
}

/// Runs one job as of `now` under its lease, recording the run. `None` when another runner holds
/// the lease.
pub async fn run_job(db: &DatabaseConnection, job: &Job, holder: &str, now: DateTime<Utc>) -> Result<Option<Result<Report>>> {
    run_leased(db, job, holder, now, false).await
}

/// [`run_job`] if the job is still due once its lease is held: the due check before the lease
/// could be stale (another replica may have finished a run in between), so it is repeated under
/// the lease. `None` when another runner holds the lease or the job is no longer due.
pub async fn run_if_due(db: &DatabaseConnection, job: &Job, holder: &str, now: DateTime<Utc>) -> Result<Option<Result<Report>>> {
    run_leased(db, job, holder, now, true).await
}

async fn run_leased(db: &DatabaseConnection, job: &Job, holder: &str, now: DateTime<Utc>, only_if_due: bool) -> Result<Option<Result<Report>>> {
    if !try_lease(db, job.name, holder, Utc::now().max(now)).await? {
        return Ok(None);
    }
    // Under the lease no other runner is in this job: a run still marked running was cut short
    // by a runner that stopped (crash, kill); record it as interrupted.
    job_run::Entity::update_many()
        .col_expr(job_run::Column::Outcome, Expr::value("interrupted"))
        .col_expr(job_run::Column::FinishedAt, Expr::value(Utc::now()))
        .col_expr(job_run::Column::Error, Expr::value("the runner stopped before the job finished"))
        .filter(job_run::Column::Job.eq(job.name))
        .filter(job_run::Column::Outcome.eq("running"))
        .exec(db)
        .await?;
    if only_if_due && next_due(db, job).await?.is_some_and(|due| due > now) {
        release(db, job.name, holder).await?;
        return Ok(None);
    }
    let started = Utc::now();
    let run = job_run::ActiveModel {
        job: Set(job.name.into()),
        holder: Set(holder.into()),
        as_of: Set(now),
        started_at: Set(started),
        finished_at: Set(None),
        outcome: Set("running".into()),
        examined: Set(0),
        changed: Set(0),
        error: Set(None),
        ..Default::default()
    }
    .insert(db)
    .await?;
    // Renew the lease while the job runs: a pass longer than the lease must not let another
    // replica start the same job (found by the R3 drill).
    // Held by this run: if the run is cancelled or panics, dropping it stops the renewals, so
    // the lease runs out and another runner can take the job.
    let heartbeat = {
        let (db, name, holder) = (db.clone(), job.name, holder.to_string());
        AbortOnDrop(tokio::spawn(async move {
            loop {
                tokio::time::sleep(std::time::Duration::from_secs((LEASE_SECS / 3) as u64)).await;
                if let Err(e) = try_lease(&db, name, &holder, Utc::now()).await {
                    tracing::warn!(job = name, error = %e, "lease renewal failed");
                }
            }
        }))
    };
    let result = (job.run)(db, now).await;
    drop(heartbeat);
    let mut done: job_run::ActiveModel = run.into();
    done.finished_at = Set(Some(Utc::now()));
    match &result {
        Ok(r) => {
            done.outcome = Set("ok".into());
            done.examined = Set(r.examined as i64);
            done.changed = Set(r.changed as i64);
        }
        Err(e) => {
            done.outcome = Set("failed".into());
            done.error = Set(Some(e.to_string()));
            tracing::error!(job = job.name, error = %e, "job failed");
        }
    }
    done.update(db).await?;
    release(db, job.name, holder).await?;
    Ok(Some(result))
}

/// The instance operator: an admin of the installation's first account (the one `trellis demo`
/// or the first `trellis user create` made). Jobs work across every account, so only the
/// operator sees their runs in Settings and starts them there; everyone can use the CLI on the
/// server (`trellis scheduler run-once`).
pub async fn is_operator(db: &DatabaseConnection, actor: &crate::Actor) -> Result<bool> {
    use crate::entities::account;
    if actor.user_id == 0 || !actor.is_admin() {
        return Ok(false);
    }
    let first = account::Entity::find().order_by_asc(account::Column::Id).one(db).await?.map(|a| a.id);
    Ok(first == Some(actor.account_id))
}

/// Runs `job` now for a signed-in operator (Settings → Jobs → Run now); others are refused.
pub async fn run_for(db: &DatabaseConnection, actor: &crate::Actor, job: &'static Job, now: DateTime<Utc>) -> Result<Option<Result<Report>>> {
    if !is_operator(db, actor).await? {
        return Err(crate::Error::Forbidden);
    }
    run_job(db, job, &format!("manual:{}", actor.email), now).await
}

/// A task aborted when this handle is dropped (a job's lease heartbeat).
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Runs `only` (regardless of when it last ran) or every due job once, as of `now`.
pub async fn run_once(db: &DatabaseConnection, only: Option<&str>, now: DateTime<Utc>, holder: &str) -> Result<Vec<(&'static str, Report)>> {
    let mut out = Vec::new();
    for j in JOBS.iter().filter(|j| only.is_none_or(|n| n == j.name)) {
        if only.is_none() && next_due(db, j).await?.is_some_and(|due| due > now) {
            continue;
        }
        let run = if only.is_none() { run_if_due(db, j, holder, now).await? } else { run_job(db, j, holder, now).await? };
        match run {
            Some(Ok(r)) => out.push((j.name, r)),
            Some(Err(e)) => return Err(e),
            None => tracing::info!(job = j.name, "another runner holds the lease or has just run it"),
        }
    }
    Ok(out)
}

/// One tick of a replica's runner: every due job whose lease it gets.
pub async fn tick(db: &DatabaseConnection, now: DateTime<Utc>, holder: &str) -> Result<u32> {
    let mut ran = 0;
    for j in JOBS {
        if next_due(db, j).await?.is_some_and(|due| due > now) {
            continue;
        }
        if let Some(result) = run_if_due(db, j, holder, now).await? {
            ran += 1;
            if let Ok(r) = result {
                tracing::info!(job = j.name, examined = r.examined, changed = r.changed, "job finished");
            }
        }
    }
    Ok(ran)
}

/// The start of the review cycle that contains `at`: the first of the month, or of the quarter.
fn cycle_start(policy: &str, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let month = match policy {
        "monthly" => at.month(),
        "quarterly" => (at.month() - 1) / 3 * 3 + 1,
        _ => return None,
    };
    Utc.with_ymd_and_hms(at.year(), month, 1, 0, 0, 0).single()
}

async fn downgrade_review(db: &DatabaseConnection, now: DateTime<Utc>) -> Result<Report> {
    let programs = program::Entity::find().filter(program::Column::DowngradePolicy.ne("never")).all(db).await?;
    let due: Vec<i64> = programs
        .iter()
        .filter(|p| cycle_start(&p.downgrade_policy, now).is_some_and(|start| p.last_review_at.is_none_or(|last| last < start)))
        .map(|p| p.id)
        .collect();
    if due.is_empty() {
        return Ok(Report::default());
    }
    let r = crate::programs::tiers::pass(db, now, Some(&due)).await?;
    program::Entity::update_many().col_expr(program::Column::LastReviewAt, Expr::value(now)).filter(program::Column::Id.is_in(due)).exec(db).await?;
    Ok(Report { examined: r.examined, changed: r.changed })
}

async fn dormant_detection(db: &DatabaseConnection, now: DateTime<Utc>) -> Result<Report> {
    let mut report = Report::default();
    for prog in program::Entity::find().filter(program::Column::ArchivedAt.is_null()).all(db).await? {
        let cutoff = now - Duration::days(prog.dormant_days as i64);
        let candidates = enrollment::Entity::find()
            .filter(enrollment::Column::ProgramId.eq(prog.id))
            .filter(enrollment::Column::Status.eq("active"))
            .filter(enrollment::Column::DormantSince.is_null())
            .filter(enrollment::Column::JoinedAt.lte(cutoff))
            .all(db)
            .await?;
        for e in candidates {
            report.examined += 1;
            let last = conversion::Entity::find()
                .filter(conversion::Column::EnrollmentId.eq(e.id))
                .filter(conversion::Column::OccurredAt.lte(now))
                .order_by_desc(conversion::Column::OccurredAt)
                .one(db)
                .await?;
            if last.as_ref().is_some_and(|c| c.occurred_at > cutoff) {
                continue;
            }
            let txn = crate::db::begin_write(db).await?;
            let marked = enrollment::Entity::update_many()
                .col_expr(enrollment::Column::DormantSince, Expr::value(now))
                .filter(enrollment::Column::Id.eq(e.id))
                .filter(enrollment::Column::DormantSince.is_null())
                .exec(&txn)
                .await?
                .rows_affected;
            if marked == 0 {
                txn.rollback().await?;
                continue;
            }
            let p = partner::Entity::find_by_id(e.partner_id).one(&txn).await?.ok_or(crate::Error::NotFound("partner"))?;
            let since = last.map(|c| format!("since {}", c.occurred_at.format("%Y-%m-%d"))).unwrap_or_else(|| "ever".into());
            timeline::record(
                &txn,
                Event::enrollment(
                    &e,
                    "dormant",
                    "system: dormant detection",
                    format!("Dormant: no conversion {since} ({} days); re-engagement email queued", prog.dormant_days),
                    now,
                )
                .with_data(json!({"dormant_days": prog.dormant_days})),
            )
            .await?;
            let (subject, text) = crate::comms::templates::compose(&txn, &e, "re_engagement", now, |_| {}).await?;
            outbox::queue(
                &txn,
                now,
                NewEmail {
                    account_id: e.account_id,
                    program_id: Some(prog.id),
                    partner_id: Some(p.id),
                    kind: "re_engagement",
                    to: &p.email,
                    subject,
                    text,
                    dedupe_key: Some(format!("re_engagement:{}:{}", e.id, now.format("%Y-%m-%dT%H:%M:%S"))),
                },
            )
            .await?;
            crate::comms::sequences::enter(&txn, now, &e, "dormant", format!("dormant:{}:{}", e.id, now.timestamp())).await?;
            txn.commit().await?;
            report.changed += 1;
        }
    }
    Ok(report)
}

/// Recomputes the rollups of the UTC day before `now` from raw clicks, conversions and their
/// ledger entries, and fixes any row that drifted. Reports the rows examined and repaired.
async fn rollup_repair(db: &DatabaseConnection, now: DateTime<Utc>) -> Result<Report> {
    let day: NaiveDate = (now - Duration::days(1)).date_naive();
    let start = Utc.from_utc_datetime(&day.and_hms_opt(0, 0, 0).expect("midnight"));
    let end = start + Duration::days(1);
    let mut truth: HashMap<i64, (i64, i64, i64, i64, i64, i64)> = HashMap::new(); // enrollment → (account, program, clicks, conv, revenue, commission)
    let clicks = crate::entities::click::Entity::find()
        .filter(crate::entities::click::Column::At.gte(start))
        .filter(crate::entities::click::Column::At.lt(end))
        .all(db)
        .await?;
    for c in clicks {
        truth.entry(c.enrollment_id).or_insert((c.account_id, c.program_id, 0, 0, 0, 0)).2 += 1;
    }
    let convs = conversion::Entity::find()
        .filter(conversion::Column::OccurredAt.gte(start))
        .filter(conversion::Column::OccurredAt.lt(end))
        .filter(conversion::Column::EnrollmentId.is_not_null())
        .all(db)
        .await?;
    let entries = ledger_entry::Entity::find()
        .filter(ledger_entry::Column::ConversionId.is_in(convs.iter().map(|c| c.id).collect::<Vec<_>>()))
        .filter(ledger_entry::Column::Kind.is_in(["earned", "adjustment", "clawback"]))
        .all(db)
        .await?;
    for c in &convs {
        let e = c.enrollment_id.expect("filtered");
        let t = truth.entry(e).or_insert((c.account_id, c.program_id, 0, 0, 0, 0));
        t.3 += 1;
        t.4 += c.amount_minor - c.refunded_minor;
        t.5 += entries.iter().filter(|x| x.conversion_id == Some(c.id)).map(|x| x.amount_minor).sum::<i64>();
    }
    let stored: HashMap<i64, daily_rollup::Model> =
        daily_rollup::Entity::find().filter(daily_rollup::Column::Day.eq(day)).all(db).await?.into_iter().map(|r| (r.enrollment_id, r)).collect();
    let mut report = Report::default();
    let mut ids: Vec<i64> = truth.keys().chain(stored.keys()).copied().collect();
    ids.sort_unstable();
    ids.dedup();
    for id in ids {
        report.examined += 1;
        let want = truth.get(&id).copied();
        let have = stored.get(&id);
        let matches = match (want, have) {
            (Some(w), Some(h)) => (w.2, w.3, w.4, w.5) == (h.clicks, h.conversions, h.revenue_minor, h.commission_minor),
            (None, Some(h)) => (h.clicks, h.conversions, h.revenue_minor, h.commission_minor) == (0, 0, 0, 0),
            (Some(w), None) => (w.2, w.3, w.4, w.5) == (0, 0, 0, 0),
            (None, None) => true,
        };
        if matches {
            continue;
        }
        let w = want.unwrap_or_else(|| {
            let h = have.expect("one side exists");
            (h.account_id, h.program_id, 0, 0, 0, 0)
        });
        tracing::warn!(enrollment_id = id, %day, "rollup drift repaired");
        // The program's row carries the same drift: move it by the difference.
        let (hc, hv, hr, hm) = have.map_or((0, 0, 0, 0), |h| (h.clicks, h.conversions, h.revenue_minor, h.commission_minor));
        let diff = crate::rollups::Delta { clicks: w.2 - hc, conversions: w.3 - hv, revenue_minor: w.4 - hr, commission_minor: w.5 - hm };
        crate::rollups::add_program(db, w.0, w.1, id, day, diff).await?;
        daily_rollup::Entity::insert(daily_rollup::ActiveModel {
            enrollment_id: Set(id),
            day: Set(day),
            account_id: Set(w.0),
            program_id: Set(w.1),
            clicks: Set(w.2),
            conversions: Set(w.3),
            revenue_minor: Set(w.4),
            commission_minor: Set(w.5),
        })
        .on_conflict(
            OnConflict::columns([daily_rollup::Column::EnrollmentId, daily_rollup::Column::Day])
                .update_columns([
                    daily_rollup::Column::Clicks,
                    daily_rollup::Column::Conversions,
                    daily_rollup::Column::RevenueMinor,
                    daily_rollup::Column::CommissionMinor,
                ])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
        report.changed += 1;
    }
    Ok(report)
}

fn run_view(r: &job_run::Model) -> models::JobRunView {
    models::JobRunView {
        job: r.job.clone(),
        started: r.started_at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
        as_of: r.as_of.format("%Y-%m-%d %H:%M UTC").to_string(),
        outcome: r.outcome.clone(),
        examined: r.examined,
        changed: r.changed,
        error: r.error.clone(),
        holder: r.holder.clone(),
    }
}

/// Every job with its latest run and next due time, and the 50 latest runs (admins).
pub async fn status(db: &DatabaseConnection, actor: &crate::Actor, now: DateTime<Utc>) -> Result<(Vec<models::JobStatus>, Vec<models::JobRunView>)> {
    actor.require_admin()?;
    // Jobs run over every account: their runs, errors and runners are the operator's business.
    if !is_operator(db, actor).await? {
        return Ok((Vec::new(), Vec::new()));
    }
    let mut jobs = Vec::new();
    for j in JOBS {
        let last = job_run::Entity::find().filter(job_run::Column::Job.eq(j.name)).order_by_desc(job_run::Column::Id).one(db).await?;
        let next = match next_due(db, j).await? {
            Some(t) if t > now => t.format("%Y-%m-%d %H:%M UTC").to_string(),
            _ => "now".to_string(),
        };
        let every = if j.period_secs % 86_400 == 0 {
            format!("every {} day(s)", j.period_secs / 86_400)
        } else {
            format!("every {} min", j.period_secs / 60)
        };
        jobs.push(models::JobStatus { name: j.name.into(), about: j.about.into(), every, last: last.as_ref().map(run_view), next });
    }
    let recent = job_run::Entity::find().order_by_desc(job_run::Column::Id).limit(50).all(db).await?;
    Ok((jobs, recent.iter().map(run_view).collect()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn review_cycles_start_on_the_first_of_the_month_or_quarter() {
        let at = Utc.with_ymd_and_hms(2026, 11, 26, 10, 0, 0).unwrap();
        assert_eq!(cycle_start("monthly", at), Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).single());
        assert_eq!(cycle_start("quarterly", at), Utc.with_ymd_and_hms(2026, 10, 1, 0, 0, 0).single());
        assert_eq!(cycle_start("never", at), None);
    }
}
