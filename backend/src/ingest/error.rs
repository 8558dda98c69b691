//! Everything `POST /event` can fail with, mapped to HTTP in one place.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use beacon_event::EventError;

use crate::http::error_response;
use crate::metrics::{DELIVERY_ERRORS, EVENTS_REJECTED};
use crate::pipeline::SinkError;

use super::payload::{MAX_BODY_BYTES, MAX_EVENTS};

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("unsupported Content-Type `{0}`; send application/json or text/plain")]
    UnsupportedMediaType(String),
    #[error("body is larger than {MAX_BODY_BYTES} bytes")]
    BodyTooLarge,
    #[error("could not read the request body")]
    BodyUnreadable,
    #[error("the request body did not arrive within {} seconds", super::BODY_TIMEOUT.as_secs())]
    BodyTimeout,
    #[error("body is not valid JSON: {0}")]
    MalformedJson(String),
    #[error("body must be a JSON object (one event) or a JSON array of events")]
    NotAnEventOrBatch,
    #[error("batch is empty")]
    EmptyBatch,
    #[error("batch has {0} events; at most {MAX_EVENTS} are accepted per request")]
    TooManyEvents(usize),
    /// Every event of a batch broke a rule.
    #[error("none of the {} events in the batch is valid", .0.len())]
    NoValidEvents(Vec<super::Rejected>),
    /// A single event broke a rule.
    #[error(transparent)]
    Invalid(#[from] EventError),
    #[error("events could not be stored right now, retry later: {0}")]
    Unavailable(#[from] SinkError),
}

impl IngestError {
    /// Records the failure in the metrics: rejected events by reason, or a delivery error.
    fn count(&self) {
        match self {
            Self::Invalid(e) => count_rejected(e.field, 1),
            Self::NoValidEvents(rejected) => {
                for r in rejected {
                    count_rejected(r.field, 1);
                }
            }
            Self::Unavailable(e) => {
                let kind = match e {
                    SinkError::QueueFull => "queue_full",
                    SinkError::Timeout => "timeout",
                    SinkError::Kafka(_) => "kafka",
                    SinkError::Encode(_) => "encode",
                };
                metrics::counter!(DELIVERY_ERRORS, "kind" => kind).increment(1);
            }
            _ => count_rejected(Some("body"), 1),
        }
    }
}

/// Counts `n` refused events under `reason` (the field at fault; `event` for a non-object).
pub(super) fn count_rejected(field: Option<&'static str>, n: u64) {
    metrics::counter!(EVENTS_REJECTED, "reason" => field.unwrap_or("event")).increment(n);
}

/// Seconds a client should wait before retrying after a 503.
const RETRY_AFTER_SECS: u32 = 5;

impl IntoResponse for IngestError {
    fn into_response(self) -> Response {
        let message = self.to_string();
        self.count();
        if let Self::NoValidEvents(rejected) = &self {
            let body = serde_json::json!({ "error": message, "rejected": rejected });
            return (StatusCode::BAD_REQUEST, axum::Json(body)).into_response();
        }
        let (status, field, retry_after) = match &self {
            Self::UnsupportedMediaType(_) => (StatusCode::UNSUPPORTED_MEDIA_TYPE, None, None),
            Self::BodyTimeout => (StatusCode::REQUEST_TIMEOUT, None, None),
            Self::BodyTooLarge | Self::TooManyEvents(_) => {
                (StatusCode::PAYLOAD_TOO_LARGE, None, None)
            }
            Self::BodyUnreadable
            | Self::MalformedJson(_)
            | Self::NotAnEventOrBatch
            | Self::EmptyBatch
            | Self::NoValidEvents(_) => (StatusCode::BAD_REQUEST, None, None),
            Self::Invalid(e) => (StatusCode::BAD_REQUEST, e.field, None),
            Self::Unavailable(e) => {
                tracing::warn!(error = %e, "publishing failed; answering 503");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    None,
                    Some(RETRY_AFTER_SECS),
                )
            }
        };
        error_response(status, &message, field, retry_after)
    }
}
