//! REST partner routes: create, list (the directory's filter), read, patch, timeline.

use super::dto::{self, PartnerInput, PartnerPage, PartnerPatch, ProblemDoc, TimelineEvent, TimelinePage};
use super::{id_param, query_num, ApiJson, Problem, RestState};
use crate::edge::Caller;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use backend::partners::{self, NewPartner};
use backend::Actor;
use models::{DirectoryQuery, EnrollmentStatus, PartnerFields};
use std::collections::{BTreeMap, HashMap};

/// A custom value as JSON: strings, numbers and booleans are accepted.
fn custom_values(v: Option<BTreeMap<String, serde_json::Value>>) -> Result<BTreeMap<String, String>, Problem> {
    v.unwrap_or_default()
        .into_iter()
        .map(|(k, v)| match v {
            serde_json::Value::String(s) => Ok((k, s)),
            serde_json::Value::Number(n) => Ok((k, n.to_string())),
            serde_json::Value::Bool(b) => Ok((k, b.to_string())),
            serde_json::Value::Null => Ok((k, String::new())),
            _ => Err(Problem::from(backend::Error::invalid(format!("custom.{k}"), "must be a string, number, boolean or null"))),
        })
        .collect()
}

fn status_of(s: Option<&str>) -> Result<Option<EnrollmentStatus>, Problem> {
    s.filter(|s| !s.is_empty()).map(EnrollmentStatus::parse).transpose().map_err(|e| Problem::from(backend::Error::invalid("status", e.0)))
}

#[utoipa::path(post, path = "/api/v1/partners", tag = "partners", request_body = PartnerInput,
    responses((status = 201, body = dto::Partner), (status = 409, description = "Duplicate email", body = ProblemDoc), (status = 415, body = ProblemDoc), (status = 422, body = ProblemDoc)))]
pub(super) async fn create_partner(State(st): State<RestState>, Caller(Actor { account_id: acc, .. }): Caller, ApiJson(input, _): ApiJson<PartnerInput>) -> Result<Response, Problem> {
    let actor = Actor::api(acc);
    let new = NewPartner {
        email: input.email,
        fields: PartnerFields {
            name: Some(input.name),
            company: input.company,
            source: input.source,
            phone: input.phone,
            website: input.website,
            country: input.country,
            owner_user_id: None,
            custom: custom_values(input.custom)?,
        },
        program_id: input.program_id,
        status: status_of(input.status.as_deref())?,
    };
    let id = partners::create(&st.db, st.clock.now(), &actor, &new).await?;
    Ok((StatusCode::CREATED, Json(dto::Partner::of(partners::view::get(&st.db, acc, id).await?)?)).into_response())
}

#[utoipa::path(get, path = "/api/v1/partners", tag = "partners",
    params(("program_id" = Option<i64>, Query), ("status" = Option<String>, Query), ("tier" = Option<String>, Query, description = "tier name"),
        ("q" = Option<String>, Query, description = "name, email or company contains"), ("source" = Option<String>, Query), ("owner" = Option<i64>, Query),
        ("health" = Option<String>, Query, description = "healthy, watch, at_risk, unscored"),
        ("sort" = Option<String>, Query, description = "name, joined, revenue, conversions, conversion_rate, last_conversion, health"),
        ("desc" = Option<bool>, Query), ("page" = Option<u64>, Query), ("per_page" = Option<u64>, Query, description = "at most 200")),
    responses((status = 200, body = PartnerPage), (status = 422, body = ProblemDoc)))]
