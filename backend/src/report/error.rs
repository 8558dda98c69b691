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
    /// The site's reports are private and no valid key was presented. The same answer for a
    /// missing and a wrong key, and nothing about the site or its keys.
    #[error("this report requires a valid API key: send `Authorization: Bearer <key>`")]
    Unauthorized,
    /// A well-formed name of something the site does not have (a funnel); `field` names the
    /// parameter.
    #[error("{message}")]
    NotFound {
        field: &'static str,
        message: String,
    },
}

impl IntoResponse for ReportError {
    fn into_response(self) -> Response {
        match &self {
            Self::BadParameter(e) => {
                error_response(StatusCode::BAD_REQUEST, &e.message, e.field, None)
            }
            Self::NotFound { field, message } => {
                error_response(StatusCode::NOT_FOUND, message, Some(field), None)
            }
            Self::Unauthorized => {
                let mut response =
                    error_response(StatusCode::UNAUTHORIZED, &self.to_string(), None, None);
                response.headers_mut().insert(
                    axum::http::header::WWW_AUTHENTICATE,
                    axum::http::HeaderValue::from_static("Bearer realm=\"beacon\""),
                );
                response
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
