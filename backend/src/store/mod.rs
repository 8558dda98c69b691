//! MongoDB: where events are kept and what reports read.
//!
//! Collections: `events`, one document per event with `_id` = the event's `eid` (a replayed
//! Kafka record hits a duplicate key and is skipped, so at-least-once delivery still stores
//! every event once); `rollups_daily` and `rollups_hourly`, the counters reports read
//! ([`crate::rollup`] says how they stay exact under replay); `visitors`, one state per
//! visitor; `meta`, the worker's marks and checkpoints; `salts`, the visitor-id salts.
//!
//! One file per job: `documents` (an event as a document), `rollups` (writing counters),
//! `rollup_documents` (a rollup as a document), `blocks` (a batch's events packed for filtered
//! reports) and `block_cache` (those read, kept decoded), `visitors` (visitor states), `writes` (the
//! write commands both use), `marks`, `reports` and `top` (reading counters; `top_cache` the
//! pages read, while their days' totals stand), `salts`,
//! `status`, `replay` (events read back to rebuild rollups), `imported` (days imported from
//! another tool's export); `bson` has the values they share.

mod block_cache;
mod blocks;
mod bson;
mod day_cache;
mod documents;
mod goals;
mod imported;
mod marks;
mod range_events;
mod replay;
mod reports;
mod rollup_documents;
mod rollups;
mod salts;
mod seams;
mod shared_loads;
mod status;
mod tiers;
mod top;
mod top_cache;
mod top_days;
mod visitors;
mod writes;

use documents::{EventDocument, EventOrigin};
pub use documents::{StoredRevenue, StoredVisit};
pub use goals::Tallies;
pub use imported::ImportedDay;
pub use range_events::{At, RangeEvents};
pub use replay::{Replaced, RollupRange};
pub use reports::{Order, Page, RawEvent, Row, RowsQuery};
pub use seams::{EventStore, StateStore};
pub use status::LastCheckpoint;
pub use tiers::{tier, visit_tier};
pub use top::Top;

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use beacon_event::Event;
use futures::TryStreamExt;
use mongodb::bson::{doc, Document};
use mongodb::error::{ErrorKind, WriteFailure};
use mongodb::options::ClientOptions;
use mongodb::options::IndexOptions;
use mongodb::{Client, Collection, Database, IndexModel};

use crate::rollup::{Position, VisitTag};

/// The duplicate-key error code: the event was stored before.
const DUPLICATE_KEY: i32 = 11000;
/// The raw events, one document per event.
const EVENTS: &str = "events";
/// Small documents about the store itself (tier backfill done, the worker's last checkpoint).
const META: &str = "meta";
/// Daily rollups: one document per site, day and property value.
const DAILY: &str = "rollups_daily";
/// Hourly totals per site.
const HOURLY: &str = "rollups_hourly";
/// One state per (site, visitor): the visit in progress and what already counts them.
const VISITORS: &str = "visitors";
/// Database used when `MONGO_URL` names none.
const DEFAULT_DATABASE: &str = "analytics_db";
/// Ids per `$in` lookup (see [`MongoStore::find_by_ids`]).
const IDS_PER_QUERY: usize = 100;
/// Lookups of one batch in flight at once.
const QUERIES_IN_FLIGHT: usize = 4;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("invalid MONGO_URL: {0}")]
    Url(mongodb::error::Error),
    #[error("MongoDB error: {0}")]
    Mongo(#[from] mongodb::error::Error),
    /// A document that should not be possible (written by something else).
    #[error("unexpected document: {0}")]
    Corrupt(String),
    /// Another writer moved a watermark this write was computed against (two workers briefly
    /// owning one partition during a rebalance): the batch is recomputed and retried.
    #[error("{failed} conditional writes to {collection} lost a race; retrying the batch")]
    Conflict { collection: String, failed: usize },
    /// MongoDB refused a write for another reason than a lost race (a document too large, a
    /// validation rule, permissions): retrying the same write will not help by itself.
    #[error("MongoDB refused {failed} writes to {collection}: {reason}")]
    Rejected {
        collection: String,
        failed: usize,
        reason: String,
    },
}

