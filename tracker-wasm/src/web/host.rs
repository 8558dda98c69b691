//! [`Host`] for the browser: clock, location, `sendBeacon`, `localStorage` and timers, through
//! the fallible bindings of [`super::js`]. A missing API, disabled storage or a full quota reads
//! as "no value", never as an exception inside the tracker.

use alloc::string::String;

use uuid::Uuid;
use wasm_bindgen::JsValue;

use super::js::{self, any};
use super::listen::{hook, Hook};
use super::send;
use crate::outbox;
use crate::route::Location;
use crate::tracker::Host;

/// The browser, and the two timer callbacks (made once, kept for the page's lifetime).
pub struct Browser {
    flush_timer: JsValue,
    retry_timer: JsValue,
}

impl Browser {
    pub fn new() -> Self {
        Self {
            flush_timer: hook(Hook::FlushTimer),
            retry_timer: hook(Hook::RetryTimer),
        }
    }
}

/// `window.localStorage`: reading it throws where storage is disabled.
fn storage() -> Option<JsValue> {
    // Truthy: a `Storage` object, not `null`/`undefined` (`is_object` would be one more import).
    Some(js::global("localStorage")).filter(JsValue::is_truthy)
}

impl Host for Browser {
    fn now_ms(&self) -> f64 {
        js::now()
    }

    fn random(&self) -> f64 {
        js::random()
    }

    fn number_to_string(n: f64) -> String {
        js::number_to_string(n)
    }

    fn location(&self) -> Location {
        let location = js::global("location");
        let part = |key| js::string(&location, key).unwrap_or_default();
        Location {
            pathname: part("pathname"),
            search: part("search"),
            hash: part("hash"),
        }
    }

    fn referrer(&self) -> String {
        js::string(&js::global("document"), "referrer").unwrap_or_default()
    }

    fn screen_width(&self) -> Option<i32> {
        let width = js::get(&js::global("screen"), "width").as_f64()?;
        Some(width as i32)
    }

    fn new_eid(&self) -> Option<Uuid> {
        // The same CSPRNG as `crypto.randomUUID()`, which exists only on https pages and would
        // need a UUID parser in the wasm; `from_random_bytes` sets the version 4 bits.
        let mut bytes = [0u8; 16];
        js::get_random_values(&mut bytes).ok()?;
        Some(uuid::Builder::from_random_bytes(bytes).into_uuid())
    }

    fn send_beacon(&self, url: &str, body: &str) -> bool {
        // A string body is sent as text/plain: a "simple" request, no CORS preflight.
        any(&js::global("navigator"))
            .send_beacon(url, body)
            .unwrap_or(false)
    }

    fn fetch(&self, url: &str, body: String) -> bool {
        send::post(url, &body)
    }

    fn load(&self) -> Option<String> {
        let text = any(&storage()?).get_item(outbox::KEY).ok()?;
        Some(text.unwrap_or_default())
    }

    fn save(&self, text: &str) -> bool {
        let Some(storage) = storage() else {
            return false;
        };
        let storage = any(&storage);
        let saved = !text.is_empty() && storage.set_item(outbox::KEY, text).is_ok();
        if !saved {
            // Empty, or full: then leave no stale copy behind for the next page.
            let _ = storage.remove_item(outbox::KEY);
        }
        saved || text.is_empty()
    }

    fn arm_flush_timer(&self, ms: u32) {
        js::set_timeout(&self.flush_timer, ms);
    }

    fn arm_retry_timer(&self, ms: u32) {
        js::set_timeout(&self.retry_timer, ms);
    }
}
