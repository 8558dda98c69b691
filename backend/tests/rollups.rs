//! Rollups against the truth: replays with any batch boundaries change nothing, and on a
//! randomized data set every report read from rollups equals the same report aggregated from
//! raw events, and a brute-force count done here from what was sent.

mod support;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use beacon::rollup::Position;
use beacon::store::StoreError;
use beacon::store::{MongoStore, RawEvent};
use beacon::worker::{apply_batch, store_batch, VisitorStates};
use beacon_event::event::Context;
use beacon_event::{Event, EventType, PagePath, SiteId, VisitorId};
use futures::TryStreamExt;
use mongodb::bson::{doc, Document};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::StatusCode;
use serde_json::{json, Value};
use support::{day_ago, stdout, TestSystem, CHROME, FIREFOX, IPAD, IPHONE};
use time::macros::datetime;
use time::Duration;

const SOURCES: [&str; 4] = ["Google", "Hacker News", "", "example.org"];

fn generated(n: usize, seed: u64) -> Vec<(Event, Position)> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut clock = datetime!(2026-11-20 08:00 UTC);
    (0..n)
        .map(|i| {
            clock += Duration::seconds(rng.random_range(0..400));
            let visitor = format!("v{}", rng.random_range(0..12));
            let kind = if rng.random_bool(0.15) {
                "signup"
            } else {
                "page_view"
            };
            let event = Event {
                eid: uuid::Uuid::from_u128(i as u128 + 1),
                site_id: SiteId::parse("site").unwrap(),
                event_type: EventType::parse(kind).unwrap(),
                path: PagePath::parse(&format!("/p{}", rng.random_range(0..6))).unwrap(),
                visitor_id: VisitorId::parse(&visitor).unwrap(),
                user_id: None,
                timestamp: clock,
                received_at: clock,
                referrer: None,
                screen_width: None,
                props: None,
                revenue: None,
                context: Context {
                    source: SOURCES[rng.random_range(0..SOURCES.len())].into(),
                    device: ["desktop", "mobile"][rng.random_range(0..2)].into(),
                    bot: rng.random_bool(0.03),
                    ..Context::default()
                },
            };
            (
                event,
                Position {
                    partition: 0,
                    offset: i as i64,
                },
            )
        })
        .collect()
}

/// Every rollup document's counters (watermarks left out), by id.
async fn rollup_counters(store: &MongoStore) -> BTreeMap<String, Document> {
    support::rollup_documents(store, doc! {}).await
}

