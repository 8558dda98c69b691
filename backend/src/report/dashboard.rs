//! The stats page: report_service serves it at `/`, with its files under `/assets/`, from
//! `DASHBOARD_DIR` (plain HTML, CSS and ES modules: nothing to build).
//!
//! The page calls the API on its own origin with relative URLs, so it works on any host and
//! port and behind a reverse proxy, even under a path prefix the proxy strips. Its files keep
//! their names from one release to the next, so every answer says `no-cache`: a browser
//! revalidates (`Last-Modified`) and picks up a new release at once.
//!
//! The page holds API keys and shared-link tokens in `sessionStorage`, so it is served with a
//! policy that lets it run only its own scripts and talk only to its own origin: an injected
//! script or a framing page cannot reach them. No `Referer` leaves it either.

use std::path::Path;

use axum::handler::HandlerWithoutStateExt;
use axum::http::{header, HeaderValue, StatusCode};
use axum::Router;
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::http::error_response;

/// Where the page's files are served, below the root.
pub const ASSETS: &str = "/assets";

const POLICY: &str = "default-src 'self'; img-src 'self' data:; object-src 'none'; \
                      base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// `/` (the page) and `/assets/*` from `dir`, or nothing when `dir` has no `index.html`: then
/// the API still works and `/` answers the usual JSON 404 (logged once here).
pub fn router<S: Clone + Send + Sync + 'static>(dir: &Path) -> Router<S> {
    let index = dir.join("index.html");
    if !index.is_file() {
        tracing::warn!(dir = %dir.display(), "no index.html in DASHBOARD_DIR: the stats page is not served (the API is)");
        return Router::new();
    }
    let missing = (|| async { error_response(StatusCode::NOT_FOUND, "no such file", None, None) })
        .into_service();
    let header =
        |name, value| SetResponseHeaderLayer::overriding(name, HeaderValue::from_static(value));
    Router::new()
        .route_service("/", ServeFile::new(index))
        .nest_service(ASSETS, ServeDir::new(dir.join("assets")).fallback(missing))
        .layer(header(header::CACHE_CONTROL, "no-cache"))
        .layer(header(header::CONTENT_SECURITY_POLICY, POLICY))
        .layer(header(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(header(header::REFERRER_POLICY, "no-referrer"))
}
