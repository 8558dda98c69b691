//! `GET /stats/breakdown`: one property's values over the range, as JSON or CSV.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::Json;
use beacon_event::{EventError, SiteId};
use serde::Serialize;
use utoipa::ToSchema;

use crate::api_doc::params::{BreakdownParams, Range};
use crate::api_doc::responses::ReportErrors;
use crate::api_doc::wire::{PropertySchema, SiteIdSchema};
use crate::rollup::Dimension;
use crate::store::{MongoStore, Order};

use super::render::{BreakdownRow, ReportedDay};
use super::request::{endpoint, Report};
use super::source::Source;
use super::{render, ReportError};

/// The `/stats/breakdown` response.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Breakdown)]
pub struct BreakdownResponse {
    #[schema(value_type = SiteIdSchema)]
    pub site_id: SiteId,
    pub from: ReportedDay,
    pub to: ReportedDay,
    #[schema(value_type = PropertySchema)]
    pub property: String,
    #[schema(minimum = 1)]
    pub page: u32,
    #[schema(minimum = 1)]
    pub limit: u32,
    pub results: Vec<BreakdownRow>,
}

#[utoipa::path(
    get,
    path = "/stats/breakdown",
    tag = "reports",
    operation_id = "getBreakdown",
    summary = "Visitors per value of one property",
    description = "Results sorted by visitors, descending, one page at a time. Session-level \
        properties (entry_page, exit_page, source, referrer, channel, utm_source, utm_medium, \
        utm_campaign, utm_content, utm_term, browser, os, device, country) also carry visits, \
        bounce rate and visit duration; `event_type`, custom properties (`props.<key>`) and their keys \
        (`props`) carry event counts and conversion rates. \
        With `format=csv` or `Accept: text/csv` the same results come as CSV with a header row \
        (the result keys as columns).",
    params(Range, BreakdownParams),
    responses(
        (status = 200, description = "The breakdown.", content(
            (BreakdownResponse = "application/json", example = json!({
                "site_id": "site123", "from": "2026-11-19", "to": "2026-11-25",
                "property": "source", "page": 1, "limit": 10,
                "results": [{
                    "value": "Google", "visitors": 919, "views": 3010, "visits": 1280,
                    "bounce_rate": 41.2, "visit_duration": 131
                }]
            })),
            (String = "text/csv", example = json!(
                "value,visitors,views,visits,bounce_rate,visit_duration\r\nGoogle,919,3010,1280,41.2,131\r\n"
            )),
        )),
        ReportErrors,
    ),
    security((), ("siteKey" = [])),
)]
pub async fn breakdown(
    State(store): State<Arc<MongoStore>>,
    headers: HeaderMap,
    Report(q, _): Report<endpoint::Breakdown>,
) -> Result<Response, ReportError> {
    let Some(property) = q.property.clone() else {
        return Err(EventError::field("property", "is required").into());
    };
    let source = Source::for_query(&store, &q).await?;
    let order = match property.dimension() {
        Some(Dimension::ExitPage) => Order::Visits,
        Some(Dimension::EventType) => Order::Events,
        _ => Order::Visitors,
    };
    let (totals, rows) = tokio::try_join!(
        source.totals(&store, &q),
        source.rows(&store, &q, &property, order, q.rows_page()),
    )?;
    let table = render::breakdown_rows(&property, &rows, &totals);
    let wants_csv = q.csv
        || headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("text/csv"));
    if wants_csv {
        let filename = format!("{}-{}-{}-{}.csv", q.site_id, property, q.from, q.to);
        return Ok((
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{filename}\""),
                ),
            ],
            render::csv(&table),
        )
            .into_response());
    }
    Ok(Json(BreakdownResponse {
        site_id: q.site_id.clone(),
        from: ReportedDay(q.from),
        to: ReportedDay(q.to),
        property: property.to_string(),
        page: q.page,
        limit: q.limit,
        results: table,
    })
    .into_response())
}