async fn fresh_store() -> MongoStore {
    let url = std::env::var("MONGO_URL").unwrap_or_else(|_| "mongodb://127.0.0.1:27017".into());
    let (scheme, rest) = url.split_once("://").unwrap();
    let hosts = rest.split(['/', '?']).next().unwrap();
    let db = format!(
        "beacon_rollups_{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    );
    let store = MongoStore::connect(&format!("{scheme}://{hosts}/{db}"))
        .await
        .unwrap();
    store.ensure_indexes().await.unwrap();
    store
}

/// A fresh store holding `events` stored in one pass (one batch, states saved at once): what
/// any replay, crash or conflict must end up equal to.
async fn single_pass(events: &[(Event, Position)]) -> MongoStore {
    let store = fresh_store().await;
    store_batch(&store, events, Duration::days(30))
        .await
        .unwrap();
    store
}

#[tokio::test]
async fn replays_with_any_batch_boundaries_count_every_event_once() {
    let events = generated(240, 7);
    let retention = Duration::days(30);
    let once = single_pass(&events).await;

    // The same records as a crashing, restarting worker would see them: overlapping batches
    // that restart from an earlier offset, then the whole topic again.
    let replayed = fresh_store().await;
    for range in [0..50, 0..120, 30..200, 100..240, 0..240, 239..240] {
        store_batch(&replayed, &events[range], retention)
            .await
            .unwrap();
    }
    let (a, b) = (
        rollup_counters(&once).await,
        rollup_counters(&replayed).await,
    );
    assert!(a.len() > 20, "only {} rollup documents", a.len());
    assert_eq!(a, b);
    // Every human event reads once from the blocks of the batches that stored it.
    let read = events_read(&once).await;
    let humans = events.iter().filter(|(e, _)| !e.context.bot).count();
    assert_eq!(read.len(), humans);
    assert_eq!(events_read(&replayed).await, read);

    // A client retry (same eid, a later record) is not counted again.
    let mut retry = events[5].clone();
    retry.1.offset = 1000;
    store_batch(&replayed, &[retry], retention).await.unwrap();
    assert_eq!(rollup_counters(&replayed).await, a);
    assert_eq!(events_read(&replayed).await, read);
    let _ = once.database().drop().await;
    let _ = replayed.database().drop().await;
}

#[tokio::test]
async fn a_former_exit_page_whose_runs_sum_to_nothing_is_not_written() {
    // One visit, /from then /to a minute later, in one pass: /from was the exit page, then was
    // not (+1 and -1 in the same runs), so it gets no exit-page document at all.
    let (mut first, position) = generated(1, 3).remove(0);
    first.event_type = EventType::parse("page_view").unwrap();
    first.path = PagePath::parse("/from").unwrap();
    first.context.bot = false;
    let mut second = first.clone();
    second.eid = uuid::Uuid::from_u128(99);
    second.path = PagePath::parse("/to").unwrap();
    second.timestamp += Duration::minutes(1);
    second.received_at = second.timestamp;
    let next = Position {
        offset: position.offset + 1,
        ..position
    };
    let store = single_pass(&[(first, position), (second, next)]).await;
    let exit_pages: Vec<String> = store
        .database()
        .collection::<Document>("rollups_daily")
        .find(doc! { "dim": "exit_page" })
        .await
        .unwrap()
        .try_collect::<Vec<Document>>()
        .await
        .unwrap()
        .iter()
        .map(|d| d.get_str("value").unwrap().to_owned())
        .collect();
    assert_eq!(exit_pages, ["/to"]);
    let _ = store.database().drop().await;
}

#[tokio::test]
async fn a_stored_event_whose_origin_cannot_be_read_is_never_counted_again() {
    let events = generated(40, 11);
    let retention = Duration::days(30);
    let store = single_pass(&events).await;
    let before = rollup_counters(&store).await;
    // A raw event whose `src` is not a position (written by other means).
    let human = events.iter().find(|(e, _)| !e.context.bot).unwrap().clone();
    store
        .database()
        .collection::<Document>("events")
        .update_one(
            doc! { "_id": human.0.eid.to_string() },
            doc! { "$set": { "src": "unreadable" } },
        )
        .await
        .unwrap();
    // Its record again, and the same eid in a later record: both find it stored.
    let mut later = human.clone();
    later.1.offset += 1000;
    for record in [human, later] {
        let outcome = store_batch(&store, &[record], retention).await.unwrap();
        assert_eq!((outcome.inserted, outcome.duplicates), (0, 1));
    }
    assert_eq!(rollup_counters(&store).await, before);
    let _ = store.database().drop().await;
}

/// The numbers the reports must show, computed here from what was sent.
#[derive(Debug, Default, PartialEq)]
struct Truth {
    views: i64,
    visitors: BTreeSet<String>,
    path_views: BTreeMap<String, i64>,
    visits: i64,
    bounces: i64,
    duration: i64,
}

#[tokio::test]
async fn rollups_equal_raw_event_aggregation_on_random_traffic() {
    let seed: u64 = std::env::var("BEACON_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| rand::rng().random());
    eprintln!("seed {seed} (BEACON_TEST_SEED reproduces it)");
    let mut rng = StdRng::seed_from_u64(seed);
    let system = TestSystem::start().await;
    // Goals, counted by the worker and compared below with the same report from raw events.
    stdout(&system.admin(&["site", "add", "rand", "--public"]));
    for goal in [["--event", "goal"], ["--page", "/p1"], ["--page", "/p*"]] {
        stdout(&system.admin(&["goal", "add", "rand", goal[0], goal[1]]));
    }
    let mut funnel = vec!["funnel", "add", "rand", "f"];
    for step in ["page:/p0", "page:/p1", "event:goal"] {
        funnel.extend(["--step", step]);
    }
    stdout(&system.admin(&funnel));
    let (day, _) = day_ago(1, 0, 0);
    let agents = [CHROME, FIREFOX, IPHONE, IPAD];
    let referrers = [
        "https://www.google.com/",
        "https://news.ycombinator.com/",
        "https://t.co/x",
        "",
    ];

    // Events in time order per batch, sent in order (the worker sees them in that order).
    let mut minute = 6 * 60;
    let mut truth = Truth::default();
    let mut last_seen: HashMap<String, (i64, i64, i64)> = HashMap::new(); // visitor -> (start, last, events)
    let mut sent = 0;
    for _ in 0..25 {
        let mut batch = Vec::new();
        for _ in 0..rng.random_range(1..8) {
            minute += rng.random_range(0..6);
            let user = format!("u{}", rng.random_range(0..15));
            let kind = if rng.random_bool(0.2) {
                "goal"
            } else {
                "page_view"
            };
            let path = format!("/p{}", rng.random_range(0..5));
            let (hh, mm) = ((minute / 60).min(23) as u8, (minute % 60) as u8);
            let (_, ts) = day_ago(1, hh, mm);
            let mut event = json!({"site_id":"rand","event_type":kind,"path":path,"user_id":user,"timestamp":ts});
            let referrer = referrers[rng.random_range(0..referrers.len())];
            if !referrer.is_empty() {
                event["referrer"] = json!(referrer);
            }
            if kind == "goal" && rng.random_bool(0.5) {
                let currency = ["EUR", "USD"][rng.random_range(0..2)];
                let amount = rng.random_range(1..10_000) as f64 / 100.0;
                event["revenue"] = json!({ "amount": amount, "currency": currency });
            }
            match rng.random_range(0..4) {
                0 => {}
                1 => {
                    let plan = ["free", "pro"][rng.random_range(0..2)];
                    event["props"] = json!({ "plan": plan });
                }
                2 => event["props"] = json!({"plan": "team", "seats": rng.random_range(1..4)}),
                _ => event["props"] = json!({"seats": 2.5, "trial": rng.random_bool(0.5)}),
            }
            // The brute force: sessions by a 30-minute gap, in send order.
            let t = i64::from(hh) * 60 + i64::from(mm);
            if kind == "page_view" {
                truth.views += 1;
                *truth.path_views.entry(path.clone()).or_default() += 1;
            }
            truth.visitors.insert(user.clone());
            match last_seen.get_mut(&user) {
                Some((start, last, events)) if t - *last < 30 && t >= *start => {
                    truth.duration += t.max(*last) - *last;
                    *last = (*last).max(t);
                    if *events == 1 {
                        truth.bounces -= 1;
                    }
                    *events += 1;
                }
                _ => {
                    last_seen.insert(user.clone(), (t, t, 1));
                    truth.visits += 1;
                    truth.bounces += 1;
                }
            }
            batch.push(event);
        }
        sent += batch.len();
        let ua = agents[rng.random_range(0..agents.len())];
        let (status, body) = system.post_as(&Value::Array(batch), "192.0.2.1", ua).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    }
    system.wait_stored(sent as u64).await;

    // Brute force against the rollups.
    let q = format!("site_id=rand&date={day}");
    let (_, stats) = system
        .report(&format!(
            "/stats?{q}&metrics=visits,bounce_rate,visit_duration"
        ))
        .await;
    assert_eq!(stats["total_views"], truth.views, "{stats}");
    assert_eq!(stats["unique_users"], truth.visitors.len(), "{stats}");
    assert_eq!(stats["visits"], truth.visits, "{stats}");
    let avg = |n: i64| ((n * 60) as f64 / truth.visits as f64).round() as i64;
    assert_eq!(stats["visit_duration"], avg(truth.duration), "{stats}");
    let bounce = ((truth.bounces as f64 * 1000.0 / truth.visits as f64).round()) / 10.0;
    assert_eq!(stats["bounce_rate"], bounce, "{stats}");
    let (_, paths) = system
        .report(&format!("/stats/breakdown?{q}&property=path&limit=100"))
        .await;
    let reported: BTreeMap<String, i64> = paths["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["value"].as_str().unwrap().to_owned(),
                r["views"].as_i64().unwrap(),
            )
        })
        .filter(|(_, v)| *v > 0)
        .collect();
    assert_eq!(reported, truth.path_views);

    // The day was counted by every goal and the funnel, so their reports read rollups below.
    let daily = system
        .store
        .database()
        .collection::<Document>("rollups_daily");
    let total = doc! { "site": "rand", "dim": "total", "day": &day };
    let total = daily.find_one(total).await.unwrap().unwrap();
    assert_eq!(total.get_array("goals").unwrap().len(), 4, "{total}");

    // Every report from rollups equals the same report aggregated from raw events (a filter
    // that matches everything sends a report down the raw-event path).
    let all = "&filters=event_type!%3D__none__";
    let mut reports = vec![
        format!("/stats?{q}&metrics=visits,bounce_rate,visit_duration,views_per_visit,events"),
        format!("/stats/timeseries?{q}&interval=hour"),
        format!("/stats/timeseries?site_id=rand&from={day}&to={day}&interval=day"),
        format!("/stats/goals?{q}"),
        format!("/stats/funnel?{q}&funnel=f"),
    ];
    for property in [
        "path",
        "event_type",
        "entry_page",
        "exit_page",
        "source",
        "referrer",
        "browser",
        "os",
        "device",
        "country",
        "props",
        "props.plan",
        "props.seats",
        "props.trial",
    ] {
        reports.push(format!(
            "/stats/breakdown?{q}&property={property}&limit=1000"
        ));
    }
    for report in reports {
        let (status, rolled) = system.report(&report).await;
        assert_eq!(status, StatusCode::OK, "{report}: {rolled}");
        let (_, scanned) = system.report(&format!("{report}{all}")).await;
        assert_eq!(rolled, scanned, "{report} (seed {seed})");
    }
    system.shutdown().await;
}

