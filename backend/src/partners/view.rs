//! Reading one partner as the team sees it: the profile page (contact details, enrollments
//! with their commission, health and next statuses, balances, attributes) and its timeline,
//! paged, filtered and exported.

use super::{custom_fields, directory, find, lifecycle};
use crate::access::auth::Actor;
use crate::entities::{enrollment, program, tier, timeline_event, user};
use crate::programs::commission::effective_commission;
use crate::{Error, Result};
use models::{AttributeView, Currency, EnrollmentStatus, MemberOption, Money, Page, PartnerProfile, ProfileEnrollment, TimelineItem, TimelinePage};
use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr};
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::Serialize;
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// Timeline events of a partner, newest first, optionally of one kind and containing `q`.
pub async fn timeline_events(
    db: &impl ConnectionTrait,
    account_id: i64,
    partner_id: i64,
    kind: Option<&str>,
    q: Option<&str>,
    page: u64,
    per_page: u64,
) -> Result<Page<timeline_event::Model>> {
    find(db, account_id, partner_id).await?;
    if per_page == 0 || per_page > 200 {
        return Err(Error::invalid("per_page", "1 to 200"));
    }
    let mut s = timeline_event::Entity::find()
        .filter(timeline_event::Column::AccountId.eq(account_id))
        .filter(timeline_event::Column::PartnerId.eq(partner_id));
    if let Some(k) = kind.filter(|k| !k.is_empty()) {
        s = s.filter(timeline_event::Column::Kind.eq(k));
    }
    if let Some(q) = q.map(str::trim).filter(|q| !q.is_empty()) {
        let pattern = crate::db::like_pattern(q);
        let like = |c: timeline_event::Column| {
            Expr::expr(Func::lower(Expr::col((timeline_event::Entity, c)))).like(LikeExpr::new(pattern.clone()).escape('\\'))
        };
        s = s.filter(sea_orm::Condition::any().add(like(timeline_event::Column::Summary)).add(like(timeline_event::Column::Actor)));
    }
    crate::db::fetch_page(db, s.order_by_desc(timeline_event::Column::At).order_by_desc(timeline_event::Column::Id), page, per_page).await
}

/// A page of a partner's timeline for the team.
pub async fn timeline(
    db: &impl ConnectionTrait,
    actor: &Actor,
    partner_id: i64,
    kind: Option<&str>,
    q: Option<&str>,
    page: u64,
) -> Result<TimelinePage> {
    actor.require_team()?;
    let list = timeline_events(db, actor.account_id, partner_id, kind, q, page, 50).await?;
    let mut kinds: Vec<String> = timeline_event::Entity::find()
        .select_only()
        .column(timeline_event::Column::Kind)
        .distinct()
        .filter(timeline_event::Column::PartnerId.eq(partner_id))
        .into_tuple::<String>()
        .all(db)
        .await?;
    kinds.sort();
    Ok(TimelinePage {
        list: list.map(|t| TimelineItem { at: t.at.format("%Y-%m-%d %H:%M UTC").to_string(), kind: t.kind, actor: t.actor, summary: t.summary }),
        kinds,
    })
}

/// A partner's whole timeline as CSV (R11).
pub async fn timeline_csv(db: &impl ConnectionTrait, actor: &Actor, partner_id: i64) -> Result<String> {
    actor.require_team()?;
    let mut rows = vec![vec!["at".to_string(), "kind".into(), "actor".into(), "summary".into()]];
    let mut page = 1;
    loop {
        let items = timeline_events(db, actor.account_id, partner_id, None, None, page, 200).await?.items;
        let n = items.len();
        rows.extend(items.into_iter().map(|t| vec![t.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true), t.kind, t.actor, t.summary]));
        if n < 200 {
            break;
        }
        page += 1;
    }
    crate::csv_export::to_csv(&rows)
}

