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
}

async fn send(
    sink: &Arc<RecordingSink>,
    body: Value,
    peer: &str,
) -> (StatusCode, Value, Option<String>) {
    let state = Arc::new(IngestState {
        sink: sink.clone(),
        visitors: VisitorIds::new(Some("unit"), None),
        trust_forwarded_for: false,
        enricher: Enricher::new(None).expect("the built-in rules load"),
        filter_bots: true,
        limits: super::limits::Limits::new(0, 0, 1),
        sites: crate::sites::SiteCache::disabled(),
    });
    let mut request = Request::post("/event")
        .header("content-type", "text/plain")
        .header("user-agent", "UnitTest/1")
        .body(Body::from(body.to_string()))
        .unwrap();
    let peer: SocketAddr = peer.parse().unwrap();
    request.extensions_mut().insert(ConnectInfo(peer));
    let response = router(state).oneshot(request).await.unwrap();
    let status = response.status();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap(), retry_after)
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
