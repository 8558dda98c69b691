//! The Beacon browser tracker, in Rust.
//!
//! `loader/beacon.js` (the one script tag a site owner pastes) only loads: it keeps the page's
//! early `beacon(...)` calls, fetches the wasm-bindgen glue and this crate's wasm in parallel and
//! hands both the `<script>` element to [`web::start`]. From there the wasm owns the tracker:
//! it reads the options and the page through web-sys, hooks single-page-app navigation, builds
//! each event as the `beacon_event::ClientEvent` ingestion validates, batches them, keeps the
//! `localStorage` outbox and delivers with gloo-net (`fetch` with `keepalive`) and
//! `navigator.sendBeacon` (see README.md).
//!
//! The decisions live in plain modules that build and are unit tested on the host (what is an
//! event, the options, the outbox, delivery, backoff, link clicks); `web` binds them to the
//! browser, is compiled for `wasm32` alone and is tested in headless Chromium. Nothing may throw
//! into the page: browser calls that fail leave a value out or skip a step.

#![forbid(unsafe_code)]

pub mod backoff;
pub mod delivery;
pub mod event;
pub mod links;
pub mod options;
pub mod outbox;
pub mod props;
pub mod route;
pub mod text;
pub mod tracker;

#[cfg(target_arch = "wasm32")]
pub mod web;
