//! Money and rates: ISO 4217 currencies, exact amounts in minor units, commission rates and
//! how figures are written for people. Parsed once at the edge like every value type.

use crate::value::{err, ParseError};
use rust_decimal::prelude::*;
use serde::{Deserialize, Serialize};
use std::fmt;

/// An ISO 4217 currency with a defined number of minor-unit digits (`USD` → 2, `JPY` → 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency {
    code: [u8; 3],
    exponent: u8,
}

impl Currency {
    /// Parses a three-letter ISO 4217 code (case-insensitive).
    pub fn parse(code: &str) -> Result<Self, ParseError> {
        let upper = code.trim().to_ascii_uppercase();
        let known = iso_currency::Currency::from_code(&upper).ok_or_else(|| err(format!("'{}' is not an ISO 4217 currency code", code.trim())))?;
        let exponent = known.exponent().ok_or_else(|| err(format!("{upper} has no minor unit and cannot be used for money")))?;
        let bytes = upper.as_bytes();
        Ok(Self { code: [bytes[0], bytes[1], bytes[2]], exponent: exponent as u8 })
    }

    /// The three-letter code, upper case.
    pub fn code(&self) -> &str {
        std::str::from_utf8(&self.code).expect("parsed from ASCII")
    }

    /// Digits after the decimal point of the currency's minor unit.
    pub fn exponent(&self) -> u32 {
        self.exponent as u32
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl TryFrom<String> for Currency {
    type Error = ParseError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Currency> for String {
    fn from(c: Currency) -> Self {
        c.code().to_string()
    }
}

/// Amounts must stay below 10^12 major units (api.md).
const MAX_MAJOR: i64 = 1_000_000_000_000;

/// An exact amount of money in integer minor units of its currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    /// Signed minor units (cents for USD).
    pub minor: i64,
    /// The currency the minor units are of.
    pub currency: Currency,
}

impl Money {
    /// Builds money from minor units.
    pub fn from_minor(minor: i64, currency: Currency) -> Self {
        Self { minor, currency }
    }

    /// Parses a non-negative decimal string such as `"123.45"`: at most the currency's minor-unit
    /// decimals, below 10^12.
    pub fn parse(text: &str, currency: Currency) -> Result<Self, ParseError> {
        let text = text.trim();
        let value = Decimal::from_str_exact(text).map_err(|_| err(format!("'{text}' is not a decimal amount such as 123.45")))?;
        if value.is_sign_negative() && !value.is_zero() {
            return Err(err("the amount must not be negative"));
        }
        Self::from_decimal(value, currency)
    }

    /// Like [`Money::parse`] but allows a negative sign (manual adjustments, clawbacks).
    pub fn parse_signed(text: &str, currency: Currency) -> Result<Self, ParseError> {
        let text = text.trim();
        let value = Decimal::from_str_exact(text).map_err(|_| err(format!("'{text}' is not a decimal amount such as 123.45")))?;
        Self::from_decimal(value, currency)
    }

    fn from_decimal(value: Decimal, currency: Currency) -> Result<Self, ParseError> {
        let value = value.normalize();
        if value.scale() > currency.exponent() {
            return Err(err(format!("{} allows at most {} decimal places", currency.code(), currency.exponent())));
        }
        if value.abs() >= Decimal::from(MAX_MAJOR) {
            return Err(err("the amount must be below 1,000,000,000,000"));
        }
        let minor = (value * Decimal::from(10i64.pow(currency.exponent()))).to_i64().ok_or_else(|| err("the amount is out of range"))?;
        Ok(Self { minor, currency })
    }

    /// The amount as a decimal.
    pub fn to_decimal(&self) -> Decimal {
        Decimal::new(self.minor, self.currency.exponent())
    }

    /// The amount as a plain decimal string with exactly the currency's decimals (`"1234.50"`).
    pub fn amount_string(&self) -> String {
        format!("{:.*}", self.currency.exponent() as usize, self.to_decimal())
    }

    /// The amount for people: grouped thousands and the code (`"1,234.50 USD"`).
    pub fn display(&self) -> String {
        format!("{} {}", group_thousands(&self.amount_string()), self.currency.code())
    }
}

/// Inserts thousands separators into a plain decimal string.
pub fn group_thousands(plain: &str) -> String {
    let (sign, rest) = plain.strip_prefix('-').map(|r| ("-", r)).unwrap_or(("", plain));
    let (int, frac) = rest.split_once('.').map(|(i, f)| (i, Some(f))).unwrap_or((rest, None));
    let mut grouped = String::with_capacity(int.len() + int.len() / 3);
    for (i, ch) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    match frac {
        Some(f) => format!("{sign}{grouped}.{f}"),
        None => format!("{sign}{grouped}"),
    }
}

/// `part ÷ whole` as a decimal string with four places (`"0.2000"`), `None` when `whole` is not
/// positive: the one form of a ratio in API answers.
pub fn ratio_string(part: i64, whole: i64) -> Option<String> {
    if whole <= 0 {
        return None;
    }
    let r = (Decimal::from(part) / Decimal::from(whole)).round_dp_with_strategy(4, RoundingStrategy::MidpointAwayFromZero);
    Some(format!("{r:.4}"))
}

/// `part ÷ whole` for people: a percentage with one decimal (`12.5%`), `—` when `whole` is not
/// positive.
pub fn percent_display(part: i64, whole: i64) -> String {
    if whole <= 0 {
        return "—".into();
    }
    let permille = (part * 1000 + whole / 2) / whole;
    format!("{}.{}%", permille / 10, permille % 10)
}

/// A commission: a percentage of the conversion amount, or a flat amount per conversion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CommissionRate {
    /// Percent of the amount, 0–100, at most 4 decimals.
    Percent(Decimal),
    /// Flat amount in minor units of the program's currency.
    Flat(i64),
}

impl CommissionRate {
    /// Parses a percentage such as `"10"` or `"12.5"`.
    pub fn parse_percent(text: &str) -> Result<Self, ParseError> {
        let text = text.trim();
        let value = Decimal::from_str_exact(text).map_err(|_| err(format!("'{text}' is not a percentage such as 12.5")))?.normalize();
        if value.is_sign_negative() || value > Decimal::from(100) {
            return Err(err("a percentage must be between 0 and 100"));
        }
        if value.scale() > 4 {
            return Err(err("a percentage allows at most 4 decimal places"));
        }
        Ok(Self::Percent(value))
    }