#[tokio::test]
async fn a_store_for_another_database_writes_there_and_only_there() {
    let base = fresh_store().await;
    let other = base.with_database(&format!("{}_other", base.database().name()));
    other.ensure_indexes().await.unwrap();
    let events = generated(30, 3);
    store_batch(&other, &events, Duration::days(30))
        .await
        .unwrap();
    let count = |store: &MongoStore| {
        let events = store.database().collection::<Document>("events");
        async move { events.count_documents(doc! {}).await.unwrap() }
    };
    assert_eq!(count(&other).await, 30);
    assert_eq!(count(&base).await, 0);
    let _ = other.database().drop().await;
    let _ = base.database().drop().await;
}

#[tokio::test]
async fn marks_only_rise_and_the_last_checkpoint_reads_back() {
    let store = fresh_store().await;
    assert!(store.rollup_marks().await.unwrap().is_empty());
    assert_eq!(store.last_checkpoint().await.unwrap(), None);
    store
        .record_rollup_marks(&BTreeMap::from([(0, 40), (3, 7)]))
        .await
        .unwrap();
    store
        .record_rollup_marks(&BTreeMap::from([(0, 12), (1, 5)]))
        .await
        .unwrap();
    let marks = store.rollup_marks().await.unwrap();
    assert_eq!(marks, BTreeMap::from([(0, 40), (1, 5), (3, 7)]));
    let before = mongodb::bson::DateTime::now();
    store.record_checkpoint(1234).await.unwrap();
    let last = store.last_checkpoint().await.unwrap().unwrap();
    assert_eq!(last.records, 1234);
    assert!(last.at >= before, "{last:?}");
    let _ = store.database().drop().await;
}

