//! Custom properties in reports, over the wire: `property=props.<key>` breakdowns and
//! `props.<key>` filters on what the events carried.

mod support;

use mongodb::bson::{doc, Document};
use reqwest::StatusCode;
use serde_json::{json, Value};
use support::{TestSystem, CHROME};

fn event(user: &str, kind: &str, path: &str, props: Value) -> Value {
    json!({"site_id": "props", "event_type": kind, "path": path, "user_id": user, "props": props})
}

/// Five events of four visitors, three of them with custom properties.
fn batch() -> Value {
    json!([
        event("a", "page_view", "/pricing", json!({"plan": "pro"})),
        event(
            "a",
            "signup",
            "/pricing",
            json!({"plan": "pro", "seats": 3})
        ),
        event(
            "b",
            "signup",
            "/pricing",
            json!({"plan": "team", "seats": 12, "trial": true})
        ),
        event("c", "signup", "/", json!({"plan": "pro", "seats": 2.5})),
        event("d", "page_view", "/", json!(null)),
    ])
}

#[tokio::test]
async fn breakdowns_and_filters_by_custom_property() {
    let system = TestSystem::start().await;
    let (status, body) = system.post_as(&batch(), "203.0.113.7", CHROME).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    system.wait_stored(5).await;

    let (status, plans) = system
        .report("/stats/breakdown?site_id=props&property=props.plan")
        .await;
    assert_eq!(status, StatusCode::OK, "{plans}");
    assert_eq!(plans["property"], "props.plan");
    let rows: Vec<(String, i64, i64, i64)> = plans["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let n = |k: &str| r[k].as_i64().unwrap();
            (
                r["value"].as_str().unwrap().to_owned(),
                n("visitors"),
                n("events"),
                n("views"),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [("pro".to_owned(), 2, 3, 1), ("team".to_owned(), 1, 1, 0)]
    );
    // 2 of the 4 visitors of the day sent a `pro` event.
    assert_eq!(plans["results"][0]["conversion_rate"], 50.0);

    let values = |body: &Value| -> Vec<String> {
        let rows = body["results"].as_array().unwrap().iter();
        let mut v: Vec<String> = rows.map(|r| r["value"].as_str().unwrap().into()).collect();
        v.sort();
        v
    };
    let (_, seats) = system
        .report("/stats/breakdown?site_id=props&property=props.seats")
        .await;
    assert_eq!(values(&seats), ["12", "2.5", "3"]);
    let (_, trial) = system
        .report("/stats/breakdown?site_id=props&property=props.trial")
        .await;
    assert_eq!(values(&trial), ["true"]);
    // The keys themselves: which properties there are, with how many events carry each.
    let (status, keys) = system
        .report("/stats/breakdown?site_id=props&property=props")
        .await;
    assert_eq!(status, StatusCode::OK, "{keys}");
    let events: Vec<(String, i64)> = keys["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["value"].as_str().unwrap().into(),
                r["events"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        events,
        [("plan".into(), 4), ("seats".into(), 3), ("trial".into(), 1)]
    );
    let (status, body) = system
        .report("/stats?site_id=props&filters=props%3D%3Dplan")
        .await;
    assert_eq!(
        (status, &body["field"]),
        (StatusCode::BAD_REQUEST, &json!("filters"))
    );
    let (_, none) = system
        .report("/stats/breakdown?site_id=props&property=props.colour")
        .await;
    assert_eq!(none["results"], json!([]));

    for (filters, views, visitors) in [
        ("props.plan%3D%3Dpro", 1, 2),
        ("props.plan%3D%3Dteam%7Cpro", 1, 3),
        ("props.plan!%3Dpro", 1, 2),
        ("props.seats~%3D.", 0, 1),
        ("props.trial%3D%3Dtrue%3Bpath%3D%3D/pricing", 0, 1),
    ] {
        let (status, got) = system
            .report(&format!("/stats?site_id=props&filters={filters}"))
            .await;
        assert_eq!(status, StatusCode::OK, "{filters}: {got}");
        assert_eq!(
            (&got["total_views"], &got["unique_users"]),
            (&json!(views), &json!(visitors)),
            "{filters}"
        );
    }
    let (_, by_path) = system
        .report("/stats/breakdown?site_id=props&property=path&filters=props.plan%3D%3Dpro")
        .await;
    assert_eq!(values(&by_path), ["/", "/pricing"]);

    for bad in ["props.", "prop", "props.a%0Ab"] {
        let (status, body) = system
            .report(&format!("/stats/breakdown?site_id=props&property={bad}"))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        assert_eq!(body["field"], "property");
    }
    system.shutdown().await;
}

/// Unfiltered property reports read the worker's rollups, which count what the raw events hold;
/// a day begun by a worker that did not roll properties up (no `rv` on its total) is read from
/// raw events until a rebuild counts it again.
#[tokio::test]
async fn property_reports_read_rollups_and_raw_events_for_days_begun_before_them() {
    let system = TestSystem::start().await;
    let (status, body) = system.post_as(&batch(), "203.0.113.7", CHROME).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    system.wait_stored(5).await;

    let breakdown = |property: &str, filters: &str| {
        let url = format!("/stats/breakdown?site_id=props&property={property}{filters}");
        let system = &system;
        async move {
            let (status, body) = system.report(&url).await;
            assert_eq!(status, StatusCode::OK, "{url}: {body}");
            body["results"].clone()
        }
    };
    // `path~=/` matches every event, so that report reads the raw events.
    let mut rolled_up = Vec::new();
    for property in ["props.plan", "props.seats", "props.trial", "props"] {
        let rows = breakdown(property, "").await;
        assert_eq!(
            rows,
            breakdown(property, "&filters=path~%3D/").await,
            "{property}"
        );
        assert!(!rows.as_array().unwrap().is_empty(), "{property}");
        rolled_up.push(rows);
    }

    // A day whose total an older worker created (no `rv`), its property documents and event
    // blocks missing: its property reports read raw events, not rollups that would miss its
    // earlier events, and its filtered reports read one raw document per event.
    let db = system.store.database();
    let blocks = db.collection::<Document>("event_blocks");
    let site_blocks = doc! { "site": "props" };
    let removed = blocks.delete_many(site_blocks.clone()).await.unwrap();
    assert!(removed.deleted_count >= 1);
    let daily = db.collection::<Document>("rollups_daily");
    let total = doc! { "site": "props", "dim": "total" };
    let older = daily
        .update_many(total.clone(), doc! { "$unset": { "rv": "" } })
        .await
        .unwrap();
    assert_eq!(older.modified_count, 1);
    let props_docs = doc! { "site": "props", "dim": { "$regex": "^props" } };
    let removed = daily.delete_many(props_docs.clone()).await.unwrap();
    assert_eq!(removed.deleted_count, 9, "3 keys and 6 values");
    for (property, rows) in ["props.plan", "props"]
        .iter()
        .zip([&rolled_up[0], &rolled_up[3]])
    {
        assert_eq!(&breakdown(property, "").await, rows, "{property}");
        let filtered = breakdown(property, "&filters=path~%3D/").await;
        assert_eq!(&filtered, rows, "{property}, filtered");
    }

    // A rebuild counts the day afresh, properties included, writes its events' blocks, and
    // says so on its total.
    let today = support::today();
    let said = support::stdout(&system.admin(&["rollups", "rebuild", "props", "--from", &today]));
    assert!(said.contains("from 5 events"), "{said}");
    assert_eq!(daily.count_documents(props_docs).await.unwrap(), 9);
    let rebuilt = daily.find_one(total).await.unwrap().unwrap();
    assert_eq!(rebuilt.get_i64("rv").ok(), Some(3), "{rebuilt}");
    assert!(blocks.count_documents(site_blocks.clone()).await.unwrap() >= 1);

    // Documents in the blocks' collection that are not blocks (written by other means) are
    // left out, not the report.
    let day = support::today();
    let strays = [
        doc! { "_id": 7, "site": "props", "day": &day },
        doc! { "_id": "stray", "site": "props", "day": &day, "data": "not a block" },
    ];
    blocks.insert_many(strays).await.unwrap();

    // With the raw event documents gone, the rollups still answer, and filtered reports read
    // the blocks.
    let events = db.collection::<Document>("events");
    events
        .delete_many(doc! { "site_id": "props" })
        .await
        .unwrap();
    for (property, rows) in ["props.plan", "props"]
        .iter()
        .zip([&rolled_up[0], &rolled_up[3]])
    {
        assert_eq!(&breakdown(property, "").await, rows, "{property}");
        let filtered = breakdown(property, "&filters=path~%3D/").await;
        assert_eq!(&filtered, rows, "{property}, filtered");
    }
    // Without the blocks too (as after the retention), filtered reports find nothing.
    blocks.delete_many(site_blocks).await.unwrap();
    let filtered = breakdown("props.plan", "&filters=path~%3D/").await;
    assert_eq!(filtered, serde_json::json!([]));
    system.shutdown().await;
}
