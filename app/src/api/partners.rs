//! Partners: the directory with segments, custom fields and bulk actions, partner profiles
//! (edit, lifecycle, notes, timeline, compliance) and CSV imports. The import file itself is
//! uploaded by a plain multipart form to `/directory/import` (see the server's router).

use crate::error::AppError;
use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use models::{BulkAction, BulkReport, BulkTarget, CustomFieldDef, DirectoryPage, DirectoryQuery, ImportPreview, ImportProgress, PartnerFields, PartnerProfile, SegmentView, TimelinePage};

/// A page of the directory for a filter (50 rows unless `per_page` says otherwise).
#[server(endpoint = "directory", input = Json)]
pub async fn list_directory(query: DirectoryQuery) -> Result<DirectoryPage, AppError> {
    use crate::ssr::{fail, guard, Need};
    let (ctx, actor) = guard(Need::Team).await?;
    backend::partners::directory::page(&ctx.db, &actor, &query).await.map_err(fail)
}

/// Applies a bulk action to a selection or to everything matching a filter.
#[server(endpoint = "directory/bulk", input = Json)]
pub async fn bulk_apply(target: BulkTarget, action: BulkAction) -> Result<BulkReport, AppError> {
    use crate::ssr::{fail, guard, Need};
    let (ctx, actor) = guard(Need::Roles(&[models::Role::ProgramManager, models::Role::RelationshipOwner])).await?;
    backend::partners::bulk::apply(&ctx.db, ctx.clock.now(), &actor, &target, &action).await.map_err(fail)
}

/// Every segment with its live count.
#[server(endpoint = "segments/list")]
pub async fn list_segments() -> Result<Vec<SegmentView>, AppError> {
    use crate::ssr::{fail, guard, Need};
    let (ctx, actor) = guard(Need::Team).await?;
    backend::partners::segments::list(&ctx.db, &actor).await.map_err(fail)
}

/// Saves a filter as a named segment.
#[server(endpoint = "segments/save", input = Json)]
pub async fn save_segment(name: String, query: DirectoryQuery) -> Result<i64, AppError> {
    use crate::ssr::{fail, guard, Need};
    let (ctx, actor) = guard(Need::Roles(&[models::Role::ProgramManager, models::Role::RelationshipOwner])).await?;
    backend::partners::segments::save(&ctx.db, &actor, ctx.clock.now(), &name, &query).await.map_err(fail)
}

/// Deletes a segment.
#[server(endpoint = "segments/delete")]
pub async fn delete_segment(id: i64) -> Result<(), AppError> {
    use crate::ssr::{fail, guard, Need};
    let (ctx, actor) = guard(Need::Team).await?;
    backend::partners::segments::delete(&ctx.db, &actor, ctx.clock.now(), id).await.map_err(fail)
}

/// The account's custom fields.
#[server(endpoint = "fields/list")]
pub async fn list_fields() -> Result<Vec<CustomFieldDef>, AppError> {
    use crate::ssr::{fail, guard, Need};
    let (ctx, actor) = guard(Need::Team).await?;
    backend::partners::custom_fields::defs(&ctx.db, actor.account_id).await.map_err(fail)
}

/// Defines or redefines a custom field (admins).
#[server(endpoint = "fields/define", input = Json)]
pub async fn define_field(field: CustomFieldDef) -> Result<CustomFieldDef, AppError> {
    use crate::ssr::{fail, guard, Need};
    let (ctx, actor) = guard(Need::Roles(&[models::Role::Admin])).await?;
    backend::partners::custom_fields::define(&ctx.db, &actor, ctx.clock.now(), &field).await.map_err(fail)
}

/// Removes a custom field and its values (admins).
#[server(endpoint = "fields/remove")]
pub async fn remove_field(key: String) -> Result<(), AppError> {
    use crate::ssr::{fail, guard, Need};
    let (ctx, actor) = guard(Need::Roles(&[models::Role::Admin])).await?;
    backend::partners::custom_fields::remove(&ctx.db, &actor, ctx.clock.now(), &key).await.map_err(fail)
}

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

/// An uploaded file with its columns, sample rows and suggested mapping.
#[server(endpoint = "imports/preview")]
pub async fn load_import(id: i64) -> Result<ImportPreview, AppError> {
    use crate::ssr::{fail, guard, Need};
    let (ctx, actor) = guard(Need::Roles(&[models::Role::ProgramManager])).await?;
    backend::tracking::imports::preview(&ctx.db, &actor, id).await.map_err(fail)
}

/// Starts the dry run (`dry_run`) or the import with a mapping (one target key per column,
/// `""` to skip it).
#[server(endpoint = "imports/start", input = Json)]
pub async fn start_import(id: i64, mapping: Vec<String>, dry_run: bool) -> Result<(), AppError> {
    use crate::ssr::{fail, guard, Need};
    let (ctx, actor) = guard(Need::Roles(&[models::Role::ProgramManager])).await?;
    backend::tracking::imports::start(&ctx.db, &ctx.clock, &actor, id, &mapping, dry_run).await.map_err(fail)
}

/// Progress and, once finished, the report.
#[server(endpoint = "imports/progress")]
pub async fn poll_import(id: i64) -> Result<ImportProgress, AppError> {
    use crate::ssr::{fail, guard, Need};
    let (ctx, actor) = guard(Need::Roles(&[models::Role::ProgramManager])).await?;
    backend::tracking::imports::progress(&ctx.db, ctx.clock.now(), &actor, id).await.map_err(fail)
}
