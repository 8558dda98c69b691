//! Event blocks already read, kept decoded in the process that reads them (the report service).
//!
//! Why: a filtered report over a busy range reads tens of megabytes of blocks and decodes a
//! million events, and the next filtered report of the same range needs the same ones. A block
//! never changes once written (a replay writes another block or hits the same id; nothing
//! updates one), so a decoded copy stays exact. Which blocks a load needs is asked of the store
//! each time (their ids), so a block written since, or deleted by the retention, is seen at once.
//! Bounded by events held (`REPORT_CACHE_EVENTS`; about 250 bytes each, their texts and visits
//! shared within their block): the least recently used blocks go first, and a range of more
//! events than that reads the rest from the store.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use super::reports::RawEvent;

pub(super) struct BlockCache {
    capacity: usize,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    blocks: HashMap<String, Cached>,
    events: usize,
    /// Counts uses: a block's last use orders the evictions.
    clock: u64,
}

struct Cached {
    events: Arc<Vec<RawEvent>>,
    used: u64,
}

impl BlockCache {
    /// A cache of at most `capacity` events (0 holds none: what processes that never read
    /// blocks for reports get).
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            inner: Mutex::default(),
        }
    }

    /// The events of block `id`, if held.
    pub fn get(&self, id: &str) -> Option<Arc<Vec<RawEvent>>> {
        let mut inner = self.lock();
        inner.clock += 1;
        let now = inner.clock;
        let cached = inner.blocks.get_mut(id)?;
        cached.used = now;
        Some(cached.events.clone())
    }

    /// Holds the events of block `id`, evicting the least recently used blocks beyond the
    /// capacity (a block larger than the whole capacity is not held).
    pub fn put(&self, id: String, events: Arc<Vec<RawEvent>>) {
        if events.len() > self.capacity {
            return;
        }
        let mut inner = self.lock();
        inner.clock += 1;
        let used = inner.clock;
        inner.events += events.len();
        if let Some(old) = inner.blocks.insert(id, Cached { events, used }) {
            inner.events -= old.events.len();
        }
        while inner.events > self.capacity {
            let Some(oldest) = inner.blocks.iter().min_by_key(|(_, c)| c.used) else {
                break;
            };
            let oldest = oldest.0.clone();
            if let Some(gone) = inner.blocks.remove(&oldest) {
                inner.events -= gone.events.len();
            }
        }
    }

    /// How many events are held.
    #[cfg(test)]
    fn events(&self) -> usize {
        self.lock().events
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // Each change leaves the map and its count consistent: keep using it after a panic.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(n: usize) -> Arc<Vec<RawEvent>> {
        Arc::new(vec![RawEvent::viewing("/"); n])
    }

    #[test]
    fn the_least_recently_used_blocks_go_beyond_the_capacity() {
        let cache = BlockCache::new(10);
        cache.put("a".into(), block(4));
        cache.put("b".into(), block(4));
        assert_eq!(cache.get("a").map(|e| e.len()), Some(4));
        // 12 > 10: b, used before a, goes.
        cache.put("c".into(), block(4));
        assert!(cache.get("b").is_none());
        assert!(cache.get("a").is_some() && cache.get("c").is_some());
        assert_eq!(cache.events(), 8);
        // The same block again replaces itself; one larger than the capacity is not held.
        cache.put("c".into(), block(4));
        cache.put("huge".into(), block(11));
        assert_eq!(cache.events(), 8);
        assert!(cache.get("huge").is_none());
    }
}
