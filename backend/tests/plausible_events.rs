//! Plausible's Events API (`POST /api/event`) over the wire: page views and custom events
//! with props and revenue, under Plausible's long and short field names, counted like
//! Beacon's own; bad bodies are 400s naming Plausible's fields.

mod support;

use reqwest::StatusCode;
use serde_json::{json, Value};
use support::{TestSystem, CHROME};

async fn plausible(system: &TestSystem, body: &Value, content_type: &str) -> (StatusCode, String) {
    let response = system
        .http
        .post(format!("{}/api/event", system.ingest_url))
        .header("content-type", content_type)
        .header("user-agent", CHROME)
        .header("x-forwarded-for", "203.0.113.21")
        .body(body.to_string())
        .send()
        .await
        .expect("ingestion answers");
    let status = response.status();
    (status, response.text().await.unwrap_or_default())
}

#[tokio::test]
async fn plausible_events_are_counted_like_beacon_s_own() {
    let system = TestSystem::start().await;
    let view = json!({"name": "pageview", "url": "https://pl.example/pricing?utm_source=newsletter&utm_medium=email",
        "domain": "pl.example", "referrer": "https://www.google.com/"});
    let (status, body) = plausible(&system, &view, "application/json").await;
    assert_eq!((status, body.as_str()), (StatusCode::ACCEPTED, "{}"));
    // Short names, as the script sends them, as text/plain; one event for each site named.
    let signup = json!({"n": "Signup", "u": "https://pl.example/pricing", "d": "pl.example,pl2.example",
        "p": {"plan": "pro"}, "$": {"amount": "49.90", "currency": "EUR"}, "i": true});
    let (status, _) = plausible(&system, &signup, "text/plain").await;
    assert_eq!(status, StatusCode::ACCEPTED);
    // The newer trackers' engagement pings (scroll depth, time in view) are answered, not stored.
    let ping = json!({"n": "engagement", "u": "https://pl.example/pricing", "d": "pl.example",
        "sd": 40, "e": 3200, "v": 36});
    let (status, body) = plausible(&system, &ping, "text/plain").await;
    assert_eq!((status, body.as_str()), (StatusCode::ACCEPTED, "{}"));
    system.wait_stored(3).await;

    let (_, stats) = system.stats("site_id=pl.example").await;
    assert_eq!(
        (
            &stats["total_views"],
            &stats["unique_users"],
            &stats["top_paths"]
        ),
        (
            &json!(1),
            &json!(1),
            &json!([{"path": "/pricing", "views": 1}])
        ),
        "{stats}"
    );
    let (_, events) = system
        .report("/stats/breakdown?site_id=pl.example&property=event_type")
        .await;
    let rows: Vec<(&str, i64)> = events["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["value"].as_str().unwrap(), r["events"].as_i64().unwrap()))
        .collect();
    assert_eq!(rows, [("Signup", 1), ("page_view", 1)], "{events}");
    let (_, plans) = system
        .report("/stats/breakdown?site_id=pl.example&property=props.plan")
        .await;
    assert_eq!(plans["results"][0]["value"], "pro", "{plans}");
    let (_, channel) = system
        .report("/stats/breakdown?site_id=pl.example&property=utm_source")
        .await;
    assert_eq!(channel["results"][0]["value"], "newsletter", "{channel}");
    let (_, other) = system
        .report("/stats/breakdown?site_id=pl2.example&property=event_type")
        .await;
    assert_eq!(other["results"][0]["value"], "Signup", "{other}");
    system.shutdown().await;
}

#[tokio::test]
async fn bad_plausible_bodies_name_plausible_s_fields() {
    let system = TestSystem::start().await;
    let cases = [
        (json!({"name": "pageview", "domain": "pl.example"}), "url"),
        (
            json!({"name": "pageview", "url": "nope", "domain": "pl.example"}),
            "url",
        ),
        (
            json!({"name": "", "url": "https://pl.example/", "domain": "pl.example"}),
            "name",
        ),
        (
            json!({"name": "pageview", "url": "https://pl.example/", "domain": "a b"}),
            "domain",
        ),
        (
            json!({"n": "x", "u": "https://pl.example/", "$": {"amount": "1", "currency": "eur"}}),
            "revenue",
        ),
    ];
    for (body, field) in cases {
        let (status, answer) = plausible(&system, &body, "application/json").await;
        let answer: Value = serde_json::from_str(&answer).unwrap();
        assert_eq!(
            (status, &answer["field"]),
            (StatusCode::BAD_REQUEST, &json!(field)),
            "{body}"
        );
    }
    // Two sites make a batch: its refusals are listed, under Plausible's names too.
    let two = json!({"name": "", "url": "https://pl.example/", "domain": "a.example,b.example"});
    let (status, answer) = plausible(&system, &two, "application/json").await;
    let answer: Value = serde_json::from_str(&answer).unwrap();
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert_eq!(
        (
            &answer["rejected"][0]["field"],
            &answer["rejected"][1]["field"]
        ),
        (&json!("name"), &json!("name")),
        "{answer}"
    );
    let (status, _) = plausible(&system, &json!([{"n": "pageview"}]), "application/json").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(system.stored().await, 0);
    system.shutdown().await;
}
