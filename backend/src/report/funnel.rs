//! `GET /stats/funnel`: how many visitors went through a registered funnel's steps, in order,
//! within one visit, and where they dropped off: from the worker's funnel rollups where every
//! day of the range counted the funnel (`crate::rollup::goals`), from raw events otherwise and
//! when filtered.

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use beacon_event::SiteId;
use serde::Serialize;
use time::Date;
use utoipa::ToSchema;

use super::render::{ratio, ReportedDay};
use super::request::{endpoint, Report};
use super::scan::Scan;
use super::source::{scan, tallies};
use super::{ReportError, ReportQuery};
use crate::api_doc::params::{FunnelParam, Range};
use crate::api_doc::responses::ReportErrors;
use crate::api_doc::wire::SiteIdSchema;
use crate::rollup::goals::{funnel_key, funnel_value, Matcher};
use crate::rollup::property::FUNNEL;
use crate::sites::Funnel;
use crate::store::MongoStore;

/// The `/stats/funnel` response.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Funnel)]
pub struct FunnelResponse {
    #[schema(value_type = SiteIdSchema)]
    pub site_id: SiteId,
    pub from: ReportedDay,
    pub to: ReportedDay,
    pub funnel: String,
    /// Visitors who reached the last step, in percent of those who took the first.
    #[schema(minimum = 0, maximum = 100)]
    pub conversion_rate: f64,
    pub steps: Vec<FunnelStep>,
}

#[derive(Debug, PartialEq, Serialize, ToSchema)]
pub struct FunnelStep {
    /// The step's goal: `Visit /pricing` or an event's name.
    pub name: String,
    /// Visitors who took this step after every step before it, within one visit.
    #[schema(value_type = u64)]
    pub visitors: i64,
    /// Percent of the first step's visitors, one decimal.
    #[schema(minimum = 0, maximum = 100)]
    pub conversion_rate: f64,
    /// Percent of the previous step's visitors (100 for the first step).
    #[schema(minimum = 0, maximum = 100)]
    pub conversion_rate_step: f64,
    /// Visitors of the previous step who did not take this one (0 for the first).
    #[schema(value_type = u64)]
    pub dropoff: i64,
}

/// Per step of `funnel`, the visitors who reached it: took every step up to it, in order,
/// within one of their visits (other events in between do not matter), each visitor once per
/// day they completed the step on, like every visitor count.
pub fn reached(scan: &Scan, funnel: &Funnel) -> Vec<i64> {
    let steps: Vec<Matcher> = funnel.steps.iter().map(Matcher::new).collect();
    let mut reached: Vec<HashSet<(&str, Date)>> = vec![HashSet::new(); steps.len()];
    for events in scan.visits().into_values() {
        // Matching each step at its earliest chance finds the longest run of steps.
        let mut done = 0;
        for e in &events {
            if done < steps.len() && steps[done].matches(&e.event_type, &e.path) {
                reached[done].insert((&*e.visitor, scan.day_of(e)));
                done += 1;
            }
        }
    }
    reached.iter().map(|r| r.len() as i64).collect()
}

/// Per step of `funnel`, the visitors who reached it, read from rollups; `None` when a day of
/// the range was not counted by this funnel (or a filter applies) and raw events must answer.
async fn reached_in_rollups(
    store: &MongoStore,
    q: &ReportQuery,
    funnel: &Funnel,
) -> Result<Option<Vec<i64>>, ReportError> {
    let key = funnel_key(funnel);
    let keys = BTreeSet::from([key.clone()]);
    let Some(tallies) = tallies(store, q, &keys, &[FUNNEL]).await? else {
        return Ok(None);
    };
    let steps = 1..=funnel.steps.len();
    let reached = steps.map(|step| tallies.get(FUNNEL, &funnel_value(step, &key)).visitors);
    Ok(Some(reached.collect()))
}

/// The steps' figures from the visitors who reached each.
fn rows(funnel: &Funnel, reached: &[i64]) -> Vec<FunnelStep> {
    let first = reached.first().copied().unwrap_or(0);
    funnel
        .steps
        .iter()
        .zip(reached)
        .enumerate()
        .map(|(i, (goal, &visitors))| {
            let previous = if i == 0 { visitors } else { reached[i - 1] };
            FunnelStep {
                name: goal.display_name(),
                visitors,
                conversion_rate: ratio(visitors, first, 100.0, 1),
                conversion_rate_step: ratio(visitors, previous, 100.0, 1),
                dropoff: previous - visitors,
            }
        })
        .collect()
}

#[utoipa::path(
    get,
    path = "/stats/funnel",
    tag = "reports",
    operation_id = "getFunnel",
    summary = "Visitors through a funnel's steps",
    description = "A funnel registered for the site (`beacon-admin funnel add`): 2 to 8 goals \
        in order. A visitor reaches a step when one of their visits has every step up to it, \
        in that order (other events in between are fine), counted once per day they \
        completed it on. Read from rollups over days counted with the funnel registered \
        (a funnel added later counts from the next day on, or after `beacon-admin rollups \
        rebuild`), from raw events otherwise and when filtered (reaching back \
        `RETENTION_DAYS`).",
    params(Range, FunnelParam),
    responses(
        (status = 200, description = "The funnel.", body = FunnelResponse, example = json!({
            "site_id": "site123", "from": "2026-11-25", "to": "2026-11-25",
            "funnel": "signup", "conversion_rate": 25.0,
            "steps": [
                { "name": "Visit /", "visitors": 40, "conversion_rate": 100.0,
                  "conversion_rate_step": 100.0, "dropoff": 0 },
                { "name": "signup", "visitors": 10, "conversion_rate": 25.0,
                  "conversion_rate_step": 25.0, "dropoff": 30 }
            ]
        })),
        (status = 404, description = "The site has no funnel of that name (an unregistered site \
            has none).", body = crate::http::ErrorBody,
            example = json!({ "error": "site `site123` has no funnel named \"signup\"", "field": "funnel" })),
        ReportErrors,
    ),
    security((), ("siteKey" = [])),
)]
pub async fn funnel(
    State(store): State<Arc<MongoStore>>,
    Report(q, registration): Report<endpoint::Funnel>,
) -> Result<Json<FunnelResponse>, ReportError> {
    let name = q.funnel.clone().unwrap_or_default();
    let site = registration.site;
    let found = site.and_then(|s| s.funnels.into_iter().find(|f| f.name == name));
    let Some(funnel) = found else {
        let message = format!("site `{}` has no funnel named {name:?}", q.site_id);
        return Err(ReportError::NotFound {
            field: "funnel",
            message,
        });
    };
    let reached = match reached_in_rollups(&store, &q, &funnel).await? {
        Some(reached) => reached,
        None => reached(&scan(&store, &q).await?, &funnel),
    };
    let steps = rows(&funnel, &reached);
    let first = reached.first().copied().unwrap_or(0);
    let last = reached.last().copied().unwrap_or(0);
    Ok(Json(FunnelResponse {
        site_id: q.site_id.clone(),
        from: ReportedDay(q.from),
        to: ReportedDay(q.to),
        funnel: funnel.name,
        conversion_rate: ratio(last, first, 100.0, 1),
        steps,
    }))
}
