//! The error answer as documented in the OpenAPI document (the answer itself is
//! `crate::edge::Problem`).

use serde::Serialize;
use utoipa::ToSchema;

/// An error answer (RFC 9457), `application/problem+json`.
#[derive(Serialize, ToSchema)]
pub struct ProblemDoc {
    /// Always `about:blank`: the `code` tells the kind.
    #[serde(rename = "type")]
    #[schema(example = "about:blank")]
    pub(crate) kind: String,
    pub(crate) status: u16,
    pub(crate) title: String,
    pub(crate) detail: String,
    /// Stable machine-readable code, e.g. `invalid_amount`, `not_found`, `conflict`.
    pub(crate) code: String,
    /// The request's correlation id (eight hex digits); quote it when reporting a failure.
    #[schema(example = "3f9a12c4")]
    pub(crate) correlation_id: String,
}
