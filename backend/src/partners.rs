//! Partner profiles for the team: contact details, enrollments, balances and the timeline.

use crate::auth::Actor;
use crate::entities::{enrollment, partner, program, tier, timeline_event};
use crate::portal::effective_commission;
use crate::{Error, Result};
use models::{Currency, EnrollmentStatus, Money, PartnerProfile, ProfileEnrollment, TimelineItem};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

/// The profile of a partner of the actor's account, with up to 200 timeline events of `kind`
/// (all kinds when `None`), newest first.
pub async fn profile(db: &DatabaseConnection, actor: &Actor, id: i64, kind: Option<&str>) -> Result<PartnerProfile> {
    actor.require_team()?;
    let p = partner::Entity::find_by_id(id)
        .filter(partner::Column::AccountId.eq(actor.account_id))
        .one(db)
        .await?
        .ok_or(Error::NotFound("partner"))?;
    let mut enrollments = Vec::new();
    let mut currency = None;
    for e in enrollment::Entity::find().filter(enrollment::Column::PartnerId.eq(p.id)).order_by_asc(enrollment::Column::Id).all(db).await? {
        let prog = program::Entity::find_by_id(e.program_id).one(db).await?.ok_or(Error::NotFound("program"))?;
        let t = tier::Entity::find_by_id(e.tier_id).one(db).await?.ok_or(Error::NotFound("tier"))?;
        let c = Currency::parse(&prog.currency).map_err(|x| Error::Internal(x.0))?;
        currency.get_or_insert(c);
        let mut commission = effective_commission(&e, &t, c)?.display(c);
        if e.commission_kind.is_some() {
            commission.push_str(" (custom)");
        }
        enrollments.push(ProfileEnrollment {
            program: prog.name,
            status: EnrollmentStatus::parse(&e.status).map_err(|x| Error::Internal(x.0))?,
            tier: t.name,
            commission,
            joined: e.joined_at.format("%Y-%m-%d").to_string(),
            dormant_since: e.dormant_since.map(|d| d.format("%Y-%m-%d").to_string()),
        });
    }
    let c = currency.unwrap_or(Currency::parse("USD").expect("USD exists"));
    let b = crate::ledger::balances(db, actor.account_id, p.id).await?;
    let mut events = timeline_event::Entity::find()
        .filter(timeline_event::Column::AccountId.eq(actor.account_id))
        .filter(timeline_event::Column::PartnerId.eq(p.id));
    let kinds: Vec<String> = timeline_event::Entity::find()
        .select_only()
        .column(timeline_event::Column::Kind)
        .distinct()
        .filter(timeline_event::Column::PartnerId.eq(p.id))
        .into_tuple::<String>()
        .all(db)
        .await?;
    if let Some(k) = kind.filter(|k| !k.is_empty()) {
        events = events.filter(timeline_event::Column::Kind.eq(k));
    }
    let timeline = events
        .order_by_desc(timeline_event::Column::At)
        .order_by_desc(timeline_event::Column::Id)
        .limit(200)
        .all(db)
        .await?
        .into_iter()
        .map(|t| TimelineItem { at: t.at.format("%Y-%m-%d %H:%M UTC").to_string(), kind: t.kind, actor: t.actor, summary: t.summary })
        .collect();
    let mut kinds = kinds;
    kinds.sort();
    Ok(PartnerProfile {
        id: p.id,
        name: p.name,
        email: p.email,
        company: p.company,
        source: p.source,
        since: p.created_at.format("%Y-%m-%d").to_string(),
        enrollments,
        balances: (
            Money::from_minor(b.pending, c).display(),
            Money::from_minor(b.approved, c).display(),
            Money::from_minor(b.paid, c).display(),
        ),
        timeline,
        kinds,
    })
}
