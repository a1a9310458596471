//! Validated value types. Their `parse` constructors are the only way to build them, so an
//! invalid email, amount or rate cannot exist past the edge where it was parsed. Both the
//! server and the browser use them, which keeps form validation and service validation equal.

use rust_decimal::prelude::*;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Why a value was refused; the message is written for the person who typed it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(pub String);

pub(crate) fn err(msg: impl Into<String>) -> ParseError {
    ParseError(msg.into())
}

/// A normalised (trimmed, lower-case) email address with a plausible shape.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PartnerEmail(String);

impl PartnerEmail {
    /// Accepts `local@domain.tld` with no spaces, at most 254 characters.
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        let email = text.trim().to_lowercase();
        let bad = || err(format!("'{}' is not an email address", text.trim()));
        if email.len() > 254 || email.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad());
        }
        let (local, domain) = email.split_once('@').ok_or_else(bad)?;
        if local.is_empty()
            || domain.contains('@')
            || !domain.contains('.')
            || domain.starts_with('.')
            || domain.ends_with('.')
            || domain.contains("..")
        {
            return Err(bad());
        }
        Ok(Self(email))
    }

    /// The normalised address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for PartnerEmail {
    type Error = ParseError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<PartnerEmail> for String {
    fn from(e: PartnerEmail) -> Self {
        e.0
    }
}

