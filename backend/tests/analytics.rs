//! Analytics depth over the wire: enrichment, bots, sessions, every report endpoint and filter
//! with exact numbers, rollups against raw-event aggregation, and replays.

mod support;

use std::collections::BTreeMap;

use reqwest::StatusCode;
use serde_json::{json, Value};
use support::{day_ago, today, TestSystem, CHROME, FIREFOX, IPAD, IPHONE};

/// An event of a known visitor (`user_id`) at `hh:mm` yesterday.
fn at(site: &str, user: &str, kind: &str, path: &str, hh: u8, mm: u8) -> Value {
    let (_, ts) = day_ago(1, hh, mm);
    json!({"site_id": site, "event_type": kind, "path": path, "user_id": user, "timestamp": ts})
}

fn with_referrer(mut event: Value, referrer: &str) -> Value {
    event["referrer"] = json!(referrer);
    event
}

/// Posts the crafted clickstream of three visitors on `site` (see the test below for the
/// answers), each from its own browser.
async fn post_clickstream(system: &TestSystem, site: &str) {
    let alice = [
        with_referrer(
            at(site, "alice", "page_view", "/", 10, 0),
            "https://www.google.com/search?q=beacon",
        ),
        at(site, "alice", "page_view", "/pricing", 10, 2),
        at(site, "alice", "page_view", "/signup", 10, 5),
        at(site, "alice", "signup", "/signup", 10, 6),
    ];
    let bob = [
        with_referrer(
            at(site, "bob", "page_view", "/blog", 11, 0),
            "https://news.ycombinator.com/item?id=1",
        ),
        at(site, "bob", "page_view", "/", 12, 0),
        at(site, "bob", "page_view", "/pricing", 12, 10),
    ];
    let carol = [at(
        site,
        "carol",
        "page_view",
        "/?utm_source=newsletter&utm_campaign=launch",
        10,
        30,
    )];
    for (events, ua, ip) in [
        (&alice[..], CHROME, "203.0.113.10"),
        (&bob[..], IPHONE, "203.0.113.11"),
        (&carol[..], IPAD, "203.0.113.12"),
    ] {
        for event in events {
            let (status, body) = system.post_as(event, ip, ua).await;
            assert_eq!(status, StatusCode::ACCEPTED, "{body}");
        }
    }
    system.wait_stored(8).await;
}

fn rows(body: &Value) -> BTreeMap<String, Value> {
    body["results"]
        .as_array()
        .unwrap_or_else(|| panic!("no results in {body}"))
        .iter()
        .map(|r| (r["value"].as_str().unwrap().to_owned(), r.clone()))
        .collect()
}

fn pick(row: &Value, keys: &[&str]) -> Vec<Value> {
    keys.iter().map(|k| row[*k].clone()).collect()
}

