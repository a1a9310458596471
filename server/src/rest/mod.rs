//! REST API v1 (api.md): JSON in and out, `Authorization: Bearer {key}`, problem+json errors.
//! Handlers are thin doors onto the `backend` services; no business rule lives here.

pub mod dto;
mod json;
mod partners;

pub use crate::edge::{Problem, StorageFault};
pub use json::ApiJson;

use dto::{LinkInput, ProblemDoc, RefundInput};

use crate::edge::{Caller, Credential, EdgeState};
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use backend::tracking::conversions::{self, ConversionInput, Outcome};
use backend::programs::{self, ProgramInput};
use backend::tracking::ClickRecorder;
use backend::{Actor, Clock, DatabaseConnection};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use std::collections::HashMap;
use std::sync::Arc;

/// Largest accepted body.
pub const BODY_LIMIT: usize = 64 * 1024;

/// What the handlers share.
#[derive(Clone)]
pub struct RestState {
    /// Database pool.
    pub db: DatabaseConnection,
    /// Clock.
    pub clock: Clock,
    /// Click buffer (conversions flush it when a click id is not yet written).
    pub clicks: Arc<ClickRecorder>,
    /// Base of tracking URLs.
    pub public_url: String,
    /// Counters for `/metrics`.
    pub metrics: Arc<crate::metrics::Metrics>,
}

impl EdgeState for RestState {
    const CREDENTIAL: Credential = Credential::ApiKey;
    fn db(&self) -> &DatabaseConnection {
        &self.db
    }
    fn clock(&self) -> &Clock {
        &self.clock
    }
}

fn id_param(raw: &str, what: &str) -> Result<i64, Problem> {
    raw.parse().map_err(|_| Problem::not_found(what))
}

#[utoipa::path(post, path = "/api/v1/programs", tag = "programs", request_body = ProgramInput,
    responses((status = 201, body = dto::Program), (status = 401, body = ProblemDoc), (status = 415, body = ProblemDoc), (status = 422, body = ProblemDoc)))]
async fn create_program(State(st): State<RestState>, Caller(Actor { account_id: acc, .. }): Caller, ApiJson(input, _): ApiJson<ProgramInput>) -> Result<Response, Problem> {
    let (p, tiers) = programs::create(&st.db, &st.clock, acc, &input).await?;
    Ok((StatusCode::CREATED, Json(dto::Program::of(&p, &tiers)?)).into_response())
}

#[utoipa::path(get, path = "/api/v1/programs/{id}", tag = "programs", params(("id" = i64, Path, description = "Program id")),
    responses((status = 200, body = dto::Program), (status = 404, body = ProblemDoc)))]
async fn get_program(State(st): State<RestState>, Caller(Actor { account_id: acc, .. }): Caller, Path(id): Path<String>) -> Result<Response, Problem> {
    let p = programs::load(&st.db, acc, id_param(&id, "program")?).await?;
    let tiers = programs::tiers(&st.db, p.row.id).await?;
    Ok(Json(dto::Program::of(&p, &tiers)?).into_response())
}

#[utoipa::path(post, path = "/api/v1/links", tag = "tracking", request_body = LinkInput,
    responses((status = 201, body = dto::Link), (status = 404, body = ProblemDoc), (status = 415, body = ProblemDoc), (status = 422, body = ProblemDoc)))]
async fn create_link(State(st): State<RestState>, Caller(Actor { account_id: acc, .. }): Caller, ApiJson(input, _): ApiJson<LinkInput>) -> Result<Response, Problem> {
    let l = backend::tracking::create_link(&st.db, &st.clock, acc, &st.public_url, input.partner_id, input.program_id, input.destination.as_deref()).await?;
    st.clicks.forget(&l.code);
    Ok((StatusCode::CREATED, Json(dto::Link { id: l.id, code: l.code, url: l.url, destination: l.destination })).into_response())
}

