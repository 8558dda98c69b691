//! The page's one tracker: events in (navigation, `beacon()`, clicks), requests out.
//!
//! [`Runtime`] joins the decisions ([`Tracker`], [`Delivery`]) to the browser: it reads the
//! page for each event, runs the batch and retry timers and performs the requests
//! [`Delivery`] asks for, reporting their answers back. It lives in a thread-local, reached
//! with [`with`]: every callback borrows it briefly and never holds it across an `await`, and a
//! callback that finds it borrowed (re-entered) does nothing rather than panic.

use std::cell::RefCell;

use beacon_event::Revenue;
use js_sys::Function;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::spawn_local;

use crate::backoff::Outcome;
use crate::delivery::{Batch, Delivery, BATCH_MS};
use crate::options::{self, Options};
use crate::props::PropValue;
use crate::tracker::{Kind, Tracker};

use super::browser::{self, now_ms};
use super::storage::LocalStorage;
use super::transport::{self, Endpoints};
use super::{api, hooks};

/// How long after start the page asks for receipts of events an earlier page sent without a
/// seen answer: the earlier page's beacon may still be on its way.
const RECEIPTS_DELAY_MS: i32 = 1_000;

pub struct Runtime {
    pub tracker: Tracker,
    pub delivery: Delivery<LocalStorage>,
    pub endpoints: Endpoints,
    /// A batch timer is running.
    batching: bool,
    timers: Timers,
}

/// The timers' callbacks, each made once and handed to every `setTimeout` of its kind: no
/// closure is made, or has to be freed, per timer.
struct Timers {
    batch: Function,
    retry: Function,
    receipts: Function,
}

thread_local! {
    static RUNTIME: RefCell<Option<Runtime>> = const { RefCell::new(None) };
}

/// Runs `f` on the running tracker; `None` when there is none or it is busy (re-entered).
pub fn with<T>(f: impl FnOnce(&mut Runtime) -> T) -> Option<T> {
    RUNTIME.with(|cell| Some(f(cell.try_borrow_mut().ok()?.as_mut()?)))
}

/// Reads the options, applies the opt-outs and installs `window.beacon` (a no-op when the
/// page is not tracked), replaying the calls the page queued before.
pub fn start(script: &web_sys::HtmlScriptElement, stub: &JsValue) {
    if RUNTIME.with(|cell| cell.borrow().is_some()) {
        return;
    }
    apply_ignore_link();
    let options = Options::read(|name| script.get_attribute(name));
    let running = launch(options, &browser::text(script, "src"));
    api::install(stub, running);
}

/// Installs the hooks, counts the first page view and starts delivery (the outbox an earlier
/// page left included). False when this page is not tracked.
fn launch(options: Options, script_src: &str) -> bool {
    if options::opt_out(&options, &browser::visitor()).is_some() {
        return false;
    }
    let Some(endpoints) = Endpoints::new(&options.endpoint, script_src) else {
        return false;
    };
    let clicks = options.outbound_links || !options.downloads.is_empty();
    let not_found = options.not_found;
    let Some(tracker) = Tracker::new(options) else {
        return false;
    };
    // Set once per page and never dropped. The value it replaces is `None` (`start` checked),
    // so it is forgotten rather than dropped: the wasm needs no drop code for a `Runtime`.
    RUNTIME.with(|cell| {
        let runtime = Runtime {
            tracker,
            delivery: Delivery::new(LocalStorage),
            endpoints,
            batching: false,
            timers: Timers {
                batch: browser::callback(batch_due),
                retry: browser::callback(retry_due),
                receipts: browser::callback(check_receipts),
            },
        };
        core::mem::forget(cell.replace(Some(runtime)));
    });
    hooks::install(clicks);
    navigated();
    if not_found {
        let path = browser::location().pathname;
        track(
            Kind::Custom,
            "404",
            vec![("path".into(), PropValue::Str(path))],
            None,
        );
    }
    with(|rt| {
        after(RECEIPTS_DELAY_MS, &rt.timers.receipts);
        pump(rt);
    });
    true
}

