//! Validated field types.
//!
//! Every value that crosses a trust boundary is parsed into one of these types at the edge, so
//! nothing downstream (the Kafka record, the Mongo document, a report query) ever handles a raw,
//! unchecked string. Each type deserializes through its own `parse`, so the worker re-checks a
//! Kafka record with exactly the rules ingestion used.
//!
//! Without the `std` feature (the browser tracker) the rules and the string types are all there
//! is: no serde, no [`Day`], and [`Props`] is a sorted list of [`PropValue`]s instead of a
//! `serde_json::Map` (see there).

use alloc::borrow::ToOwned;
use alloc::string::String;
#[cfg(not(feature = "std"))]
use alloc::vec::Vec;

#[cfg(feature = "std")]
use serde::{Deserialize, Serialize};
#[cfg(feature = "std")]
use serde_json::{Map, Value};
#[cfg(feature = "std")]
use time::{macros::format_description, Date, OffsetDateTime, Time};

use crate::{limits, EventError};

/// Field names as they appear on the wire.
pub mod names {
    pub const SITE_ID: &str = "site_id";
    pub const EVENT_TYPE: &str = "event_type";
    pub const PATH: &str = "path";
    pub const USER_ID: &str = "user_id";
    pub const TIMESTAMP: &str = "timestamp";
    pub const EID: &str = "eid";
    pub const REFERRER: &str = "referrer";
    pub const SCREEN_WIDTH: &str = "screen_width";
    pub const PROPS: &str = "props";
    pub const REVENUE: &str = "revenue";
    pub const DATE: &str = "date";
    pub const VISITOR_ID: &str = "visitor_id";

    /// The fields a client event may carry (`ClientEvent::from_json` reads these, and only
    /// these), the first three required.
    pub const CLIENT: [&str; 10] = [
        SITE_ID,
        EVENT_TYPE,
        PATH,
        USER_ID,
        TIMESTAMP,
        EID,
        REFERRER,
        SCREEN_WIDTH,
        PROPS,
        REVENUE,
    ];
}