/// An event ready to store: where it came from and the visit it belongs to.
#[derive(Debug, Clone)]
pub struct StoredEvent {
    pub event: Event,
    pub at: Position,
    pub visit: VisitTag,
}

impl StoredEvent {
    /// The raw-event document as the worker stores it, expiring `retention` after the event.
    fn document(&self, retention: time::Duration) -> EventDocument<'_> {
        EventDocument::new(
            &self.event,
            self.at,
            &self.visit,
            self.event.timestamp + retention,
        )
    }

    /// The same document as BSON: what the bench's bare insert loop writes.
    pub fn to_document(&self, retention: time::Duration) -> Document {
        mongodb::bson::to_document(&self.document(retention))
            .expect("an event of strings and numbers always serializes")
    }
}

/// How a bulk insert went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct InsertOutcome {
    pub inserted: usize,
    /// Events already stored (replays); not an error.
    pub duplicates: usize,
}

#[derive(Clone)]
pub struct MongoStore {
    db: Database,
    events: Collection<Document>,
    /// Set once every daily rollup is known to carry its tier, and its visit tier ([`tiers`]).
    tiers_ready: Arc<AtomicBool>,
    visit_tiers_ready: Arc<AtomicBool>,
    /// Raw-event loads in flight, joined by reports of the same range ([`shared_loads`]).
    loads: Arc<shared_loads::SharedLoads>,
    /// Event blocks read before, decoded ([`block_cache`]).
    blocks: Arc<block_cache::BlockCache>,
    /// Breakdown pages read before, while their range's totals stand ([`top_cache`]).
    tops: Arc<top_cache::TopCache>,
    /// Each day's rollup documents breakdowns read, while its total stands ([`day_cache`]).
    days: Arc<day_cache::DayCache>,
}

