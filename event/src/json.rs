//! Compact JSON output for [`ClientEvent`](crate::ClientEvent) without serde: what the browser
//! tracker (wasm) uses, because serde's generic serializer, the `time` RFC 3339 formatter, uuid's
//! serializer and the `BTreeMap` clone of `#[serde(into)]` are most of the tracker's code size.
//!
//! The output is byte for byte what `serde_json::to_string` makes of the derived `Serialize`
//! (tests in `client.rs` hold the two together), so the wire format is still defined once, by
//! the struct and its serde attributes.

use alloc::string::String;

#[cfg(feature = "std")]
use serde_json::Value;
use time::OffsetDateTime;
use uuid::Uuid;

#[cfg(not(feature = "std"))]
use crate::fields::PropValue;

/// Appends `s` as a JSON string, escaped exactly as serde_json does (`\"`, `\\`, `\b`, `\f`,
/// `\n`, `\r`, `\t`, other control characters as `\u00XX`; everything else as it is).
pub(crate) fn string(out: &mut String, s: &str) {
    out.push('"');
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let escape = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0..=0x1f => "\\u00",
            _ => continue,
        };
        // Escaped bytes are ASCII, so `start..i` lies on character boundaries.
        out.push_str(s.get(start..i).unwrap_or_default());
        out.push_str(escape);
        if b < 0x20 && escape.len() == 4 {
            out.push(hex(b >> 4));
            out.push(hex(b & 0xf));
        }
        start = i + 1;
    }
    out.push_str(s.get(start..).unwrap_or_default());
    out.push('"');
}

fn hex(nibble: u8) -> char {
    char::from(if nibble < 10 {
        b'0' + nibble
    } else {
        b'a' + nibble - 10
    })
}

/// Appends `n` in decimal.
pub fn uint(out: &mut String, n: u64) {
    let mut digits = [0u8; 20];
    let mut len = 0;
    let mut rest = n;
    loop {
        if let Some(d) = digits.get_mut(len) {
            *d = b'0' + (rest % 10) as u8;
        }
        len += 1;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    for &d in digits.iter().take(len).rev() {
        out.push(char::from(d));
    }
}

/// Appends `n` as exactly `width` decimal digits (zero-padded; `n` must fit).
fn padded(out: &mut String, n: u32, width: u32) {
    let mut place = 10u32.pow(width.saturating_sub(1));
    while place > 0 {
        out.push(char::from(b'0' + (n / place % 10) as u8));
        place /= 10;
    }
}

/// A props value: a string, number or boolean (`Props` holds nothing else). Integers are written
/// as serde_json writes them; other numbers by `float`.
#[cfg(feature = "std")]
pub(crate) fn value(out: &mut String, value: &Value, float: fn(f64) -> String) -> bool {
    match value {
        Value::String(s) => string(out, s),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                uint(out, u);
            } else if let Some(i) = n.as_i64() {
                out.push('-');
                uint(out, i.unsigned_abs());
            } else if let Some(f) = n.as_f64() {
                out.push_str(&float(f));
            }
        }
        Value::Null => out.push_str("null"),
        Value::Array(_) | Value::Object(_) => return false,
    }
    true
}

/// [`value`] for the `no_std` `Props` entries: the same output for the same value.
#[cfg(not(feature = "std"))]
pub(crate) fn prop(out: &mut String, value: &PropValue, float: fn(f64) -> String) {
    match value {
        PropValue::Str(s) => string(out, s),
        PropValue::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        PropValue::Int(n) => {
            if *n < 0 {
                out.push('-');
            }
            uint(out, n.unsigned_abs());
        }
        PropValue::Float(f) => out.push_str(&float(*f)),
    }
}

/// Appends the UUID in its hyphenated lower-case form, quoted.
pub(crate) fn uuid(out: &mut String, id: &Uuid) {
    out.push('"');
    for (i, b) in id.as_bytes().iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        out.push(hex(b >> 4));
        out.push(hex(b & 0xf));
    }
    out.push('"');
}

/// Appends the instant as `time`'s RFC 3339 formatter writes it, quoted:
/// `2026-11-24T10:00:00.123Z`, the fraction without trailing zeros (none when zero), `Z` for
/// UTC, else `+HH:MM`. False where that formatter fails (a year outside 0-9999, an offset with
/// seconds).
pub(crate) fn rfc3339(out: &mut String, at: OffsetDateTime) -> bool {
    let (year, month, day) = at.to_calendar_date();
    let (hour, minute, second, nanos) = at.to_hms_nano();
    let offset = at.offset();
    let (offset_hours, offset_minutes, offset_seconds) = offset.as_hms();
    if !(0..10_000).contains(&year) || offset_hours.unsigned_abs() > 23 || offset_seconds != 0 {
        return false;
    }
    out.push('"');
    padded(out, year as u32, 4);
    out.push('-');
    padded(out, u8::from(month).into(), 2);
    out.push('-');
    padded(out, day.into(), 2);
    out.push('T');
    padded(out, hour.into(), 2);
    out.push(':');
    padded(out, minute.into(), 2);
    out.push(':');
    padded(out, second.into(), 2);
    if nanos != 0 {
        out.push('.');
        let (mut fraction, mut width) = (nanos, 9);
        while fraction % 10 == 0 {
            fraction /= 10;
            width -= 1;
        }
        padded(out, fraction, width);
    }
    if offset.is_utc() {
        out.push('Z');
    } else {
        out.push(if offset.is_negative() { '-' } else { '+' });
        padded(out, offset_hours.unsigned_abs().into(), 2);
        out.push(':');
        padded(out, offset_minutes.unsigned_abs().into(), 2);
    }
    out.push('"');
    true
}
