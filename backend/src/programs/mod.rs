//! **Programs**: the programs an account runs and everything that sets what a partner earns: the
//! program catalog (this file), its settings page ([`settings`]), the commission rate an
//! enrollment earns ([`commission`]), the tier engine ([`tiers`]: standings, upgrades, the pass)
//! and the tier rules editor with its simulator ([`tier_rules`]).
//!
//! Programs and their tiers: creation with validation (REST and, later, the settings page),
//! and loading with parsed values for the other services.

pub mod commission;
pub mod settings;
pub mod tier_rules;
pub mod tiers;

use crate::entities::{program, program_manager, tier, user};
use crate::{Clock, Error, Result};
use models::{CommissionRate, Currency, Money, ProgramForm, ProgramSummary, Role};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, Set};
use serde::{Deserialize, Serialize};

/// A commission on the wire: `{"percent": "10"}` or `{"flat": "5.00"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommissionInput {
    /// Percent of the amount.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percent: Option<String>,
    /// Flat amount in the program's currency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flat: Option<String>,
}

impl CommissionInput {
    /// Parses into a rate of `currency`.
    pub fn parse(&self, field: &str, currency: Currency) -> Result<CommissionRate> {
        match (&self.percent, &self.flat) {
            (Some(p), None) => CommissionRate::parse_percent(p).map_err(Error::field(field)),
            (None, Some(f)) => CommissionRate::parse_flat(f, currency).map_err(Error::field(field)),
            _ => Err(Error::invalid(field, "give exactly one of percent or flat")),
        }
    }

    /// The wire form of a rate.
    pub fn from_rate(rate: &CommissionRate, currency: Currency) -> Self {
        match rate {
            CommissionRate::Percent(p) => Self { percent: Some(p.to_string()), flat: None },
            CommissionRate::Flat(m) => Self { percent: None, flat: Some(Money::from_minor(*m, currency).amount_string()) },
        }
    }
}

/// A tier qualification rule on the wire.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleInput {
    /// Minimum attributed conversions inside the window.
    #[serde(default)]
    pub min_conversions: Option<i64>,
    /// Minimum revenue inside the window, a decimal string.
    #[serde(default)]
    pub min_revenue: Option<String>,
    /// The rolling window in days.
    pub window_days: i64,
}

/// A tier on the wire.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TierInput {
    /// Name, unique in the program.
    pub name: String,
    /// Order: higher is better.
    pub rank: i64,
    /// The tier's commission.
    pub commission: CommissionInput,
    /// How to qualify (ignored for the lowest tier, where every enrollment starts).
    #[serde(default)]
    pub rule: Option<RuleInput>,
    /// Re-rate recent conversions on upgrade into this tier.
    #[serde(default)]
    pub retroactive: bool,
}

/// A new program on the wire (api.md `POST /api/v1/programs`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProgramInput {
    /// Name.
    pub name: String,
    /// ISO 4217 code.
    pub currency: String,
    /// The merchant's site; links default to it.
    pub website: String,
    /// Further hosts links may point at (exact host or its subdomains).
    #[serde(default)]
    pub allowed_domains: Vec<String>,
    /// Cookie window in days.
    pub cookie_days: i64,
    /// Commission when no tier says otherwise.
    pub default_commission: CommissionInput,
    /// Ordered tiers; none gives one `Standard` tier at the default commission.
    #[serde(default)]
    pub tiers: Vec<TierInput>,
}

/// A program with its values parsed.
#[derive(Debug, Clone)]
pub struct Program {
    /// The row.
    pub row: program::Model,
    /// Its currency.
    pub currency: Currency,
    /// Hosts links may point at (the website's host first).
    pub hosts: Vec<String>,
}