#[tokio::test]
async fn a_refused_write_is_told_apart_from_a_lost_race() {
    let store = fresh_store().await;
    let events = generated(5, 9);
    store_batch(&store, &events, Duration::days(30))
        .await
        .unwrap();
    // A site total whose counter is no longer a number: `$inc` is refused, not raced.
    let rollups = store.database().collection::<Document>("rollups_daily");
    rollups
        .update_many(
            doc! { "dim": "total" },
            doc! { "$set": { "views": "many" } },
        )
        .await
        .unwrap();
    let more: Vec<(Event, Position)> = generated(10, 9).into_iter().skip(5).collect();
    let failed = store_batch(&store, &more, Duration::days(30)).await;
    assert!(
        matches!(failed, Err(StoreError::Rejected { .. })),
        "{failed:?}"
    );
    let _ = store.database().drop().await;
}

/// Every visitor state document, by id, without `expire_at` (it depends on when it was saved).
async fn visitor_states(store: &MongoStore) -> BTreeMap<String, Document> {
    let docs: Vec<Document> = store
        .database()
        .collection::<Document>("visitors")
        .find(doc! {})
        .projection(doc! { "expire_at": 0 })
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    docs.into_iter()
        .map(|d| (d.get_str("_id").unwrap().to_owned(), d))
        .collect()
}

