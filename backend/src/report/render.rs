//! Turning counters into the numbers a site owner reads: rates, averages, rows and CSV.
//!
//! Kept apart from the handlers so every endpoint derives bounce rate, visit duration and
//! conversion rate the same way.

use serde::{Serialize, Serializer};
use time::Date;
use utoipa::ToSchema;

use super::property::Property;
use super::query::{Metric, ReportQuery};
use crate::rollup::{Counters, Dimension};
use crate::store::Row;

pub fn ratio(part: i64, whole: i64, scale: f64, decimals: i32) -> f64 {
    if whole <= 0 {
        return 0.0;
    }
    let factor = 10f64.powi(decimals);
    (part as f64 * scale / whole as f64 * factor).round() / factor
}

/// Percent of visits with a single event, one decimal.
pub fn bounce_rate(c: &Counters) -> f64 {
    ratio(c.bounces, c.visits, 100.0, 1)
}

/// Average visit duration in whole seconds.
pub fn visit_duration(c: &Counters) -> i64 {
    ratio(c.duration, c.visits, 1.0, 0) as i64
}

pub fn views_per_visit(c: &Counters) -> f64 {
    ratio(c.views, c.visits, 1.0, 2)
}

/// A day in a report's answer, written `YYYY-MM-DD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportedDay(pub Date);

impl Serialize for ReportedDay {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.0)
    }
}

/// The `metrics=` extras of `/stats`: each present only when asked for.
#[derive(Debug, Default, PartialEq, Serialize, ToSchema)]
#[schema(as = Metrics)]
pub struct Extras {
    /// With `metrics=visits`: sessions.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = u64, required = false)]
    pub visits: Option<i64>,
    /// With `metrics=bounce_rate`: percent of visits with one page view, one decimal.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = f64, required = false, minimum = 0, maximum = 100)]
    pub bounce_rate: Option<f64>,
    /// With `metrics=visit_duration`: average visit length in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = u64, required = false)]
    pub visit_duration: Option<i64>,
    /// With `metrics=views_per_visit`: two decimals.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = f64, required = false, minimum = 0)]
    pub views_per_visit: Option<f64>,
    /// With `metrics=events`: custom (non-page-view) events.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = u64, required = false)]
    pub events: Option<i64>,
    /// With `metrics=bots_filtered`: events from bots that were not counted.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = u64, required = false)]
    pub bots_filtered: Option<i64>,
}

pub fn metrics(q: &ReportQuery, c: &Counters) -> Extras {
    let mut out = Extras::default();
    for metric in &q.metrics {
        match metric {
            Metric::Visits => out.visits = Some(c.visits),
            Metric::BounceRate => out.bounce_rate = Some(bounce_rate(c)),
            Metric::VisitDuration => out.visit_duration = Some(visit_duration(c)),
            Metric::ViewsPerVisit => out.views_per_visit = Some(views_per_visit(c)),
            Metric::Events => out.events = Some(c.events - c.views),
            Metric::BotsFiltered => out.bots_filtered = Some(c.bots),
        }
    }
    out
}

/// One hour or day of a timeseries.
#[derive(Debug, PartialEq, Serialize, ToSchema)]
#[schema(as = TimeseriesPoint)]
pub struct Point {
    /// `YYYY-MM-DD` for days, `YYYY-MM-DDTHH:00:00Z` for hours (UTC).
    #[schema(examples("2026-11-25", "2026-11-25T13:00:00Z"))]
    pub time: String,
    #[schema(value_type = u64)]
    pub views: i64,
    #[schema(value_type = u64)]
    pub visitors: i64,
    #[schema(value_type = u64)]
    pub visits: i64,
    #[schema(minimum = 0, maximum = 100)]
    pub bounce_rate: f64,
    #[schema(value_type = u64)]
    pub visit_duration: i64,
}

pub fn point(time: String, c: &Counters) -> Point {
    Point {
        time,
        views: c.views,
        visitors: c.visitors,
        visits: c.visits,
        bounce_rate: bounce_rate(c),
        visit_duration: visit_duration(c),
    }
}

/// An hour's label: its local start with the offset (`2026-11-25T13:00:00+01:00`; `Z` in UTC).
pub fn hour_label(unix_seconds: i64, zone: &crate::rollup::Zone) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(unix_seconds)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    zone.label(t)
}

