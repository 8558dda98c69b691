//! Rollups: per site × day (and × hour for totals) × property value counters, kept by the
//! worker so a report reads a bounded number of documents however many raw events exist.
//!
//! # Exact under replay
//!
//! Kafka delivers at least once and the worker can die between any two writes, so every write
//! is made idempotent by position. All events of a site share a partition (the record key is
//! the site), so they arrive in one order, and each one has a position (partition, offset):
//!
//! 1. Each rollup document stores, per partition, the highest offset already added to it
//!    (`wm`). A delta from the event at offset `o` is added only if `o > wm`, in the same
//!    atomic update that raises `wm`.
//! 2. Each [`VisitorState`] stores the position of the last event applied to it. An event at or
//!    before it is not applied again.
//! 3. The worker writes rollups first and visitor states second, and commits the Kafka offset
//!    last. If it dies after the rollups, the replay recomputes the same deltas from the same
//!    (not yet advanced) states and step 1 drops them; if it dies after some states, step 2
//!    skips those visitors, whose deltas are already in.
//!
//! The same event sent twice (a tracker retry) is a different record: the raw-event insert
//! (`_id = eid`) tells them apart, because a stored event remembers the position of the record
//! that first stored it.

mod counters;
mod dimension;
pub mod visit;

pub use counters::{Bucket, Counters, RollupKey};
pub use dimension::{Dimension, DIRECT, UNKNOWN};
pub use visit::{VisitTag, VisitorState};

use std::collections::BTreeMap;

/// Where a record sits in the topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position {
    pub partition: i32,
    pub offset: i64,
}

/// Counter deltas per document, each tagged with the position of the event that caused it.
#[derive(Debug, Default)]
pub struct Contributions {
    by_key: BTreeMap<RollupKey, Vec<(Position, Counters)>>,
}

impl Contributions {
    pub fn add(&mut self, key: RollupKey, at: Position, counters: Counters) {
        self.by_key.entry(key).or_default().push((at, counters));
    }

    pub fn keys(&self) -> impl Iterator<Item = &RollupKey> {
        self.by_key.keys()
    }

    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }

    /// How many deltas are held (one per event and document it changes): what holding them
    /// costs in memory, about 80 bytes each.
    pub fn len(&self) -> usize {
        self.by_key.values().map(Vec::len).sum()
    }

    /// Adds `other`'s deltas after this one's (a later batch: positions stay in order).
    pub fn merge(&mut self, other: Contributions) {
        for (key, deltas) in other.by_key {
            self.by_key.entry(key).or_default().extend(deltas);
        }
    }

    /// For one document whose per-partition watermarks are `applied`: the sum of the deltas
    /// not yet in it, and the new watermarks. `None` when nothing is left to add.
    pub fn pending(
        &self,
        key: &RollupKey,
        applied: &BTreeMap<i32, i64>,
    ) -> Option<(Counters, BTreeMap<i32, i64>)> {
        Self::pending_in(&[self], key, applied)
    }

    /// [`Contributions::pending`] over several sets of deltas written together (those held
    /// from earlier batches and a new batch's), so each document is written once.
    pub fn pending_in(
        parts: &[&Contributions],
        key: &RollupKey,
        applied: &BTreeMap<i32, i64>,
    ) -> Option<(Counters, BTreeMap<i32, i64>)> {
        let mut sum = Counters::default();
        let mut marks = BTreeMap::new();
        let deltas = parts.iter().filter_map(|p| p.by_key.get(key)).flatten();
        for (at, c) in deltas {
            let done = applied
                .get(&at.partition)
                .is_some_and(|&wm| at.offset <= wm);
            if !done {
                sum += *c;
                let mark = marks.entry(at.partition).or_insert(at.offset);
                *mark = (*mark).max(at.offset);
            }
        }
        (!marks.is_empty()).then_some((sum, marks))
    }
}

#[cfg(test)]
mod tests;
