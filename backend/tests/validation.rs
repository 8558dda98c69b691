//! Bad input over the wire: every rule is a 4xx with a JSON error naming the field, never a 5xx.

mod support;

use reqwest::StatusCode;
use serde_json::{json, Value};
use support::TestSystem;

fn valid() -> Value {
    json!({"site_id":"site123","event_type":"page_view","path":"/home"})
}

fn with(field: &str, value: Value) -> Value {
    let mut event = valid();
    event[field] = value;
    event
}

fn without(field: &str) -> Value {
    let mut event = valid();
    event.as_object_mut().unwrap().remove(field);
    event
}

#[tokio::test]
async fn every_validation_rule_is_a_400_naming_the_field() {
    let system = TestSystem::start_with(&[], false).await;
    let future = (time::OffsetDateTime::now_utc() + time::Duration::minutes(10))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let old = (time::OffsetDateTime::now_utc() - time::Duration::days(31))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let cases = [
        (without("site_id"), "site_id"),
        (with("site_id", json!("")), "site_id"),
        (with("site_id", json!("a b")), "site_id"),
        (with("site_id", json!("x".repeat(129))), "site_id"),
        (with("site_id", json!({"$ne": 1})), "site_id"),
        (without("event_type"), "event_type"),
        (with("event_type", json!("e".repeat(65))), "event_type"),
        (with("event_type", json!(7)), "event_type"),
        (without("path"), "path"),
        (with("path", json!("home")), "path"),
        (
            with("path", json!(format!("/{}", "a".repeat(2048)))),
            "path",
        ),
        (with("user_id", json!("u".repeat(257))), "user_id"),
        (with("user_id", json!(42)), "user_id"),
        (with("timestamp", json!("yesterday")), "timestamp"),
        (with("timestamp", json!(future)), "timestamp"),
        (with("timestamp", json!(old)), "timestamp"),
        (with("eid", json!("not-a-uuid")), "eid"),
        (with("referrer", json!("not a url")), "referrer"),
        (with("screen_width", json!(-5)), "screen_width"),
        (with("props", json!({"nested": {"x": 1}})), "props"),
    ];
    for (event, field) in cases {
        let (status, body) = system.post(&event).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{event} → {body}");
        assert_eq!(body["field"], field, "{event} → {body}");
        assert!(body["error"].as_str().unwrap().contains(field), "{body}");
    }
    // Unknown fields are ignored, not errors.
    assert_eq!(
        system.post(&with("colour", json!("blue"))).await.0,
        StatusCode::ACCEPTED
    );
    system.shutdown().await;
}

#[tokio::test]
async fn malformed_oversized_and_mistyped_requests_are_4xx_with_json_errors() {
    let system = TestSystem::start_with(&[], false).await;
    let too_many = Value::Array(vec![valid(); 501]);
    let huge = format!("[{}]", vec![valid().to_string(); 20_000].join(","));
    assert!(huge.len() > 1024 * 1024);
    let cases: Vec<(String, &str, StatusCode)> = vec![
        (
            "{\"site_id\":".into(),
            "application/json",
            StatusCode::BAD_REQUEST,
        ),
        ("".into(), "application/json", StatusCode::BAD_REQUEST),
        ("[]".into(), "application/json", StatusCode::BAD_REQUEST),
        (
            "\"just a string\"".into(),
            "application/json",
            StatusCode::BAD_REQUEST,
        ),
        (
            "[".repeat(5000),
            "application/json",
            StatusCode::BAD_REQUEST,
        ),
        (
            too_many.to_string(),
            "application/json",
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
        (huge, "application/json", StatusCode::PAYLOAD_TOO_LARGE),
        (
            valid().to_string(),
            "application/x-www-form-urlencoded",
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
    ];
    for (body, content_type, expected) in cases {
        let shown: String = body.chars().take(40).collect();
        let (status, reply) = system.post_raw(body, content_type).await;
        assert_eq!(status, expected, "{shown} ({content_type}) → {reply}");
        assert!(reply["error"].is_string(), "{reply}");
    }
    let (status, reply) = system
        .post_raw(vec![0xff, 0xfe, 0x00], "application/json")
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{reply}");
    // A normal event is still accepted afterwards.
    assert_eq!(system.post(&valid()).await.0, StatusCode::ACCEPTED);
    system.shutdown().await;
}

#[tokio::test]
async fn stats_parameters_are_typed_and_injection_is_refused() {
    let system = TestSystem::start_with(&[], false).await;
    let cases = [
        ("", Some("site_id")),
        ("date=2026-11-24", Some("site_id")),
        ("site_id=", Some("site_id")),
        ("site_id=a%20b", Some("site_id")),
        ("site_id[$ne]=x", None),
        ("site_id[$gt]=&date=2026-11-24", None),
        (
            "site_id=%7B%22%24where%22%3A%22sleep(1000)%22%7D",
            Some("site_id"),
        ),
        ("site_id=.*", Some("site_id")),
        ("site_id=s&date=2026-02-30", Some("date")),
        ("site_id=s&date=99999-01-01", Some("date")),
        ("site_id=s&date[$gte]=2020-01-01", None),
        ("site_id=s&site_id=t", Some("site_id")),
        ("site_id=s&extra=1", None),
    ];
    for (query, field) in cases {
        let (status, body) = system.stats(query).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query} → {body}");
        assert!(body["error"].is_string(), "{query} → {body}");
        assert_eq!(body["field"].as_str(), field, "{query} → {body}");
    }
    system.shutdown().await;
}

#[tokio::test]
async fn health_readiness_and_cors() {
    let system = TestSystem::start_with(&[], false).await;
    for base in [&system.ingest_url, &system.report_url] {
        let health = system
            .http
            .get(format!("{base}/healthz"))
            .send()
            .await
            .unwrap();
        assert_eq!(health.status(), StatusCode::OK);
        // Ingestion is ready once the broker answers and its topic exists.
        assert!(
            system.wait_ready(base).await,
            "{base}/readyz never became ready"
        );
    }
    let preflight = system
        .http
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/event", system.ingest_url),
        )
        .header("origin", "https://shop.example")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type")
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success());
    assert_eq!(preflight.headers()["access-control-allow-origin"], "*");
    let stats = system
        .http
        .get(format!("{}/stats?site_id=s", system.report_url))
        .header("origin", "https://dashboard.example")
        .send()
        .await
        .unwrap();
    assert_eq!(stats.headers()["access-control-allow-origin"], "*");
    system.shutdown().await;
}

