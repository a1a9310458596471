//! Background jobs. Each job is an idempotent `async fn(ctx, now) -> Result<Report>` declared in
//! [`JOBS`]; `trellis scheduler run-once [--job NAME] [--now T]` runs them by hand, and the
//! server's runner runs them on their period.

use crate::{session_store, Result};
use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

/// What a job did, for the log and the jobs page.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    /// Items looked at.
    pub examined: u64,
    /// Items changed.
    pub changed: u64,
}

type JobFn = for<'a> fn(&'a DatabaseConnection, DateTime<Utc>) -> Pin<Box<dyn Future<Output = Result<Report>> + Send + 'a>>;

/// A declared job.
pub struct Job {
    /// Stable name (`--job NAME`).
    pub name: &'static str,
    /// How often it runs.
    pub period: Duration,
    /// The job itself.
    pub run: JobFn,
}

/// Every job of the scheduler.
pub const JOBS: &[Job] = &[Job {
    name: "session_cleanup",
    period: Duration::from_secs(3600),
    run: |db, _now| Box::pin(async move { Ok(Report { examined: 0, changed: session_store::delete_expired(db).await? }) }),
}];

/// Looks a job up by name.
pub fn job(name: &str) -> Option<&'static Job> {
    JOBS.iter().find(|j| j.name == name)
}

/// Runs one job, or all, once as of `now`.
pub async fn run_once(db: &DatabaseConnection, only: Option<&str>, now: DateTime<Utc>) -> Result<Vec<(&'static str, Report)>> {
    let mut out = Vec::new();
    for j in JOBS.iter().filter(|j| only.is_none_or(|n| n == j.name)) {
        out.push((j.name, (j.run)(db, now).await?));
    }
    Ok(out)
}
