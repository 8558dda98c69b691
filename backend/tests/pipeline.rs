//! End to end over the wire: POST /event → Kafka (Tansu) → worker → MongoDB (SecantusDB) → /stats.

mod support;

use reqwest::StatusCode;
use serde_json::{json, Value};
use support::{day_ago, today, TestSystem, CHROME, FIREFOX};

fn page_view(site: &str, path: &str, user: &str, timestamp: &str) -> Value {
    json!({"site_id": site, "event_type": "page_view", "path": path, "user_id": user, "timestamp": timestamp})
}

#[tokio::test]
async fn seed_example_event_shows_up_in_stats() {
    let system = TestSystem::start().await;
    let (status, body) = system
        .post(
            &json!({"site_id":"site123","event_type":"page_view","path":"/home","user_id":"user1"}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body, json!({"accepted": 1}));
    system.wait_stored(1).await;

    let (status, stats) = system
        .stats(&format!("site_id=site123&date={}", today()))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        stats,
        json!({"site_id":"site123","date":today(),"total_views":1,"unique_users":1,
               "top_paths":[{"path":"/home","views":1}]})
    );
    // `date` defaults to today (UTC).
    assert_eq!(system.stats("site_id=site123").await.1, stats);
    system.shutdown().await;
}

#[tokio::test]
async fn exact_stats_for_two_sites_two_days_several_paths() {
    let system = TestSystem::start().await;
    let (d1, at1) = day_ago(2, 9, 30);
    let (d2, at2) = day_ago(1, 23, 59);
    let events = vec![
        // Site A, day 1: /home ×3, /pricing ×2, /docs ×2, /about ×1; a custom event.
        page_view("siteA", "/home", "alice", &at1),
        page_view("siteA", "/home", "bob", &at1),
        page_view("siteA", "/home", "alice", &at1),
        page_view("siteA", "/pricing", "carol", &at1),
        page_view("siteA", "/pricing", "alice", &at1),
        page_view("siteA", "/docs", "dave", &at1),
        page_view("siteA", "/docs", "bob", &at1),
        page_view("siteA", "/about", "erin", &at1),
        json!({"site_id":"siteA","event_type":"signup","path":"/pricing","user_id":"frank","timestamp":at1}),
        // Site A, day 2: one view.
        page_view("siteA", "/blog", "alice", &at2),
        // Site B, day 1: 12 distinct paths, so top_paths is cut at 10 (ties by path).
    ];
    let mut events = events;
    for i in 0..12 {
        events.push(page_view(
            "siteB",
            &format!("/p{i:02}"),
            &format!("u{}", i % 3),
            &at1,
        ));
    }
    events.push(page_view("siteB", "/p11", "u0", &at1));
    let (status, body) = system.post(&Value::Array(events)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body, json!({"accepted": 23, "rejected": []}));
    system.wait_stored(23).await;

    let (_, a1) = system.stats(&format!("site_id=siteA&date={d1}")).await;
    assert_eq!(
        a1,
        json!({"site_id":"siteA","date":d1,"total_views":8,"unique_users":6,"top_paths":[
            {"path":"/home","views":3},{"path":"/docs","views":2},{"path":"/pricing","views":2},
            {"path":"/about","views":1}]})
    );
    let (_, a2) = system.stats(&format!("site_id=siteA&date={d2}")).await;
    assert_eq!(
        a2,
        json!({"site_id":"siteA","date":d2,"total_views":1,"unique_users":1,
               "top_paths":[{"path":"/blog","views":1}]})
    );
    let (_, b1) = system.stats(&format!("site_id=siteB&date={d1}")).await;
    assert_eq!(b1["total_views"], 13);
    assert_eq!(b1["unique_users"], 3);
    let paths: Vec<(&str, u64)> = b1["top_paths"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["path"].as_str().unwrap(), p["views"].as_u64().unwrap()))
        .collect();
    let mut expected = vec![("/p11", 2)];
    expected.extend((0..9).map(|i| {
        (
            [
                "/p00", "/p01", "/p02", "/p03", "/p04", "/p05", "/p06", "/p07", "/p08",
            ][i],
            1,
        )
    }));
    assert_eq!(paths, expected);
    // A site or a day without data answers zeros.
    let (status, empty) = system.stats(&format!("site_id=siteB&date={d2}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        empty,
        json!({"site_id":"siteB","date":d2,"total_views":0,"unique_users":0,"top_paths":[]})
    );
    assert_eq!(
        system.stats("site_id=nobody&date=2020-01-01").await.1["total_views"],
        0
    );
    system.shutdown().await;
}

