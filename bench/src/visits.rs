//! Visit slots: how both mixes ([`crate::seed::Generator`], [`crate::realistic::Realistic`])
//! interleave a site-day's visits. [`SLOT_GAP_SECONDS`] apart, one "slot" of interleaved traffic
//! gets its next event, so each slot is a sequence of visits: consecutive events of one visitor,
//! until a hash of the slot and step ends the visit ([`VisitEnd`]); one visit in
//! [`RETURNING_EVERY`] is by the visitor of a visit [`RETURN_AFTER_VISITS`] before in its slot.
//!
//! Everything is a function of the salt, the planned size of the day and the offset, so a
//! generator can start at any offset and yield the events a whole run would have.

use anyhow::ensure;

use crate::seed::mix2;

/// Seconds between two consecutive events of one visit.
pub const SLOT_GAP_SECONDS: u64 = 60;
/// One visit in this many is by a visitor seen earlier that day...
pub const RETURNING_EVERY: u64 = 8;
/// ...this many visits of the same slot before (hours earlier).
const RETURN_AFTER_VISITS: u64 = 40;

/// When a visit ends after an event, judged on a hash of its slot and step.
#[derive(Clone, Copy, Debug)]
pub enum VisitEnd {
    /// When the hash is a multiple of this: a visit ends with probability 1/this.
    OneIn(u64),
    /// When the hash modulo 2^32 falls below this: probability this / 2^32.
    Below(u64),
}

impl VisitEnd {
    fn ends(self, hash: u64) -> bool {
        match self {
            Self::OneIn(n) => hash % n == 0,
            Self::Below(threshold) => hash & u64::from(u32::MAX) < threshold,
        }
    }
}

/// The slots of one site-day: which visitor the event at each offset is by, in offset order.
pub struct VisitSlots {
    salt: u64,
    day_events: u64,
    slots: u64,
    /// Per slot: visits started so far.
    visits: Vec<u64>,
    next: u64,
    end: VisitEnd,
}

impl VisitSlots {
    /// Slots for a day of `day_events` events, positioned at `start`: the visits of the events
    /// before it are replayed, as a slot's visit count depends on all its earlier events.
    pub fn new(salt: u64, day_events: u64, start: u64, end: VisitEnd) -> Self {
        let slots = (day_events * SLOT_GAP_SECONDS / 86_400).max(1);
        let mut visit_slots = Self {
            salt,
            day_events,
            slots,
            visits: vec![0; slots as usize],
            next: 0,
            end,
        };
        for offset in 0..start {
            visit_slots.visit_of(offset);
        }
        visit_slots.next = start;
        visit_slots
    }

    /// How many events the planned day holds.
    pub fn day_events(&self) -> u64 {
        self.day_events
    }

    /// The next event's offset and the hash its visitor's id is made of.
    pub fn next_visitor(&mut self) -> anyhow::Result<(u64, u64)> {
        let offset = self.next;
        ensure!(
            offset < self.day_events,
            "offset {offset} is past the planned day of {} events (--day-events)",
            self.day_events
        );
        self.next += 1;
        let (slot, visit) = self.visit_of(offset);
        Ok((offset, self.visitor_of(slot, visit)))
    }

    /// The slot and visit number of the event at `offset`; must be called in offset order.
    fn visit_of(&mut self, offset: u64) -> (u64, u64) {
        let slot = offset % self.slots;
        let step = offset / self.slots;
        let starts = step == 0 || self.end.ends(mix2(self.salt ^ slot, step - 1));
        let visits = &mut self.visits[slot as usize];
        if starts {
            *visits += 1;
        }
        (slot, *visits - 1)
    }

    /// The visitor of visit `visit` of `slot`: a returning one is that of a visit hours before.
    fn visitor_of(&self, slot: u64, visit: u64) -> u64 {
        let returning = visit >= RETURN_AFTER_VISITS
            && mix2(self.salt ^ 0x7e7, (slot << 32) | visit) % RETURNING_EVERY == 0;
        let identity = if returning {
            visit - RETURN_AFTER_VISITS
        } else {
            visit
        };
        mix2(self.salt ^ slot, identity)
    }
}
