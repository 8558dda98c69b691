//! The requests: `fetch` through gloo-net, `navigator.sendBeacon` through web-sys.
//!
//! Every body is a string, so the request is a `text/plain` CORS "simple request": no
//! preflight, and ingestion reads it as JSON all the same.

use wasm_bindgen::{JsCast, JsValue};
use web_sys::RequestInit;

use super::browser::{get, set, text};

/// Where the tracker posts: the endpoint asking for receipts (`?receipt=1`), and the
/// receipts endpoint next to it (`/event` → `/event/receipts`).
#[derive(Debug, Clone)]
pub struct Endpoints {
    pub events: String,
    pub receipts: String,
}

impl Endpoints {
    /// From `data-endpoint`, or the origin of `beacon.js` + `/event`; `None` when that is not
    /// a URL.
    pub fn new(endpoint: &str, script_src: &str) -> Option<Self> {
        // Resolved against the script (an absolute endpoint ignores it); a script without a
        // `src` (an inline test) resolves against the page.
        let page;
        let against = if script_src.is_empty() {
            let window = super::browser::window()?;
            page = text(&get(&window, "location"), "href");
            &page
        } else {
            script_src
        };
        let endpoint = if endpoint.is_empty() {
            "/event"
        } else {
            endpoint
        };
        let base = web_sys::Url::new_with_base(endpoint, against).ok()?;
        let mut path = text(&base, "pathname");
        // Without its trailing slashes (bytes: no `str` pattern code in the wasm).
        path.truncate(
            path.bytes()
                .rposition(|b| b != b'/')
                .map_or(0, |last| last + 1),
        );
        path.push_str("/receipts");
        // One URL object, read twice: the events' URL, then the receipts' next to it.
        // `receipt=1` added to the endpoint's own query, which is kept as written.
        let mut search = text(&base, "search");
        let join = if search.is_empty() { "?" } else { "&" };
        search.push_str(join);
        search.push_str("receipt=1");
        set(&base, "search", &search.into());
        let events = text(&base, "href");
        // Set through `Reflect.set` like the reads: no import of their own.
        set(&base, "search", &"".into());
        set(&base, "pathname", &path.into());
        Some(Self {
            events,
            receipts: text(&base, "href"),
        })
    }
}

/// What came back from a `fetch`: its status and `Retry-After`.
pub struct Answer {
    pub status: u16,
    pub retry_after: Option<String>,
    response: gloo_net::http::Response,
}

impl Answer {
    pub async fn text(&self) -> Option<String> {
        self.response.text().await.ok()
    }
}

/// `POST url` with `body`; `keepalive` lets it finish after the page is gone. `None` when no
/// answer came (network error, blocked, a bad URL).
pub async fn post(url: &str, body: &str, keepalive: bool) -> Option<Answer> {
    // The `RequestInit` dictionary, its fields set like any object's: web-sys has no setter
    // for `keepalive` (nor has gloo-net's builder), and one `Reflect.set` import serves all.
    // The mode stays the default, `cors`, for a request made from a URL.
    let init = RequestInit::new();
    set(&init, "method", &"POST".into());
    set(&init, "body", &body.into());
    if keepalive {
        set(&init, "keepalive", &JsValue::TRUE);
    }
    let request = web_sys::Request::new_with_str_and_init(url, &init).ok()?;
    let response = gloo_net::http::Request::from(request).send().await.ok()?;
    Some(Answer {
        status: response.status(),
        retry_after: response.headers().get("retry-after"),
        response,
    })
}

/// `navigator.sendBeacon(url, body)`: true when the browser queued it.
pub fn beacon(url: &str, body: &str) -> bool {
    super::browser::window()
        .and_then(|w| {
            let navigator: web_sys::Navigator = get(&w, "navigator").unchecked_into();
            navigator.send_beacon_with_opt_str(url, Some(body)).ok()
        })
        .unwrap_or(false)
}