/// The profile of a partner of the actor's account, with the first timeline page of `kind`
/// containing `q`.
pub async fn profile(db: &DatabaseConnection, actor: &Actor, id: i64, kind: Option<&str>, q: Option<&str>) -> Result<PartnerProfile> {
    actor.require_team()?;
    let p = find(db, actor.account_id, id).await?;
    let mut enrollments = Vec::new();
    let mut currency = None;
    for e in enrollment::Entity::find().filter(enrollment::Column::PartnerId.eq(p.id)).order_by_asc(enrollment::Column::Id).all(db).await? {
        let prog = program::Entity::find_by_id(e.program_id).one(db).await?.ok_or(Error::NotFound("program"))?;
        let tiers = tier::Entity::find().filter(tier::Column::ProgramId.eq(prog.id)).order_by_asc(tier::Column::Rank).all(db).await?;
        let t = tiers.iter().find(|t| t.id == e.tier_id).ok_or(Error::NotFound("tier"))?;
        let c = Currency::parse(&prog.currency).map_err(|x| Error::Internal(x.0))?;
        currency.get_or_insert(c);
        let rate = effective_commission(&e, t, c)?;
        let mut commission = rate.display(c);
        let custom_commission = e.commission_kind.as_ref().map(|_| match rate {
            models::CommissionRate::Percent(p) => format!("{p}%"),
            models::CommissionRate::Flat(m) => Money::from_minor(m, c).amount_string(),
        });
        if custom_commission.is_some() {
            commission.push_str(" (custom)");
        }
        let status = EnrollmentStatus::parse(&e.status).map_err(|x| Error::Internal(x.0))?;
        let health = crate::partners::health::view(db, e.id).await?;
        enrollments.push(ProfileEnrollment {
            id: e.id,
            program_id: prog.id,
            program: prog.name,
            status,
            next_statuses: lifecycle::next_statuses(status),
            tier: t.name.clone(),
            tiers: tiers.iter().map(|t| t.name.clone()).collect(),
            commission,
            custom_commission,
            joined: e.joined_at.format("%Y-%m-%d").to_string(),
            dormant_since: e.dormant_since.map(|d| d.format("%Y-%m-%d").to_string()),
            health: e.health_score,
            at_risk_threshold: prog.at_risk_threshold,
            health_day: health.as_ref().map(|h| h.day.clone()),
            health_parts: health.map(|h| h.parts).unwrap_or_default(),
            revenue_90d: Money::from_minor(e.revenue_90d_minor, c).display(),
            conversions_90d: e.conversions_90d.into(),
        });
    }
    let c = currency.unwrap_or(Currency::parse("USD").expect("USD exists"));
    let b = crate::money::ledger::balances(db, actor.account_id, p.id).await?;
    let values = custom_fields::parse_stored(&p.custom);
    let attributes = custom_fields::defs(db, actor.account_id)
        .await?
        .into_iter()
        .map(|field| AttributeView { value: values.get(&field.key).cloned(), field })
        .collect();
    let owner = match p.owner_user_id {
        Some(o) => user::Entity::find_by_id(o).one(db).await?.map(|u| MemberOption { id: u.id, name: u.name }),
        None => None,
    };
    Ok(PartnerProfile {
        id: p.id,
        can_edit: actor.can_edit_partner(p.owner_user_id),
        name: p.name,
        email: p.email,
        company: p.company,
        source: p.source,
        phone: p.phone,
        website: p.website,
        country: p.country,
        owner,
        owners: directory::owners(db, actor.account_id).await?,
        attributes,
        since: p.created_at.format("%Y-%m-%d").to_string(),
        enrollments,
        balances: (Money::from_minor(b.pending, c).display(), Money::from_minor(b.approved, c).display(), Money::from_minor(b.paid, c).display()),
        timeline: timeline(db, actor, id, kind, q, 1).await?,
    })
}

/// An enrollment as the REST API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct EnrollmentOut {
    /// Program id.
    pub program_id: i64,
    /// `pending`, `active`, `paused`, `suspended`, `rejected`.
    pub status: String,
    /// Tier name.
    pub tier: String,
    /// The effective commission, `{"percent": "10"}` or `{"flat": "5.00"}`.
    pub commission: crate::programs::CommissionInput,
    /// Latest health score 0–100, null until scored.
    pub health_score: Option<i32>,
    /// RFC 3339.
    pub joined_at: String,
}

/// A partner as the REST API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct PartnerOut {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Email.
    pub email: String,
    /// Company.
    pub company: Option<String>,
    /// Acquisition source.
    pub source: Option<String>,
    /// Phone.
    pub phone: Option<String>,
    /// Website.
    pub website: Option<String>,
    /// Country code.
    pub country: Option<String>,
    /// Relationship owner (user id).
    pub owner_user_id: Option<i64>,
    /// Custom attribute values by key.
    #[schema(value_type = Object)]
    pub custom: BTreeMap<String, String>,
    /// Enrollments.
    pub enrollments: Vec<EnrollmentOut>,
}

/// A partner of the account for the REST API.
pub async fn get(db: &impl ConnectionTrait, account_id: i64, id: i64) -> Result<PartnerOut> {
    let p = find(db, account_id, id).await?;
    let mut enrollments = Vec::new();
    for e in enrollment::Entity::find().filter(enrollment::Column::PartnerId.eq(p.id)).order_by_asc(enrollment::Column::Id).all(db).await? {
        let prog = program::Entity::find_by_id(e.program_id).one(db).await?.ok_or(Error::NotFound("program"))?;
        let t = tier::Entity::find_by_id(e.tier_id).one(db).await?.ok_or(Error::NotFound("tier"))?;
        let c = Currency::parse(&prog.currency).map_err(|x| Error::Internal(x.0))?;
        enrollments.push(EnrollmentOut {
            program_id: prog.id,
            status: e.status.clone(),
            commission: crate::programs::CommissionInput::from_rate(&effective_commission(&e, &t, c)?, c),
            tier: t.name,
            health_score: e.health_score,
            joined_at: e.joined_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        });
    }
    Ok(PartnerOut {
        id: p.id,
        custom: custom_fields::parse_stored(&p.custom),
        name: p.name,
        email: p.email,
        company: p.company,
        source: p.source,
        phone: p.phone,
        website: p.website,
        country: p.country,
        owner_user_id: p.owner_user_id,
        enrollments,
    })
}
