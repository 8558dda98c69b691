//! The browser side, compiled for `wasm32` only: web-sys for the page, gloo-net for `fetch`.
//!
//! [`start`] is the one export the loader calls. Everything else is reached from the page's
//! hooks (history, `popstate`, `hashchange`, `visibilitychange`, `pagehide`, link clicks),
//! timers and `fetch` answers, and from `window.beacon`, each through [`runtime`], which owns
//! the page's one tracker. A browser call that fails is treated as a missing value; nothing is
//! thrown into the page.

mod api;
mod browser;
mod hooks;
pub mod runtime;
pub mod storage;
pub mod transport;

use lol_alloc::{FreeListAllocator, LockedAllocator};
use wasm_bindgen::prelude::*;

/// A small maintained allocator: Rust's default for wasm (dlmalloc) is several KB larger, and
/// the tracker allocates little (a few strings per event).
#[global_allocator]
static ALLOCATOR: LockedAllocator<FreeListAllocator> =
    LockedAllocator::new(FreeListAllocator::new());

/// Starts the tracker for the snippet's `<script>` element (its `data-*` options and its
/// `src`, next to which the default endpoint is). `stub` is the page's `window.beacon` queue
/// stub, whose queued calls are replayed. Runs once per page; a second call does nothing.
#[wasm_bindgen]
pub fn start(script: web_sys::HtmlScriptElement, stub: JsValue) {
    runtime::start(&script, &stub);
}
