//! What the worker applied since its last checkpoint, and what it expects next from each
//! partition.

use std::collections::{BTreeMap, HashMap};

use crate::pipeline::consumer::Record;

/// The records applied since the last checkpoint, and per partition the offset to commit once
/// the checkpoint is saved (dead letters included: they were handled when sent). The records
/// are kept as they came, not as the events decoded from them: only a conflict applies them
/// again, and under a backlog a window holds hundreds of thousands, each smaller as JSON than
/// decoded into its strings.
#[derive(Default)]
pub struct Window {
    taken: Vec<Record>,
    next: BTreeMap<i32, i64>,
}

impl Window {
    /// Adds a batch of records, already applied.
    pub fn extend(&mut self, records: Vec<Record>) {
        for r in &records {
            let next = self.next.entry(r.partition).or_insert(r.offset + 1);
            *next = (*next).max(r.offset + 1);
        }
        self.taken.extend(records);
    }

    /// The records taken, in the order they were applied.
    pub fn taken(&self) -> &[Record] {
        &self.taken
    }

    /// Per partition, the offset after the highest record taken.
    pub fn next_offsets(&self) -> &BTreeMap<i32, i64> {
        &self.next
    }

    /// Records taken, dead letters included.
    pub fn records(&self) -> usize {
        self.taken.len()
    }

    pub fn is_empty(&self) -> bool {
        self.taken.is_empty()
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
        window.extend(vec![record(0, 7), record(1, 3), record(0, 5)]);
        window.extend(vec![record(1, 4)]);
        assert_eq!(window.records(), 4);
        let offsets: Vec<i64> = window.taken().iter().map(|r| r.offset).collect();
        assert_eq!(offsets, [7, 3, 5, 4]);
        assert_eq!(
            window.next_offsets().iter().collect::<Vec<_>>(),
            [(&0, &8), (&1, &5)]
        );
        window.clear();
        assert!(window.is_empty() && window.next_offsets().is_empty());
    }
}
