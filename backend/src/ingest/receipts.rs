//! Receipts: which client `eid`s this process recently accepted (published, Kafka acknowledged).
//!
//! The tracker leaves a page with `navigator.sendBeacon`, which never says whether the request
//! arrived. On the next page load it asks `POST /event/receipts` which of those events were
//! accepted and re-sends only the others, instead of sending every one again.
//!
//! This is an optimisation only: correctness never depends on it. An eid this process does not
//! know (accepted by another replica behind the load balancer, before a restart, or longer ago
//! than it remembers) is simply re-sent by the tracker, and the worker stores an `eid` once. What
//! it must never do is claim an eid it did not accept, so eids are remembered only after Kafka
//! acknowledged them.

use std::collections::HashSet;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use uuid::Uuid;

/// How long an accepted eid is remembered at least, unless [`RECEIPT_CAP`] is reached first. A
/// tracker asks on the next page load, seconds after it left a page.
pub const RECEIPT_TTL: Duration = Duration::from_secs(10 * 60);

/// Most eids one generation holds. 400,000 keeps a generation's hash table at 2^19 buckets
/// (room for 458,752) of 17 bytes: about 9 MiB, so the two generations stay under 20 MiB. That
/// covers [`RECEIPT_TTL`] up to about 660 receipted events per second; above that the TTL
/// shortens to the last 400,000 to 800,000 eids, still minutes at the rates one process takes.
pub const RECEIPT_CAP: usize = 400_000;

/// A bounded, in-memory set of recently accepted eids.
///
/// Two generations: eids go into `current`; when it is [`RECEIPT_TTL`] old or holds
/// [`RECEIPT_CAP`] eids, it becomes `previous` and the old `previous` is forgotten. So an eid is
/// remembered for at least one TTL (or while fewer than a cap of eids came after it), and the
/// memory is at most two caps of 16-byte keys, whatever clients send.
pub struct Receipts {
    generations: Mutex<Generations>,
    ttl: Duration,
    cap: usize,
}

struct Generations {
    current: HashSet<u128>,
    previous: HashSet<u128>,
    /// When `current` started.
    started: Instant,
}

impl Default for Receipts {
    fn default() -> Self {
        Self::new(RECEIPT_TTL, RECEIPT_CAP)
    }
}

impl Receipts {
    /// A store that rotates every `ttl` or when a generation holds `cap` eids (at least 1).
    pub fn new(ttl: Duration, cap: usize) -> Self {
        Self {
            generations: Mutex::new(Generations {
                current: HashSet::new(),
                previous: HashSet::new(),
                started: Instant::now(),
            }),
            ttl,
            cap: cap.max(1),
        }
    }

    /// Remembers `eids` as accepted. Call only after Kafka acknowledged them.
    pub fn remember(&self, eids: &[Uuid]) {
        self.remember_at(Instant::now(), eids);
    }

    /// Which of `asked` were remembered as accepted: in the order asked, each once.
    pub fn received(&self, asked: &[Uuid]) -> Vec<Uuid> {
        // Duplicates are dropped before taking the lock, so it is held for the lookups only.
        let mut seen = HashSet::with_capacity(asked.len());
        let distinct: Vec<Uuid> = asked.iter().copied().filter(|e| seen.insert(*e)).collect();
        let generations = self.lock();
        distinct
            .into_iter()
            .filter(|e| generations.contains(e.as_u128()))
            .collect()
    }

    fn remember_at(&self, now: Instant, eids: &[Uuid]) {
        if eids.is_empty() {
            return;
        }
        let mut generations = self.lock();
        if now.saturating_duration_since(generations.started) >= self.ttl {
            generations.rotate(now);
        }
        for eid in eids {
            if generations.current.len() >= self.cap {
                generations.rotate(now);
            }
            generations.current.insert(eid.as_u128());
        }
    }

    /// The set stays consistent whatever panicked while holding the lock (each insert is whole),
    /// so a poisoned lock is used as it is rather than turning every later request into a 5xx.
    fn lock(&self) -> std::sync::MutexGuard<'_, Generations> {
        self.generations
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl Generations {
    fn contains(&self, eid: u128) -> bool {
        self.current.contains(&eid) || self.previous.contains(&eid)
    }

    /// `current` becomes `previous`; the old `previous` is cleared and reused as `current`, so
    /// its allocation is kept and a filling generation never rehashes while the lock is held.
    fn rotate(&mut self, now: Instant) {
        std::mem::swap(&mut self.current, &mut self.previous);
        self.current.clear();
        self.started = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eids(n: u128) -> Vec<Uuid> {
        (1..=n).map(Uuid::from_u128).collect()
    }

    #[test]
    fn answers_what_it_remembers_in_the_order_asked_each_once() {
        let receipts = Receipts::default();
        receipts.remember(&eids(3));
        let asked = [4, 3, 1, 3, 9, 1].map(Uuid::from_u128);
        assert_eq!(receipts.received(&asked), [3, 1].map(Uuid::from_u128));
        assert!(receipts.received(&[]).is_empty());
        receipts.remember(&[]);
    }

    #[test]
    fn an_eid_is_remembered_for_one_ttl_and_forgotten_after_two() {
        let ttl = Duration::from_secs(600);
        let receipts = Receipts::new(ttl, 100);
        let start = Instant::now();
        receipts.remember_at(start, &[Uuid::from_u128(1)]);
        // Rotated once: the first eid moves to the previous generation, still answered.
        receipts.remember_at(start + ttl, &[Uuid::from_u128(2)]);
        assert_eq!(receipts.received(&eids(2)), eids(2));
        // Rotated again: the first eid is forgotten, the second is still answered.
        receipts.remember_at(start + ttl * 2, &[Uuid::from_u128(3)]);
        assert_eq!(receipts.received(&eids(3)), eids(3)[1..]);
    }

    #[test]
    fn no_rotation_before_the_ttl() {
        let ttl = Duration::from_secs(600);
        let receipts = Receipts::new(ttl, 100);
        let start = Instant::now();
        receipts.remember_at(start, &[Uuid::from_u128(1)]);
        receipts.remember_at(
            start + ttl - Duration::from_millis(1),
            &[Uuid::from_u128(2)],
        );
        let generations = receipts.lock();
        assert_eq!(
            (generations.current.len(), generations.previous.len()),
            (2, 0)
        );
    }

    #[test]
    fn the_cap_bounds_memory_to_two_generations() {
        let receipts = Receipts::new(RECEIPT_TTL, 4);
        receipts.remember(&eids(10));
        let generations = receipts.lock();
        assert!(generations.current.len() <= 4 && generations.previous.len() <= 4);
        drop(generations);
        // 1-4 were forgotten when 9 started a third generation; 5-8 and 9-10 are answered.
        assert_eq!(receipts.received(&eids(10)), eids(10)[4..]);
    }
}
