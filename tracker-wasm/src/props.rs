//! Custom properties from a page's `beacon('event', name, {plan: 'pro'})` call.
//!
//! `web/` reads the JS object entry by entry (no JSON parsing in the wasm); this module
//! keeps only what `beacon_event::Props` accepts, so one odd value drops that value rather than
//! the whole event: nested objects, `null`, functions and non-finite numbers are skipped, long
//! strings are cut to the limit, and at most 30 keys are kept.

use std::borrow::ToOwned;
use std::string::String;
use std::vec::Vec;

use beacon_event::{PropValue as Value, Props};

use crate::event::truncate;

use beacon_event::limits::MAX_PROP_STRING_BYTES as MAX_STRING_BYTES;
/// Largest integer a JS number holds exactly (2^53 - 1).
const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

/// One property value as JavaScript gave it.
#[derive(Debug, Clone, PartialEq)]
pub enum PropValue {
    Str(String),
    Num(f64),
    Bool(bool),
    /// Anything else (`null`, `undefined`, objects, arrays, functions): skipped.
    Other,
}

/// Builds the properties from `(key, value)` entries in the object's order; `None` when nothing
/// usable is left. (What [`crate::tracker::Tracker::prop`] does entry by entry in the browser.)
pub fn build(entries: impl IntoIterator<Item = (String, PropValue)>) -> Option<Props> {
    let kept: Vec<(String, Value)> = entries
        .into_iter()
        .filter_map(|(key, value)| entry(key, value))
        .take(Props::MAX_KEYS)
        .collect();
    finish(kept)
}

/// One entry made to fit, or `None` when ingestion would refuse it (its key or its value).
///
/// `web/` hands over `Object.keys` in order, and never the same key twice, so
/// keeping the first 30 fitting entries is what inserting into a map did.
pub fn entry(key: String, value: PropValue) -> Option<(String, Value)> {
    Some((key, json_value(value)?)).filter(|(key, _)| Props::key_fits(key))
}

/// The kept entries as `Props` (a sorted list in the wasm, no `serde_json::Map`); `None` when
/// there are none.
pub fn finish(kept: Vec<(String, Value)>) -> Option<Props> {
    if kept.is_empty() {
        return None;
    }
    Props::from_values(kept).ok()
}

fn json_value(value: PropValue) -> Option<Value> {
    match value {
        PropValue::Str(s) => {
            let kept = truncate(&s, MAX_STRING_BYTES);
            Props::string_fits(kept).then(|| Value::Str(kept.to_owned()))
        }
        PropValue::Bool(b) => Some(Value::Bool(b)),
        // Whole numbers stay integers on the wire (`3`, not `3.0`).
        PropValue::Num(n) if n.fract() == 0.0 && n.abs() <= MAX_SAFE_INTEGER => {
            Some(Value::Int(n as i64))
        }
        PropValue::Num(n) if n.is_finite() => Some(Value::Float(n)),
        PropValue::Num(_) | PropValue::Other => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn entries(list: Vec<(&str, PropValue)>) -> Vec<(String, PropValue)> {
        list.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
    }

    #[test]
    fn keeps_strings_numbers_booleans() {
        let props = build(entries(vec![
            ("plan", PropValue::Str("pro".into())),
            ("seats", PropValue::Num(3.0)),
            ("price", PropValue::Num(9.5)),
            ("trial", PropValue::Bool(false)),
        ]))
        .unwrap();
        assert_eq!(
            Value::Object(props.as_map().clone()),
            json!({"plan":"pro","seats":3,"price":9.5,"trial":false})
        );
        assert!(!serde_json::to_string(&props).unwrap().contains("3.0"));
    }

    #[test]
    fn skips_what_ingestion_would_refuse() {
        let props = build(entries(vec![
            ("", PropValue::Str("empty key".into())),
            (&"k".repeat(65), PropValue::Bool(true)),
            ("nested", PropValue::Other),
            ("nan", PropValue::Num(f64::NAN)),
            ("inf", PropValue::Num(f64::INFINITY)),
            ("ctl", PropValue::Str("a\u{7}b".into())),
            ("long", PropValue::Str("é".repeat(400))),
            ("ok", PropValue::Bool(true)),
        ]))
        .unwrap();
        let map = props.as_map();
        assert_eq!(map.keys().collect::<Vec<_>>(), ["long", "ok"]);
        assert!(map["long"].as_str().unwrap().len() <= 512);
    }

    #[test]
    fn at_most_thirty_keys_and_none_when_empty() {
        let many = (0..40).map(|i| (format!("k{i}"), PropValue::Num(f64::from(i))));
        assert_eq!(build(many).unwrap().as_map().len(), 30);
        assert!(build(Vec::new()).is_none());
        assert!(build(entries(vec![("x", PropValue::Other)])).is_none());
    }
}
