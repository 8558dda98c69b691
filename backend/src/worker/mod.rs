//! The worker: moves events from Kafka into MongoDB, at least once and idempotently.
//!
//! Each batch goes: decode → poison records to the dead-letter topic → raw events and rollup
//! deltas into MongoDB ([`apply_batch`]), with the visitor states it changed kept in memory
//! (and, under a backlog, its rollup deltas too, written every few batches). Every
//! `WORKER_CHECKPOINT_MS` (or when the topic goes quiet, or at shutdown) a checkpoint writes
//! the held deltas, saves those states and then commits the offsets of everything applied
//! since the previous one. So a crash at any point replays from a point whose states are saved,
//! and the writes' idempotence by position ([`crate::rollup`]) makes the replay exact;
//! [`states`] says why holding states is safe. When MongoDB or the broker is down the worker
//! retries with backoff and never commits past what it stored: lag grows, nothing is lost, and
//! it drains once the store is back.

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
use crate::metrics::{
    BOTS_FILTERED, CHECKPOINTS, CHECKPOINT_SECONDS, DEAD_LETTERS, EVENTS_DUPLICATE, EVENTS_STORED,
    ROLLUP_DELTAS_HELD, STATES_HELD, STATES_UNSAVED, STATE_CONFLICTS,
};
use crate::pipeline::consumer::{EventConsumer, Fetched, Record};
use crate::pipeline::{topics, Producer};
use crate::rollup::Position;
use crate::shutdown::Shutdown;
use crate::store::{MongoStore, StoreError};
use crate::{http, ServiceError};
use starvation::{Stuck, Watch};

mod batch;
mod starvation;
mod states;
pub mod status;

pub use batch::{apply_batch, store_batch, BatchOutcome};

pub use states::VisitorStates;

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
type Ready = (Arc<MongoStore>, StoreHealth, Stuck);

async fn readyz(State((store, health, stuck)): State<Ready>) -> Response {
    if health.failing() {
        return http::readiness(false, "mongodb writes");
    }
    if let Some(reason) = stuck.reason() {
        // Up, but consuming nothing while events wait: "numbers froze" must not look healthy.
        return http::readiness(false, &reason.describe());
    }
    http::readiness(store.ping().await, "mongodb")
}

/// `/healthz`, `/readyz` and `/metrics` for the worker.
fn router(ready: Ready) -> Router {
    Router::new()
        .route("/healthz", get(http::healthz))
        .route("/readyz", get(readyz))
        .with_state(ready)
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
    let stuck = Stuck::default();
    let endpoints = tokio::spawn(http::serve(
        "worker",
        listener,
        config.max_connections,
        router((Arc::new(store.clone()), health.clone(), stuck.clone())),
        shutdown.clone(),
    ));
    let watch = Watch::new(config.worker_starved_after, config.worker_checkpoint, stuck);
    let result = consume(config, &store, &health, watch, shutdown).await;
    if result.is_err() {
        // No shutdown is coming to stop the endpoints: the worker exits on its error.
        endpoints.abort();
        return result;
    }
    endpoints.await.map_err(std::io::Error::other)??;
    result
}

/// Every `LAG_EVERY`, refreshes the lag gauges and watches for partitions nobody consumes; a
/// starved or stalled worker leaves its group and joins again.
struct Lookout {
    watch: Watch,
    last: tokio::time::Instant,
    /// Whether records were taken since the last look.
    worked: bool,
}

impl Lookout {
    fn new(watch: Watch) -> Self {
        Self {
            watch,
            last: tokio::time::Instant::now(),
            worked: false,
        }
    }

    /// Blocking broker round trips, when a look is due.
    fn look(&mut self, consumer: &EventConsumer, health: &StoreHealth) {
        if self.last.elapsed() < LAG_EVERY {
            return;
        }
        let worked = std::mem::take(&mut self.worked);
        self.last = tokio::time::Instant::now();
        let Some(view) = consumer.group_view() else {
            return;
        };
        let Some(reason) = self
            .watch
            .observe(&view, worked, !health.failing(), self.last)
        else {
            return;
        };
        metrics::counter!(crate::metrics::WORKER_REJOINS).increment(1);
        let unconsumed: i64 = view.iter().map(|p| p.unconsumed()).sum();
        tracing::warn!(
            unconsumed,
            reason = %reason.describe(),
            "events wait with nobody consuming them; leaving the group and joining again"
        );
        if let Err(e) = consumer.rejoin() {
            tracing::warn!(error = %e, "could not join the group again");
        }
    }
}

