//! Time as a parameter: services and jobs take the current moment from a [`Clock`], so tests and
//! `trellis scheduler run-once --now` can run "as of" any moment.

use crate::{Error, Result};
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use std::sync::Arc;

/// A source of the current time.
#[derive(Clone)]
pub struct Clock(Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>);

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Self(Arc::new(Utc::now))
    }

    /// A clock stopped at `at`.
    pub fn fixed(at: DateTime<Utc>) -> Self {
        Self(Arc::new(move || at))
    }

    /// The current moment.
    pub fn now(&self) -> DateTime<Utc> {
        (self.0)()
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Clock({})", self.now())
    }
}

/// Parses a window bound: `YYYY-MM-DD` (UTC midnight) or an RFC 3339 time, in the years 1970
/// to 9998 (so day arithmetic on it cannot overflow).
pub fn parse_bound(field: &str, text: &str) -> Result<DateTime<Utc>> {
    use chrono::Datelike;
    let text = text.trim();
    let t = match NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        Ok(d) => d.and_time(NaiveTime::MIN).and_utc(),
        Err(_) => DateTime::parse_from_rfc3339(text)
            .map_err(|_| Error::invalid(field, format!("'{text}' is neither YYYY-MM-DD nor an RFC 3339 time")))?
            .with_timezone(&Utc),
    };
    if !(1970..=9998).contains(&t.year()) {
        return Err(Error::invalid(field, "must be between the years 1970 and 9998"));
    }
    Ok(t)
}