/// Lower-cases and checks a host name.
pub fn parse_host(text: &str) -> Result<String> {
    let host = text.trim().trim_end_matches('.').to_lowercase();
    let ok = !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|l| {
            !l.is_empty() && l.len() <= 63 && !l.starts_with('-') && !l.ends_with('-') && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    if ok {
        Ok(host)
    } else {
        Err(Error::invalid("allowed_domains", format!("'{}' is not a host name", text.trim())))
    }
}

/// Parses an http(s) URL and returns it with its host.
pub fn parse_web_url(field: &str, text: &str) -> Result<(url::Url, String)> {
    let u = url::Url::parse(text.trim()).map_err(|_| Error::invalid(field, format!("'{}' is not a URL", text.trim())))?;
    if !matches!(u.scheme(), "http" | "https") {
        return Err(Error::invalid(field, "must be an http or https URL"));
    }
    let host = u.host_str().filter(|h| !h.is_empty()).ok_or_else(|| Error::invalid(field, "must name a host"))?.to_lowercase();
    if !u.username().is_empty() || u.password().is_some() {
        return Err(Error::invalid(field, "must not contain credentials"));
    }
    Ok((u, host))
}

impl Program {
    pub(crate) fn from_row(row: program::Model) -> Result<Self> {
        let currency = Currency::parse(&row.currency).map_err(|e| Error::Internal(e.0))?;
        let mut hosts: Vec<String> = serde_json::from_str(&row.allowed_domains).map_err(|e| Error::Internal(e.to_string()))?;
        if let Ok((_, h)) = parse_web_url("website", &row.website) {
            hosts.retain(|x| *x != h);
            hosts.insert(0, h);
        }
        Ok(Self { row, currency, hosts })
    }

    /// True when `host` is an allowed host or a subdomain of one.
    pub fn allows_host(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.').to_lowercase();
        self.hosts.iter().any(|h| host == *h || host.ends_with(&format!(".{h}")))
    }

    /// Refuses new enrollments, links and conversions for an archived program.
    pub fn require_open(&self) -> Result<()> {
        match self.row.archived_at {
            Some(_) => Err(Error::invalid("program_id", format!("the program '{}' is archived", self.row.name))),
            None => Ok(()),
        }
    }

    /// The default commission.
    pub fn default_commission(&self) -> Result<CommissionRate> {
        CommissionRate::parse_stored(&self.row.commission_kind, &self.row.commission_value, self.currency).map_err(|e| Error::Internal(e.0))
    }
}

/// Loads a program of the account, or `NotFound`.
pub async fn load(db: &impl ConnectionTrait, account_id: i64, program_id: i64) -> Result<Program> {
    let row = crate::db::find_in_account(db, program::Column::AccountId, account_id, program_id, "program").await?;
    Program::from_row(row)
}

/// The account's programs that are not archived, as (id, name) in creation order (for pickers).
pub async fn open_names(db: &impl ConnectionTrait, account_id: i64) -> Result<Vec<(i64, String)>> {
    let open = sea_orm::Condition::all().add(program::Column::AccountId.eq(account_id)).add(program::Column::ArchivedAt.is_null());
    crate::db::names(db, (program::Column::Id, program::Column::Name), open, program::Column::Id).await
}

/// The program's tiers, lowest rank first.
pub async fn tiers(db: &impl ConnectionTrait, program_id: i64) -> Result<Vec<tier::Model>> {
    Ok(tier::Entity::find().filter(tier::Column::ProgramId.eq(program_id)).order_by_asc(tier::Column::Rank).all(db).await?)
}

/// Creates a program with its tiers after checking every value (the REST door: recorded in the
/// audit log as made by `api`, with the default settings).
pub async fn create(db: &DatabaseConnection, clock: &Clock, account_id: i64, input: &ProgramInput) -> Result<(Program, Vec<tier::Model>)> {
    create_with(db, clock, account_id, "api", input, &Settings::default(), &[]).await
}

/// Creates a program with its tiers, settings and managers; `by` is how the audit log names who.
pub async fn create_with(
    db: &DatabaseConnection,
    clock: &Clock,
    account_id: i64,
    by: &str,
    input: &ProgramInput,
    settings: &Settings,
    managers: &[i64],
) -> Result<(Program, Vec<tier::Model>)> {
    let name = input.name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(Error::invalid("name", "give a name of 1 to 200 characters"));
    }
    let currency = Currency::parse(&input.currency).map_err(Error::field("currency"))?;
    let (website, _) = parse_web_url("website", &input.website)?;
    let hosts = input.allowed_domains.iter().map(|h| parse_host(h)).collect::<Result<Vec<_>>>()?;
    if !(1..=365).contains(&input.cookie_days) {
        return Err(Error::invalid("cookie_days", "must be between 1 and 365"));
    }
    let default = input.default_commission.parse("default_commission", currency)?;
    let mut tiers = input.tiers.clone();
    if tiers.is_empty() {
        tiers.push(TierInput { name: "Standard".into(), rank: 1, commission: input.default_commission.clone(), rule: None, retroactive: false });
    }
    tiers.sort_by_key(|t| t.rank);
    let mut seen_names = std::collections::HashSet::new();
    for (i, t) in tiers.iter().enumerate() {
        let field = format!("tiers[{i}]");
        if t.name.trim().is_empty() || t.name.chars().count() > 64 {
            return Err(Error::invalid(format!("{field}.name"), "give a name of 1 to 64 characters"));
        }
        if !seen_names.insert(t.name.trim().to_lowercase()) {
            return Err(Error::invalid(format!("{field}.name"), format!("'{}' is used twice", t.name.trim())));
        }
        if i > 0 && tiers[i - 1].rank == t.rank {
            return Err(Error::invalid(format!("{field}.rank"), "ranks must differ"));
        }
        if !(1..=1000).contains(&t.rank) {
            return Err(Error::invalid(format!("{field}.rank"), "must be between 1 and 1000"));
        }
        t.commission.parse(&format!("{field}.commission"), currency)?;
        if let Some(r) = &t.rule {
            if !(1..=730).contains(&r.window_days) {
                return Err(Error::invalid(format!("{field}.rule.window_days"), "must be between 1 and 730"));
            }
            if r.min_conversions.is_some_and(|n| !(0..=10_000_000).contains(&n)) {
                return Err(Error::invalid(format!("{field}.rule.min_conversions"), "must be between 0 and 10,000,000"));
            }
            if let Some(m) = &r.min_revenue {
                Money::parse(m, currency).map_err(Error::field(&format!("{field}.rule.min_revenue")))?;
            }
            if i > 0 && r.min_conversions.is_none() && r.min_revenue.is_none() {
                return Err(Error::invalid(format!("{field}.rule"), "give min_conversions, min_revenue or both"));
            }
        } else if i > 0 {
            return Err(Error::invalid(format!("{field}.rule"), "every tier above the lowest needs a rule"));
        }
    }

    let now = clock.now();
    let (kind, value) = default.to_stored(currency);
    let txn = crate::db::begin_write(db).await?;
    let row = program::ActiveModel {
        account_id: Set(account_id),
        name: Set(name.to_string()),
        currency: Set(currency.code().to_string()),
        website: Set(website.to_string()),
        allowed_domains: Set(serde_json::to_string(&hosts).expect("strings serialise")),
        cookie_days: Set(input.cookie_days as i32),
        attribution: Set(settings.attribution.clone()),
        commission_kind: Set(kind.into()),
        commission_value: Set(value),
        hold_days: Set(settings.hold_days),
        auto_approve: Set(settings.auto_approve),
        brand_color: Set(settings.brand_color.clone()),
        logo_url: Set(settings.logo_url.clone()),
        sender_name: Set(settings.sender_name.clone()),
        sender_email: Set(settings.sender_email.clone()),
        dormant_days: Set(settings.dormant_days),
        at_risk_threshold: Set(40),
        archived_at: Set(None),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let mut saved = Vec::new();
    for t in &tiers {
        let rate = t.commission.parse("tier", currency)?;
        let (kind, value) = rate.to_stored(currency);
        let rule = t.rule.as_ref();
        let min_revenue = rule
            .and_then(|r| r.min_revenue.as_ref())
            .map(|m| Money::parse(m, currency).map(|m| m.minor))
            .transpose()
            .map_err(Error::field("min_revenue"))?;
        saved.push(
            tier::ActiveModel {
                account_id: Set(account_id),
                program_id: Set(row.id),
                name: Set(t.name.trim().to_string()),
                rank: Set(t.rank as i32),
                commission_kind: Set(kind.into()),
                commission_value: Set(value),
                min_conversions: Set(rule.and_then(|r| r.min_conversions).map(|n| n as i32)),
                min_revenue_minor: Set(min_revenue),
                window_days: Set(rule.map(|r| r.window_days as i32).unwrap_or(0)),
                retroactive: Set(t.retroactive),
                ..Default::default()
            }
            .insert(&txn)
            .await?,
        );
    }
    set_managers(&txn, account_id, row.id, managers).await?;
    let after = serde_json::to_string(&form_of(&row, managers)?).expect("serialises");
    crate::access::audit::record_as(
        &txn,
        account_id,
        by,
        now,
        crate::access::audit::Change { kind: "program_created", subject: row.name.clone(), before: None, after: Some(after) },
    )
    .await?;
    txn.commit().await?;
    Ok((Program::from_row(row)?, saved))
}

/// The account's programs, oldest first.
pub async fn summaries(db: &impl ConnectionTrait, account_id: i64) -> Result<Vec<ProgramSummary>> {
    Ok(program::Entity::find()
        .filter(program::Column::AccountId.eq(account_id))
        .order_by_asc(program::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|p| ProgramSummary { id: p.id, name: p.name, currency: p.currency })
        .collect())
}

/// A program's settings beyond the fields the REST API takes.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Attribution rule.
    pub attribution: String,
    /// Days before a commission can be approved.
    pub hold_days: i32,
    /// Eligibility: approve applications automatically.
    pub auto_approve: bool,
    /// Brand colour `#rrggbb`.
    pub brand_color: String,
    /// Logo URL.
    pub logo_url: Option<String>,
    /// Sender name of emails.
    pub sender_name: Option<String>,
    /// Sender address of emails.
    pub sender_email: Option<String>,
    /// Days without a conversion before dormancy.
    pub dormant_days: i32,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            attribution: "last_click".into(),
            hold_days: 30,
            auto_approve: false,
            brand_color: "#2f6f4f".into(),
            logo_url: None,
            sender_name: None,
            sender_email: None,
            dormant_days: 45,
        }
    }
}

