//! The daily rollup documents breakdowns have read, kept by the report service per day while
//! that day's site total stays as it was.
//!
//! Why: a range's breakdown reads each day's documents down to its tier bound ([`super::top`]),
//! a month's source or entry pages a few thousand, and under live traffic the range's totals
//! change with every event, so the pages kept whole ([`super::top_cache`]) miss. Only today's
//! total moves: the other days' documents come from here and only today's from the store. A
//! day's documents change only together with its total (the invariant `top_cache` rests on),
//! so the documents read while it was T are its documents while it is T. They are kept only if
//! the total read after them is still T, and read again in the background once older than
//! [`MAX_AGE`] (a write may land a day's total before the documents that go with it).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use time::Date;

use super::top_cache::MAX_AGE;
use crate::rollup::Counters;

/// One daily rollup document as a breakdown sums it.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Held {
    pub id: String,
    pub value: String,
    pub counters: Counters,
}

/// What is known of one day's documents of one property.
#[derive(Debug, Clone, Default)]
pub(super) struct DayDocs {
    /// Every document of each tier read (an empty list: the tier has none).
    pub tiers: HashMap<i64, Arc<[Held]>>,
    /// Documents looked up by value (`None`: the value has no document that day).
    pub lookups: HashMap<String, Option<Held>>,
}

impl DayDocs {
    fn size(&self) -> usize {
        self.tiers.values().map(|t| t.len()).sum::<usize>() + self.lookups.len()
    }

    /// This day's documents with `later`'s added (read since, under the same total).
    pub fn merged(&self, later: DayDocs) -> DayDocs {
        let mut all = self.clone();
        all.tiers.extend(later.tiers);
        all.lookups.extend(later.lookups);
        all
    }
}

/// A day of one property of one site.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct DayKey {
    pub site: String,
    pub dim: String,
    /// The tier field the documents were read by ([`super::tiers`]).
    pub tiers: &'static str,
    pub day: Date,
}

/// A kept day as a reader gets it.
pub(super) struct KeptDay {
    pub docs: Arc<DayDocs>,
    /// When the oldest of its documents was read.
    pub read_at: Instant,
    /// Older than [`MAX_AGE`], and this caller is the first to be told: it is to read the day
    /// again.
    pub refresh: bool,
}

pub(super) struct DayCache {
    /// Documents held at most (tier documents and lookups).
    capacity: usize,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    days: HashMap<DayKey, Kept>,
    held: usize,
    clock: u64,
}

struct Kept {
    total: Counters,
    docs: Arc<DayDocs>,
    read_at: Instant,
    told: bool,
    used: u64,
}