#[tokio::test]
async fn sessions_sources_devices_and_every_endpoint_on_a_crafted_clickstream() {
    let system = TestSystem::start().await;
    post_clickstream(&system, "shop").await;
    let (day, _) = day_ago(1, 0, 0);
    let q = format!("site_id=shop&date={day}");

    // /stats: the seed's fields plus the visit metrics.
    let (status, stats) = system
        .report(&format!("/stats?{q}&metrics=visits,bounce_rate,visit_duration,views_per_visit,events,bots_filtered"))
        .await;
    assert_eq!(status, StatusCode::OK, "{stats}");
    assert_eq!(stats["total_views"], 7);
    assert_eq!(stats["unique_users"], 3);
    assert_eq!(stats["visits"], 4, "{stats}");
    // Bob's first visit and Carol's are bounces; durations 6 min + 10 min over 4 visits.
    assert_eq!(stats["bounce_rate"], 50.0);
    assert_eq!(stats["visit_duration"], 240);
    assert_eq!(stats["views_per_visit"], 1.75);
    assert_eq!(stats["events"], 1);
    assert_eq!(stats["bots_filtered"], 0);
    // Carol's landing page is `/` once its query string is dropped.
    assert_eq!(stats["top_paths"][0], json!({"path": "/", "views": 3}));
    assert_eq!(
        stats["top_paths"][1],
        json!({"path": "/pricing", "views": 2})
    );
    assert_eq!(stats["top_paths"].as_array().unwrap().len(), 4);
    // Without `metrics` or a range, exactly the seed's shape.
    let (_, plain) = system.stats(&q).await;
    let mut keys: Vec<&str> = plain
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "date",
            "site_id",
            "top_paths",
            "total_views",
            "unique_users"
        ]
    );

    // Breakdowns.
    let breakdown = |property: &str| {
        let q = q.clone();
        let system = &system;
        let property = property.to_owned();
        async move {
            let (status, body) = system
                .report(&format!("/stats/breakdown?{q}&property={property}"))
                .await;
            assert_eq!(status, StatusCode::OK, "{body}");
            rows(&body)
        }
    };
    let sources = breakdown("source").await;
    let cols = [
        "visitors",
        "views",
        "visits",
        "bounce_rate",
        "visit_duration",
    ];
    let expect = |visitors: i64, views: i64, visits: i64, bounce: f64, duration: i64| {
        vec![
            json!(visitors),
            json!(views),
            json!(visits),
            json!(bounce),
            json!(duration),
        ]
    };
    assert_eq!(pick(&sources["Google"], &cols), expect(1, 3, 1, 0.0, 360));
    assert_eq!(
        pick(&sources["Hacker News"], &cols),
        expect(1, 1, 1, 100.0, 0)
    );
    assert_eq!(pick(&sources["Direct"], &cols), expect(1, 2, 1, 0.0, 600));
    assert_eq!(
        pick(&sources["newsletter"], &["visitors", "visits"]),
        [json!(1), json!(1)]
    );
    assert_eq!(sources.len(), 4);

    let devices = breakdown("device").await;
    assert_eq!(
        devices
            .iter()
            .map(|(k, v)| (
                k.as_str(),
                v["visitors"].as_i64().unwrap(),
                v["visits"].as_i64().unwrap()
            ))
            .collect::<Vec<_>>(),
        [("desktop", 1, 1), ("mobile", 1, 2), ("tablet", 1, 1)]
    );
    let browsers = breakdown("browser").await;
    assert_eq!(browsers["Chrome"]["visitors"], 1);
    assert_eq!(browsers["Safari"]["visitors"], 2);
    let os = breakdown("os").await;
    assert_eq!(
        (
            os["Windows"]["visitors"].clone(),
            os["iOS"]["visitors"].clone()
        ),
        (json!(1), json!(2))
    );

    let entry = breakdown("entry_page").await;
    assert_eq!(entry["/"]["visits"], 3);
    assert_eq!(entry["/blog"]["visits"], 1);
    let exit = breakdown("exit_page").await;
    assert_eq!(
        exit.iter()
            .map(|(k, v)| (k.as_str(), v["visits"].as_i64().unwrap()))
            .collect::<Vec<_>>(),
        [("/", 1), ("/blog", 1), ("/pricing", 1), ("/signup", 1)]
    );
    let campaigns = breakdown("utm_campaign").await;
    assert_eq!(campaigns["launch"]["visitors"], 1);

    // Goals: custom events with their conversion rate (1 of 3 visitors).
    let goals = breakdown("event_type").await;
    assert_eq!(
        pick(&goals["signup"], &["events", "visitors", "conversion_rate"]),
        [json!(1), json!(1), json!(33.3)]
    );
    assert_eq!(goals["page_view"]["events"], 7);

    // Paging and limits: the paths by visitors, two per page.
    let (_, page2) = system
        .report(&format!(
            "/stats/breakdown?{q}&property=path&limit=2&page=2"
        ))
        .await;
    let (_, all) = system
        .report(&format!("/stats/breakdown?{q}&property=path&limit=100"))
        .await;
    assert_eq!(page2["results"][0], all["results"][2]);
    assert_eq!(all["results"].as_array().unwrap().len(), 4);

    // Filters, on every endpoint.
    let (_, google) = system
        .report(&format!(
            "/stats?{q}&filters=source%3D%3DGoogle&metrics=visits,bounce_rate,visit_duration"
        ))
        .await;
    assert_eq!(
        pick(
            &google,
            &[
                "total_views",
                "unique_users",
                "visits",
                "bounce_rate",
                "visit_duration"
            ]
        ),
        [json!(3), json!(1), json!(1), json!(0.0), json!(360)]
    );
    let (_, mobile) = system
        .report(&format!(
            "/stats?{q}&filters=device%3D%3Dmobile&metrics=visits,bounce_rate"
        ))
        .await;
    assert_eq!(
        pick(&mobile, &["total_views", "visits", "bounce_rate"]),
        [json!(3), json!(2), json!(50.0)]
    );
    let (_, pricing) = system
        .report(&format!(
            "/stats?{q}&filters=path%3D%3D/pricing&metrics=visits,visit_duration"
        ))
        .await;
    assert_eq!(
        pick(
            &pricing,
            &["total_views", "unique_users", "visits", "visit_duration"]
        ),
        [2, 2, 2, 480].map(|n| json!(n))
    );
    let (_, not_ios) = system
        .report(&format!(
            "/stats?{q}&filters=os!%3DiOS%3Bdevice%3D%3Ddesktop"
        ))
        .await;
    assert_eq!(not_ios["total_views"], 3);
    // Alternatives, contains, path wildcards and their negations.
    for (filters, views, visitors) in [
        ("source%3D%3DGoogle%7CHacker%20News", 4, 2),
        ("source~%3Doog", 3, 1),
        ("source!~%3Doog%7Cacker", 3, 2),
        ("path%3D%3D/*ing", 2, 2),
        ("path%3D%3D/**", 7, 3),
        ("path!%3D/*ing%7C/", 2, 2),
        ("entry_page!%3D/%7C/blog", 0, 0),
    ] {
        let (status, got) = system
            .report(&format!("/stats?{q}&filters={filters}"))
            .await;
        assert_eq!(status, StatusCode::OK, "{filters}: {got}");
        assert_eq!(
            pick(&got, &["total_views", "unique_users"]),
            [json!(views), json!(visitors)],
            "{filters}"
        );
    }
    let (_, filtered_sources) = system
        .report(&format!(
            "/stats/breakdown?{q}&property=source&filters=device%3D%3Dmobile"
        ))
        .await;
    let filtered_sources = rows(&filtered_sources);
    assert_eq!(
        filtered_sources.keys().collect::<Vec<_>>(),
        ["Direct", "Hacker News"]
    );

    // Timeseries: hourly for one day, every hour present.
    let (_, hourly) = system.report(&format!("/stats/timeseries?{q}")).await;
    let points = hourly["points"].as_array().unwrap();
    assert_eq!(points.len(), 24);
    assert_eq!(hourly["interval"], "hour");
    let hour = |h: usize| pick(&points[h], &["views", "visitors", "visits"]);
    assert_eq!(hour(10), [4, 2, 2].map(|n| json!(n)));
    assert_eq!(hour(11), [1, 1, 1].map(|n| json!(n)));
    assert_eq!(hour(12), [2, 1, 1].map(|n| json!(n)));
    assert_eq!(hour(9), [0, 0, 0].map(|n| json!(n)));
    assert_eq!(points[10]["time"], format!("{day}T10:00:00Z"));
    let (_, filtered_hourly) = system
        .report(&format!("/stats/timeseries?{q}&filters=source%3D%3DGoogle"))
        .await;
    assert_eq!(filtered_hourly["points"][10]["views"], 3);
    // Daily over a range: yesterday and today.
    let (_, daily) = system
        .report(&format!(
            "/stats/timeseries?site_id=shop&from={day}&to={}",
            today()
        ))
        .await;
    assert_eq!(daily["interval"], "day");
    let days: Vec<(Value, Value)> = daily["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["time"].clone(), p["views"].clone()))
        .collect();
    assert_eq!(days, [(json!(day), json!(7)), (json!(today()), json!(0))]);
    // /stats over the same range.
    let (_, range) = system
        .stats(&format!("site_id=shop&from={day}&to={}", today()))
        .await;
    assert_eq!(
        (range["total_views"].clone(), range["from"].clone()),
        (json!(7), json!(day))
    );

    // Realtime counts when events happened: yesterday's traffic, received just now, is not live.
    let (_, realtime) = system.report("/stats/realtime?site_id=shop").await;
    assert_eq!(realtime["visitors"], 0, "{realtime}");
    assert_eq!(realtime["window_seconds"], 300);

    // CSV, by parameter and by Accept header.
    let csv = system
        .http
        .get(format!(
            "{}/stats/breakdown?{q}&property=source&format=csv",
            system.report_url
        ))
        .send()
        .await
        .unwrap();
    assert!(csv.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let text = csv.text().await.unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("value,visitors,views,visits,bounce_rate,visit_duration")
    );
    assert!(text.contains("Google,1,3,1,0.0,360"), "{text}");
    let accept = system
        .http
        .get(format!(
            "{}/stats/breakdown?{q}&property=device",
            system.report_url
        ))
        .header("accept", "text/csv")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(accept.starts_with("value,visitors"), "{accept}");
    system.shutdown().await;
}