#[tokio::test]
async fn anonymous_visitors_are_told_apart_by_ip_and_user_agent() {
    let system = TestSystem::start().await;
    let event = json!({"site_id":"anon","event_type":"page_view","path":"/"});
    for (ip, ua) in [
        ("203.0.113.1", FIREFOX),
        ("203.0.113.1", FIREFOX),
        ("203.0.113.1", CHROME),
        ("203.0.113.2", FIREFOX),
    ] {
        assert_eq!(system.post_as(&event, ip, ua).await.0, StatusCode::ACCEPTED);
    }
    system.wait_stored(4).await;
    let (_, stats) = system.stats("site_id=anon").await;
    assert_eq!(
        (
            stats["total_views"].as_u64(),
            stats["unique_users"].as_u64()
        ),
        (Some(4), Some(3))
    );
    // Neither the IP nor the User-Agent is stored, only the derived id.
    let docs: Vec<mongodb::bson::Document> = {
        use futures::TryStreamExt;
        let events = system
            .store
            .database()
            .collection::<mongodb::bson::Document>("events");
        events
            .find(mongodb::bson::doc! {})
            .await
            .unwrap()
            .try_collect()
            .await
            .unwrap()
    };
    for doc in docs {
        let text = doc.to_string();
        assert!(
            !text.contains("203.0.113") && !text.contains("Gecko/20100101"),
            "{text}"
        );
        assert_eq!(doc.get_str("visitor_id").unwrap().len(), 32);
    }
    system.shutdown().await;
}

#[tokio::test]
async fn batch_with_invalid_events_accepts_the_valid_ones() {
    let system = TestSystem::start().await;
    let batch = json!([
        {"site_id":"mixed","event_type":"page_view","path":"/a"},
        {"site_id":"mixed","event_type":"page_view","path":"no-slash"},
        {"site_id":"mixed","event_type":"page_view","path":"/b"},
        {"event_type":"page_view","path":"/c"},
        "not an object"
    ]);
    let (status, body) = system.post(&batch).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["accepted"], 2);
    let rejected: Vec<(u64, Value)> = body["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["index"].as_u64().unwrap(), r["field"].clone()))
        .collect();
    assert_eq!(
        rejected,
        vec![(1, json!("path")), (3, json!("site_id")), (4, Value::Null)]
    );
    system.wait_stored(2).await;
    assert_eq!(system.stats("site_id=mixed").await.1["total_views"], 2);

    // A batch where nothing is valid is a 400 listing every reason.
    let (status, body) = system.post(&json!([{"site_id":"x"}, {"path":"/"}])).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["rejected"].as_array().unwrap().len(), 2);
    system.shutdown().await;
}

#[tokio::test]
async fn text_plain_bodies_like_send_beacon_are_parsed_as_json() {
    let system = TestSystem::start().await;
    let body =
        json!([{"site_id":"beacon","event_type":"page_view","path":"/from-beacon"}]).to_string();
    let (status, reply) = system.post_raw(body, "text/plain;charset=UTF-8").await;
    assert_eq!(status, StatusCode::ACCEPTED, "{reply}");
    system.wait_stored(1).await;
    let (_, stats) = system.stats("site_id=beacon").await;
    assert_eq!(
        stats["top_paths"],
        json!([{"path":"/from-beacon","views":1}])
    );
    system.shutdown().await;
}

#[tokio::test]
async fn duplicate_eids_are_counted_once() {
    let system = TestSystem::start().await;
    let event = json!({"site_id":"dup","event_type":"page_view","path":"/once",
                       "eid":"0192f0e4-7b1a-7cc3-8d3e-1f2a3b4c5d6e"});
    let other = json!({"site_id":"dup","event_type":"page_view","path":"/other"});
    for _ in 0..3 {
        assert_eq!(system.post(&event).await.0, StatusCode::ACCEPTED);
    }
    let (status, _) = system.post(&json!([event, event, other])).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    system.wait_stored(2).await;
    let (_, stats) = system.stats("site_id=dup").await;
    assert_eq!(stats["total_views"], 2);
    assert_eq!(
        stats["top_paths"],
        json!([{"path":"/once","views":1},{"path":"/other","views":1}])
    );
    system.shutdown().await;
}

