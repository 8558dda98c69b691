//! A worker that does nothing while its group's events wait is starved or stalled: after
//! crashes, a broker may leave a restarted member without an assignment, or leave a dead
//! member's partitions assigned to nobody alive, while the survivors idle; and a member may
//! hold partitions whose records never arrive. The numbers freeze with every process up.
//!
//! The watch looks at every partition now and then. A partition *waits* when it has records
//! past where it was consumed and that point has not moved for a bound: `after` for a
//! partition this member holds (its position moves with every batch it takes), `after` plus
//! the checkpoint interval for the others (the group's committed offsets move only at
//! checkpoints). When partitions wait the watch says why on `/readyz` and in metrics, and has
//! the worker leave the group and join again as a new member, which makes the broker assign
//! every partition afresh; it does so again every half bound until nothing waits (the rebalance a
//! rejoin starts is over well within that; a member left empty-handed by one waits half a bound
//! from the start), and from the second rejoin in a row the worker starts over with a new
//! consumer (a broker may keep answering the same member with the same assignment). A member whose
//! own partitions wait while the store fails does not rejoin: the store is the cause, and
//! `/readyz` names it. A member that holds no partition and cannot read the group's progress
//! for a bound (a join the broker never completes; half a bound for a static member) joins
//! again too: nothing shows that anyone consumes.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use crate::pipeline::consumer::PartitionView;

/// Why the worker's group is stuck, if it is: shared with `/readyz`.
#[derive(Clone, Default)]
pub struct Stuck(Arc<Mutex<Option<Reason>>>);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// No partition held while the group's events wait.
    Starved,
    /// Other members' partitions wait while this one works its own.
    Orphaned(Vec<i32>),
    /// This member's own partitions wait: it holds them but takes no record.
    Stalled(Vec<i32>),
    /// No partition held, and the group's progress cannot be read (the member is stuck in a
    /// join the broker never completes, or the broker does not answer): nothing shows that
    /// anyone consumes.
    Unseen,
}

impl Reason {
    /// The `/readyz` reason.
    pub fn describe(&self) -> String {
        let list = |ps: &[i32]| {
            let ps: Vec<String> = ps.iter().map(i32::to_string).collect();
            ps.join(", ")
        };
        match self {
            Reason::Starved => {
                "kafka partitions (starved: none assigned while the group's events wait)".into()
            }
            Reason::Orphaned(ps) => format!(
                "kafka partitions (starved: partitions {} wait with no member consuming them)",
                list(ps)
            ),
            Reason::Stalled(ps) => format!(
                "kafka partitions (stalled: partitions {} are assigned here but no record arrives)",
                list(ps)
            ),
            Reason::Unseen => {
                "kafka partitions (starved: none assigned, and the group's progress cannot be read)"
                    .into()
            }
        }
    }
}

impl Stuck {
    pub fn reason(&self) -> Option<Reason> {
        self.0.lock().map(|r| r.clone()).unwrap_or(None)
    }

    fn set(&self, reason: Option<Reason>) {
        let gauge = |name, on: bool| metrics::gauge!(name).set(if on { 1.0 } else { 0.0 });
        gauge(
            crate::metrics::WORKER_STARVED,
            matches!(
                reason,
                Some(Reason::Starved | Reason::Orphaned(_) | Reason::Unseen)
            ),
        );
        gauge(
            crate::metrics::WORKER_STALLED,
            matches!(reason, Some(Reason::Stalled(_))),
        );
        if let Ok(mut held) = self.0.lock() {
            *held = reason;
        }
    }
}

pub struct Watch {
    after: Duration,
    checkpoint: Duration,
    /// Per waiting partition: since when it has stood at this point, and whether it was ours.
    still: BTreeMap<i32, (Instant, i64, bool)>,
    rejoined: Option<Instant>,
    /// Since when the group's progress could not be read while this member held nothing, if
    /// that is so now.
    blind: Option<Instant>,
    /// Rejoins asked for since nothing last waited.
    futile: u32,
    stuck: Stuck,
}

