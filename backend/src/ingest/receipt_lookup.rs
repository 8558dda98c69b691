//! The HTTP side of receipts ([`super::receipts`] says why they exist): the `receipt` query
//! parameter of `POST /event`, and `POST /event/receipts`, which answers which of a list of eids
//! this process accepted.
//!
//! A lookup is sent like an event batch: a `text/plain` body (a CORS simple request, so no
//! preflight) that is parsed as JSON, with the same limits and the same JSON errors.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use super::bounds::{EIDS, MAX_EIDS_ASKED};
use super::payload::{self, read_body};
use super::sender::ip_of;
use super::{IngestError, IngestState};
use crate::api_doc::responses::RateLimited;
use crate::api_doc::wire::ReceiptsAsked;
use crate::http::ErrorBody;
use crate::metrics::{RECEIPTS_ASKED, RECEIPTS_RECEIVED};
use crate::pipeline::EventSink;

/// Whether a `POST /event` asked for receipts: `receipt=1` or `receipt=true` in its query. Any
/// other value means no; other parameters are ignored, as `/event` always ignored its query.
pub(super) fn requested(query: Option<&str>) -> bool {
    let Some(query) = query else {
        return false;
    };
    serde_urlencoded::from_str::<Vec<(String, String)>>(query)
        .unwrap_or_default()
        .iter()
        .any(|(name, value)| name == "receipt" && matches!(value.as_str(), "1" | "true"))
}

/// The answer to a lookup.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Receipts)]
pub struct Received {
    /// The asked eids this process accepted, in the order asked, each once, lowercase and
    /// hyphenated.
    #[schema(max_items = 200)]
    received: Vec<Uuid>,
}

/// `POST /event/receipts` with `{"eids": [...]}`: `200 {"received": [...]}`, or a 4xx in the
/// error format of `POST /event`. Never a 5xx: it reads only this process's memory.
#[utoipa::path(
    post,
    path = "/event/receipts",
    tag = "ingestion",
    operation_id = "postEventReceipts",
    summary = "Ask which of your events were accepted (sent with `?receipt=1`)",
    description = "For a tracker that sent events with `navigator.sendBeacon`, which never says \
        whether they arrived: it asks once on the next page load and re-sends only the events \
        not listed. The answer lists the asked eids that this ingestion process accepted with \
        `POST /event?receipt=1` within at least the last 10 minutes (less only above about 660 \
        such events a second per process), in the order asked, each once, as lowercase \
        hyphenated UUIDs. It is an optimisation only: an eid accepted by another ingestion \
        replica, before a restart or longer ago is not listed, and re-sending it is harmless \
        (events are stored once per `eid`). Like `POST /event`, the body may be sent as \
        `text/plain` (no CORS preflight), is parsed as JSON, and is limited to 1 MiB; unknown \
        fields are ignored. Each request counts as one event against the client IP's rate \
        limit.",
    request_body(
        content = ReceiptsAsked,
        description = "As JSON; the same JSON is accepted as `text/plain` (no CORS preflight) \
            and without Content-Type.",
        example = json!({ "eids": [
            "0192f1c4-6a8b-7cde-9f01-23456789abcd", "0192f1c4-6a8b-7cde-9f01-23456789abce"
        ] }),
    ),
    responses(
        (status = 200, description = "The asked eids this process accepted (possibly none).",
            body = Received, example = json!({ "received": ["0192f1c4-6a8b-7cde-9f01-23456789abcd"] })),
        (status = 400, description = "Not JSON, no `eids` array, more than 200 eids, or an entry \
            that is not a UUID (the message names its index); `field` is `eids` except for a \
            body that is not JSON.", body = ErrorBody,
            example = json!({ "error": "`eids[1]` must be a UUID", "field": "eids" })),
        (status = 413, description = "The body is larger than 1 MiB (1048576 bytes).",
            body = ErrorBody, example = json!({ "error": "body is larger than 1048576 bytes" })),
        (status = 415, description = "Content-Type is neither application/json nor text/plain.",
            body = ErrorBody, example = json!({ "error": "unsupported Content-Type \
            `application/x-www-form-urlencoded`; send application/json or text/plain" })),
        (status = 429, response = RateLimited),
    ),
)]
pub(super) async fn post_receipts<S: EventSink>(
    State(state): State<Arc<IngestState<S>>>,
    request: Request,
) -> Response {
    match look_up(&state, request).await {
        Ok(received) => (StatusCode::OK, Json(Received { received })).into_response(),
        // Not counted as refused events: a lookup carries none.
        Err(e) => e.into_response(),
    }
}

