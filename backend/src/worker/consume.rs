//! The worker's loop: take a batch, store it, checkpoint when due, watch the group.

use std::collections::HashMap;
use std::time::Duration;

use beacon_event::Event;
use tokio::time::Instant;

use super::checkpoint::{checkpoint, commit, record_states, CheckpointPolicy, Wiring};
use super::dead_letters::DeadLetters;
use super::decode::decode;
use super::endpoints::StoreHealth;
use super::goals::goals_for;
use super::lookout::{Look, Lookout, LAG_EVERY};
use super::starvation::Watch;
use super::window::{offset_gaps, Window};
use super::{apply_batch, Batch, BatchOutcome, VisitorStates};
use crate::backoff::{retry, Backoff};
use crate::config::Config;
use crate::metrics::{BOTS_FILTERED, EVENTS_DUPLICATE, EVENTS_STORED};
use crate::pipeline::consumer::{EventConsumer, Fetched, Record};
use crate::pipeline::topics;
use crate::rollup::Position;
use crate::shutdown::Shutdown;
use crate::store::MongoStore;
use crate::ServiceError;

/// Longest the worker waits for a record while it holds unsaved states: a quiet topic gets
/// its states saved (and realtime visitor counts updated) this soon after the last event.
const IDLE_CHECKPOINT: Duration = Duration::from_millis(200);

/// Consumes until `shutdown` (the batch in hand is finished and committed first) or until the
/// consumer fails for good.
pub async fn consume(
    config: &Config,
    store: &MongoStore,
    health: &StoreHealth,
    watch: Watch,
    mut shutdown: Shutdown,
) -> Result<(), ServiceError> {
    if prepare(config, store, &mut shutdown).await.is_none() {
        return Ok(());
    }
    let mut dead_letters = DeadLetters::new(config)?;
    let mut lookout = Lookout::new(watch);
    let mut static_member = true;
    loop {
        let consumer = EventConsumer::subscribe(config, static_member)?;
        tracing::info!(topic = %config.kafka_topic, group = %config.consumer_group, "worker consuming");
        let mut consumption = Consumption {
            wiring: Wiring {
                config,
                store,
                consumer: &consumer,
                health,
                policy: CheckpointPolicy::new(config.worker_checkpoint),
            },
            dead_letters,
            lookout,
            expected: HashMap::new(),
            states: VisitorStates::default(),
            window: Window::default(),
            last_checkpoint: Instant::now(),
            shutdown,
            renew: false,
        };
        if consumption.run().await? == Ended::Shutdown {
            consumption.finish().await;
            return Ok(());
        }
        // What it holds is dropped as after a rebalance: the new consumer starts from the
        // committed offsets.
        consumption.drop_held();
        (dead_letters, lookout, shutdown) = consumption.into_parts();
        static_member = false;
    }
}

/// Why consuming stopped.
#[derive(Debug, PartialEq, Eq)]
enum Ended {
    Shutdown,
    /// The group does not take this member back: consume with a new consumer.
    Renew,
}

/// The store's indexes and tiers, and the topics. `None`: shutdown came first.
async fn prepare(config: &Config, store: &MongoStore, shutdown: &mut Shutdown) -> Option<()> {
    retry("create indexes", shutdown, || store.ensure_indexes()).await?;
    let tiered = retry("backfill rollup tiers", shutdown, || store.backfill_tiers()).await?;
    if tiered > 0 {
        tracing::info!(documents = tiered, "daily rollups given their tiers");
    }
    if let Err(e) = topics::ensure_with_retry(config, 10).await {
        tracing::warn!(error = %e, "could not create topics; subscribing anyway");
    }
    Some(())
}

/// What the worker holds while it consumes.
struct Consumption<'a> {
    wiring: Wiring<'a>,
    dead_letters: DeadLetters,
    lookout: Lookout,
    /// Per partition, the offset expected next (to log jumps).
    expected: HashMap<i32, i64>,
    states: VisitorStates,
    window: Window,
    last_checkpoint: Instant,
    shutdown: Shutdown,
    /// Set when a look asks for a new consumer.
    renew: bool,
}

