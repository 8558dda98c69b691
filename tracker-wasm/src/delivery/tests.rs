use super::*;
use std::cell::{Cell, RefCell};
use std::rc::Rc;

/// `localStorage` as a test controls it: shared between "pages", and able to refuse.
#[derive(Clone, Default)]
struct FakeStorage {
    text: Rc<RefCell<Option<String>>>,
    refuse_reads: Rc<Cell<bool>>,
    refuse_writes: Rc<Cell<bool>>,
}

impl Storage for FakeStorage {
    fn read(&self) -> Result<Option<String>, Unavailable> {
        if self.refuse_reads.get() {
            return Err(Unavailable);
        }
        Ok(self.text.borrow().clone())
    }

    fn write(&self, text: &str) -> Result<(), Unavailable> {
        if self.refuse_writes.get() && !text.is_empty() {
            return Err(Unavailable);
        }
        *self.text.borrow_mut() = (!text.is_empty()).then(|| text.into());
        Ok(())
    }
}

const NOW: u64 = 1_795_600_800_000;

fn event(n: u32) -> String {
    format!("{{\"eid\":\"00000000-0000-4000-8000-{n:012}\",\"n\":{n}}}")
}

fn eid(n: u32) -> String {
    format!("00000000-0000-4000-8000-{n:012}")
}

/// The `n` of each event in a request body.
fn ns(body: &str) -> Vec<u64> {
    let events: Vec<serde_json::Value> = serde_json::from_str(body).unwrap();
    events.iter().map(|e| e["n"].as_u64().unwrap()).collect()
}

fn stored(storage: &FakeStorage) -> Vec<(u64, bool)> {
    outbox::parse(&storage.text.borrow().clone().unwrap_or_default())
        .iter()
        .map(|l| {
            (
                serde_json::from_str::<serde_json::Value>(&l.json).unwrap()["n"]
                    .as_u64()
                    .unwrap(),
                l.sent,
            )
        })
        .collect()
}

#[test]
fn batches_of_ten_or_a_timer() {
    let mut d = Delivery::new(FakeStorage::default());
    assert_eq!(d.add(event(0), NOW), Batch::StartTimer);
    for n in 1..9 {
        assert_eq!(d.add(event(n), NOW), Batch::Wait);
    }
    assert_eq!(d.add(event(9), NOW), Batch::Flush);
}

#[test]
fn a_fetch_carries_unsent_events_and_a_2xx_removes_them() {
    let storage = FakeStorage::default();
    let mut d = Delivery::new(storage.clone());
    for n in 0..3 {
        d.add(event(n), NOW);
    }
    d.flush(NOW);
    let body = d.next_post(NOW).unwrap();
    assert_eq!(ns(&body), [0, 1, 2]);
    assert_eq!(
        stored(&storage),
        [(0, true), (1, true), (2, true)],
        "sent until answered"
    );
    assert_eq!(d.next_post(NOW), None, "one fetch at a time");
    d.add(event(3), NOW);
    d.flush(NOW);
    assert_eq!(d.answered(Outcome::Delivered, None, 0.5, NOW), None);
    assert_eq!(stored(&storage), [(3, false)]);
    assert_eq!(ns(&d.next_post(NOW).unwrap()), [3]);
}

#[test]
fn failures_keep_events_and_back_off() {
    let storage = FakeStorage::default();
    let mut d = Delivery::new(storage.clone());
    d.add(event(0), NOW);
    d.flush(NOW);
    d.next_post(NOW).unwrap();
    assert_eq!(d.answered(Outcome::Failed, None, 1.0, NOW), Some(2_000.0));
    assert_eq!(stored(&storage), [(0, false)]);
    assert_eq!(d.next_post(NOW), None, "waiting for the retry timer");
    d.retry_due();
    d.next_post(NOW).unwrap();
    assert_eq!(
        d.answered(Outcome::Failed, Some("60"), 1.0, NOW),
        Some(60_000.0)
    );
    d.retry_due();
    d.next_post(NOW).unwrap();
    assert_eq!(d.answered(Outcome::Refused, None, 1.0, NOW), None);
    assert_eq!(stored(&storage), [], "a final refusal drops the events");
}

