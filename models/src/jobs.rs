//! Background jobs as the operator sees them.

use serde::{Deserialize, Serialize};

/// A scheduler job and its latest run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobStatus {
    /// Job name.
    pub name: String,
    /// What it does.
    pub about: String,
    /// Period in words.
    pub every: String,
    /// Latest run: start time, outcome, items examined/changed, error.
    pub last: Option<JobRunView>,
    /// Next due, `YYYY-MM-DD HH:MM UTC`, or "now".
    pub next: String,
}

/// One recorded run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobRunView {
    /// Job name.
    pub job: String,
    /// Started, `YYYY-MM-DD HH:MM:SS UTC`.
    pub started: String,
    /// The moment evaluated.
    pub as_of: String,
    /// `running`, `ok` or `failed`.
    pub outcome: String,
    /// Items looked at.
    pub examined: i64,
    /// Items changed.
    pub changed: i64,
    /// Error, if it failed.
    pub error: Option<String>,
    /// Which runner.
    pub holder: String,
}
