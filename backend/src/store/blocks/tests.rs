use beacon_event::{Props, Revenue, SiteId};
use time::macros::datetime;

use super::*;
use crate::rollup::tests::event;
use crate::rollup::VisitTag;
use crate::store::documents::RawEventDocument;

const RETENTION: Duration = Duration::days(30);

fn stored(
    n: u128,
    site: &str,
    path: &str,
    at: OffsetDateTime,
    (partition, offset): (i32, i64),
) -> StoredEvent {
    let mut event = event(n, &format!("v{}", n % 3), "page_view", path, at);
    event.site_id = SiteId::parse(site).unwrap();
    let context = event.context.clone();
    StoredEvent {
        event,
        at: Position { partition, offset },
        visit: VisitTag {
            visit_id: format!("visit-{}", n % 2),
            entry: "/".into(),
            context,
        },
    }
}

/// What reading the event's raw document gives: what a block must give back.
fn read_back(s: &StoredEvent) -> RawEvent {
    let doc = s.to_document(RETENTION);
    RawEvent::from(mongodb::bson::from_document::<RawEventDocument>(doc).unwrap())
}

/// The raw-event documents the worker writes before a batch's blocks.
fn documents(events: &[StoredEvent]) -> Vec<EventDocument<'_>> {
    events.iter().map(|s| s.document(RETENTION)).collect()
}

fn body(block: &BlockDocument) -> Body {
    postcard::from_bytes::<Body>(&block.data.bytes).unwrap()
}

fn unpacked(block: &BlockDocument) -> Vec<RawEvent> {
    body(block).unpack()
}

#[test]
fn a_block_gives_back_what_the_raw_documents_give() {
    let at = datetime!(2026-11-02 10:00 UTC);
    let mut events: Vec<StoredEvent> = (0..50)
        .map(|n| {
            stored(
                n,
                "s",
                &format!("/p{}", n % 4),
                at + Duration::seconds(n as i64),
                (0, n as i64),
            )
        })
        .collect();
    let mut props = serde_json::Map::new();
    props.insert("plan".into(), serde_json::json!("pro"));
    props.insert("seats".into(), serde_json::json!(3));
    props.insert("trial".into(), serde_json::json!(true));
    events[7].event.props = Some(Props::try_from(props).unwrap());
    events[9].event.revenue = Some(Revenue::from_micros(12_500_000, "EUR").unwrap());
    let blocks = blocks_of(&events, &documents(&events), RETENTION);
    assert_eq!(blocks.len(), 1);
    assert_eq!(blocks[0].id, "s|2026-11-02|0|0|49");
    assert_eq!(blocks[0].n, 50);
    let expected: Vec<RawEvent> = events.iter().map(read_back).collect();
    assert_eq!(unpacked(&blocks[0]), expected);
    assert_eq!(expected[7].props["seats"], "3");
    assert_eq!(expected[9].revenue.as_ref().unwrap().micros, 12_500_000);
    // Each text and visit once: 4 paths, 3 visitors, 1 type, 3 keys and 3 values, 1 currency.
    let body = body(&blocks[0]);
    assert_eq!(body.texts.len(), 4 + 3 + 1 + 6 + 1);
    assert_eq!(body.visits.len(), 2);
}

#[test]
fn blocks_are_cut_by_site_utc_day_and_partition_and_size() {
    let day1 = datetime!(2026-11-02 23:59 UTC);
    let day2 = datetime!(2026-11-03 00:01 UTC);
    let mut events = Vec::new();
    for (i, (site, at, partition)) in [
        ("a", day1, 0),
        ("a", day2, 0),
        ("b", day1, 0),
        ("a", day1, 1),
    ]
    .into_iter()
    .enumerate()
    {
        events.push(stored(i as u128, site, "/", at, (partition, 10 + i as i64)));
    }
    let many = (0..MAX_EVENTS + 1).map(|n| stored(100 + n as u128, "c", "/", day1, (2, n as i64)));
    events.extend(many);
    let blocks = blocks_of(&events, &documents(&events), RETENTION);
    let ids: Vec<(&str, i64)> = blocks.iter().map(|b| (b.id.as_str(), b.n)).collect();
    assert_eq!(
        ids,
        [
            ("a|2026-11-02|0|10|10", 1),
            ("a|2026-11-02|1|13|13", 1),
            ("a|2026-11-03|0|11|11", 1),
            ("b|2026-11-02|0|12|12", 1),
            ("c|2026-11-02|2|0|4095", 4096),
            ("c|2026-11-02|2|4096|4096", 1),
        ]
    );
    // Kept a retention after the end of its UTC day.
    let end = datetime!(2026-11-03 00:00 UTC) + RETENTION;
    assert_eq!(blocks[0].expire_at, date(end));
    assert_eq!(unpacked(&blocks[2])[0].ts_ms, date(day2).timestamp_millis());
}

#[test]
fn the_days_a_range_touches() {
    let from = datetime!(2026-11-02 00:00 UTC);
    assert_eq!(
        utc_days(from, datetime!(2026-11-03 00:00 UTC)),
        (from.date(), from.date())
    );
    let berlin = datetime!(2026-11-02 00:00 +1);
    assert_eq!(
        utc_days(berlin, datetime!(2026-11-03 00:00 +1)),
        (datetime!(2026-11-01 00:00 UTC).date(), from.date())
    );
}

#[test]
fn overlapping_blocks_read_each_position_once_in_order() {
    let at = datetime!(2026-11-02 10:00 UTC);
    let events: Vec<StoredEvent> = (0..6)
        .map(|n| {
            stored(
                n,
                "s",
                "/",
                at + Duration::seconds(n as i64),
                (n as i32 % 2, n as i64),
            )
        })
        .collect();
    let block = |ns: &[usize]| Arc::new(ns.iter().map(|&n| read_back(&events[n])).collect());
    // Partition 0 holds offsets 0, 2, 4 and partition 1 offsets 1, 3, 5.
    let expected: Vec<RawEvent> = [0, 2, 4, 1, 3, 5].map(|n| read_back(&events[n])).into();
    let apart = vec![block(&[1, 3, 5]), block(&[4]), block(&[0, 2]), block(&[])];
    assert_eq!(RangeEvents::from_blocks(apart, |_| true).to_vec(), expected);
    let replayed = vec![
        block(&[2, 4]),
        block(&[1, 3, 5]),
        block(&[0, 2]),
        block(&[3]),
    ];
    assert_eq!(
        RangeEvents::from_blocks(replayed, |_| true).to_vec(),
        expected
    );
    // Only the events of the range asked for.
    let second = date(at + Duration::SECOND).timestamp_millis();
    let kept = RangeEvents::from_blocks(vec![block(&[0, 2]), block(&[1])], |ms| ms <= second);
    assert_eq!(kept.len(), 2);
    let kept = kept.to_vec();
    assert_eq!(kept, [0, 1].map(|n| read_back(&events[n])));
}