#[test]
fn leaving_beacons_once_and_the_next_page_confirms_with_receipts() {
    let storage = FakeStorage::default();
    let mut page = Delivery::new(storage.clone());
    page.add(event(0), NOW);
    page.add(event(1), NOW);
    let mut beacons = Vec::new();
    assert!(!page.leave(NOW, |b| {
        beacons.push(ns(b));
        true
    }));
    // pagehide after visibilitychange: nothing more to send.
    assert!(!page.leave(NOW, |b| {
        beacons.push(ns(b));
        true
    }));
    assert_eq!(beacons, [vec![0, 1]]);
    assert_eq!(stored(&storage), [(0, true), (1, true)]);

    let mut next = Delivery::new(storage.clone());
    assert_eq!(
        next.next_post(NOW),
        None,
        "beaconed events wait for receipts"
    );
    let ask = next.receipts_request(NOW).unwrap();
    assert_eq!(ask, format!("{{\"eids\":[\"{}\",\"{}\"]}}", eid(0), eid(1)));
    assert_eq!(
        next.receipts_request(NOW),
        None,
        "one receipts request at a time"
    );
    next.receipts_answered(Some(&received(&[eid(0)])), NOW);
    assert_eq!(
        stored(&storage),
        [(1, false)],
        "the unconfirmed one is sent again"
    );
    assert_eq!(ns(&next.next_post(NOW).unwrap()), [1]);
}

#[test]
fn a_failed_receipts_request_sends_everything_again() {
    let storage = FakeStorage::default();
    let mut page = Delivery::new(storage.clone());
    page.add(event(0), NOW);
    page.leave(NOW, |_| true);
    let mut next = Delivery::new(storage.clone());
    next.receipts_request(NOW).unwrap();
    next.receipts_answered(None, NOW);
    assert_eq!(ns(&next.next_post(NOW).unwrap()), [0]);
}

#[test]
fn leaving_during_an_outage_replay_loses_nothing() {
    // The case the outbox exists for: three views kept through an outage, a new page replays
    // them and is left before its own view was sent.
    let storage = FakeStorage::default();
    let mut old = Delivery::new(storage.clone());
    for n in 0..3 {
        old.add(event(n), NOW);
    }
    old.flush(NOW);
    old.next_post(NOW).unwrap();
    old.answered(Outcome::Failed, None, 0.0, NOW);
    old.leave(NOW, |_| true); // beaconed into the outage: lost on the wire

    let mut page = Delivery::new(storage.clone());
    page.receipts_request(NOW).unwrap();
    page.receipts_answered(Some(&received(&[])), NOW); // ingestion has none of them
    page.add(event(3), NOW);
    assert_eq!(ns(&page.next_post(NOW).unwrap()), [0, 1, 2]);
    page.answered(Outcome::Delivered, None, 0.0, NOW);
    let mut beacons = Vec::new();
    page.leave(NOW + 2_000, |b| {
        beacons.push(ns(b));
        true
    });
    assert_eq!(
        beacons,
        [vec![3]],
        "the new page's own view leaves with the beacon"
    );
}

#[test]
fn the_fetch_under_way_is_not_beaconed_but_checked_by_the_next_page() {
    let storage = FakeStorage::default();
    let mut page = Delivery::new(storage.clone());
    page.add(event(0), NOW);
    page.flush(NOW);
    page.next_post(NOW).unwrap();
    page.add(event(1), NOW);
    let mut beacons = Vec::new();
    page.leave(NOW, |b| {
        beacons.push(ns(b));
        true
    });
    assert_eq!(beacons, [vec![1]]);
    let mut next = Delivery::new(storage.clone());
    let ask = next.receipts_request(NOW).unwrap();
    assert!(ask.contains(&eid(0)) && ask.contains(&eid(1)), "{ask}");
}

#[test]
fn a_refused_beacon_falls_back_to_fetch() {
    let storage = FakeStorage::default();
    let mut page = Delivery::new(storage.clone());
    page.add(event(0), NOW);
    assert!(page.leave(NOW, |_| false));
    assert_eq!(stored(&storage), [(0, false)]);
    assert_eq!(ns(&page.next_post(NOW).unwrap()), [0]);
}