#[tokio::test]
async fn unreachable_kafka_is_a_503_with_retry_after_never_a_2xx() {
    // Port 9 on loopback: nothing listens, connections are refused.
    let overrides = [
        ("KAFKA_BROKER", "127.0.0.1:9"),
        ("PRODUCE_TIMEOUT_MS", "1500"),
    ];
    let system = TestSystem::start_with(&overrides, false).await;
    let response = system
        .http
        .post(format!("{}/event", system.ingest_url))
        .json(&valid())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.headers()["retry-after"], "5");
    let body: Value = response.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().contains("retry"), "{body}");
    let ready = system
        .http
        .get(format!("{}/readyz", system.ingest_url))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    system.shutdown().await;
}

#[tokio::test]
async fn rate_limits_per_client_ip_and_per_site_answer_429_with_retry_after() {
    let system = TestSystem::start_with(
        &[
            ("RATE_LIMIT_PER_IP", "5"),
            ("RATE_LIMIT_PER_SITE", "8"),
            ("RATE_LIMIT_BURST_SECONDS", "1"),
        ],
        false,
    )
    .await;
    let event = |site: &str| json!({"site_id": site, "event_type": "page_view", "path": "/"});
    let ua = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";
    // Each group of requests is sent at once, so every one is charged before a bucket refills
    // (one token every 200 ms per client): sent one by one, on a busy machine, waiting for Kafka
    // between them let the bucket refill.
    let at_once = |requests: Vec<(Value, String)>| {
        let system = &system;
        futures::future::join_all(requests.into_iter().map(move |(body, ip)| async move {
            let response = system.post_as_response(&body, &ip, ua).await;
            // A refusal says when to come back: within the 1 s the bucket takes to refill.
            if response.status() == StatusCode::TOO_MANY_REQUESTS {
                let retry: u64 = response.headers()["retry-after"]
                    .to_str()
                    .unwrap()
                    .parse()
                    .unwrap();
                assert!((1..=2).contains(&retry), "Retry-After {retry}");
            }
            support::json_of(response).await
        }))
    };
    let statuses = |answers: &[(StatusCode, Value)]| {
        let mut s: Vec<u16> = answers.iter().map(|(status, _)| status.as_u16()).collect();
        s.sort_unstable();
        s
    };
    // One client: 5 events pass, a 6th is over its limit.
    let answers = at_once(vec![(event("busy"), "192.0.2.70".to_owned()); 6]).await;
    assert_eq!(
        statuses(&answers),
        [202, 202, 202, 202, 202, 429],
        "{answers:?}"
    );
    let (_, refused) = answers.iter().find(|(s, _)| s.as_u16() == 429).unwrap();
    assert!(
        refused["error"].as_str().unwrap().contains("client"),
        "{refused}"
    );
    // Many clients of one site: 8 events pass, a 9th is over the site's limit.
    let crowd = (0..9)
        .map(|i| (event("crowded"), format!("192.0.2.{}", 100 + i)))
        .collect();
    let answers = at_once(crowd).await;
    assert_eq!(
        statuses(&answers),
        [202; 8].into_iter().chain([429]).collect::<Vec<_>>()
    );
    let (_, refused) = answers.iter().find(|(s, _)| s.as_u16() == 429).unwrap();
    assert_eq!(refused["field"], "site_id", "{refused}");
    // Invalid events cost their sender too (the budget is charged before validation): of six
    // invalid ones sent at once, five are judged and the sixth, whichever the server takes last,
    // is over the limit before anyone looks at it.
    let invalid = json!({"site_id": "quiet", "event_type": "page_view", "path": 7});
    let answers = at_once(vec![(invalid, "192.0.2.74".to_owned()); 6]).await;
    assert_eq!(
        statuses(&answers),
        [400, 400, 400, 400, 400, 429],
        "{answers:?}"
    );
    for (status, body) in &answers {
        match status.as_u16() {
            400 => assert_eq!(body["field"], "path"),
            _ => assert!(body["error"].as_str().unwrap().contains("client"), "{body}"),
        }
    }
    // Other clients of that site are not affected; and after the bucket refills the first
    // client is served again.
    let (status, _) = system.post_as(&event("quiet"), "192.0.2.73", ua).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (status, _) = system.post_as(&event("busy"), "192.0.2.70", ua).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    system.shutdown().await;
}
