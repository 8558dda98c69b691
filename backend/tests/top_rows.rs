//! Breakdowns read tier by tier (store/top.rs) against the same breakdowns aggregated from
//! every rollup document, over the wire: equal for every order, page and range, on a skewed
//! site (few documents read) and a flat one (most read); and the backfill that gives
//! tiers to documents written before them.

use beacon::rollup::{Dimension, Position, Property};
use beacon::store::{MongoStore, Order, Page, RowsQuery};
use beacon::worker::store_batch;
use beacon_event::event::Context;
use beacon_event::{Event, EventType, PagePath, SiteId, VisitorId};
use mongodb::bson::{doc, Document};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use time::macros::{date, datetime};
use time::{Date, Duration};

const SITE: &str = "top";

/// `n` events over three days (2026-11-10..12): paths drawn by `path_of` from a uniform draw,
/// 150 visitors in short visits, sources and a custom event now and then.
fn traffic(n: usize, seed: u64, path_of: impl Fn(f64) -> usize) -> Vec<(Event, Position)> {
    let mut rng = StdRng::seed_from_u64(seed);
    let start = datetime!(2026-11-10 00:00 UTC);
    (0..n)
        .map(|i| {
            let at = start + Duration::seconds((i as i64) * 3 * 86_400 / n as i64);
            let kind = if rng.random_bool(0.1) {
                "signup"
            } else {
                "page_view"
            };
            let path = format!("/p{}", path_of(rng.random::<f64>()));
            let event = Event {
                eid: uuid::Uuid::from_u128(i as u128 + 1),
                site_id: SiteId::parse(SITE).unwrap(),
                event_type: EventType::parse(kind).unwrap(),
                path: PagePath::parse(&path).unwrap(),
                visitor_id: VisitorId::parse(&format!("v{}", rng.random_range(0..150))).unwrap(),
                user_id: None,
                timestamp: at,
                received_at: at,
                referrer: None,
                screen_width: None,
                props: None,
                revenue: None,
                context: Context {
                    source: ["Google", "", "example.org", "t.co"][rng.random_range(0..4)].into(),
                    ..Context::default()
                },
            };
            let position = Position {
                partition: 0,
                offset: i as i64,
            };
            (event, position)
        })
        .collect()
}

/// The test server's URL with database `db`.
fn url_of(db: &str) -> String {
    let url = std::env::var("MONGO_URL").unwrap_or_else(|_| "mongodb://127.0.0.1:27017".into());
    let (scheme, rest) = url.split_once("://").unwrap();
    let hosts = rest.split(['/', '?']).next().unwrap();
    format!("{scheme}://{hosts}/{db}")
}

fn store_url(store: &MongoStore) -> String {
    url_of(store.database().name())
}