/// Every event of the generated site as filtered reports read them, from its blocks: the same
/// events, each once, as its raw event documents hold.
async fn events_read(store: &MongoStore) -> Vec<RawEvent> {
    let site = SiteId::parse("site").unwrap();
    let (from, until) = (
        datetime!(2026-11-19 00:00 UTC),
        datetime!(2026-11-24 00:00 UTC),
    );
    let blocks = store.raw_events_from_blocks(&site, from, until).await;
    let documents = store.raw_events_from_documents(&site, from, until).await;
    let blocks = blocks.unwrap().to_vec();
    assert_eq!(blocks, documents.unwrap(), "blocks and raw documents");
    blocks
}

/// Asserts that `store` holds the rollups `rollups_as` holds and the visitor states
/// `states_as` holds (the same reference store once a replay is complete; an earlier one while
/// the states lag behind the rollups between checkpoints).
async fn assert_stored(store: &MongoStore, rollups_as: &MongoStore, states_as: &MongoStore) {
    assert_eq!(
        rollup_counters(store).await,
        rollup_counters(rollups_as).await,
        "rollups"
    );
    // Raw events and their blocks go ahead of held rollups: they are checked against each
    // other, and against a single pass where a test's replay is complete.
    events_read(store).await;
    assert_eq!(
        visitor_states(store).await,
        visitor_states(states_as).await,
        "visitor states"
    );
}

#[tokio::test]
async fn states_held_between_checkpoints_replay_exactly_after_a_crash() {
    let events = generated(300, 11);
    let retention = Duration::days(30);
    let once = single_pass(&events).await;

    // A worker holding states: two batches, a checkpoint (states saved, offsets committed at
    // 120), two more batches, then it dies before the next checkpoint.
    let crashed = fresh_store().await;
    let mut held = VisitorStates::default();
    for range in [0..50, 50..120] {
        apply_batch(&crashed, &events[range], retention, &mut held)
            .await
            .unwrap();
    }
    assert!(held.dirty() > 0);
    held.save(&crashed).await.unwrap();
    assert_eq!(held.dirty(), 0);
    for range in [120..170, 170..260] {
        apply_batch(&crashed, &events[range], retention, &mut held)
            .await
            .unwrap();
    }
    // Its raw events and rollups went ahead to 260; the saved states stayed at the checkpoint.
    let (to_260, to_120) = (
        single_pass(&events[..260]).await,
        single_pass(&events[..120]).await,
    );
    assert_stored(&crashed, &to_260, &to_120).await;
    drop(held);

    // The replacement starts from the committed offset with nothing held.
    let mut replacement = VisitorStates::default();
    for range in [120..200, 200..300] {
        apply_batch(&crashed, &events[range], retention, &mut replacement)
            .await
            .unwrap();
    }
    replacement.save(&crashed).await.unwrap();
    assert_stored(&crashed, &once, &once).await;
    assert_eq!(events_read(&crashed).await, events_read(&once).await);
    for store in [once, crashed, to_260, to_120] {
        let _ = store.database().drop().await;
    }
}

#[tokio::test]
async fn a_state_saved_by_another_worker_makes_the_save_conflict_and_a_reapply_is_exact() {
    let events = generated(200, 5);
    let retention = Duration::days(30);
    let once = single_pass(&events).await;

    let (shared, old_owner) = overlapping_owners(&events, retention).await;
    reapply_and_compare(shared, old_owner, &events, 0..150, once).await;
}