impl fmt::Display for PartnerEmail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal / $label:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            /// Every value, in display order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stored and wire form.
            pub fn as_str(&self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// A label for people.
            pub fn label(&self) -> &'static str {
                match self { $($name::$variant => $label),+ }
            }

            /// Parses the stored and wire form.
            pub fn parse(text: &str) -> Result<Self, ParseError> {
                match text.trim() {
                    $($text => Ok($name::$variant),)+
                    other => Err(err(format!(
                        concat!("'{}' is not a valid ", stringify!($name), "; expected one of: {}"),
                        other,
                        [$($text),+].join(", ")
                    ))),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

string_enum! {
    /// A team member's role; a user may hold several.
    Role {
        /// Everything, including team, keys and programs.
        Admin = "admin" / "Admin",
        /// Directory, tiers, sequences, broadcasts.
        ProgramManager = "program_manager" / "Program manager",
        /// Their own partners.
        RelationshipOwner = "relationship_owner" / "Relationship owner",
        /// Read-only analytics.
        AnalyticsViewer = "analytics_viewer" / "Analytics viewer",
        /// Commission review, approval and payouts.
        FinanceApprover = "finance_approver" / "Finance approver",
    }
}

string_enum! {
    /// The state of a partner's enrollment in a program.
    EnrollmentStatus {
        /// Applied, awaiting review.
        Pending = "pending" / "Pending",
        /// Earning commissions.
        Active = "active" / "Active",
        /// Temporarily not earning.
        Paused = "paused" / "Paused",
        /// Stopped by the team.
        Suspended = "suspended" / "Suspended",
        /// Application refused.
        Rejected = "rejected" / "Rejected",
    }
}

impl Role {
    /// Parses a comma-separated list, as stored.
    pub fn parse_list(text: &str) -> Result<Vec<Role>, ParseError> {
        let mut roles: Vec<Role> = text.split(',').filter(|s| !s.trim().is_empty()).map(Role::parse).collect::<Result<_, _>>()?;
        roles.sort();
        roles.dedup();
        Ok(roles)
    }

    /// The stored form of a list of roles.
    pub fn join(roles: &[Role]) -> String {
        roles.iter().map(Role::as_str).collect::<Vec<_>>().join(",")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::currency::*;
    use proptest::prelude::*;

    fn usd() -> Currency {
        Currency::parse("usd").unwrap()
    }

    #[test]
    fn money_parses_exact_minor_units() {
        assert_eq!(Money::parse("123.45", usd()).unwrap().minor, 12345);
        assert_eq!(Money::parse("0", usd()).unwrap().minor, 0);
        assert_eq!(Money::parse("7.5", usd()).unwrap().minor, 750);
        assert_eq!(Money::parse("100", Currency::parse("JPY").unwrap()).unwrap().minor, 100);
        assert_eq!(Money::parse("1.234", Currency::parse("KWD").unwrap()).unwrap().minor, 1234);
    }

    #[test]
    fn money_refuses_negative_too_precise_and_huge_amounts() {
        assert!(Money::parse("-1", usd()).is_err());
        assert!(Money::parse("1.001", usd()).is_err());
        assert!(Money::parse("1.5", Currency::parse("JPY").unwrap()).is_err());
        assert!(Money::parse("1000000000000", usd()).is_err());
        assert!(Money::parse("999999999999.99", usd()).is_ok());
        assert!(Money::parse("abc", usd()).is_err());
        assert!(Money::parse("1e5", usd()).is_err());
    }

    #[test]
    fn trailing_zeros_beyond_the_minor_unit_are_accepted() {
        assert_eq!(Money::parse("1.500", usd()).unwrap().minor, 150);
    }

    #[test]
    fn currency_rejects_unknown_codes_and_metals() {
        assert!(Currency::parse("XYZ").is_err());
        assert!(Currency::parse("XAU").is_err());
        assert_eq!(Currency::parse(" eur ").unwrap().code(), "EUR");
    }

    #[test]
    fn percent_commission_rounds_half_away_from_zero() {
        let rate = CommissionRate::parse_percent("10").unwrap();
        assert_eq!(rate.commission_on(12345), 1235); // 1234.5 → 1235
        assert_eq!(rate.commission_on(-12345), -1235);
        let rate = CommissionRate::parse_percent("12.5").unwrap();
        assert_eq!(rate.commission_on(100), 13); // 12.5 → 13
        assert_eq!(CommissionRate::Flat(500).commission_on(0), 500);
    }

    #[test]
    fn percent_outside_zero_to_hundred_is_refused() {
        assert!(CommissionRate::parse_percent("100.01").is_err());
        assert!(CommissionRate::parse_percent("-1").is_err());
        assert!(CommissionRate::parse_percent("1.00001").is_err());
    }

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(PartnerEmail::parse("  Ana@Example.COM ").unwrap().as_str(), "ana@example.com");
        for bad in ["", "ana", "ana@", "@x.com", "ana@x", "a b@x.com", "a@@x.com", "a@x..com"] {
            assert!(PartnerEmail::parse(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn roles_parse_from_a_stored_list() {
        assert_eq!(Role::parse_list("finance_approver,admin,admin").unwrap(), vec![Role::Admin, Role::FinanceApprover]);
        assert!(Role::parse_list("admin,owner").is_err());
    }

    #[test]
    fn money_serialises_its_currency_as_a_code() {
        let m = Money::from_minor(150, usd());
        assert_eq!(serde_json::to_string(&m).unwrap(), r#"{"minor":150,"currency":"USD"}"#);
    }

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(group_thousands("1234567.89"), "1,234,567.89");
        assert_eq!(group_thousands("-1000"), "-1,000");
        assert_eq!(group_thousands("999"), "999");
    }

    proptest! {
        #[test]
        fn money_round_trips_through_its_string(minor in 0i64..99_999_999_999_999) {
            let m = Money::from_minor(minor, usd());
            prop_assert_eq!(Money::parse(&m.amount_string(), usd()).unwrap(), m);
        }

        #[test]
        fn money_parse_never_panics(text in ".{0,40}") {
            let _ = Money::parse(&text, usd());
        }

        #[test]
        fn percent_commission_is_within_half_a_minor_unit(amount in 0i64..10_000_000_000, bp in 0u32..=10_000) {
            let rate = CommissionRate::Percent(Decimal::new(bp as i64, 2));
            let exact = Decimal::from(amount) * Decimal::new(bp as i64, 2) / Decimal::from(100);
            let got = Decimal::from(rate.commission_on(amount));
            prop_assert!((got - exact).abs() <= Decimal::new(5, 1));
        }

        #[test]
        fn email_parse_never_panics(text in ".{0,80}") {
            let _ = PartnerEmail::parse(&text);
        }
    }
}

string_enum! {
    /// Where an enrollment's health score puts it. At risk is below the program's threshold.
    HealthBand {
        /// 70 and above.
        Healthy = "healthy" / "Healthy",
        /// Between the at-risk threshold and 70.
        Watch = "watch" / "Watch",
        /// Below the program's at-risk threshold.
        AtRisk = "at_risk" / "At risk",
        /// Not scored yet.
        Unscored = "unscored" / "Not scored",
    }
}

/// The score from which an enrollment is healthy.
pub const HEALTHY_FROM: i32 = 70;

impl HealthBand {
    /// The band of a score under a program's at-risk threshold.
    pub fn of(score: Option<i32>, at_risk_below: i32) -> HealthBand {
        match score {
            None => HealthBand::Unscored,
            Some(s) if s < at_risk_below => HealthBand::AtRisk,
            Some(s) if s < HEALTHY_FROM => HealthBand::Watch,
            Some(_) => HealthBand::Healthy,
        }
    }
}

string_enum! {
    /// What the directory sorts by.
    DirectorySort {
        /// Partner name.
        Name = "name" / "Name",
        /// Enrollment date.
        Joined = "joined" / "Joined",
        /// Revenue over the last 90 days.
        Revenue = "revenue" / "Revenue, 90 days",
        /// Conversions over the last 90 days.
        Conversions = "conversions" / "Conversions, 90 days",
        /// Conversions ÷ clicks over the last 90 days.
        ConversionRate = "conversion_rate" / "Conversion rate",
        /// Most recent conversion.
        LastConversion = "last_conversion" / "Last conversion",
        /// Health score.
        Health = "health" / "Health",
    }
}

string_enum! {
    /// The type of a custom field.
    FieldKind {
        /// Free text up to 500 characters.
        Text = "text" / "Text",
        /// A decimal number.
        Number = "number" / "Number",
        /// A calendar date, `YYYY-MM-DD`.
        Date = "date" / "Date",
        /// Yes or no.
        Boolean = "boolean" / "Yes / no",
        /// One of a list of options.
        Select = "select" / "Choice",
    }
}

/// Longest text value of a custom field.
pub const MAX_FIELD_TEXT: usize = 500;

impl FieldKind {
    /// The canonical stored form of `text` as a value of this kind (`options` for selects):
    /// numbers normalised, booleans `true`/`false`, dates `YYYY-MM-DD`. Empty text is no value.
    pub fn canonical(&self, text: &str, options: &[String]) -> Result<Option<String>, ParseError> {
        let t = text.trim();
        if t.is_empty() {
            return Ok(None);
        }
        let v = match self {
            FieldKind::Text => {
                if t.chars().count() > MAX_FIELD_TEXT {
                    return Err(err(format!("is longer than {MAX_FIELD_TEXT} characters")));
                }
                t.to_string()
            }
            FieldKind::Number => t.parse::<Decimal>().map(|d| d.normalize().to_string()).map_err(|_| err(format!("'{t}' is not a number")))?,
            FieldKind::Date => {
                parse_date(t).ok_or_else(|| err(format!("'{t}' is not a date (YYYY-MM-DD)")))?;
                t.to_string()
            }
            FieldKind::Boolean => match t.to_lowercase().as_str() {
                "true" | "yes" | "y" | "1" => "true".into(),
                "false" | "no" | "n" | "0" => "false".into(),
                _ => return Err(err(format!("'{t}' is not yes or no"))),
            },
            FieldKind::Select => options
                .iter()
                .find(|o| o.eq_ignore_ascii_case(t))
                .cloned()
                .ok_or_else(|| err(format!("'{t}' is not one of: {}", options.join(", "))))?,
        };
        Ok(Some(v))
    }
}

/// `(year, month, day)` of a valid `YYYY-MM-DD` date.
pub fn parse_date(t: &str) -> Option<(i32, u32, u32)> {
    let b = t.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let y: i32 = t[0..4].parse().ok()?;
    let m: u32 = t[5..7].parse().ok()?;
    let d: u32 = t[8..10].parse().ok()?;
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    (1..=days).contains(&d).then_some((y, m, d))
}

#[cfg(test)]
mod field_tests {
    use super::*;

    #[test]
    fn field_values_are_stored_in_one_canonical_form() {
        let opts = vec!["Blog".to_string(), "Coupon site".to_string()];
        assert_eq!(FieldKind::Number.canonical(" 12.50 ", &[]).unwrap().as_deref(), Some("12.5"));
        assert_eq!(FieldKind::Boolean.canonical("Yes", &[]).unwrap().as_deref(), Some("true"));
        assert_eq!(FieldKind::Date.canonical("2024-02-29", &[]).unwrap().as_deref(), Some("2024-02-29"));
        assert!(FieldKind::Date.canonical("2023-02-29", &[]).is_err());
        assert!(FieldKind::Date.canonical("2023-13-01", &[]).is_err());
        assert_eq!(FieldKind::Select.canonical("blog", &opts).unwrap().as_deref(), Some("Blog"));
        assert!(FieldKind::Select.canonical("Podcast", &opts).is_err());
        assert!(FieldKind::Number.canonical("12a", &[]).is_err());
        assert_eq!(FieldKind::Text.canonical("  ", &[]).unwrap(), None);
        assert!(FieldKind::Text.canonical(&"x".repeat(501), &[]).is_err());
    }

    #[test]
    fn health_bands_follow_the_threshold() {
        assert_eq!(HealthBand::of(None, 40), HealthBand::Unscored);
        assert_eq!(HealthBand::of(Some(39), 40), HealthBand::AtRisk);
        assert_eq!(HealthBand::of(Some(40), 40), HealthBand::Watch);
        assert_eq!(HealthBand::of(Some(70), 40), HealthBand::Healthy);
    }

    proptest::proptest! {
        #[test]
        fn canonical_values_are_fixed_points(n in -1_000_000i64..1_000_000, scale in 0u32..4) {
            let d = Decimal::new(n, scale).to_string();
            let once = FieldKind::Number.canonical(&d, &[]).unwrap().unwrap();
            proptest::prop_assert_eq!(FieldKind::Number.canonical(&once, &[]).unwrap().unwrap(), once);
        }
    }
}