/// Defines a string newtype whose only constructor is a validating `parse`.
macro_rules! validated_string {
    ($(#[$doc:meta])* $name:ident, $field:expr, $check:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[cfg_attr(feature = "std", derive(Serialize, Deserialize))]
        #[cfg_attr(feature = "std", serde(try_from = "String", into = "String"))]
        pub struct $name(String);

        impl $name {
            /// Checks `value` against this field's rule.
            pub fn parse(value: &str) -> Result<Self, EventError> {
                let check: fn(&str) -> Result<(), &'static str> = $check;
                check(value).map_err(|rule| EventError::rule($field, rule))?;
                Ok(Self(value.to_owned()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = EventError;
            fn try_from(value: String) -> Result<Self, EventError> {
                Self::parse(&value)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }

        impl core::fmt::Display for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

validated_string!(
    /// Which site an event belongs to: 1–128 characters of `[A-Za-z0-9._:-]`.
    SiteId,
    names::SITE_ID,
    |v| {
        if v.is_empty() || v.len() > limits::MAX_SITE_ID_CHARS {
            return Err("must be 1-128 characters long");
        }
        if !v
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
        {
            return Err("may only contain letters, digits and . _ : -");
        }
        Ok(())
    }
);

validated_string!(
    /// What happened: `page_view` or a custom name, 1–64 characters, no control characters.
    EventType,
    names::EVENT_TYPE,
    |v| {
        let chars = char_count(v);
        if chars == 0 || chars > limits::MAX_NAME_CHARS {
            return Err("must be 1-64 characters long");
        }
        no_control_chars(v)
    }
);

validated_string!(
    /// The page, as a URL path: starts with `/`, at most 2048 bytes, no control characters.
    PagePath,
    names::PATH,
    |v| {
        // A byte test: `str::starts_with(char)` would be one more function in the wasm tracker.
        if v.as_bytes().first() != Some(&b'/') {
            return Err("must start with `/`");
        }
        if v.len() > limits::MAX_URL_BYTES {
            return Err("must be at most 2048 bytes");
        }
        no_control_chars(v)
    }
);

validated_string!(
    /// A site's own identifier for a signed-in person: 1–256 characters, no control characters.
    UserId,
    names::USER_ID,
    |v| {
        let chars = char_count(v);
        if chars == 0 || chars > limits::MAX_USER_ID_CHARS {
            return Err("must be 1-256 characters long");
        }
        no_control_chars(v)
    }
);

validated_string!(
    /// The page the visitor came from: an absolute URL (`scheme://...`, so `android-app://` referrers
    /// count too), at most 2048 bytes, no whitespace or control characters.
    Referrer,
    names::REFERRER,
    |v| {
        if v.len() > limits::MAX_URL_BYTES {
            return Err("must be at most 2048 bytes");
        }
        // `scheme://rest`, split at the first `://` (bytes, not `str` patterns: see `char_count`).
        let bytes = v.as_bytes();
        let absolute = bytes
            .windows(3)
            .position(|w| w == b"://")
            .is_some_and(|at| {
                let scheme = bytes.get(..at).unwrap_or_default();
                at + 3 < bytes.len()
                    && scheme.first().is_some_and(u8::is_ascii_alphabetic)
                    && scheme
                        .iter()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'.' | b'-'))
            });
        if !absolute || has_control_chars(v) || has_whitespace(v) {
            return Err("must be an absolute URL");
        }
        Ok(())
    }
);

validated_string!(
    /// Who did it, for counting unique visitors: the site's `user_id` when given, otherwise the
    /// anonymous id ingestion derives. 1–256 characters.
    VisitorId,
    names::VISITOR_ID,
    |v| {
        let chars = char_count(v);
        if chars == 0 || chars > limits::MAX_USER_ID_CHARS {
            return Err("must be 1-256 characters long");
        }
        Ok(())
    }
);

/// `v.chars().count()`: the bytes that start a character. Written out because the standard
/// library's (vectorized) version, like `str` pattern searching, is code the wasm tracker, which
/// links these rules, would carry for no gain.
fn char_count(v: &str) -> usize {
    v.bytes().filter(|&b| (b as i8) >= -0x40).count()
}

/// A rule's sentence, or nothing without `std`: the wasm tracker never shows it (see
/// `EventError::rule`), and a text returned by a function it does not inline stays in its wasm.
const fn sentence(text: &'static str) -> &'static str {
    if cfg!(feature = "std") {
        text
    } else {
        ""
    }
}

/// Whether `v` has a control character (`char::is_control`: U+0000–U+001F and U+007F–U+009F),
/// over bytes: U+0080–U+009F are `C2 80`–`C2 9F` in UTF-8, and `C2` only ever leads. Decoding
/// every character costs the wasm tracker more code, for the same answer.
pub fn has_control_chars(v: &str) -> bool {
    let bytes = v.as_bytes();
    bytes.iter().any(|&b| b < 0x20 || b == 0x7f)
        || bytes
            .windows(2)
            .any(|w| w[0] == 0xc2 && (0x80..0xa0).contains(&w[1]))
}

/// Whether `v` has a `char::is_whitespace` character other than the control characters among
/// them (U+0009–U+000D, U+0085: [`has_control_chars`] finds those): the space, U+00A0, U+1680,
/// U+2000–U+200A, U+2028, U+2029, U+202F, U+205F and U+3000, found by their UTF-8 bytes.
/// Decoding characters and core's Unicode table would cost the wasm tracker ~400 bytes gzip.
pub fn has_whitespace(v: &str) -> bool {
    let bytes = v.as_bytes();
    (0..bytes.len()).any(|i| {
        // The byte at `i` and the two after it (0 past the end), as one number.
        let three = (i..i + 3).fold(0u32, |n, at| {
            n << 8 | u32::from(bytes.get(at).copied().unwrap_or(0))
        });
        // The space, U+00A0, U+2000–U+200A, then the other three-byte ones.
        three >> 16 == 0x20
            || three >> 8 == 0xc2a0
            || matches!(three, 0xe2_8080..=0xe2_808a)
            || matches!(
                three,
                0xe1_9a80 | 0xe2_80a8 | 0xe2_80a9 | 0xe2_80af | 0xe2_819f
            )
            || three == 0xe3_8080
    })
}

fn no_control_chars(v: &str) -> Result<(), &'static str> {
    if has_control_chars(v) {
        return Err(sentence("must not contain control characters"));
    }
    Ok(())
}

/// The page view's `page_view` event type, the one `total_views` counts.
pub const PAGE_VIEW: &str = "page_view";

impl EventType {
    /// True for the event type that counts as a page view.
    pub fn is_page_view(&self) -> bool {
        self.0 == PAGE_VIEW
    }
}

/// A UTC calendar day, `YYYY-MM-DD`, years 1970–9999: the unit reports are asked for.
#[cfg(feature = "std")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Day(Date);

#[cfg(feature = "std")]
impl Day {
    /// Parses `YYYY-MM-DD`; the error names `field` so report parameters can reuse it.
    pub fn parse_named(value: &str, field: &'static str) -> Result<Self, EventError> {
        let format = format_description!("[year]-[month]-[day]");
        let date = Date::parse(value, format)
            .map_err(|_| EventError::rule(field, "must be a date formatted YYYY-MM-DD"))?;
        if !(1970..=9999).contains(&date.year()) {
            return Err(EventError::rule(field, "must be between 1970 and 9999"));
        }
        Ok(Self(date))
    }

    /// The UTC day containing `instant`.
    pub fn of(instant: OffsetDateTime) -> Self {
        Self(instant.to_offset(time::UtcOffset::UTC).date())
    }

    /// Midnight UTC at the start of the day.
    pub fn start(&self) -> OffsetDateTime {
        self.0.with_time(Time::MIDNIGHT).assume_utc()
    }

    /// Midnight UTC at the start of the next day (exclusive end).
    pub fn end(&self) -> OffsetDateTime {
        self.start() + time::Duration::DAY
    }
}

#[cfg(feature = "std")]
impl std::fmt::Display for Day {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let format = format_description!("[year]-[month]-[day]");
        let text = self.0.format(format).map_err(|_| std::fmt::Error)?;
        f.write_str(&text)
    }
}

/// Custom properties of an event (`{"plan": "pro"}`): at most 30 keys of 1–64 characters, each
/// value a string of at most 512 bytes, a number or a boolean. Flat on purpose, so a property can
/// become a report dimension without schema questions.
///
/// With `std` the properties are the `serde_json::Map` ingestion parsed ([`Props::as_map`]);
/// without it (the browser tracker) a list of [`PropValue`]s kept in the map's key order (sorted,
/// a repeated key replacing the earlier value), so the JSON written is the same either way and
/// the tracker carries no B-tree. [`Props::from_values`] and the rules are common to both.
#[derive(Debug, Clone, PartialEq, Default)]
#[cfg_attr(feature = "std", derive(Serialize, Deserialize))]
#[cfg_attr(
    feature = "std",
    serde(try_from = "Map<String, Value>", into = "Map<String, Value>")
)]
pub struct Props(
    #[cfg(feature = "std")] Map<String, Value>,
    #[cfg(not(feature = "std"))] Vec<(String, PropValue)>,
);

/// One property value as a tracker has it, before it is a [`Props`] entry.
#[derive(Debug, Clone, PartialEq)]
pub enum PropValue {
    Str(String),
    /// A whole number: written without a fraction (`3`, not `3.0`).
    Int(i64),
    /// Any other number; only finite ones are accepted.
    Float(f64),
    Bool(bool),
}

const KEYS_RULE: &str = sentence("keys must be 1-64 characters without control characters");
const STRING_RULE: &str =
    sentence("string values must be at most 512 bytes without control characters");
const VALUES_RULE: &str = "values must be strings, numbers or booleans";

fn check_key(key: &str) -> Result<(), &'static str> {
    if key.is_empty() || char_count(key) > limits::MAX_PROP_KEY_CHARS || has_control_chars(key) {
        return Err(KEYS_RULE);
    }
    Ok(())
}

fn check_string_value(s: &str) -> Result<(), &'static str> {
    if s.len() > limits::MAX_PROP_STRING_BYTES || has_control_chars(s) {
        return Err(STRING_RULE);
    }
    Ok(())
}

