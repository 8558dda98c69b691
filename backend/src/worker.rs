//! The worker: moves events from Kafka into MongoDB, at least once and idempotently.
//!
//! Each batch goes: decode → poison records to the dead-letter topic → bulk insert into MongoDB →
//! commit offsets. Offsets are committed only after both writes were acknowledged, so a crash at
//! any point replays the batch instead of skipping it, and `_id = eid` makes the replay harmless.
//! When MongoDB or the broker is down the worker retries with backoff and never commits past
//! what it stored: lag grows, nothing is lost, and it drains once the store is back.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use beacon_event::Event;
use serde::Serialize;

use std::sync::Arc;

use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use tokio::net::TcpListener;

use crate::config::Config;
use crate::metrics::{BOTS_FILTERED, DEAD_LETTERS, EVENTS_DUPLICATE, EVENTS_STORED};
use crate::pipeline::consumer::{EventConsumer, Record};
use crate::pipeline::{topics, Producer};
use crate::rollup::{Bucket, Contributions, Counters, Position, RollupKey, VisitorState};
use crate::shutdown::Shutdown;
use crate::store::MongoStore;
use crate::store::{InsertOutcome, StoreError, StoredEvent};
use crate::{http, ServiceError};

/// How often the consumer-lag gauge is refreshed.
const LAG_EVERY: Duration = Duration::from_secs(5);

/// A record that can never be stored, as written to the dead-letter topic.
#[derive(Debug, Serialize)]
pub struct DeadLetter {
    pub reason: String,
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    /// The original bytes, lossily decoded so the envelope stays readable JSON.
    pub payload: String,
}

/// Splits a batch into storable events (with their positions) and dead letters.
pub fn decode(records: &[Record], topic: &str) -> (Vec<(Event, Position)>, Vec<DeadLetter>) {
    let mut events = Vec::with_capacity(records.len());
    let mut dead = Vec::new();
    for record in records {
        match serde_json::from_slice::<Event>(&record.payload) {
            Ok(event) => events.push((
                event,
                Position {
                    partition: record.partition,
                    offset: record.offset,
                },
            )),
            Err(e) => dead.push(DeadLetter {
                reason: e.to_string(),
                topic: topic.to_owned(),
                partition: record.partition,
                offset: record.offset,
                payload: String::from_utf8_lossy(&record.payload).into_owned(),
            }),
        }
    }
    (events, dead)
}

/// Whether the worker's latest attempt to store a batch failed. A MongoDB that answers pings
/// can still refuse every write (a full cache, a rejected document, lost permissions), and the
/// worker then stalls just as surely as if it were down: `/readyz` reports both.
#[derive(Clone, Default)]
struct StoreHealth(Arc<AtomicBool>);

impl StoreHealth {
    fn record<T, E>(&self, attempt: &Result<T, E>) {
        self.0.store(attempt.is_err(), Ordering::Relaxed);
    }