#[utoipa::path(post, path = "/api/v1/conversions", tag = "tracking", request_body = ConversionInput,
    responses((status = 201, description = "Created", body = dto::Conversion), (status = 200, description = "The same body again: the first answer", body = dto::Conversion),
        (status = 409, description = "The same external_id with a different body", body = ProblemDoc), (status = 413, body = ProblemDoc), (status = 415, body = ProblemDoc), (status = 422, body = ProblemDoc)))]
async fn create_conversion(State(st): State<RestState>, Caller(Actor { account_id: acc, .. }): Caller, ApiJson(input, raw): ApiJson<ConversionInput>) -> Result<Response, Problem> {
    let hash = conversions::request_hash(&raw);
    let outcome = conversions::ingest(&st.db, Some(&st.clicks), &st.clock, acc, &input, &hash).await;
    st.metrics.conversion(match &outcome {
        Ok(Outcome::Created(_)) => "created",
        Ok(Outcome::Replayed(_)) => "replayed",
        Err(_) => "rejected",
    });
    Ok(match outcome? {
        Outcome::Created(v) => (StatusCode::CREATED, Json(dto::Conversion::of(v)?)).into_response(),
        Outcome::Replayed(v) => (StatusCode::OK, Json(dto::Conversion::of(v)?)).into_response(),
    })
}

#[utoipa::path(post, path = "/api/v1/conversions/{id}/refund", tag = "tracking", request_body = RefundInput,
    params(("id" = i64, Path, description = "Conversion id")),
    responses((status = 200, body = dto::Refund), (status = 404, body = ProblemDoc), (status = 409, body = ProblemDoc), (status = 415, body = ProblemDoc), (status = 422, body = ProblemDoc)))]
async fn refund_conversion(State(st): State<RestState>, Caller(Actor { account_id: acc, .. }): Caller, Path(id): Path<String>, headers: axum::http::HeaderMap, body: axum::body::Bytes) -> Result<Response, Problem> {
    let input: RefundInput = if body.iter().all(u8::is_ascii_whitespace) {
        RefundInput::default()
    } else {
        json::parse_json(&headers, &body)?.0
    };
    let out = backend::tracking::refunds::refund(&st.db, &st.clock, acc, id_param(&id, "conversion")?, input.amount.as_deref(), input.refund_id.as_deref()).await?;
    Ok(Json(dto::Refund::of(out)?).into_response())
}

fn query_num<T: std::str::FromStr>(q: &HashMap<String, String>, key: &str) -> Result<Option<T>, Problem> {
    q.get(key)
        .filter(|v| !v.is_empty())
        .map(|v| {
            v.parse().map_err(|_| {
                Problem::new(StatusCode::UNPROCESSABLE_ENTITY, format!("invalid_{key}"), "Invalid value", format!("{key}: '{v}' is not a number"))
            })
        })
        .transpose()
}

#[utoipa::path(get, path = "/api/v1/commissions", tag = "ledger",
    params(("partner_id" = Option<i64>, Query), ("program_id" = Option<i64>, Query), ("status" = Option<String>, Query, description = "pending, approved, paid or void"),
        ("page" = Option<u64>, Query), ("per_page" = Option<u64>, Query, description = "at most 200")),
    responses((status = 200, body = dto::EntryPage), (status = 422, body = ProblemDoc)))]
async fn list_commissions(State(st): State<RestState>, Caller(Actor { account_id: acc, .. }): Caller, Query(q): Query<HashMap<String, String>>) -> Result<Response, Problem> {
    let filter = backend::money::ledger::EntryFilter {
        partner_id: query_num(&q, "partner_id")?,
        program_id: query_num(&q, "program_id")?,
        status: q.get("status").filter(|s| !s.is_empty()).cloned(),
        page: query_num(&q, "page")?.unwrap_or(1),
        per_page: query_num(&q, "per_page")?.unwrap_or(50),
    };
    let models::Page { items, total, .. } = backend::money::ledger::list(&st.db, acc, &filter).await?;
    let items = items.into_iter().map(dto::Entry::of).collect::<Result<_, _>>()?;
    Ok(Json(dto::EntryPage { items, total }).into_response())
}

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme("api_key", SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()));
    }
}

