//! Types shared by the Trellis server and the browser. No server-only dependency may enter
//! this crate: it is compiled to WebAssembly.

pub mod analytics;
pub mod dto;
pub mod page;
pub mod value;
pub mod text;

pub use analytics::*;
pub use dto::*;
pub use value::*;

pub mod settings;
pub use settings::*;
pub mod portal;
pub use portal::*;
pub mod comms;
pub use comms::*;
