//! REST API v1 (api.md): JSON in and out, `Authorization: Bearer {key}`, problem+json errors.
//! Handlers are thin doors onto the `backend` services; no business rule lives here.

mod problem;

pub use problem::{ApiJson, Problem};

use axum::extract::{DefaultBodyLimit, FromRef, FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use backend::conversions::{self, ConversionInput, Outcome};
use backend::programs::{self, CommissionInput, ProgramInput, RuleInput};
use backend::tracking::ClickRecorder;
use backend::{Clock, DatabaseConnection};
use models::Money;
use serde::Deserialize;
use serde_json::json;
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
}

/// The account an API key acts for.
pub struct ApiAccount(pub i64);

impl<S: Send + Sync> FromRequestParts<S> for ApiAccount
where
    RestState: FromRef<S>,
{
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let st = RestState::from_ref(state);
        let key = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .ok_or_else(Problem::unauthorized)?;
        let account = backend::auth::account_for_api_key(&st.db, &st.clock, key).await.map_err(|e| match e {
            backend::Error::Unauthenticated => Problem::unauthorized(),
            other => Problem::from(other),
        })?;
        Ok(ApiAccount(account))
    }
}

fn id_param(raw: &str, what: &str) -> Result<i64, Problem> {
    raw.parse().map_err(|_| Problem::not_found(what))
}

fn program_view(p: &programs::Program, tiers: &[backend::entities::tier::Model]) -> Result<serde_json::Value, Problem> {
    let c = p.currency;
    let tier_views = tiers
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let rate = models::CommissionRate::parse_stored(&t.commission_kind, &t.commission_value, c)
                .map_err(|e| Problem::from(backend::Error::Internal(e.0)))?;
            let rule = (i > 0).then(|| RuleInput {
                min_conversions: t.min_conversions.map(i64::from),
                min_revenue: t.min_revenue_minor.map(|m| Money::from_minor(m, c).amount_string()),
                window_days: t.window_days.into(),
            });
            Ok(json!({
                "id": t.id,
                "name": t.name,
                "rank": t.rank,
                "commission": CommissionInput::from_rate(&rate, c),
                "rule": rule,
                "retroactive": t.retroactive,
            }))
        })
        .collect::<Result<Vec<_>, Problem>>()?;
    let mut domains = p.hosts.clone();
    if !domains.is_empty() {
        domains.remove(0);
    }
    Ok(json!({
        "id": p.row.id,
        "name": p.row.name,
        "currency": c.code(),
        "website": p.row.website,
        "allowed_domains": domains,
        "cookie_days": p.row.cookie_days,
        "default_commission": CommissionInput::from_rate(&p.default_commission()?, c),
        "tiers": tier_views,
        "created_at": p.row.created_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    }))
}

async fn create_program(State(st): State<RestState>, ApiAccount(acc): ApiAccount, ApiJson(input, _): ApiJson<ProgramInput>) -> Result<Response, Problem> {
    let (p, tiers) = programs::create(&st.db, &st.clock, acc, &input).await?;
    Ok((StatusCode::CREATED, Json(program_view(&p, &tiers)?)).into_response())
}

async fn get_program(State(st): State<RestState>, ApiAccount(acc): ApiAccount, Path(id): Path<String>) -> Result<Response, Problem> {
    let p = programs::load(&st.db, acc, id_param(&id, "program")?).await?;
    let tiers = programs::tiers(&st.db, p.row.id).await?;
    Ok(Json(program_view(&p, &tiers)?).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LinkInput {
    partner_id: i64,
    program_id: i64,
    #[serde(default)]
    destination: Option<String>,
}

async fn create_link(State(st): State<RestState>, ApiAccount(acc): ApiAccount, ApiJson(input, _): ApiJson<LinkInput>) -> Result<Response, Problem> {
    let l = backend::tracking::create_link(&st.db, &st.clock, acc, &st.public_url, input.partner_id, input.program_id, input.destination.as_deref()).await?;
    st.clicks.forget(&l.code);
    Ok((StatusCode::CREATED, Json(json!({ "id": l.id, "code": l.code, "url": l.url, "destination": l.destination }))).into_response())
}

async fn create_conversion(State(st): State<RestState>, ApiAccount(acc): ApiAccount, ApiJson(input, raw): ApiJson<ConversionInput>) -> Result<Response, Problem> {
    let hash = conversions::request_hash(&raw);
    Ok(match conversions::ingest(&st.db, Some(&st.clicks), &st.clock, acc, &input, &hash).await? {
        Outcome::Created(v) => (StatusCode::CREATED, Json(v)).into_response(),
        Outcome::Replayed(v) => (StatusCode::OK, Json(v)).into_response(),
    })
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RefundInput {
    #[serde(default)]
    amount: Option<String>,
}

async fn refund_conversion(State(st): State<RestState>, ApiAccount(acc): ApiAccount, Path(id): Path<String>, body: axum::body::Bytes) -> Result<Response, Problem> {
    let input: RefundInput = if body.iter().all(u8::is_ascii_whitespace) {
        RefundInput::default()
    } else {
        let value: serde_json::Value = serde_json::from_slice(&body)
            .map_err(|e| Problem::new(StatusCode::BAD_REQUEST, "malformed_json", "Malformed JSON", e.to_string()))?;
        serde_json::from_value(value).map_err(|e| Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_body", "Invalid body", e.to_string()))?
    };
    let out = conversions::refund(&st.db, &st.clock, acc, id_param(&id, "conversion")?, input.amount.as_deref()).await?;
    Ok(Json(out).into_response())
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

async fn list_commissions(State(st): State<RestState>, ApiAccount(acc): ApiAccount, Query(q): Query<HashMap<String, String>>) -> Result<Response, Problem> {
    let filter = backend::ledger::EntryFilter {
        partner_id: query_num(&q, "partner_id")?,
        program_id: query_num(&q, "program_id")?,
        status: q.get("status").filter(|s| !s.is_empty()).cloned(),
        page: query_num(&q, "page")?.unwrap_or(1),
        per_page: query_num(&q, "per_page")?.unwrap_or(50),
    };
    let (items, total) = backend::ledger::list(&st.db, acc, &filter).await?;
    Ok(Json(json!({ "items": items, "total": total })).into_response())
}

async fn not_found() -> Problem {
    Problem::not_found("route")
}

/// The `/api/v1` router.
pub fn router(state: RestState) -> Router {
    Router::new()
        .route("/programs", post(create_program))
        .route("/programs/{id}", get(get_program))
        .route("/links", post(create_link))
        .route("/conversions", post(create_conversion))
        .route("/conversions/{id}/refund", post(refund_conversion))
        .route("/commissions", get(list_commissions))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(state)
}
