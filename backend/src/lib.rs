//! The server-only core of Trellis: entities and the services where every business rule lives,
//! cut by business area. Every service takes the connection, the acting user and (where time
//! matters) a [`Clock`] explicitly.
//!
//! Areas, each a folder whose module comment says what it owns, listed from the bottom up: an
//! area uses only the platform files and the areas above it in this list, never one below
//! (`module-cycles backend/src --depth 1` prints no circle). Where a lower area must make a higher
//! one react (a conversion enters a sequence, an upgrade composes an email, an approval opens the
//! portal), it publishes an [`events::Event`] inside its transaction and the higher area
//! subscribes. See docs/architecture.md.

// The platform: storage, errors, time, CSV, the outbox queue, domain events, job reports, the
// partner timeline and the rollup counters every area writes.
pub mod clock;
pub mod csv_export;
pub mod db;
pub mod entities;
mod error;
pub mod events;
pub mod outbox;
pub mod report;
pub mod rollups;
pub mod storage;
pub mod timeline;

// The business areas, bottom up.
pub mod access;
pub mod analytics;
pub mod comms;
pub mod jobs;
pub mod money;
pub mod partners;
pub mod portal;
pub mod programs;
pub mod tracking;

pub use access::auth::Actor;
pub use clock::Clock;
pub use error::{Error, Result};
pub use sea_orm::DatabaseConnection;