async fn fresh_store(name: &str) -> MongoStore {
    let db = format!(
        "beacon_top_{name}_{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let store = MongoStore::connect(&url_of(&db)).await.unwrap();
    store.ensure_indexes().await.unwrap();
    store
}

async fn seeded(name: &str, events: &[(Event, Position)]) -> MongoStore {
    let store = fresh_store(name).await;
    for batch in events.chunks(1000) {
        store_batch(&store, batch, Duration::days(3650))
            .await
            .unwrap();
    }
    store
}

const ORDERS: [(Dimension, Order); 5] = [
    (Dimension::Path, Order::Views),
    (Dimension::Path, Order::Visitors),
    (Dimension::ExitPage, Order::Visits),
    (Dimension::EventType, Order::Events),
    (Dimension::Source, Order::Visitors),
];
const RANGES: [(Date, Date); 3] = [
    (date!(2026 - 11 - 10), date!(2026 - 11 - 10)),
    (date!(2026 - 11 - 11), date!(2026 - 11 - 12)),
    (date!(2026 - 11 - 01), date!(2026 - 11 - 30)),
];

/// Every tiered page equals the aggregated one; returns the documents read for the first
/// page of top paths on one day, by views and by visitors.
async fn check_equal(store: &MongoStore) -> (usize, usize) {
    let site = SiteId::parse(SITE).unwrap();
    let pages = [(0, 10), (10, 10), (0, 1), (95, 10), (0, 1000)];
    let mut first_page_read = (0, 0);
    for (dim, order) in ORDERS {
        for (from, to) in RANGES {
            for (skip, limit) in pages {
                let page = Page { skip, limit };
                let q = RowsQuery {
                    site: &site,
                    from,
                    to,
                    dim: &Property::Dim(dim),
                    order,
                    page,
                };
                let top = store.top_rows(q).await.unwrap();
                let all = store.aggregate_rows(q).await.unwrap();
                assert_eq!(top.rows, all, "{dim:?} {order:?} {from}..{to} {page:?}");
                if (dim, skip, limit, from) == (Dimension::Path, 0, 10, to) {
                    match order {
                        Order::Views => first_page_read.0 = top.documents_read,
                        _ => first_page_read.1 = top.documents_read,
                    }
                }
            }
        }
    }
    first_page_read
}

static PATHS: Property = Property::Dim(Dimension::Path);

/// The first page of top paths over the second range.
fn top_paths(site: &SiteId) -> RowsQuery<'_> {
    let (from, to) = RANGES[1];
    RowsQuery {
        site,
        from,
        to,
        dim: &PATHS,
        order: Order::Views,
        page: Page { skip: 0, limit: 10 },
    }
}

async fn path_documents(store: &MongoStore, day: &str) -> u64 {
    store
        .database()
        .collection::<Document>("rollups_daily")
        .count_documents(doc! { "site": SITE, "dim": "path", "day": day })
        .await
        .unwrap()
}

#[tokio::test]
async fn tiered_pages_equal_aggregated_ones_and_read_few_documents_on_a_skewed_site() {
    // Zipf-like: path k drawn with probability ~ 1/k over 2,000 paths.
    let zipf = |u: f64| (2000_f64.powf(u) as usize).min(1999);
    let store = seeded("skewed", &traffic(6000, 18, zipf)).await;
    // Read by `t` (no document is known to have `tv` yet), then by `tv` for the pages ordered
    // by visitors or visits.
    let (read, by_visitors_with_t) = check_equal(&store).await;
    let documents = path_documents(&store, "2026-11-10").await;
    assert!(documents > 500, "only {documents} path documents that day");
    assert!(
        read * 5 < documents as usize,
        "top 10 paths read {read} of {documents} documents"
    );
    assert_eq!(store.backfill_tiers().await.unwrap(), 0);
    let (_, by_visitors) = check_equal(&store).await;
    assert!(
        by_visitors < by_visitors_with_t,
        "top 10 paths by visitors read {by_visitors} documents by tv, {by_visitors_with_t} by t"
    );
}

#[tokio::test]
async fn tiered_pages_stay_exact_when_every_value_counts_the_same() {
    // 40 paths drawn uniformly: values count about the same, so a page reads most documents.
    let store = seeded("flat", &traffic(1200, 5, |u| (u * 40.0) as usize)).await;
    check_equal(&store).await;
    store.backfill_tiers().await.unwrap();
    check_equal(&store).await;
}

async fn all_documents(collection: &mongodb::Collection<Document>) -> Vec<Document> {
    use futures::TryStreamExt;
    let found = collection.find(doc! {}).await.unwrap();
    found.try_collect().await.unwrap()
}

