//! The report API (`report_service`).
//!
//! `GET /stats` answers what a site owner asks first (views, people, top pages) and, with
//! `metrics=`, visits, bounce rate and visit duration; `/stats/timeseries`, `/stats/breakdown`
//! and `/stats/realtime` answer the rest. Unfiltered reports read the worker's rollups (a bounded
//! number of documents); filtered ones aggregate raw events ([`scan`]).

mod error;
mod query;
mod render;
pub mod scan;

pub use error::ReportError;
pub use query::{Filter, Interval, Metric, ReportQuery};

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, Method};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use serde_json::{json, Map, Value};
use time::{Date, OffsetDateTime};

use crate::config::Config;
use crate::rollup::{Counters, Dimension};
use crate::shutdown::Shutdown;
use crate::store::{MongoStore, Order, Page, Row};
use crate::{http, ServiceError};
use query::accepts;
use scan::Scan;

/// How many paths `top_paths` lists.
pub const TOP_PATHS: u64 = 10;
/// The realtime window.
pub const REALTIME_SECONDS: i64 = 300;
/// The OpenAPI document for the report and ingestion APIs.
pub const OPENAPI: &str = include_str!("../../../docs/openapi.json");

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
    #[serde(flatten)]
    pub metrics: Map<String, Value>,
}

pub fn router(store: Arc<MongoStore>) -> Router {
    Router::new()
        .route("/stats", get(stats))
        .route("/stats/timeseries", get(timeseries))
        .route("/stats/breakdown", get(breakdown))
        .route("/stats/realtime", get(realtime))
        // Only the routes above: health, metrics and the API document stay open.
        .route_layer(axum::middleware::from_fn_with_state(
            store.clone(),
            require_key,
        ))
        .route("/openapi.json", get(openapi))
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
    http::serve(
        "report",
        listener,
        config.max_connections,
        router(store),
        shutdown,
    )
    .await?;
    Ok(())
}

use tokio::net::TcpListener;

/// Reports of a registered private site need one of its API keys ([`crate::sites`]). Checked
/// before the handler parses anything, so a caller without a key learns nothing from
/// validation errors either.
async fn require_key(
    State(store): State<Arc<MongoStore>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let sites = crate::sites::Sites::new(&store);
    let token = crate::sites::bearer_token(request.headers());
    match crate::sites::may_read(&sites, request.uri().query(), token).await {
        Ok(true) => next.run(request).await,
        Ok(false) => ReportError::Unauthorized.into_response(),
        Err(e) => ReportError::Unavailable(e).into_response(),
    }
}

pub async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

/// Where a report's numbers come from.
enum Source {
    Rollups,
    Scan(Scan),
}

impl Source {
    async fn for_query(store: &MongoStore, q: &ReportQuery) -> Result<Self, ReportError> {
        if q.filters.is_empty() {
            return Ok(Self::Rollups);
        }
        let (from, until) = q.instants();
        let events = store.raw_events(q.site_id.as_str(), from, until).await?;
        Ok(Self::Scan(Scan::new(events, &q.filters)))
    }

    async fn totals(&self, store: &MongoStore, q: &ReportQuery) -> Result<Counters, ReportError> {
        Ok(match self {
            Self::Rollups => {
                let mut sum = Counters::default();
                for (_, c) in store.daily_totals(q.site_id.as_str(), q.from, q.to).await? {
                    sum += c;
                }
                sum
            }
            Self::Scan(scan) => scan.totals(),
        })
    }

