//! The outbox: events not yet confirmed by ingestion, kept in `localStorage` so a reload, a
//! closed tab or an outage does not lose them.
//!
//! It is text, one line per event, `<created ms> <state> <event JSON>`: the JSON exactly as
//! [`crate::tracker::Tracker::track`] wrote it, so a retry sends the same bytes and the same
//! `eid`. The state is `-` (never handed to the network) or `s` (handed to `sendBeacon` or to a
//! `fetch` whose answer this page never saw): the next page asks ingestion which `s` events it
//! already has (receipts) instead of posting them all again.

use std::string::String;
use std::vec::Vec;

use crate::text::{decimal, find, pieces, split_once};

/// Oldest event kept: a day.
pub const MAX_AGE_MS: u64 = 24 * 60 * 60 * 1000;
/// Most events kept.
pub const MAX_EVENTS: usize = 200;
/// Most UTF-8 bytes kept (the text in storage).
pub const MAX_BYTES: usize = 64 * 1024;
/// Most events in one request.
pub const REQUEST_EVENTS: usize = 100;
/// Most body bytes in one request: well under the 64 KiB a page may have in `sendBeacon` and
/// `keepalive` flight at once.
pub const REQUEST_BYTES: usize = 32 * 1024;

/// One kept event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// When the event happened (`Date.now()`), for the age bound.
    pub created_ms: u64,
    /// Handed to the network without a seen answer: maybe delivered.
    pub sent: bool,
    /// The event's JSON.
    pub json: String,
}

impl Line {
    pub fn new(created_ms: u64, json: String) -> Self {
        Self {
            created_ms,
            sent: false,
            json,
        }
    }

    /// Reads one stored line; `None` for anything this tracker did not write. Lines of the
    /// previous format (`<ms> <json>`, no state) read as never sent.
    pub fn parse(text: &str) -> Option<Self> {
        let (ms, rest) = split_once(text, b' ')?;
        let created_ms = decimal(ms)?;
        let (sent, json) = match rest.as_bytes() {
            [state @ (b's' | b'-'), b' ', ..] => (*state == b's', rest.get(2..)?),
            _ => (false, rest),
        };
        let bytes = json.as_bytes();
        (bytes.first() == Some(&b'{') && bytes.last() == Some(&b'}')).then(|| Self {
            created_ms,
            sent,
            json: json.into(),
        })
    }

    fn write(&self, out: &mut String) {
        beacon_event::push_decimal(out, self.created_ms);
        out.push_str(if self.sent { " s " } else { " - " });
        out.push_str(&self.json);
    }

    /// Bytes this line takes in storage, with its newline.
    fn stored_bytes(&self) -> usize {
        self.json.len() + 24
    }

    /// The event's `eid`, as written by `ClientEvent::write_json`; `None` without one.
    pub fn eid(&self) -> Option<&str> {
        let at = find(&self.json, "\"eid\":\"")? + 7;
        self.json.get(at..at + 36)
    }
}

/// Every line of the stored text this tracker can read.
pub fn parse(text: &str) -> Vec<Line> {
    let mut lines = Vec::new();
    for line in pieces(text, b'\n').filter_map(Line::parse) {
        lines.push(line);
    }
    lines
}

/// The stored text of `lines`.
pub fn format(lines: &[Line]) -> String {
    let mut out = String::new();
    for (i, line) in lines.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        line.write(&mut out);
    }
    out
}

/// Applies the bounds: nothing older than a day (or from a clock far ahead), then the newest
/// [`MAX_EVENTS`] within [`MAX_BYTES`]. Order is kept (oldest first).
pub fn bound(mut lines: Vec<Line>, now_ms: u64) -> Vec<Line> {
    let fresh = |l: &Line| now_ms.abs_diff(l.created_ms) <= MAX_AGE_MS;
    // The oldest line kept, found from the newest; then one pass removes the rest.
    let (mut first, mut events, mut bytes) = (lines.len(), 0, 0);
    for (i, line) in lines.iter().enumerate().rev() {
        if !fresh(line) {
            continue;
        }
        events += 1;
        bytes += line.stored_bytes();
        if events > MAX_EVENTS || bytes > MAX_BYTES {
            break;
        }
        first = i;
    }
    let mut i = 0;
    keep(&mut lines, &mut |l| {
        i += 1;
        i > first && fresh(l)
    });
    lines
}

/// `lines.retain(f)` through one instance for every caller.
pub fn keep(lines: &mut Vec<Line>, f: &mut dyn FnMut(&Line) -> bool) {
    lines.retain(|l| f(l));
}