/// During a rebalance two workers briefly hold the same partition from the same commit: the
/// old owner applies `events[..150]`, the new one `events[..100]` and saves first, so the old
/// owner's save conflicts. Returns the store and the old owner's states.
async fn overlapping_owners(
    events: &[(Event, Position)],
    retention: Duration,
) -> (MongoStore, VisitorStates) {
    let shared = fresh_store().await;
    let (mut old_owner, mut new_owner) = (VisitorStates::default(), VisitorStates::default());
    apply_batch(&shared, &events[..150], retention, &mut old_owner)
        .await
        .unwrap();
    apply_batch(&shared, &events[..100], retention, &mut new_owner)
        .await
        .unwrap();
    new_owner.save(&shared).await.unwrap();
    let refused = old_owner.save(&shared).await;
    assert!(
        matches!(refused, Err(StoreError::Conflict { .. })),
        "{refused:?}"
    );
    (shared, old_owner)
}

#[tokio::test]
async fn after_a_conflict_the_worker_decodes_its_window_of_records_again_and_is_exact() {
    use beacon::pipeline::consumer::Record;
    use beacon::worker::{reapply, Window};
    let events = generated(200, 31);
    let once = single_pass(&events).await;
    let config = beacon::config::Config::from_lookup(|name| match name {
        "RETENTION_DAYS" => Some("30".to_owned()),
        "WORKER_BATCH_SIZE" => Some("64".to_owned()),
        _ => None,
    })
    .unwrap();

    let (shared, mut old_owner) = overlapping_owners(&events, config.retention).await;

    // The old owner's window: its 150 records as Kafka gave them, a poison one among them
    // (sent to the dead-letter topic the first time, skipped now).
    let mut window = Window::default();
    let mut records: Vec<Record> = events[..150]
        .iter()
        .map(|(event, at)| Record {
            partition: at.partition,
            offset: at.offset,
            payload: serde_json::to_vec(event).unwrap(),
        })
        .collect();
    records.insert(
        70,
        Record {
            partition: 0,
            offset: 9_999,
            payload: b"{not json".to_vec(),
        },
    );
    window.extend(records);
    old_owner.clear();
    reapply(&shared, &config, &mut old_owner, &window)
        .await
        .unwrap();
    apply_batch(&shared, &events[150..], config.retention, &mut old_owner)
        .await
        .unwrap();
    old_owner.save(&shared).await.unwrap();
    assert_stored(&shared, &once, &once).await;
    let _ = once.database().drop().await;
    let _ = shared.database().drop().await;
}

/// What the worker does after a conflict: drop what it holds and apply its window (`window`)
/// again from MongoDB's states; then it goes on to the end. Everything must then equal `once`.
async fn reapply_and_compare(
    shared: MongoStore,
    mut states: VisitorStates,
    events: &[(beacon_event::Event, Position)],
    window: std::ops::Range<usize>,
    once: MongoStore,
) {
    let retention = Duration::days(30);
    states.clear();
    let rest = window.end..events.len();
    for range in [window, rest] {
        apply_batch(&shared, &events[range], retention, &mut states)
            .await
            .unwrap();
        states.save(&shared).await.unwrap();
    }
    assert_stored(&shared, &once, &once).await;
    let _ = once.database().drop().await;
    let _ = shared.database().drop().await;
}

#[tokio::test]
async fn a_conflict_after_some_saves_landed_is_repaired_by_a_reapply_from_mongodb() {
    let events = generated(300, 23);
    let retention = Duration::days(30);
    let once = single_pass(&events).await;

    // Both workers start from a checkpoint at 100, so most states they hold were loaded (their
    // saves are conditional updates, not inserts).
    let shared = single_pass(&events[..100]).await;
    let (mut old_owner, mut new_owner) = (VisitorStates::default(), VisitorStates::default());
    apply_batch(&shared, &events[100..250], retention, &mut old_owner)
        .await
        .unwrap();
    // The new owner gets as far as a few events: some visitors (of 12) are not among them.
    apply_batch(&shared, &events[100..105], retention, &mut new_owner)
        .await
        .unwrap();
    new_owner.save(&shared).await.unwrap();
    // The visitors the new owner saved conflict; the others' saves land.
    let before = visitor_states(&shared).await;
    let refused = old_owner.save(&shared).await;
    assert!(
        matches!(refused, Err(StoreError::Conflict { .. })),
        "{refused:?}"
    );
    assert_ne!(
        visitor_states(&shared).await,
        before,
        "some saves landed despite the conflict"
    );

    reapply_and_compare(shared, old_owner, &events, 100..250, once).await;
}

