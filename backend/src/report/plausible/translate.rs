//! Plausible's Stats API v1 parameters in Beacon's terms: `period`/`date` become `from`/`to`,
//! `event:page`/`visit:source`... become Beacon's property names in `property` and `filters`,
//! and `metrics` name what the answer carries. What Beacon cannot answer is a 400 naming the
//! parameter, never a wrong number.

use beacon_event::EventError;
use time::{Date, Duration, Month};

use crate::report::query::Params;
use crate::rollup::Counters;

/// Plausible's property names and Beacon's.
const PROPERTIES: [(&str, &str); 16] = [
    ("event:page", "path"),
    ("event:name", "event_type"),
    ("visit:entry_page", "entry_page"),
    ("visit:exit_page", "exit_page"),
    ("visit:source", "source"),
    ("visit:referrer", "referrer"),
    ("visit:channel", "channel"),
    ("visit:utm_source", "utm_source"),
    ("visit:utm_medium", "utm_medium"),
    ("visit:utm_campaign", "utm_campaign"),
    ("visit:utm_content", "utm_content"),
    ("visit:utm_term", "utm_term"),
    ("visit:device", "device"),
    ("visit:browser", "browser"),
    ("visit:os", "os"),
    ("visit:country", "country"),
];

/// A Plausible metric Beacon answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    Visitors,
    Pageviews,
    Visits,
    BounceRate,
    VisitDuration,
    ViewsPerVisit,
    Events,
}

impl Metric {
    const ALL: [(&'static str, Metric); 7] = [
        ("visitors", Self::Visitors),
        ("pageviews", Self::Pageviews),
        ("visits", Self::Visits),
        ("bounce_rate", Self::BounceRate),
        ("visit_duration", Self::VisitDuration),
        ("views_per_visit", Self::ViewsPerVisit),
        ("events", Self::Events),
    ];

    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, m)| *m == self)
            .map_or("", |(n, _)| n)
    }

    /// Whether it describes visits (so only session properties break it down).
    pub fn of_visits(self) -> bool {
        matches!(
            self,
            Self::Visits | Self::BounceRate | Self::VisitDuration | Self::ViewsPerVisit
        )
    }

    pub fn value(self, c: &Counters) -> f64 {
        use crate::report::render::{bounce_rate, views_per_visit, visit_duration};
        match self {
            Self::Visitors => c.visitors as f64,
            Self::Pageviews => c.views as f64,
            Self::Visits => c.visits as f64,
            Self::BounceRate => bounce_rate(c),
            Self::VisitDuration => visit_duration(c) as f64,
            Self::ViewsPerVisit => views_per_visit(c),
            Self::Events => c.events as f64,
        }
    }
}

/// What a v1 answer is shaped by besides Beacon's query.
#[derive(Debug, Default)]
pub struct Extra {
    pub metrics: Vec<Metric>,
    /// A breakdown row's key for its value: `page`, `source`, `plan` for `event:props:plan`.
    pub key: String,
}

