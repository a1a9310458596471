//! Server functions, one area a file: guard → service call → DTO. Each has a stable endpoint
//! under `/api/` so tests and the authorization matrix can call it by name.

pub mod analytics;
pub mod auth;
pub mod comms;
pub mod conversions;
pub mod directory;
pub mod finance;
pub mod imports;
pub mod links;
pub mod messages;
pub mod partners;
pub mod portal;
pub mod tiers;
pub mod settings;
