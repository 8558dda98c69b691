//! `compare=previous_period` over the wire: `/stats` and `/stats/timeseries` answer the range
//! asked for and, alongside, the range of the same length just before it, with exact numbers,
//! filtered and unfiltered; every other field stays as it was.

mod support;

use reqwest::StatusCode;
use serde_json::{json, Value};
use support::{day_ago, TestSystem, CHROME, IPHONE};

/// An event of a known visitor (`user_id`) at `hh:mm`, `days` days ago.
fn at(user: &str, kind: &str, path: &str, days: i64, hh: u8, mm: u8) -> Value {
    let (_, ts) = day_ago(days, hh, mm);
    json!({"site_id": "cmp", "event_type": kind, "path": path, "user_id": user, "timestamp": ts})
}

/// Four days of traffic. The previous period (4 and 3 days ago): Alice (desktop, two pages in
/// 5 minutes) and Bob (mobile, one page). The current period (2 days ago and yesterday): Carol
/// (mobile, one page each day), Dave (desktop, two pages in 3 minutes), Erin (desktop, two pages
/// and a signup in 11 minutes).
async fn post_four_days(system: &TestSystem) {
    let desktop = [
        at("alice", "page_view", "/", 4, 10, 0),
        at("alice", "page_view", "/a", 4, 10, 5),
        at("dave", "page_view", "/a", 2, 11, 0),
        at("dave", "page_view", "/b", 2, 11, 3),
        at("erin", "page_view", "/", 1, 8, 0),
        at("erin", "page_view", "/a", 1, 8, 10),
        at("erin", "signup", "/a", 1, 8, 11),
    ];
    let mobile = [
        at("bob", "page_view", "/", 3, 9, 0),
        at("carol", "page_view", "/", 2, 10, 0),
        at("carol", "page_view", "/", 1, 13, 0),
    ];
    for (events, ua) in [(&desktop[..], CHROME), (&mobile[..], IPHONE)] {
        for event in events {
            let (status, body) = system.post_as(event, "203.0.113.20", ua).await;
            assert_eq!(status, StatusCode::ACCEPTED, "{body}");
        }
    }
    system.wait_stored(10).await;
}

const METRICS: &str = "metrics=visits,bounce_rate,visit_duration,views_per_visit,events";

