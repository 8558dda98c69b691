//! Breakdown pages already read, kept by the report service while the day totals of their
//! range stay as they were.
//!
//! Why: over a month a breakdown's first page reads hundreds of rollup documents (each day's
//! values above the tier bound, [`super::top`]), and the stats page asks for the same pages on
//! every load. A day's rollup documents change only together with its site total: every event
//! adds to the total's `events`, and a rebuild that changes a document changes the total it
//! sums to. So a page read while the range's totals were T is still the page while they are T.
//! The totals are read again after the page and it is kept only if they did not move meanwhile.
//! A page older than [`MAX_AGE`] is still answered, and read again in the background, in case a
//! write landed its total before our first read and a document after our last one, or an import
//! (which writes a day's tables one by one, the total among them) added a table after the total.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use time::Date;

use super::reports::{Row, RowsQuery};
use crate::rollup::Counters;

/// Age after which a page answered from the cache is read again (in the background).
pub(super) const MAX_AGE: Duration = Duration::from_secs(60);

/// The range's day totals a page was read with.
pub(super) type Totals = Vec<(Date, Counters)>;

pub(super) struct TopCache {
    capacity: usize,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    pages: HashMap<String, Kept>,
    clock: u64,
}

struct Kept {
    totals: Totals,
    rows: Vec<Row>,
    read_at: Instant,
    used: u64,
}

impl TopCache {
    /// A cache of at most `capacity` pages (0 keeps none: processes that serve no reports).
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            inner: Mutex::default(),
        }
    }

    pub fn enabled(&self) -> bool {
        self.capacity > 0
    }

    /// What identifies a page: site, range, property, order and slice.
    pub fn key(q: &RowsQuery<'_>) -> String {
        format!(
            "{}|{}|{}|{}|{:?}|{}|{}",
            q.site.as_str(),
            q.from,
            q.to,
            q.dim.delimited(),
            q.order,
            q.page.skip,
            q.page.limit
        )
    }

    /// The rows of page `key` if it was read with these `totals`, and whether the caller is to
    /// read it again: it is older than [`MAX_AGE`] (the first caller to see that is told so; the
    /// others, until then, are not).
    pub fn get(&self, key: &str, totals: &Totals) -> Option<(Vec<Row>, bool)> {
        let mut inner = self.lock();
        inner.clock += 1;
        let now = inner.clock;
        let kept = inner.pages.get_mut(key)?;
        if kept.totals != *totals {
            return None;
        }
        kept.used = now;
        let refresh = kept.read_at.elapsed() >= MAX_AGE;
        if refresh {
            kept.read_at = Instant::now();
        }
        Some((kept.rows.clone(), refresh))
    }

    /// Keeps page `key`, read with `totals` from `read_at`; the least recently used page goes
    /// beyond the capacity.
    pub fn put(&self, key: String, totals: Totals, rows: Vec<Row>, read_at: Instant) {
        if !self.enabled() {
            return;
        }
        let mut inner = self.lock();
        inner.clock += 1;
        let used = inner.clock;
        let kept = Kept {
            totals,
            rows,
            read_at,
            used,
        };
        inner.pages.insert(key, kept);
        while inner.pages.len() > self.capacity {
            let Some(oldest) = inner.pages.iter().min_by_key(|(_, k)| k.used) else {
                break;
            };
            let oldest = oldest.0.clone();
            inner.pages.remove(&oldest);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // Each change leaves the map consistent: keep using it after a panic.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn totals(events: i64) -> Totals {
        let counters = Counters {
            events,
            ..Counters::default()
        };
        vec![(time::macros::date!(2026 - 11 - 02), counters)]
    }

    fn rows(n: usize) -> Vec<Row> {
        (0..n)
            .map(|i| Row {
                value: format!("/p{i}"),
                counters: Counters::default(),
            })
            .collect()
    }

    #[test]
    fn a_page_is_answered_only_while_its_totals_are_unchanged() {
        let cache = TopCache::new(2);
        cache.put("a".into(), totals(5), rows(3), Instant::now());
        assert_eq!(cache.get("a", &totals(5)), Some((rows(3), false)));
        // One more event that day: read again.
        assert_eq!(cache.get("a", &totals(6)), None);
    }

    #[test]
    fn an_old_page_is_answered_and_one_caller_reads_it_again() {
        let cache = TopCache::new(2);
        let long_ago = Instant::now().checked_sub(MAX_AGE).unwrap();
        cache.put("b".into(), totals(5), rows(1), long_ago);
        assert_eq!(cache.get("b", &totals(5)), Some((rows(1), true)));
        assert_eq!(cache.get("b", &totals(5)), Some((rows(1), false)));
    }

    #[test]
    fn the_least_recently_used_page_goes_beyond_the_capacity() {
        let cache = TopCache::new(2);
        let now = Instant::now();
        cache.put("a".into(), totals(1), rows(1), now);
        cache.put("b".into(), totals(1), rows(1), now);
        assert!(cache.get("a", &totals(1)).is_some());
        cache.put("c".into(), totals(1), rows(1), now);
        assert!(cache.get("b", &totals(1)).is_none());
        assert!(cache.get("a", &totals(1)).is_some() && cache.get("c", &totals(1)).is_some());
        let none = TopCache::new(0);
        none.put("a".into(), totals(1), rows(1), now);
        assert!(none.get("a", &totals(1)).is_none());
    }
}
