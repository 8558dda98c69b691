//! The few JavaScript entry points the tracker uses, bound by hand.
//!
//! Each web-sys method is one more import and one more wrapper in the generated JS glue, and
//! glue plus wasm must stay under 12 KB gzip. So properties are read through one `Reflect.get`
//! (`location.pathname`, `document.referrer`, `navigator.webdriver`, ...) and only calls get
//! bindings of their own. Everything that can throw (missing APIs, disabled storage, a full
//! quota, a page's monkey-patched `fetch`) is bound with `catch`: an exception becomes an `Err`
//! at the call site instead of unwinding through the tracker.
//!
//! Not web-sys: measured, binding just `Storage` (`getItem`/`setItem`/`removeItem`) and
//! `Navigator.sendBeacon` through web-sys (`default-features = false`, the same imports as
//! here) grew the wasm from 17,313 to 18,476 bytes gzip (41 more functions survive LTO), with
//! the JS glue unchanged (README.md, "Size notes").

use alloc::string::String;
use core::cell::OnceCell;

use wasm_bindgen::prelude::*;

use super::PageGlobal;

#[wasm_bindgen]
extern "C" {
    /// Any JS object; methods below are looked up by name on the object they are called on.
    pub type Any;

    #[wasm_bindgen(catch, js_namespace = Reflect, js_name = get)]
    fn reflect_get(target: &JsValue, key: &str) -> Result<JsValue, JsValue>;

    #[wasm_bindgen(catch, js_namespace = Reflect, js_name = set)]
    fn reflect_set(target: &JsValue, key: &str, value: &JsValue) -> Result<JsValue, JsValue>;

    /// `Object()`: a new empty object.
    #[wasm_bindgen(js_name = Object)]
    pub fn new_object() -> JsValue;

    /// `Object.keys(o)`, an array (read with [`item`]: a `Vec<JsValue>` result would cost more
    /// glue and wasm).
    #[wasm_bindgen(catch, js_namespace = Object, js_name = keys)]
    pub fn keys(object: &JsValue) -> Result<JsValue, JsValue>;

    /// `array[index]`.
    #[wasm_bindgen(catch, js_namespace = Reflect, js_name = get)]
    fn reflect_get_index(target: &JsValue, index: u32) -> Result<JsValue, JsValue>;

    /// `String(n)`: JavaScript's shortest round-trip number format, valid JSON for finite `n`.
    #[wasm_bindgen(js_name = String)]
    pub fn number_to_string(n: f64) -> String;

    #[wasm_bindgen(js_namespace = Date, js_name = now)]
    pub fn now() -> f64;

    #[wasm_bindgen(js_namespace = Math, js_name = random)]
    pub fn random() -> f64;

    /// `crypto.getRandomValues(bytes)`.
    #[wasm_bindgen(catch, js_namespace = crypto, js_name = getRandomValues)]
    pub fn get_random_values(bytes: &mut [u8]) -> Result<(), JsValue>;

    #[wasm_bindgen(js_name = setTimeout)]
    pub fn set_timeout(callback: &JsValue, ms: u32);

    /// `fetch(url, init)`, a promise of the response.
    #[wasm_bindgen(catch, js_name = fetch)]
    pub fn fetch(url: &str, init: &JsValue) -> Result<Any, JsValue>;

    /// `promise.then(ok, err)`.
    #[wasm_bindgen(catch, method, js_name = then)]
    pub fn then(this: &Any, ok: &JsValue, err: &JsValue) -> Result<(), JsValue>;

    /// `navigator.sendBeacon(url, body)`.
    #[wasm_bindgen(catch, method, js_name = sendBeacon)]
    pub fn send_beacon(this: &Any, url: &str, body: &str) -> Result<bool, JsValue>;

    /// `storage.getItem(key)`, or `headers.get(name)`.
    #[wasm_bindgen(catch, method, js_name = getItem)]
    pub fn get_item(this: &Any, key: &str) -> Result<Option<String>, JsValue>;

    #[wasm_bindgen(catch, method, js_name = get)]
    pub fn get_header(this: &Any, name: &str) -> Result<Option<String>, JsValue>;

    #[wasm_bindgen(catch, method, js_name = setItem)]
    pub fn set_item(this: &Any, key: &str, value: &str) -> Result<(), JsValue>;

    #[wasm_bindgen(catch, method, js_name = removeItem)]
    pub fn remove_item(this: &Any, key: &str) -> Result<(), JsValue>;

    #[wasm_bindgen(catch, method, js_name = addEventListener)]
    pub fn add_event_listener(this: &Any, kind: &str, listener: &JsValue) -> Result<(), JsValue>;

    /// `f.bind(this_arg, n)`.
    #[wasm_bindgen(method, js_name = bind)]
    pub fn bind1(this: &Any, this_arg: &JsValue, n: u32) -> JsValue;

    /// `f.call(this_arg, a, b, c)`.
    #[wasm_bindgen(catch, method, js_name = call)]
    pub fn call3(
        this: &Any,
        this_arg: &JsValue,
        a: &JsValue,
        b: &JsValue,
        c: &JsValue,
    ) -> Result<JsValue, JsValue>;
}

/// `target[key]`; `undefined` when `target` is not an object or the getter throws.
pub fn get(target: &JsValue, key: &str) -> JsValue {
    reflect_get(target, key).unwrap_or(JsValue::UNDEFINED)
}

/// `target[key] = value`; false when that throws.
pub fn set(target: &JsValue, key: &str, value: &JsValue) -> bool {
    reflect_set(target, key, value).is_ok_and(|done| done.is_truthy())
}

/// `globalThis`, handed over by the loader to `start` (a wasm-bindgen `static` import would add
/// lazy-initialization code and its panics).
static GLOBAL: PageGlobal<OnceCell<JsValue>> = PageGlobal(OnceCell::new());

/// Keeps the page's `globalThis` (the window) for [`global`].
pub fn set_global(global: JsValue) {
    let _ = GLOBAL.0.set(global);
}

/// `globalThis[key]`: `window`'s `location`, `document`, `navigator`, `history`, ...
pub fn global(key: &str) -> JsValue {
    match GLOBAL.0.get() {
        Some(global) => get(global, key),
        None => JsValue::UNDEFINED,
    }
}

/// `array[index]`; `undefined` when that throws.
pub fn item(array: &JsValue, index: u32) -> JsValue {
    reflect_get_index(array, index).unwrap_or(JsValue::UNDEFINED)
}

/// `target[key]` as a string, if it is one.
pub fn string(target: &JsValue, key: &str) -> Option<String> {
    get(target, key).as_string()
}

/// Views a value as an object to call methods on.
pub fn any(value: &JsValue) -> &Any {
    value.unchecked_ref()
}