/// Longest the worker waits for a record while it holds unsaved states: a quiet topic gets
/// its states saved (and realtime visitor counts updated) this soon after the last event.
const IDLE_CHECKPOINT: Duration = Duration::from_millis(200);

/// When the worker saves the visitor states it holds and commits offsets.
///
/// Each held state is saved once per checkpoint however many events it took, so under a
/// backlog the worker checkpoints rarely (every `max_age`, or when the window or the held
/// states reach their bounds): that is where the store's time goes on a busy site. Once it has
/// caught up (a batch came back short of full) it checkpoints every `caught_up_age`: it has
/// time to spare then, and realtime visitor counts and the committed lag stay fresh.
#[derive(Debug, Clone, Copy)]
pub struct CheckpointPolicy {
    pub max_age: Duration,
    pub caught_up_age: Duration,
    /// Most records applied between checkpoints (held for a conflict's re-apply).
    pub max_records: usize,
    /// Most unsaved states.
    pub max_dirty: usize,
    /// Past this many held states, the saved ones are dropped after a checkpoint.
    pub max_held: usize,
    /// Most rollup deltas held between checkpoints under a backlog (~80 bytes each, one per
    /// document and run of events changing it): see [`VisitorStates::set_rollup_budget`].
    pub max_rollup_deltas: usize,
}

/// What the worker holds since its last checkpoint.
#[derive(Debug, Clone, Copy, Default)]
pub struct Holding {
    /// Records applied.
    pub records: usize,
    /// Visitor states changed and not saved.
    pub dirty: usize,
    /// Rollup deltas not written.
    pub rollups: usize,
}

impl CheckpointPolicy {
    pub fn new(max_age: Duration) -> Self {
        Self {
            max_age,
            caught_up_age: Duration::from_secs(1).min(max_age),
            max_records: 100_000,
            max_dirty: 50_000,
            max_held: 100_000,
            max_rollup_deltas: 400_000,
        }
    }

    /// Whether to checkpoint now, `age` after the last one, holding `held`; `caught_up` if
    /// the last batch was not full.
    pub fn due(&self, age: Duration, held: Holding, caught_up: bool) -> bool {
        age >= self.max_age
            || (caught_up && age >= self.caught_up_age)
            || held.records >= self.max_records
            || held.dirty >= self.max_dirty
            || held.rollups >= self.max_rollup_deltas
    }
}

