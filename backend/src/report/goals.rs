//! `GET /stats/goals`: each goal of a registered site with its converted visitors, events and
//! conversion rate over the range (read from raw events, filters applied).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use beacon_event::SiteId;
use serde::Serialize;
use utoipa::ToSchema;

use super::filter::Pattern;
use super::render::{ratio, ReportedDay};
use super::request::{endpoint, Report};
use super::scan::Scan;
use super::source::scan;
use super::ReportError;
use crate::api_doc::params::Range;
use crate::api_doc::responses::ReportErrors;
use crate::api_doc::wire::SiteIdSchema;
use crate::sites::Goal;
use crate::store::{MongoStore, RawEvent};

/// The `/stats/goals` response.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Goals)]
pub struct GoalsResponse {
    #[schema(value_type = SiteIdSchema)]
    pub site_id: SiteId,
    pub from: ReportedDay,
    pub to: ReportedDay,
    /// In the order the goals were added; empty for a site without goals.
    pub goals: Vec<GoalRow>,
}

/// One goal's conversions.
#[derive(Debug, PartialEq, Serialize, ToSchema)]
pub struct GoalRow {
    /// `Visit /thanks` for a page goal, the event's name for an event goal.
    pub name: String,
    /// `page` or `event`.
    #[schema(examples("page", "event"))]
    pub kind: &'static str,
    /// The path pattern or the event name.
    #[serde(rename = "match")]
    pub matches: String,
    /// Visitors who converted (distinct per day, like every visitor count).
    #[schema(value_type = u64)]
    pub visitors: i64,
    /// Converting events: page views or custom events.
    #[schema(value_type = u64)]
    pub events: i64,
    /// Percent of the range's visitors who converted, one decimal.
    #[schema(minimum = 0, maximum = 100)]
    pub conversion_rate: f64,
    /// Per currency, what the converting events that carry `revenue` were worth; absent when
    /// none did.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(required = false)]
    pub revenue: Vec<RevenueFigure>,
}

/// Revenue of one goal in one currency (exact sums; shown with up to 6 decimals).
#[derive(Debug, PartialEq, Serialize, ToSchema)]
pub struct RevenueFigure {
    #[schema(examples("EUR"))]
    pub currency: String,
    /// The sum of the amounts.
    pub total: f64,
    /// The sum over the events that carried revenue in this currency.
    pub average: f64,
    /// Events that carried revenue in this currency.
    #[schema(value_type = u64)]
    pub events: i64,
}

/// Per currency: the sum in millionths and the number of events, for each goal.
fn revenue(scan: &Scan, matchers: &[Matcher]) -> Vec<Vec<RevenueFigure>> {
    let mut sums: Vec<BTreeMap<&str, (i128, i64)>> = vec![BTreeMap::new(); matchers.len()];
    for e in scan.matching() {
        let Some(r) = &e.revenue else { continue };
        for (i, _) in matchers.iter().enumerate().filter(|(_, m)| m.matches(e)) {
            let entry = sums[i].entry(r.currency.as_str()).or_default();
            *entry = (entry.0 + i128::from(r.micros), entry.1 + 1);
        }
    }
    let units = |micros: i128| micros as f64 / 1_000_000.0;
    sums.into_iter()
        .map(|by_currency| {
            by_currency
                .into_iter()
                .map(|(currency, (micros, events))| RevenueFigure {
                    currency: currency.to_owned(),
                    total: units(micros),
                    average: units(micros / i128::from(events.max(1))),
                    events,
                })
                .collect()
        })
        .collect()
}

/// A goal, ready to test events against: its path pattern compiled.
pub enum Matcher {
    Page(Pattern),
    Event(String),
}

impl Matcher {
    pub fn new(goal: &Goal) -> Self {
        match goal {
            Goal::Page { path } => Self::Page(Pattern::page(path)),
            Goal::Event { name } => Self::Event(name.clone()),
        }
    }

    /// Whether `e` completes the goal.
    pub fn matches(&self, e: &RawEvent) -> bool {
        match self {
            Self::Event(name) => e.event_type == *name,
            Self::Page(page) => {
                e.event_type == beacon_event::fields::PAGE_VIEW && page.equals(&e.path)
            }
        }
    }
}

/// Each goal's conversions in `scan`.
pub fn conversions(scan: &Scan, goals: &[Goal]) -> Vec<GoalRow> {
    let matchers: Vec<Matcher> = goals.iter().map(Matcher::new).collect();
    let by_goal = scan.group(
        |e, _| {
            let hits = matchers.iter().enumerate().filter(|(_, m)| m.matches(e));
            hits.map(|(i, _)| i).collect::<Vec<usize>>()
        },
        |_| None,
    );
    let total = scan.totals().visitors;
    let mut revenue = revenue(scan, &matchers).into_iter();
    goals
        .iter()
        .enumerate()
        .map(|(i, goal)| {
            let c = by_goal.get(&i).copied().unwrap_or_default();
            let (kind, matches) = match goal {
                Goal::Page { path } => ("page", path.clone()),
                Goal::Event { name } => ("event", name.clone()),
            };
            GoalRow {
                name: goal.display_name(),
                kind,
                matches,
                visitors: c.visitors,
                events: c.events,
                conversion_rate: ratio(c.visitors, total, 100.0, 1),
                revenue: revenue.next().unwrap_or_default(),
            }
        })
        .collect()
}

#[utoipa::path(
    get,
    path = "/stats/goals",
    tag = "reports",
    operation_id = "getGoals",
    summary = "Conversions of each goal",
    description = "The goals registered for the site (`beacon-admin goal add`): page views on a \
        path pattern (`*`: any characters but `/`, `**`: any) or custom events by name, each \
        with the visitors who converted, the converting events and the conversion rate (% of \
        the range's visitors). Read from raw events, so filters apply and the range reaches \
        back `RETENTION_DAYS`. A site without goals (or not registered) has an empty list.",
    params(Range),
    responses(
        (status = 200, description = "The goals.", body = GoalsResponse, example = json!({
            "site_id": "site123", "from": "2026-11-25", "to": "2026-11-25",
            "goals": [{ "name": "Visit /thanks", "kind": "page", "match": "/thanks",
                "visitors": 12, "events": 13, "conversion_rate": 4.1 }]
        })),
        ReportErrors,
    ),
    security((), ("siteKey" = [])),
)]
pub async fn goals(
    State(store): State<Arc<MongoStore>>,
    Report(q, registration): Report<endpoint::Goals>,
) -> Result<Json<GoalsResponse>, ReportError> {
    let goals = registration.site.map(|s| s.goals).unwrap_or_default();
    let rows = match goals.is_empty() {
        true => Vec::new(),
        false => conversions(&scan(&store, &q).await?, &goals),
    };
    Ok(Json(GoalsResponse {
        site_id: q.site_id.clone(),
        from: ReportedDay(q.from),
        to: ReportedDay(q.to),
        goals: rows,
    }))
}
