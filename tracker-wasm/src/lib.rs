//! The Beacon browser tracker.
//!
//! `loader/beacon.js` (the one script tag a site owner pastes) loads this crate compiled to wasm
//! and calls `start` with the snippet's `data-*` attributes. The tracker then counts
//! page views (on load and on single-page-app navigation) and custom events, and posts them in
//! batches to `POST /event` as serialized `beacon_event::ClientEvent`s: the struct ingestion
//! validates, so the wire format is defined once. See README.md for the snippet and its options.
//!
//! The logic lives in plain modules that build and are unit tested on the host; only `web`
//! touches the browser, and it is compiled for `wasm32` alone. Nothing here may panic into the
//! page: every browser call that can fail is a `Result`, and a failure drops a page view or a
//! retry, never the host page.
//!
//! In the browser (wasm32) the crate is `no_std` + `alloc`: std's panic machinery formats its
//! message (linking `core::fmt`, several KB) even with `panic = "abort"`, while `web` installs a
//! panic handler that only traps, so every panic message and the formatting code drop out of the
//! wasm. On the host it is an ordinary std crate, for the tests.

#![cfg_attr(target_arch = "wasm32", no_std)]

extern crate alloc;

pub mod batch;
pub mod config;
pub mod event;
pub mod heap;
pub mod json;
pub mod outbox;
pub mod props;
pub mod retry;
pub mod route;
pub mod tracker;

#[cfg(target_arch = "wasm32")]
pub mod web;
