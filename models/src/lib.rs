//! Types shared by the Trellis server and the browser. No server-only dependency may enter
//! this crate: it is compiled to WebAssembly.

pub mod analytics;
pub mod currency;
pub mod text;
pub mod value;

pub use analytics::*;
pub use currency::*;
pub use value::*;

pub mod settings;
pub use settings::*;
pub mod portal;
pub use portal::*;
pub mod comms;
pub use comms::*;

pub mod access;
pub use access::*;
pub mod partners;
pub use partners::*;
pub mod money;
pub use money::*;
pub mod tracking;
pub use tracking::*;
pub mod programs;
pub use programs::*;
pub mod jobs;
pub use jobs::*;

pub mod page;
pub use page::Page;
