//! A range's raw events as filtered reports read them: in the worker's processing order, each
//! Kafka position once, held in the chunks they were read in (blocks shared with the block
//! cache) rather than copied into one list, which at a million events cost as much as the
//! aggregation itself (docs/benchmarks.md).

use std::sync::Arc;

use super::reports::RawEvent;

#[derive(Debug, Default)]
pub struct RangeEvents {
    chunks: Vec<Chunk>,
}

#[derive(Debug)]
struct Chunk {
    events: Arc<Vec<RawEvent>>,
    /// The indexes of the events in the range, when not all of them are.
    kept: Option<Vec<u32>>,
}

/// Where an event sits in a [`RangeEvents`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct At {
    chunk: u32,
    index: u32,
}

impl RangeEvents {
    /// Events already in processing order, each position once.
    pub fn from_vec(events: Vec<RawEvent>) -> Self {
        Self {
            chunks: vec![Chunk {
                events: Arc::new(events),
                kept: None,
            }],
        }
    }

    /// The events of `blocks` (each in offset order) that happened at a millisecond `keep`
    /// accepts. Blocks written once each follow one another; only replays cut at other
    /// boundaries overlap, and only then are the events copied, sorted and each position kept
    /// once.
    pub(super) fn from_blocks(
        mut blocks: Vec<Arc<Vec<RawEvent>>>,
        keep: impl Fn(i64) -> bool,
    ) -> Self {
        blocks.sort_by_key(|b| b.first().map(|e| e.position));
        let chunks = blocks.into_iter().filter_map(|events| {
            let kept: Vec<u32> = (0..events.len() as u32)
                .filter(|&i| keep(events[i as usize].ts_ms))
                .collect();
            let kept = match kept.len() {
                0 => return None,
                n if n == events.len() => None,
                _ => Some(kept),
            };
            Some(Chunk { events, kept })
        });
        let range = Self {
            chunks: chunks.collect(),
        };
        if range.ordered() {
            return range;
        }
        let mut events = range.to_vec();
        events.sort_by_key(|e| e.position);
        events.dedup_by_key(|e| e.position);
        Self::from_vec(events)
    }

    /// Whether each event's position is after the one before.
    fn ordered(&self) -> bool {
        let mut positions = self.iter().map(|(_, e)| e.position);
        let first = positions.next();
        positions
            .try_fold(first, |last, p| (last < Some(p)).then_some(Some(p)))
            .is_some()
    }

    /// Every event with where it sits, in processing order.
    pub fn iter(&self) -> impl Iterator<Item = (At, &RawEvent)> {
        self.chunks.iter().enumerate().flat_map(|(c, chunk)| {
            let all = chunk.kept.is_none().then(|| 0..chunk.events.len() as u32);
            let kept = chunk.kept.iter().flatten().copied();
            all.into_iter().flatten().chain(kept).map(move |index| {
                let at = At {
                    chunk: c as u32,
                    index,
                };
                (at, &chunk.events[index as usize])
            })
        })
    }

    /// The event at `at` (from [`RangeEvents::iter`]).
    pub fn get(&self, at: At) -> &RawEvent {
        &self.chunks[at.chunk as usize].events[at.index as usize]
    }

    pub fn len(&self) -> usize {
        let len = |c: &Chunk| c.kept.as_ref().map_or(c.events.len(), Vec::len);
        self.chunks.iter().map(len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The events copied into one list.
    pub fn to_vec(&self) -> Vec<RawEvent> {
        self.iter().map(|(_, e)| e.clone()).collect()
    }
}