async fn consume(
    config: &Config,
    store: &MongoStore,
    health: &StoreHealth,
    watch: Watch,
    mut shutdown: Shutdown,
) -> Result<(), ServiceError> {
    if retry("create indexes", &mut shutdown, || store.ensure_indexes())
        .await
        .is_none()
    {
        return Ok(());
    }
    match retry("backfill rollup tiers", &mut shutdown, || {
        store.backfill_tiers()
    })
    .await
    {
        None => return Ok(()),
        Some(0) => {}
        Some(n) => tracing::info!(documents = n, "daily rollups given their tiers"),
    }
    if let Err(e) = topics::ensure_with_retry(config, 10).await {
        tracing::warn!(error = %e, "could not create topics; subscribing anyway");
    }
    let consumer = EventConsumer::subscribe(config)?;
    let dead_letters = Producer::new(config, "beacon-worker-dlq")?;
    tracing::info!(topic = %config.kafka_topic, group = %config.consumer_group, "worker consuming");
    let mut lookout = Lookout::new(watch);
    let mut next_offsets = std::collections::HashMap::new();
    let policy = CheckpointPolicy::new(config.worker_checkpoint);
    let checkpoints = Checkpoints {
        store,
        config,
        consumer: &consumer,
        health,
        policy,
    };
    let mut states = VisitorStates::default();
    // Records applied since the last checkpoint: their offsets are committed once it is saved,
    // and a conflict applies them again.
    let mut window: Vec<Record> = Vec::new();
    let mut last_checkpoint = tokio::time::Instant::now();

    loop {
        // With nothing held, still wake up now and then to watch the group (starvation).
        let idle = Some(if window.is_empty() {
            LAG_EVERY
        } else {
            IDLE_CHECKPOINT
        });
        let batch = match consumer
            .next_batch(
                config.worker_batch_size,
                config.worker_batch_wait,
                idle,
                &mut shutdown,
            )
            .await
        {
            Fetched::Shutdown => break,
            Fetched::Fatal(e) => {
                // Nothing applied since the last checkpoint can be committed now: a restart
                // replays it, exactly.
                tracing::error!(error = %e, "the consumer cannot go on (is another worker running with the same WORKER_INSTANCE_ID?); stopping");
                return Err(e.into());
            }
            Fetched::Idle => {
                if !window.is_empty() {
                    if checkpoint(&checkpoints, &mut states, &mut window, &mut shutdown)
                        .await
                        .is_none()
                    {
                        break;
                    }
                    last_checkpoint = tokio::time::Instant::now();
                }
                lookout.look(&consumer, health);
                continue;
            }
            Fetched::Rebalanced => {
                drop_held(&mut states, &mut window, &mut next_offsets);
                continue;
            }
            Fetched::Records {
                records,
                rebalanced,
            } => {
                if rebalanced {
                    drop_held(&mut states, &mut window, &mut next_offsets);
                }
                records
            }
        };
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
        let caught_up = batch.len() < config.worker_batch_size;
        states.set_rollup_budget(if caught_up {
            0
        } else {
            policy.max_rollup_deltas
        });
        let mut backoff = Backoff::default();
        let outcome = loop {
            let applied = apply_batch(store, &events, config.retention, &mut states).await;
            health.record(&applied);
            match applied {
                Ok(outcome) => break Some(outcome),
                Err(e) => {
                    if !backoff
                        .wait("store events", &e.to_string(), &mut shutdown)
                        .await
                    {
                        break None;
                    }
                }
            }
        };
        let Some(outcome) = outcome else { break };
        lookout.worked = true;
        window.extend(batch);
        metrics::counter!(EVENTS_STORED).increment(outcome.inserted as u64);
        metrics::counter!(EVENTS_DUPLICATE).increment(outcome.duplicates as u64);
        metrics::counter!(DEAD_LETTERS).increment(dead.len() as u64);
        metrics::counter!(BOTS_FILTERED).increment(outcome.bots as u64);
        record_states(&states);
        tracing::debug!(
            records = events.len() + dead.len(),
            inserted = outcome.inserted,
            duplicates = outcome.duplicates,
            dead_letters = dead.len(),
            "batch stored"
        );
        if policy.due(
            last_checkpoint.elapsed(),
            states.holding(window.len()),
            caught_up,
        ) {
            if checkpoint(&checkpoints, &mut states, &mut window, &mut shutdown)
                .await
                .is_none()
            {
                break;
            }
            last_checkpoint = tokio::time::Instant::now();
        }
        lookout.look(&consumer, health);
    }
    // The batch in hand was applied: save its states and commit, so a restart does not replay
    // it. One attempt: if MongoDB is down at shutdown, the restart replays instead.
    if !window.is_empty() {
        match states.save(store).await {
            Ok(_) => commit(&consumer, &window),
            Err(e) => {
                tracing::warn!(error = %e, "could not save visitor states at shutdown; the next start replays them")
            }
        }
    }
    dead_letters.flush(Duration::from_secs(5)).await;
    tracing::info!("worker stopped");
    Ok(())
}

/// After a rebalance: consumption restarts from the committed offsets, so what is held belongs
/// to a position the stream has left, and MongoDB has the states that match where it restarts.
fn drop_held(
    states: &mut VisitorStates,
    window: &mut Vec<Record>,
    next_offsets: &mut std::collections::HashMap<i32, i64>,
) {
    if states.dirty() > 0 {
        tracing::info!(
            unsaved = states.dirty(),
            "rebalance: dropping unsaved visitor states; replaying from the last commit"
        );
    }
    states.clear();
    window.clear();
    next_offsets.clear();
    record_states(states);
}

/// What a checkpoint writes to.
struct Checkpoints<'a> {
    store: &'a MongoStore,
    config: &'a Config,
    consumer: &'a EventConsumer,
    health: &'a StoreHealth,
    policy: CheckpointPolicy,
}

