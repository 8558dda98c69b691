//! A worker that holds no partition while nobody in its group consumes is starved: after
//! crashes, a broker may leave a restarted member without an assignment while the dead
//! members' partitions wait, and the numbers freeze with every process up. The watch notices
//! (no partition, events below the topic's end, the group's committed offsets standing still
//! for `after`), says so on `/readyz` and in metrics, and has the worker join the group again
//! as a new member, every `after` until it is assigned work or nothing is left to consume.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use crate::pipeline::consumer::GroupView;

/// Whether the worker is starved now, shared with `/readyz`.
#[derive(Clone, Default)]
pub struct Starved(Arc<AtomicBool>);

impl Starved {
    pub fn is_set(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    fn set(&self, starved: bool) {
        self.0.store(starved, Ordering::Relaxed);
        metrics::gauge!(crate::metrics::WORKER_STARVED).set(if starved { 1.0 } else { 0.0 });
    }
}

pub struct Watch {
    after: Duration,
    /// Since when the group's committed offsets have stood at this sum with this member idle.
    still: Option<(Instant, i64)>,
    starved: Starved,
}

impl Watch {
    pub fn new(after: Duration, starved: Starved) -> Self {
        Self {
            after,
            still: None,
            starved,
        }
    }

    /// Takes in what the member sees now; `true` when it should leave and join again.
    pub fn observe(&mut self, view: &GroupView, now: Instant) -> bool {
        if view.assigned > 0 || view.unconsumed == 0 {
            self.still = None;
            self.starved.set(false);
            return false;
        }
        match self.still {
            Some((since, committed)) if committed == view.committed => {
                if now.duration_since(since) < self.after {
                    return false;
                }
                self.starved.set(true);
                self.still = Some((now, committed));
                true
            }
            // Someone consumed (or the watch just started): idle here is not starvation yet.
            _ => {
                self.still = Some((now, view.committed));
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(assigned: usize, unconsumed: i64, committed: i64) -> GroupView {
        GroupView {
            assigned,
            unconsumed,
            committed,
        }
    }

    #[test]
    fn starved_only_when_idle_while_the_group_stands_still_below_the_end() {
        let starved = Starved::default();
        let mut watch = Watch::new(Duration::from_secs(20), starved.clone());
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        assert!(!watch.observe(&view(0, 50, 100), at(0)));
        assert!(!watch.observe(&view(0, 50, 100), at(19)));
        assert!(!starved.is_set());
        assert!(watch.observe(&view(0, 50, 100), at(20)));
        assert!(starved.is_set());
        // Rejoins again only after another full period.
        assert!(!watch.observe(&view(0, 50, 100), at(30)));
        assert!(watch.observe(&view(0, 60, 100), at(40)));
        // Work assigned: no longer starved.
        assert!(!watch.observe(&view(1, 60, 100), at(41)));
        assert!(!starved.is_set());

        // Another member consuming (offsets move) keeps an idle member from counting as starved.
        let mut watch = Watch::new(Duration::from_secs(20), Starved::default());
        for (i, s) in [0, 15, 30, 45, 60].into_iter().enumerate() {
            assert!(!watch.observe(&view(0, 50, 100 + i as i64), at(s)));
        }
        // Nothing left to consume: idle is fine, however long.
        let mut watch = Watch::new(Duration::from_secs(20), Starved::default());
        assert!(!watch.observe(&view(0, 0, 100), at(0)));
        assert!(!watch.observe(&view(0, 0, 100), at(100)));
    }
}
