//! The commission rate an enrollment earns and how a rate is written on ledger entries.

use crate::entities::{enrollment, tier};
use crate::programs::CommissionInput;
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

/// The commission of a tier as stored.
pub fn tier_rate(t: &tier::Model, currency: Currency) -> Result<CommissionRate> {
    CommissionRate::parse_stored(&t.commission_kind, &t.commission_value, currency).map_err(|e| Error::Internal(e.0))
}

/// A rate as [`rate_label`] writes it on ledger entries and stored answers (`"10%"`, `"5.00"`,
/// `""`) read back as a commission input; `None` when nothing was earned at a rate.
pub fn input_of_label(label: &str) -> Option<CommissionInput> {
    let label = label.trim();
    if label.is_empty() {
        return None;
    }
    Some(match label.strip_suffix('%') {
        Some(p) => CommissionInput { percent: Some(p.trim().to_string()), flat: None },
        None => CommissionInput { percent: None, flat: Some(label.to_string()) },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_labels_become_commission_inputs() {
        assert_eq!(input_of_label("15%"), Some(CommissionInput { percent: Some("15".into()), flat: None }));
        assert_eq!(input_of_label("12.5%"), Some(CommissionInput { percent: Some("12.5".into()), flat: None }));
        assert_eq!(input_of_label("5.00"), Some(CommissionInput { percent: None, flat: Some("5.00".into()) }));
        assert_eq!(input_of_label(""), None);
    }
}
