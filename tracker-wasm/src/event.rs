//! Turns what the browser reports into a `beacon_event::ClientEvent`, the very struct ingestion
//! validates, and serializes it once.
//!
//! Browser values are made to fit the field rules here (an over-long path is cut, an unusable
//! referrer or screen width is left out) so a page view is not lost to an odd URL. Nothing that
//! identifies the visitor is ever set: no `user_id`, no cookie, no stored id; the `eid` is random
//! per event and only serves de-duplication of retries.

use std::string::String;

use beacon_event::{ClientEvent, EventType, PagePath, Props, Referrer, SiteId};
use time::OffsetDateTime;
use uuid::Uuid;

use beacon_event::limits::{MAX_SCREEN_WIDTH, MAX_URL_BYTES};

/// What the page knows at the moment of an event.
#[derive(Debug, Clone, Default)]
pub struct Facts<'a> {
    /// See [`crate::route::Location::page_path`].
    pub path: String,
    /// `document.referrer`, empty when there is none.
    pub referrer: &'a str,
    /// `screen.width` in CSS pixels.
    pub screen_width: Option<i32>,
    /// `Date.now()`: milliseconds since the Unix epoch.
    pub now_ms: f64,
    /// A fresh random id (`crypto.getRandomValues`).
    pub eid: Option<Uuid>,
}

/// Builds the event, or `None` when `event_type` breaks the rules (e.g. an empty custom name).
pub fn client_event(
    site: &SiteId,
    event_type: &str,
    facts: &Facts,
    props: Option<Props>,
) -> Option<ClientEvent> {
    let kind = EventType::parse(event_type).ok()?;
    let path = PagePath::parse(truncate(&facts.path, MAX_URL_BYTES)).ok()?;
    Some(ClientEvent {
        timestamp: timestamp(facts.now_ms),
        eid: facts.eid,
        referrer: Some(facts.referrer)
            .filter(|r| !r.is_empty())
            .and_then(|r| Referrer::parse(r).ok()),
        screen_width: facts
            .screen_width
            .and_then(|w| u32::try_from(w).ok())
            .filter(|w| *w <= MAX_SCREEN_WIDTH),
        props,
        ..ClientEvent::new(site.clone(), kind, path)
    })
}

/// Serializes an event, once: `beacon.js` queues, stores and resends these very bytes, so a
/// retry carries the same `eid`. `float` prints property numbers with a fraction (JavaScript's
/// `String(n)` in the browser); the rest is exactly `serde_json::to_string(event)` (see
/// `ClientEvent::write_json`).
pub fn to_json(event: &ClientEvent, float: fn(f64) -> String) -> Option<String> {
    let mut json = String::new();
    event.write_json(&mut json, float).then_some(json)
}

/// `Date.now()` as an RFC 3339 instant (UTC, millisecond precision).
pub fn timestamp(now_ms: f64) -> Option<OffsetDateTime> {
    let ms = whole_ms(now_ms);
    let seconds = i64::try_from(ms / 1000).ok()?;
    OffsetDateTime::from_unix_timestamp(seconds)
        .ok()?
        .replace_millisecond((ms % 1000) as u16)
        .ok()
}

/// Milliseconds as a whole number; negative or NaN clocks become 0 (`as` saturates).
pub fn whole_ms(ms: f64) -> u64 {
    ms as u64
}

