//! Server functions, one business area a file: guard → service call → DTO. Each has a stable
//! endpoint under `/api/` so tests and the authorization matrix can call it by name (moving a
//! function between files does not change its endpoint).

pub mod access;
pub mod analytics;
pub mod comms;
pub mod money;
pub mod partners;
pub mod portal;
pub mod programs;
pub mod tracking;
