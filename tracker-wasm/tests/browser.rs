//! The tracker in headless Chromium (wasm-bindgen-test, run by `scripts/test`): delivery with
//! the real `localStorage`, `fetch` (gloo-net) and `sendBeacon`, and the runtime's hooks on a
//! real page. The pure decisions have host unit tests; the whole pipeline is tested end to end
//! in e2e/.

#![cfg(target_arch = "wasm32")]

use js_sys::{Array, Promise, Reflect};
use tracker_wasm::backoff::Outcome;
use tracker_wasm::delivery::Delivery;
use tracker_wasm::outbox;
use tracker_wasm::web::runtime;
use tracker_wasm::web::storage::{LocalStorage, OUTBOX_KEY};
use tracker_wasm::web::transport::{self, Endpoints};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// Nothing listens there: requests fail the way an unreachable endpoint fails.
const UNREACHABLE: &str = "http://127.0.0.1:9/event";

fn window() -> web_sys::Window {
    web_sys::window().unwrap()
}

fn storage() -> web_sys::Storage {
    window().local_storage().unwrap().unwrap()
}

fn stored() -> Vec<outbox::Line> {
    outbox::parse(&storage().get_item(OUTBOX_KEY).unwrap().unwrap_or_default())
}

fn event(n: u32) -> String {
    format!("{{\"eid\":\"00000000-0000-4000-8000-{n:012}\",\"n\":{n}}}")
}

async fn sleep(ms: i32) {
    let promise = Promise::new(&mut |resolve, _| {
        window()
            .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms)
            .unwrap();
    });
    JsFuture::from(promise).await.unwrap();
}

fn now() -> u64 {
    js_sys::Date::now() as u64
}

#[wasm_bindgen_test]
fn the_outbox_survives_in_local_storage_for_the_next_page() {
    storage().clear().unwrap();
    let mut page = Delivery::new(LocalStorage);
    for n in 0..3 {
        page.add(event(n), now());
    }
    page.flush(now());
    assert_eq!(stored().len(), 3);
    let mut next = Delivery::new(LocalStorage);
    let body = next.next_post(now()).unwrap();
    assert_eq!(body, format!("[{},{},{}]", event(0), event(1), event(2)));
    assert!(stored().iter().all(|l| l.sent), "sent until answered");
    next.answered(Outcome::Delivered, None, 0.5, now());
    assert_eq!(storage().get_item(OUTBOX_KEY).unwrap(), None);
}

#[wasm_bindgen_test]
fn beaconed_events_are_kept_as_sent_and_asked_about_by_the_next_page() {
    storage().clear().unwrap();
    let mut page = Delivery::new(LocalStorage);
    page.add(event(1), now());
    let refused = page.leave(now(), |body| transport::beacon(UNREACHABLE, body));
    assert!(
        !refused,
        "Chromium queues a beacon even to an unreachable host"
    );
    assert!(stored().iter().all(|l| l.sent));
    let mut next = Delivery::new(LocalStorage);
    assert_eq!(next.next_post(now()), None);
    let ask = next.receipts_request(now()).unwrap();
    assert_eq!(ask, "{\"eids\":[\"00000000-0000-4000-8000-000000000001\"]}");
    next.receipts_answered(None, now());
    assert!(next.next_post(now()).is_some(), "unconfirmed: posted again");
    storage().clear().unwrap();
}

#[wasm_bindgen_test]
fn a_full_storage_keeps_the_outbox_in_memory() {
    storage().clear().unwrap();
    // Fill the origin's quota with ever smaller blocks, down to 256 characters.
    let mut filled = 0;
    for size in [1 << 19, 1 << 14, 1 << 8] {
        let block = "x".repeat(size);
        while filled < 2_000 && storage().set_item(&format!("fill{filled}"), &block).is_ok() {
            filled += 1;
        }
    }
    let mut page = Delivery::new(LocalStorage);
    for n in 0..10 {
        page.add(
            event(n).replace("\"n\"", &format!("\"pad\":\"{}\",\"n\"", "y".repeat(4000))),
            now(),
        );
    }
    page.flush(now());
    let in_storage = storage().get_item(OUTBOX_KEY).unwrap();
    storage().clear().unwrap();
    assert!(in_storage.is_none(), "no partial copy is left in storage");
    assert_eq!(page.kept(now()).len(), 10, "kept in memory");
    assert!(page.next_post(now()).is_some());
}

