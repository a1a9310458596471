//! The partner directory.

use crate::error::AppError;
use leptos::prelude::*;
use models::DirectoryPage;

/// A page of the directory, filtered by program, status and free text.
#[server(endpoint = "directory")]
pub async fn list_directory(
    program_id: Option<i64>,
    status: Option<String>,
    q: Option<String>,
    page: Option<u64>,
) -> Result<DirectoryPage, AppError> {
    use crate::ssr::{fail, guard, Need};
    let (ctx, actor) = guard(Need::Team).await?;
    let status = status
        .filter(|s| !s.is_empty() && s != "all")
        .map(|s| models::EnrollmentStatus::parse(&s))
        .transpose()
        .map_err(|e| fail(backend::Error::invalid("status", e.0)))?;
    let query = models::DirectoryQuery { program_id, status, q, page: page.unwrap_or(1), per_page: 50 };
    backend::directory::list(&ctx.db, &actor, &query).await.map_err(fail)
}