fn props_error(rule: &str) -> EventError {
    EventError::rule(names::PROPS, rule)
}

impl Props {
    pub const MAX_KEYS: usize = limits::MAX_PROP_KEYS;

    /// Whether `key` may name a property: the rule [`Props::from_values`] applies, for a
    /// caller that drops one bad entry rather than all of them (the browser tracker).
    pub fn key_fits(key: &str) -> bool {
        check_key(key).is_ok()
    }

    /// Whether `s` may be a string property's value (see [`Props::key_fits`]).
    pub fn string_fits(s: &str) -> bool {
        check_string_value(s).is_ok()
    }

    /// Builds properties from `(key, value)` pairs, under the same rules (and errors) as
    /// [`Props::parse`]; a repeated key keeps its last value, as in a JSON object.
    pub fn from_values(
        values: impl IntoIterator<Item = (String, PropValue)>,
    ) -> Result<Self, EventError> {
        let mut props = Self::default();
        for (key, value) in values {
            check_key(&key).map_err(props_error)?;
            if let PropValue::Str(s) = &value {
                check_string_value(s).map_err(props_error)?;
            }
            props.insert(key, value)?;
            if props.len() > Self::MAX_KEYS {
                return Err(props_error(sentence("may have at most 30 keys")));
            }
        }
        #[cfg(feature = "std")]
        let props = props.sorted();
        Ok(props)
    }

