//! A write-only JSON backend for serde, just big enough for `beacon_event::ClientEvent`.
//!
//! The tracker serializes the very `ClientEvent` ingestion validates, through its own `Serialize`
//! implementation; only the output side is ours. `serde_json::to_string` would bring its
//! formatter, error type and float-printing tables into the wasm, several KB of the 12 KB
//! budget; here numbers with a fraction (custom properties like `{price: 9.5}`) are printed by a
//! function the caller supplies (JavaScript's own `String(n)` in the browser), and anything an
//! event never contains (sequences, enums, bytes) is refused. Host tests check that the output
//! equals serde_json's.

use serde::ser::{self, Serialize};

/// Serializes `value` as compact JSON; `float` prints a finite `f64` (JSON has no NaN or
/// infinity: those are refused).
pub fn to_string<T: Serialize + ?Sized>(value: &T, float: fn(f64) -> String) -> Option<String> {
    let mut writer = Writer {
        out: String::new(),
        float,
    };
    value.serialize(&mut writer).ok()?;
    Some(writer.out)
}

/// Appends `n` in decimal (without the formatting machinery of `to_string`).
pub fn push_u64(out: &mut String, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        if let Some(d) = digits.get_mut(i) {
            *d = b'0' + (n % 10) as u8;
        }
        n /= 10;
        if n == 0 || i == 0 {
            break;
        }
    }
    for &d in digits.get(i..).unwrap_or_default() {
        out.push(char::from(d));
    }
}

struct Writer {
    out: String,
    float: fn(f64) -> String,
}

/// Serialization failed; the reason is not kept (it would cost formatting code).
#[derive(Debug)]
pub struct Error;

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("cannot serialize")
    }
}

impl std::error::Error for Error {}

impl ser::Error for Error {
    fn custom<T: std::fmt::Display>(_msg: T) -> Self {
        Error
    }
}

type Result<T = ()> = std::result::Result<T, Error>;

impl Writer {
    fn string(&mut self, s: &str) {
        self.out.push('"');
        for c in s.chars() {
            match c {
                '"' => self.out.push_str("\\\""),
                '\\' => self.out.push_str("\\\\"),
                '\n' => self.out.push_str("\\n"),
                '\r' => self.out.push_str("\\r"),
                '\t' => self.out.push_str("\\t"),
                '\u{8}' => self.out.push_str("\\b"),
                '\u{c}' => self.out.push_str("\\f"),
                c if (c as u32) < 0x20 => {
                    self.out.push_str("\\u00");
                    let hex = b"0123456789abcdef";
                    for nibble in [(c as u32) >> 4, (c as u32) & 0xf] {
                        self.out.push(char::from(
                            hex.get(nibble as usize).copied().unwrap_or(b'0'),
                        ));
                    }
                }
                c => self.out.push(c),
            }
        }
        self.out.push('"');
    }

    fn unsigned(&mut self, n: u64) {
        push_u64(&mut self.out, n);
    }

    /// Separator before a sequence element or map key: none before the first.
    fn comma(&mut self, first: &mut bool) {
        if !std::mem::take(first) {
            self.out.push(',');
        }
    }
}

impl<'a> ser::Serializer for &'a mut Writer {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = ser::Impossible<(), Error>;
    type SerializeTuple = ser::Impossible<(), Error>;
    type SerializeTupleStruct = ser::Impossible<(), Error>;
    type SerializeTupleVariant = ser::Impossible<(), Error>;
    type SerializeMap = Compound<'a>;
    type SerializeStruct = Compound<'a>;
    type SerializeStructVariant = ser::Impossible<(), Error>;

