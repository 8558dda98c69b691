//! `GET /stats/timeseries`: one point per hour or day of the range, empty buckets included, and
//! with `compare=previous_period` the previous range's points, aligned with these by position.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use serde::Serialize;
use time::Date;

use crate::rollup::Counters;
use crate::store::MongoStore;

use super::render::Point;
use super::request::{endpoint, Report};
use super::source::Source;
use super::{render, Interval, ReportError, ReportQuery};

/// The `/stats/timeseries` response.
#[derive(Debug, Serialize)]
pub struct TimeseriesResponse {
    pub site_id: String,
    pub from: String,
    pub to: String,
    pub interval: &'static str,
    pub points: Vec<Point>,
    /// With `compare`: the compared range's points, aligned with `points` by position.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comparison: Option<ComparedPoints>,
}

#[derive(Debug, Serialize)]
pub struct ComparedPoints {
    pub from: String,
    pub to: String,
    pub points: Vec<Point>,
}

pub async fn timeseries(
    State(store): State<Arc<MongoStore>>,
    Report(q, _): Report<endpoint::Timeseries>,
) -> Result<Json<TimeseriesResponse>, ReportError> {
    let compared = async {
        match q.comparison() {
            Some(previous) => Ok::<_, ReportError>(Some(ComparedPoints {
                from: previous.from.to_string(),
                to: previous.to.to_string(),
                points: points(&store, &previous).await?,
            })),
            None => Ok(None),
        }
    };
    let (points, comparison) = tokio::try_join!(points(&store, &q), compared)?;
    Ok(Json(TimeseriesResponse {
        site_id: q.site_id.to_string(),
        from: q.from.to_string(),
        to: q.to.to_string(),
        interval: match q.interval {
            Interval::Hour => "hour",
            Interval::Day => "day",
        },
        points,
        comparison,
    }))
}

/// Every bucket of `q`'s range in time order, empty ones with zeros.
async fn points(store: &MongoStore, q: &ReportQuery) -> Result<Vec<Point>, ReportError> {
    let source = Source::for_query(store, q).await?;
    let site = &q.site_id;
    let (from, until) = q.instants();
    Ok(match q.interval {
        Interval::Day => {
            let by_day: BTreeMap<String, Counters> = match &source {
                Source::Rollups => store
                    .daily_totals(site, q.from, q.to)
                    .await?
                    .into_iter()
                    .collect(),
                Source::Scan(scan) => scan.series(|t| t.date().to_string()),
            };
            days(q.from, q.to)
                .map(|d| {
                    let label = d.to_string();
                    let c = by_day.get(&label).copied().unwrap_or_default();
                    render::point(label, &c)
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
                Source::Scan(scan) => scan.series(|t| {
                    let s = t.unix_timestamp();
                    s - s.rem_euclid(3600)
                }),
            };
            (from.unix_timestamp()..until.unix_timestamp())
                .step_by(3600)
                .map(|h| {
                    let c = by_hour.get(&h).copied().unwrap_or_default();
                    render::point(render::hour_label(h), &c)
                })
                .collect()
        }
    })
}

/// Every day in `[from, to]`.
fn days(from: Date, to: Date) -> impl Iterator<Item = Date> {
    std::iter::successors(Some(from), move |d| d.next_day().filter(|n| *n <= to))
}
