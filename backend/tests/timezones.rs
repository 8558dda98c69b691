//! A registered site's time zone over the wire: its days and hours cut in that zone across DST
//! changes and in a half-hour zone, set at ingestion, and past days moved by a rebuild.

mod support;

use beacon::rollup::{Position, Zone};
use beacon::worker::store_batch;
use beacon_event::event::Context;
use beacon_event::{Event, EventType, PagePath, SiteId, VisitorId};
use reqwest::StatusCode;
use serde_json::{json, Value};
use support::{day_ago, stdout, TestSystem};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

/// A page view as the worker receives it, counted in `zone`.
fn view(
    site: &str,
    zone: &str,
    visitor: &str,
    path: &str,
    at: OffsetDateTime,
    n: i64,
) -> (Event, Position) {
    let what = (
        SiteId::parse(site).unwrap(),
        EventType::parse("page_view").unwrap(),
        PagePath::parse(path).unwrap(),
    );
    let visitor = VisitorId::parse(visitor).unwrap();
    let event = Event {
        context: Context {
            timezone: zone.to_owned(),
            ..Context::default()
        },
        ..Event::new(uuid::Uuid::new_v4(), what, visitor, at)
    };
    (
        event,
        Position {
            partition: 0,
            offset: n,
        },
    )
}

async fn register(system: &TestSystem, site: &str, zone: &str) {
    stdout(&system.admin(&["site", "add", site, "--public"]));
    let set = stdout(&system.admin(&["site", "set", site, "--timezone", zone]));
    assert!(set.contains(&format!("zone:    {zone}")), "{set}");
}

async fn get(system: &TestSystem, query: &str) -> Value {
    let (status, body) = system.report(query).await;
    assert_eq!(status, StatusCode::OK, "{query}: {body}");
    body
}