/// The tracker's next page load: it asks which of its beaconed events arrived and re-sends only
/// the others; every event is stored once.
#[tokio::test]
async fn a_tracker_resends_only_the_events_receipts_do_not_confirm() {
    let system = TestSystem::start().await;
    let eid = |n: u8| format!("0192f0e4-7b1a-7cc3-8d3e-1f2a3b4c5d{n:02x}");
    let view =
        |n: u8| json!({"site_id":"receipts","event_type":"page_view","path":"/r","eid":eid(n)});
    let batch = json!([view(1), view(2), view(3)]);
    let (status, reply) = system.post_to("/event?receipt=1", &batch).await;
    assert_eq!(
        (status, reply),
        (StatusCode::ACCEPTED, json!({"accepted":3,"rejected":[]}))
    );
    // Sent without asking for a receipt: not remembered.
    assert_eq!(
        system.post_to("/event", &view(4)).await.0,
        StatusCode::ACCEPTED
    );

    let asked = json!({"eids": (1..=5).map(eid).collect::<Vec<_>>()});
    let (status, answer) = system.post_to("/event/receipts", &asked).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(answer, json!({"received": [eid(1), eid(2), eid(3)]}));

    let resent = json!([view(4), view(5)]);
    assert_eq!(
        system.post_to("/event?receipt=1", &resent).await.0,
        StatusCode::ACCEPTED
    );
    let (_, answer) = system.post_to("/event/receipts", &asked).await;
    assert_eq!(answer["received"].as_array().unwrap().len(), 5, "{answer}");
    system.wait_stored(5).await;
    let (_, stats) = system.stats("site_id=receipts").await;
    assert_eq!(stats["total_views"], 5);

    let too_many = json!({"eids": vec![eid(1); 201]});
    let (status, answer) = system.post_to("/event/receipts", &too_many).await;
    assert_eq!(
        (status, &answer["field"]),
        (StatusCode::BAD_REQUEST, &json!("eids"))
    );
    system.shutdown().await;
}

#[tokio::test]
async fn events_sent_while_the_worker_is_down_are_counted_after_it_restarts() {
    let mut system = TestSystem::start_with(&[], true).await;
    let first = json!({"site_id":"restart","event_type":"page_view","path":"/before"});
    assert_eq!(system.post(&first).await.0, StatusCode::ACCEPTED);
    system.wait_stored(1).await;
    system.stop_worker().await;

    let batch: Vec<Value> = (0..20)
        .map(|i| json!({"site_id":"restart","event_type":"page_view","path":format!("/while-down/{}", i % 4)}))
        .collect();
    let (status, body) = system.post(&Value::Array(batch)).await;
    assert_eq!(
        (status, body["accepted"].as_u64()),
        (StatusCode::ACCEPTED, Some(20))
    );
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    assert_eq!(
        system.stored().await,
        1,
        "nothing is stored while the worker is down"
    );

    system.start_worker();
    system.wait_stored(21).await;
    let (_, stats) = system.stats("site_id=restart").await;
    assert_eq!(stats["total_views"], 21);
    assert_eq!(
        stats["top_paths"][0],
        json!({"path":"/while-down/0","views":5})
    );
    system.shutdown().await;
}

#[tokio::test]
async fn two_workers_in_one_group_store_every_event_exactly_once() {
    let mut system = TestSystem::start().await;
    system.start_extra_worker();
    // 40 sites spread over the 3 partitions, 10 views each, sent as 8 batches of 50.
    let events: Vec<Value> = (0..400)
        .map(|i| {
            json!({"site_id": format!("shop{}", i % 40), "event_type": "page_view",
                        "path": format!("/item/{}", i % 7)})
        })
        .collect();
    for chunk in events.chunks(50) {
        let (status, body) = system.post(&Value::Array(chunk.to_vec())).await;
        assert_eq!(
            (status, body["accepted"].as_u64()),
            (StatusCode::ACCEPTED, Some(50))
        );
    }
    system.wait_stored(400).await;
    for site in ["shop0", "shop17", "shop39"] {
        let (_, stats) = system.stats(&format!("site_id={site}")).await;
        assert_eq!(stats["total_views"], 10, "{site}: {stats}");
    }
    system.shutdown().await;
}