    /// Key order, whatever the map type: serde_json's map keeps insertion order when any crate
    /// in the build enables its `preserve_order` feature (bson does), and the wire format must
    /// not depend on that.
    #[cfg(feature = "std")]
    fn sorted(self) -> Self {
        let mut entries: Vec<(String, Value)> = self.0.into_iter().collect();
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        Self(entries.into_iter().collect())
    }

    #[cfg(feature = "std")]
    fn insert(&mut self, key: String, value: PropValue) -> Result<(), EventError> {
        let value = match value {
            PropValue::Str(s) => Value::String(s),
            PropValue::Int(n) => Value::Number(n.into()),
            PropValue::Float(n) => Value::Number(
                serde_json::Number::from_f64(n).ok_or_else(|| props_error(VALUES_RULE))?,
            ),
            PropValue::Bool(b) => Value::Bool(b),
        };
        self.0.insert(key, value);
        Ok(())
    }

    /// Sorted insertion: walks the list carrying the new entry, swapping it with each greater key
    /// so the rest shifts one place right. No `Vec::insert` or indexing: their bounds-check
    /// panics format their message, which would link `core::fmt` into the wasm tracker.
    #[cfg(not(feature = "std"))]
    fn insert(&mut self, key: String, value: PropValue) -> Result<(), EventError> {
        if matches!(value, PropValue::Float(n) if !n.is_finite()) {
            return Err(props_error(VALUES_RULE));
        }
        let mut carried = (key, value);
        for entry in self.0.iter_mut() {
            if entry.0 == carried.0 {
                // Only possible before the first swap: the keys after it are all greater.
                entry.1 = carried.1;
                return Ok(());
            }
            if entry.0 > carried.0 {
                core::mem::swap(entry, &mut carried);
            }
        }
        self.0.push(carried);
        Ok(())
    }

    /// The entries in key order (without `std`).
    #[cfg(not(feature = "std"))]
    pub fn values(&self) -> &[(String, PropValue)] {
        &self.0
    }

    #[cfg(feature = "std")]
    pub fn parse(map: Map<String, Value>) -> Result<Self, EventError> {
        if map.len() > Self::MAX_KEYS {
            return Err(props_error(sentence("may have at most 30 keys")));
        }
        for (key, value) in &map {
            check_key(key).map_err(props_error)?;
            match value {
                Value::String(s) => check_string_value(s).map_err(props_error)?,
                Value::Number(_) | Value::Bool(_) => {}
                _ => return Err(props_error(VALUES_RULE)),
            }
        }
        Ok(Self(map).sorted())
    }

    #[cfg(feature = "std")]
    pub fn as_map(&self) -> &Map<String, Value> {
        &self.0
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(feature = "std")]
impl TryFrom<Map<String, Value>> for Props {
    type Error = EventError;
    fn try_from(map: Map<String, Value>) -> Result<Self, EventError> {
        Self::parse(map)
    }
}

#[cfg(feature = "std")]
impl From<Props> for Map<String, Value> {
    fn from(props: Props) -> Self {
        props.0
    }
}

/// The rules shared by both builds (`cargo test -p beacon-event --no-default-features` runs
/// them without `std`).
#[cfg(test)]
mod common_tests {
    use super::*;
    use alloc::vec;

