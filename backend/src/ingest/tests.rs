//! In-process tests of the ingestion router with a recording sink (no broker): what the HTTP
//! layer hands to Kafka, and how sink failures surface. Over-the-wire behaviour is covered in
//! `backend/tests/`.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use beacon_event::Event;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

use super::{router, IngestState, VisitorIds};
use crate::pipeline::{EventSink, SinkError};
use beacon_enrich::Enricher;

#[derive(Default)]
struct RecordingSink {
    events: Mutex<Vec<Event>>,
    fail: bool,
}

impl EventSink for Arc<RecordingSink> {
    async fn publish(&self, events: &[Event]) -> Result<(), SinkError> {
        if self.fail {
            return Err(SinkError::Timeout);
        }
        self.events.lock().unwrap().extend_from_slice(events);
        Ok(())
    }

    async fn is_ready(&self) -> bool {
        !self.fail
    }

    async fn flush(&self, _timeout: std::time::Duration) {}
}

type State = Arc<IngestState<Arc<RecordingSink>>>;

/// Ingestion over `sink`, with rate limits `limits`.
fn state_with(sink: &Arc<RecordingSink>, limits: super::limits::Limits) -> State {
    Arc::new(IngestState {
        sink: sink.clone(),
        visitors: VisitorIds::new(Some("unit"), None),
        trust_forwarded_for: false,
        enricher: Enricher::new(None).expect("the built-in rules load"),
        filter_bots: true,
        limits,
        sites: crate::sites::SiteCache::disabled(),
        receipts: super::Receipts::default(),
    })
}

/// Ingestion over `sink` without rate limits.
fn state(sink: &Arc<RecordingSink>) -> State {
    state_with(sink, super::limits::Limits::new(0, 0, 1))
}

/// POSTs `body` to `path` as `text/plain` (what the tracker sends) from `peer`.
async fn call(
    state: &State,
    path: &str,
    body: impl Into<Body>,
    peer: &str,
) -> (StatusCode, Value, Option<String>) {
    let mut request = Request::post(path)
        .header("content-type", "text/plain")
        .header("user-agent", "UnitTest/1")
        .body(body.into())
        .unwrap();
    let peer: SocketAddr = peer.parse().unwrap();
    request.extensions_mut().insert(ConnectInfo(peer));
    let response = router(state.clone()).oneshot(request).await.unwrap();
    let status = response.status();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap(), retry_after)
}

async fn send(
    sink: &Arc<RecordingSink>,
    body: Value,
    peer: &str,
) -> (StatusCode, Value, Option<String>) {
    call(&state(sink), "/event", body.to_string(), peer).await
}

#[tokio::test]
async fn publishes_completed_events_without_the_raw_ip() {
    let sink = Arc::new(RecordingSink::default());
    let batch = json!([
        {"site_id":"s","event_type":"page_view","path":"/a"},
        {"site_id":"s","event_type":"page_view","path":"/b","user_id":"known"}
    ]);
    let (status, body, _) = send(&sink, batch, "198.51.100.77:4444").await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(body, json!({"accepted": 2, "rejected": []}));
    let events = sink.events.lock().unwrap().clone();
    assert_eq!(events.len(), 2);
    assert_eq!(
        events[0].visitor_id.as_str().len(),
        32,
        "anonymous id derived"
    );
    assert_eq!(
        events[1].visitor_id.as_str(),
        "known",
        "user_id is the visitor"
    );
    assert_ne!(events[0].eid, events[1].eid, "each event gets its own eid");
    let wire = serde_json::to_string(&events).unwrap();
    assert!(
        !wire.contains("198.51.100.77") && !wire.contains("UnitTest"),
        "{wire}"
    );
}

#[tokio::test]
async fn sink_failure_is_503_with_retry_after() {
    let sink = Arc::new(RecordingSink {
        fail: true,
        ..Default::default()
    });
    let event = json!({"site_id":"s","event_type":"page_view","path":"/a"});
    let (status, body, retry_after) = send(&sink, event, "127.0.0.1:1").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(retry_after.as_deref(), Some("5"));
    assert!(body["error"].is_string());
}