    /// Parses a flat amount such as `"5.00"` in the given currency.
    pub fn parse_flat(text: &str, currency: Currency) -> Result<Self, ParseError> {
        Ok(Self::Flat(Money::parse(text, currency)?.minor))
    }

    /// Parses the stored form: kind (`percent` / `flat`) and value.
    pub fn parse_stored(kind: &str, value: &str, currency: Currency) -> Result<Self, ParseError> {
        match kind {
            "percent" => Self::parse_percent(value),
            "flat" => Self::parse_flat(value, currency),
            other => Err(err(format!("unknown commission kind '{other}'"))),
        }
    }

    /// The stored form: `(kind, value)`.
    pub fn to_stored(&self, currency: Currency) -> (&'static str, String) {
        match self {
            Self::Percent(p) => ("percent", p.to_string()),
            Self::Flat(minor) => ("flat", Money::from_minor(*minor, currency).amount_string()),
        }
    }

    /// The commission on `amount`: percent × amount / 100 rounded half away from zero to the
    /// minor unit, or the flat amount.
    pub fn commission_on(&self, amount_minor: i64) -> i64 {
        match self {
            Self::Percent(p) => (Decimal::from(amount_minor) * p / Decimal::from(100))
                .round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero)
                .to_i64()
                .expect("amounts below 10^12 major units stay in range"),
            Self::Flat(minor) => *minor,
        }
    }

    /// For people: `"10%"` or `"5.00 USD"`.
    pub fn display(&self, currency: Currency) -> String {
        match self {
            Self::Percent(p) => format!("{p}%"),
            Self::Flat(minor) => Money::from_minor(*minor, currency).display(),
        }
    }
}
