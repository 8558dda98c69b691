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
//! 4. Held deltas are summed into runs only past the partition's rollup mark (the highest
//!    offset any worker may have written, recorded before each write), so a watermark never
//!    falls inside a run; one that does (a zombie writer) is a conflict, settled by applying
//!    the records again ([`Contributions`]).
//!
//! The same event sent twice (a tracker retry) is a different record: the raw-event insert
//! (`_id = eid`) tells them apart, because a stored event remembers the position of the record
//! that first stored it.

mod counters;
mod dimension;
pub mod goals;
pub mod property;
mod props;
pub mod visit;
mod zone;

pub(crate) use counters::count;
pub use counters::{Bucket, Counters, RollupKey};
pub use dimension::{channel_of, Dimension, DIRECT, TOTAL, UNKNOWN};
pub use property::Property;
pub use props::prop_text;
pub use visit::{VisitTag, VisitorState};
pub use zone::Zone;

use std::collections::{BTreeMap, BTreeSet};

/// Where a record sits in the topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position {
    pub partition: i32,
    pub offset: i64,
}

/// Counter deltas per document, each tagged with the positions of the events that caused it.
///
/// A delta starts as one event's ([`Contributions::add`]); [`Contributions::compact`] sums
/// consecutive deltas of a document into one run where no writer can have applied part of the
/// run before (past the partition's horizon, see [`Contributions::compact`]): then a document's
/// watermark is either before the run (add it all) or at or past its end (skip it all), and
/// memory follows the documents changed, not the events. A watermark inside a run ([`Straddle`])
/// means another writer got there first, and the caller applies its records again.
#[derive(Debug, Default)]
pub struct Contributions {
    by_key: BTreeMap<RollupKey, Vec<Run>>,
    /// Per day's site total, the goals every event of the day here was matched against
    /// ([`goals`]): the intersection of the sets noted.
    goal_lists: BTreeMap<RollupKey, BTreeSet<String>>,
}

/// Deltas of consecutive events of one partition, summed: offsets `first..=last`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Run {
    partition: i32,
    first: i64,
    last: i64,
    counters: Counters,
}

/// A document's watermark falls inside a run of summed deltas: part of it is in, part is not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Straddle;

/// What a document is still missing: the sum, and the watermark per partition after it.
pub type Pending = Option<(Counters, BTreeMap<i32, i64>)>;

impl Contributions {
    pub fn add(&mut self, key: RollupKey, at: Position, counters: Counters) {
        self.by_key.entry(key).or_default().push(Run {
            partition: at.partition,
            first: at.offset,
            last: at.offset,
            counters,
        });
    }

    /// Notes that events counted in `total` (a day's site total) were matched against `goals`.
    pub fn note_goals(&mut self, total: RollupKey, goals: &BTreeSet<String>) {
        match self.goal_lists.get_mut(&total) {
            Some(list) => list.retain(|g| goals.contains(g)),
            None => {
                self.goal_lists.insert(total, goals.clone());
            }
        }
    }

    /// The goals every event noted for `total` in all of `parts` was matched against (`None`:
    /// none noted).
    pub fn goals_in(parts: &[&Contributions], total: &RollupKey) -> Option<BTreeSet<String>> {
        let mut lists = parts.iter().filter_map(|p| p.goal_lists.get(total));
        let mut goals = lists.next()?.clone();
        for list in lists {
            goals.retain(|g| list.contains(g));
        }
        Some(goals)
    }

    pub fn keys(&self) -> impl Iterator<Item = &RollupKey> {
        self.by_key.keys()
    }

    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }

    /// How many deltas are held (one per document and run of events changing it): what
    /// holding them costs in memory.
    pub fn len(&self) -> usize {
        self.by_key.values().map(Vec::len).sum()
    }

    /// Adds `other`'s deltas to these.
    pub fn merge(&mut self, other: Contributions) {
        for (key, deltas) in other.by_key {
            self.by_key.entry(key).or_default().extend(deltas);
        }
        for (total, goals) in other.goal_lists {
            self.note_goals(total, &goals);
        }
    }

    /// Sums each document's consecutive deltas of one partition whose events all lie past
    /// `horizon(partition)`: the highest offset any writer may have added to a document
    /// (`None`: not known yet, nothing is summed).
    pub fn compact(&mut self, horizon: impl Fn(i32) -> Option<i64>) {
        for runs in self.by_key.values_mut() {
            let mut out: Vec<Run> = Vec::with_capacity(runs.len());
            for run in runs.drain(..) {
                let past = |r: &Run| horizon(r.partition).is_some_and(|h| r.first > h);
                match out.last_mut() {
                    Some(prev)
                        if prev.partition == run.partition
                            && prev.last <= run.first
                            && past(prev)
                            && past(&run) =>
                    {
                        prev.last = run.last;
                        prev.counters += run.counters;
                    }
                    _ => out.push(run),
                }
            }
            *runs = out;
        }
    }

    /// What `key`'s document, at watermarks `applied`, is still missing of these deltas.
    pub fn pending(
        &self,
        key: &RollupKey,
        applied: &BTreeMap<i32, i64>,
    ) -> Result<Pending, Straddle> {
        Self::pending_in(&[self], key, applied)
    }

    /// [`Contributions::pending`] over several sets written together (held and a batch's).
    pub fn pending_in(
        parts: &[&Contributions],
        key: &RollupKey,
        applied: &BTreeMap<i32, i64>,
    ) -> Result<Pending, Straddle> {
        let mut sum = Counters::default();
        let mut marks = BTreeMap::new();
        let runs = parts.iter().filter_map(|p| p.by_key.get(key)).flatten();
        for run in runs {
            match applied.get(&run.partition) {
                Some(&wm) if run.last <= wm => continue,
                Some(&wm) if run.first <= wm => return Err(Straddle),
                _ => {}
            }
            sum += run.counters;
            let mark = marks.entry(run.partition).or_insert(run.last);
            *mark = (*mark).max(run.last);
        }
        Ok((!marks.is_empty()).then_some((sum, marks)))
    }

    /// The highest offset per partition among these deltas.
    pub fn last_offsets(&self) -> BTreeMap<i32, i64> {
        Self::last_offsets_in(&[self])
    }

    /// [`Contributions::last_offsets`] over several sets written together.
    pub fn last_offsets_in(parts: &[&Contributions]) -> BTreeMap<i32, i64> {
        let mut last = BTreeMap::new();
        for run in parts.iter().flat_map(|p| p.by_key.values().flatten()) {
            let mark = last.entry(run.partition).or_insert(run.last);
            *mark = (*mark).max(run.last);
        }
        last
    }
}

#[cfg(test)]
pub(crate) mod tests;