#[tokio::test]
async fn invalid_single_event_is_never_published() {
    let sink = Arc::new(RecordingSink::default());
    let (status, body, _) = send(&sink, json!({"site_id":"s","path":"/a"}), "127.0.0.1:1").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["field"], "event_type");
    assert!(sink.events.lock().unwrap().is_empty());
}

/// A page view with client eid `n` (a fixed UUID per `n`).
fn viewed(n: u128) -> Value {
    json!({"site_id":"s","event_type":"page_view","path":"/a","eid":eid(n)})
}

fn eid(n: u128) -> String {
    uuid::Uuid::from_u128(0x0192f0e4_7b1a_7cc3_8d3e_000000000000 + n).to_string()
}

/// `POST /event/receipts` for client eids `ns`: the answer's status and body.
async fn receipts(state: &State, ns: &[u128]) -> (StatusCode, Value) {
    let asked = json!({ "eids": ns.iter().map(|n| eid(*n)).collect::<Vec<_>>() });
    let (status, body, _) = call(state, "/event/receipts", asked.to_string(), "127.0.0.1:1").await;
    (status, body)
}

fn received(ns: &[u128]) -> Value {
    json!({ "received": ns.iter().map(|n| eid(*n)).collect::<Vec<_>>() })
}

#[tokio::test]
async fn events_posted_with_receipt_are_answered_in_the_order_asked() {
    let sink = Arc::new(RecordingSink::default());
    let state = state(&sink);
    let batch = json!([viewed(1), viewed(2), viewed(3)]).to_string();
    let (status, _, _) = call(&state, "/event?receipt=1&v=2", batch, "127.0.0.1:1").await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let single = viewed(4).to_string();
    let (status, body, _) = call(&state, "/event?receipt=true", single, "127.0.0.1:1").await;
    assert_eq!(
        (status, body),
        (StatusCode::ACCEPTED, json!({"accepted": 1}))
    );
    // Unknown eids are left out, repeated ones answered once.
    let answer = receipts(&state, &[4, 9, 2, 2, 1]).await;
    assert_eq!(answer, (StatusCode::OK, received(&[4, 2, 1])));
    assert_eq!(receipts(&state, &[]).await, (StatusCode::OK, received(&[])));
}

#[tokio::test]
async fn events_posted_without_receipt_are_not_remembered() {
    let sink = Arc::new(RecordingSink::default());
    let state = state(&sink);
    for path in ["/event", "/event?receipt=0&utm=x", "/event?receipts=1"] {
        let (status, _, _) = call(&state, path, viewed(1).to_string(), "127.0.0.1:1").await;
        assert_eq!(status, StatusCode::ACCEPTED, "{path}");
    }
    assert_eq!(sink.events.lock().unwrap().len(), 3);
    assert_eq!(
        receipts(&state, &[1]).await,
        (StatusCode::OK, received(&[]))
    );
}

