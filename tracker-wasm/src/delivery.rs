//! Delivery: batching, the outbox, and which events go in which request.
//!
//! Every event is written to the [outbox](crate::outbox) before it is sent and leaves it only on
//! a seen 2xx (or a final refusal), so nothing is lost to an outage, a reload or a closed tab.
//! While the page is in view one `fetch` at a time carries the oldest unsent events; when it is
//! hidden or left, `sendBeacon` takes what was never sent. A beacon's fate is never seen, so
//! beaconed events are marked sent (`s`) and the next page asks ingestion for receipts: only
//! what it does not confirm is posted again. Each event is then delivered once in the common case, and
//! at least once always (ingestion and the worker drop a repeated `eid`).
//!
//! This module decides; `web/` performs the requests and the timers and reports back, so the
//! whole state machine runs in host tests as well as in the browser.

use std::string::String;
use std::vec::Vec;

use crate::backoff::{self, Outcome};
use crate::outbox::{self, Line};
use crate::text;

/// Events that start a request at once.
pub const BATCH_EVENTS: usize = 10;
/// How long the first queued event waits for others.
pub const BATCH_MS: u32 = 5_000;
/// Most eids asked about in one receipts request (ingestion's limit).
pub const RECEIPTS_MAX: usize = 200;

/// Storage refused to read or write (disabled, full, sandboxed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unavailable;

/// Where the outbox is kept between pages (`localStorage` in the browser).
pub trait Storage {
    /// The stored text (`None` when there is none); `Err` when storage cannot be used.
    fn read(&self) -> Result<Option<String>, Unavailable>;
    /// Replaces the stored text (removes it when `text` is empty); `Err` when refused.
    fn write(&self, text: &str) -> Result<(), Unavailable>;
}

/// The outbox in storage, or in this page's memory once storage failed (disabled, full):
/// then events are still retried within the page, only not across pages. Memory holds the
/// outbox's text as last read or written, so a storage that stops working mid-page loses
/// nothing.
struct Outbox<S> {
    storage: S,
    usable: bool,
    memory: String,
}

impl<S: Storage> Outbox<S> {
    fn load(&mut self, now_ms: u64) -> Vec<Line> {
        if self.usable {
            match self.storage.read() {
                Ok(text) => self.memory = text.unwrap_or_default(),
                Err(Unavailable) => self.usable = false,
            }
        }
        outbox::bound(outbox::parse(&self.memory), now_ms)
    }

    fn save(&mut self, lines: Vec<Line>) {
        let text = outbox::format(&lines);
        if self.usable && self.storage.write(&text).is_err() {
            // Full: keep everything in memory, and leave no stale copy for the next page.
            self.usable = false;
            let _ = self.storage.write("");
        }
        self.memory = text;
    }

    /// Loads, changes and saves the outbox in one step (other tabs of the site share it).
    fn update(&mut self, now_ms: u64, change: impl FnOnce(&mut Vec<Line>)) {
        let mut lines = self.load(now_ms);
        change(&mut lines);
        self.save(outbox::bound(lines, now_ms));
    }
}

/// What adding an event asks of the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Batch {
    /// The batch is full: flush and post now.
    Flush,
    /// The first event of a batch: flush after [`BATCH_MS`].
    StartTimer,
    /// A timer is already running.
    Wait,
}

/// One page's delivery state.
pub struct Delivery<S> {
    outbox: Outbox<S>,
    /// Events batched in memory, not yet in the outbox.
    queue: Vec<Line>,
    /// The body of the one `fetch` under way.
    flight: Option<String>,
    /// The body of the receipts request under way, `{"eids":["<eid>",…]}` (what it asked
    /// about; searched like the answer, see [`Delivery::receipts_answered`]).
    checking: Option<String>,
    /// A retry timer is running: no `fetch` until it fires.
    waiting: bool,
    /// Failed requests in a row, for the backoff.
    fails: u32,
}

impl<S: Storage> Delivery<S> {
    pub fn new(storage: S) -> Self {
        Self {
            outbox: Outbox {
                storage,
                usable: true,
                memory: String::new(),
            },
            queue: Vec::new(),
            flight: None,
            checking: None,
            waiting: false,
            fails: 0,
        }
    }

    /// Queues one event's JSON.
    pub fn add(&mut self, json: String, now_ms: u64) -> Batch {
        self.queue.push(Line::new(now_ms, json));
        match self.queue.len() {
            n if n >= BATCH_EVENTS => Batch::Flush,
            1 => Batch::StartTimer,
            _ => Batch::Wait,
        }
    }

    /// Moves the queued events into the outbox.
    pub fn flush(&mut self, now_ms: u64) {
        if !self.queue.is_empty() {
            let queued = core::mem::take(&mut self.queue);
            self.outbox.update(now_ms, |lines| lines.extend(queued));
        }
    }

    /// The body of the next `fetch`, when none is under way or waiting for a retry: the
    /// oldest events never sent, marked sent until the answer comes.
    pub fn next_post(&mut self, now_ms: u64) -> Option<String> {
        if self.flight.is_some() || self.waiting {
            return None;
        }
        let mut lines = self.outbox.load(now_ms);
        let body = outbox::first_request(&lines)?;
        mark(&mut lines, &body, true);
        self.outbox.save(lines);
        self.flight = Some(body.clone());
        Some(body)
    }

