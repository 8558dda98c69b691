//! `GET /stats/timeseries`: one point per hour or day of the range, empty buckets included, and
//! with `compare=previous_period` the previous range's points, aligned with these by position.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use beacon_event::SiteId;
use serde::Serialize;
use time::Date;
use utoipa::ToSchema;

use crate::api_doc::params::{CompareParam, IntervalParam, Range};
use crate::api_doc::responses::ReportErrors;
use crate::api_doc::wire::SiteIdSchema;
use crate::rollup::Counters;
use crate::store::MongoStore;

use super::render::{Point, ReportedDay};
use super::request::{endpoint, Report};
use super::source::Source;
use super::{render, Interval, ReportError, ReportQuery};

/// The `/stats/timeseries` response.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Timeseries)]
pub struct TimeseriesResponse {
    #[schema(value_type = SiteIdSchema)]
    pub site_id: SiteId,
    pub from: ReportedDay,
    pub to: ReportedDay,
    pub interval: Interval,
    pub points: Vec<Point>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = ComparedPoints, required = false)]
    pub comparison: Option<ComparedPoints>,
}

/// With `compare`: the compared range's points, as many as `points` and aligned with them by
/// position (the n-th point of each covers the n-th hour or day of its range).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = TimeseriesComparison)]
pub struct ComparedPoints {
    pub from: ReportedDay,
    pub to: ReportedDay,
    pub points: Vec<Point>,
}

#[utoipa::path(
    get,
    path = "/stats/timeseries",
    tag = "reports",
    operation_id = "getTimeseries",
    summary = "Visitors, views and visits per hour or per day",
    description = "One point per bucket of the range, every bucket present (empty ones with \
        zeros), in time order. With `compare=previous_period`, `comparison.points` gives the \
        previous range of equal length, point for point.",
    params(Range, CompareParam, IntervalParam),
    responses(
        (status = 200, description = "The series.", body = TimeseriesResponse, example = json!({
            "site_id": "site123", "from": "2026-11-25", "to": "2026-11-25", "interval": "hour",
            "points": [{
                "time": "2026-11-25T13:00:00Z", "views": 97, "visitors": 41, "visits": 45,
                "bounce_rate": 44.4, "visit_duration": 89
            }]
        })),
        ReportErrors,
    ),
    security((), ("siteKey" = [])),
)]
pub async fn timeseries(
    State(store): State<Arc<MongoStore>>,
    Report(q, _): Report<endpoint::Timeseries>,
) -> Result<Json<TimeseriesResponse>, ReportError> {
    let compared = async {
        match q.comparison() {
            Some(previous) => Ok::<_, ReportError>(Some(ComparedPoints {
                from: ReportedDay(previous.from),
                to: ReportedDay(previous.to),
                points: points(&store, &previous).await?,
            })),
            None => Ok(None),
        }
    };
    let (points, comparison) = tokio::try_join!(points(&store, &q), compared)?;
    Ok(Json(TimeseriesResponse {
        site_id: q.site_id.clone(),
        from: ReportedDay(q.from),
        to: ReportedDay(q.to),
        interval: q.interval,
        points,
        comparison,
    }))
}

/// Every bucket of `q`'s range in time order, empty ones with zeros.
async fn points(store: &MongoStore, q: &ReportQuery) -> Result<Vec<Point>, ReportError> {
    let buckets = buckets(store, q).await?;
    Ok(buckets
        .into_iter()
        .map(|(label, c)| render::point(label, &c))
        .collect())
}

/// Every bucket of `q`'s range in time order with its label and counters (zeros when empty).
pub(super) async fn buckets(
    store: &MongoStore,
    q: &ReportQuery,
) -> Result<Vec<(String, Counters)>, ReportError> {
    let source = Source::for_query(store, q).await?;
    let site = &q.site_id;
    let (from, until) = q.instants();
    Ok(match q.interval {
        Interval::Day => {
            let by_day: BTreeMap<Date, Counters> = match &source {
                Source::Rollups => store
                    .daily_totals(site, q.from, q.to)
                    .await?
                    .into_iter()
                    .collect(),
                Source::Scan(scan) => scan.series(|t| q.zone.date_of(t)),
            };
            days(q.from, q.to)
                .map(|d| {
                    let c = by_day.get(&d).copied().unwrap_or_default();
                    (d.to_string(), c)
                })
                .collect()
        }
        Interval::Hour => {
            let by_hour: BTreeMap<i64, Counters> = match &source {
                Source::Rollups => store
                    .hourly_totals(site, from, until)
                    .await?
                    .into_iter()
                    .collect(),
                Source::Scan(scan) => scan.series(|t| q.zone.hour_start(t)),
            };
            (from.unix_timestamp()..until.unix_timestamp())
                .step_by(3600)
                .map(|h| {
                    let c = by_hour.get(&h).copied().unwrap_or_default();
                    (render::hour_label(h, &q.zone), c)
                })
                .collect()
        }
    })
}

/// Every day in `[from, to]`.
fn days(from: Date, to: Date) -> impl Iterator<Item = Date> {
    std::iter::successors(Some(from), move |d| d.next_day().filter(|n| *n <= to))
}