/// `#beacon-ignore=on` / `=off` in the URL (a link from the dashboard) flips the switch.
fn apply_ignore_link() {
    match browser::location().hash.as_str() {
        options::IGNORE_ON => browser::set_ignored(true),
        options::IGNORE_OFF => browser::set_ignored(false),
        _ => {}
    }
}

/// The URL may have changed: a page view if the page did.
pub fn navigated() {
    track(Kind::Navigated, "", Vec::new(), None);
}

/// One event, if the tracker makes one of it, into the batch (`revenue`: a custom event's).
pub fn track(kind: Kind, name: &str, props: Vec<(String, PropValue)>, revenue: Option<Revenue>) {
    with(|rt| {
        for (key, value) in props {
            rt.tracker.prop(key, value);
        }
        rt.tracker.set_revenue(revenue);
        let page = browser::page();
        let Some(json) = rt.tracker.track(kind, name, &page, browser::float_text) else {
            return;
        };
        match rt.delivery.add(json, now_ms()) {
            Batch::Flush => flush(rt),
            Batch::StartTimer if !rt.batching => {
                rt.batching = true;
                after(BATCH_MS as i32, &rt.timers.batch);
            }
            Batch::StartTimer | Batch::Wait => {}
        }
    });
}

fn batch_due() {
    with(|rt| {
        rt.batching = false;
        flush(rt);
    });
}

fn retry_due() {
    with(|rt| {
        rt.delivery.retry_due();
        pump(rt);
    });
}

fn flush(rt: &mut Runtime) {
    rt.delivery.flush(now_ms());
    pump(rt);
}

/// Starts the next `fetch`, if delivery has one to make.
fn pump(rt: &mut Runtime) {
    if let Some(body) = rt.delivery.next_post(now_ms()) {
        send(Purpose::Events, rt.endpoints.events.clone(), body);
    }
}

/// Asks ingestion which events sent without a seen answer it already has.
pub fn check_receipts() {
    let request = with(|rt| {
        let body = rt.delivery.receipts_request(now_ms())?;
        Some((rt.endpoints.receipts.clone(), body))
    });
    if let Some((url, body)) = request.flatten() {
        send(Purpose::Receipts, url, body);
    }
}

/// What a `fetch` carries.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Purpose {
    /// A batch of events, with `keepalive` so it finishes after the page is gone.
    Events,
    /// A receipts question.
    Receipts,
}

/// One `fetch` and its answer handed back to delivery (one future type for both purposes).
fn send(purpose: Purpose, url: String, body: String) {
    spawn_local(async move {
        let answer = transport::post(&url, &body, purpose == Purpose::Events).await;
        let text = match &answer {
            Some(a) if purpose == Purpose::Receipts && a.status == 200 => a.text().await,
            _ => None,
        };
        with(|rt| match purpose {
            Purpose::Events => events_answered(rt, answer.as_ref()),
            Purpose::Receipts => {
                rt.delivery.receipts_answered(text.as_deref(), now_ms());
                pump(rt);
            }
        });
    });
}

fn events_answered(rt: &mut Runtime, answer: Option<&transport::Answer>) {
    let outcome = Outcome::of(answer.map(|a| a.status));
    let retry_after = answer.and_then(|a| a.retry_after.as_deref());
    let now = now_ms();
    match rt
        .delivery
        .answered(outcome, retry_after, browser::random(), now)
    {
        None => pump(rt),
        Some(delay) => after(delay as i32, &rt.timers.retry),
    }
}

/// The page is hidden or left: everything not yet delivered goes to `sendBeacon`, or to a
/// keepalive `fetch` when the browser refuses the beacon.
pub fn leave() {
    with(|rt| {
        let url = &rt.endpoints.events;
        if rt
            .delivery
            .leave(now_ms(), |body| transport::beacon(url, body))
        {
            pump(rt);
        }
    });
}

/// Calls `callback` once after `ms` (`setTimeout`).
fn after(ms: i32, callback: &Function) {
    if let Some(window) = browser::window() {
        let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(callback, ms);
    }
}