#[wasm_bindgen_test]
async fn fetch_answers_and_failures_through_gloo_net() {
    assert!(transport::post(UNREACHABLE, "[]", true).await.is_none());
    let origin = window().location().origin().unwrap();
    let answer = transport::post(&format!("{origin}/no-such-endpoint"), "[]", true)
        .await
        .expect("the test server answers");
    assert_eq!(
        Outcome::of(Some(answer.status)),
        Outcome::Refused,
        "{}",
        answer.status
    );
}

#[wasm_bindgen_test]
fn endpoints_default_to_the_scripts_origin() {
    let e = Endpoints::new("", "https://stats.example/js/beacon.js").unwrap();
    assert_eq!(e.events, "https://stats.example/event?receipt=1");
    assert_eq!(e.receipts, "https://stats.example/event/receipts");
    let e = Endpoints::new("https://in.example/api/e?k=v", "https://stats.example/b.js").unwrap();
    assert_eq!(e.events, "https://in.example/api/e?k=v&receipt=1");
    assert_eq!(e.receipts, "https://in.example/api/e/receipts");
    let e = Endpoints::new("../in/", "https://stats.example/js/b.js").unwrap();
    assert_eq!(e.events, "https://stats.example/in/?receipt=1");
    assert_eq!(e.receipts, "https://stats.example/in/receipts");
    // A script without `src` (inline): the endpoint resolves against the page.
    let page = window().location().origin().unwrap();
    let e = Endpoints::new("/collect", "").unwrap();
    assert_eq!(e.events, format!("{page}/collect?receipt=1"));
    let e = Endpoints::new("https://in.example/e", "").unwrap();
    assert_eq!(e.events, "https://in.example/e?receipt=1");
    assert!(Endpoints::new("https://[bad", "https://stats.example/b.js").is_none());
    // The endpoint's own query is kept as written.
    let e = Endpoints::new("https://in.example/e?t=a%20b", "").unwrap();
    assert_eq!(e.events, "https://in.example/e?t=a%20b&receipt=1");
}