impl DayCache {
    /// A cache of at most `capacity` documents (0 keeps none: processes that serve no reports).
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            inner: Mutex::default(),
        }
    }

    pub fn enabled(&self) -> bool {
        self.capacity > 0
    }

    /// The documents kept of `key` if they were read while its total was `total`.
    pub fn get(&self, key: &DayKey, total: &Counters) -> Option<KeptDay> {
        let mut inner = self.lock();
        inner.clock += 1;
        let now = inner.clock;
        let kept = inner.days.get_mut(key)?;
        if kept.total != *total {
            return None;
        }
        kept.used = now;
        let refresh = !kept.told && kept.read_at.elapsed() >= MAX_AGE;
        kept.told |= refresh;
        Some(KeptDay {
            docs: Arc::clone(&kept.docs),
            read_at: kept.read_at,
            refresh,
        })
    }

    /// Keeps `docs` as what is known of `key` under `total`, the oldest of them read at
    /// `read_at`, in place of what was kept; the least recently used days go beyond the
    /// capacity.
    pub fn put(&self, key: DayKey, total: Counters, docs: DayDocs, read_at: Instant) {
        if !self.enabled() {
            return;
        }
        let mut inner = self.lock();
        inner.clock += 1;
        let used = inner.clock;
        inner.held += docs.size();
        let kept = Kept {
            total,
            docs: Arc::new(docs),
            read_at,
            told: false,
            used,
        };
        if let Some(before) = inner.days.insert(key, kept) {
            inner.held -= before.docs.size();
        }
        while inner.held > self.capacity {
            let Some(oldest) = inner.days.iter().min_by_key(|(_, k)| k.used) else {
                break;
            };
            let oldest = oldest.0.clone();
            if let Some(gone) = inner.days.remove(&oldest) {
                inner.held -= gone.docs.size();
            }
        }
        ::metrics::gauge!(crate::metrics::ROLLUPS_KEPT).set(inner.held as f64);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // Each change leaves the map consistent: keep using it after a panic.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn key(day: Date) -> DayKey {
        DayKey {
            site: "s".into(),
            dim: "source".into(),
            tiers: "t",
            day,
        }
    }

    fn total(events: i64) -> Counters {
        Counters {
            events,
            ..Counters::default()
        }
    }

    fn docs(values: &[&str]) -> DayDocs {
        let held: Vec<Held> = values
            .iter()
            .map(|v| Held {
                id: format!("id-{v}"),
                value: (*v).to_owned(),
                counters: total(1),
            })
            .collect();
        DayDocs {
            tiers: HashMap::from([(0, held.into())]),
            lookups: HashMap::from([("gone".to_owned(), None)]),
        }
    }

    #[test]
    fn a_day_is_answered_only_while_its_total_is_unchanged() {
        let cache = DayCache::new(10);
        let day = key(date!(2026 - 11 - 02));
        cache.put(day.clone(), total(5), docs(&["a", "b"]), Instant::now());
        let kept = cache.get(&day, &total(5)).expect("kept");
        assert_eq!(kept.docs.tiers[&0].len(), 2);
        assert_eq!(kept.docs.lookups.get("gone"), Some(&None));
        assert!(!kept.refresh);
        // One more event that day: read it again.
        assert!(cache.get(&day, &total(6)).is_none());
        assert!(cache.get(&key(date!(2026 - 11 - 03)), &total(5)).is_none());
    }

    #[test]
    fn an_old_day_is_answered_and_one_caller_reads_it_again() {
        let cache = DayCache::new(10);
        let day = key(date!(2026 - 11 - 02));
        let long_ago = Instant::now().checked_sub(MAX_AGE).unwrap();
        cache.put(day.clone(), total(5), docs(&["a"]), long_ago);
        assert!(cache.get(&day, &total(5)).unwrap().refresh);
        assert!(!cache.get(&day, &total(5)).unwrap().refresh);
        // Read again: young, and told anew once old.
        cache.put(day.clone(), total(5), docs(&["a"]), Instant::now());
        assert!(!cache.get(&day, &total(5)).unwrap().refresh);
    }

    #[test]
    fn later_documents_are_added_to_the_earlier() {
        let mut later = docs(&["c"]);
        later.tiers.insert(3, Vec::new().into());
        later.lookups.insert("b".into(), None);
        let all = docs(&["a"]).merged(later);
        assert_eq!(all.tiers[&0][0].value, "c");
        assert!(all.tiers[&3].is_empty());
        assert_eq!(all.lookups.len(), 2);
        assert_eq!(all.size(), 3);
    }

    #[test]
    fn the_least_recently_used_days_go_beyond_the_capacity() {
        let cache = DayCache::new(6);
        let (a, b, c) = (
            key(date!(2026 - 11 - 02)),
            key(date!(2026 - 11 - 03)),
            key(date!(2026 - 11 - 04)),
        );
        let now = Instant::now();
        cache.put(a.clone(), total(1), docs(&["x"]), now);
        cache.put(b.clone(), total(1), docs(&["x"]), now);
        assert!(cache.get(&a, &total(1)).is_some());
        cache.put(c.clone(), total(1), docs(&["x", "y"]), now);
        assert!(cache.get(&b, &total(1)).is_none());
        assert!(cache.get(&a, &total(1)).is_some() && cache.get(&c, &total(1)).is_some());
        // Replacing a day counts its documents once.
        cache.put(c.clone(), total(1), docs(&["x"]), now);
        assert!(cache.get(&a, &total(1)).is_some());
        let none = DayCache::new(0);
        none.put(a.clone(), total(1), docs(&["x"]), now);
        assert!(none.get(&a, &total(1)).is_none());
    }
}