#[test]
fn events_without_eid_cannot_be_confirmed_and_are_sent_again() {
    let storage = FakeStorage::default();
    let mut page = Delivery::new(storage.clone());
    page.add("{\"n\":7}".into(), NOW);
    page.leave(NOW, |_| true);
    let mut next = Delivery::new(storage.clone());
    assert_eq!(next.receipts_request(NOW), None);
    assert_eq!(ns(&next.next_post(NOW).unwrap()), [7]);
}

#[test]
fn without_storage_events_are_kept_in_memory() {
    let storage = FakeStorage::default();
    storage.refuse_reads.set(true);
    let mut d = Delivery::new(storage.clone());
    d.add(event(0), NOW);
    d.flush(NOW);
    d.next_post(NOW).unwrap();
    d.answered(Outcome::Failed, None, 0.0, NOW);
    d.retry_due();
    assert_eq!(ns(&d.next_post(NOW).unwrap()), [0]);

    let full = FakeStorage::default();
    *full.text.borrow_mut() = Some(outbox::format(&[Line::new(NOW, event(5))]));
    full.refuse_writes.set(true);
    let mut d = Delivery::new(full.clone());
    d.add(event(6), NOW);
    d.flush(NOW);
    assert_eq!(*full.text.borrow(), None, "no stale copy is left behind");
    assert_eq!(ns(&d.next_post(NOW).unwrap()), [5, 6]);
}

#[test]
fn storage_that_stops_working_mid_page_loses_nothing() {
    let storage = FakeStorage::default();
    let mut d = Delivery::new(storage.clone());
    for n in 0..2 {
        d.add(event(n), NOW);
    }
    d.flush(NOW);
    storage.refuse_reads.set(true);
    storage.refuse_writes.set(true);
    d.add(event(2), NOW);
    d.flush(NOW);
    assert_eq!(ns(&d.next_post(NOW).unwrap()), [0, 1, 2]);
}

/// Ingestion's answer to a receipts question (`backend/src/ingest/receipt_lookup.rs`).
fn received(eids: &[String]) -> String {
    let quoted: Vec<String> = eids.iter().map(|e| format!("\"{e}\"")).collect();
    format!("{{\"received\":[{}]}}", quoted.join(","))
}

#[test]
fn receipts_answers_are_read_without_a_json_parser() {
    let answered = |answer: &str| {
        let storage = FakeStorage::default();
        let mut page = Delivery::new(storage.clone());
        for n in 0..3 {
            page.add(event(n), NOW);
        }
        page.leave(NOW, |_| true);
        let mut next = Delivery::new(storage.clone());
        next.receipts_request(NOW).unwrap();
        next.receipts_answered(Some(answer), NOW);
        stored(&storage)
    };
    let unsent = [(0, false), (1, false), (2, false)];
    assert_eq!(answered(&received(&[eid(0), eid(2)])), [(1, false)]);
    assert_eq!(answered(&received(&[])), unsent);
    assert_eq!(answered("{\"error\":\"x\"}"), unsent);
    assert_eq!(
        answered(&format!("{{\"asked\":[\"{}\"],\"received\":[]}}", eid(1))),
        unsent,
        "an eid before the key is not a receipt"
    );
}

#[test]
fn a_page_left_before_its_receipts_check_does_not_beacon_an_earlier_pages_events_again() {
    let storage = FakeStorage::default();
    let mut a = Delivery::new(storage.clone());
    a.add(event(0), NOW);
    a.leave(NOW, |_| true);
    let mut b = Delivery::new(storage.clone());
    b.add(event(1), NOW);
    let mut beacons = Vec::new();
    b.leave(NOW + 500, |body| {
        beacons.push(ns(body));
        true
    });
    assert_eq!(beacons, [vec![1]], "each event leaves once");
    let mut c = Delivery::new(storage.clone());
    let ask = c.receipts_request(NOW + 1_000).unwrap();
    assert!(ask.contains(&eid(0)) && ask.contains(&eid(1)), "{ask}");
    c.receipts_answered(Some(&received(&[eid(1)])), NOW + 1_000);
    assert_eq!(
        ns(&c.next_post(NOW + 1_000).unwrap()),
        [0],
        "the unconfirmed one is resent"
    );
}