/// The longest prefix of `text` of at most `max` bytes that ends on a character boundary.
pub fn truncate(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.get(..end).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use beacon_event::TimeWindow;
    use serde_json::{json, Map, Value};

    const NOW_MS: f64 = 1_795_600_800_123.0; // 2026-11-25T10:00:00.123Z

    fn facts() -> Facts<'static> {
        Facts {
            path: "/pricing?utm_source=news".into(),
            referrer: "https://news.example.org/item?id=1",
            screen_width: Some(1440),
            now_ms: NOW_MS,
            eid: Some(Uuid::from_u128(0x0192f0e4_7b1a_4cc3_8d3e_1f2a3b4c5d6e)),
        }
    }

    fn float(n: f64) -> String {
        n.to_string()
    }

    fn site() -> SiteId {
        SiteId::parse("site123").unwrap()
    }

    /// What ingestion does with the bytes the tracker sends.
    fn ingest(json: &str) -> ClientEvent {
        let value: Value = serde_json::from_str(json).unwrap();
        let now = timestamp(NOW_MS + 1_000.0).unwrap();
        ClientEvent::from_json(&value, &TimeWindow::standard(now)).unwrap()
    }

    #[test]
    fn page_view_round_trips_through_ingestion() {
        let event = client_event(&site(), "page_view", &facts(), None).unwrap();
        let json = to_json(&event, float).unwrap();
        assert_eq!(ingest(&json), event);
        assert_eq!(json, serde_json::to_string(&event).unwrap());

        let wire: Value = serde_json::from_str(&json).unwrap();
        assert_eq!(
            wire,
            json!({"site_id":"site123","event_type":"page_view","path":"/pricing?utm_source=news",
                   "timestamp":"2026-11-25T10:00:00.123Z","eid":"0192f0e4-7b1a-4cc3-8d3e-1f2a3b4c5d6e",
                   "referrer":"https://news.example.org/item?id=1","screen_width":1440})
        );
    }

    #[test]
    fn custom_event_with_props_round_trips() {
        let props: Map<String, Value> =
            serde_json::from_value(json!({"plan":"pro","seats":3,"trial":false,"price":9.5}))
                .unwrap();
        let props = Props::parse(props).unwrap();
        let event = client_event(&site(), "signup", &facts(), Some(props)).unwrap();
        let json = to_json(&event, float).unwrap();
        assert_eq!(ingest(&json), event);
        assert_eq!(json, serde_json::to_string(&event).unwrap());
    }

    #[test]
    fn nothing_identifying_and_empty_fields_left_out() {
        let bare = Facts {
            path: "/".into(),
            now_ms: NOW_MS,
            ..Facts::default()
        };
        let event = client_event(&site(), "page_view", &bare, None).unwrap();
        let wire: Value = serde_json::from_str(&to_json(&event, float).unwrap()).unwrap();
        // Sorted: serde_json's key order depends on its features across the workspace.
        let mut keys: Vec<&str> = wire
            .as_object()
            .unwrap()
            .keys()
            .map(|k| k.as_str())
            .collect();
        keys.sort_unstable();
        assert_eq!(keys, ["event_type", "path", "site_id", "timestamp"]);
    }

    #[test]
    fn odd_browser_values_are_made_to_fit() {
        let long = Facts {
            path: format!("/{}", "é".repeat(2000)),
            referrer: "not a url",
            screen_width: Some(-5),
            ..facts()
        };
        let event = client_event(&site(), "page_view", &long, None).unwrap();
        assert!(event.path.as_str().len() <= 2048);
        assert_eq!((event.referrer, event.screen_width), (None, None));
        assert_eq!(
            client_event(
                &site(),
                "page_view",
                &Facts {
                    screen_width: Some(200_000),
                    ..facts()
                },
                None
            )
            .unwrap()
            .screen_width,
            None
        );
        // a custom event name that breaks the rules drops the event
        assert!(client_event(&site(), "", &facts(), None).is_none());
        assert!(client_event(&site(), &"x".repeat(65), &facts(), None).is_none());
    }

    #[test]
    fn clock_values() {
        assert_eq!(whole_ms(-3.0), 0);
        assert_eq!(whole_ms(f64::NAN), 0);
        assert_eq!(
            timestamp(0.0).unwrap(),
            OffsetDateTime::UNIX_EPOCH,
            "a broken clock still gives a valid instant"
        );
    }

    #[test]
    fn truncate_respects_char_boundaries() {
        assert_eq!(truncate("héllo", 2), "h");
        assert_eq!(truncate("héllo", 3), "hé");
        assert_eq!(truncate("abc", 10), "abc");
    }

    #[test]
    fn escaping_and_numbers_match_serde_json() {
        // Escaping and number forms through the tracker's own path: props as the page gives them, the event, its record.
        let props = [
            json!({"a":1,"b":-42,"c":18446744073709551615u64,"d":true,"e":false,"f":"x","g":9.5,
                   "h":-0.25,"i":0}),
            json!({"esc\"aped\\key":"quote \" backslash \\ é 😀 \u{7f}","":"empty key"}),
            json!({"k":""}),
        ];
        let facts = Facts {
            path: "/a\"b\\c?d=é".into(),
            referrer: "https://example.com/?q=\"x\"",
            screen_width: Some(0),
            now_ms: 1_795_600_800_001.0,
            eid: Some(uuid::Uuid::from_u128(u128::MAX)),
        };
        let site = SiteId::parse("s").unwrap();
        for value in props {
            let map: Map<String, Value> = serde_json::from_value(value.clone()).unwrap();
            let map: Map<String, Value> = map.into_iter().filter(|(k, _)| !k.is_empty()).collect();
            let event = client_event(&site, "e\"\\", &facts, Props::parse(map).ok()).unwrap();
            let json = to_json(&event, float).unwrap();
            assert_eq!(json, serde_json::to_string(&event).unwrap(), "{value}");
        }
    }
}