    /// Every code point, with `a` before and `é` after it (so the byte checks see it mid-text).
    fn every_char_framed() -> impl Iterator<Item = (char, String)> {
        (0..=0x10ffff)
            .filter_map(char::from_u32)
            .map(|c| (c, alloc::format!("a{c}é")))
    }

    #[test]
    fn control_characters_over_bytes_are_char_is_control() {
        for (c, text) in every_char_framed() {
            assert_eq!(has_control_chars(&text), c.is_control(), "{:x}", c as u32);
        }
        assert!(!has_control_chars("plain ascii, üñíçødé and 中文"));
    }

    #[test]
    fn whitespace_over_bytes_is_char_is_whitespace() {
        let space = |v: &str| has_control_chars(v) || has_whitespace(v);
        for (c, text) in every_char_framed() {
            let expected = c.is_control() || c.is_whitespace();
            assert_eq!(space(&text), expected, "{:x}", c as u32);
            // At the end of the text too (the bytes after it are read as 0).
            let end = text.len() - 'é'.len_utf8();
            assert_eq!(space(&text[..end]), expected, "{:x} at the end", c as u32);
        }
        assert!(!has_whitespace("https://例え.jp/ü?q=中文"));
    }

    fn str_value(s: &str) -> PropValue {
        PropValue::Str(s.to_owned())
    }

    #[test]
    fn props_from_values_follow_the_rules() {
        let ok = Props::from_values(vec![
            ("plan".to_owned(), str_value("pro")),
            ("n".to_owned(), PropValue::Int(3)),
            ("price".to_owned(), PropValue::Float(9.5)),
            ("trial".to_owned(), PropValue::Bool(false)),
            ("plan".to_owned(), str_value("team")),
        ])
        .unwrap();
        assert_eq!(ok.len(), 4, "a repeated key replaces its value");
        for bad in [
            ("".to_owned(), PropValue::Bool(true)),
            ("k".repeat(65), PropValue::Bool(true)),
            ("a\u{7}".to_owned(), PropValue::Bool(true)),
            ("s".to_owned(), str_value(&"x".repeat(513))),
            ("s".to_owned(), str_value("a\nb")),
            ("f".to_owned(), PropValue::Float(f64::NAN)),
            ("f".to_owned(), PropValue::Float(f64::INFINITY)),
        ] {
            let err = Props::from_values(vec![bad.clone()]).unwrap_err();
            assert_eq!(err.field, Some("props"), "{bad:?}");
            // The per-entry checks refuse the same entries (a float's finiteness is the
            // caller's to check, as the tracker does before it makes a `PropValue`).
            let fits = Props::key_fits(&bad.0)
                && match &bad.1 {
                    PropValue::Str(s) => Props::string_fits(s),
                    PropValue::Float(f) => f.is_finite(),
                    _ => true,
                };
            assert!(!fits, "{bad:?}");
        }
        assert!(Props::key_fits(&"k".repeat(64)) && Props::key_fits("é"));
        assert!(Props::string_fits(&"x".repeat(512)) && Props::string_fits(""));
        assert!(
            Props::from_values((0..30).map(|i| (alloc::format!("k{i}"), PropValue::Int(i))))
                .is_ok()
        );
        assert!(
            Props::from_values((0..31).map(|i| (alloc::format!("k{i}"), PropValue::Int(i))))
                .is_err()
        );
        assert!(Props::from_values(vec![]).unwrap().is_empty());
    }

    #[test]
    fn rules_without_std() {
        assert!(SiteId::parse("site123").is_ok());
        assert!(SiteId::parse("has space").is_err());
        assert!(EventType::parse(&"é".repeat(64)).is_ok());
        assert!(EventType::parse(&"é".repeat(65)).is_err());
        assert!(PagePath::parse("/a?b#c").is_ok());
        assert!(PagePath::parse("a").is_err());
        assert!(Referrer::parse("https://example.com/").is_ok());
        let err = Referrer::parse("nope").unwrap_err();
        assert_eq!(err.field, Some("referrer"));
        // Without `std` the sentence is left out (`EventError::rule`).
        let sentence = "`referrer` must be an absolute URL";
        assert_eq!(
            err.message,
            if cfg!(feature = "std") { sentence } else { "" }
        );
    }
}

#[cfg(all(test, feature = "std"))]
mod tests {
    use super::*;