impl Consumption<'_> {
    /// Until shutdown, a look asking for a new consumer, or a fatal consumer error.
    async fn run(&mut self) -> Result<Ended, ServiceError> {
        let config = self.wiring.config;
        loop {
            if self.renew {
                return Ok(Ended::Renew);
            }
            // With nothing held, still wake up now and then to watch the group (starvation).
            let idle = if self.window.is_empty() {
                LAG_EVERY
            } else {
                IDLE_CHECKPOINT
            };
            let fetched = self
                .wiring
                .consumer
                .next_batch(
                    config.worker_batch_size,
                    config.worker_batch_wait,
                    Some(idle),
                    &mut self.shutdown,
                )
                .await;
            let went_on = match fetched {
                Fetched::Shutdown => None,
                Fetched::Fatal(e) => {
                    // Nothing applied since the last checkpoint can be committed now: a
                    // restart replays it, exactly.
                    tracing::error!(error = %e, "the consumer cannot go on (is another worker running with the same WORKER_INSTANCE_ID?); stopping");
                    return Err(e.into());
                }
                Fetched::Idle => self.idle().await,
                Fetched::Rebalanced => {
                    self.drop_held();
                    Some(())
                }
                Fetched::Records {
                    records,
                    rebalanced,
                } => {
                    if rebalanced {
                        self.drop_held();
                    }
                    self.take(records).await
                }
            };
            if went_on.is_none() {
                return Ok(Ended::Shutdown);
            }
        }
    }

    /// Nothing came: a checkpoint if anything is held, and a look at the group.
    async fn idle(&mut self) -> Option<()> {
        if !self.window.is_empty() {
            self.checkpoint().await?;
        }
        self.look();
        Some(())
    }

    /// Stores one batch, then checkpoints if one is due. `None`: shutdown came first.
    async fn take(&mut self, batch: Vec<Record>) -> Option<()> {
        let (config, policy) = (self.wiring.config, self.wiring.policy);
        self.log_gaps(&batch);
        let (events, dead) = decode(&batch, &config.kafka_topic);
        self.dead_letters.send(&dead, &mut self.shutdown).await?;
        let caught_up = batch.len() < config.worker_batch_size;
        let budget = if caught_up {
            0
        } else {
            policy.max_rollup_deltas
        };
        self.states.set_rollup_budget(budget);
        let outcome = self.store(&events).await?;
        self.lookout.worked();
        record_outcome(&outcome, batch.len());
        record_states(&self.states);
        self.window.extend(batch);
        let held = self.states.holding(self.window.records());
        if policy.due(self.last_checkpoint.elapsed(), held, caught_up) {
            self.checkpoint().await?;
        }
        self.look();
        Some(())
    }

    /// Offsets of a non-transactional topic are contiguous: a forward jump means records this
    /// worker never saw will be committed past (or another member handled them after a
    /// rebalance). Logged so an operator can tell which.
    fn log_gaps(&mut self, batch: &[Record]) {
        for (partition, expected, got) in offset_gaps(&mut self.expected, batch) {
            tracing::warn!(
                partition,
                expected,
                got,
                "offset jump in the consumed stream"
            );
        }
    }

    /// Applies `events` until the store takes them. `None`: shutdown came first.
    async fn store(&mut self, events: &[(Event, Position)]) -> Option<BatchOutcome> {
        let Wiring {
            config,
            store,
            health,
            ..
        } = self.wiring;
        let mut backoff = Backoff::default();
        loop {
            let applied = match goals_for(store, events).await {
                Ok(goals) => {
                    let batch = Batch {
                        events,
                        goals: &goals,
                    };
                    apply_batch(store, batch, config.retention, &mut self.states).await
                }
                Err(e) => Err(e),
            };
            health.record(&applied);
            match applied {
                Ok(outcome) => return Some(outcome),
                Err(e) => {
                    if !backoff
                        .wait("store events", &e.to_string(), &mut self.shutdown)
                        .await
                    {
                        return None;
                    }
                }
            }
        }
    }

    async fn checkpoint(&mut self) -> Option<()> {
        checkpoint(
            &self.wiring,
            &mut self.states,
            &mut self.window,
            &mut self.shutdown,
        )
        .await?;
        self.last_checkpoint = Instant::now();
        Some(())
    }

    fn look(&mut self) {
        if self.lookout.look(self.wiring.consumer, self.wiring.health) == Look::Renew {
            self.renew = true;
        }
    }

    /// What outlives one consumer.
    fn into_parts(self) -> (DeadLetters, Lookout, Shutdown) {
        (self.dead_letters, self.lookout, self.shutdown)
    }

    /// After a rebalance: consumption restarts from the committed offsets, so what is held
    /// belongs to a position the stream has left, and MongoDB has the states that match where
    /// it restarts.
    fn drop_held(&mut self) {
        if self.states.dirty() > 0 {
            tracing::info!(
                unsaved = self.states.dirty(),
                "rebalance: dropping unsaved visitor states; replaying from the last commit"
            );
        }
        self.states.clear();
        self.window.clear();
        self.expected.clear();
        record_states(&self.states);
    }

    /// At shutdown: the batch in hand was applied, so its states are saved and its offsets
    /// committed, and a restart does not replay it. One attempt: if MongoDB is down now, the
    /// restart replays instead.
    async fn finish(mut self) {
        if !self.window.is_empty() {
            match self.states.save(self.wiring.store).await {
                Ok(_) => commit(self.wiring.consumer, &self.window),
                Err(e) => {
                    tracing::warn!(error = %e, "could not save visitor states at shutdown; the next start replays them")
                }
            }
        }
        self.dead_letters.flush().await;
        tracing::info!("worker stopped");
    }
}

fn record_outcome(outcome: &BatchOutcome, records: usize) {
    metrics::counter!(EVENTS_STORED).increment(outcome.inserted as u64);
    metrics::counter!(EVENTS_DUPLICATE).increment(outcome.duplicates as u64);
    metrics::counter!(BOTS_FILTERED).increment(outcome.bots as u64);
    tracing::debug!(
        records,
        inserted = outcome.inserted,
        duplicates = outcome.duplicates,
        "batch stored"
    );
}
