//! Email templates and sequences: the team's side of automated email.

use crate::error::AppError;
use leptos::prelude::*;
use models::{EmailPreview, PreviewInput, SequenceDetail, SequenceInput, SequencesPage, TemplateInput, TemplatesPage};

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
