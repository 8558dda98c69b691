//! `GET /stats/realtime`: visitors seen in the last few minutes.

use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use serde::Serialize;
use time::OffsetDateTime;

use super::request::{endpoint, Report};
use super::ReportError;
use crate::store::MongoStore;

/// The realtime window.
pub const REALTIME_SECONDS: i64 = 300;

#[derive(Debug, Serialize)]
pub struct RealtimeResponse {
    pub site_id: String,
    /// Distinct visitors with an event in the window.
    pub visitors: u64,
    pub window_seconds: i64,
}

pub async fn realtime(
    State(store): State<Arc<MongoStore>>,
    Report(q, _): Report<endpoint::Realtime>,
) -> Result<Json<RealtimeResponse>, ReportError> {
    let since = OffsetDateTime::now_utc() - time::Duration::seconds(REALTIME_SECONDS);
    let visitors = store.active_visitors(&q.site_id, since).await?;
    Ok(Json(RealtimeResponse {
        site_id: q.site_id.to_string(),
        visitors,
        window_seconds: REALTIME_SECONDS,
    }))
}
