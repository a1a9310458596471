//! Partner profiles: edit, lifecycle, notes and the timeline.

use crate::error::AppError;
use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use models::{PartnerFields, PartnerProfile, TimelinePage};

/// A partner's profile with the first timeline page (optionally one kind, containing `q`).
#[server(endpoint = "partners/profile")]
pub async fn load_profile(id: i64, kind: Option<String>, q: Option<String>) -> Result<PartnerProfile, AppError> {
    use crate::ssr::{fail, guard, Need};
    let (ctx, actor) = guard(Need::Team).await?;
    backend::partners::view::profile(&ctx.db, &actor, id, kind.as_deref(), q.as_deref()).await.map_err(fail)
}

/// A page of a partner's timeline.
#[server(endpoint = "partners/timeline")]
pub async fn load_timeline(id: i64, kind: Option<String>, q: Option<String>, page: u64) -> Result<TimelinePage, AppError> {
    use crate::ssr::{fail, guard, Need};
    let (ctx, actor) = guard(Need::Team).await?;
    backend::partners::view::timeline(&ctx.db, &actor, id, kind.as_deref(), q.as_deref(), page).await.map_err(fail)
}

/// Adds a note to a partner's timeline.
#[server(endpoint = "partners/note")]
pub async fn add_note(id: i64, text: String) -> Result<(), AppError> {
    use crate::ssr::{fail, guard, Need};
    let (ctx, actor) = guard(Need::Team).await?;
    backend::partners::add_note(&ctx.db, ctx.clock.now(), &actor, id, &text).await.map_err(fail)
}

/// Creates a partner, optionally enrolled in a program; returns its id.
#[server(endpoint = "partners/create", input = Json)]
pub async fn create_partner(email: String, fields: PartnerFields, program_id: Option<i64>) -> Result<i64, AppError> {
    use crate::ssr::{fail, guard, Need};
    let (ctx, actor) = guard(Need::Roles(&[models::Role::ProgramManager, models::Role::RelationshipOwner])).await?;
    let input = backend::partners::NewPartner { email, fields, program_id, status: None };
    backend::partners::create(&ctx.db, ctx.clock.now(), &actor, &input).await.map_err(fail)
}

/// Changes contact details, source, owner or custom attributes; returns what changed.
#[server(endpoint = "partners/update", input = Json)]
pub async fn update_partner(id: i64, fields: PartnerFields) -> Result<Vec<String>, AppError> {
    use crate::ssr::{fail, guard, Need};
    let (ctx, actor) = guard(Need::Roles(&[models::Role::ProgramManager, models::Role::RelationshipOwner])).await?;
    backend::partners::update(&ctx.db, ctx.clock.now(), &actor, id, &fields).await.map_err(fail)
}

/// Changes an enrollment: `what` is `status` (value a status, with an optional reason),
/// `tier` (a tier name) or `commission` (`10%`, `5.00`, or empty for the tier's rate).
#[server(endpoint = "partners/enrollment")]
pub async fn change_enrollment(partner_id: i64, program_id: i64, what: String, value: String, reason: Option<String>) -> Result<bool, AppError> {
    use crate::ssr::{fail, guard, Need};
    use backend::partners::lifecycle::{Change, Outcome};
    let (ctx, actor) = guard(Need::Roles(&[models::Role::ProgramManager, models::Role::RelationshipOwner])).await?;
    let change = match what.as_str() {
        "status" => Change::Status(models::EnrollmentStatus::parse(&value).map_err(|e| fail(backend::Error::invalid("status", e.0)))?, reason),
        "tier" => Change::Tier(value),
        "commission" => Change::Commission(Some(value).filter(|v| !v.trim().is_empty())),
        _ => return Err(fail(backend::Error::invalid("what", "status, tier or commission"))),
    };
    let out = backend::partners::change_enrollment(&ctx.db, ctx.clock.now(), &actor, partner_id, program_id, &change).await.map_err(fail)?;
    Ok(out == Outcome::Changed)
}

/// A partner's compliance card: payout details, documents and their review state.
#[server(endpoint = "partners/compliance")]
pub async fn load_compliance(id: i64) -> Result<models::PortalProfile, AppError> {
    use crate::ssr::{fail, guard, Need};
    let (ctx, actor) = guard(Need::Team).await?;
    backend::money::compliance::profile(&ctx.db, &actor, id).await.map_err(fail)
}

/// Accepts or rejects (with a note) a partner's tax document.
#[server(endpoint = "partners/review_document")]
pub async fn review_document(id: i64, accept: bool, note: Option<String>) -> Result<(), AppError> {
    use crate::ssr::{fail, guard, Need};
    let (ctx, actor) = guard(Need::Roles(&[models::Role::FinanceApprover, models::Role::ProgramManager])).await?;
    backend::money::compliance::review(&ctx.db, ctx.clock.now(), &actor, id, accept, note.as_deref()).await.map_err(fail)
}
