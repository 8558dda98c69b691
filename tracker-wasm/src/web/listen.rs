//! Hooks into the page: single-page-app navigation (wrapped `history.pushState`/`replaceState`,
//! `popstate`, `hashchange` in hash mode), leaving (`visibilitychange` to hidden, `pagehide`: the
//! last moments a batch can still be handed to `sendBeacon`), timers and fetch callbacks.
//!
//! All of them are one Rust closure: each hook is that closure bound to a [`Hook`] number
//! (`dispatch.bind(null, hook)`). Every distinct closure costs generated code in the wasm and in
//! the JS glue; one shared dispatcher keeps that cost to a single closure.
//!
//! The history wrappers call the page's original method first and return (or rethrow) what it
//! did, so routers behave exactly as without the tracker.

use core::cell::OnceCell;

use wasm_bindgen::prelude::*;

use super::js::{self, any};
use super::send;
use super::{with_tracker, PageGlobal};

/// What a bound dispatcher function stands for.
#[derive(Clone, Copy)]
#[repr(u32)]
pub enum Hook {
    Navigated,
    Leaving,
    VisibilityChange,
    FlushTimer,
    RetryTimer,
    FetchAnswered,
    FetchFailed,
    PushState,
    ReplaceState,
}

const HOOKS: [Hook; 9] = [
    Hook::Navigated,
    Hook::Leaving,
    Hook::VisibilityChange,
    Hook::FlushTimer,
    Hook::RetryTimer,
    Hook::FetchAnswered,
    Hook::FetchFailed,
    Hook::PushState,
    Hook::ReplaceState,
];

struct Hooks {
    dispatch: JsValue,
    /// The page's own `history.pushState` and `replaceState`.
    originals: [JsValue; 2],
}

static HOOKS_CELL: PageGlobal<OnceCell<Hooks>> = PageGlobal(OnceCell::new());

/// The JS function for `hook`.
pub fn hook(hook: Hook) -> JsValue {
    let cell = &HOOKS_CELL.0;
    if cell.get().is_none() {
        // Not `get_or_init`: nothing here can re-enter, and its re-entrancy panic is code.
        let _ = cell.set(make_hooks());
    }
    match cell.get() {
        Some(hooks) => any(&hooks.dispatch).bind1(&JsValue::NULL, hook as u32),
        None => JsValue::UNDEFINED,
    }
}

fn make_hooks() -> Hooks {
    let history = js::global("history");
    // `Fn`, not `FnMut`: a page's own pushState wrapper may call replaceState (so this) again
    // from inside the original we call, and wasm-bindgen refuses re-entrant `FnMut` closures.
    let dispatch =
        Closure::<dyn Fn(u32, JsValue, JsValue, JsValue) -> Result<JsValue, JsValue>>::new(
            |code: u32, a: JsValue, b: JsValue, c: JsValue| {
                let hook = HOOKS.get(code as usize).copied();
                dispatch(hook, a, b, c)
            },
        );
    Hooks {
        dispatch: dispatch.into_js_value(),
        originals: [
            js::get(&history, "pushState"),
            js::get(&history, "replaceState"),
        ],
    }
}

fn dispatch(hook: Option<Hook>, a: JsValue, b: JsValue, c: JsValue) -> Result<JsValue, JsValue> {
    match hook {
        Some(Hook::Navigated) => with_tracker(|t| t.navigated()),
        Some(Hook::Leaving) => with_tracker(|t| t.leave()),
        Some(Hook::VisibilityChange) => {
            let state = js::string(&js::global("document"), "visibilityState");
            if state.as_deref() == Some("hidden") {
                with_tracker(|t| t.leave());
            }
        }
        Some(Hook::FlushTimer) => with_tracker(|t| t.flush_timer_fired()),
        Some(Hook::RetryTimer) => with_tracker(|t| t.retry_timer_fired()),
        Some(Hook::FetchAnswered) => {
            let outcome = send::answer(&a);
            with_tracker(|t| t.fetch_done(outcome));
        }
        Some(Hook::FetchFailed) => with_tracker(|t| t.fetch_done(send::FAILED)),
        Some(method @ (Hook::PushState | Hook::ReplaceState)) => {
            let index = (method as usize) - (Hook::PushState as usize);
            let original = HOOKS_CELL
                .0
                .get()
                .and_then(|h| h.originals.get(index))
                .cloned()
                .unwrap_or(JsValue::UNDEFINED);
            let result = any(&original).call3(&js::global("history"), &a, &b, &c)?;
            with_tracker(|t| t.navigated());
            return Ok(result);
        }
        None => {}
    }
    Ok(JsValue::UNDEFINED)
}

pub fn install(hash: bool) {
    let history = js::global("history");
    for (name, wrapper) in [
        ("pushState", Hook::PushState),
        ("replaceState", Hook::ReplaceState),
    ] {
        // Truthy rather than `is_function` (one import less): only a function is ever there.
        if js::get(&history, name).is_truthy() {
            js::set(&history, name, &hook(wrapper));
        }
    }
    let window = js::global("window");
    let window = any(&window);
    let navigated = hook(Hook::Navigated);
    let _ = window.add_event_listener("popstate", &navigated);
    if hash {
        let _ = window.add_event_listener("hashchange", &navigated);
    }
    let _ = window.add_event_listener("pagehide", &hook(Hook::Leaving));
    let _ = any(&js::global("document"))
        .add_event_listener("visibilitychange", &hook(Hook::VisibilityChange));
}
