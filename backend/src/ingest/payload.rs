//! Turning a request body into a list of JSON values, one per event, within the size limits.
//!
//! `navigator.sendBeacon` with a string body sends `text/plain` (which avoids a CORS preflight),
//! so that is parsed as JSON exactly like `application/json`.

use axum::http::{header, HeaderMap};
use serde_json::Value;

use super::bounds::{BODY_TIMEOUT, MAX_BODY_BYTES, MAX_EVENTS};
use super::error::IngestError;

/// What the client sent: one event or a batch. Single events get single-event answers.
#[derive(Debug)]
pub enum Payload {
    Single(Value),
    Batch(Vec<Value>),
}

/// Accepts `application/json`, `text/plain` (any charset) and a missing Content-Type.
pub fn check_content_type(headers: &HeaderMap) -> Result<(), IngestError> {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return Ok(());
    };
    // A header that is not visible ASCII is no media type we know: refused, not read as empty.
    let text = value.to_str().unwrap_or("\u{fffd}").to_ascii_lowercase();
    let essence = text.split(';').next().unwrap_or("").trim();
    match essence {
        "application/json" | "text/plain" | "" => Ok(()),
        _ => Err(IngestError::UnsupportedMediaType(
            String::from_utf8_lossy(value.as_bytes()).into_owned(),
        )),
    }
}

/// Reads at most [`MAX_BODY_BYTES`] within [`BODY_TIMEOUT`]; a longer or slower body is
/// refused without buffering the rest.
pub async fn read_body(body: axum::body::Body) -> Result<bytes::Bytes, IngestError> {
    use http_body_util::{BodyExt, LengthLimitError, Limited};
    let read = tokio::time::timeout(BODY_TIMEOUT, Limited::new(body, MAX_BODY_BYTES).collect());
    let Ok(result) = read.await else {
        return Err(IngestError::BodyTimeout);
    };
    match result {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => Err(IngestError::BodyTooLarge),
        Err(_) => Err(IngestError::BodyUnreadable),
    }
}

impl Payload {
    /// The events sent, as JSON values.
    pub fn values(&self) -> &[Value] {
        match self {
            Self::Single(value) => std::slice::from_ref(value),
            Self::Batch(values) => values,
        }
    }

    pub fn parse(body: &[u8]) -> Result<Self, IngestError> {
        // serde_json caps nesting depth (128), so deeply nested bodies fail here cheaply.
        let value: Value =
            serde_json::from_slice(body).map_err(|e| IngestError::MalformedJson(e.to_string()))?;
        match value {
            Value::Object(_) => Ok(Self::Single(value)),
            Value::Array(items) if items.is_empty() => Err(IngestError::EmptyBatch),
            Value::Array(items) if items.len() > MAX_EVENTS => {
                Err(IngestError::TooManyEvents(items.len()))
            }
            Value::Array(items) => Ok(Self::Batch(items)),
            _ => Err(IngestError::NotAnEventOrBatch),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        assert!(matches!(
            Payload::parse(br#"{"a":1}"#),
            Ok(Payload::Single(_))
        ));
        assert!(matches!(Payload::parse(br#"[{"a":1},2]"#), Ok(Payload::Batch(v)) if v.len() == 2));
        assert!(matches!(
            Payload::parse(b"[]"),
            Err(IngestError::EmptyBatch)
        ));
        assert!(matches!(
            Payload::parse(b"42"),
            Err(IngestError::NotAnEventOrBatch)
        ));
        assert!(matches!(
            Payload::parse(b"{\"a\":"),
            Err(IngestError::MalformedJson(_))
        ));
        assert!(matches!(
            Payload::parse(&[0xff, 0xfe]),
            Err(IngestError::MalformedJson(_))
        ));
        let deep = "[".repeat(10_000);
        assert!(matches!(
            Payload::parse(deep.as_bytes()),
            Err(IngestError::MalformedJson(_))
        ));
        let many = format!("[{}{{}}]", "{},".repeat(MAX_EVENTS));
        assert!(matches!(
            Payload::parse(many.as_bytes()),
            Err(IngestError::TooManyEvents(501))
        ));
    }

    #[test]
    fn content_types() {
        let with = |ct: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::CONTENT_TYPE, ct.parse().unwrap());
            check_content_type(&h)
        };
        assert!(check_content_type(&HeaderMap::new()).is_ok());
        assert!(with("application/json").is_ok());
        assert!(with("text/plain;charset=UTF-8").is_ok());
        assert!(with("Application/JSON; charset=utf-8").is_ok());
        assert!(with("application/x-www-form-urlencoded").is_err());
        assert!(with("multipart/form-data; boundary=x").is_err());
        let mut garbled = HeaderMap::new();
        garbled.insert(
            header::CONTENT_TYPE,
            axum::http::HeaderValue::from_bytes(b"application/json\xff").unwrap(),
        );
        assert!(check_content_type(&garbled).is_err());
    }
}