    #[test]
    fn site_id_rules() {
        assert!(SiteId::parse("site123").is_ok());
        assert!(SiteId::parse("a.b_c:d-E9").is_ok());
        assert!(SiteId::parse(&"x".repeat(128)).is_ok());
        for bad in ["", "has space", "a/b", "é", "{\"$ne\":1}", &"x".repeat(129)] {
            let err = SiteId::parse(bad).unwrap_err();
            assert_eq!(err.field, Some("site_id"), "{bad:?}");
        }
    }

    #[test]
    fn path_rules() {
        assert!(PagePath::parse("/").is_ok());
        assert!(PagePath::parse("/products/ünïcode?q=1#x").is_ok());
        assert!(PagePath::parse(&format!("/{}", "a".repeat(2047))).is_ok());
        assert!(PagePath::parse(&format!("/{}", "a".repeat(2048))).is_err());
        assert!(PagePath::parse("home").is_err());
        assert!(PagePath::parse("").is_err());
        assert!(PagePath::parse("/a\nb").is_err());
    }

    #[test]
    fn event_type_and_user_id_count_characters_not_bytes() {
        assert!(EventType::parse(&"é".repeat(64)).is_ok());
        assert!(EventType::parse(&"é".repeat(65)).is_err());
        assert!(EventType::parse("").is_err());
        assert!(UserId::parse(&"u".repeat(256)).is_ok());
        assert!(UserId::parse(&"u".repeat(257)).is_err());
    }

    #[test]
    fn day_parses_and_bounds() {
        let day = Day::parse_named("2026-11-24", "date").unwrap();
        assert_eq!(day.to_string(), "2026-11-24");
        assert_eq!(day.end() - day.start(), time::Duration::DAY);
        for bad in [
            "2026-13-01",
            "2026-02-30",
            "24-11-2026",
            "1969-12-31",
            "+10000-01-01",
            "",
        ] {
            assert_eq!(
                Day::parse_named(bad, "date").unwrap_err().field,
                Some("date"),
                "{bad}"
            );
        }
    }

    #[test]
    fn props_rules() {
        let ok: Map<String, Value> =
            serde_json::from_str(r#"{"plan":"pro","n":3,"trial":false}"#).unwrap();
        assert!(Props::parse(ok).is_ok());
        let nested: Map<String, Value> = serde_json::from_str(r#"{"a":{"b":1}}"#).unwrap();
        assert_eq!(Props::parse(nested).unwrap_err().field, Some("props"));
        let many: Map<String, Value> = (0..31)
            .map(|i| (i.to_string(), Value::Bool(true)))
            .collect();
        assert!(Props::parse(many).is_err());
    }

    #[test]
    fn referrer_and_char_count_match_the_str_versions() {
        // The rule as first written with `str` patterns: the byte scan must agree with it.
        let by_patterns = |v: &str| {
            v.split_once("://").is_some_and(|(scheme, rest)| {
                !rest.is_empty()
                    && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
                    && scheme
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '.' | '-'))
            })
        };
        for v in [
            "https://example.com/",
            "android-app://com.google.android.gm/",
            "a+b.c-d://x",
            "://x",
            "a://",
            "a:///",
            "1a://x",
            "héllo://x",
            "é://x",
            "a b://x",
            "x:/y://z",
            "ab:/c",
            "http:://x",
            "",
            ":",
            "ab",
        ] {
            assert_eq!(Referrer::parse(v).is_ok(), by_patterns(v), "{v:?}");
            assert_eq!(char_count(v), v.chars().count(), "{v:?}");
        }
        assert_eq!(
            Referrer::parse("nope").unwrap_err().message,
            "`referrer` must be an absolute URL"
        );
        assert_eq!(
            SiteId::parse("").unwrap_err().message,
            "`site_id` must be 1-128 characters long"
        );
    }

    #[test]
    fn deserializing_revalidates() {
        assert!(serde_json::from_str::<SiteId>("\"ok\"").is_ok());
        assert!(serde_json::from_str::<SiteId>("\"not ok\"").is_err());
    }
}
