//! `GET /stats/goals`: each goal of a registered site with its converted visitors, events and
//! conversion rate over the range: from the worker's goal rollups where every day of the range
//! counted every goal (`crate::rollup::goals`), from raw events otherwise and when filtered.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use beacon_event::SiteId;
use serde::Serialize;
use utoipa::ToSchema;

use super::render::{ratio, ReportedDay};
use super::request::{endpoint, Report};
use super::scan::Scan;
use super::source::{scan, tallies};
use super::ReportError;
use crate::api_doc::params::Range;
use crate::api_doc::responses::ReportErrors;
use crate::api_doc::wire::SiteIdSchema;
use crate::rollup::goals::{goal_key, Matcher};
use crate::rollup::property::{GOAL, GOAL_REVENUE};
use crate::rollup::Counters;
use crate::sites::Goal;
use crate::store::{MongoStore, RawEvent, Tallies};

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

/// One goal's counts: conversions, and per currency the revenue in millionths and the events
/// that carried it.
#[derive(Default)]
struct Tally {
    conversions: Counters,
    revenue: BTreeMap<String, (i128, i64)>,
}

/// Each goal's conversions in `scan`.
pub fn conversions(scan: &Scan, goals: &[Goal]) -> Vec<GoalRow> {
    let matchers: Vec<Matcher> = goals.iter().map(Matcher::new).collect();
    let hits = |e: &RawEvent| {
        let hit = matchers.iter().enumerate();
        hit.filter(|(_, m)| m.matches(&e.event_type, &e.path))
            .map(|(i, _)| i)
            .collect::<Vec<usize>>()
    };
    let by_goal = scan.group(|e, _| hits(e), |_| None);
    let mut tallies: Vec<Tally> = (0..goals.len())
        .map(|i| Tally {
            conversions: by_goal.get(&i).copied().unwrap_or_default(),
            ..Tally::default()
        })
        .collect();
    for e in scan.matching() {
        let Some(r) = &e.revenue else { continue };
        for i in hits(e) {
            let entry = tallies[i].revenue.entry(r.currency.clone()).or_default();
            *entry = (entry.0 + i128::from(r.micros), entry.1 + 1);
        }
    }
    rows(goals, tallies, scan.totals().visitors)
}

/// Each goal's conversions read from rollups.
fn rolled_up(counts: Tallies, goals: &[Goal]) -> Vec<GoalRow> {
    let tallies = goals
        .iter()
        .map(|goal| {
            let key = goal_key(goal);
            let revenue = counts.values(GOAL_REVENUE).filter_map(|(value, c)| {
                let (currency, of) = value.split_once('|')?;
                (of == key).then(|| (currency.to_owned(), (i128::from(c.revenue), c.events)))
            });
            Tally {
                conversions: counts.get(GOAL, &key),
                revenue: revenue.collect(),
            }
        })
        .collect();
    rows(goals, tallies, counts.totals.visitors)
}

/// The report's rows, in the goals' order; `total` visitors make the conversion rates.
fn rows(goals: &[Goal], tallies: Vec<Tally>, total: i64) -> Vec<GoalRow> {
    let units = |micros: i128| micros as f64 / 1_000_000.0;
    goals
        .iter()
        .zip(tallies)
        .map(|(goal, tally)| {
            let c = tally.conversions;
            let (kind, matches) = match goal {
                Goal::Page { path } => ("page", path.clone()),
                Goal::Event { name } => ("event", name.clone()),
            };
            let revenue = tally
                .revenue
                .into_iter()
                .map(|(currency, (micros, events))| RevenueFigure {
                    currency,
                    total: units(micros),
                    average: units(micros / i128::from(events.max(1))),
                    events,
                });
            GoalRow {
                name: goal.display_name(),
                kind,
                matches,
                visitors: c.visitors,
                events: c.events,
                conversion_rate: ratio(c.visitors, total, 100.0, 1),
                revenue: revenue.collect(),
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
        the range's visitors). Read from rollups over days counted with every goal registered \
        (goals added later count from the next day on, or after `beacon-admin rollups \
        rebuild`), from raw events otherwise and when filtered (reaching back \
        `RETENTION_DAYS`). A site without goals (or not registered) has an empty list.",
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
    let keys: BTreeSet<String> = goals.iter().map(goal_key).collect();
    let rows = if goals.is_empty() {
        Vec::new()
    } else {
        match tallies(&store, &q, &keys, &[GOAL, GOAL_REVENUE]).await? {
            Some(counts) => rolled_up(counts, &goals),
            None => conversions(&scan(&store, &q).await?, &goals),
        }
    };
    Ok(Json(GoalsResponse {
        site_id: q.site_id.clone(),
        from: ReportedDay(q.from),
        to: ReportedDay(q.to),
        goals: rows,
    }))
}
