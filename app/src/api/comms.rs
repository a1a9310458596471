//! Communication: in-app messages between the team and partners (one set of functions for both
//! sides: the service scopes a team member to the account and a partner user to its own
//! partner), broadcasts, email templates and sequences, and the account's outbox.

use crate::error::AppError;
use leptos::prelude::*;
use models::{EmailPreview, Inbox, PreviewInput, SequenceDetail, SequenceInput, SequencesPage, TemplateInput, TemplatesPage, ThreadView};

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

/// The Templates tab of a program (the first program when none is given).
#[server(endpoint = "templates/page")]
pub async fn load_templates(program_id: Option<i64>) -> Result<TemplatesPage, AppError> {
    use crate::ssr::{fail, guard, Need};
    let (ctx, actor) = guard(Need::Team).await?;
    backend::comms::templates::page(&ctx.db, &actor, program_id).await.map_err(fail)
}

/// Saves a program's wording of a system email (program managers of the program, admins).
#[server(endpoint = "templates/save", input = leptos::server_fn::codec::Json)]
pub async fn save_template(input: TemplateInput) -> Result<(), AppError> {
    use crate::ssr::{fail, guard, Need};
    let (ctx, actor) = guard(Need::Roles(&[models::Role::ProgramManager])).await?;
    backend::comms::templates::save(&ctx.db, ctx.clock.now(), &actor, &input).await.map_err(fail)
}

/// Sets the footer line of a program's emails.
#[server(endpoint = "templates/footer")]
pub async fn save_footer(program_id: i64, footer: String) -> Result<(), AppError> {
    use crate::ssr::{fail, guard, Need};
    let (ctx, actor) = guard(Need::Roles(&[models::Role::ProgramManager])).await?;
    backend::comms::templates::set_footer(&ctx.db, ctx.clock.now(), &actor, program_id, &footer).await.map_err(fail)
}

/// Renders a subject and body with a real partner's data, as the partner would receive it.
#[server(endpoint = "templates/preview", input = leptos::server_fn::codec::Json)]
pub async fn preview_template(input: PreviewInput) -> Result<EmailPreview, AppError> {
    use crate::ssr::{fail, guard, Need};
    let (ctx, actor) = guard(Need::Team).await?;
    backend::comms::templates::preview(&ctx.db, ctx.clock.now(), &actor, &input).await.map_err(fail)
}

/// The Sequences tab.
#[server(endpoint = "sequences/list")]
pub async fn load_sequences() -> Result<SequencesPage, AppError> {
    use crate::ssr::{fail, guard, Need};
    let (ctx, actor) = guard(Need::Team).await?;
    backend::comms::sequences::list(&ctx.db, &actor).await.map_err(fail)
}

/// A sequence with each partner's progress.
#[server(endpoint = "sequences/detail")]
pub async fn load_sequence(id: i64) -> Result<SequenceDetail, AppError> {
    use crate::ssr::{fail, guard, Need};
    let (ctx, actor) = guard(Need::Team).await?;
    backend::comms::sequences::detail(&ctx.db, &actor, id).await.map_err(fail)
}

/// Creates or changes a sequence (program managers of the program, admins). Returns its id.
#[server(endpoint = "sequences/save", input = leptos::server_fn::codec::Json)]
pub async fn save_sequence(input: SequenceInput) -> Result<i64, AppError> {
    use crate::ssr::{fail, guard, Need};
    let (ctx, actor) = guard(Need::Roles(&[models::Role::ProgramManager])).await?;
    backend::comms::sequences::save(&ctx.db, ctx.clock.now(), &actor, &input).await.map_err(fail)
}

/// Settings → Email: the account's outbox, newest first (admins).
#[server(endpoint = "settings/outbox")]
pub async fn load_outbox(status: Option<String>, q: Option<String>, page: u64) -> Result<models::OutboxPage, AppError> {
    use crate::ssr::{fail, guard, Need};
    let (ctx, actor) = guard(Need::Admin).await?;
    backend::comms::mail::outbox_page(&ctx.db, &actor, status.as_deref(), q.as_deref(), page).await.map_err(fail)
}
