//! The one edge between HTTP and the services, shared by the web routes and the REST API:
//!
//! - [`correlation`]: one random correlation id per request, in the request's tracing span and in
//!   every error body;
//! - [`problem`]: the one mapping from a service error (`backend::Error`) to an HTTP status and
//!   a problem+json body, the answer to a panicked handler, and the server-function-shaped 422
//!   of `text_guard`;
//! - [`actor`]: the one actor extractor ([`actor::Caller`]), by API key or by session.
//!
//! Nothing here knows a route; the routers (`web`, `rest`) use it.

pub mod actor;
pub mod correlation;
pub mod problem;

pub use actor::{Caller, Credential, EdgeState};
pub use correlation::CorrelationId;
pub use problem::{Problem, StorageFault};
