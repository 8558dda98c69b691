//! Revenue on an event (`{"amount": 1322.22, "currency": "USD"}`, Plausible's shape): what a
//! purchase was worth, so goal reports can sum and average it per currency.
//!
//! The amount is kept exactly, in millionths of the currency unit (an `i64`), never as a
//! float: it is read from its decimal text (a JSON number as written, or a string), at most six
//! decimals, at most 10^12 either way. The currency is three upper-case letters (ISO 4217's
//! form; the list itself is not checked, so a new code needs no release).

use alloc::string::String;

#[cfg(feature = "std")]
use serde::{Deserialize, Deserializer, Serialize, Serializer};
#[cfg(feature = "std")]
use serde_json::Value;

use crate::fields::names;
use crate::EventError;

/// Largest amount, in whole units.
pub const MAX_REVENUE_AMOUNT: i64 = 1_000_000_000_000;
/// Millionths per unit.
const MICROS: i64 = 1_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Revenue {
    micros: i64,
    currency: [u8; 3],
}

fn rule(text: &'static str) -> EventError {
    EventError::rule(names::REVENUE, text)
}

impl Revenue {
    /// `{"amount": <number or decimal string>, "currency": "EUR"}`.
    #[cfg(feature = "std")]
    pub fn parse(value: &Value) -> Result<Self, EventError> {
        let obj = value
            .as_object()
            .ok_or_else(|| rule("must be an object with `amount` and `currency`"))?;
        let currency = match obj.get("currency") {
            Some(Value::String(c)) => c.as_str(),
            _ => return Err(rule("needs a `currency`: three letters, e.g. USD")),
        };
        match obj.get("amount") {
            Some(Value::String(s)) => Self::new(s.trim(), currency),
            // A number as written when it is a plain decimal; otherwise (an exponent, more
            // than 6 decimals) rounded to the nearest millionth.
            Some(Value::Number(n)) => Self::new(&n.to_string(), currency).or_else(|e| {
                let f = n.as_f64().filter(|f| f.abs() < MAX_REVENUE_AMOUNT as f64);
                let Some(f) = f else { return Err(e) };
                Self::from_micros((f * MICROS as f64).round() as i64, currency)
            }),
            _ => Err(rule("needs an `amount`: a number or a decimal string")),
        }
    }

    /// From the amount's decimal text and the currency code.
    pub fn new(amount: &str, currency: &str) -> Result<Self, EventError> {
        let currency = code(currency)?;
        Ok(Self {
            micros: micros(amount)?,
            currency,
        })
    }

    /// An amount already in millionths (as stored), and the currency code.
    pub fn from_micros(micros: i64, currency: &str) -> Result<Self, EventError> {
        Ok(Self {
            micros,
            currency: code(currency)?,
        })
    }

    /// The amount in millionths of the currency unit.
    pub fn micros(&self) -> i64 {
        self.micros
    }

    /// The currency code's letters, upper-case ASCII.
    pub fn currency_letters(&self) -> [u8; 3] {
        self.currency
    }

    pub fn currency(&self) -> &str {
        core::str::from_utf8(&self.currency).unwrap_or("XXX")
    }

    /// The amount as decimal text, without trailing zeros (`1322.22`, `5`, `-0.5`).
    pub fn amount_text(&self) -> String {
        decimal(self.micros)
    }
}

/// A currency code: three upper-case ASCII letters.
fn code(currency: &str) -> Result<[u8; 3], EventError> {
    match currency.as_bytes() {
        [a, b, c] if [a, b, c].iter().all(|l| l.is_ascii_uppercase()) => Ok([*a, *b, *c]),
        _ => Err(rule(
            "`currency` must be three upper-case letters, e.g. USD",
        )),
    }
}

/// `micros` millionths as decimal text (without `core::fmt`: the wasm tracker writes it too).
fn decimal(micros: i64) -> String {
    let mut out = String::new();
    if micros < 0 {
        out.push('-');
    }
    let (whole, fraction) = (
        micros.unsigned_abs() / 1_000_000,
        micros.unsigned_abs() % 1_000_000,
    );
    crate::json::uint(&mut out, whole);
    if fraction != 0 {
        // The six decimals without their trailing zeros: dropped as numbers, not as text.
        let (mut kept, mut width) = (fraction, 6);
        while kept % 10 == 0 {
            kept /= 10;
            width -= 1;
        }
        let mut digits = String::new();
        crate::json::uint(&mut digits, kept);
        out.push('.');
        (digits.len()..width).for_each(|_| out.push('0'));
        out.push_str(&digits);
    }
    out
}