#[tokio::test]
async fn stats_and_timeseries_compare_with_the_previous_period() {
    let system = TestSystem::start().await;
    post_four_days(&system).await;
    let (d4, d3, d2, d1) = (
        day_ago(4, 0, 0).0,
        day_ago(3, 0, 0).0,
        day_ago(2, 0, 0).0,
        day_ago(1, 0, 0).0,
    );
    let range = format!("site_id=cmp&from={d2}&to={d1}");

    // /stats: the current numbers unchanged, the previous period's beside them.
    let (status, plain) = system.report(&format!("/stats?{range}&{METRICS}")).await;
    assert_eq!(status, StatusCode::OK, "{plain}");
    let (status, stats) = system
        .report(&format!("/stats?{range}&{METRICS}&compare=previous_period"))
        .await;
    assert_eq!(status, StatusCode::OK, "{stats}");
    let mut without = stats.clone();
    let comparison = without.as_object_mut().unwrap().remove("comparison");
    assert_eq!(without, plain, "compare only adds `comparison`");
    // Current: 6 views; 2 + 2 daily visitors; 4 visits of which Carol's 2 bounce; durations
    // 0 + 180 + 0 + 660 s; Erin's signup.
    assert_eq!(
        pick(
            &plain,
            &["total_views", "unique_users", "visits", "bounce_rate"]
        ),
        [json!(6), json!(4), json!(4), json!(50.0)]
    );
    assert_eq!(
        pick(&plain, &["visit_duration", "views_per_visit", "events"]),
        [json!(210), json!(1.5), json!(1)]
    );
    // Previous: 3 views, 2 visitors, 2 visits, Bob's bounce, 300 s over 2 visits.
    assert_eq!(
        comparison.unwrap(),
        json!({
            "from": d4, "to": d3, "total_views": 3, "unique_users": 2, "visits": 2,
            "bounce_rate": 50.0, "visit_duration": 150, "views_per_visit": 1.5, "events": 0,
        })
    );

    // One day (`date`): the day before. Filtered: the same filter on both periods (raw events).
    let (_, day) = system
        .report(&format!(
            "/stats?site_id=cmp&date={d1}&compare=previous_period"
        ))
        .await;
    assert_eq!(
        (&day["total_views"], &day["comparison"]),
        (
            &json!(3),
            &json!({"from": d2, "to": d2, "total_views": 3, "unique_users": 2})
        )
    );
    let mobile = "filters=device%3D%3Dmobile";
    let (status, filtered) = system
        .report(&format!(
            "/stats?{range}&{mobile}&metrics=visits&compare=previous_period"
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{filtered}");
    assert_eq!(
        pick(&filtered, &["total_views", "unique_users", "visits"]),
        [json!(2), json!(2), json!(2)]
    );
    assert_eq!(
        filtered["comparison"],
        json!({"from": d4, "to": d3, "total_views": 1, "unique_users": 1, "visits": 1})
    );

    // /stats/timeseries by day: the previous period's points, one per day, in the same order.
    let (status, series) = system
        .report(&format!(
            "/stats/timeseries?{range}&interval=day&compare=previous_period"
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{series}");
    assert_eq!(
        columns(&series["points"], &["time", "views", "visitors"]),
        [json!([d2, 3, 2]), json!([d1, 3, 2])]
    );
    assert_eq!(
        (&series["comparison"]["from"], &series["comparison"]["to"]),
        (&json!(d4), &json!(d3))
    );
    assert_eq!(
        columns(
            &series["comparison"]["points"],
            &[
                "time",
                "views",
                "visitors",
                "visits",
                "bounce_rate",
                "visit_duration"
            ]
        ),
        [
            json!([d4, 2, 1, 1, 0.0, 300]),
            json!([d3, 1, 1, 1, 100.0, 0])
        ]
    );

    // By hour for one day: 24 points each, aligned by hour of day.
    let (_, hourly) = system
        .report(&format!(
            "/stats/timeseries?site_id=cmp&date={d1}&compare=previous_period"
        ))
        .await;
    let (now, before) = (
        hourly["points"].as_array().unwrap(),
        hourly["comparison"]["points"].as_array().unwrap(),
    );
    assert_eq!((now.len(), before.len()), (24, 24));
    assert_eq!(before[0]["time"], format!("{d2}T00:00:00Z"));
    let views = |points: &[Value]| -> Vec<(usize, i64)> {
        let counted = points.iter().map(|p| p["views"].as_i64().unwrap());
        counted.enumerate().filter(|(_, v)| *v > 0).collect()
    };
    assert_eq!(views(now), [(8, 2), (13, 1)]);
    assert_eq!(views(before), [(10, 1), (11, 2)]);

    // Without `compare`, no `comparison`.
    let (_, series) = system.report(&format!("/stats/timeseries?{range}")).await;
    assert!(series.get("comparison").is_none(), "{series}");
    let (_, day3) = system
        .report(&format!(
            "/stats?site_id=cmp&date={d3}&compare=previous_period"
        ))
        .await;
    assert_eq!(
        day3["comparison"],
        json!({"from": d4, "to": d4, "total_views": 2, "unique_users": 1})
    );
    system.shutdown().await;
}

#[tokio::test]
async fn other_compare_values_are_refused_naming_the_field() {
    let system = TestSystem::start_with(&[], false).await;
    for query in [
        "/stats?site_id=s&compare=previous",
        "/stats?site_id=s&compare=",
        "/stats?site_id=s&compare=year_over_year",
        "/stats/timeseries?site_id=s&compare=PREVIOUS_PERIOD",
    ] {
        let (status, body) = system.report(query).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert_eq!(body["field"], "compare", "{query}: {body}");
        assert!(
            body["error"].as_str().unwrap().contains("previous_period"),
            "{body}"
        );
    }
    let (status, body) = system
        .report("/stats?site_id=s&compare=previous_period&compare=previous_period")
        .await;
    assert_eq!(
        (status, &body["field"]),
        (StatusCode::BAD_REQUEST, &json!("compare"))
    );
    // Breakdowns and realtime do not compare: an unknown parameter there.
    for query in [
        "/stats/breakdown?site_id=s&property=path&compare=previous_period",
        "/stats/realtime?site_id=s&compare=previous_period",
    ] {
        let (status, body) = system.report(query).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert!(
            body["error"].as_str().unwrap().contains("`compare`"),
            "{body}"
        );
    }
    system.shutdown().await;
}

fn pick(body: &Value, keys: &[&str]) -> Vec<Value> {
    keys.iter().map(|k| body[*k].clone()).collect()
}

/// Each point's `keys`, as one array per point.
fn columns(points: &Value, keys: &[&str]) -> Vec<Value> {
    let points = points
        .as_array()
        .unwrap_or_else(|| panic!("no points: {points}"));
    points.iter().map(|p| Value::from(pick(p, keys))).collect()
}
