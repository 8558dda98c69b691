//! The outbox: events that could not be delivered, kept in `localStorage` so they are retried
//! later in this page or on the next page load, with the same `eid`s (ingestion stores each
//! `eid` once, so a retry never counts twice).
//!
//! It is bounded so a long outage cannot fill the visitor's storage: at most 200 events and
//! 64 KiB, nothing older than 24 hours, the newest kept. The format is one event per line,
//! `<created ms> <event JSON>`, which needs no JSON parser to read back (serialized JSON never
//! contains a raw newline).

use alloc::borrow::ToOwned;
use alloc::string::String;
use alloc::vec::Vec;

use crate::batch::Record;

/// The `localStorage` key.
pub const KEY: &str = "beacon:outbox";
/// Most events kept.
pub const MAX_EVENTS: usize = 200;
/// Most bytes kept (the stored text, roughly).
pub const MAX_BYTES: usize = 64 * 1024;
/// Events older than this are dropped rather than retried.
pub const MAX_AGE_MS: u64 = 24 * 60 * 60 * 1000;

/// Reads the stored text; malformed lines are skipped. (By hand rather than with `lines`,
/// `split_once` and `parse`: those bring `str` pattern searching and a general integer parser
/// into the wasm.)
pub fn decode(text: &str) -> Vec<Record> {
    let mut records = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let end = rest.bytes().position(|b| b == b'\n').unwrap_or(rest.len());
        let mut line = rest.get(..end).unwrap_or_default();
        rest = rest.get(end + 1..).unwrap_or_default();
        if line.as_bytes().last() == Some(&b'\r') {
            line = line.get(..line.len() - 1).unwrap_or_default();
        }
        if let Some(record) = decode_line(line) {
            records.push(record);
        }
    }
    records
}

/// `<created ms> <event JSON>`.
fn decode_line(line: &str) -> Option<Record> {
    let space = line.bytes().position(|b| b == b' ')?;
    let json = line.get(space + 1..)?;
    let digits = line.get(..space)?;
    // As `str::parse::<u64>`: an optional `+`, then at least one digit, no overflow.
    let digits = digits.strip_prefix('+').unwrap_or(digits);
    if digits.is_empty() {
        return None;
    }
    let mut at_ms: u64 = 0;
    for b in digits.bytes() {
        let digit = b.wrapping_sub(b'0');
        if digit > 9 {
            return None;
        }
        at_ms = at_ms.checked_mul(10)?.checked_add(digit.into())?;
    }
    let bytes = json.as_bytes();
    (bytes.first() == Some(&b'{') && bytes.last() == Some(&b'}')).then(|| Record {
        at_ms,
        json: json.to_owned(),
    })
}

/// Writes records in the stored format.
pub fn encode(records: &[Record]) -> String {
    let mut out = String::new();
    for record in records {
        crate::json::push_u64(&mut out, record.at_ms);
        out.push(' ');
        out.push_str(&record.json);
        out.push('\n');
    }
    out
}

/// Applies the bounds: drops events older than 24 h (or dated more than 24 h ahead: a broken
/// clock), then keeps the newest that fit in the count and byte limits, in their original order.
pub fn bound(records: Vec<Record>, now_ms: u64) -> Vec<Record> {
    let fresh: Vec<Record> = records
        .into_iter()
        .filter(|r| now_ms.abs_diff(r.at_ms) <= MAX_AGE_MS)
        .collect();
    let mut kept = 0;
    let mut bytes = 0;
    for record in fresh.iter().rev() {
        let size = record.json.len() + 16;
        if kept == MAX_EVENTS || bytes + size > MAX_BYTES {
            break;
        }
        bytes += size;
        kept += 1;
    }
    let skip = fresh.len() - kept;
    fresh.into_iter().skip(skip).collect()
}

/// The outbox with `new` records added (skipping any already there), bounded.
pub fn add(stored: Vec<Record>, new: Vec<Record>, now_ms: u64) -> Vec<Record> {
    let mut all = stored;
    for record in new {
        if !all.contains(&record) {
            all.push(record);
        }
    }
    bound(all, now_ms)
}

/// The outbox without the records that were delivered (or refused for good).
pub fn remove(stored: Vec<Record>, done: &[Record]) -> Vec<Record> {
    stored.into_iter().filter(|r| !done.contains(r)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_795_600_800_000;
    const HOUR: u64 = 60 * 60 * 1000;

    fn rec(at_ms: u64, n: usize) -> Record {
        Record {
            at_ms,
            json: format!("{{\"eid\":\"{n}\"}}"),
        }
    }

    #[test]
    fn encode_decode_round_trip_and_garbage_is_skipped() {
        let records = vec![rec(NOW, 1), rec(NOW + 5, 2)];
        let text = encode(&records);
        assert_eq!(decode(&text), records);
        let messy = format!(
            "garbage\n12 not-json\nx {{}}\n {{}}\n-1 {{}}\n99999999999999999999 {{}}\n{text}\n"
        );
        assert_eq!(decode(&messy), records);
        // What `str::lines` + `parse::<u64>` accepted before: CRLF and a leading `+`.
        assert_eq!(
            decode("+7 {}\r\n8 {\"a\":1}"),
            [
                Record {
                    at_ms: 7,
                    json: "{}".into()
                },
                Record {
                    at_ms: 8,
                    json: "{\"a\":1}".into()
                },
            ]
        );
        assert!(decode("").is_empty());
    }

    #[test]
    fn json_with_escaped_newlines_stays_on_one_line() {
        let json = serde_json::to_string(&serde_json::json!({"p":"a\nb"})).unwrap();
        let r = Record { at_ms: 1, json };
        assert_eq!(decode(&encode(std::slice::from_ref(&r))), [r]);
    }

    #[test]
    fn old_events_are_dropped() {
        let records = vec![
            rec(NOW - 25 * HOUR, 1),
            rec(NOW - 23 * HOUR, 2),
            rec(NOW, 3),
            rec(NOW + 48 * HOUR, 4),
        ];
        let kept: Vec<u64> = bound(records, NOW).iter().map(|r| r.at_ms).collect();
        assert_eq!(kept, [NOW - 23 * HOUR, NOW]);
    }

    #[test]
    fn at_most_200_events_newest_kept_in_order() {
        let records: Vec<Record> = (0..250).map(|i| rec(NOW - 250 + i as u64, i)).collect();
        let kept = bound(records, NOW);
        assert_eq!(kept.len(), MAX_EVENTS);
        assert_eq!(kept[0], rec(NOW - 200, 50));
        assert_eq!(kept[199], rec(NOW - 1, 249));
    }

    #[test]
    fn at_most_64_kib() {
        let big = |i: usize| Record {
            at_ms: NOW,
            json: format!("{{\"eid\":\"{i}\",\"p\":\"{}\"}}", "x".repeat(10_000)),
        };
        let kept = bound((0..10).map(big).collect(), NOW);
        assert_eq!(kept.len(), 6);
        assert!(encode(&kept).len() <= MAX_BYTES);
        assert_eq!(kept[5], big(9), "the newest survive");
    }

    #[test]
    fn add_skips_duplicates_and_remove_takes_out_delivered() {
        let stored = vec![rec(NOW, 1), rec(NOW, 2)];
        let added = add(stored, vec![rec(NOW, 2), rec(NOW, 3)], NOW);
        assert_eq!(added, [rec(NOW, 1), rec(NOW, 2), rec(NOW, 3)]);
        let left = remove(added, &[rec(NOW, 1), rec(NOW, 3)]);
        assert_eq!(left, [rec(NOW, 2)]);
    }
}
