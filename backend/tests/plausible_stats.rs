//! Plausible's Stats API v1 over the wire: `aggregate`, `breakdown` and `realtime/visitors`
//! with Plausible's parameters and answer shapes, exact numbers from events posted yesterday
//! and today, Beacon's keys for a private site, and 400s naming what Beacon cannot answer.

mod support;

use reqwest::StatusCode;
use serde_json::{json, Value};
use support::{day_ago, stdout, TestSystem};

fn view(user: &str, path: &str, at: &str, referrer: Option<&str>) -> Value {
    let mut e = json!({"site_id": "plv1", "event_type": "page_view", "path": path,
        "user_id": user, "timestamp": at});
    if let Some(r) = referrer {
        e["referrer"] = json!(r);
    }
    e
}

#[tokio::test]
async fn aggregate_breakdown_and_realtime_answer_as_plausible_does() {
    let system = TestSystem::start().await;
    let (today, t) = day_ago(0, 0, 1);
    let (_, y) = day_ago(1, 10, 0);
    let at = |m: u8| t.replace(":01:00Z", &format!(":{m:02}:00Z"));
    let signup = json!({"site_id": "plv1", "event_type": "signup", "path": "/pricing",
        "user_id": "a", "timestamp": at(3), "props": {"plan": "pro"}});
    let batch = json!([
        view("a", "/", &at(1), Some("https://www.google.com/")),
        view("a", "/pricing", &at(2), None),
        signup,
        view("b", "/", &at(5), Some("https://news.ycombinator.com/")),
        view("c", "/pricing", &at(6), None),
        view("y", "/", &y, None),
    ]);
    let (status, body) = system.post(&batch).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    system.wait_stored(6).await;

    let (status, agg) = system
        .report(&format!(
            "/api/v1/stats/aggregate?site_id=plv1&period=day&date={today}\
             &metrics=visitors,pageviews,visits,bounce_rate,events&compare=previous_period"
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{agg}");
    assert_eq!(
        agg,
        json!({"results": {
            "visitors": {"value": 3, "change": 200},
            "pageviews": {"value": 4, "change": 300},
            "visits": {"value": 3, "change": 200},
            "bounce_rate": {"value": 66.7, "change": -33.3},
            "events": {"value": 5, "change": 400},
        }})
    );

    let (_, pages) = system
        .report(&format!(
            "/api/v1/stats/breakdown?site_id=plv1&period=day&date={today}\
             &property=event:page&metrics=visitors,pageviews"
        ))
        .await;
    assert_eq!(
        pages,
        json!({"results": [
            {"page": "/", "visitors": 2, "pageviews": 2},
            {"page": "/pricing", "visitors": 2, "pageviews": 2},
        ]}),
        "{pages}"
    );
    let (_, sources) = system
        .report(&format!(
            "/api/v1/stats/breakdown?site_id=plv1&period=7d&date={today}\
             &property=visit:source&filters=event:page%3D%3D/pricing"
        ))
        .await;
    assert_eq!(
        sources,
        json!({"results": [{"source": "Direct", "visitors": 1}, {"source": "Google", "visitors": 1}]}),
        "{sources}"
    );
    let (_, plans) = system
        .report(&format!(
            "/api/v1/stats/breakdown?site_id=plv1&period=day&date={today}\
             &property=event:props:plan&metrics=visitors,events"
        ))
        .await;
    assert_eq!(
        plans,
        json!({"results": [{"plan": "pro", "visitors": 1, "events": 1}]})
    );

    let (_, series) = system
        .report(&format!(
            "/api/v1/stats/timeseries?site_id=plv1&period=7d&date={today}&interval=date\
             &metrics=visitors,pageviews"
        ))
        .await;
    let points = series["results"].as_array().unwrap();
    assert_eq!(points.len(), 7, "{series}");
    let (yesterday, _) = day_ago(1, 0, 0);
    assert_eq!(
        points[5],
        json!({"date": yesterday, "visitors": 1, "pageviews": 1})
    );
    assert_eq!(
        points[6],
        json!({"date": today, "visitors": 3, "pageviews": 4})
    );
    assert_eq!(points[0]["visitors"], 0);

    let (status, live) = system
        .report("/api/v1/stats/realtime/visitors?site_id=plv1")
        .await;
    assert_eq!((status, live.is_u64()), (StatusCode::OK, true), "{live}");
    system.shutdown().await;
}

#[tokio::test]
async fn what_beacon_cannot_answer_is_a_400_and_private_sites_need_a_key() {
    let system = TestSystem::start().await;
    let base = "/api/v1/stats/aggregate?site_id=plv1";
    for (query, field) in [
        ("&metrics=time_on_page", "metrics"),
        ("&period=1y", "period"),
        ("&period=custom", "date"),
        ("&filters=visit:city%3D%3DBerlin", "filters"),
        ("&compare=year", "compare"),
    ] {
        let (status, body) = system.report(&format!("{base}{query}")).await;
        assert_eq!(
            (status, &body["field"]),
            (StatusCode::BAD_REQUEST, &json!(field)),
            "{query}"
        );
    }
    let (status, body) = system
        .report("/api/v1/stats/breakdown?site_id=plv1&property=event:page&metrics=bounce_rate")
        .await;
    assert_eq!(
        (status, &body["field"]),
        (StatusCode::BAD_REQUEST, &json!("metrics"))
    );
    let (status, _) = system
        .report("/api/v1/stats/aggregate?site_id=plv1&interval=date")
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, body) = system
        .report("/api/v1/stats/timeseries?site_id=plv1&interval=month")
        .await;
    assert_eq!(
        (status, &body["field"]),
        (StatusCode::BAD_REQUEST, &json!("interval"))
    );

    assert!(system
        .admin(&["site", "add", "private-v1"])
        .status
        .success());
    let created = stdout(&system.admin(&["key", "add", "private-v1", "--label", "script"]));
    let key = created.lines().last().unwrap().trim().to_owned();
    let path = "/api/v1/stats/aggregate?site_id=private-v1&period=day";
    let (status, _, _) = system.report_as(path, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, body, _) = system.report_as(path, Some(&key)).await;
    assert_eq!(
        (status, body),
        (
            StatusCode::OK,
            json!({"results": {"visitors": {"value": 0}}})
        )
    );
    system.shutdown().await;
}
