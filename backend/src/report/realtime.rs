//! `GET /stats/realtime`: visitors seen in the last few minutes.

use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use beacon_event::SiteId;
use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::request::{endpoint, Report};
use super::ReportError;
use crate::api_doc::params::SiteOnly;
use crate::api_doc::responses::ReportErrors;
use crate::api_doc::wire::SiteIdSchema;
use crate::store::MongoStore;

/// The realtime window.
pub const REALTIME_SECONDS: i64 = 300;

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Realtime)]
pub struct RealtimeResponse {
    #[schema(value_type = SiteIdSchema)]
    pub site_id: SiteId,
    /// Distinct visitors with an event in the window.
    pub visitors: u64,
    /// The window's length (always the same).
    #[schema(minimum = 300, maximum = 300)]
    pub window_seconds: i64,
}

#[utoipa::path(
    get,
    path = "/stats/realtime",
    tag = "reports",
    operation_id = "getRealtime",
    summary = "Visitors in the last five minutes",
    params(SiteOnly),
    responses(
        (status = 200, description = "The current visitors.", body = RealtimeResponse,
            example = json!({ "site_id": "site123", "visitors": 6, "window_seconds": 300 })),
        ReportErrors,
    ),
    security((), ("siteKey" = [])),
)]
pub async fn realtime(
    State(store): State<Arc<MongoStore>>,
    Report(q, _): Report<endpoint::Realtime>,
) -> Result<Json<RealtimeResponse>, ReportError> {
    let since = OffsetDateTime::now_utc() - time::Duration::seconds(REALTIME_SECONDS);
    let visitors = store.active_visitors(&q.site_id, since).await?;
    Ok(Json(RealtimeResponse {
        site_id: q.site_id.clone(),
        visitors,
        window_seconds: REALTIME_SECONDS,
    }))
}
