//! The tracker's only JSON-adjacent code: decimal numbers without the formatting machinery.
//!
//! Events are serialized by `beacon_event::ClientEvent::write_json`, next to the struct in the
//! shared crate, which writes exactly what `serde_json::to_string` makes of the struct's own
//! `Serialize` (a test there holds the two together) without linking serde's serializer, the
//! `time` formatter or float-printing tables into the wasm; numbers with a fraction (custom
//! properties like `{price: 9.5}`) are printed by JavaScript's own `String(n)`.

/// Appends `n` in decimal without the formatting machinery of `to_string` (shared with
/// `ClientEvent::write_json`, so the wasm links one copy).
pub use beacon_event::push_decimal as push_u64;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{client_event, record, Facts};
    use beacon_event::{Props, SiteId};
    use serde_json::{json, Map, Value};

    fn rust_float(v: f64) -> String {
        v.to_string()
    }

    #[test]
    fn matches_serde_json() {
        // Through the tracker's own path: props as the page gives them, the event, its record.
        let props = [
            json!({"a":1,"b":-42,"c":18446744073709551615u64,"d":true,"e":false,"f":"x","g":9.5,
                   "h":-0.25,"i":0}),
            json!({"esc\"aped\\key":"quote \" backslash \\ é 😀 \u{7f}","":"empty key"}),
            json!({"k":""}),
        ];
        let facts = Facts {
            path: "/a\"b\\c?d=é".into(),
            referrer: "https://example.com/?q=\"x\"".into(),
            screen_width: Some(0),
            now_ms: 1_795_600_800_001.0,
            eid: Some(uuid::Uuid::from_u128(u128::MAX)),
        };
        let site = SiteId::parse("s").unwrap();
        for value in props {
            let map: Map<String, Value> = serde_json::from_value(value.clone()).unwrap();
            let map: Map<String, Value> = map.into_iter().filter(|(k, _)| !k.is_empty()).collect();
            let event = client_event(&site, "e\"\\", &facts, Props::parse(map).ok()).unwrap();
            let json = record(&event, facts.now_ms, rust_float).unwrap().json;
            assert_eq!(json, serde_json::to_string(&event).unwrap(), "{value}");
        }
    }

    #[test]
    fn decimal_numbers() {
        for n in [0, 7, 10, 99, 100, 1_795_600_800_123, u64::MAX] {
            let mut out = String::from("x");
            push_u64(&mut out, n);
            assert_eq!(out, format!("x{n}"));
        }
    }
}