/// A breakdown row, its columns in display (and CSV) order: session properties carry the visit
/// columns, `event_type` the event ones, and no row carries both.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[schema(as = BreakdownResult)]
pub struct BreakdownRow {
    /// The property value (for country an ISO 3166-1 alpha-2 code).
    pub value: String,
    #[schema(value_type = u64)]
    pub visitors: i64,
    #[schema(value_type = u64)]
    pub views: i64,
    /// Session-level properties only.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = u64, required = false)]
    pub visits: Option<i64>,
    /// Session-level properties only.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = f64, required = false, minimum = 0, maximum = 100)]
    pub bounce_rate: Option<f64>,
    /// Session-level properties only: average seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = u64, required = false)]
    pub visit_duration: Option<i64>,
    /// `property=event_type` only: number of events.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = u64, required = false)]
    pub events: Option<i64>,
    /// `property=event_type` only: percent of unique visitors of the range who sent this event.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = f64, required = false, minimum = 0, maximum = 100)]
    pub conversion_rate: Option<f64>,
}

impl BreakdownRow {
    fn plain(value: String, visitors: i64, views: i64) -> Self {
        Self {
            value,
            visitors,
            views,
            visits: None,
            bounce_rate: None,
            visit_duration: None,
            events: None,
            conversion_rate: None,
        }
    }
}

pub fn breakdown_rows(property: &Property, rows: &[Row], totals: &Counters) -> Vec<BreakdownRow> {
    let dim = property.dimension();
    rows.iter()
        .map(|r| {
            let c = &r.counters;
            // Exit pages move as a visit goes on, so they count exits (visits), not people.
            let visitors = if dim == Some(Dimension::ExitPage) {
                c.visits
            } else {
                c.visitors
            };
            let mut row = BreakdownRow::plain(r.value.clone(), visitors, c.views);
            if dim.is_none_or(|d| d == Dimension::EventType) {
                row.events = Some(c.events);
                row.conversion_rate = Some(ratio(c.visitors, totals.visitors, 100.0, 1));
            } else if dim.is_some_and(Dimension::is_session) {
                row.visits = Some(c.visits);
                row.bounce_rate = Some(bounce_rate(c));
                row.visit_duration = Some(visit_duration(c));
            }
            row
        })
        .collect()
}

/// RFC 4180 CSV with a header row (the `csv` crate). Values that a spreadsheet would run as a
/// formula are prefixed with `'` (CSV injection).
pub fn csv(rows: &[BreakdownRow]) -> String {
    if rows.is_empty() {
        return String::from("value\r\n");
    }
    let mut out = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    for row in rows {
        let guarded = BreakdownRow {
            value: cell(&row.value),
            ..row.clone()
        };
        out.serialize(guarded)
            .expect("a row of strings and numbers always serializes");
    }
    let bytes = out.into_inner().expect("writing to memory cannot fail");
    String::from_utf8(bytes).expect("CSV of UTF-8 values is UTF-8")
}

fn cell(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_and_csv() {
        let c = Counters {
            views: 7,
            visits: 3,
            bounces: 1,
            duration: 100,
            ..Counters::default()
        };
        assert_eq!(bounce_rate(&c), 33.3);
        assert_eq!(visit_duration(&c), 33);
        assert_eq!(views_per_visit(&c), 2.33);
        assert_eq!(bounce_rate(&Counters::default()), 0.0);
        let rows = [
            BreakdownRow::plain("a,\"b\"".into(), 2, 3),
            BreakdownRow::plain("=cmd()".into(), 1, 1),
        ];
        assert_eq!(
            csv(&rows),
            "value,visitors,views\r\n\"a,\"\"b\"\"\",2,3\r\n'=cmd(),1,1\r\n"
        );
        let session = BreakdownRow {
            visits: Some(3),
            bounce_rate: Some(33.3),
            visit_duration: Some(0),
            ..BreakdownRow::plain("Google".into(), 2, 7)
        };
        assert_eq!(
            csv(&[session]),
            "value,visitors,views,visits,bounce_rate,visit_duration\r\nGoogle,2,7,3,33.3,0\r\n"
        );
        assert_eq!(csv(&[]), "value\r\n");
        let utc = crate::rollup::Zone::utc();
        assert_eq!(hour_label(3600 * 25, &utc), "1970-01-02T01:00:00Z");
    }
}
