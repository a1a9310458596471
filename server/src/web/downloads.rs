//! Downloads for signed-in users, outside the server functions: CSV exports (payout batches,
//! audit log, directory, timelines, analytics tables, the portal's conversions), dashboard
//! charts as SVG and stored documents. Refusals are problem+json (`crate::edge`).

use crate::edge::{Caller, Problem};
use app::ssr::AppContext;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use std::collections::HashMap;

/// The download routes.
pub(super) fn routes() -> Router<AppContext> {
    Router::new()
        .route("/finance/batches/{id}/csv", get(batch_csv))
        .route("/analytics/tables/{file}", get(analytics_table))
        .route("/analytics/charts/{file}", get(analytics_chart))
        .route("/settings/audit.csv", get(audit_csv))
        .route("/directory/export.csv", get(directory_csv))
        .route("/partners/{id}/timeline.csv", get(timeline_csv))
        .route("/documents/{id}", get(download_document))
        .route("/portal/conversions.csv", get(portal_conversions_csv))
}

/// A service error as the answer of a download, with the route's own words for a refusal.
fn refused(e: backend::Error, forbidden: &str) -> Response {
    Problem::from(e).with_detail_for(StatusCode::FORBIDDEN, forbidden).into_response()
}

/// A path id that is not a number: nothing by that id.
fn no_such(what: &str) -> Response {
    Problem::not_found(what).into_response()
}

/// A CSV file download.
fn csv_download(filename: &str, csv: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{filename}\"")),
        ],
        csv,
    )
        .into_response()
}

/// A CSV download, or the problem a service error maps to.
fn csv_response(result: backend::Result<String>, filename: &str) -> Response {
    match result {
        Ok(csv) => csv_download(filename, csv),
        Err(e) => refused(e, "your role cannot download this"),
    }
}

/// `GET /finance/batches/{id}/csv`: the payout file of a batch, for finance approvers.
async fn batch_csv(State(ctx): State<AppContext>, Caller(actor): Caller, Path(id): Path<String>) -> Response {
    let Ok(id) = id.parse::<i64>() else { return no_such("batch") };
    match backend::money::finance::batch_csv(&ctx.db, &actor, id).await {
        Ok(csv) => csv_download(&format!("payout-batch-{id}.csv"), csv),
        Err(e) => refused(e, "finance approvers only"),
    }
}

/// `GET /settings/audit.csv?q=&actor=&kind=&from=&to=`: the audit log as filtered, for admins.
async fn audit_csv(State(ctx): State<AppContext>, Caller(actor): Caller, Query(q): Query<HashMap<String, String>>) -> Response {
    let text = |k: &str| q.get(k).filter(|v| !v.is_empty()).cloned();
    let query = models::AuditQuery { q: text("q"), actor: text("actor"), kind: text("kind"), from: text("from"), to: text("to"), page: 1 };
    match backend::access::audit::csv(&ctx.db, &actor, &query).await {
        Ok(csv) => csv_download("audit-log.csv", csv),
        Err(e) => refused(e, "admins only"),
    }
}

/// `GET /directory/export.csv?{filter}`: the whole filtered directory view.
async fn directory_csv(State(ctx): State<AppContext>, Caller(actor): Caller, uri: Uri) -> Response {
    let q = models::DirectoryQuery::from_query_string(uri.query().unwrap_or(""));
    csv_response(backend::partners::directory::export_csv(&ctx.db, &actor, &q).await, "partners.csv")
}

/// `GET /partners/{id}/timeline.csv`: a partner's whole timeline.
async fn timeline_csv(State(ctx): State<AppContext>, Caller(actor): Caller, Path(id): Path<String>) -> Response {
    let Ok(id) = id.parse::<i64>() else { return no_such("partner") };
    csv_response(backend::partners::view::timeline_csv(&ctx.db, &actor, id).await, &format!("partner-{id}-timeline.csv"))
}

/// `GET /portal/conversions.csv?program_id=&status=&from=&to=`: the partner's own conversions.
async fn portal_conversions_csv(State(ctx): State<AppContext>, Caller(actor): Caller, Query(q): Query<HashMap<String, String>>) -> Response {
    let filter = models::ConversionFilter {
        program_id: q.get("program_id").and_then(|p| p.parse().ok()),
        status: q.get("status").cloned(),
        from: q.get("from").cloned(),
        to: q.get("to").cloned(),
        page: None,
    };
    csv_response(backend::portal::conversions_csv(&ctx.db, &actor, &filter).await, "my-conversions.csv")
}

/// The `program_id` and `days` of an analytics download's query.
fn analytics_scope(uri: &Uri) -> (Option<i64>, u32) {
    let mut program = None;
    let mut days = 30;
    for pair in uri.query().unwrap_or("").split('&') {
        match pair.split_once('=') {
            Some(("program_id", v)) => program = v.parse().ok(),
            Some(("days", v)) => days = v.parse().unwrap_or(30),
            _ => {}
        }
    }
    (program, days)
}

/// `GET /analytics/tables/{name}.csv?program_id&days`: every analytics table as CSV.
async fn analytics_table(State(ctx): State<AppContext>, Caller(actor): Caller, Path(file): Path<String>, uri: Uri) -> Response {
    let Some(name) = file.strip_suffix(".csv") else { return no_such("table") };
    let (program, days) = analytics_scope(&uri);
    let result = backend::analytics::dashboards::table_csv(&ctx.db, &actor, name, program, days, ctx.clock.now()).await;
    csv_response(result, &format!("analytics-{name}.csv"))
}

/// `GET /analytics/charts/{name}.svg?program_id`: a dashboard chart as an SVG file.
async fn analytics_chart(State(ctx): State<AppContext>, Caller(actor): Caller, Path(file): Path<String>, uri: Uri) -> Response {
    let Some(name) = file.strip_suffix(".svg") else { return no_such("chart") };
    let (program, _) = analytics_scope(&uri);
    match backend::analytics::dashboards::chart(&ctx.db, &actor, name, program, ctx.clock.now()).await {
        Ok(svg) => (
            [
                (header::CONTENT_TYPE, "image/svg+xml".to_string()),
                (header::CONTENT_DISPOSITION, format!("attachment; filename=\"trellis-{name}.svg\"")),
            ],
            svg,
        )
            .into_response(),
        Err(e) => refused(e, "your role cannot download this"),
    }
}

/// `GET /documents/{id}`: a document, to its partner user or the account's team. Another's
/// document is not found, not forbidden: its existence is not told.
async fn download_document(State(ctx): State<AppContext>, Caller(actor): Caller, Path(id): Path<String>) -> Response {
    let Ok(id) = id.parse::<i64>() else { return no_such("document") };
    match backend::money::compliance::download(&ctx.db, &actor, id).await {
        Ok((filename, content_type, bytes)) => (
            [
                (header::CONTENT_TYPE, content_type),
                (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{}\"", filename.replace(|c: char| !c.is_ascii() || c == '"', "_"))),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
                (header::CACHE_CONTROL, "private, no-store".to_string()),
            ],
            bytes,
        )
            .into_response(),
        Err(backend::Error::Forbidden) => no_such("document"),
        Err(e) => Problem::from(e).into_response(),
    }
}
