//! What a tracker or SDK sends to `POST /event`.
//!
//! Parsing is done field by field from a JSON value rather than with `#[derive(Deserialize)]` so
//! that every failure names the field it concerns (`site_id must be 1-128 characters long`), wrong
//! types included, and unknown fields are ignored, as the public contract promises.
//!
//! Without `std` only the struct and [`ClientEvent::write_json`] are here (what the tracker
//! needs); parsing, [`TimeWindow`] and serde come with `std`.

use alloc::string::String;

#[cfg(feature = "std")]
use serde::Serialize;
#[cfg(feature = "std")]
use serde_json::{Map, Value};
use time::OffsetDateTime;
#[cfg(feature = "std")]
use time::{format_description::well_known::Rfc3339, Duration};
use uuid::Uuid;

use crate::fields::{names, EventType, PagePath, Props, Referrer, SiteId, UserId};
use crate::json;
#[cfg(feature = "std")]
use crate::EventError;

/// One event as a client sends it, after validation.
///
/// The tracker builds and serializes this same struct, so what it sends is by construction what
/// ingestion accepts.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "std", derive(Serialize))]
pub struct ClientEvent {
    pub site_id: SiteId,
    pub event_type: EventType,
    pub path: PagePath,
    #[cfg_attr(feature = "std", serde(skip_serializing_if = "Option::is_none"))]
    pub user_id: Option<UserId>,
    #[cfg_attr(
        feature = "std",
        serde(
            skip_serializing_if = "Option::is_none",
            with = "time::serde::rfc3339::option"
        )
    )]
    pub timestamp: Option<OffsetDateTime>,
    /// Client-chosen id; a retry carries the same one so the event is stored once.
    #[cfg_attr(feature = "std", serde(skip_serializing_if = "Option::is_none"))]
    pub eid: Option<Uuid>,
    #[cfg_attr(feature = "std", serde(skip_serializing_if = "Option::is_none"))]
    pub referrer: Option<Referrer>,
    #[cfg_attr(feature = "std", serde(skip_serializing_if = "Option::is_none"))]
    pub screen_width: Option<u32>,
    #[cfg_attr(feature = "std", serde(skip_serializing_if = "Option::is_none"))]
    pub props: Option<Props>,
    /// What the event was worth (`beacon('event', name, props, {revenue})` in the browser,
    /// server-side senders).
    #[cfg_attr(feature = "std", serde(skip_serializing_if = "Option::is_none"))]
    pub revenue: Option<crate::Revenue>,
}

/// The accepted range of event timestamps, relative to the time the event was received.
#[cfg(feature = "std")]
#[derive(Debug, Clone, Copy)]
pub struct TimeWindow {
    pub now: OffsetDateTime,
    /// How far ahead of `now` a client clock may be.
    pub max_future: Duration,
    /// How old a (e.g. retried) event may be.
    pub max_age: Duration,
}

#[cfg(feature = "std")]
impl TimeWindow {
    /// The public contract: 5 minutes into the future, 30 days into the past.
    pub fn standard(now: OffsetDateTime) -> Self {
        Self {
            now,
            max_future: Duration::minutes(5),
            max_age: Duration::days(30),
        }
    }
}

impl ClientEvent {
    /// An event with only its three required fields; the rest are set with struct update
    /// syntax (`ClientEvent { eid, ..ClientEvent::new(..) }`), which also covers the fields
    /// only the services have.
    pub fn new(site_id: SiteId, event_type: EventType, path: PagePath) -> Self {
        Self {
            site_id,
            event_type,
            path,
            user_id: None,
            timestamp: None,
            eid: None,
            referrer: None,
            screen_width: None,
            props: None,
            revenue: None,
        }
    }
}

#[cfg(feature = "std")]
const MAX_SCREEN_WIDTH: u64 = crate::limits::MAX_SCREEN_WIDTH as u64;