#[tokio::test]
async fn only_the_accepted_events_of_a_batch_with_their_own_eids_are_receipted() {
    let sink = Arc::new(RecordingSink::default());
    let state = state(&sink);
    let mut invalid = viewed(2);
    invalid["path"] = json!("no-slash");
    let mut bad_eid = viewed(3);
    bad_eid["eid"] = json!("not-a-uuid");
    let no_eid = json!({"site_id":"s","event_type":"page_view","path":"/a"});
    let batch = json!([viewed(1), invalid, bad_eid, no_eid]).to_string();
    let (status, body, _) = call(&state, "/event?receipt=1", batch, "127.0.0.1:1").await;
    assert_eq!(
        (status, &body["accepted"]),
        (StatusCode::ACCEPTED, &json!(2))
    );
    assert_eq!(
        receipts(&state, &[1, 2, 3]).await,
        (StatusCode::OK, received(&[1]))
    );
    // The eid assigned to the event without one is not remembered either.
    let assigned = sink.events.lock().unwrap()[1].eid.to_string();
    let asked = json!({ "eids": [assigned] }).to_string();
    let (_, body, _) = call(&state, "/event/receipts", asked, "127.0.0.1:1").await;
    assert_eq!(body, json!({"received": []}));
    // An invalid single event is answered 400 and not receipted.
    let (status, _, _) = call(&state, "/event?receipt=1", r#"{"eid":"x"}"#, "127.0.0.1:1").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn nothing_is_receipted_when_kafka_or_a_rate_limit_refuses() {
    let sink = Arc::new(RecordingSink {
        fail: true,
        ..Default::default()
    });
    let state = state(&sink);
    let batch = json!([viewed(1), viewed(2)]).to_string();
    let (status, _, _) = call(&state, "/event?receipt=1", batch, "127.0.0.1:1").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        receipts(&state, &[1, 2]).await,
        (StatusCode::OK, received(&[]))
    );

    // A site over its rate limit (one event a second, bursts of one).
    let sink = Arc::new(RecordingSink::default());
    let state = state_with(&sink, super::limits::Limits::new(0, 1, 1));
    let batch = json!([viewed(1), viewed(2)]).to_string();
    let (status, _, _) = call(&state, "/event?receipt=1", batch, "127.0.0.1:1").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        receipts(&state, &[1, 2]).await,
        (StatusCode::OK, received(&[]))
    );
}

#[tokio::test]
async fn bad_receipt_lookups_are_4xx_naming_the_field() {
    let state = state(&Arc::new(RecordingSink::default()));
    let many = json!({ "eids": vec![eid(1); 201] }).to_string();
    let cases = [
        (
            r#"{"ids":[]}"#.to_owned(),
            "must be a JSON object with an `eids` array",
        ),
        (
            r#"{"eids":"x"}"#.to_owned(),
            "must be a JSON object with an `eids` array",
        ),
        (
            format!(r#"{{"eids":["{}",7]}}"#, eid(1)),
            "`eids[1]` must be a UUID",
        ),
        (
            r#"{"eids":["nope"]}"#.to_owned(),
            "`eids[0]` must be a UUID",
        ),
        (many, "`eids` has 201 entries; at most 200"),
    ];
    for (body, error) in cases {
        let (status, answer, _) =
            call(&state, "/event/receipts", body.clone(), "127.0.0.1:1").await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(answer["field"], "eids", "{body}");
        assert!(
            answer["error"].as_str().unwrap().contains(error),
            "{answer}"
        );
    }
    let (status, answer, _) = call(&state, "/event/receipts", "{", "127.0.0.1:1").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(answer["error"]
        .as_str()
        .unwrap()
        .starts_with("body is not valid JSON"));
}

#[tokio::test]
async fn receipt_lookups_are_charged_to_the_client_ip_and_open_to_any_origin() {
    // One lookup a second, bursts of one: the second at once is refused.
    let state = state_with(
        &Arc::new(RecordingSink::default()),
        super::limits::Limits::new(1, 0, 1),
    );
    assert_eq!(receipts(&state, &[1]).await.0, StatusCode::OK);
    let (status, _, retry_after) = call(&state, "/event/receipts", "{}", "127.0.0.1:1").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(retry_after.is_some());

    let preflight = Request::options("/event/receipts")
        .header("origin", "https://shop.example")
        .header("access-control-request-method", "POST")
        .body(Body::empty())
        .unwrap();
    let response = router(state).oneshot(preflight).await.unwrap();
    assert!(response.status().is_success());
    assert_eq!(response.headers()["access-control-allow-origin"], "*");
}

#[tokio::test]
async fn receipt_lookups_take_json_or_text_and_nothing_else() {
    let state = state(&Arc::new(RecordingSink::default()));
    for (content_type, status) in [
        ("application/json", StatusCode::OK),
        ("text/plain;charset=UTF-8", StatusCode::OK),
        (
            "application/x-www-form-urlencoded",
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
    ] {
        let request = Request::post("/event/receipts")
            .header("content-type", content_type)
            .body(Body::from(r#"{"eids":[]}"#))
            .unwrap();
        let response = router(state.clone()).oneshot(request).await.unwrap();
        assert_eq!(response.status(), status, "{content_type}");
    }
}