/// One test drives the page's one runtime: `start` runs once per page.
#[wasm_bindgen_test]
async fn the_runtime_counts_spa_navigation_and_link_clicks_and_replays_queued_calls() {
    storage().clear().unwrap();
    let document = window().document().unwrap();
    let script: web_sys::HtmlScriptElement = document
        .create_element("script")
        .unwrap()
        .dyn_into()
        .unwrap();
    for (name, value) in [
        ("data-site", "browser-test"),
        ("data-endpoint", UNREACHABLE),
        ("data-allow-localhost", ""),
        ("data-allow-bots", ""),
        ("data-outbound-links", ""),
        ("data-exclude", "/private/**"),
    ] {
        script.set_attribute(name, value).unwrap();
    }
    let stub = js_sys::Function::new_no_args("");
    // What the loader's stub queues: `arguments` objects (and an array, as a hand-written
    // stub may push).
    let arguments = js_sys::Function::new_no_args("return arguments")
        .call2(&JsValue::NULL, &"event".into(), &"early".into())
        .unwrap();
    let queued = Array::of2(
        &arguments,
        &Array::of3(&"event".into(), &"early-array".into(), &JsValue::NULL),
    );
    Reflect::set(&stub, &"q".into(), &queued).unwrap();
    tracker_wasm::web::start(script, stub.into());

    let beacon = Reflect::get(&window(), &"beacon".into()).unwrap();
    assert_eq!(
        Reflect::get(&beacon, &"tracking".into()).unwrap(),
        JsValue::TRUE
    );
    let history = window().history().unwrap();
    history
        .push_state_with_url(&JsValue::NULL, "", Some("/spa-a"))
        .unwrap();
    history
        .replace_state_with_url(&JsValue::NULL, "", Some("/spa-a?tab=2"))
        .unwrap();
    history
        .push_state_with_url(&JsValue::NULL, "", Some("/private/x"))
        .unwrap();
    assert!(
        history
            .push_state_with_url(&JsValue::NULL, "", Some("https://other.example/"))
            .is_err(),
        "the original's exception (another origin's URL) reaches the page through the wrapper"
    );
    history
        .push_state_with_url(&JsValue::NULL, "", Some("/spa-b"))
        .unwrap();
    click_outbound_link(&document);
    let call: js_sys::Function = beacon.dyn_into().unwrap();
    let props = js_sys::JSON::parse("{\"plan\":\"pro\",\"seats\":3,\"x\":null}").unwrap();
    call.call3(&JsValue::NULL, &"event".into(), &"signup".into(), &props)
        .unwrap();
    let bare =
        js_sys::Function::new_no_args("const o = Object.create(null); o.size = 'xl'; return o")
            .call0(&JsValue::NULL)
            .unwrap();
    call.call3(&JsValue::NULL, &"event".into(), &"bare".into(), &bare)
        .unwrap();
    sleep(50).await;
    runtime::leave();

    let events: Vec<serde_json::Value> = stored()
        .iter()
        .map(|l| serde_json::from_str(&l.json).unwrap())
        .collect();
    let names: Vec<(&str, &str)> = events
        .iter()
        .map(|e| {
            (
                e["event_type"].as_str().unwrap(),
                e["path"].as_str().unwrap(),
            )
        })
        .collect();
    for early in ["early", "early-array"] {
        assert!(
            names.iter().any(|(t, _)| *t == early),
            "queued calls replayed: {names:?}"
        );
    }
    let spa: Vec<&str> = names
        .iter()
        .filter(|(t, p)| *t == "page_view" && (p.starts_with("/spa") || p.starts_with("/private")))
        .map(|(_, p)| *p)
        .collect();
    assert_eq!(spa, ["/spa-a", "/spa-b"], "{names:?}");
    let outbound = events
        .iter()
        .find(|e| e["event_type"] == "Outbound Link: Click");
    assert_eq!(outbound.unwrap()["props"]["url"], "https://other.example/x");
    let signup = events.iter().find(|e| e["event_type"] == "signup").unwrap();
    assert_eq!(signup["props"], serde_json::json!({"plan":"pro","seats":3}));
    let bare = events.iter().find(|e| e["event_type"] == "bare").unwrap();
    assert_eq!(
        bare["props"],
        serde_json::json!({"size":"xl"}),
        "an object without a prototype has its properties read too"
    );
    // What the tracker read from the page, as the browser reports it.
    let width = window().screen().unwrap().width().unwrap();
    let referrer = document.referrer();
    for e in &events {
        assert_eq!(e["screen_width"], width, "{e}");
        assert_eq!(e["referrer"].as_str().unwrap_or_default(), referrer, "{e}");
    }
    assert!(
        stored().iter().all(|l| l.sent),
        "everything left with the beacon"
    );
}

fn click_outbound_link(document: &web_sys::Document) {
    let link = document.create_element("a").unwrap();
    link.set_attribute("href", "https://other.example/x")
        .unwrap();
    document.body().unwrap().append_child(&link).unwrap();
    // Keep the test page: the tracker's listener runs first (capture), then this one.
    let stay = Closure::<dyn FnMut(web_sys::Event)>::new(|e: web_sys::Event| e.prevent_default());
    link.add_event_listener_with_callback("click", stay.as_ref().unchecked_ref())
        .unwrap();
    stay.forget();
    link.dyn_into::<web_sys::HtmlElement>().unwrap().click();
}