#[cfg(feature = "std")]
impl ClientEvent {
    /// Validates one JSON value as an event. Unknown fields are ignored; optional fields that are
    /// `null` or `""` count as absent.
    pub fn from_json(value: &Value, window: &TimeWindow) -> Result<Self, EventError> {
        let obj = value
            .as_object()
            .ok_or_else(|| EventError::whole("an event must be a JSON object"))?;
        Ok(Self {
            site_id: SiteId::parse(required_str(obj, names::SITE_ID)?)?,
            event_type: EventType::parse(required_str(obj, names::EVENT_TYPE)?)?,
            path: PagePath::parse(required_str(obj, names::PATH)?)?,
            user_id: optional_str(obj, names::USER_ID)?
                .map(UserId::parse)
                .transpose()?,
            timestamp: optional_str(obj, names::TIMESTAMP)?
                .map(|t| parse_timestamp(t, window))
                .transpose()?,
            eid: optional_str(obj, names::EID)?
                .map(|e| {
                    Uuid::parse_str(e).map_err(|_| EventError::rule(names::EID, "must be a UUID"))
                })
                .transpose()?,
            referrer: optional_str(obj, names::REFERRER)?
                .map(Referrer::parse)
                .transpose()?,
            screen_width: parse_screen_width(obj.get(names::SCREEN_WIDTH))?,
            props: parse_props(obj.get(names::PROPS))?,
            revenue: match obj.get(names::REVENUE) {
                None | Some(Value::Null) => None,
                Some(value) => Some(crate::Revenue::parse(value)?),
            },
        })
    }
}

impl ClientEvent {
    /// Appends the event as compact JSON: exactly what `serde_json::to_string(self)` writes
    /// (same fields, order, escaping and RFC 3339 form), except that property numbers with a
    /// fraction are written by `float` (the browser tracker passes JavaScript's `String(n)`).
    /// Needs no serde machinery, which keeps the wasm tracker small. False (with `out` partly
    /// written) when serde_json would fail too: a timestamp outside years 0-9999.
    pub fn write_json(&self, out: &mut String, float: fn(f64) -> String) -> bool {
        let field = |out: &mut String, name: &str| {
            out.push_str(",\"");
            out.push_str(name);
            out.push_str("\":");
        };
        out.push_str("{\"");
        out.push_str(names::SITE_ID);
        out.push_str("\":");
        json::string(out, self.site_id.as_str());
        field(out, names::EVENT_TYPE);
        json::string(out, self.event_type.as_str());
        field(out, names::PATH);
        json::string(out, self.path.as_str());
        if let Some(user_id) = &self.user_id {
            field(out, names::USER_ID);
            json::string(out, user_id.as_str());
        }
        if let Some(timestamp) = self.timestamp {
            field(out, names::TIMESTAMP);
            if !json::rfc3339(out, timestamp) {
                return false;
            }
        }
        if let Some(eid) = &self.eid {
            field(out, names::EID);
            json::uuid(out, eid);
        }
        if let Some(referrer) = &self.referrer {
            field(out, names::REFERRER);
            json::string(out, referrer.as_str());
        }
        if let Some(width) = self.screen_width {
            field(out, names::SCREEN_WIDTH);
            json::uint(out, width.into());
        }
        if let Some(props) = &self.props {
            field(out, names::PROPS);
            if !write_props(out, props, float) {
                return false;
            }
        }
        if let Some(revenue) = &self.revenue {
            field(out, names::REVENUE);
            out.push_str("{\"amount\":");
            json::string(out, &revenue.amount_text());
            // Three upper-case ASCII letters (`Revenue` checks them): nothing to escape, and no
            // UTF-8 validation linked into the wasm tracker.
            out.push_str(",\"currency\":\"");
            out.extend(revenue.currency_letters().map(char::from));
            out.push_str("\"}");
        }
        out.push('}');
        true
    }
}

/// `props` as a JSON object; false when a value cannot be written (see `write_json`).
fn write_props(out: &mut String, props: &Props, float: fn(f64) -> String) -> bool {
    out.push('{');
    #[cfg(feature = "std")]
    for (i, (key, value)) in props.as_map().iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        json::string(out, key);
        out.push(':');
        if !json::value(out, value, float) {
            return false;
        }
    }
    // The same keys in the same (sorted) order as the map above; see `Props`.
    #[cfg(not(feature = "std"))]
    for (i, (key, value)) in props.values().iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        json::string(out, key);
        out.push(':');
        json::prop(out, value, float);
    }
    out.push('}');
    true
}

#[cfg(feature = "std")]
fn required_str<'a>(
    obj: &'a Map<String, Value>,
    name: &'static str,
) -> Result<&'a str, EventError> {
    match obj.get(name) {
        None | Some(Value::Null) => Err(EventError::rule(name, "is required")),
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(EventError::rule(name, "must be a string")),
    }
}