/// The body of one request for the oldest lines never sent, a JSON array of their events: at
/// most [`REQUEST_EVENTS`] of them in at most [`REQUEST_BYTES`] (always at least one, which
/// fits: ingestion refuses events over 8 KiB anyway). `None` when every line was sent.
pub fn first_request(lines: &[Line]) -> Option<String> {
    let mut body = String::from("[");
    let mut count = 0;
    for line in lines.iter().filter(|l| !l.sent) {
        // The body with this event, its comma and the closing bracket.
        let full = body.len() + line.json.len() + 2;
        if count > 0 && (count == REQUEST_EVENTS || full > REQUEST_BYTES) {
            break;
        }
        if count > 0 {
            body.push(',');
        }
        body.push_str(&line.json);
        count += 1;
    }
    body.push(']');
    (count > 0).then_some(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(ms: u64, n: usize) -> Line {
        Line::new(
            ms,
            format!("{{\"n\":{n},\"pad\":\"{}\"}}", "x".repeat(n % 7)),
        )
    }

    #[test]
    fn lines_round_trip_and_foreign_text_is_skipped() {
        let mut sent = line(5, 2);
        sent.sent = true;
        let lines = vec![line(1, 1), sent];
        let text = format(&lines);
        assert_eq!(
            text,
            "1 - {\"n\":1,\"pad\":\"x\"}\n5 s {\"n\":2,\"pad\":\"xx\"}"
        );
        assert_eq!(parse(&text), lines);
        let mixed = format!("junk\n7 {{\"old\":1}}\n{text}\n12 - not json\n");
        let read = parse(&mixed);
        assert_eq!(read.len(), 3, "{read:?}");
        assert_eq!((read[0].created_ms, read[0].sent), (7, false));
        assert_eq!(read[0].json, "{\"old\":1}");
    }

    #[test]
    fn eids_are_found_in_the_events_json() {
        let with = Line::new(
            1,
            "{\"site_id\":\"s\",\"eid\":\"0192f0e4-7b1a-4cc3-8d3e-1f2a3b4c5d6e\",\"x\":1}".into(),
        );
        assert_eq!(with.eid(), Some("0192f0e4-7b1a-4cc3-8d3e-1f2a3b4c5d6e"));
        assert_eq!(Line::new(1, "{\"site_id\":\"s\"}".into()).eid(), None);
    }

    #[test]
    fn bounds_keep_the_newest_within_age_count_and_bytes() {
        let now = MAX_AGE_MS * 2;
        let old = line(now - MAX_AGE_MS - 1, 0);
        let ahead = line(now + MAX_AGE_MS + 1, 0);
        let many: Vec<Line> = (0..250).map(|n| line(now - 1000 + n as u64, n)).collect();
        let kept = bound([vec![old, ahead], many.clone()].concat(), now);
        assert_eq!(kept.len(), MAX_EVENTS);
        assert_eq!(kept, many[50..], "the newest, in order");

        let big: Vec<Line> = (0..40)
            .map(|n| Line::new(now, format!("{{\"n\":{n},\"p\":\"{}\"}}", "y".repeat(3000))))
            .collect();
        let kept = bound(big.clone(), now);
        assert!(format(&kept).len() <= MAX_BYTES);
        assert_eq!(kept.last(), big.last());
        assert!(kept.len() >= 20, "{}", kept.len());
    }

    /// The events of a request body.
    fn events(body: &str) -> Vec<serde_json::Value> {
        serde_json::from_str(body).unwrap()
    }

    #[test]
    fn requests_hold_at_most_a_hundred_events_and_32_kib() {
        let small: Vec<Line> = (0..150).map(|n| line(1, n)).collect();
        assert_eq!(
            events(&first_request(&small).unwrap()).len(),
            REQUEST_EVENTS
        );
        let big: Vec<Line> = (0..20)
            .map(|n| Line::new(1, format!("{{\"n\":{n},\"p\":\"{}\"}}", "z".repeat(5000))))
            .collect();
        let body = first_request(&big).unwrap();
        assert!(body.len() <= REQUEST_BYTES);
        assert_eq!(events(&body).len(), 6);
        let huge = [Line::new(
            1,
            format!("{{\"p\":\"{}\"}}", "z".repeat(40_000)),
        )];
        assert_eq!(
            events(&first_request(&huge).unwrap()).len(),
            1,
            "one line always goes"
        );
    }

    #[test]
    fn the_body_is_a_json_array_of_the_events_never_sent() {
        let mut lines = vec![line(1, 1), line(2, 2), line(3, 3)];
        lines[1].sent = true;
        assert_eq!(
            events(&first_request(&lines).unwrap()),
            [
                serde_json::json!({"n":1,"pad":"x"}),
                serde_json::json!({"n":3,"pad":"xxx"})
            ]
        );
        lines.iter_mut().for_each(|l| l.sent = true);
        assert_eq!(first_request(&lines), None);
    }
}
