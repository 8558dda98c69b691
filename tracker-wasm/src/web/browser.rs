//! Reading the page and the visitor through web-sys: what an event records and what the
//! opt-outs look at. A value the browser does not give is left empty.

use js_sys::{Function, Reflect};
use wasm_bindgen::prelude::*;
use web_sys::Window;

use crate::options::{Visitor, IGNORE_KEY};
use crate::route::Location;
use crate::tracker::{self, Page};

use super::storage;

/// The page's `window`. The loader is a page script, so the global object is always one: no
/// `instanceof` check (an import and its glue) is needed to know it.
pub fn window() -> Option<Window> {
    Some(js_sys::global().unchecked_into())
}

/// `window.document`, read like any property (no import of its own).
pub fn document(window: &Window) -> JsValue {
    get(window, "document")
}

/// `Date.now()`.
pub fn now_ms() -> u64 {
    js_sys::Date::now() as u64
}

/// `Math.random()`, for the backoff's jitter.
pub fn random() -> f64 {
    js_sys::Math::random()
}

/// `location`'s path, query and fragment.
pub fn location() -> Location {
    // Read like any property: the tracker only reads its strings.
    let location = window().map(|w| get(&w, "location"));
    let part = |name| location.as_ref().map(|l| text(l, name)).unwrap_or_default();
    Location {
        pathname: part("pathname"),
        search: part("search"),
        hash: part("hash"),
    }
}

/// What the page knows at the moment of an event.
pub fn page() -> Page {
    let window = window();
    let referrer = window.as_ref().map(document);
    let screen_width = window
        .as_ref()
        .and_then(|w| get(&get(w, "screen"), "width").as_f64())
        .unwrap_or(f64::NAN);
    Page {
        location: location(),
        referrer: referrer.map(|d| text(&d, "referrer")).unwrap_or_default(),
        screen_width,
        now_ms: js_sys::Date::now(),
        eid: tracker::eid(random_bytes()),
    }
}

/// 16 bytes from `crypto.getRandomValues`; zeros when it is missing or throws.
fn random_bytes() -> [u8; 16] {
    let mut bytes = [0u8; 16];
    if let Some(window) = window() {
        // Read like any property (no import of its own); a missing one fails the call below.
        let crypto: web_sys::Crypto = get(&window, "crypto").unchecked_into();
        if crypto.get_random_values_with_u8_array(&mut bytes).is_err() {
            bytes = [0; 16];
        }
    }
    bytes
}

/// JavaScript's `String(n)`, for property numbers with a fraction: the wasm needs no float
/// printer of its own.
pub fn float_text(n: f64) -> String {
    js_sys::Number::from(n)
        .to_string_with_radix(10)
        .ok()
        .and_then(|text| text.as_string())
        .unwrap_or_default()
}

/// `object[key]`, or `undefined`.
pub fn get(object: &JsValue, key: &str) -> JsValue {
    Reflect::get(object, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

/// `object[key] = value`, ignoring a refusal (a frozen object): one call site for every
/// property the tracker sets.
pub fn set(object: &JsValue, key: &str, value: &JsValue) {
    let _ = Reflect::set(object, &JsValue::from_str(key), value);
}

/// `object[key]` as a string (`location.pathname`, `a.href`...), empty when it is not one. One
/// import for every string the tracker reads, where web-sys has one per property and type
/// (docs/benchmarks.md, "Tracker size").
pub fn text(object: &JsValue, key: &str) -> String {
    get(object, key).as_string().unwrap_or_default()
}

/// What the opt-outs look at.
pub fn visitor() -> Visitor {
    let Some(window) = window() else {
        return Visitor::default();
    };
    let navigator = get(&window, "navigator");
    let location = get(&window, "location");
    Visitor {
        hostname: text(&location, "hostname"),
        protocol: text(&location, "protocol"),
        do_not_track: [
            get(&navigator, "doNotTrack").as_string(),
            get(&window, "doNotTrack").as_string(),
        ],
        global_privacy_control: get(&navigator, "globalPrivacyControl").is_truthy(),
        webdriver: get(&navigator, "webdriver").is_truthy(),
        ignored: ignored(),
    }
}

/// Whether the self-exclusion switch is on in this browser.
fn ignored() -> bool {
    storage::read(IGNORE_KEY).is_ok_and(|v| v.as_deref() == Some("true"))
}

/// Turns the self-exclusion switch on or off (a `#beacon-ignore=on|off` link).
pub fn set_ignored(on: bool) {
    let _ = storage::write(IGNORE_KEY, if on { "true" } else { "" });
}

/// `f` as a JavaScript function, for the page's whole life (hooks and timers: a plain `fn`,
/// so they all share one closure type and its one glue shim).
pub fn callback(f: fn()) -> Function {
    Closure::<dyn FnMut()>::new(f)
        .into_js_value()
        .unchecked_into()
}
