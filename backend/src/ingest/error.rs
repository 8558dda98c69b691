//! Everything `POST /event` and `POST /event/receipts` can fail with, mapped to HTTP in one place.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use beacon_event::EventError;

use crate::http::error_response;
use crate::metrics::{DELIVERY_ERRORS, EVENTS_REJECTED};
use crate::pipeline::SinkError;

use super::bounds::{BODY_TIMEOUT, EIDS, MAX_BODY_BYTES, MAX_EIDS_ASKED, MAX_EVENTS};

/// One event of a batch that was refused, and why.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Rejected {
    /// Position of the event in the batch.
    pub index: usize,
    pub error: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String, required = false)]
    pub field: Option<&'static str>,
}

/// A batch of which no event could be accepted: why, event by event.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct BatchRejected<'a> {
    #[schema(value_type = String, examples("none of the 2 events in the batch is valid"))]
    pub error: &'a str,
    pub rejected: &'a [Rejected],
}

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("unsupported Content-Type `{0}`; send application/json or text/plain")]
    UnsupportedMediaType(String),
    #[error("body is larger than {MAX_BODY_BYTES} bytes")]
    BodyTooLarge,
    #[error("could not read the request body")]
    BodyUnreadable,
    #[error("the request body did not arrive within {} seconds", BODY_TIMEOUT.as_secs())]
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
    NoValidEvents(Vec<Rejected>),
    /// A single event broke a rule.
    #[error(transparent)]
    Invalid(#[from] EventError),
    /// A single event for a registered site that lists its domains, from a page on none of
    /// them (or naming no page); see [`crate::sites`].
    #[error("{ORIGIN_REFUSED}")]
    OriginRefused,
    /// Every event of a batch was refused for its origin.
    #[error("none of the {} events in the batch may be sent from this page", .0.len())]
    NoAllowedEvents(Vec<Rejected>),
    #[error("events could not be stored right now, retry later: {0}")]
    Unavailable(#[from] SinkError),
    #[error("{}", rate_message(.0))]
    RateLimited(#[from] super::limits::Exceeded),
    /// A receipts request without a list of eids.
    #[error("body must be a JSON object with an `eids` array of UUIDs")]
    NoEidList,
    #[error("`eids` has {0} entries; at most {MAX_EIDS_ASKED} are answered per request")]
    TooManyEidsAsked(usize),
    /// The entry of `eids` at this index is not a UUID string.
    #[error("`eids[{0}]` must be a UUID")]
    NotAnEid(usize),
}

fn rate_message(e: &super::limits::Exceeded) -> String {
    match &e.site {
        Some(site) => format!("too many events for site `{site}`; retry after the given seconds"),
        None => "too many events from this client; retry after the given seconds".to_owned(),
    }
}

impl IngestError {
    /// Records the failure in the metrics: rejected events by reason, or a delivery error.
    /// (`POST /event` does; a receipts lookup carries no events.)
    pub fn count(&self) {
        match self {
            Self::Invalid(e) => count_rejected(e.field, 1),
            Self::NoValidEvents(rejected) | Self::NoAllowedEvents(rejected) => {
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
            Self::RateLimited(_) => count_rejected(Some("rate_limit"), 1),
            Self::OriginRefused => count_rejected(Some(SITE_ID), 1),
            // A receipts request carries no events (and is answered with `answer`, uncounted).
            Self::NoEidList | Self::TooManyEidsAsked(_) | Self::NotAnEid(_) => {}
            _ => count_rejected(Some("body"), 1),
        }
    }
}

/// Counts `n` refused events under `reason` (the field at fault; `event` for a non-object).
pub(super) fn count_rejected(field: Option<&'static str>, n: u64) {
    metrics::counter!(EVENTS_REJECTED, "reason" => field.unwrap_or("event")).increment(n);
}

/// Why an event of a site restricted to its domains was refused (single event or batch entry).
pub const ORIGIN_REFUSED: &str =
    "`site_id` does not accept events from this page (check the site's registered domains)";
const SITE_ID: &str = beacon_event::fields::names::SITE_ID;

/// Seconds a client should wait before retrying after a 503.
const RETRY_AFTER_SECS: u32 = 5;

impl IntoResponse for IngestError {
    fn into_response(self) -> Response {
        let message = self.to_string();
        if let Self::NoValidEvents(rejected) | Self::NoAllowedEvents(rejected) = &self {
            let status = match self {
                Self::NoAllowedEvents(_) => StatusCode::FORBIDDEN,
                _ => StatusCode::BAD_REQUEST,
            };
            let body = BatchRejected {
                error: &message,
                rejected,
            };
            return (status, axum::Json(body)).into_response();
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
            Self::NoEidList | Self::TooManyEidsAsked(_) | Self::NotAnEid(_) => {
                (StatusCode::BAD_REQUEST, Some(EIDS), None)
            }
            Self::OriginRefused | Self::NoAllowedEvents(_) => {
                (StatusCode::FORBIDDEN, Some(SITE_ID), None)
            }
            Self::RateLimited(e) => {
                let field = e
                    .site
                    .as_ref()
                    .map(|_| beacon_event::fields::names::SITE_ID);
                let seconds = e.retry_after.as_secs_f64().ceil().max(1.0) as u32;
                (StatusCode::TOO_MANY_REQUESTS, field, Some(seconds))
            }
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