impl Watch {
    pub fn new(after: Duration, checkpoint: Duration, stuck: Stuck) -> Self {
        Self {
            after,
            checkpoint,
            still: BTreeMap::new(),
            rejoined: None,
            blind: None,
            futile: 0,
            stuck,
        }
    }

    /// Takes in what the member sees now; `worked` if it took or saved records since the last
    /// look (a long checkpoint is not a stall), `store_ok` if its last writes succeeded.
    /// Returns the reason to leave and join again, if any.
    pub fn observe(
        &mut self,
        view: &[PartitionView],
        worked: bool,
        store_ok: bool,
        now: Instant,
    ) -> Option<Reason> {
        self.blind = None;
        self.still
            .retain(|p, _| view.iter().any(|v| v.partition == *p && v.unconsumed() > 0));
        let (mut mine, mut others) = (Vec::new(), Vec::new());
        for p in view.iter().filter(|p| p.unconsumed() > 0) {
            let fresh = (now, p.consumed, p.mine);
            let entry = self.still.entry(p.partition).or_insert(fresh);
            if entry.1 != p.consumed || entry.2 != p.mine || (p.mine && worked) {
                *entry = fresh;
                continue;
            }
            let bound = if p.mine {
                self.after
            } else {
                self.after + self.checkpoint
            };
            if now.duration_since(entry.0) >= bound {
                if p.mine { &mut mine } else { &mut others }.push(p.partition);
            }
        }
        let reason = match (mine.is_empty(), others.is_empty()) {
            (false, _) => Some(Reason::Stalled(mine)),
            (true, false) if view.iter().any(|p| p.mine) => Some(Reason::Orphaned(others)),
            (true, false) => Some(Reason::Starved),
            (true, true) => None,
        };
        self.stuck.set(reason.clone());
        if reason.is_none() {
            self.futile = 0;
        }
        let wanted = match &reason {
            Some(Reason::Stalled(_)) => store_ok,
            Some(_) => true,
            None => false,
        };
        self.rejoin_if_due(reason.filter(|_| wanted), now)
    }

    /// Takes in that the group's progress could not be read now; `holds` if this member has
    /// partitions. Holding none through a whole bound of that, it joins again; a static member
    /// (`is_static`) after half a bound, since what brings one back is a new consumer, which
    /// costs one rebalance, while waiting costs every second of the group's traffic.
    pub fn observe_blind(&mut self, holds: bool, is_static: bool, now: Instant) -> Option<Reason> {
        self.still.clear();
        if holds {
            // The clock counts holding nothing *and* seeing nothing.
            self.blind = None;
            return None;
        }
        let since = *self.blind.get_or_insert(now);
        let bound = if is_static {
            self.after / 2
        } else {
            self.after + self.checkpoint
        };
        if now.duration_since(since) < bound {
            return None;
        }
        self.stuck.set(Some(Reason::Unseen));
        self.rejoin_if_due(Some(Reason::Unseen), now)
    }

    /// Rejoins asked for since nothing last waited, counting the one just asked for: past the
    /// first, joining again did not help.
    pub fn futile_rejoins(&self) -> u32 {
        self.futile
    }

    /// `reason`, if joining again is due for it.
    fn rejoin_if_due(&mut self, reason: Option<Reason>, now: Instant) -> Option<Reason> {
        // Joining again takes a rebalance: give the first one a full bound to show its effect,
        // unless it left this member holding nothing while the group's events still wait (the
        // rebalance is over and gave it no work); past the first, half a bound.
        let settle = match reason.as_ref()? {
            Reason::Starved | Reason::Unseen => self.after / 2,
            _ if self.futile > 0 => self.after / 2,
            _ => self.after,
        };
        let due = self
            .rejoined
            .is_none_or(|at| now.duration_since(at) >= settle);
        if !due {
            return None;
        }
        self.rejoined = Some(now);
        self.futile += 1;
        reason
    }
}

#[cfg(test)]
mod tests;