#[tokio::test]
async fn a_failed_batch_leaves_the_held_states_as_they_were() {
    let events = generated(120, 31);
    let retention = Duration::days(30);
    let store = fresh_store().await;
    let mut held = VisitorStates::default();
    apply_batch(&store, &events[..60], retention, &mut held)
        .await
        .unwrap();
    let (len, dirty) = (held.len(), held.dirty());
    assert!(dirty > 0);
    // A store that cannot be reached (nothing listens on port 1).
    let broken = MongoStore::connect("mongodb://127.0.0.1:1/unreachable")
        .await
        .unwrap();
    let failed = apply_batch(&broken, &events[60..], retention, &mut held).await;
    assert!(failed.is_err(), "{failed:?}");
    assert_eq!((held.len(), held.dirty()), (len, dirty));
    // The same held states then apply the batch on the real store, and the result is exact.
    apply_batch(&store, &events[60..], retention, &mut held)
        .await
        .unwrap();
    held.save(&store).await.unwrap();
    let once = single_pass(&events).await;
    assert_stored(&store, &once, &once).await;
    let _ = once.database().drop().await;
    let _ = store.database().drop().await;
}

#[tokio::test]
async fn a_visitor_state_expires_two_days_after_its_last_event_or_its_last_save() {
    let store = fresh_store().await;
    // The states of a visit three days old (a backlog being worked through) and of one now.
    let now = time::OffsetDateTime::now_utc();
    let mut events = generated(2, 41);
    events[0].0.timestamp = now - Duration::days(3);
    events[1].0.timestamp = now + Duration::hours(1);
    events[1].0.visitor_id = VisitorId::parse("a-different-visitor").unwrap();
    let mut held = VisitorStates::default();
    apply_batch(&store, &events, Duration::days(30), &mut held)
        .await
        .unwrap();
    assert_eq!(held.save(&store).await.unwrap(), 2);
    let docs: Vec<Document> = store
        .database()
        .collection::<Document>("visitors")
        .find(doc! {})
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    let expiry = |visitor: &str| {
        let d = docs
            .iter()
            .find(|d| d.get_str("visitor") == Ok(visitor))
            .unwrap();
        let ms = |field| d.get_datetime(field).unwrap().timestamp_millis();
        (ms("last_seen"), ms("expire_at"))
    };
    let two_days = Duration::days(2).whole_milliseconds() as i64;
    let saved = (now.unix_timestamp_nanos() / 1_000_000) as i64;
    // The old visit's state lives two days from its save, not from its event: deleting it now
    // would count its visitor again on the backlog's next event by them.
    let (seen, expires) = expiry(events[0].0.visitor_id.as_str());
    assert_eq!(
        seen,
        (events[0].0.timestamp.unix_timestamp_nanos() / 1_000_000) as i64
    );
    assert!(
        (saved + two_days..saved + two_days + 60_000).contains(&expires),
        "{expires} against a save at {saved}"
    );
    // A visit ahead of the worker's clock: two days from its last event.
    let (seen, expires) = expiry("a-different-visitor");
    assert_eq!(expires, seen + two_days);
    // The TTL index on `expire_at` (and the realtime index) are in place.
    let keys: Vec<Document> = store
        .database()
        .collection::<Document>("visitors")
        .list_indexes()
        .await
        .unwrap()
        .map_ok(|i| i.keys)
        .try_collect()
        .await
        .unwrap();
    assert!(keys.contains(&doc! { "expire_at": 1 }), "{keys:?}");
    assert!(
        keys.contains(&doc! { "site": 1, "last_seen": 1 }),
        "{keys:?}"
    );
    let _ = store.database().drop().await;
}

