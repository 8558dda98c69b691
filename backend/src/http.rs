//! What both HTTP services share: how they serve, their CORS policy, and the JSON error body.

use std::net::SocketAddr;

use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use serde::Serialize;
use tokio::net::TcpListener;
use tower_http::cors::{Any, CorsLayer};
use tower_http::trace::TraceLayer;

use crate::shutdown::Shutdown;

/// The body of every 4xx/5xx: what went wrong and, when one field is at fault, which.
#[derive(Debug, Serialize)]
pub struct ErrorBody<'a> {
    pub error: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<&'a str>,
}

/// A JSON error response, optionally with `Retry-After` (seconds).
pub fn error_response(
    status: StatusCode,
    error: &str,
    field: Option<&str>,
    retry_after: Option<u32>,
) -> Response {
    let mut response = (status, Json(ErrorBody { error, field })).into_response();
    if let Some(seconds) = retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

/// Any origin may call us: trackers run on customers' sites and dashboards anywhere.
pub fn open_cors(methods: &[Method]) -> CorsLayer {
    CorsLayer::new()
        .allow_origin(Any)
        .allow_methods(methods.to_vec())
        .allow_headers([header::CONTENT_TYPE, header::AUTHORIZATION])
        // The tracker honours Retry-After on a 503; browsers hide it unless exposed.
        .expose_headers([header::RETRY_AFTER])
        .max_age(std::time::Duration::from_secs(86_400))
}

/// `GET /healthz`: the process is up and serving.
pub async fn healthz() -> impl IntoResponse {
    Json(serde_json::json!({ "status": "ok" }))
}

/// The `/readyz` answer for a dependency check.
pub fn readiness(ready: bool, dependency: &str) -> Response {
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = serde_json::json!({
        "status": if ready { "ready" } else { "unavailable" },
        "dependency": dependency,
    });
    (status, Json(body)).into_response()
}

/// Serves `app` until `shutdown` fires, then lets in-flight requests finish.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    mut shutdown: Shutdown,
) -> std::io::Result<()> {
    let app = app.layer(TraceLayer::new_for_http());
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move { shutdown.wait().await })
    .await
}
