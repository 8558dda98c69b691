//! The Beacon wire format, defined once.
//!
//! Three programs agree on what an event is: the browser tracker that builds it, the ingestion
//! service that validates it, and the worker that stores it. They all use this crate, so a field's
//! name, its limits and the message a client sees when it breaks one live in exactly one place.
//! The crate has no async runtime or I/O so it also compiles to `wasm32-unknown-unknown`.
//!
//! The `std` feature (default) is what the services use: serde, [`ClientEvent::from_json`],
//! [`Event`], [`Day`]. The browser tracker turns it off: the crate is then `no_std` + `alloc`,
//! with the field rules, [`ClientEvent`] and [`ClientEvent::write_json`] and nothing that would
//! pull serde, `time`'s formatter or std's panic and formatting code into the wasm.

#![forbid(unsafe_code)]
#![cfg_attr(not(any(feature = "std", test)), no_std)]

extern crate alloc;

pub mod client;
pub mod error;
// `Event` (the Kafka record and stored document) is the services' alone: serde throughout.
#[cfg(feature = "std")]
pub mod event;
pub mod fields;
mod json;
pub mod limits;
pub mod revenue;

pub use client::ClientEvent;
#[cfg(feature = "std")]
pub use client::TimeWindow;
pub use error::EventError;
#[cfg(feature = "std")]
pub use event::Event;
#[cfg(feature = "std")]
pub use fields::Day;
pub use fields::{EventType, PagePath, PropValue, Props, Referrer, SiteId, UserId, VisitorId};
/// Appends an unsigned integer in decimal without `core::fmt` (the wasm tracker uses it too).
pub use json::uint as push_decimal;
pub use revenue::Revenue;
