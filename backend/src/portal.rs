//! What a partner user sees of its own partner record in the portal.

use crate::auth::Actor;
use crate::entities::{enrollment, partner, program, tier};
use crate::{Error, Result};
use models::{CommissionRate, Currency, EnrollmentStatus, PortalEnrollment, PortalHome};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};

/// The effective commission of an enrollment: its override, else its tier's.
pub fn effective_commission(e: &enrollment::Model, t: &tier::Model, currency: Currency) -> Result<CommissionRate> {
    let (kind, value) = match (&e.commission_kind, &e.commission_value) {
        (Some(k), Some(v)) => (k.as_str(), v.as_str()),
        _ => (t.commission_kind.as_str(), t.commission_value.as_str()),
    };
    CommissionRate::parse_stored(kind, value, currency).map_err(|e| Error::Internal(e.0))
}

/// The portal landing page of the signed-in partner user.
pub async fn home(db: &DatabaseConnection, actor: &Actor) -> Result<PortalHome> {
    let partner_id = actor.require_partner()?;
    let p = partner::Entity::find_by_id(partner_id)
        .filter(partner::Column::AccountId.eq(actor.account_id))
        .one(db)
        .await?
        .ok_or(Error::NotFound("partner"))?;
    let rows = enrollment::Entity::find()
        .filter(enrollment::Column::PartnerId.eq(p.id))
        .order_by_asc(enrollment::Column::Id)
        .all(db)
        .await?;
    let mut enrollments = Vec::with_capacity(rows.len());
    for e in rows {
        let prog = program::Entity::find_by_id(e.program_id).one(db).await?.ok_or(Error::NotFound("program"))?;
        let t = tier::Entity::find_by_id(e.tier_id).one(db).await?.ok_or(Error::NotFound("tier"))?;
        let currency = Currency::parse(&prog.currency).map_err(|e| Error::Internal(e.0))?;
        let hosts = crate::programs::load(db, actor.account_id, prog.id).await?.hosts;
        enrollments.push(PortalEnrollment {
            program_id: prog.id,
            allowed_hosts: hosts,
            program: prog.name,
            status: EnrollmentStatus::parse(&e.status).map_err(|e| Error::Internal(e.0))?,
            commission: effective_commission(&e, &t, currency)?.display(currency),
            tier: t.name,
            joined: e.joined_at.format("%Y-%m-%d").to_string(),
        });
    }
    let email_unverified = crate::portal_apply::unverified(db, actor.user_id).await?;
    Ok(PortalHome { partner_name: p.name, account_name: actor.account_name.clone(), enrollments, email_unverified })
}