#[tokio::test]
async fn documents_written_before_tiers_get_them_and_reports_wait_for_them() {
    let zipf = |u: f64| (300_f64.powf(u) as usize).min(299);
    let store = seeded("backfill", &traffic(1500, 3, zipf)).await;
    let rollups = store.database().collection::<Document>("rollups_daily");
    let before_tiers = all_documents(&rollups).await;
    assert!(before_tiers
        .iter()
        .all(|d| d.contains_key("t") && d.contains_key("tv")));
    rollups
        .update_many(doc! {}, doc! { "$unset": { "t": "", "tv": "" } })
        .await
        .unwrap();

    // Until the backfill ran, breakdowns aggregate (tiered reads would miss every document).
    let site = SiteId::parse(SITE).unwrap();
    let q = top_paths(&site);
    let aggregated = store.aggregate_rows(q).await.unwrap();
    assert_eq!(aggregated.len(), 10);
    let breakdown = |s: MongoStore| async move { s.breakdown(q).await.unwrap() };
    assert_eq!(breakdown(store.clone()).await, aggregated);

    let given = store.backfill_tiers().await.unwrap();
    assert_eq!(given, before_tiers.len() as u64);
    assert_eq!(store.backfill_tiers().await.unwrap(), 0);
    // The same tiers the worker wrote, and tiered reads from now on.
    let after = all_documents(&rollups).await;
    let tiers = |docs: &[Document]| {
        let mut t: Vec<(String, i64, i64)> = docs
            .iter()
            .map(|d| {
                (
                    d.get_str("_id").unwrap().to_owned(),
                    d.get_i64("t").unwrap(),
                    d.get_i64("tv").unwrap(),
                )
            })
            .collect();
        t.sort();
        t
    };
    assert_eq!(tiers(&after), tiers(&before_tiers));
    assert_eq!(breakdown(store.clone()).await, aggregated);
    check_equal(&store).await;
}

#[tokio::test]
async fn documents_from_before_visit_tiers_get_them_and_pages_stay_exact_meanwhile() {
    // As a worker of the version before `tv` left them: every document has its `t` (and the
    // marker says so), none has a `tv`.
    let zipf = |u: f64| (300_f64.powf(u) as usize).min(299);
    let store = seeded("upgrade", &traffic(1500, 4, zipf)).await;
    store.backfill_tiers().await.unwrap();
    let db = store.database();
    db.collection::<Document>("rollups_daily")
        .update_many(doc! {}, doc! { "$unset": { "tv": "" } })
        .await
        .unwrap();
    db.collection::<Document>("meta")
        .delete_one(doc! { "_id": "rollup_visit_tiers" })
        .await
        .unwrap();
    // A store that has not seen the marker yet (the report service after an upgrade).
    let upgraded = MongoStore::connect(&store_url(&store)).await.unwrap();
    let site = SiteId::parse(SITE).unwrap();
    let by_visitors = RowsQuery {
        order: Order::Visitors,
        ..top_paths(&site)
    };
    let aggregated = upgraded.aggregate_rows(by_visitors).await.unwrap();
    assert_eq!(upgraded.breakdown(by_visitors).await.unwrap(), aggregated);
    check_equal(&upgraded).await;

    let given = upgraded.backfill_tiers().await.unwrap();
    let documents = all_documents(&db.collection::<Document>("rollups_daily")).await;
    assert_eq!(given, documents.len() as u64);
    assert!(documents.iter().all(|d| d.get_i64("tv").is_ok()));
    assert_eq!(upgraded.breakdown(by_visitors).await.unwrap(), aggregated);
    check_equal(&upgraded).await;
}

#[tokio::test]
async fn a_kept_page_is_answered_until_an_event_changes_its_days() {
    let zipf = |u: f64| (300_f64.powf(u) as usize).min(299);
    let events = traffic(1500, 9, zipf);
    let store = seeded("kept", &events).await.with_page_cache(16);
    let site = SiteId::parse(SITE).unwrap();
    let q = top_paths(&site);
    let first = store.top_rows(q).await.unwrap();
    assert!(first.documents_read > 0);
    let again = store.top_rows(q).await.unwrap();
    assert_eq!(
        (again.rows.clone(), again.documents_read),
        (first.rows.clone(), 0)
    );

    // 500 more views of one path on the range's last day: the page is read again and shows them.
    let (mut event, at) = events.last().cloned().unwrap();
    let more: Vec<_> = (0..500)
        .map(|i| {
            event.eid = uuid::Uuid::from_u128(10_000 + i);
            event.path = PagePath::parse("/new").unwrap();
            event.event_type = EventType::parse("page_view").unwrap();
            let at = Position {
                offset: at.offset + 1 + i as i64,
                ..at
            };
            (event.clone(), at)
        })
        .collect();
    store_batch(&store, &more, Duration::days(3650))
        .await
        .unwrap();
    let after = store.top_rows(q).await.unwrap();
    assert!(after.documents_read > 0);
    assert_eq!(after.rows[0].value, "/new");
    assert_eq!(after.rows, store.aggregate_rows(q).await.unwrap());
}

