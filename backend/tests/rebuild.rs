//! `beacon-admin rollups rebuild` over the wire: a site's rollups recomputed from its raw
//! events equal what the worker's single pass wrote, whatever was damaged in between, and a
//! second rebuild changes nothing.

mod support;

use std::collections::BTreeMap;

use mongodb::bson::{doc, Bson, Document};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::StatusCode;
use serde_json::{json, Value};
use support::{day_ago, stdout, TestSystem, CHROME, IPHONE};

const REFERRERS: [&str; 3] = [
    "https://www.google.com/",
    "https://news.ycombinator.com/",
    "",
];

/// Two days of a small site's traffic: visitors returning, several pages, custom events.
fn traffic(seed: u64) -> Vec<Value> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..80)
        .map(|_| {
            let (days, hh, mm) = (
                rng.random_range(1..=2),
                rng.random_range(0..24),
                rng.random_range(0..60),
            );
            let (_, ts) = day_ago(days, hh, mm);
            let kind = if rng.random_bool(0.2) {
                "signup"
            } else {
                "page_view"
            };
            let mut e = json!({
                "site_id": "rb", "event_type": kind, "timestamp": ts,
                "path": format!("/p{}", rng.random_range(0..5)),
                "user_id": format!("u{}", rng.random_range(0..9)),
            });
            let referrer = REFERRERS[rng.random_range(0..REFERRERS.len())];
            if !referrer.is_empty() {
                e["referrer"] = json!(referrer);
            }
            e
        })
        .collect()
}

/// Every rollup document of the site, by id, its fields sorted, without the watermarks.
async fn rollups(system: &TestSystem) -> BTreeMap<String, BTreeMap<String, Bson>> {
    let docs = support::rollup_documents(&system.store, doc! { "site": "rb" }).await;
    docs.into_iter()
        .map(|(id, d)| (id, d.into_iter().collect()))
        .collect()
}

#[tokio::test]
async fn a_rebuild_equals_the_single_pass_repairs_damage_and_is_idempotent() {
    let system = TestSystem::start().await;
    let events = traffic(7);
    for (i, chunk) in events.chunks(20).enumerate() {
        let ua = if i % 2 == 0 { CHROME } else { IPHONE };
        let (status, body) = system.post_as(&json!(chunk), "203.0.113.8", ua).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    }
    system.wait_stored(events.len() as u64).await;
    system.wait_rolled_up(events.len() as u64).await;
    let single_pass = rollups(&system).await;
    assert!(single_pass.len() > 20, "{} documents", single_pass.len());

    // Damage: a wrong counter, a document that should not exist, one that is missing.
    let daily = system
        .store
        .database()
        .collection::<Document>("rollups_daily");
    let (yesterday, _) = day_ago(1, 0, 0);
    let (before, _) = day_ago(2, 0, 0);
    let total = format!("rb|{yesterday}|total|");
    daily
        .update_one(
            doc! { "_id": &total },
            doc! { "$set": { "views": 999_i64 } },
        )
        .await
        .unwrap();
    let bogus = doc! { "_id": format!("rb|{yesterday}|path|/bogus"), "site": "rb", "dim": "path",
    "value": "/bogus", "day": &yesterday, "views": 5_i64, "wm": { "0": 1_i64 } };
    daily.insert_one(bogus).await.unwrap();
    let missing = single_pass
        .keys()
        .find(|id| id.contains("|source|"))
        .unwrap()
        .clone();
    daily.delete_one(doc! { "_id": &missing }).await.unwrap();
    assert_ne!(rollups(&system).await, single_pass);

    let args = [
        "rollups", "rebuild", "rb", "--from", &before, "--to", &yesterday,
    ];
    let said = stdout(&system.admin(&args));
    assert!(
        said.contains(&format!("rebuilt rb {before}..{yesterday} from 80 events")),
        "{said}"
    );
    assert!(said.contains("1 removed"), "{said}");
    assert_eq!(rollups(&system).await, single_pass);

    // Again: the same documents, nothing removed.
    let said = stdout(&system.admin(&args));
    assert!(said.contains(" 0 removed"), "{said}");
    assert_eq!(rollups(&system).await, single_pass);

    // Days older than the raw events kept are left as they are, and said so.
    let said = stdout(&system.admin(&[
        "rollups",
        "rebuild",
        "rb",
        "--from",
        "2020-01-01",
        "--to",
        "2020-01-31",
    ]));
    assert!(
        said.contains("left 2020-01-01..2020-01-31 as they are"),
        "{said}"
    );
    assert!(!said.contains("rebuilt"), "{said}");
    let refused = system.admin(&["rollups", "rebuild", "rb", "--from", "2026-13-01"]);
    assert!(!refused.status.success());
    let names = system
        .store
        .database()
        .client()
        .list_database_names()
        .await
        .unwrap();
    assert!(
        !names.iter().any(|n| n.contains("_rebuild_")),
        "scratch left: {names:?}"
    );
    system.shutdown().await;
}
