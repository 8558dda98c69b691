//! `GET /stats/breakdown`: one property's values over the range, as JSON or CSV.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

use crate::rollup::Dimension;
use crate::store::{MongoStore, Order, Page};

use super::render::BreakdownRow;
use super::request::{endpoint, Report};
use super::source::Source;
use super::{render, ReportError};

/// The `/stats/breakdown` response.
#[derive(Debug, Serialize)]
pub struct BreakdownResponse {
    pub site_id: String,
    pub from: String,
    pub to: String,
    pub property: &'static str,
    pub page: u32,
    pub limit: u32,
    pub results: Vec<BreakdownRow>,
}

pub async fn breakdown(
    State(store): State<Arc<MongoStore>>,
    headers: HeaderMap,
    Report(q, _): Report<endpoint::Breakdown>,
) -> Result<Response, ReportError> {
    let dim = q.property.expect("breakdown requires `property`");
    let source = Source::for_query(&store, &q).await?;
    let order = match dim {
        Dimension::ExitPage => Order::Visits,
        Dimension::EventType => Order::Events,
        _ => Order::Visitors,
    };
    let skip = u64::from(q.page - 1) * u64::from(q.limit);
    let (totals, rows) = tokio::try_join!(
        source.totals(&store, &q),
        source.rows(
            &store,
            &q,
            dim,
            order,
            Page {
                skip,
                limit: u64::from(q.limit)
            }
        ),
    )?;
    let table = render::breakdown_rows(dim, &rows, &totals);
    let wants_csv = q.csv
        || headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("text/csv"));
    if wants_csv {
        let filename = format!("{}-{}-{}-{}.csv", q.site_id, dim, q.from, q.to);
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
        site_id: q.site_id.to_string(),
        from: q.from.to_string(),
        to: q.to.to_string(),
        property: dim.name(),
        page: q.page,
        limit: q.limit,
        results: table,
    })
    .into_response())
}
