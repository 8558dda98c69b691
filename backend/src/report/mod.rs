//! The report API (`report_service`): `GET /stats` answers what a site owner asks first — how
//! many views, how many people, which pages — for one site and one UTC day.

mod error;
mod query;

pub use error::ReportError;
pub use query::StatsQuery;

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::Method;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use time::OffsetDateTime;
use tokio::net::TcpListener;

use crate::config::Config;
use crate::shutdown::Shutdown;
use crate::store::{MongoStore, PathViews};
use crate::{http, ServiceError};

/// The public `/stats` response shape (a contract: fields are only ever added).
#[derive(Debug, Serialize)]
pub struct StatsResponse {
    pub site_id: String,
    pub date: String,
    pub total_views: u64,
    pub unique_users: u64,
    pub top_paths: Vec<PathViews>,
}

pub fn router(store: Arc<MongoStore>) -> Router {
    Router::new()
        .route("/stats", get(stats))
        .route("/healthz", get(http::healthz))
        .route("/readyz", get(MongoStore::readyz))
        .layer(http::open_cors(&[Method::GET, Method::OPTIONS]))
        .with_state(store)
}

/// Runs the report service on `listener` until `shutdown`.
pub async fn run(
    config: &Config,
    listener: TcpListener,
    shutdown: Shutdown,
) -> Result<(), ServiceError> {
    let store = Arc::new(MongoStore::connect(&config.mongo_url).await?);
    tracing::info!(addr = %listener.local_addr()?, "report service listening");
    http::serve("report", listener, router(store), shutdown).await?;
    Ok(())
}

async fn stats(
    State(store): State<Arc<MongoStore>>,
    RawQuery(query): RawQuery,
) -> Result<Json<StatsResponse>, ReportError> {
    let query = StatsQuery::parse(query.as_deref(), OffsetDateTime::now_utc())?;
    let stats = store.day_stats(&query.site_id, query.date).await?;
    Ok(Json(StatsResponse {
        site_id: query.site_id.to_string(),
        date: query.date.to_string(),
        total_views: stats.total_views,
        unique_users: stats.unique_users,
        top_paths: stats.top_paths,
    }))
}
