//! Checkpoints: saving the visitor states the worker holds, then committing the offsets of
//! everything applied since the previous checkpoint.

use std::time::Duration;

use super::decode::decode;
use super::endpoints::StoreHealth;
use super::goals::goals_for;
use super::window::Window;
use super::{apply_batch, Batch, VisitorStates};
use crate::backoff::Backoff;
use crate::config::Config;
use crate::metrics::{
    CHECKPOINTS, CHECKPOINT_SECONDS, ROLLUP_DELTAS_HELD, STATES_HELD, STATES_UNSAVED,
    STATE_CONFLICTS,
};
use crate::pipeline::consumer::EventConsumer;
use crate::shutdown::Shutdown;
use crate::store::{MongoStore, StoreError};

/// When the worker saves the visitor states it holds and commits offsets.
///
/// Each held state and each rollup document is written once per checkpoint however many events
/// changed it, so under a backlog the worker checkpoints rarely (every `max_age`, or when the
/// window or the held states reach their bounds): that is where the store's time goes on a
/// busy site. The bounds let a busy site's day go into one checkpoint and cap the worker's
/// memory (both measured in docs/benchmarks.md). Once it has
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
            max_records: 300_000,
            max_dirty: 100_000,
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

/// What the worker reads from and writes to.
pub struct Wiring<'a> {
    pub config: &'a Config,
    pub store: &'a MongoStore,
    pub consumer: &'a EventConsumer,
    pub health: &'a StoreHealth,
    pub policy: CheckpointPolicy,
}

/// Saves the changed visitor states and commits the window's offsets, then empties the window.
/// `None`: shutdown came first (nothing is committed).
pub async fn checkpoint(
    to: &Wiring<'_>,
    states: &mut VisitorStates,
    window: &mut Window,
    shutdown: &mut Shutdown,
) -> Option<()> {
    let started = std::time::Instant::now();
    save(to, states, window, shutdown).await?;
    commit(to.consumer, window);
    // What `beacon-admin status` shows as the last time events were stored; losing it loses
    // nothing else, so a failure is only logged.
    if let Err(e) = to.store.record_checkpoint(window.records()).await {
        tracing::warn!(error = %e, "could not record the checkpoint's time");
    }
    window.clear();
    states.trim(to.policy.max_held);
    metrics::counter!(CHECKPOINTS).increment(1);
    metrics::histogram!(CHECKPOINT_SECONDS).record(started.elapsed().as_secs_f64());
    record_states(states);
    Some(())
}

/// Saves the states, retrying until it works. On a conflict (another worker moved a state)
/// the held states are dropped and the window is applied again from MongoDB's states before
/// saving. `None`: shutdown came first.
async fn save(
    to: &Wiring<'_>,
    states: &mut VisitorStates,
    window: &mut Window,
    shutdown: &mut Shutdown,
) -> Option<()> {
    let mut backoff = Backoff::default();
    // Once a save has conflicted, the held states are no longer trusted: every attempt from
    // then on applies the whole window again from MongoDB's states, and only a complete
    // re-apply and save may lead to the commit.
    let mut reapplying = false;
    loop {
        let saved = attempt(to, states, window, &mut reapplying).await;
        to.health.record(&saved);
        let Err(e) = saved else { return Some(()) };
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

/// One attempt at saving the states; after a conflict, and in every attempt from then on, the
/// window is applied again from MongoDB's states first.
async fn attempt(
    to: &Wiring<'_>,
    states: &mut VisitorStates,
    window: &Window,
    reapplying: &mut bool,
) -> Result<(), StoreError> {
    if !*reapplying {
        match states.save(to.store).await {
            Err(StoreError::Conflict { .. }) => {
                tracing::warn!(
                    records = window.records(),
                    "visitor state moved by another writer; applying the window again from MongoDB"
                );
                metrics::counter!(STATE_CONFLICTS).increment(1);
                *reapplying = true;
            }
            other => return other.map(|_| ()),
        }
    }
    states.clear();
    reapply(to.store, to.config, states, window).await
}

/// Applies the window again from MongoDB's states, its records decoded again in batches of
/// `WORKER_BATCH_SIZE` (their dead letters were sent the first time), then saves the states.
/// `states` holds nothing from before the conflict.
pub async fn reapply(
    store: &MongoStore,
    config: &Config,
    states: &mut VisitorStates,
    window: &Window,
) -> Result<(), StoreError> {
    for chunk in window.taken().chunks(config.worker_batch_size) {
        let (events, _) = decode(chunk, &config.kafka_topic);
        let goals = goals_for(store, &events).await?;
        let batch = Batch {
            events: &events,
            goals: &goals,
        };
        apply_batch(store, batch, config.retention, states).await?;
    }
    states.save(store).await.map(|_| ())
}

pub fn record_states(states: &VisitorStates) {
    metrics::gauge!(STATES_HELD).set(states.len() as f64);
    metrics::gauge!(STATES_UNSAVED).set(states.dirty() as f64);
    metrics::gauge!(ROLLUP_DELTAS_HELD).set(states.rollups_held() as f64);
}

/// Commits the window's offsets (its states are saved).
pub fn commit(consumer: &EventConsumer, window: &Window) {
    if window.is_empty() {
        return;
    }
    if let Err(e) = consumer.commit(window.next_offsets()) {
        // Not fatal: the states are saved, so a replay after a rebalance is exact.
        tracing::warn!(error = %e, "offset commit failed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoints_are_rare_under_a_backlog_and_frequent_once_caught_up() {
        let policy = CheckpointPolicy::new(Duration::from_secs(120));
        let s = Duration::from_secs;
        // Working through a backlog (full batches): only age or the bounds.
        let held = |records, dirty, rollups| Holding {
            records,
            dirty,
            rollups,
        };
        assert!(!policy.due(s(119), held(290_000, 90_000, 390_000), false));
        assert!(policy.due(s(120), held(1, 1, 1), false));
        assert!(policy.due(s(1), held(300_000, 1, 1), false));
        assert!(policy.due(s(1), held(1, 100_000, 1), false));
        assert!(policy.due(s(1), held(1, 1, 400_000), false));
        // Caught up: every second.
        assert!(!policy.due(Duration::from_millis(999), held(10, 10, 10), true));
        assert!(policy.due(s(1), held(10, 10, 10), true));
        // 0: after every batch.
        let every = CheckpointPolicy::new(Duration::ZERO);
        assert!(every.due(Duration::ZERO, held(1, 1, 1), false));
    }
}
