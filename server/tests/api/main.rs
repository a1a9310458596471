//! The public API as integrators use it, over real HTTP on SQLite and PostgreSQL: REST resources,
//! cursor pages, key scopes and rate limits (rest.rs), and outgoing webhooks against a real local
//! receiver (webhooks.rs). One test binary for both, so CI links it once.

#[path = "../common/mod.rs"]
mod common;

mod rest;
mod webhooks;