    /// The answer to the `fetch` under way. `Some(ms)`: wait that long, then call
    /// [`Self::retry_due`]; `None`: post the next batch.
    pub fn answered(
        &mut self,
        outcome: Outcome,
        retry_after: Option<&str>,
        random: f64,
        now_ms: u64,
    ) -> Option<f64> {
        let body = self.flight.take()?;
        if outcome == Outcome::Failed {
            self.outbox
                .update(now_ms, |lines| mark(lines, &body, false));
            let delay = backoff::delay_ms(self.fails, random, retry_after);
            self.fails = self.fails.saturating_add(1);
            self.waiting = true;
            return Some(delay);
        }
        self.fails = 0;
        self.outbox.update(now_ms, |lines| {
            outbox::keep(lines, &mut |l| !carries(&body, l))
        });
        None
    }

    /// The retry timer fired.
    pub fn retry_due(&mut self) {
        self.waiting = false;
    }

    /// The body of a receipts request for the events sent without a seen answer (by an
    /// earlier page, or beaconed by this one before it was hidden), if there are any.
    /// Events without an `eid` cannot be confirmed: they are marked unsent right away.
    pub fn receipts_request(&mut self, now_ms: u64) -> Option<String> {
        if self.checking.is_some() {
            return None;
        }
        let mut lines = self.outbox.load(now_ms);
        let in_flight = self.flight.as_deref().unwrap_or_default();
        let mut body = String::from("{\"eids\":[");
        let mut asked = 0;
        for line in lines
            .iter_mut()
            .filter(|l| l.sent && !carries(in_flight, l))
        {
            match line.eid() {
                Some(eid) if asked < RECEIPTS_MAX => {
                    if asked > 0 {
                        body.push(',');
                    }
                    body.push('"');
                    body.push_str(eid);
                    body.push('"');
                    asked += 1;
                }
                Some(_) => {}
                None => line.sent = false,
            }
        }
        self.outbox.save(lines);
        if asked == 0 {
            return None;
        }
        body.push_str("]}");
        self.checking = Some(body.clone());
        Some(body)
    }

    /// The answer to the receipts request: ingestion's `200` body, `{"received":["<eid>",…]}`,
    /// or `None` when the request failed. Confirmed events leave the outbox; the others asked
    /// about become unsent, so the next `fetch` carries them. An eid is confirmed when it
    /// appears after the answer's `"received"` key: every eid is 36 characters, so one cannot
    /// be found inside another, and no JSON parser is needed in the wasm.
    pub fn receipts_answered(&mut self, answer: Option<&str>, now_ms: u64) {
        let Some(asked) = self.checking.take() else {
            return;
        };
        let received = answer
            .and_then(|a| a.get(text::find(a, "\"received\"")?..))
            .unwrap_or_default();
        let confirmed = |l: &Line| l.eid().is_some_and(|e| text::find(received, e).is_some());
        let settled = |l: &Line| l.eid().is_some_and(|e| text::find(&asked, e).is_some());
        self.outbox.update(now_ms, |lines| {
            outbox::keep(lines, &mut |l| !confirmed(l));
            for line in lines.iter_mut().filter(|l| l.sent && settled(l)) {
                line.sent = false;
            }
        });
    }

    /// The page is hidden or left: queued events join the outbox, and every event never sent
    /// goes to `beacon` (`sendBeacon`), one request's worth at a time. Events already sent
    /// without a seen answer (the `fetch` under way, this page's earlier beacons, an earlier
    /// page's beacons still waiting for receipts) are not sent again: receipts settle them, on
    /// this page or the next visit. True when `beacon` refused one: post with `fetch` instead.
    pub fn leave(&mut self, now_ms: u64, mut beacon: impl FnMut(&str) -> bool) -> bool {
        self.flush(now_ms);
        let mut lines = self.outbox.load(now_ms);
        let mut refused = false;
        while let Some(body) = outbox::first_request(&lines) {
            if !beacon(&body) {
                refused = true;
                break;
            }
            mark(&mut lines, &body, true);
        }
        self.outbox.save(lines);
        refused
    }

    /// Events in the outbox (for tests and diagnostics).
    pub fn kept(&mut self, now_ms: u64) -> Vec<Line> {
        self.outbox.load(now_ms)
    }
}

/// Whether the request `body` carries `line`'s event. A request is identified by its body
/// rather than by a copy of each event: another tab may rewrite the shared outbox meanwhile.
/// An event's JSON is found only where it is whole: inside another event, its quotes would be
/// escaped.
fn carries(body: &str, line: &Line) -> bool {
    text::find(body, &line.json).is_some()
}

fn mark(lines: &mut [Line], body: &str, sent: bool) {
    for line in lines.iter_mut().filter(|l| carries(body, l)) {
        line.sent = sent;
    }
}

#[cfg(test)]
mod tests;
