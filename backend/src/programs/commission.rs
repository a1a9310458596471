//! The commission rate an enrollment earns and how a rate is written on ledger entries.

use crate::entities::{enrollment, tier};
use crate::{Error, Result};
use models::{CommissionRate, Currency, Money};

/// The effective commission of an enrollment: its override, else its tier's.
pub fn effective_commission(e: &enrollment::Model, t: &tier::Model, currency: Currency) -> Result<CommissionRate> {
    let (kind, value) = match (&e.commission_kind, &e.commission_value) {
        (Some(k), Some(v)) => (k.as_str(), v.as_str()),
        _ => (t.commission_kind.as_str(), t.commission_value.as_str()),
    };
    CommissionRate::parse_stored(kind, value, currency).map_err(|e| Error::Internal(e.0))
}

/// How a rate is written on ledger entries and answers: `"10%"` or `"5.00"` (flat).
pub fn rate_label(rate: &CommissionRate, currency: models::Currency) -> String {
    match rate {
        CommissionRate::Percent(p) => format!("{p}%"),
        CommissionRate::Flat(m) => Money::from_minor(*m, currency).amount_string(),
    }
}
