//! Programs and their tiers.

use super::time;
use crate::edge::Problem;
use backend::programs::CommissionInput;
use models::Money;
use serde::Serialize;
use utoipa::ToSchema;

/// A tier's qualification rule.
#[derive(Serialize, ToSchema)]
pub struct Rule {
    /// Minimum attributed conversions inside the window.
    min_conversions: Option<i64>,
    /// Minimum revenue inside the window, in the program's currency.
    #[schema(pattern = r"^-?\d+(\.\d+)?$", example = "10000.00")]
    min_revenue: Option<String>,
    /// The rolling window in days.
    window_days: i64,
}

/// A tier.
#[derive(Serialize, ToSchema)]
pub struct Tier {
    id: i64,
    name: String,
    /// Higher is better.
    rank: i32,
    commission: CommissionInput,
    /// Null for the lowest tier, where every enrollment starts.
    rule: Option<Rule>,
    retroactive: bool,
}

/// A program with its tiers.
#[derive(Serialize, ToSchema)]
pub struct Program {
    id: i64,
    name: String,
    #[schema(example = "USD")]
    currency: String,
    website: String,
    /// Further hosts links may point at.
    allowed_domains: Vec<String>,
    cookie_days: i32,
    default_commission: CommissionInput,
    /// Lowest rank first.
    tiers: Vec<Tier>,
    #[schema(format = DateTime)]
    created_at: String,
}

impl Program {
    /// The resource of a program and its tiers (lowest rank first).
    pub fn of(p: &backend::programs::Program, tiers: &[backend::entities::tier::Model]) -> Result<Self, Problem> {
        let c = p.currency;
        let tiers = tiers
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let rate = backend::programs::commission::tier_rate(t, c)?;
                let rule = (i > 0).then(|| Rule {
                    min_conversions: t.min_conversions.map(i64::from),
                    min_revenue: t.min_revenue_minor.map(|m| Money::from_minor(m, c).amount_string()),
                    window_days: t.window_days.into(),
                });
                Ok(Tier { id: t.id, name: t.name.clone(), rank: t.rank, commission: CommissionInput::from_rate(&rate, c), rule, retroactive: t.retroactive })
            })
            .collect::<Result<Vec<_>, Problem>>()?;
        let mut allowed_domains = p.hosts.clone();
        if !allowed_domains.is_empty() {
            allowed_domains.remove(0);
        }
        Ok(Self {
            id: p.row.id,
            name: p.row.name.clone(),
            currency: c.code().to_string(),
            website: p.row.website.clone(),
            allowed_domains,
            cookie_days: p.row.cookie_days,
            default_commission: CommissionInput::from_rate(&p.default_commission()?, c),
            tiers,
            created_at: time(p.row.created_at),
        })
    }
}
