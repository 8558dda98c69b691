//! `beacon-admin import plausible` over the wire: Plausible's CSV export (the fixture folder,
//! and a zip) becomes daily counters that `/stats` and breakdowns read like tracked days;
//! importing again changes nothing; rows that cannot be read are skipped with their reason;
//! days Beacon tracked itself are refused until the operator says which side wins.

mod support;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use mongodb::bson::doc;
use reqwest::StatusCode;
use serde_json::{json, Value};
use support::{day_ago, rollup_documents, stdout, TestSystem};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/plausible");

/// A breakdown's rows as value → visitors.
fn visitors_by_value(body: &Value) -> BTreeMap<String, i64> {
    body["results"]
        .as_array()
        .unwrap_or_else(|| panic!("no results: {body}"))
        .iter()
        .map(|r| {
            let value = r["value"].as_str().unwrap().to_owned();
            (value, r["visitors"].as_i64().unwrap())
        })
        .collect()
}

fn want(rows: &[(&str, i64)]) -> BTreeMap<String, i64> {
    rows.iter().map(|(v, n)| (v.to_string(), *n)).collect()
}

async fn breakdown(system: &TestSystem, site: &str, day: &str, property: &str) -> Value {
    let (status, body) = system
        .report(&format!(
            "/stats/breakdown?site_id={site}&date={day}&property={property}&limit=50"
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

#[tokio::test]
async fn an_export_reads_like_tracked_days_and_importing_again_changes_nothing() {
    let system = TestSystem::start().await;
    let said = stdout(&system.admin(&["import", "plausible", FIXTURES, "--site", "imp"]));
    for line in [
        "imported_pages_20240301_20240303.csv: 9 rows read, 7 imported, 2 skipped",
        "  1 skipped: date is not a YYYY-MM-DD day",
        "  1 skipped: visitors is not a whole number (0 to 2^40)",
        "imported_sources_20240301_20240303.csv: 4 rows read, 4 imported, 0 skipped",
        "imported_custom_props_20240301_20240303.csv: not a table Beacon imports; not read",
        "README.md: not a table Beacon imports; not read",
        "imported imp 2024-03-01..2024-03-03:",
    ] {
        assert!(said.contains(line), "{line:?} not in:\n{said}");
    }

    let (status, stats) = system
        .report(
            "/stats?site_id=imp&date=2024-03-01&metrics=visits,bounce_rate,visit_duration,events",
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{stats}");
    assert_eq!(stats["total_views"], 30, "{stats}");
    assert_eq!(stats["unique_users"], 10, "{stats}");
    assert_eq!(stats["visits"], 12, "{stats}");
    assert_eq!(stats["bounce_rate"], 33.3, "{stats}");
    assert_eq!(stats["visit_duration"], 50, "{stats}");
    // `/stats`' events are the custom ones (6 that day), counted in the day's total as a
    // tracked day counts them.
    assert_eq!(stats["events"], 6, "{stats}");
    // Two hosts' `/pricing` are one path; `/about` came last, out of order, and still counts.
    assert_eq!(
        stats["top_paths"],
        json!([{"path": "/", "views": 15}, {"path": "/pricing", "views": 14}, {"path": "/about", "views": 1}])
    );
    let (_, range) = system
        .report("/stats?site_id=imp&from=2024-03-01&to=2024-03-03")
        .await;
    assert_eq!(
        (range["total_views"].clone(), range["unique_users"].clone()),
        (json!(95), json!(35)),
        "{range}"
    );

    // The dashboard's chart: one point per day.
    let (_, chart) = system
        .report("/stats/timeseries?site_id=imp&from=2024-03-01&to=2024-03-03")
        .await;
    let views: Vec<&Value> = chart["points"]
        .as_array()
        .unwrap_or_else(|| panic!("{chart}"))
        .iter()
        .map(|p| &p["views"])
        .collect();
    assert_eq!(views, [&json!(30), &json!(56), &json!(9)], "{chart}");

    let day = "2024-03-01";
    for (property, rows) in [
        ("source", vec![("Google", 6), ("Direct", 4)]),
        (
            "channel",
            vec![("Organic Search", 4), ("Direct", 4), ("Paid Search", 2)],
        ),
        ("utm_medium", vec![("", 8), ("cpc", 2)]),
        ("browser", vec![("Chrome", 6), ("Edge", 4)]),
        ("os", vec![("macOS", 7), ("Linux", 3)]),
        ("device", vec![("desktop", 8), ("mobile", 2)]),
        ("country", vec![("DE", 6), ("US", 4)]),
        ("entry_page", vec![("/", 8), ("/pricing", 3)]),
        // Exit pages count exits, as tracked ones do.
        ("exit_page", vec![("/pricing", 7), ("/", 5)]),
        (
            "event_type",
            vec![
                ("page_view", 10),
                ("Signup", 3),
                ("Outbound Link: Click", 2),
            ],
        ),
    ] {
        let body = breakdown(&system, "imp", day, property).await;
        assert_eq!(visitors_by_value(&body), want(&rows), "{property}: {body}");
    }
    let referrers = breakdown(&system, "imp", "2024-03-02", "referrer").await;
    assert_eq!(
        visitors_by_value(&referrers),
        want(&[("news.ycombinator.com", 20)])
    );

    // Plausible's own Stats API over the imported range, as a dashboard written for it asks.
    let v1 = "/api/v1/stats/aggregate?site_id=imp&period=custom&date=2024-03-01,2024-03-03\
              &metrics=pageviews,visitors,visits,events";
    let (status, agg) = system.report(&format!("{v1}&with_imported=true")).await;
    assert_eq!(status, StatusCode::OK, "{agg}");
    assert_eq!(
        agg,
        json!({"results": {"pageviews": {"value": 95}, "visitors": {"value": 35}, "visits": {"value": 43},
            "events": {"value": 106}}})
    );
    let (status, refused) = system.report(&format!("{v1}&with_imported=false")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
    assert!(refused.to_string().contains("with_imported"), "{refused}");

    let before = rollup_documents(&system.store, doc! { "site": "imp" }).await;
    assert!(before.values().all(|d| d.get_str("imp").is_ok()));
    let again = stdout(&system.admin(&["import", "plausible", FIXTURES, "--site", "imp"]));
    assert_eq!(again, said);
    assert_eq!(
        rollup_documents(&system.store, doc! { "site": "imp" }).await,
        before
    );

    // A rebuild recomputes from raw events: imported days have none and are left alone.
    let rebuilt = stdout(&system.admin(&[
        "rollups",
        "rebuild",
        "imp",
        "--from",
        "2024-02-28",
        "--to",
        "2024-03-04",
    ]));
    assert!(
        rebuilt.contains("left 3 imported day(s) as they are"),
        "{rebuilt}"
    );
    assert_eq!(
        rollup_documents(&system.store, doc! { "site": "imp" }).await,
        before
    );
    system.shutdown().await;
}

/// A zip like Plausible's: visitors and pages for `days`, one page view per visitor.
fn export_zip(dir: &Path, days: &[(&str, i64)]) -> PathBuf {
    let path = dir.join("plausible-export.zip");
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    zip.start_file("imported_visitors_20240101_20241231.csv", options)
        .unwrap();
    writeln!(zip, "date,visitors,pageviews,bounces,visits,visit_duration").unwrap();
    for (day, n) in days {
        writeln!(zip, "{day},{n},{n},{n},{n},0").unwrap();
    }
    zip.start_file("imported_pages_20240101_20241231.csv", options)
        .unwrap();
    writeln!(zip, "date,hostname,page,visits,visitors,pageviews").unwrap();
    for (day, n) in days {
        writeln!(zip, "{day},ovl.example,/old,{n},{n},{n}").unwrap();
    }
    zip.finish().unwrap();
    path
}

async fn views_on(system: &TestSystem, day: &str) -> (i64, Value) {
    let (status, stats) = system
        .report(&format!("/stats?site_id=ovl&date={day}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{stats}");
    (
        stats["total_views"].as_i64().unwrap(),
        stats["top_paths"].clone(),
    )
}

#[tokio::test]
async fn tracked_days_are_kept_or_replaced_only_when_told_which_wins() {
    let system = TestSystem::start().await;
    let (tracked, at) = day_ago(1, 9, 0);
    let (untracked, _) = day_ago(2, 0, 0);
    let view = |user: &str| {
        json!({"site_id": "ovl", "event_type": "page_view", "path": "/new", "user_id": user,
            "timestamp": at})
    };
    let (status, body) = system.post(&json!([view("a"), view("b")])).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    system.wait_rolled_up(2).await;

    let dir = std::env::temp_dir().join(format!("beacon-import-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let today = support::today();
    let zip = export_zip(&dir, &[(&untracked, 7), (&tracked, 5), (&today, 3)]);
    let zip = zip.to_str().unwrap();

    let refused = system.admin(&["import", "plausible", zip, "--site", "ovl"]);
    assert!(!refused.status.success());
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(
        err.contains(&format!(
            "1 day(s) of this export already have Beacon's own data for ovl ({tracked})"
        )) && err.contains("--prefer"),
        "{err}"
    );
    let import_preferring = |side: &str| {
        stdout(&system.admin(&[
            "import",
            "plausible",
            zip,
            "--site",
            "ovl",
            "--prefer",
            side,
        ]))
    };
    let imported = doc! { "site": "ovl", "imp": { "$exists": true } };
    assert!(rollup_documents(&system.store, imported.clone())
        .await
        .is_empty());

    let said = import_preferring("native");
    assert!(
        said.contains("1 skipped: the day has Beacon's own data (--prefer native)"),
        "{said}"
    );
    assert!(said.contains("Beacon's own counters were kept"), "{said}");
    // Today is not over: its rows wait for an export made after it.
    assert!(
        said.contains("1 skipped: the day is not over (today or later, the site's time)"),
        "{said}"
    );
    assert_eq!(views_on(&system, &today).await.0, 0);
    assert_eq!(views_on(&system, &tracked).await.0, 2);
    assert_eq!(
        views_on(&system, &untracked).await,
        (7, json!([{"path": "/old", "views": 7}]))
    );

    let said = import_preferring("imported");
    assert!(
        said.contains("the export's counters replaced Beacon's"),
        "{said}"
    );
    assert_eq!(
        views_on(&system, &tracked).await,
        (5, json!([{"path": "/old", "views": 5}]))
    );
    // Its hourly counters went with the day's; its raw events stay for filtered reports.
    let hourly = doc! { "site": "ovl", "hour": { "$exists": true } };
    assert!(rollup_documents(&system.store, hourly).await.is_empty());
    let (_, filtered) = system
        .report(&format!(
            "/stats?site_id=ovl&date={tracked}&filters=path%3D%3D/new"
        ))
        .await;
    assert_eq!(filtered["total_views"], 2, "{filtered}");

    // A file without a column its table needs stops the import before anything is written.
    let broken = dir.join("broken");
    std::fs::create_dir_all(&broken).unwrap();
    std::fs::write(
        broken.join("imported_visitors.csv"),
        "date,visitors,pageviews\n2024-01-01,1,1\n",
    )
    .unwrap();
    let refused = system.admin(&[
        "import",
        "plausible",
        broken.to_str().unwrap(),
        "--site",
        "bad",
    ]);
    assert!(!refused.status.success());
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(
        err.contains("imported_visitors.csv: missing column(s) bounces, visits, visit_duration"),
        "{err}"
    );
    let nothing_for_bad = || async {
        rollup_documents(&system.store, doc! { "site": "bad" })
            .await
            .is_empty()
    };
    assert!(nothing_for_bad().await);

    // A damaged archive is an error naming the file, not rows quietly skipped.
    let mut bytes = std::fs::read(zip).unwrap();
    let at = bytes.len() / 4;
    bytes[at..at + 8].iter_mut().for_each(|b| *b ^= 0x5a);
    let damaged = dir.join("damaged.zip");
    std::fs::write(&damaged, bytes).unwrap();
    let damaged = damaged.to_str().unwrap();
    let refused = system.admin(&["import", "plausible", damaged, "--site", "bad"]);
    assert!(!refused.status.success());
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(
        err.contains("imported_visitors_20240101_20241231.csv"),
        "{err}"
    );
    assert!(nothing_for_bad().await);
    std::fs::remove_dir_all(&dir).unwrap();
    system.shutdown().await;
}
