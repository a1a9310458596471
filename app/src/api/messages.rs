//! In-app messaging between the team and partners. One set of functions for both sides: the
//! service scopes a team member to the account and a partner user to its own partner.

use crate::error::AppError;
use leptos::prelude::*;
use models::{Inbox, ThreadView};

/// The signed-in user's threads; `q` searches subjects, partner names and message text.
#[server(endpoint = "messages/inbox")]
pub async fn load_inbox(q: Option<String>) -> Result<Inbox, AppError> {
    use crate::ssr::{fail, guard, Need};
    let (ctx, actor) = guard(Need::Any).await?;
    backend::comms::messaging::inbox(&ctx.db, &actor, q.as_deref()).await.map_err(fail)
}

/// A thread with its messages (marks it read for the reader's side).
#[server(endpoint = "messages/thread")]
pub async fn load_thread(id: i64) -> Result<ThreadView, AppError> {
    use crate::ssr::{fail, guard, Need};
    let (ctx, actor) = guard(Need::Any).await?;
    backend::comms::messaging::thread(&ctx.db, &actor, id).await.map_err(fail)
}

/// Starts a thread (a team member names the partner; a partner writes to the team). Returns its id.
#[server(endpoint = "messages/start")]
pub async fn start_thread(partner_id: Option<i64>, subject: String, body: String) -> Result<i64, AppError> {
    use crate::ssr::{fail, guard, Need};
    let (ctx, actor) = guard(Need::Any).await?;
    backend::comms::messaging::start(&ctx.db, ctx.clock.now(), &actor, &ctx.public_url, partner_id, &subject, &body).await.map_err(fail)
}

/// Replies in a thread.
#[server(endpoint = "messages/reply")]
pub async fn reply_thread(thread_id: i64, body: String) -> Result<(), AppError> {
    use crate::ssr::{fail, guard, Need};
    let (ctx, actor) = guard(Need::Any).await?;
    backend::comms::messaging::reply(&ctx.db, ctx.clock.now(), &actor, &ctx.public_url, thread_id, &body).await.map_err(fail)
}

/// The Broadcasts tab: broadcasts with their counts, and the audiences to choose from.
#[server(endpoint = "broadcasts/list")]
pub async fn load_broadcasts() -> Result<models::BroadcastsPage, AppError> {
    use crate::ssr::{fail, guard, Need};
    let (ctx, actor) = guard(Need::Team).await?;
    backend::comms::broadcasts::list(&ctx.db, &actor).await.map_err(fail)
}

/// How many partners (and which, a sample) an audience reaches.
#[server(endpoint = "broadcasts/preview")]
pub async fn preview_broadcast(segment_id: Option<i64>, program_id: Option<i64>) -> Result<models::BroadcastPreview, AppError> {
    use crate::ssr::{fail, guard, Need};
    let (ctx, actor) = guard(Need::Team).await?;
    backend::comms::broadcasts::preview(&ctx.db, &actor, segment_id, program_id).await.map_err(fail)
}

/// Sends a broadcast now or schedules it (program managers, admins). Returns its id.
#[server(endpoint = "broadcasts/send", input = leptos::server_fn::codec::Json)]
pub async fn send_broadcast(input: models::BroadcastInput) -> Result<i64, AppError> {
    use crate::ssr::{fail, guard, Need};
    let (ctx, actor) = guard(Need::Roles(&[models::Role::ProgramManager])).await?;
    backend::comms::broadcasts::create(&ctx.db, ctx.clock.now(), &actor, &input).await.map_err(fail)
}