/// `n` page views of `path` on 2026-11-11 from offset `first` on (a later batch of the site).
fn more_views(n: usize, first: i64, path: &str) -> Vec<(Event, Position)> {
    let (template, _) = traffic(1, 1, |_| 0).remove(0);
    (0..n)
        .map(|i| {
            let mut event = template.clone();
            event.eid = uuid::Uuid::from_u128(1_000_000 + first as u128 + i as u128);
            event.path = PagePath::parse(path).unwrap();
            event.event_type = EventType::parse("page_view").unwrap();
            event.visitor_id = VisitorId::parse(&format!("late{}", i % 40)).unwrap();
            event.timestamp = datetime!(2026-11-11 12:00 UTC) + Duration::seconds(i as i64);
            event.received_at = event.timestamp;
            let at = Position {
                partition: 0,
                offset: first + i as i64,
            };
            (event, at)
        })
        .collect()
}

#[tokio::test]
async fn kept_days_are_read_only_once_and_a_day_that_changed_is_read_again() {
    let zipf = |u: f64| (300_f64.powf(u) as usize).min(299);
    let store = seeded("days", &traffic(1500, 9, zipf))
        .await
        .with_day_cache(100_000);
    let site = SiteId::parse(SITE).unwrap();
    let month = RowsQuery {
        from: RANGES[2].0,
        to: RANGES[2].1,
        ..top_paths(&site)
    };
    let first = store.top_rows(month).await.unwrap();
    assert!(first.documents_read > 0);
    // Every day's documents kept: nothing read from the store, the same page.
    let again = store.top_rows(month).await.unwrap();
    assert_eq!((&again.rows, again.documents_read), (&first.rows, 0));

    // Later views on the middle day: only that day is read again, and they show.
    store_batch(
        &store,
        &more_views(400, 5_000, "/late"),
        Duration::days(3650),
    )
    .await
    .unwrap();
    let after = store.top_rows(month).await.unwrap();
    assert_eq!(after.rows, store.aggregate_rows(month).await.unwrap());
    assert_eq!(after.rows[0].value, "/late");
    let that_day = path_documents(&store, "2026-11-11").await as usize;
    assert!(
        after.documents_read > 0 && after.documents_read <= that_day,
        "read {} documents, the changed day has {that_day}",
        after.documents_read
    );
}

#[tokio::test]
async fn pages_read_partly_from_kept_days_equal_aggregated_ones() {
    // Flat (most documents read, every day kept deep) and skewed, each checked with every
    // day kept, then again after one day changed under the kept others.
    let flat = |u: f64| (u * 40.0) as usize;
    let zipf = |u: f64| (2000_f64.powf(u) as usize).min(1999);
    for (name, events) in [
        ("kflat", traffic(1200, 5, flat)),
        ("kzipf", traffic(6000, 18, zipf)),
    ] {
        let store = seeded(name, &events).await.with_day_cache(100_000);
        // Pages by visitors and visits read by `tv`, the others by `t`: both kept per day.
        store.backfill_tiers().await.unwrap();
        check_equal(&store).await;
        check_equal(&store).await;
        let late = more_views(300, 50_000, "/p7");
        store_batch(&store, &late, Duration::days(3650))
            .await
            .unwrap();
        check_equal(&store).await;
    }
}