/// `(time, views)` of every point of a timeseries.
fn points(body: &Value) -> Vec<(String, i64)> {
    body["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["time"].as_str().unwrap().to_owned(),
                p["views"].as_i64().unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn days_and_hours_in_the_sites_zone_across_dst_and_half_hours() {
    let system = TestSystem::start_with(&[], false).await;
    register(&system, "berlin", "Europe/Berlin").await;
    register(&system, "kolkata", "Asia/Kolkata").await;
    let b = |v: &str, path: &str, at, n| view("berlin", "Europe/Berlin", v, path, at, n);
    let k = |v: &str, at, n| view("kolkata", "Asia/Kolkata", v, "/", at, n);
    let events = vec![
        b("a", "/", datetime!(2026-03-28 22:30 UTC), 0), // 23:30 CET, the 28th
        b("b", "/", datetime!(2026-03-28 23:30 UTC), 1), // 00:30 CET, the 29th
        b("c", "/x", datetime!(2026-03-29 01:30 UTC), 2), // 03:30 CEST (02:00-03:00 never was)
        b("d", "/", datetime!(2026-03-29 21:30 UTC), 3), // 23:30 CEST
        b("e", "/", datetime!(2026-03-29 22:30 UTC), 4), // 00:30 CEST, the 30th
        k("f", datetime!(2026-11-20 18:15 UTC), 5),      // 23:45 IST, the 20th
        k("g", datetime!(2026-11-20 18:45 UTC), 6),      // 00:15 IST, the 21st
    ];
    store_batch(&system.store, &events, Duration::days(36_500))
        .await
        .unwrap();

    let day = get(&system, "/stats?site_id=berlin&date=2026-03-29").await;
    assert_eq!(
        (&day["total_views"], &day["unique_users"]),
        (&json!(3), &json!(3))
    );
    assert_eq!(
        get(&system, "/stats?site_id=berlin&date=2026-03-28").await["total_views"],
        1
    );
    // Filtered reports read raw events: the same local day.
    let filtered = get(
        &system,
        "/stats?site_id=berlin&date=2026-03-29&filters=path%3D%3D/",
    )
    .await;
    assert_eq!(filtered["total_views"], 2);

    let hours = points(&get(&system, "/stats/timeseries?site_id=berlin&date=2026-03-29").await);
    assert_eq!(hours.len(), 23, "a day of 23 hours");
    assert_eq!(hours[0], ("2026-03-29T00:00:00+01:00".to_owned(), 1));
    assert_eq!(hours[1].0, "2026-03-29T01:00:00+01:00");
    assert_eq!(hours[2], ("2026-03-29T03:00:00+02:00".to_owned(), 1));
    assert_eq!(hours[22], ("2026-03-29T23:00:00+02:00".to_owned(), 1));
    let filtered_hours = points(
        &get(
            &system,
            "/stats/timeseries?site_id=berlin&date=2026-03-29&filters=path%3D%3D/x",
        )
        .await,
    );
    assert_eq!(
        filtered_hours[2],
        ("2026-03-29T03:00:00+02:00".to_owned(), 1)
    );
    let autumn = points(&get(&system, "/stats/timeseries?site_id=berlin&date=2026-10-25").await);
    assert_eq!(autumn.len(), 25, "a day of 25 hours");

    let kolkata = get(&system, "/stats?site_id=kolkata&date=2026-11-21").await;
    assert_eq!(kolkata["total_views"], 1);
    let hours = points(&get(&system, "/stats/timeseries?site_id=kolkata&date=2026-11-21").await);
    assert_eq!(hours[0], ("2026-11-21T00:00:00+05:30".to_owned(), 1));
    let days = get(
        &system,
        "/stats/timeseries?site_id=kolkata&from=2026-11-20&to=2026-11-21",
    )
    .await;
    assert_eq!(
        points(&days),
        [("2026-11-20".to_owned(), 1), ("2026-11-21".to_owned(), 1)]
    );
    system.shutdown().await;
}

#[tokio::test]
async fn ingestion_counts_in_the_sites_zone_and_a_rebuild_moves_past_days() {
    let system = TestSystem::start().await;
    // UTC+14: its "today" is often not UTC's.
    register(&system, "kiritimati", "Pacific/Kiritimati").await;
    let event =
        json!({"site_id": "kiritimati", "event_type": "page_view", "path": "/", "user_id": "u"});
    let (status, body) = system.post(&event).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    system.wait_rolled_up(1).await;
    let today = Zone::named("Pacific/Kiritimati")
        .unwrap()
        .date_of(OffsetDateTime::now_utc());
    let stats = get(&system, "/stats?site_id=kiritimati").await;
    assert_eq!(stats["total_views"], 1, "{stats}");
    let on_day = get(&system, &format!("/stats?site_id=kiritimati&date={today}")).await;
    assert_eq!(on_day["total_views"], 1);
    let hours = get(&system, "/stats/timeseries?site_id=kiritimati").await;
    assert!(
        hours["points"][0]["time"]
            .as_str()
            .unwrap()
            .ends_with("+14:00"),
        "{hours}"
    );

    // Counted in UTC, then the site moves to Berlin: a rebuild moves 23:30 UTC to the next day.
    let (day3, _) = day_ago(3, 0, 0);
    let (day2, _) = day_ago(2, 0, 0);
    let late = OffsetDateTime::now_utc().date() - Duration::days(3);
    let at = late.with_hms(23, 30, 0).unwrap().assume_utc();
    store_batch(
        &system.store,
        &[view("moved", "", "v", "/", at, 0)],
        Duration::days(36_500),
    )
    .await
    .unwrap();
    register(&system, "moved", "Europe/Berlin").await;
    let before = get(&system, &format!("/stats?site_id=moved&date={day3}")).await;
    assert_eq!(before["total_views"], 1, "still cut in UTC until rebuilt");
    let said = stdout(&system.admin(&[
        "rollups", "rebuild", "moved", "--from", &day3, "--to", &day2,
    ]));
    assert!(said.contains("rebuilt moved"), "{said}");
    assert_eq!(
        get(&system, &format!("/stats?site_id=moved&date={day3}")).await["total_views"],
        0
    );
    assert_eq!(
        get(&system, &format!("/stats?site_id=moved&date={day2}")).await["total_views"],
        1
    );
    let refused = system.admin(&["site", "set", "moved", "--timezone", "Mars/Olympus"]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("IANA"));
    system.shutdown().await;
}