#[cfg(feature = "std")]
fn optional_str<'a>(
    obj: &'a Map<String, Value>,
    name: &'static str,
) -> Result<Option<&'a str>, EventError> {
    match obj.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(EventError::rule(name, "must be a string")),
    }
}

#[cfg(feature = "std")]
fn parse_timestamp(text: &str, window: &TimeWindow) -> Result<OffsetDateTime, EventError> {
    let name = names::TIMESTAMP;
    let ts = OffsetDateTime::parse(text, &Rfc3339).map_err(|_| {
        EventError::rule(
            name,
            "must be an RFC 3339 date-time, e.g. 2026-11-24T10:00:00Z",
        )
    })?;
    if ts > window.now + window.max_future {
        return Err(EventError::rule(
            name,
            "is more than 5 minutes in the future",
        ));
    }
    if ts < window.now - window.max_age {
        return Err(EventError::rule(name, "is older than 30 days"));
    }
    Ok(ts)
}

#[cfg(feature = "std")]
fn parse_screen_width(value: Option<&Value>) -> Result<Option<u32>, EventError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        // `1440.0` is a whole number too: to JSON Schema and to JavaScript, whose numbers
        // serialize either way.
        Some(Value::Number(n)) => match n.as_u64().or_else(|| whole(n.as_f64())) {
            Some(w) if w <= MAX_SCREEN_WIDTH => Ok(Some(w as u32)),
            _ => Err(EventError::rule(
                names::SCREEN_WIDTH,
                "must be a whole number from 0 to 100000",
            )),
        },
        Some(_) => Err(EventError::rule(names::SCREEN_WIDTH, "must be a number")),
    }
}

/// `value` as a whole number from 0 to `u32::MAX`, if it is one.
#[cfg(feature = "std")]
fn whole(value: Option<f64>) -> Option<u64> {
    value
        .filter(|v| v.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(v))
        .map(|v| v as u64)
}

#[cfg(feature = "std")]
fn parse_props(value: Option<&Value>) -> Result<Option<Props>, EventError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(map)) => Props::parse(map.clone()).map(Some),
        Some(_) => Err(EventError::rule(names::PROPS, "must be a JSON object")),
    }
}

/// `write_json` in both builds (`cargo test -p beacon-event --no-default-features` runs it
/// without `std`, where `Props` is not a `serde_json::Map`): the same bytes.
#[cfg(test)]
mod common_tests {
    use super::*;
    use crate::PropValue;
    use alloc::borrow::ToOwned;
    use alloc::vec;

    fn float(n: f64) -> String {
        alloc::format!("{n}")
    }

    #[test]
    fn write_json_fixed_output() {
        let props = Props::from_values(vec![
            ("seats".to_owned(), PropValue::Int(3)),
            ("plan".to_owned(), PropValue::Str("pro \"x\"".to_owned())),
            ("neg".to_owned(), PropValue::Int(-42)),
            ("price".to_owned(), PropValue::Float(9.5)),
            ("b".to_owned(), PropValue::Bool(true)),
            ("Z".to_owned(), PropValue::Bool(false)),
            ("seats".to_owned(), PropValue::Int(4)),
        ])
        .unwrap();
        let event = ClientEvent {
            site_id: SiteId::parse("site123").unwrap(),
            event_type: EventType::parse("signup").unwrap(),
            path: PagePath::parse("/p?q=1").unwrap(),
            user_id: None,
            timestamp: OffsetDateTime::from_unix_timestamp(1_795_600_800)
                .unwrap()
                .replace_millisecond(123)
                .ok(),
            eid: Some(Uuid::from_u128(0x0192f0e4_7b1a_4cc3_8d3e_1f2a3b4c5d6e)),
            referrer: Some(Referrer::parse("https://example.com/").unwrap()),
            screen_width: Some(1440),
            props: Some(props),
            revenue: Some(crate::Revenue::new("19.905", "EUR").unwrap()),
        };
        let mut out = String::new();
        assert!(event.write_json(&mut out, float));
        assert_eq!(
            out,
            concat!(
                r#"{"site_id":"site123","event_type":"signup","path":"/p?q=1","#,
                r#""timestamp":"2026-11-25T10:00:00.123Z","#,
                r#""eid":"0192f0e4-7b1a-4cc3-8d3e-1f2a3b4c5d6e","referrer":"https://example.com/","#,
                r#""screen_width":1440,"props":{"Z":false,"b":true,"neg":-42,"plan":"pro \"x\"","#,
                r#""price":9.5,"seats":4},"revenue":{"amount":"19.905","currency":"EUR"}}"#
            )
        );
    }
}

