//! What the worker applied since its last checkpoint, and what it expects next from each
//! partition.

use std::collections::{BTreeMap, HashMap};

use beacon_event::Event;

use crate::pipeline::consumer::Record;
use crate::rollup::Position;

/// The records applied since the last checkpoint: their events, kept decoded because a
/// conflict applies them again, and per partition the offset to commit once the checkpoint is
/// saved (dead letters included: they were handled when sent).
#[derive(Default)]
pub struct Window {
    events: Vec<(Event, Position)>,
    next: BTreeMap<i32, i64>,
    records: usize,
}

impl Window {
    /// Adds a batch: its records (for their offsets) and the events decoded from them.
    pub fn extend(&mut self, records: &[Record], events: Vec<(Event, Position)>) {
        for r in records {
            let next = self.next.entry(r.partition).or_insert(r.offset + 1);
            *next = (*next).max(r.offset + 1);
        }
        self.records += records.len();
        self.events.extend(events);
    }

    pub fn events(&self) -> &[(Event, Position)] {
        &self.events
    }

    /// Per partition, the offset after the highest record taken.
    pub fn next_offsets(&self) -> &BTreeMap<i32, i64> {
        &self.next
    }

    /// Records taken, dead letters included.
    pub fn records(&self) -> usize {
        self.records
    }

    pub fn is_empty(&self) -> bool {
        self.records == 0
    }

    pub fn clear(&mut self) {
        *self = Self::default();
    }
}

/// Forward jumps in each partition's offsets, against the offset expected next (from the
/// previous batches); updates the expectations. Backward moves (replays) are not jumps.
pub fn offset_gaps(next: &mut HashMap<i32, i64>, batch: &[Record]) -> Vec<(i32, i64, i64)> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn record(partition: i32, offset: i64) -> Record {
        Record {
            partition,
            offset,
            payload: Vec::new(),
        }
    }

    #[test]
    fn offset_jumps_are_found_and_replays_are_not() {
        let mut next = HashMap::new();
        assert!(offset_gaps(&mut next, &[record(1, 0), record(1, 1)]).is_empty());
        assert_eq!(
            offset_gaps(&mut next, &[record(1, 2), record(1, 5)]),
            [(1, 3, 5)]
        );
        // A replay from an earlier offset (after a rebalance) is not a jump.
        assert!(offset_gaps(&mut next, &[record(1, 3), record(1, 4)]).is_empty());
    }

    #[test]
    fn the_window_commits_past_the_highest_record_of_each_partition() {
        let mut window = Window::default();
        window.extend(&[record(0, 7), record(1, 3), record(0, 5)], Vec::new());
        window.extend(&[record(1, 4)], Vec::new());
        assert_eq!(window.records(), 4);
        assert_eq!(
            window.next_offsets().iter().collect::<Vec<_>>(),
            [(&0, &8), (&1, &5)]
        );
        window.clear();
        assert!(window.is_empty() && window.next_offsets().is_empty());
    }
}