/// Translates v1 parameters (those in `accepted`) into Beacon's, with `today` in the site's
/// zone for the periods.
pub fn translate(
    params: Params,
    accepted: &[&str],
    today: Date,
) -> Result<(Params, Extra), EventError> {
    let pairs = params.into_pairs();
    for (i, (name, _)) in pairs.iter().enumerate() {
        if !accepted.contains(&name.as_str()) {
            return Err(EventError::whole(format!(
                "unknown parameter `{name}`; this endpoint takes: {}",
                accepted.join(", ")
            )));
        }
        if pairs[..i].iter().any(|(n, _)| n == name) && name != "site_id" {
            return Err(EventError::whole(format!(
                "`{name}` is given more than once"
            )));
        }
    }
    let get = |name: &str| {
        pairs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    let mut out: Vec<(String, String)> = Vec::new();
    let mut extra = Extra::default();
    for (name, value) in &pairs {
        match name.as_str() {
            "site_id" | "page" => out.push((name.clone(), value.clone())),
            "compare" if value == "previous_period" => out.push((name.clone(), value.clone())),
            "compare" => return Err(field("compare", "only `previous_period` is supported")),
            "interval" if value == "date" => out.push(("interval".into(), "day".into())),
            "interval" => return Err(field("interval", "only `date` is supported")),
            // Imported days are daily rollups like tracked ones: always counted.
            "with_imported" if value == "true" => {}
            "with_imported" => {
                return Err(field(
                    "with_imported",
                    "only `true` is supported: imported days are always counted",
                ))
            }
            "filters" => out.push(("filters".into(), filters(value)?)),
            "property" => {
                let (beacon, key) = property(value)?;
                out.push(("property".into(), beacon));
                extra.key = key;
            }
            _ => {}
        }
    }
    if accepted.contains(&"period") {
        let (from, to) = period(get("period").unwrap_or("30d"), get("date"), today)?;
        out.push(("from".into(), from.to_string()));
        out.push(("to".into(), to.to_string()));
    }
    if accepted.contains(&"limit") {
        out.push(("limit".into(), get("limit").unwrap_or("100").to_owned()));
    }
    extra.metrics = metrics(get("metrics").unwrap_or("visitors"))?;
    Ok((Params::from_pairs(out), extra))
}

fn field(name: &'static str, rule: &str) -> EventError {
    EventError::field(name, rule)
}

/// The range of a period ending with `date` (today by default).
fn period(period: &str, date: Option<&str>, today: Date) -> Result<(Date, Date), EventError> {
    let day =
        |text: &str| beacon_event::Day::parse_named(text.trim(), "date").map(|d| d.start().date());
    if period == "custom" {
        let (from, to) = date
            .and_then(|d| d.split_once(','))
            .ok_or_else(|| field("date", "`period=custom` needs `date=YYYY-MM-DD,YYYY-MM-DD`"))?;
        return Ok((day(from)?, day(to)?));
    }
    let end = date.map(day).transpose()?.unwrap_or(today);
    let month_start = |d: Date, back: u8| {
        let mut m = d.replace_day(1).unwrap_or(d);
        for _ in 0..back {
            m = (m - Duration::DAY).replace_day(1).unwrap_or(m);
        }
        m
    };
    let month_end = |d: Date| {
        let next = if d.month() == Month::December {
            Date::from_calendar_date(d.year() + 1, Month::January, 1)
        } else {
            Date::from_calendar_date(d.year(), d.month().next(), 1)
        };
        next.map_or(d, |n| n - Duration::DAY)
    };
    Ok(match period {
        "day" => (end, end),
        "7d" => (end - Duration::days(6), end),
        "30d" => (end - Duration::days(29), end),
        "month" => (month_start(end, 0), month_end(end)),
        "6mo" => (month_start(end, 5), month_end(end)),
        "12mo" => (month_start(end, 11), month_end(end)),
        _ => {
            return Err(field(
                "period",
                "must be day, 7d, 30d, month, 6mo, 12mo or custom",
            ))
        }
    })
}

/// A v1 property and the key its rows carry.
fn property(name: &str) -> Result<(String, String), EventError> {
    if let Some(key) = name.strip_prefix("event:props:") {
        return Ok((format!("props.{key}"), key.to_owned()));
    }
    match PROPERTIES.iter().find(|(v1, _)| *v1 == name) {
        Some((v1, beacon)) => {
            let key = v1.rsplit(':').next().unwrap_or(v1);
            Ok(((*beacon).to_owned(), key.to_owned()))
        }
        _ => Err(field(
            "property",
            "is not one Beacon reports (see the README's table of Plausible properties)",
        )),
    }
}

/// `event:page==/blog/**;visit:country==DE|FR` in Beacon's names; the operators and values are
/// the same language.
fn filters(text: &str) -> Result<String, EventError> {
    let translated: Result<Vec<String>, EventError> = text
        .split(';')
        .filter(|c| !c.trim().is_empty())
        .map(|condition| {
            let at = ["!=", "==", "~"]
                .iter()
                .filter_map(|op| condition.find(op))
                .min()
                .ok_or_else(|| field("filters", "each condition needs `==` or `!=`"))?;
            let (name, rest) = condition.split_at(at);
            let rest = rest
                .strip_prefix('~')
                .map_or(rest.to_owned(), |v| format!("~={v}"));
            let (beacon, _) = property(name.trim())
                .map_err(|_| field("filters", "names a property Beacon does not report"))?;
            Ok(format!("{beacon}{rest}"))
        })
        .collect();
    Ok(translated?.join(";"))
}

fn metrics(text: &str) -> Result<Vec<Metric>, EventError> {
    text.split(',')
        .map(|name| {
            Metric::ALL
                .iter()
                .find(|(n, _)| *n == name.trim())
                .map(|(_, m)| *m)
                .ok_or_else(|| {
                    field(
                        "metrics",
                        "takes visitors, pageviews, visits, bounce_rate, visit_duration, \
                         views_per_visit and events (time_on_page, conversion_rate, \
                         scroll_depth and percentage are not supported)",
                    )
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    const AGGREGATE: &[&str] = &["site_id", "period", "date", "metrics", "filters", "compare"];

    fn beacon(query: &str) -> Result<(Vec<(String, String)>, Extra), EventError> {
        let params = Params::decode(Some(query)).unwrap();
        translate(params, AGGREGATE, date!(2026 - 12 - 05)).map(|(p, e)| (p.into_pairs(), e))
    }

    fn range(query: &str) -> (String, String) {
        let (pairs, _) = beacon(query).unwrap();
        let get = |n: &str| pairs.iter().find(|(k, _)| k == n).unwrap().1.clone();
        (get("from"), get("to"))
    }

    #[test]
    fn periods_are_ranges_ending_with_the_date() {
        let r = |f: &str, t: &str| (f.to_owned(), t.to_owned());
        assert_eq!(range("site_id=s"), r("2026-11-06", "2026-12-05"));
        assert_eq!(range("site_id=s&period=day"), r("2026-12-05", "2026-12-05"));
        assert_eq!(
            range("site_id=s&period=7d&date=2026-03-02"),
            r("2026-02-24", "2026-03-02")
        );
        assert_eq!(
            range("site_id=s&period=month"),
            r("2026-12-01", "2026-12-31")
        );
        assert_eq!(range("site_id=s&period=6mo"), r("2026-07-01", "2026-12-31"));
        assert_eq!(
            range("site_id=s&period=12mo&date=2026-02-10"),
            r("2025-03-01", "2026-02-28")
        );
        assert_eq!(
            range("site_id=s&period=custom&date=2026-01-01,2026-01-31"),
            r("2026-01-01", "2026-01-31")
        );
        let err = |q: &str| beacon(q).unwrap_err().field;
        assert_eq!(err("site_id=s&period=custom"), Some("date"));
        assert_eq!(err("site_id=s&period=1y"), Some("period"));
    }

    #[test]
    fn filters_properties_and_metrics_in_beacon_s_names() {
        let (pairs, extra) =
            beacon("site_id=s&filters=event:page%3D%3D/blog/**;visit:source!%3DGoogle|Bing&metrics=visitors,bounce_rate")
                .unwrap();
        assert!(pairs.contains(&(
            "filters".into(),
            "path==/blog/**;source!=Google|Bing".into()
        )));
        assert_eq!(extra.metrics, [Metric::Visitors, Metric::BounceRate]);
        assert_eq!(filters("event:props:plan==pro").unwrap(), "props.plan==pro");
        assert_eq!(filters("event:page~blog").unwrap(), "path~=blog");
        assert_eq!(
            property("visit:country").unwrap(),
            ("country".into(), "country".into())
        );
        assert_eq!(
            property("event:props:plan").unwrap(),
            ("props.plan".into(), "plan".into())
        );
        let err = |q: &str| beacon(q).unwrap_err().field;
        assert_eq!(err("site_id=s&metrics=time_on_page"), Some("metrics"));
        assert_eq!(
            err("site_id=s&filters=visit:city%3D%3DBerlin"),
            Some("filters")
        );
        assert_eq!(err("site_id=s&compare=year"), Some("compare"));
        assert!(beacon("site_id=s&interval=date")
            .unwrap_err()
            .message
            .contains("interval"));
        assert!(property("event:hostname").is_err());
        assert!(property("visit:country_name").is_err());
    }
}