/// Decimal text (`-12.5`, `3`, `0.000001`) in millionths. Read as bytes and digits folded by
/// hand: the wasm tracker checks amounts too, and `str::parse` and `str`'s searchers would
/// link core's integer parser and pattern code into it.
fn micros(text: &str) -> Result<i64, EventError> {
    const SHAPE: &str = "`amount` must be a decimal number with at most 6 decimals";
    let (negative, digits) = match text.as_bytes() {
        [b'-', rest @ ..] => (true, rest),
        all => (false, all),
    };
    let (whole, fraction) = match digits.iter().position(|&b| b == b'.') {
        Some(dot) => (&digits[..dot], &digits[dot + 1..]),
        None => (digits, &[][..]),
    };
    let all_digits = |s: &[u8]| s.iter().all(u8::is_ascii_digit);
    if whole.is_empty() || !all_digits(whole) || !all_digits(fraction) || fraction.len() > 6 {
        return Err(rule(SHAPE));
    }
    // At most 10^12 whole units: a longer run of digits is refused before it could overflow.
    let fold = |s: &[u8]| s.iter().fold(0_i64, |n, b| n * 10 + i64::from(b - b'0'));
    let leading_zeros = whole.iter().take_while(|&&b| b == b'0').count();
    let whole = &whole[leading_zeros..];
    if whole.len() > 12 || fold(whole) >= MAX_REVENUE_AMOUNT {
        return Err(rule("`amount` must be less than 10^12"));
    }
    let padding = (fraction.len()..6).fold(1, |scale, _| scale * 10);
    let value = fold(whole) * MICROS + fold(fraction) * padding;
    Ok(if negative { -value } else { value })
}

/// On the wire and in Kafka: `{"amount": "<decimal>", "currency": "USD"}` (the amount as text,
/// so no float ever rounds it).
#[cfg(feature = "std")]
#[derive(Serialize, Deserialize)]
struct Wire {
    amount: Value,
    currency: String,
}

#[cfg(feature = "std")]
impl Serialize for Revenue {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        Wire {
            amount: Value::String(self.amount_text()),
            currency: self.currency().to_owned(),
        }
        .serialize(serializer)
    }
}

#[cfg(feature = "std")]
impl<'de> Deserialize<'de> for Revenue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let wire = Wire::deserialize(deserializer)?;
        let value = serde_json::json!({ "amount": wire.amount, "currency": wire.currency });
        Self::parse(&value).map_err(|e| serde::de::Error::custom(e.message))
    }
}

#[cfg(all(test, feature = "std"))]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn amounts_are_exact_and_currencies_checked() {
        let r = Revenue::parse(&json!({"amount": 1322.22, "currency": "USD"})).unwrap();
        assert_eq!(
            (r.micros(), r.currency(), r.amount_text().as_str()),
            (1_322_220_000, "USD", "1322.22")
        );
        let r = Revenue::parse(&json!({"amount": "-0.5", "currency": "EUR"})).unwrap();
        assert_eq!((r.micros(), r.amount_text().as_str()), (-500_000, "-0.5"));
        assert_eq!(Revenue::new("5", "JPY").unwrap().amount_text(), "5");
        assert_eq!(Revenue::new("0.000001", "BTC").unwrap().micros(), 1);
        let rounded = |amount: Value| {
            Revenue::parse(&json!({"amount": amount, "currency": "USD"}))
                .unwrap()
                .micros()
        };
        assert_eq!(rounded(json!(1.23456789)), 1_234_568);
        assert_eq!(rounded(json!(1e-7)), 0);
        assert_eq!(rounded(json!(2e3)), 2_000_000_000);
        for bad in [
            json!({"amount": 1, "currency": "usd"}),
            json!({"amount": 1, "currency": "EURO"}),
            json!({"amount": "1e3", "currency": "USD"}),
            json!({"amount": "1.0000001", "currency": "USD"}),
            json!({"amount": 1e12, "currency": "USD"}),
            json!({"amount": -1e15, "currency": "USD"}),
            json!({"amount": "", "currency": "USD"}),
            json!({"amount": ".5", "currency": "USD"}),
            json!({"currency": "USD"}),
            json!("10 USD"),
        ] {
            let e = Revenue::parse(&bad).unwrap_err();
            assert_eq!(e.field, Some(names::REVENUE), "{bad}");
        }
        let wire = serde_json::to_string(&Revenue::new("19.90", "EUR").unwrap()).unwrap();
        assert_eq!(wire, r#"{"amount":"19.9","currency":"EUR"}"#);
        let back: Revenue = serde_json::from_str(&wire).unwrap();
        assert_eq!(back.micros(), 19_900_000);
    }

    #[test]
    fn amount_text_round_trips_without_trailing_zeros() {
        for micros in [
            0,
            1,
            10,
            120_000,
            999_999,
            1_000_001,
            5_000_000,
            -1,
            -20,
            123_456_789_000,
        ] {
            let text = Revenue::from_micros(micros, "USD").unwrap().amount_text();
            let (whole, fraction) = (micros.abs() / MICROS, micros.abs() % MICROS);
            let sign = if micros < 0 { "-" } else { "" };
            let decimals = format!("{fraction:06}");
            let expected = match decimals.trim_end_matches('0') {
                "" => format!("{sign}{whole}"),
                kept => format!("{sign}{whole}.{kept}"),
            };
            assert_eq!(text, expected);
            assert_eq!(Revenue::new(&text, "USD").unwrap().micros(), micros);
        }
        let micros = |text: &str| Revenue::new(text, "USD").map(|r| r.micros());
        assert_eq!(micros("0007.50"), Ok(7_500_000));
        assert_eq!(micros("1."), Ok(1_000_000));
        assert_eq!(micros(&format!("{}1", "0".repeat(20))), Ok(1_000_000));
        for bad in ["-", "--1", "1.2.3", "+1", "1,5", "0001000000000000", "é"] {
            assert!(micros(bad).is_err(), "{bad}");
        }
    }
}
