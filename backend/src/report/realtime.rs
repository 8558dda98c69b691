//! `GET /stats/realtime`: visitors seen in the last few minutes and, with `detail=true`, the
//! last 30 minutes minute by minute with their top pages and sources.

use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use beacon_event::SiteId;
use serde::Serialize;
use time::{Duration, OffsetDateTime};
use utoipa::ToSchema;

use super::request::{endpoint, Report};
use super::scan::Scan;
use super::ReportError;
use crate::api_doc::params::RealtimeParams;
use crate::api_doc::responses::ReportErrors;
use crate::api_doc::wire::SiteIdSchema;
use crate::rollup::{Dimension, Zone};
use crate::store::{MongoStore, Order, Page};

use crate::rollup::Property;

/// The realtime window.
pub const REALTIME_SECONDS: i64 = 300;
/// The detail's window, in minutes.
pub const DETAIL_MINUTES: i64 = 30;
/// Rows of the detail's top pages and sources.
const DETAIL_TOP: u64 = 10;

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
    /// With `detail=true` only.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(required = false, nullable = false)]
    pub last_30_minutes: Option<RecentDetail>,
}

/// The last 30 minutes, by the events' own times.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecentDetail {
    /// 30 minutes, oldest first, each present (zeros included); the last is the current one.
    pub minutes: Vec<MinuteCount>,
    /// Pages by visitors (at most 10).
    pub top_pages: Vec<RecentRow>,
    /// Sources by visitors (at most 10).
    pub top_sources: Vec<RecentRow>,
}

#[derive(Debug, PartialEq, Serialize, ToSchema)]
pub struct MinuteCount {
    /// The minute's start, `YYYY-MM-DDTHH:MM:00Z`.
    pub time: String,
    #[schema(value_type = u64)]
    pub visitors: i64,
    #[schema(value_type = u64)]
    pub views: i64,
}

#[derive(Debug, PartialEq, Serialize, ToSchema)]
pub struct RecentRow {
    pub value: String,
    #[schema(value_type = u64)]
    pub visitors: i64,
}

/// The detail of the 30 minutes before `now`'s minute ends, from `scan`.
pub fn detail(scan: &Scan, now: OffsetDateTime) -> RecentDetail {
    let current = now.unix_timestamp().div_euclid(60);
    let per_minute = scan.series(|t| t.unix_timestamp().div_euclid(60));
    let minutes = (current - DETAIL_MINUTES + 1..=current)
        .map(|m| {
            let c = per_minute.get(&m).copied().unwrap_or_default();
            MinuteCount {
                time: minute_label(m),
                visitors: c.visitors,
                views: c.views,
            }
        })
        .collect();
    let top = |dim: Dimension| -> Vec<RecentRow> {
        let page = Page {
            skip: 0,
            limit: DETAIL_TOP,
        };
        scan.rows(&Property::Dim(dim), Order::Visitors, page)
            .into_iter()
            .map(|r| RecentRow {
                value: r.value,
                visitors: r.counters.visitors,
            })
            .collect()
    };
    RecentDetail {
        minutes,
        top_pages: top(Dimension::Path),
        top_sources: top(Dimension::Source),
    }
}

fn minute_label(minute: i64) -> String {
    let t = OffsetDateTime::from_unix_timestamp(minute * 60).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    Zone::utc().label(t)
}

#[utoipa::path(
    get,
    path = "/stats/realtime",
    tag = "reports",
    operation_id = "getRealtime",
    summary = "Visitors in the last five minutes",
    description = "`visitors`: distinct visitors with an event in the last five minutes. With \
        `detail=true`, also `last_30_minutes`: visitors and page views per minute (by the \
        events' own times) and the top pages and sources of those 30 minutes, read from raw \
        events.",
    params(RealtimeParams),
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
    let now = OffsetDateTime::now_utc();
    let since = now - Duration::seconds(REALTIME_SECONDS);
    let visitors = store.active_visitors(&q.site_id, since).await?;
    let last_30_minutes = match q.detail {
        false => None,
        true => {
            let minute = now.unix_timestamp().div_euclid(60) * 60;
            let from = OffsetDateTime::from_unix_timestamp(minute - (DETAIL_MINUTES - 1) * 60)
                .unwrap_or(now);
            let events = store
                .raw_events(&q.site_id, from, now + Duration::minutes(1))
                .await?;
            Some(detail(&Scan::new(events, &[], q.zone.clone()), now))
        }
    };
    Ok(Json(RealtimeResponse {
        site_id: q.site_id.clone(),
        visitors,
        window_seconds: REALTIME_SECONDS,
        last_30_minutes,
    }))
}
