//! The `trellis` server: configuration, the HTTP router, the CLI commands and the scheduler
//! runner. The binary in `main.rs` only parses arguments and calls in here, so integration
//! tests drive exactly what the binary runs.

pub mod cli;
pub mod config;
pub mod demo;
pub mod edge;
pub mod listener;
pub mod client_addr;
pub mod metrics;
pub mod rest;
pub mod text_guard;
pub mod web;

pub use config::Config;
