//! The shapes of REST API v1 answers: one typed resource per route, values never display text
//! (api.md "REST API v1"). Money is a decimal string beside its `currency`, a rate the commission
//! object the API accepts, a ratio a decimal string with four places, times RFC 3339 UTC, days
//! `YYYY-MM-DD`, an absent value `null`. Pages format for people in the app from the same
//! service values; nothing here is shared with a page, so a page change never changes the API.
//! Every money field carries the pattern `^-?\d+(\.\d+)?$` (no decimals for currencies without
//! minor units), every ratio `^\d+\.\d{4}$`.

mod analytics;
mod conversions;
mod ledger;
mod partners;
mod problem;
mod programs;

pub use analytics::*;
pub use conversions::*;
pub use ledger::*;
pub use partners::*;
pub use problem::*;
pub use programs::*;

use crate::edge::Problem;
use chrono::{DateTime, SecondsFormat, Utc};
use models::Currency;
use serde::de::DeserializeOwned;

/// RFC 3339 UTC with seconds, the one time format of the API.
pub fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A stored enum value as its schema type; an unknown value is a broken invariant (500).
fn enum_of<T: DeserializeOwned>(value: &str) -> Result<T, Problem> {
    serde_json::from_value(serde_json::Value::String(value.to_string()))
        .map_err(|_| Problem::from(backend::Error::Internal(format!("unknown stored value '{value}'"))))
}

fn currency_of(code: &str) -> Result<Currency, Problem> {
    Currency::parse(code).map_err(|e| Problem::from(backend::Error::Internal(e.0)))
}
