//! Domain events: how an area makes another react without calling it. A service publishes an
//! [`Event`] inside its own transaction; every [`Subscriber`] registered in [`SUBSCRIBERS`]
//! handles it inside that same transaction, so the reaction commits or rolls back with the
//! change that caused it. Subscribers live in the area that reacts (e.g. `comms::reactions`
//! enters sequences and composes the tier-upgrade email, `portal::reactions` sends the
//! approval email) and register themselves with `#[linkme::distributed_slice(SUBSCRIBERS)]`,
//! so this file, like the areas that publish, knows none of them: the import graph stays a
//! tree (see docs/architecture.md).

use crate::entities::{enrollment, program, tier};
use crate::Result;
use chrono::{DateTime, Utc};
use sea_orm::DatabaseTransaction;
use std::future::Future;
use std::pin::Pin;

/// Something that happened to an enrollment, as its area saw it.
#[derive(Debug, Clone, Copy)]
pub enum Event<'a> {
    /// A partner was enrolled in a program; `active` when it was enrolled already approved.
    Enrolled { enrollment: &'a enrollment::Model, active: bool },
    /// The team moved an enrollment from pending to active.
    Approved { program: &'a program::Model, enrollment: &'a enrollment::Model },
    /// A conversion was attributed to the (active) enrollment and stored.
    Converted { enrollment: &'a enrollment::Model },
    /// The enrollment's health score fell into the at-risk band today (`day` as `YYYY-MM-DD`).
    AtRisk { enrollment: &'a enrollment::Model, day: &'a str },
    /// The enrollment moved up to `tier` (`enrollment` already carries the new tier); `rate`
    /// is the new tier's commission as the partner reads it.
    TierUpgraded { program: &'a program::Model, enrollment: &'a enrollment::Model, tier: &'a tier::Model, rate: &'a str },
}

/// The future a subscriber returns.
pub type Reaction<'a> = Pin<Box<dyn Future<Output = Result<()>> + Send + 'a>>;

/// One area's reaction to events; it ignores the events it does not care about.
pub struct Subscriber {
    /// Who reacts, for logs and ordering.
    pub name: &'static str,
    /// Lower runs first (the order in which the reactions queue their mail).
    pub order: u8,
    /// The reaction.
    pub handle: for<'a> fn(&'a DatabaseTransaction, DateTime<Utc>, &'a Event<'a>) -> Reaction<'a>,
}

/// Every subscriber linked into the binary.
#[linkme::distributed_slice]
pub static SUBSCRIBERS: [Subscriber];

/// Hands `event` to every subscriber, in order, inside `txn`. A subscriber's error fails the
/// publishing change.
pub async fn publish(txn: &DatabaseTransaction, now: DateTime<Utc>, event: Event<'_>) -> Result<()> {
    let mut subscribers: Vec<&Subscriber> = SUBSCRIBERS.iter().collect();
    subscribers.sort_by_key(|s| (s.order, s.name));
    for s in subscribers {
        (s.handle)(txn, now, &event).await?;
    }
    Ok(())
}