    fn failing(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// `/readyz`: MongoDB answers pings and the last batch could be stored.
async fn readyz(State((store, health)): State<(Arc<MongoStore>, StoreHealth)>) -> Response {
    if health.failing() {
        return http::readiness(false, "mongodb writes");
    }
    http::readiness(store.ping().await, "mongodb")
}

/// `/healthz`, `/readyz` and `/metrics` for the worker.
fn router(store: Arc<MongoStore>, health: StoreHealth) -> Router {
    Router::new()
        .route("/healthz", get(http::healthz))
        .route("/readyz", get(readyz))
        .with_state((store, health))
}

/// Runs the worker until `shutdown`; the batch in hand is finished and committed first.
/// `listener` serves the worker's health and metrics endpoints.
pub async fn run(
    config: &Config,
    listener: TcpListener,
    shutdown: Shutdown,
) -> Result<(), ServiceError> {
    let store = MongoStore::connect(&config.mongo_url).await?;
    let health = StoreHealth::default();
    let endpoints = tokio::spawn(http::serve(
        "worker",
        listener,
        config.max_connections,
        router(Arc::new(store.clone()), health.clone()),
        shutdown.clone(),
    ));
    let result = consume(config, &store, &health, shutdown).await;
    endpoints.await.map_err(std::io::Error::other)??;
    result
}

async fn consume(
    config: &Config,
    store: &MongoStore,
    health: &StoreHealth,
    mut shutdown: Shutdown,
) -> Result<(), ServiceError> {
    if retry("create indexes", &mut shutdown, || store.ensure_indexes())
        .await
        .is_none()
    {
        return Ok(());
    }
    if let Err(e) = topics::ensure_with_retry(config, 10).await {
        tracing::warn!(error = %e, "could not create topics; subscribing anyway");
    }
    let consumer = EventConsumer::subscribe(config)?;
    let dead_letters = Producer::new(config, "beacon-worker-dlq")?;
    tracing::info!(topic = %config.kafka_topic, group = %config.consumer_group, "worker consuming");
    let mut lag_updated = tokio::time::Instant::now();
    let mut next_offsets = std::collections::HashMap::new();

    while let Some(batch) = consumer
        .next_batch(
            config.worker_batch_size,
            config.worker_batch_wait,
            &mut shutdown,
        )
        .await
    {
        for gap in offset_gaps(&mut next_offsets, &batch) {
            // Offsets of a non-transactional topic are contiguous: a forward jump means records
            // this worker never saw will be committed past (or another member handled them
            // after a rebalance). Logged so an operator can tell which.
            tracing::warn!(
                partition = gap.0,
                expected = gap.1,
                got = gap.2,
                "offset jump in the consumed stream"
            );
        }
        let (events, dead) = decode(&batch, &config.kafka_topic);
        if !dead.is_empty() {
            let envelopes: Vec<Vec<u8>> = dead
                .iter()
                .map(|d| serde_json::to_vec(d).expect("a dead letter always serializes"))
                .collect();
            for d in &dead {
                tracing::warn!(partition = d.partition, offset = d.offset, reason = %d.reason, "record sent to the dead-letter topic");
            }
            let send = || {
                let records = envelopes.iter().map(|e| ("dlq", e.as_slice()));
                dead_letters.send_all(&config.dlq_topic, records)
            };
            if retry("write dead letters", &mut shutdown, send)
                .await
                .is_none()
            {
                break;
            }
        }
        let Some(outcome) = retry("store events", &mut shutdown, || async {
            let stored = store_batch(store, &events, config.retention).await;
            health.record(&stored);
            stored
        })
        .await
        else {
            break;
        };
        if let Err(e) = consumer.commit(&batch) {
            // Not fatal: the batch is stored, a replay after a rebalance is de-duplicated.
            tracing::warn!(error = %e, "offset commit failed");
        }
        metrics::counter!(EVENTS_STORED).increment(outcome.inserted as u64);
        metrics::counter!(EVENTS_DUPLICATE).increment(outcome.duplicates as u64);
        metrics::counter!(DEAD_LETTERS).increment(dead.len() as u64);
        metrics::counter!(BOTS_FILTERED).increment(outcome.bots as u64);
        if lag_updated.elapsed() >= LAG_EVERY {
            consumer.record_lag();
            lag_updated = tokio::time::Instant::now();
        }
        tracing::debug!(
            records = batch.len(),
            inserted = outcome.inserted,
            duplicates = outcome.duplicates,
            dead_letters = dead.len(),
            "batch stored"
        );
    }
    dead_letters.flush(Duration::from_secs(5)).await;
    tracing::info!("worker stopped");
    Ok(())
}

/// Forward jumps in each partition's offsets, against the offset expected next (from the
/// previous batches); updates the expectations. Backward moves (replays) are not jumps.
pub fn offset_gaps(
    next: &mut std::collections::HashMap<i32, i64>,
    batch: &[Record],
) -> Vec<(i32, i64, i64)> {
    let mut gaps = Vec::new();
    for r in batch {
        if let Some(&expected) = next.get(&r.partition) {
            if r.offset > expected {
                gaps.push((r.partition, expected, r.offset));
            }
        }
        next.insert(r.partition, r.offset + 1);
    }
    gaps
}

/// What storing one batch did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchOutcome {
    pub inserted: usize,
    /// Events stored before by another record (client retries).
    pub duplicates: usize,
    pub bots: usize,
}

/// Stores one batch: raw events, rollup deltas, visitor states, in that order, each write
/// idempotent by Kafka position (see [`crate::rollup`]). Safe to call again with the same or an
/// overlapping batch after any failure.
pub async fn store_batch(
    store: &MongoStore,
    events: &[(Event, Position)],
    retention: time::Duration,
) -> Result<BatchOutcome, StoreError> {
    let mut ordered: Vec<&(Event, Position)> = events.iter().collect();
    ordered.sort_by_key(|(_, at)| *at);
    let (bots, humans): (Vec<_>, Vec<_>) = ordered.into_iter().partition(|(e, _)| e.context.bot);

    // A record is fresh unless its event was stored by a different record (a client retry).
    let eids: Vec<String> = humans.iter().map(|(e, _)| e.eid.to_string()).collect();
    let stored = store.stored_positions(&eids).await?;
    let mut first_in_batch = std::collections::HashSet::new();
    let fresh: Vec<&(Event, Position)> = humans
        .iter()
        .zip(&eids)
        .filter(|((_, at), eid)| {
            stored.get(*eid).is_none_or(|origin| origin == at) && first_in_batch.insert(*eid)
        })
        .map(|(pair, _)| *pair)
        .collect();
    let duplicates = humans.len() - fresh.len();

    let mut ids: Vec<String> = fresh
        .iter()
        .map(|(e, _)| VisitorState::id(e.site_id.as_str(), e.visitor_id.as_str()))
        .collect();
    ids.sort();
    ids.dedup();
    let mut states = store.load_visitors(&ids).await?;
    let loaded_at: std::collections::HashMap<String, Position> = states
        .iter()
        .map(|(id, s)| (id.clone(), s.applied))
        .collect();

    let mut contributions = Contributions::default();
    let mut to_store = Vec::with_capacity(fresh.len());
    let mut changed = std::collections::BTreeSet::new();
    for (event, at) in fresh {
        let id = VisitorState::id(event.site_id.as_str(), event.visitor_id.as_str());
        let state = states.entry(id.clone()).or_insert_with(|| {
            VisitorState::new(event.site_id.as_str(), event.visitor_id.as_str())
        });
        if state.has_applied(*at) {
            // Replayed after its state was saved: the raw event and its deltas are in already.
            continue;
        }
        let visit = state.apply(event, *at, &mut contributions);
        changed.insert(id);
        to_store.push(StoredEvent {
            event: event.clone(),
            at: *at,
            visit,
        });
    }
    for (event, at) in &bots {
        let bots = Counters {
            bots: 1,
            ..Counters::default()
        };
        let key = RollupKey::total(event.site_id.as_str(), Bucket::day_of(event.timestamp));
        contributions.add(key, *at, bots);
    }

    let InsertOutcome {
        inserted,
        duplicates: replayed,
    } = store.insert_events(&to_store, retention).await?;
    tracing::trace!(replayed, "raw events already stored by the same record");
    store.apply_rollups(&contributions).await?;
    let saves: Vec<(&VisitorState, Option<Position>)> = changed
        .iter()
        .map(|id| (&states[id], loaded_at.get(id).copied()))
        .collect();
    store.save_visitors(&saves).await?;
    Ok(BatchOutcome {
        inserted,
        duplicates,
        bots: bots.len(),
    })
}

/// Calls `attempt` until it succeeds, backing off from 100 ms to 10 s between tries. Gives up
/// (returning `None`) only when shutdown is requested, leaving the batch uncommitted.
async fn retry<T, E, F, Fut>(what: &str, shutdown: &mut Shutdown, mut attempt: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
    E: std::fmt::Display,
{
    let mut delay = Duration::from_millis(100);
    loop {
        match attempt().await {
            Ok(value) => return Some(value),
            Err(e) => {
                tracing::warn!(error = %e, retry_in_ms = delay.as_millis() as u64, "could not {what}");
                tokio::select! {
                    _ = shutdown.wait() => return None,
                    _ = tokio::time::sleep(delay) => {}
                }
                delay = (delay * 2).min(Duration::from_secs(10));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(offset: i64, payload: &str) -> Record {
        Record {
            partition: 1,
            offset,
            payload: payload.as_bytes().to_vec(),
        }
    }

    #[test]
    fn offset_jumps_are_found_and_replays_are_not() {
        let mut next = std::collections::HashMap::new();
        assert!(offset_gaps(&mut next, &[record(0, ""), record(1, "")]).is_empty());
        assert_eq!(
            offset_gaps(&mut next, &[record(2, ""), record(5, "")]),
            [(1, 3, 5)]
        );
        // A replay from an earlier offset (after a rebalance) is not a jump.
        assert!(offset_gaps(&mut next, &[record(3, ""), record(4, "")]).is_empty());
    }

    #[test]
    fn poison_records_become_dead_letters() {
        let good = r#"{"eid":"0192f0e4-7b1a-7cc3-8d3e-1f2a3b4c5d6e","site_id":"s","event_type":"page_view",
            "path":"/","visitor_id":"v","timestamp":"2026-11-24T00:00:00Z","received_at":"2026-11-24T00:00:00Z"}"#;
        let records = [
            record(0, good),
            record(1, "not json"),
            record(2, r#"{"site_id":"s"}"#),
        ];
        let (events, dead) = decode(&records, "events");
        assert_eq!(events.len(), 1);
        assert_eq!(dead.iter().map(|d| d.offset).collect::<Vec<_>>(), [1, 2]);
        assert_eq!(dead[0].payload, "not json");
        assert!(
            dead[1].reason.contains("missing field"),
            "{}",
            dead[1].reason
        );
    }
}