/// The form of a stored program.
pub fn form_of(p: &program::Model, managers: &[i64]) -> Result<ProgramForm> {
    let currency = Currency::parse(&p.currency).map_err(|e| Error::Internal(e.0))?;
    let rate = CommissionRate::parse_stored(&p.commission_kind, &p.commission_value, currency).map_err(|e| Error::Internal(e.0))?;
    let c = CommissionInput::from_rate(&rate, currency);
    let hosts: Vec<String> = serde_json::from_str(&p.allowed_domains).map_err(|e| Error::Internal(e.to_string()))?;
    let mut managers = managers.to_vec();
    managers.sort();
    Ok(ProgramForm {
        name: p.name.clone(),
        currency: p.currency.clone(),
        website: p.website.clone(),
        allowed_domains: hosts.join(", "),
        cookie_days: p.cookie_days.to_string(),
        attribution: p.attribution.clone(),
        commission_kind: if c.percent.is_some() { "percent" } else { "flat" }.into(),
        commission_value: c.percent.or(c.flat).unwrap_or_default(),
        hold_days: p.hold_days.to_string(),
        auto_approve: p.auto_approve,
        brand_color: p.brand_color.clone(),
        logo_url: p.logo_url.clone().unwrap_or_default(),
        sender_name: p.sender_name.clone().unwrap_or_default(),
        sender_email: p.sender_email.clone().unwrap_or_default(),
        dormant_days: p.dormant_days.to_string(),
        managers,
    })
}