/// Every error answer as the server sends it: `application/problem+json` with [`ProblemDoc`], and
/// the statuses any operation can answer whatever its handler does (the key is checked first,
/// bodies and query strings are parsed before it runs, and storage faults reach every route).
struct ProblemResponses;

impl Modify for ProblemResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{Content, Ref, RefOr, ResponseBuilder};
        let problem = |description: &str| {
            RefOr::T(ResponseBuilder::new().description(description).content("application/problem+json", Content::new(Some(Ref::from_schema_name("ProblemDoc")))).build())
        };
        for item in openapi.paths.paths.values_mut() {
            for op in [&mut item.get, &mut item.post, &mut item.put, &mut item.patch, &mut item.delete].into_iter().flatten() {
                for (status, response) in op.responses.responses.iter_mut() {
                    if let (true, RefOr::T(r)) = (status.as_str() >= "400", response) {
                        if let Some(c) = r.content.shift_remove("application/json") {
                            r.content.insert("application/problem+json".into(), c);
                        }
                    }
                }
                let mut always = vec![("400", "A path or query value that does not decode"), ("401", "No valid API key"), ("404", "A record the request names is not in the key's account"), ("422", "A value that breaks a rule (the field is named)"), ("500", "A server fault (logged under the correlation id)"), ("503", "Storage full or unavailable: nothing was stored; retry after Retry-After")];
                if op.request_body.is_some() {
                    always.extend([("413", "A body over 64 KiB"), ("415", "A body that is not application/json")]);
                }
                for (status, description) in always {
                    op.responses.responses.entry(status.to_string()).or_insert_with(|| problem(description));
                }
            }
        }
    }
}

/// The OpenAPI document of `/api/v1`.
#[derive(OpenApi)]
#[openapi(
    info(title = "Trellis REST API", version = "1", description = "Send conversions and refunds server-to-server, read programs and commissions. Authenticate with `Authorization: Bearer {api key}`; a key acts for its one account. Money is a decimal string in the program's currency; times are RFC 3339 UTC."),
    paths(create_program, get_program, partners::create_partner, partners::list_partners, partners::get_partner, partners::patch_partner, partners::partner_timeline, create_link, create_conversion, refund_conversion, list_commissions, analytics_summary, analytics_cohorts),
    components(schemas(ProblemDoc)),
    modifiers(&BearerAuth, &ProblemResponses),
    security(("api_key" = []))
)]
pub struct ApiDoc;

async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

#[utoipa::path(get, path = "/api/v1/analytics/summary", tag = "analytics",
    params(("program_id" = Option<i64>, Query), ("from" = String, Query, description = "RFC 3339 time or YYYY-MM-DD (UTC), inclusive"),
        ("to" = String, Query, description = "RFC 3339 time or YYYY-MM-DD (UTC), exclusive")),
    responses((status = 200, body = dto::Summary), (status = 404, body = ProblemDoc), (status = 422, body = ProblemDoc)))]
async fn analytics_summary(State(st): State<RestState>, Caller(Actor { account_id: acc, .. }): Caller, Query(q): Query<HashMap<String, String>>) -> Result<Response, Problem> {
    let bound = |k: &str| -> Result<chrono::DateTime<chrono::Utc>, Problem> {
        let v = q.get(k).filter(|v| !v.is_empty()).ok_or_else(|| Problem::from(backend::Error::invalid(k, "required")))?;
        Ok(backend::clock::parse_bound(k, v)?)
    };
    let summary = backend::analytics::summary(&st.db, acc, query_num(&q, "program_id")?, bound("from")?, bound("to")?).await?;
    Ok(Json(dto::Summary::from(summary)).into_response())
}

#[utoipa::path(get, path = "/api/v1/analytics/cohorts", tag = "analytics",
    params(("program_id" = i64, Query), ("weeks" = Option<u32>, Query, description = "default 12")),
    responses((status = 200, body = dto::CohortPage), (status = 404, body = ProblemDoc), (status = 422, body = ProblemDoc)))]
