//! Plausible's Stats API v1 (`/api/v1/stats/...`) on Beacon's reports, so dashboards and
//! scripts written against Plausible keep working: the same parameters ([`translate`]) and
//! answer shapes, Beacon's Bearer keys for private sites. Served: `realtime/visitors`,
//! `aggregate`, `timeseries` and `breakdown`; what Beacon cannot answer is a 400 naming the
//! parameter.

mod translate;

use std::sync::Arc;

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use beacon_event::EventError;
use serde_json::{json, Map, Value};
use time::{Duration, OffsetDateTime};

use self::translate::{translate, Extra, Metric};
use super::query::Params;
use super::request::{Endpoint, Report};
use super::source::Source;
use super::{ReportError, ReportQuery, REALTIME_SECONDS};
use crate::rollup::Property;
use crate::rollup::{Counters, Dimension};
use crate::store::{MongoStore, Order};

/// The v1 endpoints: their parameters, and Beacon's they become.
pub mod endpoint {
    use super::*;

    /// The v1 parameters every endpoint over a range takes.
    const RANGE: &[&str] = &[
        "site_id",
        "period",
        "date",
        "metrics",
        "filters",
        "with_imported",
    ];

    pub struct Aggregate;
    pub struct Timeseries;
    pub struct Breakdown;
    pub struct RealtimeVisitors;

    impl Endpoint for Aggregate {
        const ACCEPTS: &'static [&'static str] = &["site_id", "from", "to", "filters", "compare"];
        type Extra = Extra;
        fn translate(params: Params, today: time::Date) -> Result<(Params, Extra), EventError> {
            translate(params, &[RANGE, &["compare"]].concat(), today)
        }
    }

    impl Endpoint for Timeseries {
        const ACCEPTS: &'static [&'static str] = &["site_id", "from", "to", "filters", "interval"];
        type Extra = Extra;
        fn translate(params: Params, today: time::Date) -> Result<(Params, Extra), EventError> {
            translate(params, &[RANGE, &["interval"]].concat(), today)
        }
    }

    impl Endpoint for Breakdown {
        const ACCEPTS: &'static [&'static str] = &[
            "site_id", "from", "to", "filters", "property", "limit", "page",
        ];
        type Extra = Extra;
        fn translate(params: Params, today: time::Date) -> Result<(Params, Extra), EventError> {
            translate(
                params,
                &[RANGE, &["property", "limit", "page"]].concat(),
                today,
            )
        }
    }

    impl Endpoint for RealtimeVisitors {
        const ACCEPTS: &'static [&'static str] = &["site_id"];
        type Extra = ();
        fn translate(params: Params, today: time::Date) -> Result<(Params, ()), EventError> {
            let (params, _) = translate(params, &["site_id"], today)?;
            Ok((params, ()))
        }
    }
}

pub fn router() -> Router<Arc<MongoStore>> {
    Router::new()
        .route("/api/v1/stats/realtime/visitors", get(realtime_visitors))
        .route("/api/v1/stats/aggregate", get(aggregate))
        .route("/api/v1/stats/timeseries", get(timeseries))
        .route("/api/v1/stats/breakdown", get(breakdown))
}

/// Visitors in the last 5 minutes, as a bare number.
async fn realtime_visitors(
    State(store): State<Arc<MongoStore>>,
    Report(q, _): Report<endpoint::RealtimeVisitors>,
) -> Result<Json<u64>, ReportError> {
    let since = OffsetDateTime::now_utc() - Duration::seconds(REALTIME_SECONDS);
    Ok(Json(store.active_visitors(&q.site_id, since).await?))
}

/// `{"results": {"visitors": {"value": 120, "change": 20}, ...}}`; `change` with `compare`.
async fn aggregate(
    State(store): State<Arc<MongoStore>>,
    Report(q, registration): Report<endpoint::Aggregate>,
) -> Result<Json<Value>, ReportError> {
    let compared = async {
        match q.comparison() {
            Some(p) => totals(&store, &p).await.map(Some),
            None => Ok(None),
        }
    };
    let (current, previous) = tokio::try_join!(totals(&store, &q), compared)?;
    let mut results = Map::new();
    for metric in registration.extra.metrics {
        let value = metric.value(&current);
        let mut entry = json!({ "value": number(value) });
        if let Some(before) = &previous {
            entry["change"] = number(change(metric, value, metric.value(before)));
        }
        results.insert(metric.name().to_owned(), entry);
    }
    Ok(Json(json!({ "results": results })))
}

/// `{"results": [{"date": "2026-12-01", "visitors": 12}, ...]}`: every day of the period (every
/// hour for one day), empty ones with zeros.
async fn timeseries(
    State(store): State<Arc<MongoStore>>,
    Report(q, registration): Report<endpoint::Timeseries>,
) -> Result<Json<Value>, ReportError> {
    let buckets = super::timeseries::buckets(&store, &q).await?;
    let metrics = &registration.extra.metrics;
    let results: Vec<Value> = buckets
        .iter()
        .map(|(label, c)| row("date", label, metrics, c))
        .collect();
    Ok(Json(json!({ "results": results })))
}

/// `{"results": [{"page": "/", "visitors": 10}, ...]}`, by visitors.
async fn breakdown(
    State(store): State<Arc<MongoStore>>,
    Report(q, registration): Report<endpoint::Breakdown>,
) -> Result<Json<Value>, ReportError> {
    let Extra { metrics, key } = registration.extra;
    let property = q
        .property
        .clone()
        .ok_or_else(|| EventError::field("property", "is required"))?;
    let session = property.dimension().is_some_and(Dimension::is_session);
    if !session && metrics.iter().any(|m| m.of_visits()) {
        return Err(EventError::field(
            "metrics",
            "visits, bounce_rate, visit_duration and views_per_visit break down by visit:* \
             properties only",
        )
        .into());
    }
    let rows = rows(&store, &q, &property).await?;
    let results: Vec<Value> = rows
        .iter()
        .map(|r| row(&key, &r.value, &metrics, &r.counters))
        .collect();
    Ok(Json(json!({ "results": results })))
}

/// One result: `{key: label}` and each metric of `c`.
fn row(key: &str, label: &str, metrics: &[Metric], c: &Counters) -> Value {
    let mut out = Map::new();
    out.insert(key.to_owned(), Value::from(label));
    for m in metrics {
        out.insert(m.name().to_owned(), number(m.value(c)));
    }
    Value::Object(out)
}

async fn totals(store: &MongoStore, q: &ReportQuery) -> Result<Counters, ReportError> {
    Source::for_query(store, q).await?.totals(store, q).await
}

async fn rows(
    store: &MongoStore,
    q: &ReportQuery,
    property: &Property,
) -> Result<Vec<crate::store::Row>, ReportError> {
    let source = Source::for_query(store, q).await?;
    source
        .rows(store, q, property, Order::Visitors, q.rows_page())
        .await
}

/// Plausible's change: percent for counts (100 from nothing), points for the bounce rate.
fn change(metric: Metric, now: f64, before: f64) -> f64 {
    match metric {
        Metric::BounceRate => ((now - before) * 10.0).round() / 10.0,
        _ if before == 0.0 => {
            if now > 0.0 {
                100.0
            } else {
                0.0
            }
        }
        _ => ((now - before) / before * 100.0).round(),
    }
}

/// Whole numbers as integers, the rest as they are.
fn number(value: f64) -> Value {
    if value.fract() == 0.0 && value.abs() < 9.0e15 {
        Value::from(value as i64)
    } else {
        Value::from(value)
    }
}