#[tokio::test]
async fn rollup_deltas_held_under_a_backlog_are_written_before_the_states_and_replay_exactly() {
    let events = generated(300, 13);
    let retention = Duration::days(30);
    let once = single_pass(&events).await;

    // Under a backlog the worker holds the deltas: nothing reaches the rollups until the
    // checkpoint at 120, which writes them before the states.
    let crashed = fresh_store().await;
    let mut held = VisitorStates::default();
    held.set_rollup_budget(usize::MAX);
    for range in [0..60, 60..120] {
        apply_batch(&crashed, &events[range], retention, &mut held)
            .await
            .unwrap();
    }
    assert!(held.rollups_held() > 0);
    assert!(rollup_counters(&crashed).await.is_empty());
    held.save(&crashed).await.unwrap();
    assert_eq!(held.rollups_held(), 0);
    let to_120 = single_pass(&events[..120]).await;
    assert_eq!(
        rollup_counters(&crashed).await,
        rollup_counters(&to_120).await
    );

    // Caught up (budget 0), a batch is written at once only when nothing is held; a batch
    // held, then one that finds the worker caught up: both stay held for the checkpoint (a
    // held run is written only there, where a conflict re-applies the window).
    held.set_rollup_budget(0);
    apply_batch(&crashed, &events[120..150], retention, &mut held)
        .await
        .unwrap();
    assert_eq!(held.rollups_held(), 0);
    let to_150 = single_pass(&events[..150]).await;
    assert_stored(&crashed, &to_150, &to_120).await;
    held.set_rollup_budget(usize::MAX);
    apply_batch(&crashed, &events[150..170], retention, &mut held)
        .await
        .unwrap();
    held.set_rollup_budget(0);
    apply_batch(&crashed, &events[170..230], retention, &mut held)
        .await
        .unwrap();
    assert!(held.rollups_held() > 0);
    assert_stored(&crashed, &to_150, &to_120).await;
    // A checkpoint writes them (its commit never happens: the worker dies), then a batch is
    // held again.
    held.save(&crashed).await.unwrap();
    held.set_rollup_budget(usize::MAX);
    apply_batch(&crashed, &events[230..260], retention, &mut held)
        .await
        .unwrap();
    assert!(held.rollups_held() > 0);
    let to_230 = single_pass(&events[..230]).await;
    assert_stored(&crashed, &to_230, &to_230).await;
    drop(held);

    // The replacement replays from the committed offset (120) over documents the crashed
    // worker took ahead to 230: below the crashed worker's rollup mark its deltas stay one per
    // event, past it they are summed into runs.
    let mut replacement = VisitorStates::default();
    replacement.set_rollup_budget(usize::MAX);
    for range in [120..150, 150..200, 200..240] {
        apply_batch(&crashed, &events[range], retention, &mut replacement)
            .await
            .unwrap();
    }
    // Every event adds at least one delta (to its day's total); past the mark, a batch of 60
    // adds at most one run per document it changes.
    let before = replacement.rollups_held();
    apply_batch(&crashed, &events[240..300], retention, &mut replacement)
        .await
        .unwrap();
    let grown = replacement.rollups_held() - before;
    assert!(grown < 60, "{grown} deltas held for 60 events");
    replacement.save(&crashed).await.unwrap();
    assert_stored(&crashed, &once, &once).await;
    assert_eq!(events_read(&crashed).await, events_read(&once).await);
    for store in [once, crashed, to_120, to_150, to_230] {
        let _ = store.database().drop().await;
    }
}

#[tokio::test]
async fn a_watermark_inside_a_held_run_fails_the_save_as_a_conflict() {
    let events = generated(120, 21);
    let retention = Duration::days(30);
    let store = fresh_store().await;
    // No rollup mark yet: every held delta is past it and summed into runs.
    let mut held = VisitorStates::default();
    held.set_rollup_budget(usize::MAX);
    apply_batch(&store, &events, retention, &mut held)
        .await
        .unwrap();
    let runs = held.rollups_held();
    assert!(runs > 0 && runs < events.len(), "{runs} held");
    // A writer the mark could not fence (a zombie that kept the partition) adds the first half
    // on its own: the site's documents now have watermarks inside the held runs.
    store_batch(&store, &events[..60], retention).await.unwrap();
    let before = rollup_counters(&store).await;
    let saved = held.save(&store).await;
    assert!(
        matches!(saved, Err(StoreError::Conflict { .. })),
        "{saved:?}"
    );
    // The write stopped at the first run that straddles: nothing of the held runs was added.
    assert_eq!(rollup_counters(&store).await, before);
    let _ = store.database().drop().await;
}
