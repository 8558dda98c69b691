//! The page's hooks: single-page-app navigation, the page being hidden or left, and link
//! clicks. Installed once; the closures live as long as the page (`forget`).

use js_sys::Function;
use wasm_bindgen::prelude::*;
use web_sys::EventTarget;

use crate::links::{self, Link};
use crate::props::PropValue;
use crate::tracker::Kind;

use super::browser;
use super::runtime::{self, with};

/// Installs every hook; link clicks only when a click option is on.
pub fn install(clicks: bool) {
    let Some(window) = browser::window() else {
        return;
    };
    wrap_history(&window);
    listen(&window, "popstate", runtime::navigated);
    listen(&window, "hashchange", runtime::navigated);
    listen(&window, "pagehide", runtime::leave);
    let document: EventTarget = browser::document(&window).unchecked_into();
    listen(&document, "visibilitychange", visibility_changed);
    if clicks {
        listen_clicks(&document);
    }
}

/// Hidden: deliver what is left. Visible again: ask about what was beaconed meanwhile.
fn visibility_changed() {
    let hidden = browser::window()
        .is_some_and(|w| browser::text(&browser::document(&w), "visibilityState") == "hidden");
    if hidden {
        runtime::leave();
    } else {
        runtime::check_receipts();
    }
}

/// A plain `fn` for every listener, so they share one closure type.
fn listen(target: &EventTarget, name: &str, f: fn()) {
    // The capture flag spelled out: one `addEventListener` import for every listener.
    let _ = target.add_event_listener_with_callback_and_bool(name, &browser::callback(f), false);
}

/// Wraps `history.pushState` and `replaceState`: the original runs first (any exception passes
/// through; both return `undefined`), then the tracker looks at the new URL. The wrapper has
/// the type of `window.beacon`'s closure, so the two share their glue.
fn wrap_history(window: &web_sys::Window) {
    // Only read and written as an object: no typed `History` (and its import) is needed.
    let history = browser::get(window, "history");
    for name in ["pushState", "replaceState"] {
        let Ok(original) = browser::get(&history, name).dyn_into::<Function>() else {
            continue;
        };
        let this = history.clone();
        let wrapped = Closure::<dyn Fn(JsValue, JsValue, JsValue, JsValue)>::new(
            move |state, unused, url, _: JsValue| {
                let result = original.call3(&this, &state, &unused, &url);
                runtime::navigated();
                if let Err(error) = result {
                    wasm_bindgen::throw_val(error);
                }
            },
        );
        browser::set(&history, name, wrapped.as_ref());
        wrapped.forget();
    }
}

/// Clicks (and middle clicks) on links, in the capture phase so a page handler that stops
/// the event does not hide it.
fn listen_clicks(document: &EventTarget) {
    // `FnMut(JsValue)`: the closure type js-sys's futures already use (one shared shim).
    let callback = Closure::<dyn FnMut(JsValue)>::new(|event: JsValue| {
        let middle = browser::get(&event, "button").as_f64() == Some(1.0);
        if browser::text(&event, "type") == "auxclick" && !middle {
            return;
        }
        if let Some(link) = clicked_link(&event) {
            link_clicked(&link);
        }
    });
    for name in ["click", "auxclick"] {
        let _ = document.add_event_listener_with_callback_and_bool(
            name,
            callback.as_ref().unchecked_ref(),
            true,
        );
    }
    callback.forget();
}

/// The link clicked, read like every string the tracker reads: a target that is not an
/// element has no `closest` (the call fails), and an SVG `<a>` has no string `href` or
/// `protocol`, so it is not a web link.
fn clicked_link(event: &JsValue) -> Option<Link> {
    let target: web_sys::Element = browser::get(event, "target").unchecked_into();
    let anchor = target.closest("a[href]").ok()??;
    let part = |name| browser::text(&anchor, name);
    Some(Link {
        href: part("href"),
        protocol: part("protocol"),
        host: part("host"),
        pathname: part("pathname"),
    })
}

fn link_clicked(link: &Link) {
    let page_host = browser::window()
        .map(|w| browser::text(&browser::get(&w, "location"), "host"))
        .unwrap_or_default();
    let name = with(|rt| links::click_event(rt.tracker.options(), link, &page_host)).flatten();
    if let Some(name) = name {
        let url = vec![("url".into(), PropValue::Str(link.href.clone()))];
        runtime::track(Kind::Custom, name, url, None);
    }
}