#[tokio::test]
async fn a_new_visitor_shows_up_in_realtime_within_two_seconds() {
    let system = TestSystem::start().await;
    // Warm up: the worker has joined its group and consumed once.
    let event = json!({"site_id":"live","event_type":"page_view","path":"/"});
    system.post_as(&event, "192.0.2.50", CHROME).await;
    system.wait_stored(1).await;
    let sent = tokio::time::Instant::now();
    let (status, _) = system.post_as(&event, "192.0.2.51", FIREFOX).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    loop {
        let (_, body) = system.report("/stats/realtime?site_id=live").await;
        if body["visitors"] == 2 {
            break;
        }
        assert!(
            sent.elapsed() < std::time::Duration::from_secs(2),
            "not in realtime after 2 s: {body}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    system.shutdown().await;
}

#[tokio::test]
async fn report_parameters_are_validated_and_named() {
    let system = TestSystem::start().await;
    for (query, field) in [
        ("/stats/breakdown?site_id=s", "property"),
        ("/stats/breakdown?site_id=s&property=colour", "property"),
        (
            "/stats/breakdown?site_id=s&property=path&limit=5000",
            "limit",
        ),
        ("/stats/timeseries?site_id=s&interval=minute", "interval"),
        (
            "/stats/timeseries?site_id=s&from=2026-01-02&to=2026-01-01",
            "to",
        ),
        ("/stats?site_id=s&filters=nope%3D%3D1", "filters"),
        ("/stats?site_id=s&metrics=revenue", "metrics"),
        ("/stats/realtime", "site_id"),
    ] {
        let (status, body) = system.report(query).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert_eq!(body["field"], field, "{query}: {body}");
    }
    let (status, body) = system
        .report("/stats/realtime?site_id=s&date=2026-01-01")
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    // Unknown routes and wrong methods are JSON errors too.
    let (status, body) = system.report("/stats/nope?site_id=s").await;
    assert_eq!(
        (status, body["error"].is_string()),
        (StatusCode::NOT_FOUND, true)
    );
    let response = system
        .http
        .post(format!("{}/stats?site_id=s", system.report_url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert!(response.headers().contains_key("allow"));
    let (_, body) = support::json_of(response).await;
    assert!(body["error"].is_string(), "{body}");
    // The OpenAPI document describes every report endpoint and the ingestion API.
    let (status, openapi) = system.report("/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    for path in [
        "/stats",
        "/stats/timeseries",
        "/stats/breakdown",
        "/stats/realtime",
        "/sites",
        "/event",
        "/event/receipts",
    ] {
        assert!(openapi["paths"][path].is_object(), "{path} missing");
    }
    system.shutdown().await;
}

/// Real User-Agents and referrers, each as its own site, through ingestion, Kafka and the
/// worker, read back from the breakdowns.
#[tokio::test]
async fn real_user_agents_and_referrers_are_classified() {
    let system = TestSystem::start().await;
    let agents: [(&str, [&str; 3]); 8] = [
        (CHROME, ["Chrome", "Windows", "desktop"]),
        (FIREFOX, ["Firefox", "Linux", "desktop"]),
        (IPHONE, ["Safari", "iOS", "mobile"]),
        (IPAD, ["Safari", "iOS", "tablet"]),
        (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Safari/605.1.15",
            ["Safari", "macOS", "desktop"],
        ),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
            ["Edge", "Windows", "desktop"],
        ),
        (
            "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36",
            ["Samsung Internet", "Android", "mobile"],
        ),
        (
            "Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
            ["Chrome", "Android", "tablet"],
        ),
    ];
    let referrers: [(&str, &str, &str); 6] = [
        ("https://www.google.com/search?q=x", "/", "Google"),
        (
            "https://news.ycombinator.com/item?id=42",
            "/",
            "Hacker News",
        ),
        ("https://t.co/abc", "/", "Twitter"),
        ("https://blog.example.org/post", "/", "blog.example.org"),
        ("", "/", "Direct"),
        (
            "https://www.google.com/",
            "/?utm_source=newsletter&utm_medium=email",
            "newsletter",
        ),
    ];
    for (i, (ua, _)) in agents.iter().enumerate() {
        let event = json!({"site_id": format!("ua{i}"), "event_type": "page_view", "path": "/"});
        let (status, body) = system.post_as(&event, "192.0.2.9", ua).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{ua}: {body}");
    }
    for (i, (referrer, path, _)) in referrers.iter().enumerate() {
        let mut event =
            json!({"site_id": format!("ref{i}"), "event_type": "page_view", "path": path});
        if !referrer.is_empty() {
            event["referrer"] = json!(referrer);
        }
        system.post_as(&event, "192.0.2.9", CHROME).await;
    }
    system
        .wait_stored((agents.len() + referrers.len()) as u64)
        .await;
    let only_value = |body: Value| -> String {
        let rows = body["results"].as_array().unwrap().clone();
        assert_eq!(rows.len(), 1, "{body}");
        rows[0]["value"].as_str().unwrap().to_owned()
    };
    for (i, (ua, expected)) in agents.iter().enumerate() {
        for (property, want) in ["browser", "os", "device"].iter().zip(expected) {
            let (_, body) = system
                .report(&format!(
                    "/stats/breakdown?site_id=ua{i}&property={property}"
                ))
                .await;
            assert_eq!(&only_value(body), want, "{property} of {ua}");
        }
    }
    for (i, (referrer, _, source)) in referrers.iter().enumerate() {
        let (_, body) = system
            .report(&format!("/stats/breakdown?site_id=ref{i}&property=source"))
            .await;
        assert_eq!(&only_value(body), source, "source of {referrer:?}");
    }
    let (_, medium) = system
        .report("/stats/breakdown?site_id=ref5&property=utm_medium")
        .await;
    assert_eq!(only_value(medium), "email");
    system.shutdown().await;
}

#[tokio::test]
async fn bots_and_scripts_are_filtered_and_counted() {
    let system = TestSystem::start().await;
    let event = json!({"site_id":"bots","event_type":"page_view","path":"/"});
    for ua in [
        "curl/8.5.0",
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36",
        "python-requests/2.32.3",
    ] {
        let (status, body) = system.post_as(&event, "198.51.100.1", ua).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{ua}: {body}");
    }
    for ua in [FIREFOX, IPHONE] {
        system.post_as(&event, "198.51.100.2", ua).await;
    }
    system.wait_stored(2).await;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let (_, stats) = system.stats("site_id=bots&metrics=bots_filtered").await;
        if stats["bots_filtered"] == 4 {
            assert_eq!(stats["total_views"], 2);
            assert_eq!(stats["unique_users"], 2);
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{stats}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    system.shutdown().await;
}

#[tokio::test]
async fn country_comes_from_a_geoip_database() {
    let db = beacon_enrich::mmdb_writer::write_country_db(&[
        ("203.0.113.0/24", "DE"),
        ("198.51.100.0/24", "US"),
        ("2001:db8::/32", "JP"),
    ]);
    let path = std::env::temp_dir().join(format!("beacon-geo-{}.mmdb", uuid::Uuid::new_v4()));
    std::fs::write(&path, db).unwrap();
    let system = TestSystem::start_with(&[("GEOIP_DB", path.to_str().unwrap())], true).await;
    let event = json!({"site_id":"geo","event_type":"page_view","path":"/"});
    for ip in [
        "203.0.113.5",
        "203.0.113.6",
        "198.51.100.9",
        "2001:db8::1",
        "10.1.2.3",
    ] {
        let (status, _) = system.post_as(&event, ip, CHROME).await;
        assert_eq!(status, StatusCode::ACCEPTED);
    }
    system.wait_stored(5).await;
    let (_, body) = system
        .report(&format!(
            "/stats/breakdown?site_id=geo&date={}&property=country",
            today()
        ))
        .await;
    let countries: Vec<(String, i64)> = rows(&body)
        .into_iter()
        .map(|(k, v)| (k, v["visitors"].as_i64().unwrap()))
        .collect();
    assert_eq!(
        countries,
        [
            ("DE".into(), 2),
            ("JP".into(), 1),
            ("US".into(), 1),
            ("unknown".into(), 1)
        ]
    );
    let (_, de) = system.stats("site_id=geo&filters=country%3D%3DDE").await;
    assert_eq!(de["unique_users"], 2);
    system.shutdown().await;
    let _ = std::fs::remove_file(path);
}

#[tokio::test]
async fn raw_events_expire_after_the_retention_period_and_rollups_stay() {
    let system = TestSystem::start_with(&[("RETENTION_DAYS", "1")], true).await;
    let (old_day, old) = day_ago(2, 12, 0);
    for path in ["/a", "/b", "/a"] {
        let event = json!({"site_id":"ttl","event_type":"page_view","path":path,"timestamp":old});
        assert_eq!(system.post(&event).await.0, StatusCode::ACCEPTED);
    }
    let fresh = json!({"site_id":"ttl","event_type":"page_view","path":"/now"});
    assert_eq!(system.post(&fresh).await.0, StatusCode::ACCEPTED);
    system.wait_rolled_up(4).await;
    // The TTL index removes the raw events older than RETENTION_DAYS; today's stays.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(120);
    while system.stored().await != 1 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} raw events left after 120 s",
            system.stored().await
        );
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    let (_, stats) = system.stats(&format!("site_id=ttl&date={old_day}")).await;
    assert_eq!(stats["total_views"], 3, "{stats}");
    assert_eq!(stats["top_paths"][0], json!({"path": "/a", "views": 2}));
    system.shutdown().await;
}

#[tokio::test]
async fn replaying_the_topic_leaves_every_number_unchanged() {
    let mut system = TestSystem::start().await;
    post_clickstream(&system, "replay").await;
    let (day, _) = day_ago(1, 0, 0);
    let queries = [
        format!("/stats?site_id=replay&date={day}&metrics=visits,bounce_rate,visit_duration,views_per_visit,events"),
        format!("/stats/timeseries?site_id=replay&date={day}"),
        format!("/stats/breakdown?site_id=replay&date={day}&property=source"),
        format!("/stats/breakdown?site_id=replay&date={day}&property=exit_page"),
        format!("/stats/breakdown?site_id=replay&date={day}&property=path"),
    ];
    let mut before = Vec::new();
    for q in &queries {
        before.push(system.report(q).await.1);
    }
    // A worker in a new consumer group reads the whole topic again from the start.
    system.stop_worker().await;
    system.start_worker_in_group("replay-group");
    // A marker on another day, same site (so same partition, after every replayed record):
    // once it is rolled up, the replay has passed every earlier record.
    let (_, old) = day_ago(2, 9, 0);
    let marker =
        json!({"site_id":"replay","event_type":"page_view","path":"/marker","timestamp": old});
    assert_eq!(system.post(&marker).await.0, StatusCode::ACCEPTED);
    system.wait_stored(9).await;
    // The new group really read all nine records (not just the marker).
    let group = format!("{}-replay-group", system.config.consumer_group);
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    while committed(&system.config, &group) < 9 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "replay group committed {}",
            committed(&system.config, &group)
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    for (q, b) in queries.iter().zip(&before) {
        assert_eq!(&system.report(q).await.1, b, "{q} changed after the replay");
    }
    system.shutdown().await;
}

/// Records committed by consumer group `group` on the test's topic, over all partitions.
fn committed(config: &beacon::config::Config, group: &str) -> i64 {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    let consumer: BaseConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", &config.kafka_broker)
        .set("group.id", group)
        .create()
        .expect("consumer");
    let metadata = consumer
        .fetch_metadata(Some(&config.kafka_topic), std::time::Duration::from_secs(5))
        .expect("metadata");
    let mut list = rdkafka::TopicPartitionList::new();
    for p in metadata.topics()[0].partitions() {
        list.add_partition(&config.kafka_topic, p.id());
    }
    let offsets = consumer
        .committed_offsets(list, std::time::Duration::from_secs(5))
        .expect("committed offsets");
    offsets
        .elements()
        .iter()
        .filter_map(|e| match e.offset() {
            rdkafka::Offset::Offset(n) => Some(n),
            _ => None,
        })
        .sum()
}
