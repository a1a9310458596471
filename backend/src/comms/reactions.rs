//! How comms reacts to other areas' events: enrollments enter the sequences their trigger
//! starts, and a tier upgrade composes and queues the `tier_upgraded` email.

use crate::comms::{sequences, templates};
use crate::entities::partner;
use crate::events::{Event, Reaction, Subscriber, SUBSCRIBERS};
use crate::outbox::{self, NewEmail};
use crate::{Error, Result};
use chrono::{DateTime, Utc};
use sea_orm::{DatabaseTransaction, EntityTrait};

#[linkme::distributed_slice(SUBSCRIBERS)]
static COMMS: Subscriber = Subscriber { name: "comms", order: 20, handle };

fn handle<'a>(txn: &'a DatabaseTransaction, now: DateTime<Utc>, event: &'a Event<'a>) -> Reaction<'a> {
    Box::pin(react(txn, now, event))
}

async fn react(txn: &DatabaseTransaction, now: DateTime<Utc>, event: &Event<'_>) -> Result<()> {
    match *event {
        Event::Enrolled { enrollment: e, active } => {
            sequences::enter(txn, now, e, "enrolled", format!("enrolled:{}", e.id)).await?;
            if active {
                sequences::enter(txn, now, e, "approved", format!("approved:{}", e.id)).await?;
            }
        }
        Event::Approved { enrollment: e, .. } => {
            sequences::enter(txn, now, e, "approved", format!("approved:{}", e.id)).await?;
        }
        Event::Converted { enrollment: e } => sequences::enter_on_first_conversion(txn, now, e).await?,
        Event::AtRisk { enrollment: e, day } => {
            sequences::enter(txn, now, e, "at_risk", format!("at_risk:{}:{day}", e.id)).await?;
        }
        Event::TierUpgraded { program: prog, enrollment: e, tier: to, rate } => {
            let p = partner::Entity::find_by_id(e.partner_id).one(txn).await?.ok_or(Error::NotFound("partner"))?;
            let key = format!("tier_upgraded:{}:{}:{}", e.id, to.id, now.timestamp());
            let (subject, text) = templates::compose(txn, e, "tier_upgraded", now, |v| {
                v.set("tier", to.name.clone());
                v.set("rate", rate.to_string());
            })
            .await?;
            outbox::queue(
                txn,
                now,
                NewEmail {
                    account_id: e.account_id,
                    program_id: Some(prog.id),
                    partner_id: Some(p.id),
                    kind: "tier_upgraded",
                    to: &p.email,
                    subject,
                    text,
                    dedupe_key: Some(key.clone()),
                },
            )
            .await?;
            sequences::enter(txn, now, e, "tier_upgraded", key).await?;
        }
    }
    Ok(())
}