async fn analytics_cohorts(State(st): State<RestState>, Caller(Actor { account_id: acc, .. }): Caller, Query(q): Query<HashMap<String, String>>) -> Result<Response, Problem> {
    let program_id: i64 = query_num(&q, "program_id")?.ok_or_else(|| Problem::from(backend::Error::invalid("program_id", "required")))?;
    let weeks: u32 = query_num(&q, "weeks")?.unwrap_or(12);
    let items = backend::analytics::cohorts(&st.db, acc, program_id, weeks, st.clock.now()).await?;
    let currency = programs::load(&st.db, acc, program_id).await?.currency;
    let items = items.into_iter().map(|p| dto::CohortPoint::of(p, currency.code())).collect::<Result<_, _>>()?;
    Ok(Json(dto::CohortPage { items }).into_response())
}

async fn not_found() -> Problem {
    Problem::not_found("route")
}

/// A query parameter no engine can store or search for (NUL, control characters) → 422 naming
/// it, before any handler runs.
async fn storable_query(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    if let Some((field, why)) = req.uri().query().and_then(|q| crate::text_guard::check_args("", q.as_bytes())) {
        return Problem::from(backend::Error::invalid(field, why)).into_response();
    }
    next.run(req).await
}

/// Every error under `/api/v1` is problem+json, also the ones axum writes itself: 405 for a
/// method the route does not take (its `Allow` header kept), 413 for a body over the limit,
/// 400 for a path that does not decode, and 500 for a handler that panicked.
async fn problem_everywhere(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let res = next.run(req).await;
    let status = res.status();
    let is_problem = res.headers().get(axum::http::header::CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"application/problem+json"));
    if !(status.is_client_error() || status.is_server_error()) || is_problem {
        return res;
    }
    let allow = res.headers().get(axum::http::header::ALLOW).cloned();
    let text = axum::body::to_bytes(res.into_body(), 4096).await.unwrap_or_default();
    let said = String::from_utf8_lossy(&text).trim().to_string();
    let (code, title, detail) = match status {
        StatusCode::METHOD_NOT_ALLOWED => ("method_not_allowed", "Method not allowed", "this route does not take that method (see the Allow header)".to_string()),
        StatusCode::PAYLOAD_TOO_LARGE => ("payload_too_large", "Payload too large", format!("the body is over {} bytes", BODY_LIMIT)),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ("unsupported_media_type", "Unsupported media type", said),
        s if s.is_server_error() => ("internal", "Internal server error", "the server failed; the error is logged".to_string()),
        _ => ("bad_request", "Bad request", if said.is_empty() { "the request could not be read".to_string() } else { said }),
    };
    let mut out = Problem::new(status, code, title, detail).into_response();
    if let Some(allow) = allow {
        out.headers_mut().insert(axum::http::header::ALLOW, allow);
    }
    out
}

/// The `/api/v1` router.
pub fn router(state: RestState) -> Router {
    Router::new()
        .route("/programs", post(create_program))
        .route("/programs/{id}", get(get_program))
        .route("/partners", post(partners::create_partner).get(partners::list_partners))
        .route("/partners/{id}", get(partners::get_partner).patch(partners::patch_partner))
        .route("/partners/{id}/timeline", get(partners::partner_timeline))
        .route("/links", post(create_link))
        .route("/conversions", post(create_conversion))
        .route("/conversions/{id}/refund", post(refund_conversion))
        .route("/commissions", get(list_commissions))
        .route("/analytics/summary", get(analytics_summary))
        .route("/analytics/cohorts", get(analytics_cohorts))
        .route("/openapi.json", get(openapi))
        .fallback(not_found)
        .layer(axum::middleware::from_fn(storable_query))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(crate::edge::problem::panicked))
        .layer(axum::middleware::from_fn(problem_everywhere))
        .with_state(state)
}