/// Saves the changed visitor states and commits the window's offsets. On a conflict (another
/// worker moved a state) the held states are dropped and the window is applied again from
/// MongoDB's states before saving. `None`: shutdown came first (nothing is committed).
async fn checkpoint(
    to: &Checkpoints<'_>,
    states: &mut VisitorStates,
    window: &mut Vec<Record>,
    shutdown: &mut Shutdown,
) -> Option<()> {
    let Checkpoints {
        store,
        config,
        consumer,
        health,
        policy,
    } = to;
    let started = std::time::Instant::now();
    let mut backoff = Backoff::default();
    // Once a save has conflicted, the held states are no longer trusted: every attempt from
    // then on applies the whole window again from MongoDB's states, and only a complete
    // re-apply and save may lead to the commit.
    let mut reapplying = false;
    loop {
        let saved = if reapplying {
            states.clear();
            reapply(store, config, states, window).await
        } else {
            match states.save(store).await {
                Err(StoreError::Conflict { .. }) => {
                    tracing::warn!(
                        records = window.len(),
                        "visitor state moved by another writer; applying the window again from MongoDB"
                    );
                    reapplying = true;
                    metrics::counter!(STATE_CONFLICTS).increment(1);
                    states.clear();
                    reapply(store, config, states, window).await
                }
                other => other.map(|_| ()),
            }
        };
        health.record(&saved);
        match saved {
            Ok(()) => break,
            Err(e) => {
                if !backoff
                    .wait("save visitor states", &e.to_string(), shutdown)
                    .await
                {
                    if reapplying {
                        // Nothing held matches MongoDB: leave it all to the next start's replay.
                        states.clear();
                        window.clear();
                    }
                    return None;
                }
            }
        }
    }
    commit(consumer, window);
    // What `beacon-admin status` shows as the last time events were stored; losing it loses
    // nothing else, so a failure is only logged.
    if let Err(e) = store.record_checkpoint(window.len()).await {
        tracing::warn!(error = %e, "could not record the checkpoint's time");
    }
    window.clear();
    states.trim(policy.max_held);
    metrics::counter!(CHECKPOINTS).increment(1);
    metrics::histogram!(CHECKPOINT_SECONDS).record(started.elapsed().as_secs_f64());
    record_states(states);
    Some(())
}

/// Applies `records` again in batches from MongoDB's states, then saves the states. (Their dead
/// letters were sent the first time.)
async fn reapply(
    store: &MongoStore,
    config: &Config,
    states: &mut VisitorStates,
    records: &[Record],
) -> Result<(), StoreError> {
    for chunk in records.chunks(config.worker_batch_size) {
        let (events, _) = decode(chunk, &config.kafka_topic);
        apply_batch(store, &events, config.retention, states).await?;
    }
    states.save(store).await.map(|_| ())
}

fn record_states(states: &VisitorStates) {
    metrics::gauge!(STATES_HELD).set(states.len() as f64);
    metrics::gauge!(STATES_UNSAVED).set(states.dirty() as f64);
    metrics::gauge!(ROLLUP_DELTAS_HELD).set(states.rollups_held() as f64);
}

fn commit(consumer: &EventConsumer, records: &[Record]) {
    if records.is_empty() {
        return;
    }
    if let Err(e) = consumer.commit(records) {
        // Not fatal: the states are saved, so a replay after a rebalance is exact.
        tracing::warn!(error = %e, "offset commit failed");
    }
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

/// Waits between attempts at something that failed: 100 ms, doubling up to 10 s.
struct Backoff {
    delay: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            delay: Duration::from_millis(100),
        }
    }
}

impl Backoff {
    /// Logs the failure and waits; `false` if shutdown was requested instead.
    async fn wait(&mut self, what: &str, error: &str, shutdown: &mut Shutdown) -> bool {
        tracing::warn!(error = %error, retry_in_ms = self.delay.as_millis() as u64, "could not {what}");
        let waited = tokio::select! {
            _ = shutdown.wait() => false,
            _ = tokio::time::sleep(self.delay) => true,
        };
        self.delay = (self.delay * 2).min(Duration::from_secs(10));
        waited
    }
}

/// Calls `attempt` until it succeeds, backing off between tries. Gives up (returning `None`)
/// only when shutdown is requested, leaving the batch uncommitted.
async fn retry<T, E, F, Fut>(what: &str, shutdown: &mut Shutdown, mut attempt: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
    E: std::fmt::Display,
{
    let mut backoff = Backoff::default();
    loop {
        match attempt().await {
            Ok(value) => return Some(value),
            Err(e) => {
                if !backoff.wait(what, &e.to_string(), shutdown).await {
                    return None;
                }
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
    fn checkpoints_are_rare_under_a_backlog_and_frequent_once_caught_up() {
        let policy = CheckpointPolicy::new(Duration::from_secs(30));
        let s = Duration::from_secs;
        // Working through a backlog (full batches): only age or the bounds.
        let held = |records, dirty, rollups| Holding {
            records,
            dirty,
            rollups,
        };
        assert!(!policy.due(s(29), held(90_000, 40_000, 390_000), false));
        assert!(policy.due(s(30), held(1, 1, 1), false));
        assert!(policy.due(s(1), held(100_000, 1, 1), false));
        assert!(policy.due(s(1), held(1, 50_000, 1), false));
        assert!(policy.due(s(1), held(1, 1, 400_000), false));
        // Caught up: every second.
        assert!(!policy.due(Duration::from_millis(999), held(10, 10, 10), true));
        assert!(policy.due(s(1), held(10, 10, 10), true));
        // 0: after every batch.
        let every = CheckpointPolicy::new(Duration::ZERO);
        assert!(every.due(Duration::ZERO, held(1, 1, 1), false));
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