#[tokio::test]
async fn daily_salts_are_random_shared_and_deleted_after_their_day() {
    use beacon::ingest::VisitorIds;
    use beacon_event::Day;
    use mongodb::bson::{doc, Document};
    let system = TestSystem::start().await;
    let event = json!({"site_id":"salty","event_type":"page_view","path":"/"});
    for _ in 0..2 {
        assert_eq!(
            system.post_as(&event, "203.0.113.9", FIREFOX).await.0,
            StatusCode::ACCEPTED
        );
    }
    system.wait_stored(2).await;
    let (_, stats) = system.stats("site_id=salty").await;
    assert_eq!(stats["unique_users"], 1);

    // Ingestion stored today's salt: random, 32 bytes, expiring an hour after the day ends.
    let salts = system.store.database().collection::<Document>("salts");
    let today = Day::of(time::OffsetDateTime::now_utc());
    let stored = salts
        .find_one(doc! { "_id": today.to_string() })
        .await
        .unwrap()
        .expect("today's salt is stored");
    let salt = stored.get_binary_generic("salt").unwrap().clone();
    assert_eq!(salt.len(), 32);
    assert_eq!(
        stored.get_datetime("expire_at").unwrap().timestamp_millis(),
        ((today.end() + time::Duration::HOUR).unix_timestamp() * 1000)
    );
    // Every instance gets the same salt, whatever it would have drawn itself.
    assert_eq!(
        system
            .store
            .daily_salt(today, [7; 32])
            .await
            .unwrap()
            .to_vec(),
        salt
    );
    let other_instance = VisitorIds::new(None, Some(system.store.clone()));
    assert_eq!(other_instance.salt(today).await.to_vec(), salt);

    // A past day's salt is deleted by the TTL index: its ids can no longer be recomputed.
    let old = Day::of(time::OffsetDateTime::now_utc() - time::Duration::days(3));
    system.store.daily_salt(old, [1; 32]).await.unwrap();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(120);
    while salts
        .count_documents(doc! { "_id": old.to_string() })
        .await
        .unwrap()
        > 0
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "old salt still there after 120 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    assert_eq!(
        salts
            .count_documents(doc! { "_id": today.to_string() })
            .await
            .unwrap(),
        1
    );
    system.shutdown().await;
}

/// MongoDB answering pings is not enough: a worker whose writes are refused is not ready
/// (`/readyz` 503 naming the writes), keeps its batch, and stores it once writes work again.
#[tokio::test]
async fn a_worker_whose_writes_fail_is_not_ready_and_catches_up_afterwards() {
    let mut system = TestSystem::start_with(&[], false).await;
    let db = system.store.database().clone();
    // A validator that refuses every document: pings work, inserts fail (code 121).
    db.run_command(mongodb::bson::doc! {
        "create": "events",
        "validator": { "$expr": { "$eq": [1, 0] } },
    })
    .await
    .unwrap();
    system.start_worker();
    let worker = system.worker_url.clone().unwrap();
    let event =
        json!({"site_id": "refused", "event_type": "page_view", "path": "/", "user_id": "u1"});
    let (status, body) = system.post(&event).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");

    let body = system
        .wait_readyz(
            &worker,
            StatusCode::SERVICE_UNAVAILABLE,
            std::time::Duration::from_secs(30),
        )
        .await
        .expect("the worker stayed ready for 30 s while every write failed");
    assert_eq!(body["dependency"], "mongodb writes", "{body}");
    assert_eq!(system.stored().await, 0);

    db.run_command(mongodb::bson::doc! { "collMod": "events", "validator": {} })
        .await
        .unwrap();
    system.wait_stored(1).await;
    assert!(
        system.wait_ready(&worker).await,
        "the worker did not become ready again after its batch was stored"
    );
    let (_, stats) = system
        .stats(&format!("site_id=refused&date={}", today()))
        .await;
    assert_eq!(stats["total_views"], 1, "{stats}");
    system.shutdown().await;
}
