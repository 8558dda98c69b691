//! The tracker itself: page views and custom events in, batches out, failures kept and retried.
//!
//! Everything the browser provides (clock, location, `sendBeacon`, `fetch`, `localStorage`,
//! timers) is behind [`Host`], so this whole flow runs in host unit tests against a fake browser;
//! `src/web/` implements `Host` for the real one.
//!
//! Delivery: every batch is written to the outbox (`localStorage`) first, and leaves it only when
//! a `fetch` was answered 2xx (or a 4xx that no retry can fix). While the page is in view (the
//! 5 s timer, a full batch of 10) the outbox goes out with a `keepalive` fetch whose answer is
//! awaited: at most one fetch in flight, exponential backoff after a failure. When the page is
//! hidden or left there may be no time for an answer, so the outbox is handed to `sendBeacon`
//! (a `text/plain` string: no CORS preflight), falling back to fetch if it refuses. `sendBeacon`
//! says only that the browser queued the request, not that it arrived, so those records stay in
//! the outbox and the next page load sends them again with the same `eid`s: a beacon lost to an
//! outage is recovered, and one that did arrive is stored once because ingestion de-duplicates
//! on `eid`.

use alloc::string::String;
use alloc::vec::Vec;

use beacon_event::fields::PAGE_VIEW;
use beacon_event::Props;
use uuid::Uuid;

use crate::batch::{self, Batcher, Next, Record};
use crate::config::Config;
use crate::event::{self, Facts};
use crate::outbox;
use crate::retry::{Backoff, Outcome};
use crate::route::{Location, Navigation};

/// What the tracker needs from the browser.
pub trait Host {
    /// `Date.now()`.
    fn now_ms(&self) -> f64;
    /// `Math.random()`, for backoff jitter.
    fn random(&self) -> f64;
    /// Prints a finite number as JSON (JavaScript's `String(n)`), for custom properties.
    fn number_to_string(n: f64) -> String;
    fn location(&self) -> Location;
    /// `document.referrer`.
    fn referrer(&self) -> String;
    /// `screen.width`.
    fn screen_width(&self) -> Option<i32>;
    /// A fresh random UUID (`crypto.getRandomValues`).
    fn new_eid(&self) -> Option<Uuid>;
    /// `navigator.sendBeacon(url, body)`: true if the browser queued it.
    fn send_beacon(&self, url: &str, body: &str) -> bool;
    /// Starts `fetch(url, {method: 'POST', body, keepalive: true, ...})`; its end is reported
    /// through [`Tracker::fetch_done`]. False if it could not even start (`fetch` threw).
    fn fetch(&self, url: &str, body: String) -> bool;
    /// The outbox text from `localStorage`; `None` when storage is unavailable.
    fn load(&self) -> Option<String>;
    /// Stores the outbox text (empty: remove it); false when storage is unavailable or full
    /// (then it removes the stored copy, if it can).
    fn save(&self, text: &str) -> bool;
    /// Calls [`Tracker::flush_timer_fired`] after `ms`.
    fn arm_flush_timer(&self, ms: u32);
    /// Calls [`Tracker::retry_timer_fired`] after `ms`.
    fn arm_retry_timer(&self, ms: u32);
}

/// One page's tracker.
pub struct Tracker<H> {
    host: H,
    config: Config,
    nav: Navigation,
    batch: Batcher,
    backoff: Backoff,
    /// The records of the fetch in flight, if any.
    in_flight: Option<Vec<Record>>,
    /// A retry is scheduled: no fetch before it fires.
    retry_armed: bool,
    /// False once `localStorage` failed to store the outbox: from then on it lives in `unsaved`,
    /// so a stale stored copy can never make the tracker resend the same batch in a loop.
    storage_ok: bool,
    /// The outbox when `localStorage` cannot hold it (disabled, full): kept for this page only.
    unsaved: Vec<Record>,
    /// Records already handed to `sendBeacon` by this page (`pagehide` and `visibilitychange`
    /// often fire together): not beaconed twice.
    beaconed: Vec<Record>,
}

