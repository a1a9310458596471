//! The server-only core of Trellis: entities, the services where every business rule lives,
//! authentication, demo data and scheduler jobs. Every service takes the connection, the acting
//! user and (where time matters) a [`Clock`] explicitly.

pub mod accounts;
pub mod analytics;
pub mod api_keys;
pub mod audit;
pub mod auth;
pub mod charts;
pub mod compliance;
mod clock;
pub mod broadcasts;
pub mod bulk;
pub mod conversions;
pub mod custom_fields;
pub mod csv_export;
pub mod dashboards;
pub mod db;
pub mod demo;
pub mod directory;
pub mod entities;
mod error;
pub mod finance;
pub mod health;
pub mod imports;

pub mod lifecycle;
pub mod ledger;
pub mod mail;
pub mod messaging;
pub mod outbox;
pub mod partner_stats;
pub mod partners;
pub mod portal;
pub mod portal_apply;
pub mod profile;
pub mod program_settings;
pub mod programs;
pub mod rollups;
pub mod scheduler;
pub mod segments;
pub mod sequences;
pub mod session_store;
pub mod storage;
pub mod tier_rules;
pub mod team;
pub mod templates;
pub mod tiers;
pub mod timeline;
pub mod tracking;

pub use auth::Actor;
pub use clock::Clock;
pub use error::{Error, Result};
pub use sea_orm::DatabaseConnection;
