//! Turning counters into the numbers a site owner reads: rates, averages, rows and CSV.
//!
//! Kept apart from the handlers so every endpoint derives bounce rate, visit duration and
//! conversion rate the same way.

use serde::{Serialize, Serializer};
use time::Date;
use utoipa::ToSchema;

use super::query::{Metric, ReportQuery};
use crate::rollup::Property;
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

/// The visit columns: in `/stats` each when `metrics=` names it, in a breakdown all three on
/// rows of session-level properties.
#[derive(Debug, Default, Clone, PartialEq, Serialize, ToSchema)]
pub struct VisitColumns {
    /// Sessions.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = u64, required = false)]
    pub visits: Option<i64>,
    /// Percent of visits with one page view, one decimal.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = f64, required = false, minimum = 0, maximum = 100)]
    pub bounce_rate: Option<f64>,
    /// Average visit length in whole seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = u64, required = false)]
    pub visit_duration: Option<i64>,
}

impl VisitColumns {
    fn all(c: &Counters) -> Self {
        Self {
            visits: Some(c.visits),
            bounce_rate: Some(bounce_rate(c)),
            visit_duration: Some(visit_duration(c)),
        }
    }
}

/// The `metrics=` extras of `/stats`: each present only when asked for.
#[derive(Debug, Default, PartialEq, Serialize, ToSchema)]
#[schema(as = Metrics)]
pub struct Extras {
    #[serde(flatten)]
    pub visit: VisitColumns,
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
            Metric::Visits => out.visit.visits = Some(c.visits),
            Metric::BounceRate => out.visit.bounce_rate = Some(bounce_rate(c)),
            Metric::VisitDuration => out.visit.visit_duration = Some(visit_duration(c)),
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
    #[serde(flatten)]
    pub visit: VisitColumns,
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
            visit: VisitColumns::default(),
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
                row.visit = VisitColumns::all(c);
            }
            row
        })
        .collect()
}

/// RFC 4180 CSV with a header row (the `csv` crate): the columns of the JSON rows, in their
/// order (the `csv` crate cannot serialize the flattened visit columns itself). Values that a
/// spreadsheet would run as a formula are prefixed with `'` (CSV injection).
pub fn csv(rows: &[BreakdownRow]) -> String {
    let mut out = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    if rows.is_empty() {
        write(&mut out, ["value"]);
    }
    for (i, row) in rows.iter().enumerate() {
        let columns = columns(row);
        if i == 0 {
            write(&mut out, columns.iter().map(|(name, _)| name));
        }
        write(&mut out, columns.iter().map(|(_, text)| text));
    }
    let bytes = out.into_inner().expect("writing to memory cannot fail");
    String::from_utf8(bytes).expect("CSV of UTF-8 values is UTF-8")
}

/// A row's present columns as JSON names them, each rendered as a cell.
fn columns(row: &BreakdownRow) -> Vec<(String, String)> {
    let serde_json::Value::Object(fields) =
        serde_json::to_value(row).expect("a row of strings and numbers always serializes")
    else {
        unreachable!("a struct serializes to an object")
    };
    fields
        .into_iter()
        .map(|(name, value)| {
            let text = match value {
                serde_json::Value::String(s) => cell(&s),
                other => other.to_string(),
            };
            (name, text)
        })
        .collect()
}

fn write<I: IntoIterator<Item = T>, T: AsRef<[u8]>>(out: &mut csv::Writer<Vec<u8>>, record: I) {
    out.write_record(record)
        .expect("writing to memory cannot fail");
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
            visit: VisitColumns::all(&Counters {
                visits: 3,
                bounces: 1,
                duration: 1,
                ..Counters::default()
            }),
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