/// The user ids managing a program.
pub async fn managers_of(db: &impl ConnectionTrait, program_id: i64) -> Result<Vec<i64>> {
    Ok(program_manager::Entity::find()
        .filter(program_manager::Column::ProgramId.eq(program_id))
        .order_by_asc(program_manager::Column::UserId)
        .all(db)
        .await?
        .into_iter()
        .map(|m| m.user_id)
        .collect())
}

/// Replaces a program's managers; each must be a team member of the account holding the
/// program manager role.
pub async fn set_managers(db: &impl ConnectionTrait, account_id: i64, program_id: i64, managers: &[i64]) -> Result<()> {
    let mut ids = managers.to_vec();
    ids.sort();
    ids.dedup();
    for id in &ids {
        let ok = user::Entity::find_by_id(*id)
            .filter(user::Column::AccountId.eq(account_id))
            .filter(user::Column::Kind.eq("team"))
            .one(db)
            .await?
            .is_some_and(|u| Role::parse_list(&u.roles).is_ok_and(|r| r.contains(&Role::ProgramManager)));
        if !ok {
            return Err(Error::invalid("managers", "only team members with the program manager role can manage a program"));
        }
    }
    program_manager::Entity::delete_many().filter(program_manager::Column::ProgramId.eq(program_id)).exec(db).await?;
    for id in ids {
        program_manager::ActiveModel { account_id: Set(account_id), program_id: Set(program_id), user_id: Set(id) }.insert(db).await?;
    }
    Ok(())
}