impl<H: Host> Tracker<H> {
    pub fn new(host: H, config: Config) -> Self {
        Self {
            host,
            config,
            nav: Navigation::default(),
            batch: Batcher::default(),
            backoff: Backoff::default(),
            in_flight: None,
            retry_armed: false,
            storage_ok: true,
            beaconed: Vec::new(),
            unsaved: Vec::new(),
        }
    }

    pub fn host(&self) -> &H {
        &self.host
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The page loaded: count it, and retry what earlier pages could not deliver.
    pub fn start(&mut self) {
        self.navigated();
        self.pump();
    }

    /// The URL may have changed (pushState, replaceState, popstate, hashchange): counts a page
    /// view if the page is a new one.
    pub fn navigated(&mut self) {
        let location = self.host.location();
        if self.nav.moved_to(location.page_key(self.config.hash)) {
            self.track(PAGE_VIEW, &location, None);
        }
    }

    /// `beacon('pageview')`: always counted.
    pub fn page_view(&mut self) {
        let location = self.host.location();
        self.nav.counted(location.page_key(self.config.hash));
        self.track(PAGE_VIEW, &location, None);
    }

    /// `beacon('event', name, props)`.
    pub fn custom(&mut self, name: &str, props: Option<Props>) {
        let location = self.host.location();
        self.track(name, &location, props);
    }

    fn track(&mut self, event_type: &str, location: &Location, props: Option<Props>) {
        let now_ms = self.host.now_ms();
        let facts = Facts {
            path: location.page_path(self.config.hash),
            referrer: self.host.referrer(),
            screen_width: self.host.screen_width(),
            now_ms,
            eid: self.host.new_eid(),
        };
        let Some(record) = event::client_event(&self.config.site, event_type, &facts, props)
            .and_then(|e| event::record(&e, now_ms, H::number_to_string))
        else {
            return;
        };
        match self.batch.push(record) {
            Next::Wait => {}
            Next::ArmTimer(ms) => self.host.arm_flush_timer(ms),
            Next::FlushNow => self.flush(),
        }
    }

    pub fn flush_timer_fired(&mut self) {
        self.batch.timer_fired();
        self.flush();
    }

    /// The page is in view (flush timer, full batch): moves the queue to the outbox and sends it
    /// with `fetch`, waiting for the answer.
    pub fn flush(&mut self) {
        self.queue_to_outbox();
        self.pump();
    }

    /// The page is being hidden or left (`visibilitychange`, `pagehide`): hands the outbox to
    /// `sendBeacon`, which outlives the page. The records stay in the outbox until a fetch
    /// confirms them (see the module docs); a refused beacon falls back to `fetch`.
    pub fn leave(&mut self) {
        self.queue_to_outbox();
        let in_flight = self.in_flight.clone().unwrap_or_default();
        let fresh: Vec<Record> = self
            .load_outbox()
            .into_iter()
            .filter(|r| !in_flight.contains(r) && !self.beaconed.contains(r))
            .collect();
        let mut refused = false;
        for chunk in batch::chunks(fresh) {
            if self
                .host
                .send_beacon(&self.config.endpoint, &batch::body(&chunk))
            {
                self.beaconed.extend(chunk);
            } else {
                refused = true;
            }
        }
        if refused {
            self.pump();
        }
    }

    fn queue_to_outbox(&mut self) {
        let queued = self.batch.take();
        if !queued.is_empty() {
            let now = event::whole_ms(self.host.now_ms());
            let outbox = outbox::add(self.load_outbox(), queued, now);
            self.save_outbox(outbox);
        }
    }

    pub fn retry_timer_fired(&mut self) {
        self.retry_armed = false;
        self.pump();
    }

    /// Sends the oldest outbox chunk with `fetch`, unless a fetch is in flight or a retry is
    /// waiting for its timer. A chunk `fetch` refuses outright (malformed endpoint) is dropped.
    fn pump(&mut self) {
        while self.in_flight.is_none() && !self.retry_armed {
            let Some(chunk) = batch::chunks(self.load_outbox()).into_iter().next() else {
                return;
            };
            if self.host.fetch(&self.config.endpoint, batch::body(&chunk)) {
                self.in_flight = Some(chunk);
            } else {
                let left = outbox::remove(self.load_outbox(), &chunk);
                self.save_outbox(left);
            }
        }
    }

    /// The fetch started by the tracker ended.
    pub fn fetch_done(&mut self, outcome: Outcome) {
        let Some(sent) = self.in_flight.take() else {
            return;
        };
        match outcome {
            Outcome::Delivered | Outcome::Refused => {
                self.backoff.reset();
                let left = outbox::remove(self.load_outbox(), &sent);
                self.save_outbox(left);
                self.pump();
            }
            Outcome::Retry { after_ms } => {
                let wait = self.backoff.next_delay(self.host.random(), after_ms);
                self.retry_armed = true;
                self.host.arm_retry_timer(wait);
            }
        }
    }

    /// The outbox: `localStorage` plus whatever it could not hold, bounded and aged.
    fn load_outbox(&self) -> Vec<Record> {
        let now = event::whole_ms(self.host.now_ms());
        let stored = match self.storage_ok {
            true => self.host.load().unwrap_or_default(),
            false => String::new(),
        };
        outbox::add(outbox::decode(&stored), self.unsaved.clone(), now)
    }

    fn save_outbox(&mut self, records: Vec<Record>) {
        self.storage_ok = self.storage_ok && self.host.save(&outbox::encode(&records));
        self.unsaved = match self.storage_ok {
            true => Vec::new(),
            false => records,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::{FLUSH_AFTER_MS, MAX_QUEUED};
    use beacon_event::{ClientEvent, SiteId, TimeWindow};
    use serde_json::Value;
    use std::cell::{Cell, RefCell};

    const T0: f64 = 1_795_600_800_000.0;

    /// A scripted browser: records what the tracker asked of it.
    #[derive(Default)]
    struct Fake {
        now: Cell<f64>,
        location: RefCell<Location>,
        next_eid: Cell<u128>,
        beacon_works: Cell<bool>,
        beacons: RefCell<Vec<String>>,
        fetches: RefCell<Vec<String>>,
        storage: RefCell<Option<String>>,
        storage_broken: Cell<bool>,
        flush_timers: RefCell<Vec<u32>>,
        retry_timers: RefCell<Vec<u32>>,
    }

    impl Host for Fake {
        fn now_ms(&self) -> f64 {
            self.now.get()
        }
        fn random(&self) -> f64 {
            1.0
        }
        fn number_to_string(n: f64) -> String {
            n.to_string()
        }
        fn location(&self) -> Location {
            self.location.borrow().clone()
        }
        fn referrer(&self) -> String {
            "https://search.example/".into()
        }
        fn screen_width(&self) -> Option<i32> {
            Some(390)
        }
        fn new_eid(&self) -> Option<Uuid> {
            self.next_eid.set(self.next_eid.get() + 1);
            Some(Uuid::from_u128(self.next_eid.get()))
        }
        fn send_beacon(&self, _url: &str, body: &str) -> bool {
            if self.beacon_works.get() {
                self.beacons.borrow_mut().push(body.to_owned());
            }
            self.beacon_works.get()
        }
        fn fetch(&self, url: &str, body: String) -> bool {
            self.fetches.borrow_mut().push(body);
            url.starts_with("https://")
        }
        fn load(&self) -> Option<String> {
            if self.storage_broken.get() {
                return None;
            }
            Some(self.storage.borrow().clone().unwrap_or_default())
        }
        fn save(&self, text: &str) -> bool {
            if self.storage_broken.get() {
                *self.storage.borrow_mut() = None;
                return false;
            }
            *self.storage.borrow_mut() = Some(text.to_owned()).filter(|t| !t.is_empty());
            true
        }
        fn arm_flush_timer(&self, ms: u32) {
            self.flush_timers.borrow_mut().push(ms);
        }
        fn arm_retry_timer(&self, ms: u32) {
            self.retry_timers.borrow_mut().push(ms);
        }
    }

    fn tracker(beacon_works: bool, storage: Option<&str>) -> Tracker<Fake> {
        let fake = Fake::default();
        fake.now.set(T0);
        fake.beacon_works.set(beacon_works);
        *fake.storage.borrow_mut() = storage.map(str::to_owned);
        go(&fake, "/", "");
        let config = Config::from_attrs(
            |name| (name == "site").then(|| "site123".to_owned()),
            "https://stats.example.com/beacon.js",
        )
        .unwrap();
        Tracker::new(fake, config)
    }

    fn go(fake: &Fake, pathname: &str, search: &str) {
        *fake.location.borrow_mut() = Location {
            pathname: pathname.into(),
            search: search.into(),
            hash: String::new(),
        };
    }

    /// Parses a request body the way ingestion does.
    fn events(body: &str) -> Vec<ClientEvent> {
        let now = event::timestamp(T0).unwrap();
        let value: Value = serde_json::from_str(body).unwrap();
        value
            .as_array()
            .unwrap()
            .iter()
            .map(|v| ClientEvent::from_json(v, &TimeWindow::standard(now)).unwrap())
            .collect()
    }

    fn eids(body: &str) -> Vec<u128> {
        events(body)
            .iter()
            .map(|e| e.eid.unwrap().as_u128())
            .collect()
    }

    #[test]
    fn spa_navigation_batches_page_views_and_flushes_on_the_timer() {
        let mut t = tracker(true, None);
        t.start();
        assert_eq!(*t.host().flush_timers.borrow(), [FLUSH_AFTER_MS]);
        go(t.host(), "/", "?tab=2"); // replaceState, same page
        t.navigated();
        go(t.host(), "/pricing", "?utm_source=news"); // pushState
        t.navigated();
        t.custom(
            "signup",
            crate::props::build([(
                "plan".to_owned(),
                crate::props::PropValue::Str("pro".into()),
            )]),
        );
        assert!(
            t.host().beacons.borrow().is_empty(),
            "batched, not sent yet"
        );

        t.flush_timer_fired();
        let fetches = t.host().fetches.borrow();
        assert_eq!(fetches.len(), 1, "in view: fetch, so the answer is known");
        let sent = events(&fetches[0]);
        let summary: Vec<(&str, &str)> = sent
            .iter()
            .map(|e| (e.event_type.as_str(), e.path.as_str()))
            .collect();
        assert_eq!(
            summary,
            [
                ("page_view", "/"),
                ("page_view", "/pricing?utm_source=news"),
                ("signup", "/pricing?utm_source=news"),
            ]
        );
        assert_eq!(sent[0].site_id, SiteId::parse("site123").unwrap());
        assert_eq!(sent[0].screen_width, Some(390));
        assert!(sent[0].user_id.is_none());
        assert!(t.host().beacons.borrow().is_empty());
    }

    #[test]
    fn ten_events_flush_at_once_and_leaving_beacons_the_rest_once() {
        let mut t = tracker(true, None);
        for _ in 0..MAX_QUEUED + 2 {
            t.page_view();
        }
        assert_eq!(t.host().fetches.borrow().len(), 1);
        assert_eq!(eids(&t.host().fetches.borrow()[0]).len(), MAX_QUEUED);
        t.leave(); // pagehide
        t.leave(); // visibilitychange right after: nothing new
        let beacons = t.host().beacons.borrow();
        assert_eq!(beacons.len(), 1);
        assert_eq!(
            eids(&beacons[0]),
            [11, 12],
            "the fetch in flight is not beaconed again"
        );
    }

    #[test]
    fn beaconed_records_stay_in_the_outbox_until_a_fetch_confirms_them() {
        let mut first = tracker(true, None);
        first.start();
        first.leave(); // the endpoint may be down: sendBeacon cannot tell
        assert_eq!(eids(&first.host().beacons.borrow()[0]), [1]);
        let left = first.host().storage.borrow().clone();
        assert_eq!(outbox::decode(left.as_deref().unwrap()).len(), 1);

        let mut next = tracker(true, left.as_deref());
        next.start();
        assert_eq!(
            eids(&next.host().fetches.borrow()[0]),
            [1],
            "resent, same eid"
        );
        next.fetch_done(Outcome::Delivered);
        assert_eq!(
            *next.host().storage.borrow(),
            None,
            "confirmed: outbox empty"
        );
    }

    #[test]
    fn in_view_flushes_fetch_one_at_a_time_and_keep_failures_with_their_eids() {
        let mut t = tracker(false, None);
        t.start();
        t.flush();
        // persisted before the fetch, so a page that dies mid-request loses nothing
        let stored = t.host().storage.borrow().clone().unwrap();
        assert_eq!(outbox::decode(&stored).len(), 1);
        assert_eq!(eids(&t.host().fetches.borrow()[0]), [1]);

        t.page_view();
        t.flush(); // one fetch at a time: this one waits in the outbox
        assert_eq!(t.host().fetches.borrow().len(), 1);

        t.fetch_done(Outcome::Retry { after_ms: None }); // 503
        assert_eq!(*t.host().retry_timers.borrow(), [2_000]);
        t.retry_timer_fired();
        assert_eq!(eids(&t.host().fetches.borrow()[1]), [1, 2], "same eids");
        t.fetch_done(Outcome::Retry { after_ms: None });
        t.retry_timer_fired();
        t.fetch_done(Outcome::Retry { after_ms: None });
        assert_eq!(*t.host().retry_timers.borrow(), [2_000, 4_000, 8_000]);

        t.retry_timer_fired();
        t.fetch_done(Outcome::Delivered);
        assert_eq!(*t.host().storage.borrow(), None, "outbox emptied");
        assert_eq!(t.host().fetches.borrow().len(), 4, "no storm");
    }

    #[test]
    fn the_next_page_load_retries_the_outbox() {
        let mut first = tracker(false, None);
        first.start();
        first.flush();
        first.fetch_done(Outcome::Retry { after_ms: None }); // the page is closed before the retry
        let left = first.host().storage.borrow().clone();

        let mut next = tracker(true, left.as_deref());
        next.start();
        assert_eq!(
            eids(&next.host().fetches.borrow()[0]),
            [1],
            "same eid as before"
        );
        next.fetch_done(Outcome::Delivered);
        assert_eq!(*next.host().storage.borrow(), None);
    }

    #[test]
    fn refused_batches_are_dropped_and_old_ones_expire() {
        let mut t = tracker(false, None);
        t.page_view();
        t.flush();
        t.fetch_done(Outcome::Refused); // 400: retrying cannot help
        assert_eq!(*t.host().storage.borrow(), None);
        assert!(t.host().retry_timers.borrow().is_empty());

        let old = outbox::encode(&[Record {
            at_ms: event::whole_ms(T0) - outbox::MAX_AGE_MS - 1,
            json: "{}".into(),
        }]);
        let mut later = tracker(true, Some(&old));
        later.start();
        assert!(later.host().fetches.borrow().is_empty());
    }

    #[test]
    fn a_fetch_that_cannot_start_drops_its_batch_without_looping() {
        let mut t = tracker(false, None);
        t.config.endpoint = "not a url".into(); // the fake's fetch refuses non-https URLs
        t.page_view();
        for _ in 0..MAX_QUEUED {
            t.custom("e", None);
        }
        t.flush();
        assert_eq!(*t.host().storage.borrow(), None);
        assert_eq!(t.host().fetches.borrow().len(), 2, "one try per chunk");
        assert!(t.host().retry_timers.borrow().is_empty());
    }

    #[test]
    fn without_storage_failures_are_retried_in_this_page() {
        let mut t = tracker(false, None);
        t.host().storage_broken.set(true);
        t.page_view();
        t.flush();
        t.fetch_done(Outcome::Retry {
            after_ms: Some(10_000.0),
        });
        assert_eq!(*t.host().retry_timers.borrow(), [10_000]);
        t.retry_timer_fired();
        assert_eq!(eids(&t.host().fetches.borrow()[1]), [1]);
        t.fetch_done(Outcome::Delivered);
        t.retry_timer_fired(); // a stray timer: nothing to send
        assert_eq!(t.host().fetches.borrow().len(), 2);
    }
}