pub(super) async fn list_partners(State(st): State<RestState>, Caller(Actor { account_id: acc, .. }): Caller, Query(q): Query<HashMap<String, String>>) -> Result<Response, Problem> {
    let mut query = DirectoryQuery::from_pairs(q.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    query.program_id = query_num(&q, "program_id")?.or(query.program_id);
    query.status = status_of(q.get("status").map(String::as_str))?;
    query.page = query_num(&q, "page")?.unwrap_or(1);
    query.per_page = query_num(&q, "per_page")?.unwrap_or(50);
    if query.per_page == 0 {
        return Err(backend::Error::invalid("per_page", "1 to 200").into());
    }
    let (counts, models::Page { items, total, .. }) = backend::partners::directory::list(&st.db, &Actor::api(acc), &query).await?;
    let items = items.into_iter().map(dto::PartnerListItem::of).collect::<Result<_, _>>()?;
    Ok(Json(PartnerPage { items, total, counts: counts.into() }).into_response())
}

#[utoipa::path(get, path = "/api/v1/partners/{id}", tag = "partners", params(("id" = i64, Path)),
    responses((status = 200, body = dto::Partner), (status = 404, body = ProblemDoc)))]
pub(super) async fn get_partner(State(st): State<RestState>, Caller(Actor { account_id: acc, .. }): Caller, Path(id): Path<String>) -> Result<Response, Problem> {
    Ok(Json(dto::Partner::of(partners::view::get(&st.db, acc, id_param(&id, "partner")?).await?)?).into_response())
}

#[utoipa::path(patch, path = "/api/v1/partners/{id}", tag = "partners", params(("id" = i64, Path)), request_body = PartnerPatch,
    responses((status = 200, body = dto::Partner), (status = 404, body = ProblemDoc), (status = 415, body = ProblemDoc), (status = 422, body = ProblemDoc)))]
pub(super) async fn patch_partner(State(st): State<RestState>, Caller(Actor { account_id: acc, .. }): Caller, Path(id): Path<String>, ApiJson(input, _): ApiJson<PartnerPatch>) -> Result<Response, Problem> {
    let id = id_param(&id, "partner")?;
    let actor = Actor::api(acc);
    let now = st.clock.now();
    // Every value is checked before anything is written.
    let status = status_of(input.status.as_deref())?;
    if (status.is_some() || input.tier.is_some()) && input.program_id.is_none() {
        return Err(backend::Error::invalid("program_id", "a status or tier change names its program").into());
    }
    let fields = PartnerFields {
        name: input.name,
        company: input.company,
        source: input.source,
        phone: input.phone,
        website: input.website,
        country: input.country,
        owner_user_id: None,
        custom: custom_values(input.custom)?,
    };
    let change = input.program_id.map(|program_id| partners::EnrollmentPatch { program_id, status, reason: input.reason.clone(), tier: input.tier.clone() });
    partners::patch(&st.db, now, &actor, id, &fields, change.as_ref()).await?;
    Ok(Json(dto::Partner::of(partners::view::get(&st.db, acc, id).await?)?).into_response())
}

#[utoipa::path(get, path = "/api/v1/partners/{id}/timeline", tag = "partners",
    params(("id" = i64, Path), ("kind" = Option<String>, Query), ("page" = Option<u64>, Query), ("per_page" = Option<u64>, Query, description = "at most 200")),
    responses((status = 200, body = TimelinePage), (status = 404, body = ProblemDoc)))]
pub(super) async fn partner_timeline(State(st): State<RestState>, Caller(Actor { account_id: acc, .. }): Caller, Path(id): Path<String>, Query(q): Query<HashMap<String, String>>) -> Result<Response, Problem> {
    let models::Page { items, total, .. } = partners::view::timeline_events(
        &st.db,
        acc,
        id_param(&id, "partner")?,
        q.get("kind").map(String::as_str),
        q.get("q").map(String::as_str),
        query_num(&q, "page")?.unwrap_or(1).max(1),
        query_num(&q, "per_page")?.unwrap_or(50),
    )
    .await?;
    let items = items
        .into_iter()
        .map(|t| TimelineEvent {
            at: dto::time(t.at),
            kind: t.kind,
            actor: t.actor,
            summary: t.summary,
            data: serde_json::from_str(&t.data).unwrap_or_else(|_| serde_json::json!({})),
        })
        .collect();
    Ok(Json(TimelinePage { items, total }).into_response())
}
