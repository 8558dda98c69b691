//! The report API (`report_service`).
//!
//! `GET /stats` answers what a site owner asks first (views, people, top pages) and, with
//! `metrics=`, visits, bounce rate and visit duration; `/stats/timeseries`, `/stats/breakdown`
//! and `/stats/realtime` answer the rest. Unfiltered reports read the worker's rollups (a bounded
//! number of documents); filtered ones aggregate raw events ([`scan`]). `/sites` lists the
//! registered sites a caller may read, and `/` is the stats page that shows it all
//! ([`dashboard`]).

mod breakdown;
pub mod dashboard;
mod error;
mod query;
mod render;
pub mod scan;
mod site_list;
mod source;
mod stats;
mod timeseries;

pub use error::ReportError;
pub use query::{Compare, Filter, Interval, Metric, ReportQuery};
pub use stats::{PathViews, StatsResponse, Totals};

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::{header, Method};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};
use time::OffsetDateTime;
use tokio::net::TcpListener;

use crate::config::Config;
use crate::shutdown::Shutdown;
use crate::store::MongoStore;
use crate::{http, ServiceError};
use query::accepts;

/// How many paths `top_paths` lists.
pub const TOP_PATHS: u64 = 10;
/// The realtime window.
pub const REALTIME_SECONDS: i64 = 300;
/// The OpenAPI document for the report and ingestion APIs.
pub const OPENAPI: &str = include_str!("../../../docs/openapi.json");

/// The API, and the stats page from `dashboard_dir`.
pub fn router(store: Arc<MongoStore>, dashboard_dir: &std::path::Path) -> Router {
    Router::new()
        .route("/stats", get(stats::stats))
        .route("/stats/timeseries", get(timeseries::timeseries))
        .route("/stats/breakdown", get(breakdown::breakdown))
        .route("/stats/realtime", get(realtime))
        // Only the routes above: health, metrics and the API document stay open.
        .route_layer(axum::middleware::from_fn_with_state(
            store.clone(),
            require_key,
        ))
        .route("/sites", get(site_list::sites))
        .route("/openapi.json", get(openapi))
        .route("/healthz", get(http::healthz))
        .route("/readyz", get(MongoStore::readyz))
        .layer(http::open_cors(&[Method::GET, Method::OPTIONS]))
        .with_state(store)
        .merge(dashboard::router(dashboard_dir))
}

/// Runs the report service on `listener` until `shutdown`.
pub async fn run(
    config: &Config,
    listener: TcpListener,
    shutdown: Shutdown,
) -> Result<(), ServiceError> {
    let store = Arc::new(MongoStore::connect(&config.mongo_url).await?);
    tracing::info!(addr = %listener.local_addr()?, "report service listening");
    http::serve(
        "report",
        listener,
        config.max_connections,
        router(store, &config.dashboard_dir),
        shutdown,
    )
    .await?;
    Ok(())
}

/// Reports of a registered private site need one of its API keys ([`crate::sites`]). Checked
/// before the handler parses anything, so a caller without a key learns nothing from
/// validation errors either.
async fn require_key(
    State(store): State<Arc<MongoStore>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let sites = crate::sites::Sites::new(&store);
    let token = crate::sites::bearer_token(request.headers());
    match crate::sites::may_read(&sites, request.uri().query(), token).await {
        Ok(true) => next.run(request).await,
        Ok(false) => ReportError::Unauthorized.into_response(),
        Err(e) => ReportError::Unavailable(e).into_response(),
    }
}

pub async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

async fn realtime(
    State(store): State<Arc<MongoStore>>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ReportError> {
    let now = OffsetDateTime::now_utc();
    let q = ReportQuery::parse(query.as_deref(), accepts::REALTIME, now)?;
    let since = now - time::Duration::seconds(REALTIME_SECONDS);
    let visitors = store.active_visitors(q.site_id.as_str(), since).await?;
    Ok(Json(json!({
        "site_id": q.site_id.as_str(),
        "visitors": visitors,
        "window_seconds": REALTIME_SECONDS,
    })))
}
