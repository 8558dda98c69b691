//! Goals and funnels over the wire: registered with the real `beacon-admin`, reported by
//! `/stats/goals` and `/stats/funnel` with exact numbers, drop-offs and filters.

mod support;

use mongodb::bson::{doc, Document};
use reqwest::StatusCode;
use serde_json::{json, Value};
use support::{day_ago, stdout, TestSystem, CHROME};

/// An event of `user` yesterday at `hh:mm`.
fn at(user: &str, kind: &str, path: &str, hh: u8, mm: u8) -> Value {
    let (_, ts) = day_ago(1, hh, mm);
    json!({"site_id": "shop", "event_type": kind, "path": path, "user_id": user, "timestamp": ts})
}

fn view(user: &str, path: &str, hh: u8, mm: u8) -> Value {
    at(user, "page_view", path, hh, mm)
}

/// Six visitors; the funnel `/` → `/pricing` → signup → `/thanks` is reached by 5, 2, 1, 1.
fn clickstream() -> Value {
    json!([
        // a: the whole funnel in one visit.
        view("a", "/", 10, 0),
        view("a", "/pricing", 10, 1),
        at("a", "signup", "/pricing", 10, 2),
        view("a", "/thanks", 10, 3),
        // b: leaves after the pricing page.
        view("b", "/", 10, 0),
        view("b", "/pricing", 10, 5),
        // c: pricing before home, then signs up: only the first step, in order.
        view("c", "/pricing", 10, 0),
        view("c", "/", 10, 1),
        at("c", "signup", "/", 10, 2),
        // d: a blog reader who reaches home.
        view("d", "/blog/2026/launch", 10, 0),
        view("d", "/", 10, 4),
        // e: signs up and lands on /thanks without ever seeing home.
        at("e", "signup", "/", 10, 0),
        view("e", "/thanks", 10, 1),
        // f: home, then pricing in a second visit two hours later: not one visit.
        view("f", "/", 10, 0),
        view("f", "/pricing", 12, 0),
    ])
}

fn purchase(user: &str, amount: Value, currency: &str) -> Value {
    let mut e = at(user, "purchase", "/checkout", 10, 10);
    e["revenue"] = json!({"amount": amount, "currency": currency});
    e
}

async fn funnel(system: &TestSystem, day: &str, filters: &str) -> (StatusCode, Value) {
    let query = format!("/stats/funnel?site_id=shop&date={day}&funnel=checkout{filters}");
    system.report(&query).await
}