    fn serialize_bool(self, v: bool) -> Result {
        self.out.push_str(if v { "true" } else { "false" });
        Ok(())
    }
    fn serialize_i8(self, v: i8) -> Result {
        self.serialize_i64(v.into())
    }
    fn serialize_i16(self, v: i16) -> Result {
        self.serialize_i64(v.into())
    }
    fn serialize_i32(self, v: i32) -> Result {
        self.serialize_i64(v.into())
    }
    fn serialize_i64(self, v: i64) -> Result {
        if v < 0 {
            self.out.push('-');
        }
        self.unsigned(v.unsigned_abs());
        Ok(())
    }
    fn serialize_u8(self, v: u8) -> Result {
        self.serialize_u64(v.into())
    }
    fn serialize_u16(self, v: u16) -> Result {
        self.serialize_u64(v.into())
    }
    fn serialize_u32(self, v: u32) -> Result {
        self.serialize_u64(v.into())
    }
    fn serialize_u64(self, v: u64) -> Result {
        self.unsigned(v);
        Ok(())
    }
    fn serialize_f32(self, v: f32) -> Result {
        self.serialize_f64(v.into())
    }
    fn serialize_f64(self, v: f64) -> Result {
        if !v.is_finite() {
            return Err(Error);
        }
        let text = (self.float)(v);
        self.out.push_str(&text);
        Ok(())
    }
    fn serialize_char(self, v: char) -> Result {
        self.string(v.encode_utf8(&mut [0; 4]));
        Ok(())
    }
    fn serialize_str(self, v: &str) -> Result {
        self.string(v);
        Ok(())
    }
    fn serialize_bytes(self, _: &[u8]) -> Result {
        Err(Error)
    }
    fn serialize_none(self) -> Result {
        self.serialize_unit()
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result {
        self.out.push_str("null");
        Ok(())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result {
        self.serialize_unit()
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Result {
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, value: &T) -> Result {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result {
        Err(Error)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq> {
        Err(Error)
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple> {
        Err(Error)
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct> {
        Err(Error)
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant> {
        Err(Error)
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap> {
        self.out.push('{');
        Ok(Compound {
            writer: self,
            first: true,
        })
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct> {
        self.serialize_map(None)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant> {
        Err(Error)
    }
}

/// An object being written.
pub struct Compound<'a> {
    writer: &'a mut Writer,
    first: bool,
}

impl ser::SerializeMap for Compound<'_> {
    type Ok = ();
    type Error = Error;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result {
        self.writer.comma(&mut self.first);
        // Keys must be strings: anything else fails at `serialize_str`'s absence.
        key.serialize(KeyWriter(self.writer))
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result {
        self.writer.out.push(':');
        value.serialize(&mut *self.writer)
    }
    fn end(self) -> Result {
        self.writer.out.push('}');
        Ok(())
    }
}

impl ser::SerializeStruct for Compound<'_> {
    type Ok = ();
    type Error = Error;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result {
        self.writer.comma(&mut self.first);
        self.writer.string(key);
        self.writer.out.push(':');
        value.serialize(&mut *self.writer)
    }
    fn end(self) -> Result {
        ser::SerializeMap::end(self)
    }
}

/// Writes a map key, which JSON requires to be a string.
struct KeyWriter<'a>(&'a mut Writer);

impl ser::Serializer for KeyWriter<'_> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = ser::Impossible<(), Error>;
    type SerializeTuple = ser::Impossible<(), Error>;
    type SerializeTupleStruct = ser::Impossible<(), Error>;
    type SerializeTupleVariant = ser::Impossible<(), Error>;
    type SerializeMap = ser::Impossible<(), Error>;
    type SerializeStruct = ser::Impossible<(), Error>;
    type SerializeStructVariant = ser::Impossible<(), Error>;

    fn serialize_str(self, v: &str) -> Result {
        self.0.string(v);
        Ok(())
    }
    fn serialize_bool(self, _: bool) -> Result {
        Err(Error)
    }
    fn serialize_i8(self, _: i8) -> Result {
        Err(Error)
    }
    fn serialize_i16(self, _: i16) -> Result {
        Err(Error)
    }
    fn serialize_i32(self, _: i32) -> Result {
        Err(Error)
    }
    fn serialize_i64(self, _: i64) -> Result {
        Err(Error)
    }
    fn serialize_u8(self, _: u8) -> Result {
        Err(Error)
    }
    fn serialize_u16(self, _: u16) -> Result {
        Err(Error)
    }
    fn serialize_u32(self, _: u32) -> Result {
        Err(Error)
    }
    fn serialize_u64(self, _: u64) -> Result {
        Err(Error)
    }
    fn serialize_f32(self, _: f32) -> Result {
        Err(Error)
    }
    fn serialize_f64(self, _: f64) -> Result {
        Err(Error)
    }
    fn serialize_char(self, _: char) -> Result {
        Err(Error)
    }
    fn serialize_bytes(self, _: &[u8]) -> Result {
        Err(Error)
    }
    fn serialize_none(self) -> Result {
        Err(Error)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result {
        Err(Error)
    }
    fn serialize_unit(self) -> Result {
        Err(Error)
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result {
        Err(Error)
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, _: &'static str) -> Result {
        Err(Error)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, _: &T) -> Result {
        Err(Error)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result {
        Err(Error)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq> {
        Err(Error)
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple> {
        Err(Error)
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct> {
        Err(Error)
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant> {
        Err(Error)
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap> {
        Err(Error)
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct> {
        Err(Error)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant> {
        Err(Error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rust_float(v: f64) -> String {
        v.to_string()
    }

    #[test]
    fn matches_serde_json() {
        let values = [
            json!("quote \" backslash \\ newline \n tab \t bell \u{7} del \u{7f} é 😀"),
            json!({"a":1,"b":-42,"c":18446744073709551615u64,"d":true,"e":false,"f":"x","g":9.5,
                   "h":-0.25,"i":null}),
            json!({"esc\"aped\nkey":"v","":""}),
            json!({}),
            json!(0),
            json!(i64::MIN),
        ];
        for value in values {
            assert_eq!(
                to_string(&value, rust_float).unwrap(),
                serde_json::to_string(&value).unwrap(),
                "{value}"
            );
        }
        let all_controls: String = (0u8..0x20).map(char::from).collect();
        assert_eq!(
            to_string(&all_controls, rust_float).unwrap(),
            serde_json::to_string(&all_controls).unwrap()
        );
    }

    #[test]
    fn refuses_what_events_never_contain() {
        assert!(to_string(&json!([1, 2]), rust_float).is_none());
        assert!(to_string(&f64::NAN, rust_float).is_none());
        assert!(to_string(&vec![1u8], rust_float).is_none());
        let mut map = std::collections::BTreeMap::new();
        map.insert(1, 2);
        assert!(to_string(&map, rust_float).is_none(), "non-string keys");
    }
}
