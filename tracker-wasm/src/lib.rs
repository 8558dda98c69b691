//! The Beacon browser tracker.
//!
//! For now this crate only proves the shared wire model builds for the browser target: the
//! tracker serializes `beacon_event::ClientEvent`, the very type ingestion validates against.
//! Batching, delivery (`sendBeacon`/`fetch`) and the loader arrive with the tracker issue.

use beacon_event::ClientEvent;

/// Serializes a batch the way `POST /event` expects it: a JSON array of events.
pub fn encode_batch(events: &[ClientEvent]) -> String {
    serde_json::to_string(events).unwrap_or_else(|_| "[]".to_owned())
}
