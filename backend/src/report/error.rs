//! Everything a report request can fail with, mapped to HTTP in one place.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use beacon_event::EventError;

use crate::http::error_response;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// A query parameter is missing or malformed.
    #[error(transparent)]
    BadParameter(#[from] EventError),
    #[error("the store is unavailable, retry later")]
    Unavailable(#[from] StoreError),
}

impl IntoResponse for ReportError {
    fn into_response(self) -> Response {
        match &self {
            Self::BadParameter(e) => {
                error_response(StatusCode::BAD_REQUEST, &e.message, e.field, None)
            }
            Self::Unavailable(e) => {
                tracing::warn!(error = %e, "report query failed");
                error_response(
                    StatusCode::SERVICE_UNAVAILABLE,
                    &self.to_string(),
                    None,
                    Some(5),
                )
            }
        }
    }
}