impl MongoStore {
    /// Parses the URL and prepares a client; the driver connects lazily, so this succeeds even
    /// while MongoDB is down.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let mut options = ClientOptions::parse(url).await.map_err(StoreError::Url)?;
        options.app_name.get_or_insert_with(|| "beacon".to_owned());
        // Fail fast so callers can back off and report unavailability instead of hanging.
        options.server_selection_timeout = Some(Duration::from_secs(5));
        options
            .connect_timeout
            .get_or_insert(Duration::from_secs(5));
        let db_name = options
            .default_database
            .clone()
            .unwrap_or_else(|| DEFAULT_DATABASE.to_owned());
        let client = Client::with_options(options).map_err(StoreError::Url)?;
        Ok(Self::on(client.database(&db_name)))
    }

    /// A store of `db` that keeps nothing it reads (the report service adds its caches).
    fn on(db: Database) -> Self {
        Self {
            events: db.collection(EVENTS),
            db,
            tiers_ready: Arc::default(),
            visit_tiers_ready: Arc::default(),
            loads: Arc::default(),
            blocks: Arc::new(block_cache::BlockCache::new(0)),
            tops: Arc::new(top_cache::TopCache::new(0)),
            days: Arc::new(day_cache::DayCache::new(0)),
        }
    }

    /// This store, keeping up to `events` events of the event blocks it reads decoded
    /// (`block_cache`): what the report service does.
    pub fn with_block_cache(mut self, events: usize) -> Self {
        self.blocks = Arc::new(block_cache::BlockCache::new(events));
        self
    }

    /// This store, keeping up to `pages` breakdown pages it reads while their range's day
    /// totals stand (`top_cache`): what the report service does.
    pub fn with_page_cache(mut self, pages: usize) -> Self {
        self.tops = Arc::new(top_cache::TopCache::new(pages));
        self
    }

    /// This store, keeping up to `documents` daily rollup documents breakdowns read, per day
    /// while the day's total stands (`day_cache`): what the report service does.
    pub fn with_day_cache(mut self, documents: usize) -> Self {
        self.days = Arc::new(day_cache::DayCache::new(documents));
        self
    }

    /// Another database on the same server, sharing this store's client and connection pool
    /// (the benchmarks write side by side into scratch databases).
    pub fn with_database(&self, name: &str) -> Self {
        Self::on(self.db.client().database(name))
    }

    /// Creates the indexes reports need, and the TTL indexes that expire raw events, visitor
    /// states and visitor salts. Idempotent; run by the worker at start.
    pub async fn ensure_indexes(&self) -> Result<(), StoreError> {
        let index = |keys: Document| IndexModel::builder().keys(keys).build();
        let plan = [
            (
                DAILY,
                vec![
                    index(doc! { "site": 1, "dim": 1, "day": 1 }),
                    // Breakdowns read a property's values tier by tier (top.rs).
                    index(doc! { "site": 1, "dim": 1, tiers::TIER: 1, "day": 1 }),
                    index(doc! { "site": 1, "dim": 1, tiers::VISIT_TIER: 1, "day": 1 }),
                ],
            ),
            (HOURLY, vec![index(doc! { "site": 1, "hour": 1 })]),
            // Realtime: a site's visitors seen since a moment. Expiry: `expire_at` is two days
            // after the state's last event or its last save, whichever is later (a backlog of
            // old events still needs its visitors' states while it is being worked through).
            (
                VISITORS,
                vec![index(doc! { "site": 1, "last_seen": 1 }), expiry_index()],
            ),
            // Daily visitor salts are deleted an hour after their day ends.
            (salts::SALTS, vec![expiry_index()]),
            // Filtered reports: one site's raw events in a time range (unfiltered reports read
            // rollups, so raw events carry no other report index: every index slows the
            // insert); retention: RETENTION_DAYS after each event happened.
            (
                EVENTS,
                vec![index(doc! { "site_id": 1, "ts": 1 }), expiry_index()],
            ),
            // What filtered reports read: one site's blocks of a range of UTC days.
            (
                blocks::BLOCKS,
                vec![index(doc! { "site": 1, "day": 1 }), expiry_index()],
            ),
        ];
        for (collection, indexes) in plan {
            self.db
                .collection::<Document>(collection)
                .create_indexes(indexes)
                .await?;
        }
        Ok(())
    }

    /// For each of these event ids that is stored: the position of the record that stored it.
    pub async fn stored_positions(
        &self,
        eids: &[String],
    ) -> Result<std::collections::HashMap<String, Position>, StoreError> {
        if eids.is_empty() {
            return Ok(Default::default());
        }
        let found: Vec<EventOrigin> = self
            .find_by_ids(EVENTS, eids, Some(doc! { "src": 1 }))
            .await?;
        Ok(found
            .into_iter()
            .map(|found| (found.id, documents::origin(found.src)))
            .collect())
    }

    /// Stores events, then their blocks (`blocks`); already stored ones are counted as
    /// duplicates, not errors. Each expires `retention` after it happened.
    pub async fn insert_events(
        &self,
        events: &[StoredEvent],
        retention: time::Duration,
    ) -> Result<InsertOutcome, StoreError> {
        if events.is_empty() {
            return Ok(InsertOutcome::default());
        }
        let docs: Vec<EventDocument> = events.iter().map(|s| s.document(retention)).collect();
        let started = std::time::Instant::now();
        let result = self
            .events
            .clone_with_type::<EventDocument>()
            .insert_many(&docs)
            .ordered(false)
            .await;
        metrics::histogram!(crate::metrics::MONGO_WRITE_SECONDS)
            .record(started.elapsed().as_secs_f64());
        let outcome = match result {
            Ok(result) => InsertOutcome {
                inserted: result.inserted_ids.len(),
                duplicates: 0,
            },
            Err(e) => match only_duplicates(&e) {
                Some(duplicates) => InsertOutcome {
                    inserted: events.len() - duplicates,
                    duplicates,
                },
                None => {
                    metrics::counter!(crate::metrics::MONGO_WRITE_ERRORS).increment(1);
                    return Err(e.into());
                }
            },
        };
        self.insert_blocks(events, &docs, retention).await?;
        Ok(outcome)
    }

    /// Every document of `collection` that `filter` matches, read as `T`.
    pub(crate) async fn find_all<T>(
        &self,
        collection: &str,
        filter: Document,
    ) -> Result<Vec<T>, StoreError>
    where
        T: serde::de::DeserializeOwned + Send + Sync,
    {
        let found = self.db.collection::<T>(collection).find(filter).await?;
        Ok(found.try_collect().await?)
    }

    /// The documents of `collection` whose `_id` is among `ids`, looked up `IDS_PER_QUERY` ids
    /// at a time, a few lookups in flight.
    ///
    /// Why not one `$in` with every id of a batch: SecantusDB re-checks each document it finds
    /// against the whole `$in` list, so one lookup costs ids² comparisons (profile in
    /// docs/benchmarks.md). Real MongoDB is indifferent to the split; it costs a few more
    /// round trips on a warm connection.
    pub(crate) async fn find_by_ids<T>(
        &self,
        collection: &str,
        ids: &[String],
        projection: Option<Document>,
    ) -> Result<Vec<T>, StoreError>
    where
        T: serde::de::DeserializeOwned + Send + Sync,
    {
        use futures::future::{BoxFuture, FutureExt};
        use futures::StreamExt;
        let collection = self.db.collection::<T>(collection);
        // Boxed: an iterator of `async` blocks made by a closure would make the worker's future
        // fail rustc's higher-ranked `Send` check where it is spawned.
        let lookups: Vec<BoxFuture<'_, Result<Vec<T>, mongodb::error::Error>>> = ids
            .chunks(IDS_PER_QUERY)
            .map(|chunk| {
                let find = collection.find(doc! { "_id": { "$in": chunk } });
                let find = match &projection {
                    Some(fields) => find.projection(fields.clone()),
                    None => find,
                };
                async move { find.await?.try_collect::<Vec<T>>().await }.boxed()
            })
            .collect();
        let found: Vec<Vec<T>> = futures::stream::iter(lookups)
            .buffer_unordered(QUERIES_IN_FLIGHT)
            .try_collect()
            .await?;
        Ok(found.into_iter().flatten().collect())
    }

    /// Whether MongoDB answers a ping.
    pub async fn ping(&self) -> bool {
        self.db.run_command(doc! { "ping": 1 }).await.is_ok()
    }

    /// The database handle, for reports and tests.
    pub fn database(&self) -> &Database {
        &self.db
    }
}

/// Whether a single write failed because the document exists.
fn is_duplicate(error: &mongodb::error::Error) -> bool {
    matches!(error.kind.as_ref(), ErrorKind::Write(WriteFailure::WriteError(e)) if e.code == DUPLICATE_KEY)
}

/// If a bulk insert failed only because some documents already exist, how many.
fn only_duplicates(error: &mongodb::error::Error) -> Option<usize> {
    match error.kind.as_ref() {
        ErrorKind::InsertMany(failure) if failure.write_concern_error.is_none() => {
            let errors = failure.write_errors.as_ref()?;
            errors
                .iter()
                .all(|e| e.code == DUPLICATE_KEY)
                .then_some(errors.len())
        }
        ErrorKind::Write(WriteFailure::WriteError(e)) if e.code == DUPLICATE_KEY => Some(1),
        _ => None,
    }
}

/// The TTL index of a collection whose documents each carry their own expiry instant in
/// `expire_at`.
fn expiry_index() -> IndexModel {
    IndexModel::builder()
        .keys(doc! { "expire_at": 1 })
        .options(
            IndexOptions::builder()
                .expire_after(Duration::from_secs(0))
                .build(),
        )
        .build()
}
