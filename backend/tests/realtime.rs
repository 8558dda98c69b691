//! `/stats/realtime?detail=true` over the wire: the last 30 minutes minute by minute, and their
//! top pages and sources, from events posted a few minutes ago.

mod support;

use reqwest::StatusCode;
use serde_json::{json, Value};
use support::{TestSystem, CHROME};
use time::{Duration, OffsetDateTime};

/// RFC 3339 `minutes` before `now`, and the label of its minute. One `now` for the whole test:
/// the report may be read in the minute after the events were posted.
fn ago(now: OffsetDateTime, minutes: i64) -> (String, String) {
    let t = now - Duration::minutes(minutes);
    let ts = t
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let label = format!("{}T{:02}:{:02}:00Z", t.date(), t.hour(), t.minute());
    (ts, label)
}

fn event(
    now: OffsetDateTime,
    user: &str,
    path: &str,
    minutes_ago: i64,
    referrer: Option<&str>,
) -> Value {
    let mut e = json!({"site_id": "live", "event_type": "page_view", "path": path,
        "user_id": user, "timestamp": ago(now, minutes_ago).0});
    if let Some(r) = referrer {
        e["referrer"] = json!(r);
    }
    e
}

#[tokio::test]
async fn the_last_30_minutes_minute_by_minute_with_top_pages_and_sources() {
    let system = TestSystem::start().await;
    let now = OffsetDateTime::now_utc();
    let batch = json!([
        event(now, "a", "/", 12, Some("https://www.google.com/")),
        event(now, "a", "/pricing", 3, None),
        event(
            now,
            "b",
            "/pricing",
            3,
            Some("https://news.ycombinator.com/")
        ),
        event(now, "c", "/docs", 45, None),
    ]);
    let (status, body) = system.post_as(&batch, "203.0.113.3", CHROME).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    system.wait_stored(4).await;

    let (status, plain) = system.report("/stats/realtime?site_id=live").await;
    assert_eq!(status, StatusCode::OK, "{plain}");
    assert!(plain.get("last_30_minutes").is_none(), "{plain}");

    let (status, body) = system
        .report("/stats/realtime?site_id=live&detail=true")
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let detail = &body["last_30_minutes"];
    let minutes = detail["minutes"].as_array().unwrap();
    assert_eq!(minutes.len(), 30);
    let at = |label: &str| {
        minutes.iter().find(|m| m["time"] == label).map(|m| {
            (
                m["visitors"].as_i64().unwrap(),
                m["views"].as_i64().unwrap(),
            )
        })
    };
    assert_eq!(at(&ago(now, 12).1), Some((1, 1)));
    assert_eq!(at(&ago(now, 3).1), Some((2, 2)));
    // 45 minutes ago is outside the window; every other minute is there with zeros.
    assert_eq!(at(&ago(now, 45).1), None);
    let total: i64 = minutes.iter().map(|m| m["views"].as_i64().unwrap()).sum();
    assert_eq!(total, 3);
    assert_eq!(
        detail["top_pages"],
        json!([{"value": "/pricing", "visitors": 2}, {"value": "/", "visitors": 1}])
    );
    assert_eq!(
        detail["top_sources"],
        json!([{"value": "Google", "visitors": 1}, {"value": "Hacker News", "visitors": 1}])
    );

    let (status, body) = system
        .report("/stats/realtime?site_id=live&detail=yes")
        .await;
    assert_eq!(
        (status, &body["field"]),
        (StatusCode::BAD_REQUEST, &json!("detail"))
    );
    system.shutdown().await;
}
