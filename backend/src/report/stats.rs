//! `GET /stats`: what a site owner asks first (views, people, top pages), the `metrics=` extras,
//! and with `compare=previous_period` the same totals for the range before, so a dashboard's
//! cards show the change with one request.

use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use beacon_event::SiteId;
use serde::Serialize;
use utoipa::ToSchema;

use crate::api_doc::params::{CompareParam, MetricsParam, Range};
use crate::api_doc::responses::ReportErrors;
use crate::api_doc::wire::SiteIdSchema;
use crate::rollup::{Counters, Dimension};
use crate::store::{MongoStore, Order, Page};

use super::render::{Extras, ReportedDay};
use super::request::{endpoint, Report};
use super::source::Source;
use super::{render, ReportError, ReportQuery, TOP_PATHS};
use crate::rollup::Property;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct PathViews {
    pub path: String,
    pub views: u64,
}

/// The public `/stats` response shape (a contract: fields are only ever added).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Stats)]
pub struct StatsResponse {
    #[schema(value_type = SiteIdSchema)]
    pub site_id: SiteId,
    /// The first day of the range: the day asked for with `date`, or today by default.
    pub date: ReportedDay,
    /// Only when the request gave `from`/`to`: the first day.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(required = false, nullable = false)]
    pub from: Option<ReportedDay>,
    /// Only when the request gave `from`/`to`: the last day.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(required = false, nullable = false)]
    pub to: Option<ReportedDay>,
    /// Events of type `page_view`.
    pub total_views: u64,
    /// Distinct visitors.
    pub unique_users: u64,
    /// The most viewed paths, by views then path.
    #[schema(max_items = 10)]
    pub top_paths: Vec<PathViews>,
    /// With `compare`: the same totals (and `metrics`) for the compared range.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Totals, required = false)]
    pub comparison: Option<Totals>,
    #[serde(flatten)]
    pub metrics: Extras,
}

/// The totals of the compared range: the numbers of `/stats` besides `top_paths`, with the
/// same `metrics`.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = StatsComparison)]
pub struct Totals {
    pub from: ReportedDay,
    pub to: ReportedDay,
    /// Events of type `page_view`.
    pub total_views: u64,
    /// Distinct visitors.
    pub unique_users: u64,
    #[serde(flatten)]
    pub metrics: Extras,
}

impl Totals {
    fn new(q: &ReportQuery, c: &Counters) -> Self {
        Self {
            from: ReportedDay(q.from),
            to: ReportedDay(q.to),
            total_views: c.views.max(0) as u64,
            unique_users: c.visitors.max(0) as u64,
            metrics: render::metrics(q, c),
        }
    }
}

#[utoipa::path(
    get,
    path = "/stats",
    tag = "reports",
    operation_id = "getStats",
    summary = "Totals and top pages for a range",
    description = "Page views, unique visitors and the ten most viewed paths (by views, then \
        path). Further metrics are added on request with `metrics`. With \
        `compare=previous_period`, a `comparison` object gives the same totals for the previous \
        range of equal length.",
    params(Range, CompareParam, MetricsParam),
    responses(
        (status = 200, description = "The statistics.", body = StatsResponse, example = json!({
            "site_id": "site123", "date": "2026-11-25", "total_views": 1781, "unique_users": 643,
            "top_paths": [{ "path": "/", "views": 546 }, { "path": "/product", "views": 344 }],
            "visits": 841, "bounce_rate": 45.7, "visit_duration": 160, "views_per_visit": 2.12
        })),
        ReportErrors,
    ),
    security((), ("siteKey" = [])),
)]
pub async fn stats(
    State(store): State<Arc<MongoStore>>,
    Report(q, _): Report<endpoint::Stats>,
) -> Result<Json<StatsResponse>, ReportError> {
    let source = Source::for_query(&store, &q).await?;
    let top = Page {
        skip: 0,
        limit: TOP_PATHS,
    };
    let paths = Property::Dim(Dimension::Path);
    let (totals, top, comparison) = tokio::try_join!(
        source.totals(&store, &q),
        source.rows(&store, &q, &paths, Order::Views, top),
        compared_totals(&store, &q),
    )?;
    let current = Totals::new(&q, &totals);
    Ok(Json(StatsResponse {
        site_id: q.site_id.clone(),
        date: current.from,
        from: q.ranged.then_some(ReportedDay(q.from)),
        to: q.ranged.then_some(ReportedDay(q.to)),
        total_views: current.total_views,
        unique_users: current.unique_users,
        top_paths: top
            .into_iter()
            .map(|r| PathViews {
                path: r.value,
                views: r.counters.views.max(0) as u64,
            })
            .collect(),
        comparison,
        metrics: current.metrics,
    }))
}

/// The totals of the range `compare` names, from their own source (a filtered comparison scans
/// its own days' events).
async fn compared_totals(
    store: &MongoStore,
    q: &ReportQuery,
) -> Result<Option<Totals>, ReportError> {
    let Some(previous) = q.comparison() else {
        return Ok(None);
    };
    let source = Source::for_query(store, &previous).await?;
    let totals = source.totals(store, &previous).await?;
    Ok(Some(Totals::new(&previous, &totals)))
}
