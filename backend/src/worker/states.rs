//! Visitor states held in the worker's memory between checkpoints.
//!
//! On a busy site nearly every event of a batch is by a different visitor, and saving a visitor
//! state costs MongoDB several times what inserting the raw event does (a conditional update
//! per visitor; docs/benchmarks.md, "Where the worker's time goes"). A visit lasts minutes and
//! comes back batch after batch, so the worker keeps the states it applied events to and saves
//! each one once per checkpoint instead of once per batch, and loads from MongoDB only the
//! visitors it does not hold.
//!
//! # Why this stays exact
//!
//! All events of a site share a partition and a partition has one consumer, so one worker owns
//! a visitor's state. The worker commits Kafka offsets only at a checkpoint, after every state
//! changed since the previous one is saved. Whatever happens between checkpoints (a crash, a
//! rebalance, a failed write) is undone by replaying from the committed offsets against the
//! saved states, which the replay rules of [`crate::rollup`] already make exact: raw events and
//! rollup deltas written after the last checkpoint are dropped as duplicates, and the states
//! recompute the same deltas from the same saved starting point.
//!
//! A batch is applied to copies ([`VisitorStates::working_set`]); the cache takes them only
//! after the batch's writes succeeded ([`VisitorStates::absorb`]), so a failed batch never
//! leaves a cached state ahead of what is in MongoDB's rollups and the deltas held here. Each
//! save is conditional on the position the state was loaded or last saved at: if another worker
//! moved a state (an overlap during a rebalance), the save fails with [`StoreError::Conflict`]
//! and the caller drops the cache and replays.
//!
//! The rollup deltas are held too while the worker works through a backlog: consecutive batches
//! add to the same documents (the site's day and hour, its top pages and sources), so writing
//! them every few batches instead of every batch writes each document once instead of several
//! times. Each delta keeps the position of its record, so a replay adds exactly the ones a
//! document's watermark has not seen, as for deltas written at once. They are written before
//! the states at every checkpoint, dropped with the states, and never held once the worker has
//! caught up.

use std::collections::{BTreeMap, HashMap};

use crate::rollup::{Contributions, Position, VisitorState};
use crate::store::{EventStore, StateStore, StoreError};

/// Times a checkpoint writes its held rollup deltas again after losing a race on a document.
const ROLLUP_RETRIES: usize = 3;

/// One visitor's state and where MongoDB has it.
#[derive(Debug, Clone)]
pub struct Held {
    pub state: VisitorState,
    /// The position of the state MongoDB holds (`None`: none saved yet). Saves are conditional
    /// on it.
    pub stored: Option<Position>,
    /// Changed since it was loaded or saved.
    pub dirty: bool,
}

/// The states a batch works on, keyed by [`VisitorState::id`].
pub type WorkingSet = HashMap<String, Held>;

/// The worker's visitor states between checkpoints, and the rollup deltas not yet written.
#[derive(Debug, Default)]
pub struct VisitorStates {
    held: HashMap<String, Held>,
    dirty: usize,
    /// Deltas of applied batches, written at the next checkpoint (before the states) or once
    /// more than `rollup_budget` are held.
    rollups: Contributions,
    rollup_budget: usize,
    /// Rollup documents written so far (each write of one document counts once).
    rollup_writes: usize,
    /// Per partition, the highest offset any writer may have added to rollups when this
    /// worker took the partition ([`EventStore::rollup_marks`]): held deltas past it are
    /// summed into runs.
    horizons: BTreeMap<i32, i64>,
}

impl VisitorStates {
    /// How many states are held, and how many of them wait to be saved.
    pub fn len(&self) -> usize {
        self.held.len()
    }

    pub fn is_empty(&self) -> bool {
        self.held.is_empty()
    }

    pub fn dirty(&self) -> usize {
        self.dirty
    }

    /// Copies of the states of `ids` (sorted, unique), loading from MongoDB those not held.
    /// A visitor neither held nor stored gets no entry: it is new.
    pub async fn working_set(
        &self,
        store: &impl StateStore,
        ids: &[String],
    ) -> Result<WorkingSet, StoreError> {
        let missing: Vec<String> = ids
            .iter()
            .filter(|id| !self.held.contains_key(*id))
            .cloned()
            .collect();
        let mut set: WorkingSet = store
            .load_visitors(&missing)
            .await?
            .into_iter()
            .map(|(id, state)| {
                let stored = Some(state.applied);
                let held = Held {
                    state,
                    stored,
                    dirty: false,
                };
                (id, held)
            })
            .collect();
        for id in ids {
            if let Some(held) = self.held.get(id) {
                set.insert(id.clone(), held.clone());
            }
        }
        Ok(set)
    }

    /// How many rollup deltas a batch may leave unwritten (0, the default: a batch writes its
    /// own at once, if nothing is held). While it works through a backlog the worker holds
    /// deltas until a checkpoint (more than [`super::CheckpointPolicy::max_rollup_deltas`]
    /// make one), when consecutive batches add to the same documents; once caught up, batches
    /// write at once and what is still held waits at most for the next checkpoint (a second).
    pub fn set_rollup_budget(&mut self, deltas: usize) {
        self.rollup_budget = deltas;
    }

