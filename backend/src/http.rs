//! What every HTTP service shares: how it serves (request ids, one tracing span per request,
//! request metrics, `/metrics`, `Server-Timing`), its CORS policy, and the JSON error body.

use std::net::SocketAddr;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::serve::ListenerExt;
use axum::{Json, Router};
use serde::Serialize;
use tokio::net::TcpListener;
use tower_http::cors::{Any, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use utoipa::ToSchema;

use crate::metrics;
use crate::shutdown::Shutdown;

mod connections;

/// The body of every 4xx/5xx: what went wrong and, when one field is at fault, which.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Error)]
pub struct ErrorBody<'a> {
    /// What went wrong, in a sentence that names the field and the rule.
    pub error: &'a str,
    /// The parameter or event field at fault, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String, required = false)]
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
        // The tracker honours Retry-After on a 503, and a dashboard on another origin may read
        // Server-Timing; browsers hide both unless exposed.
        .expose_headers([header::RETRY_AFTER, SERVER_TIMING])
        .max_age(std::time::Duration::from_secs(86_400))
}

/// `/healthz`'s answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    pub status: Up,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Up {
    Ok,
}

/// `/readyz`'s answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct Readiness<'a> {
    pub status: Ready,
    /// What was checked: `kafka` (ingestion), `mongodb` (reports, the worker), or what keeps
    /// the worker from its work (`mongodb writes`, a starved or stalled consumer).
    #[schema(value_type = String, examples("kafka", "mongodb"))]
    pub dependency: &'a str,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Ready {
    Ready,
    Unavailable,
}

/// `GET /healthz`: the process is up and serving.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "operations",
    operation_id = "getHealth",
    summary = "Liveness: the process is up and serving",
    responses((status = 200, description = "Up.", body = Health, example = json!({ "status": "ok" }))),
)]
pub async fn healthz() -> Json<Health> {
    Json(Health { status: Up::Ok })
}

/// The `/readyz` answer for a dependency check.
pub fn readiness(ready: bool, dependency: &str) -> Response {
    let (code, status) = if ready {
        (StatusCode::OK, Ready::Ready)
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, Ready::Unavailable)
    };
    (code, Json(Readiness { status, dependency })).into_response()
}

/// Serves `app` as `service` until `shutdown` fires, then lets in-flight requests finish.
/// Adds `GET /metrics`, request metrics per route, and an `x-request-id` (kept if the client
/// sent one) that is echoed in the response and recorded on the request's tracing span.
///
/// At most `max_connections` connections are open at once (see `connections`).
pub async fn serve(
    service: &'static str,
    listener: TcpListener,
    max_connections: usize,
    app: Router,
    mut shutdown: Shutdown,
) -> std::io::Result<()> {
    metrics::handle(); // install the recorder before anything is counted
    let app = app
        .route("/metrics", get(metrics::render))
        .fallback(|| async {
            error_response(StatusCode::NOT_FOUND, "no such endpoint", None, None)
        })
        .layer(middleware::map_response(json_method_not_allowed))
        .route_layer(middleware::from_fn_with_state(service, observe))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(
            TraceLayer::new_for_http().make_span_with(move |request: &Request| {
                let id = request
                    .headers()
                    .get("x-request-id")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("-");
                tracing::info_span!("request", service, method = %request.method(),
                path = %request.uri().path(), request_id = %id)
            }),
        )
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid));
    let (stopping, stopped) = tokio::sync::oneshot::channel::<()>();
    // `tap_io` (doing nothing) only because axum provides `ConnectInfo<SocketAddr>` for a tapped
    // listener of any kind, and the client address is needed (rate limits, visitor ids).
    let listener = connections::CappedListener::new(listener, max_connections).tap_io(|_| ());
    let server = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        shutdown.wait().await;
        let _ = stopping.send(());
    });
    // Graceful, but bounded: in-flight requests get SHUTDOWN_GRACE to finish; a connection
    // still open after that (a client that never completes its request) is dropped.
    let grace = async {
        if stopped.await.is_ok() {
            tokio::time::sleep(SHUTDOWN_GRACE).await;
        } else {
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        result = server => result,
        _ = grace => {
            tracing::warn!(service, grace_s = SHUTDOWN_GRACE.as_secs(), "connections still open after the shutdown grace period; closing them");
            Ok(())
        }
    }
}

/// How long a stopping service waits for in-flight requests.
pub const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(15);

/// axum answers a wrong method with an empty 405; every error of ours is JSON. (Done on the
/// response rather than with a method fallback, which would bypass the services' CORS layers
/// and so break preflight requests.)
async fn json_method_not_allowed(response: Response) -> Response {
    if response.status() != StatusCode::METHOD_NOT_ALLOWED
        || response.headers().contains_key(header::CONTENT_TYPE)
    {
        return response;
    }
    let (mut parts, _) = response.into_parts();
    let body = error_response(
        StatusCode::METHOD_NOT_ALLOWED,
        "method not allowed on this endpoint",
        None,
        None,
    );
    // Keep `Allow` and the other headers axum set.
    parts
        .headers
        .extend(body.headers().iter().map(|(k, v)| (k.clone(), v.clone())));
    Response::from_parts(parts, body.into_body())
}

/// `Server-Timing`: how long the service took to answer, as a browser's developer tools and
/// `PerformanceResourceTiming.serverTiming` show it.
const SERVER_TIMING: header::HeaderName = header::HeaderName::from_static("server-timing");

/// Counts every routed request by route and status, and times it; the same time goes back to
/// the client as `Server-Timing: app;dur=<ms>` (what `scripts/bench-reports` sums over the
/// stats page's calls).
async fn observe(State(service): State<&'static str>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let started = Instant::now();
    let mut response = next.run(request).await;
    let elapsed = started.elapsed();
    let status = response.status().as_u16().to_string();
    ::metrics::counter!(metrics::HTTP_REQUESTS, "service" => service, "route" => route.clone(), "status" => status)
        .increment(1);
    ::metrics::histogram!(metrics::HTTP_SECONDS, "service" => service, "route" => route)
        .record(elapsed.as_secs_f64());
    let timing = format!("app;dur={:.1}", elapsed.as_secs_f64() * 1000.0);
    if let Ok(value) = HeaderValue::from_str(&timing) {
        response.headers_mut().insert(SERVER_TIMING, value);
    }
    response
}
