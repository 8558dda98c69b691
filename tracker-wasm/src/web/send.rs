//! The `fetch` fallback: a `keepalive` POST (so it survives the page being closed) whose answer
//! is awaited, unlike `sendBeacon`'s, so the outbox knows what was really delivered.
//!
//! Its answer arrives through two promise callbacks (the shared hook dispatcher, see
//! [`super::listen`]): no async runtime is needed in the wasm.

use wasm_bindgen::prelude::*;

use super::js::{self, any};
use super::listen::{hook, Hook};
use crate::retry::Outcome;

/// A network error (or a CORS refusal): retry later.
pub const FAILED: Outcome = Outcome::Retry { after_ms: None };

/// Starts the POST; the outcome reaches [`crate::tracker::Tracker::fetch_done`] through the
/// [`Hook::FetchAnswered`] and [`Hook::FetchFailed`] hooks. False if `fetch` threw (a malformed
/// endpoint, which no retry can fix).
pub fn post(url: &str, body: &str) -> bool {
    let init = js::new_object();
    js::set(&init, "method", &JsValue::from_str("POST"));
    // A string body gets `Content-Type: text/plain;charset=UTF-8`: no CORS preflight.
    js::set(&init, "body", &JsValue::from_str(body));
    js::set(&init, "mode", &JsValue::from_str("cors"));
    js::set(&init, "keepalive", &JsValue::TRUE);
    js::fetch(url, &init)
        .and_then(|promise| promise.then(&hook(Hook::FetchAnswered), &hook(Hook::FetchFailed)))
        .is_ok()
}

/// Classifies a `Response`.
pub fn answer(response: &JsValue) -> Outcome {
    let status = js::get(response, "status").as_f64().unwrap_or(0.0) as u16;
    let retry_after = any(&js::get(response, "headers"))
        .get_header("retry-after")
        .ok()
        .flatten();
    Outcome::of_status(status, retry_after.as_deref())
}
