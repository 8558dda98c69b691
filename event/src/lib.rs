//! The Beacon wire format, defined once.
//!
//! Three programs agree on what an event is: the browser tracker that builds it, the ingestion
//! service that validates it, and the worker that stores it. They all use this crate, so a field's
//! name, its limits and the message a client sees when it breaks one live in exactly one place.
//! The crate has no async runtime or I/O so it also compiles to `wasm32-unknown-unknown`.

pub mod client;
pub mod error;
pub mod event;
pub mod fields;
mod json;

pub use client::{ClientEvent, TimeWindow};
pub use error::EventError;
pub use event::Event;
pub use fields::{Day, EventType, PagePath, Props, Referrer, SiteId, UserId, VisitorId};
/// Appends an unsigned integer in decimal without `core::fmt` (the wasm tracker uses it too).
pub use json::uint as push_decimal;
