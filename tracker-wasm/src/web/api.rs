//! `window.beacon`, the page's way in:
//!
//! ```js
//! beacon('event', 'signup', { plan: 'pro', seats: 3 });
//! beacon('event', 'purchase', { plan: 'pro' }, { revenue: { amount: 19.9, currency: 'EUR' } });
//! beacon('pageview');
//! ```
//!
//! The loader's stub queues calls made before the wasm ran (`beacon.q`); they are replayed here
//! in order, after the first page view.

use beacon_event::Revenue;
use js_sys::{Object, Reflect};
use wasm_bindgen::prelude::*;

use crate::props::PropValue;
use crate::tracker::{self, Kind};

use super::{browser, runtime};

/// Replaces the stub with the real function (which ignores every call when the page is not
/// tracked) and replays the queued calls. `beacon.ready` is the time from navigation start to
/// a running tracker (`performance.now()`), `beacon.tracking` whether this page is tracked.
pub fn install(stub: &JsValue, tracking: bool) {
    let Some(window) = browser::window() else {
        return;
    };
    let function = Closure::<dyn Fn(JsValue, JsValue, JsValue, JsValue)>::new(
        move |action: JsValue, name: JsValue, props: JsValue, options: JsValue| {
            if tracking {
                call(&[action, name, props, options]);
            }
        },
    );
    let beacon: &JsValue = function.as_ref();
    // Read like any property (no import of its own), then its one method.
    let performance = browser::get(&window, "performance");
    let ready = if performance.is_object() {
        performance.unchecked_into::<web_sys::Performance>().now()
    } else {
        0.0
    };
    browser::set(beacon, "ready", &ready.into());
    browser::set(beacon, "tracking", &tracking.into());
    // The loader's guard against a snippet pasted twice.
    browser::set(beacon, "loaded", &JsValue::TRUE);
    browser::set(&window, "beacon", beacon);
    function.forget();
    if !tracking {
        return;
    }
    // A list of `arguments` objects, read by index like the arguments themselves (anything
    // else has no length and replays nothing).
    let queued = browser::get(stub, "q");
    for i in 0..length(&queued) {
        let args = item(&queued, i);
        call(&[
            item(&args, 0),
            item(&args, 1),
            item(&args, 2),
            item(&args, 3),
        ]);
    }
}

/// `list.length`; 0 when it has none.
fn length(list: &JsValue) -> u32 {
    browser::get(list, "length").as_f64().unwrap_or(0.0) as u32
}

/// `list[index]`: arrays and `arguments` alike, through the one `Reflect.get` import.
fn item(list: &JsValue, index: u32) -> JsValue {
    Reflect::get(list, &index.into()).unwrap_or(JsValue::UNDEFINED)
}

/// One call: the action, then its arguments (`event`: name, props, options).
fn call([action, name, props, options]: &[JsValue; 4]) {
    match action.as_string().as_deref() {
        Some("pageview") => runtime::track(Kind::PageView, "", Vec::new(), None),
        Some("event") => {
            if let Some(name) = name.as_string() {
                let revenue = read_revenue(&browser::get(options, "revenue"));
                runtime::track(Kind::Custom, &name, read_props(props), revenue);
            }
        }
        _ => {}
    }
}

/// `{ amount, currency }`: the amount a number (written with six decimals, what the
/// revenue's exactness keeps) or a decimal string.
fn read_revenue(revenue: &JsValue) -> Option<Revenue> {
    let currency = browser::get(revenue, "currency").as_string()?;
    let amount = browser::get(revenue, "amount");
    let text = match amount.as_f64() {
        Some(n) => js_sys::Number::from(n).to_fixed(6).ok()?.as_string()?,
        None => amount.as_string()?,
    };
    tracker::revenue(&text, &currency)
}

/// An object's own enumerable entries, in order; anything else has none.
fn read_props(props: &JsValue) -> Vec<(String, PropValue)> {
    let mut out = Vec::new();
    // Any object (also one without a prototype, or from another frame), arrays included.
    if props.is_object() {
        let keys = Object::keys(props.unchecked_ref::<Object>());
        for key in (0..length(&keys)).map(|i| item(&keys, i)) {
            if let (Some(name), Ok(value)) = (key.as_string(), Reflect::get(props, &key)) {
                out.push((name, prop_value(&value)));
            }
        }
    }
    out
}

fn prop_value(value: &JsValue) -> PropValue {
    if let Some(text) = value.as_string() {
        PropValue::Str(text)
    } else if let Some(number) = value.as_f64() {
        PropValue::Num(number)
    } else if let Some(flag) = value.as_bool() {
        PropValue::Bool(flag)
    } else {
        PropValue::Other
    }
}
