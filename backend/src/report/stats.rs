//! `GET /stats`: what a site owner asks first (views, people, top pages), the `metrics=` extras,
//! and with `compare=previous_period` the same totals for the range before, so a dashboard's
//! cards show the change with one request.

use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use serde::Serialize;

use crate::rollup::{Counters, Dimension};
use crate::store::{MongoStore, Order, Page};

use super::render::Extras;
use super::request::{endpoint, Report};
use super::source::Source;
use super::{render, ReportError, ReportQuery, TOP_PATHS};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PathViews {
    pub path: String,
    pub views: u64,
}

/// The public `/stats` response shape (a contract: fields are only ever added).
#[derive(Debug, Serialize)]
pub struct StatsResponse {
    pub site_id: String,
    pub date: String,
    /// Present when the request gave a range (`from`/`to`); the seed's shape otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    pub total_views: u64,
    pub unique_users: u64,
    pub top_paths: Vec<PathViews>,
    /// With `compare`: the totals of the compared range.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comparison: Option<Totals>,
    #[serde(flatten)]
    pub metrics: Extras,
}

/// The totals of one range: the numbers `/stats` gives besides `top_paths`.
#[derive(Debug, Serialize)]
pub struct Totals {
    pub from: String,
    pub to: String,
    pub total_views: u64,
    pub unique_users: u64,
    #[serde(flatten)]
    pub metrics: Extras,
}

impl Totals {
    fn new(q: &ReportQuery, c: &Counters) -> Self {
        Self {
            from: q.from.to_string(),
            to: q.to.to_string(),
            total_views: c.views.max(0) as u64,
            unique_users: c.visitors.max(0) as u64,
            metrics: render::metrics(q, c),
        }
    }
}

pub async fn stats(
    State(store): State<Arc<MongoStore>>,
    Report(q, _): Report<endpoint::Stats>,
) -> Result<Json<StatsResponse>, ReportError> {
    let source = Source::for_query(&store, &q).await?;
    let top = Page {
        skip: 0,
        limit: TOP_PATHS,
    };
    let (totals, top, comparison) = tokio::try_join!(
        source.totals(&store, &q),
        source.rows(&store, &q, Dimension::Path, Order::Views, top),
        compared_totals(&store, &q),
    )?;
    let current = Totals::new(&q, &totals);
    Ok(Json(StatsResponse {
        site_id: q.site_id.to_string(),
        date: current.from,
        from: q.ranged.then(|| q.from.to_string()),
        to: q.ranged.then(|| q.to.to_string()),
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
