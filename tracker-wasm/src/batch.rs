//! Batching: events wait in memory until 10 are queued, 5 seconds have passed, or the page is
//! being hidden or left; then they go out together as one JSON array.
//!
//! Events are kept as their serialized JSON from the start, so a retry (in this page or the next
//! one) sends the same bytes, hence the same `eid`s, and the wasm never parses JSON.

use alloc::string::String;
use alloc::vec::Vec;

/// Flush as soon as this many events are queued.
pub const MAX_QUEUED: usize = 10;
/// Flush at the latest this long after the first queued event.
pub const FLUSH_AFTER_MS: u32 = 5_000;
/// Most events in one request (ingestion takes up to 500).
pub const MAX_CHUNK_EVENTS: usize = 100;
/// Most bytes in one request: well under the 64 KiB that `sendBeacon` and `keepalive` fetches
/// may have in flight per page.
pub const MAX_CHUNK_BYTES: usize = 32 * 1024;

/// One serialized event and when it was created (for ageing in the outbox).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Milliseconds since the Unix epoch.
    pub at_ms: u64,
    /// One `ClientEvent` as JSON, on a single line.
    pub json: String,
}

/// What the caller has to do after queueing an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Nothing: a flush timer is already running.
    Wait,
    /// Start the flush timer.
    ArmTimer(u32),
    /// The batch is full: flush now.
    FlushNow,
}

/// Events not yet handed to the network.
#[derive(Debug, Default)]
pub struct Batcher {
    queued: Vec<Record>,
    timer_armed: bool,
}

impl Batcher {
    pub fn push(&mut self, record: Record) -> Next {
        self.queued.push(record);
        if self.queued.len() >= MAX_QUEUED {
            Next::FlushNow
        } else if self.timer_armed {
            Next::Wait
        } else {
            self.timer_armed = true;
            Next::ArmTimer(FLUSH_AFTER_MS)
        }
    }

    /// The flush timer fired: the next event starts a new one.
    pub fn timer_fired(&mut self) {
        self.timer_armed = false;
    }

    /// Everything queued, in order, leaving the queue empty.
    pub fn take(&mut self) -> Vec<Record> {
        core::mem::take(&mut self.queued)
    }

    pub fn len(&self) -> usize {
        self.queued.len()
    }

    pub fn is_empty(&self) -> bool {
        self.queued.is_empty()
    }
}

/// Splits records into request-sized groups, in order. A single record larger than the byte
/// limit still gets a group of its own.
pub fn chunks(records: Vec<Record>) -> Vec<Vec<Record>> {
    let mut groups: Vec<Vec<Record>> = Vec::new();
    let mut current: Vec<Record> = Vec::new();
    let mut bytes = 2; // the brackets
    for record in records {
        let size = record.json.len() + 1; // plus a comma
        if !current.is_empty()
            && (current.len() == MAX_CHUNK_EVENTS || bytes + size > MAX_CHUNK_BYTES)
        {
            groups.push(core::mem::take(&mut current));
            bytes = 2;
        }
        bytes += size;
        current.push(record);
    }
    if !current.is_empty() {
        groups.push(current);
    }
    groups
}

/// The request body: the records' JSON as one array, `[{...},{...}]`.
pub fn body(records: &[Record]) -> String {
    let mut out =
        String::with_capacity(records.iter().map(|r| r.json.len() + 1).sum::<usize>() + 2);
    out.push('[');
    for (i, record) in records.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&record.json);
    }
    out.push(']');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(i: u64, size: usize) -> Record {
        Record {
            at_ms: i,
            json: format!("{{\"n\":\"{}\"}}", "x".repeat(size)),
        }
    }

    #[test]
    fn first_event_arms_the_timer_tenth_flushes() {
        let mut b = Batcher::default();
        assert_eq!(b.push(rec(0, 1)), Next::ArmTimer(FLUSH_AFTER_MS));
        for i in 1..9 {
            assert_eq!(b.push(rec(i, 1)), Next::Wait);
        }
        assert_eq!(b.push(rec(9, 1)), Next::FlushNow);
        assert_eq!(b.take().len(), 10);
        assert!(b.is_empty());
        // the timer armed for the first batch is still running: no second timer
        assert_eq!(b.push(rec(10, 1)), Next::Wait);
        b.timer_fired();
        assert_eq!(b.take().len(), 1);
        assert_eq!(b.push(rec(11, 1)), Next::ArmTimer(FLUSH_AFTER_MS));
    }

    #[test]
    fn body_is_a_json_array_in_order() {
        let records = vec![rec(0, 1), rec(1, 2)];
        assert_eq!(body(&records), r#"[{"n":"x"},{"n":"xx"}]"#);
        assert_eq!(body(&[]), "[]");
        let parsed: serde_json::Value = serde_json::from_str(&body(&records)).unwrap();
        assert_eq!(parsed.as_array().unwrap().len(), 2);
    }

    #[test]
    fn chunks_respect_count_and_byte_limits() {
        let many: Vec<Record> = (0..250).map(|i| rec(i, 10)).collect();
        let groups = chunks(many);
        assert_eq!(
            groups.iter().map(Vec::len).collect::<Vec<_>>(),
            [100, 100, 50]
        );
        assert_eq!(groups[1][0].at_ms, 100, "order is kept");

        let big: Vec<Record> = (0..5).map(|i| rec(i, 10_000)).collect();
        let groups = chunks(big);
        assert_eq!(groups.iter().map(Vec::len).collect::<Vec<_>>(), [3, 2]);
        assert!(groups.iter().all(|g| body(g).len() <= MAX_CHUNK_BYTES));

        let huge = vec![rec(0, 40_000), rec(1, 1)];
        assert_eq!(chunks(huge).len(), 2);
        assert!(chunks(Vec::new()).is_empty());
    }
}
