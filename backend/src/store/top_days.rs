//! The days of a range as a breakdown reads them ([`super::top`]): what the report service kept
//! of each day ([`super::day_cache`]) and what this read learned from the store, kept in turn
//! for the days whose total did not move meanwhile.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use beacon_event::SiteId;
use time::Date;

use super::day_cache::{DayCache, DayDocs, DayKey, Held};
use super::rollup_documents::RollupDocument;
use super::top_cache::Totals;
use crate::rollup::{Counters, Property};

impl From<RollupDocument> for Held {
    fn from(d: RollupDocument) -> Self {
        Held {
            id: d.id,
            value: d.value,
            counters: d.counters,
        }
    }
}

/// One day of the range.
struct ReadDay {
    key: DayKey,
    total: Counters,
    /// What the report service kept of it, and when the oldest of that was read.
    kept: Option<(Arc<DayDocs>, Instant)>,
    /// What this read found in the store.
    learned: DayDocs,
}

/// The range's days with data, in order.
pub(super) struct RangeDays {
    days: Vec<ReadDay>,
    /// A kept day is old enough to be read again ([`DayCache::get`]).
    refresh_due: bool,
    /// Documents read from the store.
    read: usize,
}

impl RangeDays {
    /// The days of `totals`, with what `cache` kept of each for pages read by tier field
    /// `tiers` (nothing if `fresh`: a read again).
    pub fn new(
        cache: &DayCache,
        (site, dim, tiers): (&SiteId, &Property, &'static str),
        totals: &Totals,
        fresh: bool,
    ) -> Self {
        let mut refresh_due = false;
        let mut days: Vec<ReadDay> = totals
            .iter()
            .map(|(day, total)| {
                let key = DayKey {
                    site: site.as_str().to_owned(),
                    dim: dim.delimited().into_owned(),
                    tiers,
                    day: *day,
                };
                let kept = if fresh { None } else { cache.get(&key, total) };
                refresh_due |= kept.as_ref().is_some_and(|k| k.refresh);
                ReadDay {
                    key,
                    total: *total,
                    kept: kept.map(|k| (k.docs, k.read_at)),
                    learned: DayDocs::default(),
                }
            })
            .collect();
        days.sort_by_key(|d| d.key.day);
        Self {
            days,
            refresh_due,
            read: 0,
        }
    }

    pub fn refresh_due(&self) -> bool {
        self.refresh_due
    }

    pub fn dates(&self) -> Vec<Date> {
        self.days.iter().map(|d| d.key.day).collect()
    }

    pub fn read(&self) -> usize {
        self.read
    }

    pub fn len(&self) -> usize {
        self.days.len()
    }

    fn tier_of(day: &ReadDay, t: i64) -> Option<&Arc<[Held]>> {
        let kept = day.kept.as_ref().and_then(|(docs, _)| docs.tiers.get(&t));
        kept.or_else(|| day.learned.tiers.get(&t))
    }

    /// The spans of days whose documents of tier `t` are not known yet (first and last day of
    /// each run of such days).
    pub fn unread(&self, t: i64) -> Vec<(Date, Date)> {
        let mut runs: Vec<(Date, Date)> = Vec::new();
        let mut open = false;
        for day in &self.days {
            let known = Self::tier_of(day, t).is_some();
            match runs.last_mut() {
                Some(run) if open && !known => run.1 = day.key.day,
                _ if !known => runs.push((day.key.day, day.key.day)),
                _ => {}
            }
            open = !known;
        }
        runs
    }

    /// Records `found`, every document of tier `t` on the days not known before.
    pub fn learn_tier(&mut self, t: i64, found: Vec<RollupDocument>) {
        self.read += found.len();
        let mut by_day: HashMap<Date, Vec<Held>> = HashMap::new();
        for d in found {
            if let Some(day) = d.date() {
                by_day.entry(day).or_default().push(d.into());
            }
        }
        for day in &mut self.days {
            if Self::tier_of(day, t).is_none() {
                let docs = by_day.remove(&day.key.day).unwrap_or_default();
                day.learned.tiers.insert(t, docs.into());
            }
        }
    }

    /// Every document of tier `t` (known on every day once [`RangeDays::learn_tier`] ran).
    pub fn tier(&self, t: i64) -> impl Iterator<Item = &Held> {
        self.days
            .iter()
            .filter_map(move |day| Self::tier_of(day, t))
            .flat_map(|docs| docs.iter())
    }

    /// What is known of `value`'s document on day `i`: `Some(None)` that there is none.
    pub fn looked_up(&self, i: usize, value: &str) -> Option<Option<&Held>> {
        let day = &self.days[i];
        let kept = day.kept.as_ref().and_then(|(d, _)| d.lookups.get(value));
        kept.or_else(|| day.learned.lookups.get(value))
            .map(Option::as_ref)
    }

    /// Records what a lookup of `value` on day `i` found.
    pub fn learn_lookup(&mut self, i: usize, value: String, found: Option<Held>) {
        self.read += usize::from(found.is_some());
        self.days[i].learned.lookups.insert(value, found);
    }

    /// Keeps what was learned of each day whose total is still as it was (`now`), with what
    /// was kept of it, read at `read_at` (the kept part earlier).
    pub fn keep(self, cache: &DayCache, now: &Totals, read_at: Instant) {
        let now: HashMap<&Date, &Counters> = now.iter().map(|(d, c)| (d, c)).collect();
        for day in self.days {
            let learned = !day.learned.tiers.is_empty() || !day.learned.lookups.is_empty();
            if !learned || now.get(&day.key.day) != Some(&&day.total) {
                continue;
            }
            let (docs, since) = match day.kept {
                Some((kept, since)) => (kept.merged(day.learned), since),
                None => (day.learned, read_at),
            };
            cache.put(day.key, day.total, docs, since);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn total(events: i64) -> Counters {
        Counters {
            events,
            ..Counters::default()
        }
    }

    fn doc(day: &str, value: &str) -> RollupDocument {
        RollupDocument {
            id: format!("s|{day}|source|{value}"),
            value: value.to_owned(),
            day: Some(day.to_owned()),
            counters: total(1),
            ..RollupDocument::default()
        }
    }

    fn range(cache: &DayCache, events: [i64; 4], fresh: bool) -> RangeDays {
        let site = SiteId::parse("s").unwrap();
        let days = [
            date!(2026 - 11 - 04),
            date!(2026 - 11 - 02),
            date!(2026 - 11 - 03),
            date!(2026 - 11 - 06),
        ];
        let totals: Totals = days.into_iter().zip(events.map(total)).collect();
        RangeDays::new(
            cache,
            (&site, &Property::Dim(crate::rollup::Dimension::Source), "t"),
            &totals,
            fresh,
        )
    }

    #[test]
    fn days_kept_under_their_total_are_not_read_again() {
        let cache = DayCache::new(100);
        let mut first = range(&cache, [1, 1, 1, 1], false);
        assert_eq!(first.dates()[0], date!(2026 - 11 - 02));
        assert_eq!(
            first.unread(5),
            vec![(date!(2026 - 11 - 02), date!(2026 - 11 - 06))]
        );
        first.learn_tier(5, vec![doc("2026-11-02", "a"), doc("2026-11-06", "b")]);
        assert!(first.unread(5).is_empty());
        assert_eq!(first.tier(5).count(), 2);
        first.learn_lookup(1, "a".into(), None);
        // Meanwhile an event arrived on the 4th: only the other days are kept.
        let now: Totals = first
            .dates()
            .into_iter()
            .map(|d| (d, total(if d == date!(2026 - 11 - 04) { 2 } else { 1 })))
            .collect();
        first.keep(&cache, &now, Instant::now());

        let second = range(&cache, [2, 1, 1, 1], false);
        assert_eq!(
            second.unread(5),
            vec![(date!(2026 - 11 - 04), date!(2026 - 11 - 04))]
        );
        assert_eq!(second.tier(5).count(), 2);
        assert_eq!(second.looked_up(1, "a"), Some(None));
        assert_eq!(second.looked_up(1, "b"), None);
        assert_eq!(second.unread(4).len(), 1);
        // A read again ignores what was kept.
        assert_eq!(range(&cache, [2, 1, 1, 1], true).unread(5).len(), 1);
        assert_eq!(range(&cache, [2, 1, 1, 1], true).tier(5).count(), 0);
    }

    #[test]
    fn unread_days_come_in_runs() {
        let cache = DayCache::new(100);
        let mut first = range(&cache, [1, 1, 1, 1], false);
        first.learn_tier(0, Vec::new());
        let now: Totals = first.dates().into_iter().map(|d| (d, total(1))).collect();
        first.keep(&cache, &now, Instant::now());
        // The 3rd and the 6th changed; the 2nd and 4th are kept.
        let second = range(&cache, [1, 1, 2, 2], false);
        assert_eq!(
            second.unread(0),
            vec![
                (date!(2026 - 11 - 03), date!(2026 - 11 - 03)),
                (date!(2026 - 11 - 06), date!(2026 - 11 - 06))
            ]
        );
        let third = range(&cache, [2, 2, 2, 1], false);
        assert_eq!(
            third.unread(0),
            vec![(date!(2026 - 11 - 02), date!(2026 - 11 - 04))]
        );
    }
}