async fn look_up<S: EventSink>(
    state: &IngestState<S>,
    request: Request,
) -> Result<Vec<Uuid>, IngestError> {
    let (parts, body) = request.into_parts();
    payload::check_content_type(&parts.headers)?;
    // One event's token per lookup, whatever its size, charged before the body is read: a
    // lookup costs a lock and at most 200 hash lookups (no Kafka, no enrichment), and asking
    // about an event costs the tracker less than re-sending it would.
    state
        .limits
        .check_ip(ip_of(&parts, state.trust_forwarded_for), 1)?;
    let body = read_body(body).await?;
    let asked = parse(&body)?;
    let received = state.receipts.received(&asked);
    ::metrics::counter!(RECEIPTS_ASKED).increment(asked.len() as u64);
    ::metrics::counter!(RECEIPTS_RECEIVED).increment(received.len() as u64);
    Ok(received)
}

/// The eids a lookup asks about, in order: `{"eids": ["<uuid>", ...]}`, at most
/// [`MAX_EIDS_ASKED`]. Other fields are ignored, as in events.
fn parse(body: &[u8]) -> Result<Vec<Uuid>, IngestError> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| IngestError::MalformedJson(e.to_string()))?;
    let Some(Value::Array(entries)) = value.get(EIDS) else {
        return Err(IngestError::NoEidList);
    };
    if entries.len() > MAX_EIDS_ASKED {
        return Err(IngestError::TooManyEidsAsked(entries.len()));
    }
    entries
        .iter()
        .enumerate()
        .map(|(index, entry)| {
            entry
                .as_str()
                .and_then(|text| Uuid::parse_str(text).ok())
                .ok_or(IngestError::NotAnEid(index))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn receipt_parameter() {
        for yes in [
            "receipt=1",
            "receipt=true",
            "a=b&receipt=1",
            "receipt=0&receipt=1",
        ] {
            assert!(requested(Some(yes)), "{yes}");
        }
        for no in [
            "",
            "receipt=0",
            "receipt=yes",
            "receipt",
            "receipts=1",
            "%ff=&&==",
        ] {
            assert!(!requested(Some(no)), "{no}");
        }
        assert!(!requested(None));
    }

    #[test]
    fn lookup_bodies() {
        let a = "0192f0e4-7b1a-7cc3-8d3e-1f2a3b4c5d6e";
        let parsed =
            parse(format!(r#"{{"eids":["{a}","{}"],"v":1}}"#, a.to_uppercase()).as_bytes());
        assert_eq!(parsed.unwrap(), vec![Uuid::parse_str(a).unwrap(); 2]);
        assert!(parse(br#"{"eids":[]}"#).unwrap().is_empty());
        assert!(matches!(parse(b"{"), Err(IngestError::MalformedJson(_))));
        for no_list in [&br#"{}"#[..], br#"{"eids":"x"}"#, br#"["x"]"#, b"null"] {
            assert!(matches!(parse(no_list), Err(IngestError::NoEidList)));
        }
        let bad = format!(r#"{{"eids":["{a}",7]}}"#);
        assert!(matches!(
            parse(bad.as_bytes()),
            Err(IngestError::NotAnEid(1))
        ));
        let bad = format!(r#"{{"eids":["{a}","{a}","nope"]}}"#);
        assert!(matches!(
            parse(bad.as_bytes()),
            Err(IngestError::NotAnEid(2))
        ));
        let many = serde_json::json!({ "eids": vec![a; MAX_EIDS_ASKED + 1] }).to_string();
        assert!(matches!(
            parse(many.as_bytes()),
            Err(IngestError::TooManyEidsAsked(201))
        ));
    }
}
