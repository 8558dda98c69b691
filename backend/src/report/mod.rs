//! The report API (`report_service`).
//!
//! `GET /stats` answers what a site owner asks first (views, people, top pages) and, with
//! `metrics=`, visits, bounce rate and visit duration; `/stats/timeseries`, `/stats/breakdown`
//! and `/stats/realtime` answer the rest; `/stats/goals` and `/stats/funnel` report a registered
//! site's goals and funnels. Unfiltered reports read the worker's rollups (a bounded number of
//! documents); filtered ones, custom properties, goals and funnels aggregate raw events
//! ([`scan`]). `/sites` lists the
//! registered sites a caller may read, and `/` is the stats page that shows it all
//! ([`dashboard`]).

mod breakdown;
pub mod dashboard;
mod error;
pub mod filter;
mod funnel;
mod goals;
mod plausible;
pub(crate) mod query;
mod realtime;
mod render;
mod request;
pub mod scan;
mod site_list;
mod source;
mod stats;
mod timeseries;

pub use error::ReportError;
pub use query::{Compare, Filter, Interval, Metric, ReportQuery};
pub use realtime::{RealtimeResponse, REALTIME_SECONDS};
pub use render::ReportedDay;
pub use stats::{PathViews, StatsResponse, Totals};

use std::sync::Arc;

use axum::extract::State;
use axum::http::Method;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use tokio::net::TcpListener;

use crate::config::Config;
use crate::http::Readiness;
use crate::shutdown::Shutdown;
use crate::store::MongoStore;
use crate::{http, ServiceError};

/// The report API's operations in the OpenAPI document ([`crate::api_doc`]).
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    stats::stats,
    timeseries::timeseries,
    breakdown::breakdown,
    realtime::realtime,
    goals::goals,
    funnel::funnel,
    site_list::sites
))]
pub struct ReportApi;

/// How many paths `top_paths` lists.
pub const TOP_PATHS: u64 = 10;

/// The API, and the stats page from `dashboard_dir`.
pub fn router(store: Arc<MongoStore>, dashboard_dir: &std::path::Path) -> Router {
    Router::new()
        .route("/stats", get(stats::stats))
        .route("/stats/timeseries", get(timeseries::timeseries))
        .route("/stats/breakdown", get(breakdown::breakdown))
        .route("/stats/realtime", get(realtime::realtime))
        .route("/stats/goals", get(goals::goals))
        .route("/stats/funnel", get(funnel::funnel))
        .route("/sites", get(site_list::sites))
        .route("/openapi.json", get(crate::api_doc::openapi_json))
        .route("/healthz", get(http::healthz))
        .route("/readyz", get(readyz))
        .merge(plausible::router())
        .layer(http::open_cors(&[Method::GET, Method::OPTIONS]))
        .with_state(store)
        .merge(dashboard::router(dashboard_dir))
}

/// Breakdown pages the report service keeps while their days' totals stand (a few rows each;
/// the stats page asks for about ten per view).
const CACHED_PAGES: usize = 1024;

/// Runs the report service on `listener` until `shutdown`.
pub async fn run(
    config: &Config,
    listener: TcpListener,
    shutdown: Shutdown,
) -> Result<(), ServiceError> {
    let store = MongoStore::connect(&config.mongo_url).await?;
    let store = store
        .with_block_cache(config.report_cache_events)
        .with_page_cache(CACHED_PAGES)
        .with_day_cache(config.report_cache_rollups);
    let store = Arc::new(store);
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

/// `/readyz`: MongoDB answers.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "operations",
    operation_id = "getReadiness",
    summary = "Readiness: the service can reach its dependency",
    description = "Ingestion depends on Kafka; reports and the worker on MongoDB.",
    responses(
        (status = 200, description = "Ready.", body = Readiness,
            example = json!({ "status": "ready", "dependency": "kafka" })),
        (status = 503, description = "The dependency is unreachable.", body = Readiness,
            example = json!({ "status": "unavailable", "dependency": "mongodb" })),
    ),
)]
pub async fn readyz(State(store): State<Arc<MongoStore>>) -> Response {
    http::readiness(store.ping().await, "mongodb")
}
