//! How the portal reacts to other areas' events: an enrollment the team approves sends the
//! partner its approval email with the portal link.

use crate::events::{Event, Reaction, Subscriber, SUBSCRIBERS};
use crate::Result;
use chrono::{DateTime, Utc};
use sea_orm::DatabaseTransaction;

/// Before comms' reactions: the approval email is queued before any sequence's first step.
#[linkme::distributed_slice(SUBSCRIBERS)]
static PORTAL: Subscriber = Subscriber { name: "portal", order: 10, handle };

fn handle<'a>(txn: &'a DatabaseTransaction, now: DateTime<Utc>, event: &'a Event<'a>) -> Reaction<'a> {
    Box::pin(react(txn, now, event))
}

async fn react(txn: &DatabaseTransaction, now: DateTime<Utc>, event: &Event<'_>) -> Result<()> {
    if let Event::Approved { program, enrollment } = *event {
        super::apply::on_approved(txn, now, program, enrollment.partner_id).await?;
    }
    Ok(())
}