#[cfg(all(test, feature = "std"))]
mod tests {
    use super::*;
    use serde_json::json;
    use time::macros::datetime;

    fn window() -> TimeWindow {
        TimeWindow::standard(datetime!(2026-11-24 12:00 UTC))
    }

    fn parse(value: Value) -> Result<ClientEvent, EventError> {
        ClientEvent::from_json(&value, &window())
    }

    fn field_of(value: Value) -> Option<&'static str> {
        parse(value).unwrap_err().field
    }

    #[test]
    fn seed_example_is_valid() {
        let e = parse(
            json!({"site_id":"site123","event_type":"page_view","path":"/home","user_id":"user1"}),
        )
        .unwrap();
        assert_eq!(e.site_id.as_str(), "site123");
        assert!(e.event_type.is_page_view());
        assert_eq!(e.path.as_str(), "/home");
        assert_eq!(e.user_id.unwrap().as_str(), "user1");
        assert_eq!(e.timestamp, None);
    }

    #[test]
    fn required_fields_are_named() {
        assert_eq!(
            field_of(json!({"event_type":"x","path":"/"})),
            Some("site_id")
        );
        assert_eq!(
            field_of(json!({"site_id":"s","path":"/"})),
            Some("event_type")
        );
        assert_eq!(
            field_of(json!({"site_id":"s","event_type":"x"})),
            Some("path")
        );
        assert_eq!(
            field_of(json!({"site_id":1,"event_type":"x","path":"/"})),
            Some("site_id")
        );
        assert_eq!(field_of(json!(["not", "an", "object"])), None);
    }

    #[test]
    fn unknown_fields_ignored_and_empty_optionals_absent() {
        let e = parse(
            json!({"site_id":"s","event_type":"x","path":"/","extra":{"deep":[1]},
                             "user_id":"","referrer":null,"timestamp":""}),
        )
        .unwrap();
        assert_eq!((e.user_id, e.referrer, e.timestamp), (None, None, None));
    }

    #[test]
    fn timestamp_window() {
        let base = json!({"site_id":"s","event_type":"x","path":"/"});
        let with = |ts: &str| {
            let mut v = base.clone();
            v["timestamp"] = json!(ts);
            parse(v)
        };
        assert!(with("2026-11-24T12:04:59Z").is_ok());
        assert!(
            with("2026-11-24T13:00:00+02:00").is_ok(),
            "offsets are honoured"
        );
        assert!(with("2026-10-26T12:00:00Z").is_ok());
        for bad in [
            "2026-11-24T12:05:01Z",
            "2026-10-25T11:59:59Z",
            "yesterday",
            "2026-11-24",
        ] {
            assert_eq!(with(bad).unwrap_err().field, Some("timestamp"), "{bad}");
        }
    }

    #[test]
    fn eid_referrer_screen_props() {
        let base = json!({"site_id":"s","event_type":"x","path":"/"});
        let with = |k: &str, v: Value| {
            let mut e = base.clone();
            e[k] = v;
            parse(e)
        };
        assert!(with("eid", json!("0192f0e4-7b1a-7cc3-8d3e-1f2a3b4c5d6e")).is_ok());
        assert_eq!(with("eid", json!("nope")).unwrap_err().field, Some("eid"));
        assert!(with("referrer", json!("https://news.ycombinator.com/")).is_ok());
        assert!(with("referrer", json!("android-app://com.google.android.gm/")).is_ok());
        assert_eq!(
            with("referrer", json!("javascript alert(1)"))
                .unwrap_err()
                .field,
            Some("referrer")
        );
        assert!(with("screen_width", json!(1440)).is_ok());
        assert_eq!(
            with("screen_width", json!(1440.0)).unwrap().screen_width,
            Some(1440)
        );
        for bad in [json!(1440.5), json!(-0.5), json!(100001.0), json!(1e300)] {
            assert_eq!(
                with("screen_width", bad).unwrap_err().field,
                Some("screen_width")
            );
        }
        assert_eq!(
            with("screen_width", json!(-1)).unwrap_err().field,
            Some("screen_width")
        );
        assert_eq!(
            with("screen_width", json!("wide")).unwrap_err().field,
            Some("screen_width")
        );
        assert!(with("props", json!({"plan":"pro"})).is_ok());
        assert_eq!(with("props", json!([1])).unwrap_err().field, Some("props"));
    }

    /// serde_json's own float format, for comparing with the derived `Serialize`.
    fn serde_float(n: f64) -> String {
        serde_json::Number::from_f64(n)
            .map(|n| n.to_string())
            .unwrap_or_default()
    }

    fn hand_written(event: &ClientEvent) -> String {
        let mut out = String::new();
        assert!(event.write_json(&mut out, serde_float));
        out
    }

    #[test]
    fn write_json_is_what_serde_writes() {
        let all = parse(json!({"site_id":"s.1_:-","event_type":"sign \"up\" \\ é 😀",
            "path":"/p?q=1#x","user_id":"ü/\\","timestamp":"2026-11-24T11:00:00Z",
            "eid":"0192f0e4-7b1a-7cc3-8d3e-1f2a3b4c5d6e","referrer":"https://example.com/?a=\"b\"",
            "screen_width":390,"props":{"plan":"pro","seats":3,"neg":-42,"big":18446744073709551615u64,
            "price":9.5,"tiny":1.5e-7,"huge":1e300,"yes":true,"no":false,"esc\"key\\":"\"v\\"}}))
        .unwrap();
        assert_eq!(hand_written(&all), serde_json::to_string(&all).unwrap());
        let bare = parse(json!({"site_id":"s","event_type":"x","path":"/"})).unwrap();
        assert_eq!(hand_written(&bare), serde_json::to_string(&bare).unwrap());
        let all_controls: String = (0u8..0x20).map(char::from).collect();
        let with_props = |props: Value| {
            let mut e = bare.clone();
            e.props = Some(Props::parse(props.as_object().unwrap().clone()).unwrap());
            e
        };
        let empty = with_props(json!({}));
        assert_eq!(hand_written(&empty), serde_json::to_string(&empty).unwrap());
        // The field rules keep control characters out of events; the escaping still matches.
        for text in [
            all_controls.as_str(),
            "quote \" backslash \\ newline \n tab \t bell \u{7} del \u{7f} é 😀",
            "",
        ] {
            let mut out = String::new();
            json::string(&mut out, text);
            assert_eq!(out, serde_json::to_string(text).unwrap(), "{text:?}");
        }
    }

    #[test]
    fn write_json_timestamps_are_what_time_writes() {
        let mut event = parse(json!({"site_id":"s","event_type":"x","path":"/"})).unwrap();
        for text in [
            "2026-11-24T11:00:00Z",
            "2026-11-24T11:00:00.1Z",
            "2026-11-24T11:00:00.123Z",
            "2026-11-24T11:00:00.000000001Z",
            "2026-11-24T11:00:00.120000000Z",
            "2026-11-24T11:00:00.999999999Z",
            "2026-11-24T13:00:00+02:00",
            "2026-11-24T06:30:00-04:30",
            "2026-11-24T11:00:00-00:30",
            "2026-11-24T11:00:00+00:00",
            "0001-01-01T00:00:00Z",
            "9999-12-31T23:59:59.5+23:59",
            "2024-02-29T12:00:00Z",
        ] {
            event.timestamp = Some(OffsetDateTime::parse(text, &Rfc3339).unwrap());
            assert_eq!(
                hand_written(&event),
                serde_json::to_string(&event).unwrap(),
                "{text}"
            );
        }
        event.timestamp = Some(datetime!(-0001-01-01 0:00 UTC));
        assert!(serde_json::to_string(&event).is_err());
        assert!(!event.write_json(&mut String::new(), serde_float));
        event.timestamp = Some(datetime!(2026-11-24 0:00 +01:00:30));
        assert!(serde_json::to_string(&event).is_err());
        assert!(!event.write_json(&mut String::new(), serde_float));
    }

    #[test]
    fn serialized_client_event_parses_back_identically() {
        let original = parse(
            json!({"site_id":"s","event_type":"signup","path":"/p","user_id":"u",
            "timestamp":"2026-11-24T11:00:00Z","eid":"0192f0e4-7b1a-7cc3-8d3e-1f2a3b4c5d6e",
            "referrer":"https://example.com/","screen_width":390,"props":{"plan":"pro"}}),
        )
        .unwrap();
        let wire = serde_json::to_value(&original).unwrap();
        assert_eq!(parse(wire).unwrap(), original);
    }
}
