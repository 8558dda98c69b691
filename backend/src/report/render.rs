//! Turning counters into the numbers a site owner reads: rates, averages, rows and CSV.
//!
//! Kept apart from the handlers so every endpoint derives bounce rate, visit duration and
//! conversion rate the same way.

use serde_json::{json, Map, Value};

use super::query::{Metric, ReportQuery};
use crate::rollup::{Counters, Dimension};
use crate::store::Row;

fn ratio(part: i64, whole: i64, scale: f64, decimals: i32) -> f64 {
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

/// The `metrics=` extras of `/stats`.
pub fn metrics(q: &ReportQuery, c: &Counters) -> Map<String, Value> {
    let mut out = Map::new();
    for metric in &q.metrics {
        let (name, value) = match metric {
            Metric::Visits => ("visits", json!(c.visits)),
            Metric::BounceRate => ("bounce_rate", json!(bounce_rate(c))),
            Metric::VisitDuration => ("visit_duration", json!(visit_duration(c))),
            Metric::ViewsPerVisit => ("views_per_visit", json!(views_per_visit(c))),
            Metric::Events => ("events", json!(c.events - c.views)),
            Metric::BotsFiltered => ("bots_filtered", json!(c.bots)),
        };
        out.insert(name.to_owned(), value);
    }
    out
}

pub fn point(time: String, c: &Counters) -> Value {
    json!({
        "time": time,
        "views": c.views,
        "visitors": c.visitors,
        "visits": c.visits,
        "bounce_rate": bounce_rate(c),
        "visit_duration": visit_duration(c),
    })
}

pub fn hour_label(unix_seconds: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(unix_seconds)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!("{}T{:02}:00:00Z", t.date(), t.hour())
}

/// A breakdown row's columns, in display (and CSV) order.
pub type Columns = Vec<(&'static str, Value)>;

pub fn breakdown_rows(dim: Dimension, rows: &[Row], totals: &Counters) -> Vec<Columns> {
    rows.iter()
        .map(|r| {
            let c = &r.counters;
            // Exit pages move as a visit goes on, so they count exits (visits), not people.
            let visitors = if dim == Dimension::ExitPage {
                c.visits
            } else {
                c.visitors
            };
            let mut cols: Columns = vec![
                ("value", json!(r.value)),
                ("visitors", json!(visitors)),
                ("views", json!(c.views)),
            ];
            if dim == Dimension::EventType {
                cols.push(("events", json!(c.events)));
                cols.push((
                    "conversion_rate",
                    json!(ratio(c.visitors, totals.visitors, 100.0, 1)),
                ));
            } else if dim.is_session() {
                cols.push(("visits", json!(c.visits)));
                cols.push(("bounce_rate", json!(bounce_rate(c))));
                cols.push(("visit_duration", json!(visit_duration(c))));
            }
            cols
        })
        .collect()
}

/// RFC 4180 CSV with a header row. Cells that a spreadsheet would run as a formula are
/// prefixed with `'` (CSV injection).
pub fn csv(rows: &[Columns]) -> String {
    let Some(first) = rows.first() else {
        return String::from("value\r\n");
    };
    let mut out = first.iter().map(|(k, _)| *k).collect::<Vec<_>>().join(",");
    out.push_str("\r\n");
    for row in rows {
        let cells: Vec<String> = row
            .iter()
            .map(|(_, v)| match v {
                Value::String(s) => cell(s),
                other => other.to_string(),
            })
            .collect();
        out.push_str(&cells.join(","));
        out.push_str("\r\n");
    }
    out
}

fn cell(text: &str) -> String {
    let guarded = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    };
    if guarded.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", guarded.replace('"', "\"\""))
    } else {
        guarded
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
        let rows = vec![
            vec![("value", json!("a,\"b\"")), ("visitors", json!(2))],
            vec![("value", json!("=cmd()")), ("visitors", json!(1))],
        ];
        assert_eq!(
            csv(&rows),
            "value,visitors\r\n\"a,\"\"b\"\"\",2\r\n'=cmd(),1\r\n"
        );
        assert_eq!(hour_label(3600 * 25), "1970-01-02T01:00:00Z");
    }
}
