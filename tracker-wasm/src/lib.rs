//! The Beacon browser tracker.
//!
//! `loader/beacon.js` (the one script tag a site owner pastes) loads this crate compiled to wasm
//! and starts it with the snippet's `data-site` and `data-hash`. For each page view (on load and on
//! single-page-app navigation) and custom event, the loader hands the wasm the page's state as
//! plain strings and numbers, and the wasm decides whether it is an event, fits the values to
//! the field rules and returns it serialized as a `beacon_event::ClientEvent`: the struct
//! ingestion validates, so the wire format is defined once. The loader batches those JSON
//! strings, keeps undelivered ones in `localStorage` and posts them to `POST /event` (see
//! README.md for the snippet, its options and the split between the two).
//!
//! The logic lives in plain modules that build and are unit tested on the host; only `web`
//! is the wasm's boundary, compiled for `wasm32` alone. Nothing here may panic into the page:
//! browser values that do not fit leave a field out (or drop the event), never trap.
//!
//! In the browser (wasm32) the crate is `no_std` + `alloc`: std's panic machinery formats its
//! message (linking `core::fmt`, several KB) even with `panic = "abort"`, while `web` installs a
//! panic handler that only traps, so every panic message and the formatting code drop out of the
//! wasm. On the host it is an ordinary std crate, for the tests.

#![cfg_attr(target_arch = "wasm32", no_std)]

extern crate alloc;

pub mod event;
pub mod heap;
pub mod props;
pub mod route;
pub mod tracker;

#[cfg(target_arch = "wasm32")]
pub mod web;
