//! Uploads from the pages (multipart forms): a directory import file and a partner's tax
//! document. Outcomes go back to the page as a redirect with a message; a caller without the
//! right is refused with problem+json (`crate::edge`).

use crate::edge::{Caller, Problem};
use app::ssr::AppContext;
use axum::extract::{DefaultBodyLimit, Multipart, State};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;

/// The upload routes, each with its body limit.
pub(super) fn routes() -> Router<AppContext> {
    Router::new()
        .route("/portal/documents", post(upload_document).layer(DefaultBodyLimit::max(backend::money::compliance::MAX_DOCUMENT_BYTES + 64 * 1024)))
        .route("/directory/import", post(upload_import).layer(DefaultBodyLimit::max(backend::tracking::imports::MAX_BYTES + 64 * 1024)))
}

/// `POST /directory/import` (multipart: `kind`, `file`): stores the file and sends the browser to
/// its mapping step; errors go back to the upload form.
async fn upload_import(State(ctx): State<AppContext>, Caller(actor): Caller, mut form: Multipart) -> Response {
    let back = |msg: &str| axum::response::Redirect::to(&format!("/directory/import?error={}", models::url_encode(msg))).into_response();
    let (mut kind, mut filename, mut content) = (None, String::new(), None);
    loop {
        match form.next_field().await {
            Ok(Some(field)) => match field.name() {
                Some("kind") => kind = field.text().await.ok().as_deref().and_then(models::ImportKind::parse),
                Some("file") => {
                    filename = field.file_name().unwrap_or("upload.csv").to_string();
                    match field.bytes().await {
                        Ok(b) => match String::from_utf8(b.to_vec()) {
                            Ok(s) => content = Some(s),
                            Err(_) => return back("The file is not UTF-8 text; save it as CSV UTF-8 and upload again."),
                        },
                        Err(e) => return back(&format!("The upload failed: {e}")),
                    }
                }
                _ => {}
            },
            Ok(None) => break,
            Err(e) => return back(&format!("The upload failed: {e}")),
        }
    }
    let (Some(kind), Some(content)) = (kind, content) else { return back("Choose what the file holds and a file.") };
    match backend::tracking::imports::upload(&ctx.db, ctx.clock.now(), &actor, kind, &filename, &content).await {
        Ok(p) => axum::response::Redirect::to(&format!("/directory/import/{}", p.id)).into_response(),
        Err(backend::Error::Forbidden) => Problem::from(backend::Error::Forbidden).with_detail("program managers and admins import").into_response(),
        Err(backend::Error::Invalid { field, message }) => back(&format!("The {field} {message}.")),
        Err(e) => {
            tracing::error!(error = %e, "import upload failed");
            back("The upload could not be stored; try again.")
        }
    }
}

/// `POST /portal/documents` (multipart: `file`): a partner user uploads a tax document; the
/// browser goes back to the profile with the outcome.
async fn upload_document(State(ctx): State<AppContext>, Caller(actor): Caller, mut form: Multipart) -> Response {
    if actor.partner_id.is_none() {
        return Problem::from(backend::Error::Forbidden).with_detail("partner users upload their own documents").into_response();
    }
    let back = |msg: &str| axum::response::Redirect::to(&format!("/portal/profile?error={}", models::url_encode(msg))).into_response();
    let mut file = None;
    loop {
        match form.next_field().await {
            Ok(Some(field)) if field.name() == Some("file") => {
                let name = field.file_name().unwrap_or("document").to_string();
                match field.bytes().await {
                    Ok(b) => file = Some((name, b)),
                    Err(_) => return back(&format!("The file is larger than {} MB.", backend::money::compliance::MAX_DOCUMENT_BYTES / (1024 * 1024))),
                }
            }
            Ok(Some(_)) => {}
            Ok(None) => break,
            Err(_) => return back(&format!("The upload failed; files may be at most {} MB.", backend::money::compliance::MAX_DOCUMENT_BYTES / (1024 * 1024))),
        }
    }
    let Some((name, bytes)) = file else { return back("Choose a file.") };
    match backend::money::compliance::upload(&ctx.db, ctx.clock.now(), &actor, &name, &bytes).await {
        Ok(_) => axum::response::Redirect::to("/portal/profile?uploaded=1").into_response(),
        Err(backend::Error::Invalid { field, message }) => back(&format!("The {field} {message}.")),
        Err(e) => {
            tracing::error!(error = %e, "document upload failed");
            back("The document could not be stored; try again.")
        }
    }
}