#[tokio::test]
async fn goals_and_a_funnel_with_drop_offs_and_filters() {
    let system = TestSystem::start().await;
    stdout(&system.admin(&["site", "add", "shop", "--public"]));
    for goal in [
        ["--page", "/thanks"],
        ["--page", "/blog/**"],
        ["--event", "signup"],
        ["--event", "purchase"],
    ] {
        let added = stdout(&system.admin(&["goal", "add", "shop", goal[0], goal[1]]));
        assert!(added.starts_with("added goal"), "{added}");
    }
    let again = system.admin(&["goal", "add", "shop", "--event", "signup"]);
    assert!(!again.status.success(), "a goal is added once");
    let steps = ["page:/", "page:/pricing", "event:signup", "page:/thanks"];
    let mut args = vec!["funnel", "add", "shop", "checkout"];
    steps.iter().for_each(|s| args.extend(["--step", s]));
    stdout(&system.admin(&args));
    let listed = stdout(&system.admin(&["funnel", "list", "shop"]));
    assert_eq!(
        listed.trim(),
        "checkout\tVisit / → Visit /pricing → signup → Visit /thanks"
    );
    let (_, listed) = system.report("/sites").await;
    let shop = &listed["sites"][0];
    assert_eq!(
        (&shop["goals"], &shop["funnels"]),
        (&json!(4), &json!(["checkout"]))
    );
    let bad = system.admin(&["funnel", "add", "shop", "short", "--step", "page:/"]);
    assert!(!bad.status.success(), "a funnel has at least two steps");

    let (status, body) = system.post_as(&clickstream(), "203.0.113.5", CHROME).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let purchases = json!([
        purchase("a", json!(19.9), "EUR"),
        purchase("b", json!("10.05"), "EUR"),
        purchase("e", json!(5.5), "USD"),
    ]);
    let (status, body) = system.post_as(&purchases, "203.0.113.5", CHROME).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let bad = purchase("a", json!("ten"), "EUR");
    let (status, body) = system.post_as(&bad, "203.0.113.5", CHROME).await;
    assert_eq!(
        (status, &body["field"]),
        (StatusCode::BAD_REQUEST, &json!("revenue"))
    );
    system.wait_stored(18).await;
    let (day, _) = day_ago(1, 0, 0);

    let (status, goals) = system
        .report(&format!("/stats/goals?site_id=shop&date={day}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{goals}");
    let figures: Vec<(String, i64, i64, f64)> = goals["goals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            let n = |k: &str| g[k].as_i64().unwrap();
            let name = g["name"].as_str().unwrap().to_owned();
            (
                name,
                n("visitors"),
                n("events"),
                g["conversion_rate"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        figures,
        [
            ("Visit /thanks".to_owned(), 2, 2, 33.3),
            ("Visit /blog/**".to_owned(), 1, 1, 16.7),
            ("signup".to_owned(), 3, 3, 50.0),
            ("purchase".to_owned(), 3, 3, 50.0),
        ]
    );
    // Revenue per currency, summed exactly: 19.90 + 10.05 EUR over two events, 5.50 USD.
    assert_eq!(
        goals["goals"][3]["revenue"],
        json!([
            {"currency": "EUR", "total": 29.95, "average": 14.975, "events": 2},
            {"currency": "USD", "total": 5.5, "average": 5.5, "events": 1},
        ])
    );
    assert!(goals["goals"][0].get("revenue").is_none(), "{goals}");
    assert_eq!(
        (&goals["goals"][0]["kind"], &goals["goals"][0]["match"]),
        (&json!("page"), &json!("/thanks"))
    );

    let (status, body) = funnel(&system, &day, "").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["conversion_rate"], 20.0);
    let steps: Vec<Vec<Value>> = body["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            [
                "name",
                "visitors",
                "conversion_rate",
                "conversion_rate_step",
                "dropoff",
            ]
            .iter()
            .map(|k| s[*k].clone())
            .collect()
        })
        .collect();
    assert_eq!(
        steps,
        [
            json!(["Visit /", 5, 100.0, 100.0, 0]),
            json!(["Visit /pricing", 2, 40.0, 40.0, 3]),
            json!(["signup", 1, 20.0, 50.0, 1]),
            json!(["Visit /thanks", 1, 20.0, 100.0, 0]),
        ]
        .map(|v| v.as_array().unwrap().clone())
    );
    // Asked for at once, as the stats page does, the reports share one load of the day's raw
    // events (the store's shared loads) and answer exactly as when asked one by one.
    let goals_url = format!("/stats/goals?site_id=shop&date={day}");
    let keys_url = format!("/stats/breakdown?site_id=shop&date={day}&property=props");
    let (_, keys) = system.report(&keys_url).await;
    let (together_goals, together_funnel, together_keys) = tokio::join!(
        system.report(&goals_url),
        funnel(&system, &day, ""),
        system.report(&keys_url),
    );
    assert_eq!(together_goals, (StatusCode::OK, goals.clone()));
    assert_eq!(together_funnel, (StatusCode::OK, body.clone()));
    assert_eq!(together_keys, (StatusCode::OK, keys));

    // Filters apply to the events the funnel reads: without pricing-page views nobody passes.
    let (_, filtered) = funnel(&system, &day, "&filters=path!%3D/pricing").await;
    let visitors: Vec<i64> = filtered["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["visitors"].as_i64().unwrap())
        .collect();
    assert_eq!(visitors, [5, 0, 0, 0]);

    let (status, body) = system
        .report(&format!(
            "/stats/funnel?site_id=shop&date={day}&funnel=nope"
        ))
        .await;
    assert_eq!(
        (status, &body["field"]),
        (StatusCode::NOT_FOUND, &json!("funnel"))
    );
    let (status, body) = system.report("/stats/funnel?site_id=shop").await;
    assert_eq!(
        (status, &body["field"]),
        (StatusCode::BAD_REQUEST, &json!("funnel"))
    );
    let (status, none) = system.report("/stats/goals?site_id=unregistered").await;
    assert_eq!((status, &none["goals"]), (StatusCode::OK, &json!([])));

    stdout(&system.admin(&["goal", "remove", "shop", "--page", "/blog/**"]));
    stdout(&system.admin(&["funnel", "remove", "shop", "checkout"]));
    let (_, goals) = system
        .report(&format!("/stats/goals?site_id=shop&date={day}"))
        .await;
    assert_eq!(goals["goals"].as_array().unwrap().len(), 3);
    assert_eq!(funnel(&system, &day, "").await.0, StatusCode::NOT_FOUND);
    system.shutdown().await;
}

/// The day's site total's goal list: the goals every event of the day was counted by.
async fn listed_goals(system: &TestSystem, day: &str) -> Vec<String> {
    let daily = system
        .store
        .database()
        .collection::<Document>("rollups_daily");
    let filter = doc! { "site": "shop", "dim": "total", "day": day };
    let total = daily.find_one(filter).await.unwrap().unwrap();
    let list = total.get_array("goals").cloned().unwrap_or_default();
    list.iter()
        .map(|g| g.as_str().unwrap().to_owned())
        .collect()
}

/// Goals are read from the worker's rollups over days every event of which was counted by
/// them, and from raw events over a day that began before a goal was added, until a rebuild.
#[tokio::test]
async fn goals_read_rollups_over_days_that_counted_them_and_raw_events_otherwise() {
    let system = TestSystem::start().await;
    stdout(&system.admin(&["site", "add", "shop", "--public"]));
    stdout(&system.admin(&["goal", "add", "shop", "--event", "signup"]));
    let (day, _) = day_ago(1, 0, 0);
    let goals_url = format!("/stats/goals?site_id=shop&date={day}");
    let report = |url: String| {
        let system = &system;
        async move {
            let (status, body) = system.report(&url).await;
            assert_eq!(status, StatusCode::OK, "{url}: {body}");
            body["goals"].clone()
        }
    };
    let scanned = || report(format!("{goals_url}&filters=event_type!%3D__none__"));
    let figures = |goals: &Value| -> Vec<(i64, i64)> {
        let goals = goals.as_array().unwrap().iter();
        goals
            .map(|g| {
                (
                    g["visitors"].as_i64().unwrap(),
                    g["events"].as_i64().unwrap(),
                )
            })
            .collect()
    };

    let first = json!([
        view("a", "/thanks", 9, 0),
        at("a", "signup", "/", 9, 1),
        view("b", "/thanks", 9, 0),
    ]);
    let (status, body) = system.post_as(&first, "203.0.113.5", CHROME).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    system.wait_stored(3).await;
    assert_eq!(listed_goals(&system, &day).await, ["event:signup"]);
    let goals = report(goals_url.clone()).await;
    assert_eq!(figures(&goals), [(1, 1)]);
    assert_eq!(goals, scanned().await);

    // A goal and a funnel added once the day has begun: the day's earlier events were not
    // counted by them.
    stdout(&system.admin(&["goal", "add", "shop", "--page", "/thanks"]));
    let late = [
        "funnel",
        "add",
        "shop",
        "late",
        "--step",
        "page:/thanks",
        "--step",
        "event:signup",
    ];
    stdout(&system.admin(&late));
    let funnel_url = format!("/stats/funnel?site_id=shop&date={day}&funnel=late");
    let funnel = |filters: &'static str| {
        let url = format!("{funnel_url}{filters}");
        let system = &system;
        async move {
            let (status, body) = system.report(&url).await;
            assert_eq!(status, StatusCode::OK, "{url}: {body}");
            let steps = body["steps"].as_array().unwrap().iter();
            steps
                .map(|s| s["visitors"].as_i64().unwrap())
                .collect::<Vec<i64>>()
        }
    };
    let second = json!([view("c", "/thanks", 11, 0), at("c", "signup", "/", 11, 1)]);
    let (status, body) = system.post_as(&second, "203.0.113.5", CHROME).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    system.wait_stored(5).await;
    assert_eq!(listed_goals(&system, &day).await, ["event:signup"]);
    let goals = report(goals_url.clone()).await;
    // From raw events: all three visitors of /thanks (its rollups hold only c), and a, whose
    // funnel steps came before the funnel was added.
    assert_eq!(figures(&goals), [(2, 2), (3, 3)]);
    assert_eq!(goals, scanned().await);
    assert_eq!(funnel("").await, [3, 2]);
    assert_eq!(funnel("&filters=event_type!%3D__none__").await, [3, 2]);

    // A rebuild counts the day by every goal.
    let rebuild = ["rollups", "rebuild", "shop", "--from", &day, "--to", &day];
    stdout(&system.admin(&rebuild));
    let all = [
        "event:signup",
        "funnel:late\u{1f}page:/thanks\u{1f}event:signup",
        "page:/thanks",
    ];
    assert_eq!(listed_goals(&system, &day).await, all);
    assert_eq!(report(goals_url.clone()).await, goals);
    assert_eq!(funnel("").await, [3, 2]);

    // A goal removed during the day leaves the day's list for good, even if added again.
    stdout(&system.admin(&["goal", "remove", "shop", "--event", "signup"]));
    let third = json!([view("d", "/thanks", 12, 0)]);
    let (status, body) = system.post_as(&third, "203.0.113.5", CHROME).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    system.wait_stored(6).await;
    stdout(&system.admin(&["goal", "add", "shop", "--event", "signup"]));
    let fourth = json!([view("e", "/thanks", 13, 0)]);
    let (status, body) = system.post_as(&fourth, "203.0.113.5", CHROME).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    system.wait_stored(7).await;
    let kept = [
        "funnel:late\u{1f}page:/thanks\u{1f}event:signup",
        "page:/thanks",
    ];
    assert_eq!(listed_goals(&system, &day).await, kept);
    let goals = report(goals_url.clone()).await;
    assert_eq!(figures(&goals), [(5, 5), (2, 2)]);
    assert_eq!(goals, scanned().await);

    // Rebuilt again, the day lists them all; with the raw events gone the rollups still answer.
    stdout(&system.admin(&rebuild));
    assert_eq!(listed_goals(&system, &day).await, all);
    let events = system.store.database().collection::<Document>("events");
    events
        .delete_many(doc! { "site_id": "shop" })
        .await
        .unwrap();
    assert_eq!(report(goals_url.clone()).await, goals);
    assert_eq!(funnel("").await, [5, 2]);
    // A filtered report reads the events' blocks; once they are gone too (as after the
    // retention) it has none left.
    let filtered = "&filters=event_type!%3D__none__";
    assert_eq!(funnel(filtered).await, [5, 2]);
    let blocks = system
        .store
        .database()
        .collection::<Document>("event_blocks");
    blocks.delete_many(doc! { "site": "shop" }).await.unwrap();
    assert_eq!(funnel(filtered).await, [0, 0]);
    system.shutdown().await;
}
