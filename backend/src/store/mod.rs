//! MongoDB: where events are kept and what reports read.
//!
//! One collection, `events`, one document per event with `_id` = the event's `eid`. That makes a
//! write idempotent: a replayed Kafka record hits a duplicate key and is skipped, so at-least-once
//! delivery still counts every event exactly once.

mod documents;
mod stats;

pub use stats::{DayStats, PathViews};

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::response::Response;

use beacon_event::Event;
use mongodb::bson::{doc, Document};
use mongodb::error::{ErrorKind, WriteFailure};
use mongodb::options::ClientOptions;
use mongodb::{Client, Collection, Database, IndexModel};

/// The duplicate-key error code: the event was stored before.
const DUPLICATE_KEY: i32 = 11000;
/// Database used when `MONGO_URL` names none.
const DEFAULT_DATABASE: &str = "analytics_db";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("invalid MONGO_URL: {0}")]
    Url(mongodb::error::Error),
    #[error("MongoDB error: {0}")]
    Mongo(#[from] mongodb::error::Error),
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
        let db = client.database(&db_name);
        Ok(Self {
            events: db.collection("events"),
            db,
        })
    }

    /// Creates the indexes reports need. Idempotent; run by the worker at start.
    pub async fn ensure_indexes(&self) -> Result<(), StoreError> {
        let indexes = [
            // total_views and top_paths: one site, page views, a time range.
            IndexModel::builder()
                .keys(doc! { "site_id": 1, "event_type": 1, "ts": 1 })
                .build(),
            // unique visitors: one site, any event, a time range.
            IndexModel::builder()
                .keys(doc! { "site_id": 1, "ts": 1 })
                .build(),
        ];
        self.events.create_indexes(indexes).await?;
        Ok(())
    }

    /// Stores events; already stored ones are counted as duplicates, not errors.
    pub async fn insert_events(&self, events: &[Event]) -> Result<InsertOutcome, StoreError> {
        if events.is_empty() {
            return Ok(InsertOutcome::default());
        }
        let docs: Vec<Document> = events.iter().map(documents::event_document).collect();
        let started = std::time::Instant::now();
        let result = self.events.insert_many(docs).ordered(false).await;
        metrics::histogram!(crate::metrics::MONGO_WRITE_SECONDS)
            .record(started.elapsed().as_secs_f64());
        match result {
            Ok(result) => Ok(InsertOutcome {
                inserted: result.inserted_ids.len(),
                duplicates: 0,
            }),
            Err(e) => match only_duplicates(&e) {
                Some(duplicates) => Ok(InsertOutcome {
                    inserted: events.len() - duplicates,
                    duplicates,
                }),
                None => {
                    metrics::counter!(crate::metrics::MONGO_WRITE_ERRORS).increment(1);
                    Err(e.into())
                }
            },
        }
    }

    /// Whether MongoDB answers a ping.
    pub async fn ping(&self) -> bool {
        self.db.run_command(doc! { "ping": 1 }).await.is_ok()
    }

    /// `GET /readyz` for the services that depend on MongoDB (reports, worker).
    pub async fn readyz(State(store): State<Arc<MongoStore>>) -> Response {
        crate::http::readiness(store.ping().await, "mongodb")
    }

    /// The database handle, for reports and tests.
    pub fn database(&self) -> &Database {
        &self.db
    }
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