    /// Rollup documents written so far through these states: with the raw events and the
    /// state saves, what the store is asked to write.
    pub fn rollup_writes(&self) -> usize {
        self.rollup_writes
    }

    /// Counts rollup documents written (by a batch or a checkpoint).
    pub(super) fn wrote_rollups(&mut self, documents: usize) {
        self.rollup_writes += documents;
        metrics::counter!(crate::metrics::ROLLUP_WRITES).increment(documents as u64);
    }

    /// What is held since the last checkpoint, with `records` applied records.
    pub fn holding(&self, records: usize) -> super::Holding {
        super::Holding {
            records,
            dirty: self.dirty,
            rollups: self.rollups.len(),
        }
    }

    /// Reads the rollup marks once for partitions this worker has not seen since it started
    /// or last cleared its states, before it applies their records.
    pub(super) async fn learn_horizons(
        &mut self,
        store: &impl EventStore,
        partitions: impl IntoIterator<Item = i32>,
    ) -> Result<(), StoreError> {
        let new: Vec<i32> = partitions
            .into_iter()
            .filter(|p| !self.horizons.contains_key(p))
            .collect();
        if new.is_empty() {
            return Ok(());
        }
        let marks = store.rollup_marks().await?;
        for p in new {
            self.horizons
                .insert(p, marks.get(&p).copied().unwrap_or(-1));
        }
        Ok(())
    }

    /// Rollup deltas held, not yet written.
    pub fn rollups_held(&self) -> usize {
        self.rollups.len()
    }

    /// Whether a batch adding `adding` deltas writes them now: when nothing is held and they
    /// exceed the budget (0 once caught up). Held deltas are written only by a checkpoint
    /// ([`VisitorStates::save`]), whose conflict path settles a run another writer entered.
    pub(super) fn rollups_due(&self, adding: usize) -> bool {
        self.rollups.is_empty() && adding > 0 && adding > self.rollup_budget
    }

    /// Takes a working set back after its batch was written, with the batch's rollup deltas:
    /// `written` if they were written with it, otherwise they are held, summed into runs past
    /// the partitions' horizons.
    pub fn absorb(&mut self, set: WorkingSet, rollups: Contributions, written: bool) {
        for (id, held) in set {
            let was_dirty = self.held.get(&id).is_some_and(|h| h.dirty);
            self.dirty += usize::from(held.dirty && !was_dirty);
            self.held.insert(id, held);
        }
        if !written {
            self.rollups.merge(rollups);
            let horizons = &self.horizons;
            self.rollups.compact(|p| horizons.get(&p).copied());
        }
    }

    /// Writes the held rollup deltas, then saves every changed state, each conditional on the
    /// position MongoDB had it at; then they are clean. Rollups first: a state must never be
    /// saved ahead of the deltas it produced ([`crate::rollup`], point 3). On an error nothing
    /// is marked saved (a retry saves them all again, and a save that did land then
    /// conflicts, which the caller treats like any other conflict).
    pub async fn save(
        &mut self,
        store: &(impl EventStore + StateStore),
    ) -> Result<usize, StoreError> {
        if !self.rollups.is_empty() {
            // A lost race on a rollup document (another worker moved its watermark during a
            // rebalance overlap) is not a moved state: writing again from fresh watermarks adds
            // exactly what is still missing, as a batch's retry does. Only a race that keeps
            // being lost goes to the caller, whose re-apply from MongoDB settles it.
            let mut attempts = 0;
            loop {
                match store.apply_rollups(&[&self.rollups]).await {
                    Err(StoreError::Conflict { .. }) if attempts < ROLLUP_RETRIES => attempts += 1,
                    written => {
                        self.wrote_rollups(written?);
                        break;
                    }
                }
            }
            self.rollups = Contributions::default();
        }
        let saves: Vec<(&VisitorState, Option<Position>)> = self
            .held
            .values()
            .filter(|h| h.dirty)
            .map(|h| (&h.state, h.stored))
            .collect();
        let saved = saves.len();
        store.save_visitors(&saves).await?;
        for held in self.held.values_mut().filter(|h| h.dirty) {
            held.stored = Some(held.state.applied);
            held.dirty = false;
        }
        self.dirty = 0;
        Ok(saved)
    }

    /// Forgets every state, saved or not (after a rebalance or a conflict: MongoDB and a
    /// replay from the committed offsets are the truth again).
    pub fn clear(&mut self) {
        self.held.clear();
        self.dirty = 0;
        self.rollups = Contributions::default();
        self.horizons.clear();
    }

    /// Keeps memory bounded: when more than `max` states are held, the saved ones are dropped
    /// (they are in MongoDB and load again when their visitor comes back).
    pub fn trim(&mut self, max: usize) {
        if self.held.len() > max {
            self.held.retain(|_, h| h.dirty);
        }
    }
}