    /// One page of `dim`'s values in `order`.
    async fn rows(
        &self,
        store: &MongoStore,
        q: &ReportQuery,
        dim: Dimension,
        order: Order,
        page: Page,
    ) -> Result<Vec<Row>, ReportError> {
        match self {
            Self::Rollups => Ok(store
                .breakdown(q.site_id.as_str(), q.from, q.to, dim, order, page)
                .await?),
            Self::Scan(scan) => {
                let mut rows: Vec<Row> = scan
                    .by(dim)
                    .into_iter()
                    .map(|(value, counters)| Row { value, counters })
                    .filter(|r| match order {
                        Order::Views => r.counters.views > 0,
                        _ => r.counters.events > 0 || r.counters.visits > 0,
                    })
                    .collect();
                rows.sort_by(|a, b| {
                    render::order_key(order, b)
                        .cmp(&render::order_key(order, a))
                        .then_with(|| a.value.cmp(&b.value))
                });
                Ok(rows
                    .into_iter()
                    .skip(page.skip as usize)
                    .take(page.limit as usize)
                    .collect())
            }
        }
    }
}

async fn stats(
    State(store): State<Arc<MongoStore>>,
    RawQuery(query): RawQuery,
) -> Result<Json<StatsResponse>, ReportError> {
    let q = ReportQuery::parse(query.as_deref(), accepts::STATS, OffsetDateTime::now_utc())?;
    let source = Source::for_query(&store, &q).await?;
    let (totals, top) = tokio::try_join!(
        source.totals(&store, &q),
        source.rows(
            &store,
            &q,
            Dimension::Path,
            Order::Views,
            Page {
                skip: 0,
                limit: TOP_PATHS
            }
        ),
    )?;
    Ok(Json(StatsResponse {
        site_id: q.site_id.to_string(),
        date: q.from.to_string(),
        from: q.ranged.then(|| q.from.to_string()),
        to: q.ranged.then(|| q.to.to_string()),
        total_views: totals.views.max(0) as u64,
        unique_users: totals.visitors.max(0) as u64,
        top_paths: top
            .into_iter()
            .map(|r| PathViews {
                path: r.value,
                views: r.counters.views.max(0) as u64,
            })
            .collect(),
        metrics: render::metrics(&q, &totals),
    }))
}

async fn timeseries(
    State(store): State<Arc<MongoStore>>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ReportError> {
    let q = ReportQuery::parse(
        query.as_deref(),
        accepts::TIMESERIES,
        OffsetDateTime::now_utc(),
    )?;
    let source = Source::for_query(&store, &q).await?;
    let site = q.site_id.as_str();
    let (from, until) = q.instants();
    let points: Vec<Value> = match q.interval {
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
    };
    Ok(Json(json!({
        "site_id": site,
        "from": q.from.to_string(),
        "to": q.to.to_string(),
        "interval": match q.interval { Interval::Hour => "hour", Interval::Day => "day" },
        "points": points,
    })))
}

async fn breakdown(
    State(store): State<Arc<MongoStore>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ReportError> {
    let q = ReportQuery::parse(
        query.as_deref(),
        accepts::BREAKDOWN,
        OffsetDateTime::now_utc(),
    )?;
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
    let results: Vec<Value> = table
        .iter()
        .map(|row| {
            Value::Object(
                row.iter()
                    .map(|(k, v)| ((*k).to_owned(), v.clone()))
                    .collect(),
            )
        })
        .collect();
    Ok(Json(json!({
        "site_id": q.site_id.as_str(),
        "from": q.from.to_string(),
        "to": q.to.to_string(),
        "property": dim.name(),
        "page": q.page,
        "limit": q.limit,
        "results": results,
    }))
    .into_response())
}

async fn realtime(
    State(store): State<Arc<MongoStore>>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ReportError> {
    let now = OffsetDateTime::now_utc();
    let q = ReportQuery::parse(query.as_deref(), accepts::REALTIME, now)?;
    let since = now - time::Duration::seconds(REALTIME_SECONDS);
    let visitors = store.active_visitors(q.site_id.as_str(), since).await?;
    Ok(Json(json!({
        "site_id": q.site_id.as_str(),
        "visitors": visitors,
        "window_seconds": REALTIME_SECONDS,
    })))
}

/// Every day in `[from, to]`.
fn days(from: Date, to: Date) -> impl Iterator<Item = Date> {
    std::iter::successors(Some(from), move |d| d.next_day().filter(|n| *n <= to))
}
