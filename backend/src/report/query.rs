//! Report query parameters, parsed into typed values before anything else happens.
//!
//! Parameters are read one by one from the raw query string and each endpoint lists the names
//! it accepts: an unknown or repeated name is refused with its name, so `site_id[$ne]=x` is a
//! 400 and never reaches a query. Every value becomes a typed value (a [`SiteId`], a date
//! range, a [`Property`], a filter list) or a 400 naming the parameter.

use beacon_event::fields::names;
use beacon_event::{Day, EventError, SiteId};
use time::{Date, OffsetDateTime};

use super::filter::parse_filters;
pub use super::filter::Filter;
use crate::rollup::Property;
use crate::rollup::Zone;

/// Longest range a report covers.
pub const MAX_RANGE_DAYS: i64 = 366;
/// Longest range an hourly timeseries covers.
pub const MAX_HOURLY_DAYS: i64 = 31;
pub const MAX_LIMIT: u32 = 1000;
/// Highest breakdown page.
pub const MAX_PAGE: u32 = 100_000;
pub const MAX_FILTERS: usize = 10;
/// Longest filter value, in characters.
pub const MAX_FILTER_VALUE_CHARS: usize = 2048;

/// Extra `/stats` metrics a client may ask for with `metrics=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    Visits,
    BounceRate,
    VisitDuration,
    ViewsPerVisit,
    Events,
    BotsFiltered,
}

impl Metric {
    pub const ALL: [(&'static str, Metric); 6] = [
        ("visits", Metric::Visits),
        ("bounce_rate", Metric::BounceRate),
        ("visit_duration", Metric::VisitDuration),
        ("views_per_visit", Metric::ViewsPerVisit),
        ("events", Metric::Events),
        ("bots_filtered", Metric::BotsFiltered),
    ];
}

/// What a report is compared with (`compare=`), as Plausible's API names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compare {
    /// The range of the same number of days that ends the day before `from`.
    PreviousPeriod,
}

impl Compare {
    fn parse(value: &str) -> Result<Self, EventError> {
        match value {
            "previous_period" => Ok(Self::PreviousPeriod),
            _ => Err(EventError::field("compare", "must be `previous_period`")),
        }
    }
}

/// A timeseries' bucket size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Interval {
    Hour,
    Day,
}

/// Everything any report endpoint accepts, typed. Each endpoint reads what it needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportQuery {
    pub site_id: SiteId,
    /// Inclusive UTC date range.
    pub from: Date,
    pub to: Date,
    /// Whether the range came from `from`/`to` (rather than `date` or the default).
    pub ranged: bool,
    pub filters: Vec<Filter>,
    pub metrics: Vec<Metric>,
    pub interval: Interval,
    pub property: Option<Property>,
    pub limit: u32,
    pub page: u32,
    pub csv: bool,
    pub compare: Option<Compare>,
    /// `/stats/funnel`: the funnel's name.
    pub funnel: Option<String>,
    /// `/stats/realtime`: also the last 30 minutes minute by minute, top pages and sources.
    pub detail: bool,
    /// The site's time zone: `from`, `to` and "today" are its days.
    pub zone: Zone,
}

/// The parameters of each endpoint.
pub mod accepts {
    pub const STATS: &[&str] = &[
        "site_id", "date", "from", "to", "filters", "metrics", "compare",
    ];
    pub const TIMESERIES: &[&str] = &[
        "site_id", "date", "from", "to", "filters", "interval", "compare",
    ];
    pub const BREAKDOWN: &[&str] = &[
        "site_id", "date", "from", "to", "filters", "property", "limit", "page", "format",
    ];
    pub const REALTIME: &[&str] = &["site_id", "detail"];
    pub const GOALS: &[&str] = &["site_id", "date", "from", "to", "filters"];
    pub const FUNNEL: &[&str] = &["site_id", "date", "from", "to", "filters", "funnel"];
}

/// A query string's name/value pairs, URL-decoded; nothing else is checked yet.
pub struct Params(Vec<(String, String)>);

impl Params {
    pub fn decode(query: Option<&str>) -> Result<Self, EventError> {
        serde_urlencoded::from_str(query.unwrap_or(""))
            .map(Self)
            .map_err(|_| EventError::whole("the query string is not valid URL encoding"))
    }

    pub fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        Self(pairs)
    }

    pub fn into_pairs(self) -> Vec<(String, String)> {
        self.0
    }

    /// Every `site_id` given (a repeated one is refused later, but each one can be checked).
    pub fn site_ids(&self) -> impl Iterator<Item = &str> {
        self.0
            .iter()
            .filter(|(name, _)| name == names::SITE_ID)
            .map(|(_, value)| value.as_str())
    }
}

/// The parameters of one request, each one of its endpoint's names and given once.
struct Named(Vec<(&'static str, String)>);

impl Named {
    fn check(params: Params, accepted: &'static [&'static str]) -> Result<Self, EventError> {
        let mut values: Vec<(&'static str, String)> = Vec::new();
        for (name, value) in params.0 {
            let Some(known) = accepted.iter().find(|n| **n == name) else {
                return Err(unknown_parameter(&name, accepted));
            };
            if values.iter().any(|(n, _)| n == known) {
                return Err(EventError::field(known, "is given more than once"));
            }
            values.push((known, value));
        }
        Ok(Self(values))
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    fn day(&self, name: &'static str) -> Result<Option<Date>, EventError> {
        self.get(name)
            .map(|v| Day::parse_named(v, name).map(|d| d.start().date()))
            .transpose()
    }
}

impl ReportQuery {
    /// Parses `query` for an endpoint that takes the parameters in `accepted`.
    pub fn parse(
        query: Option<&str>,
        accepted: &'static [&'static str],
        now: OffsetDateTime,
    ) -> Result<Self, EventError> {
        Self::from_params(Params::decode(query)?, accepted, now, Zone::utc())
    }

    /// Types decoded parameters for an endpoint that takes the names in `accepted`.
    pub fn from_params(
        params: Params,
        accepted: &'static [&'static str],
        now: OffsetDateTime,
        zone: Zone,
    ) -> Result<Self, EventError> {
        let p = Named::check(params, accepted)?;
        let site_id = SiteId::parse(
            p.get(names::SITE_ID)
                .ok_or_else(|| EventError::field(names::SITE_ID, "is required"))?,
        )?;
        let (from, to) = range(&p, zone.date_of(now))?;
        Ok(Self {
            site_id,
            from,
            to,
            ranged: p.get("from").is_some(),
            filters: p
                .get("filters")
                .map(parse_filters)
                .transpose()?
                .unwrap_or_default(),
            metrics: p
                .get("metrics")
                .map(parse_metrics)
                .transpose()?
                .unwrap_or_default(),
            interval: interval(&p, from, to)?,
            property: property(&p, accepted)?,
            limit: bounded(p.get("limit"), "limit", 10, 1..=MAX_LIMIT)?,
            page: bounded(p.get("page"), "page", 1, 1..=MAX_PAGE)?,
            csv: match p.get("format") {
                None | Some("json") => false,
                Some("csv") => true,
                Some(_) => return Err(EventError::field("format", "must be `json` or `csv`")),
            },
            compare: p.get("compare").map(Compare::parse).transpose()?,
            funnel: funnel(&p, accepted)?,
            detail: match p.get("detail") {
                None | Some("false") => false,
                Some("true") => true,
                Some(_) => return Err(EventError::field("detail", "must be `true` or `false`")),
            },
            zone,
        })
    }

    /// The query for the range `compare` asks for, with everything else unchanged (filters,
    /// metrics, interval), or `None` without `compare`.
    ///
    /// `previous_period`: as many days as `from..=to`, ending the day before `from`, so an
    /// hourly series has as many points as the current one and the two align by position.
    pub fn comparison(&self) -> Option<Self> {
        let Compare::PreviousPeriod = self.compare?;
        let days = time::Duration::days((self.to - self.from).whole_days() + 1);
        Some(Self {
            from: self.from.saturating_sub(days),
            to: self.from.saturating_sub(time::Duration::DAY),
            compare: None,
            ..self.clone()
        })
    }

    /// The rows `page` and `limit` ask for.
    pub fn rows_page(&self) -> crate::store::Page {
        crate::store::Page {
            skip: u64::from(self.page - 1) * u64::from(self.limit),
            limit: u64::from(self.limit),
        }
    }

    /// The range as instants: from the first day's local midnight to the one after the last.
    pub fn instants(&self) -> (OffsetDateTime, OffsetDateTime) {
        let after = self.to.next_day().unwrap_or(self.to);
        (self.zone.midnight(self.from), self.zone.midnight(after))
    }

    pub fn wants(&self, metric: Metric) -> bool {
        self.metrics.contains(&metric)
    }
}

/// The inclusive range of days: `date`, or `from` and `to`, or `today` (the site's).
fn range(p: &Named, today: Date) -> Result<(Date, Date), EventError> {
    let (from, to) = match (p.day(names::DATE)?, p.day("from")?, p.day("to")?) {
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
            return Err(EventError::field(
                names::DATE,
                "cannot be combined with `from`/`to`",
            ))
        }
        (Some(d), None, None) => (d, d),
        (None, Some(f), Some(t)) => (f, t),
        (None, Some(_), None) => return Err(EventError::field("to", "is required with `from`")),
        (None, None, Some(_)) => return Err(EventError::field("from", "is required with `to`")),
        (None, None, None) => (today, today),
    };
    if to < from {
        return Err(EventError::field("to", "must not be before `from`"));
    }
    if (to - from).whole_days() >= MAX_RANGE_DAYS {
        return Err(EventError::field(
            "to",
            format!("must be within {MAX_RANGE_DAYS} days of `from`"),
        ));
    }
    Ok((from, to))
}

/// `interval`: by default hours for one day and days for a range.
fn interval(p: &Named, from: Date, to: Date) -> Result<Interval, EventError> {
    let interval = match p.get("interval") {
        None if from == to => Interval::Hour,
        None => Interval::Day,
        Some("hour") => Interval::Hour,
        Some("day") => Interval::Day,
        Some(_) => return Err(EventError::field("interval", "must be `hour` or `day`")),
    };
    if interval == Interval::Hour && (to - from).whole_days() >= MAX_HOURLY_DAYS {
        return Err(EventError::field(
            "interval",
            format!("`hour` covers at most {MAX_HOURLY_DAYS} days"),
        ));
    }
    Ok(interval)
}

/// `funnel`: a name of 1-64 characters, required where the endpoint takes it.
fn funnel(p: &Named, accepted: &[&str]) -> Result<Option<String>, EventError> {
    match p.get("funnel") {
        Some(name) => {
            let chars = name.chars().count();
            if chars == 0 || chars > 64 || name.chars().any(char::is_control) {
                return Err(EventError::field(
                    "funnel",
                    "must be a funnel's name: 1-64 characters, no control characters",
                ));
            }
            Ok(Some(name.to_owned()))
        }
        None if accepted.contains(&"funnel") => Err(EventError::field("funnel", "is required")),
        None => Ok(None),
    }
}

/// `property`: required where the endpoint takes it.
fn property(p: &Named, accepted: &[&str]) -> Result<Option<Property>, EventError> {
    match p.get("property") {
        Some(name) => Property::parse(name).map(Some).ok_or_else(|| {
            EventError::field("property", format!("must be one of: {}", Property::names()))
        }),
        None if accepted.contains(&"property") => Err(EventError::field("property", "is required")),
        None => Ok(None),
    }
}

fn parse_metrics(text: &str) -> Result<Vec<Metric>, EventError> {
    let mut out = Vec::new();
    for name in text.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let Some((_, metric)) = Metric::ALL.iter().find(|(n, _)| *n == name) else {
            let known: Vec<&str> = Metric::ALL.iter().map(|(n, _)| *n).collect();
            return Err(EventError::field(
                "metrics",
                format!("must be a comma-separated list of: {}", known.join(", ")),
            ));
        };
        if !out.contains(metric) {
            out.push(*metric);
        }
    }
    Ok(out)
}

fn bounded(
    value: Option<&str>,
    name: &'static str,
    default: u32,
    range: std::ops::RangeInclusive<u32>,
) -> Result<u32, EventError> {
    let Some(value) = value else {
        return Ok(default);
    };
    value
        .parse::<u32>()
        .ok()
        .filter(|n| range.contains(n))
        .ok_or_else(|| {
            EventError::field(
                name,
                format!(
                    "must be a whole number from {} to {}",
                    range.start(),
                    range.end()
                ),
            )
        })
}

fn unknown_parameter(name: &str, accepted: &[&str]) -> EventError {
    // Echo a bounded, printable version of the name so the client can see what was refused.
    let shown: String = name.chars().filter(|c| !c.is_control()).take(64).collect();
    EventError::whole(format!(
        "unknown query parameter `{shown}`; this endpoint accepts {}",
        accepted.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rollup::Dimension;
    use time::macros::{date, datetime};

    const NOW: OffsetDateTime = datetime!(2026-11-25 10:00 UTC);

    fn parse(q: &str) -> Result<ReportQuery, EventError> {
        ReportQuery::parse(Some(q), accepts::STATS, NOW)
    }

    #[test]
    fn valid_and_default_date() {
        let q = parse("site_id=site123&date=2026-11-24").unwrap();
        assert_eq!(q.site_id.as_str(), "site123");
        assert_eq!(
            (q.from, q.to),
            (date!(2026 - 11 - 24), date!(2026 - 11 - 24))
        );
        let q = parse("site_id=s").unwrap();
        assert_eq!(
            (q.from, q.to),
            (date!(2026 - 11 - 25), date!(2026 - 11 - 25))
        );
        let q =
            parse("site_id=s&from=2026-11-01&to=2026-11-25&metrics=visits,bounce_rate").unwrap();
        assert_eq!(q.interval, Interval::Day);
        assert!(q.wants(Metric::BounceRate) && !q.wants(Metric::Events));
    }

    #[test]
    fn refusals_name_the_parameter() {
        let field = |q: &str| parse(q).unwrap_err().field;
        assert_eq!(field(""), Some("site_id"));
        assert_eq!(field("date=2026-11-24"), Some("site_id"));
        assert_eq!(field("site_id=a%20b"), Some("site_id"));
        assert_eq!(field("site_id=s&date=tomorrow"), Some("date"));
        assert_eq!(field("site_id=s&site_id=t"), Some("site_id"));
        assert_eq!(field("site_id=s&from=2026-11-02&to=2026-11-01"), Some("to"));
        assert_eq!(field("site_id=s&from=2026-11-02"), Some("to"));
        assert_eq!(
            field("site_id=s&date=2026-11-02&to=2026-11-03"),
            Some("date")
        );
        assert_eq!(field("site_id=s&from=2024-01-01&to=2026-11-03"), Some("to"));
        assert_eq!(field("site_id=s&metrics=visits,nope"), Some("metrics"));
        assert_eq!(field("site_id=s&filters=source"), Some("filters"));
        assert_eq!(field("site_id=s&filters=colour==red"), Some("filters"));
        assert_eq!(field("site_id=s&compare=year_over_year"), Some("compare"));
        assert_eq!(field("site_id=s&compare="), Some("compare"));
        let injection = parse("site_id[$ne]=x").unwrap_err();
        assert!(
            injection.message.contains("site_id[$ne]"),
            "{}",
            injection.message
        );
        assert!(parse("site_id=s&date[$gt]=2026-01-01").is_err());
        assert!(parse("site_id=%7B%22%24where%22%3A1%7D").is_err());
        // A parameter of another endpoint is unknown here.
        assert!(parse("site_id=s&property=path")
            .unwrap_err()
            .field
            .is_none());
    }

    #[test]
    fn the_previous_period_has_the_same_length_and_ends_the_day_before() {
        let previous = |q: &str| {
            let p = parse(q).unwrap().comparison().unwrap();
            (p.from, p.to, p.compare)
        };
        assert_eq!(
            previous("site_id=s&date=2026-03-01&compare=previous_period"),
            (date!(2026 - 02 - 28), date!(2026 - 02 - 28), None)
        );
        // 7 days: the 7 days before, across the end of a month.
        assert_eq!(
            previous("site_id=s&from=2026-12-01&to=2026-12-07&compare=previous_period"),
            (date!(2026 - 11 - 24), date!(2026 - 11 - 30), None)
        );
        // March has 31 days; the 31 days before it reach into January.
        assert_eq!(
            previous("site_id=s&from=2026-03-01&to=2026-03-31&compare=previous_period"),
            (date!(2026 - 01 - 29), date!(2026 - 02 - 28), None)
        );
        let q =
            parse("site_id=s&filters=device%3D%3Dmobile&metrics=visits&compare=previous_period")
                .unwrap();
        let p = q.comparison().unwrap();
        assert_eq!((&p.filters, &p.metrics), (&q.filters, &q.metrics));
        assert!(parse("site_id=s").unwrap().comparison().is_none());
        // Breakdowns and realtime do not take it.
        let b = ReportQuery::parse(
            Some("site_id=s&property=path&compare=previous_period"),
            accepts::BREAKDOWN,
            NOW,
        );
        assert!(b
            .unwrap_err()
            .message
            .contains("unknown query parameter `compare`"));
    }

    #[test]
    fn breakdown_and_timeseries_parameters() {
        let b = |q: &str| ReportQuery::parse(Some(q), accepts::BREAKDOWN, NOW);
        let q = b("site_id=s&property=source&limit=5&page=2&format=csv").unwrap();
        assert_eq!(
            (q.property, q.limit, q.page, q.csv),
            (Some(Property::Dim(Dimension::Source)), 5, 2, true)
        );
        assert_eq!(b("site_id=s").unwrap_err().field, Some("property"));
        assert_eq!(
            b("site_id=s&property=colour").unwrap_err().field,
            Some("property")
        );
        assert_eq!(
            b("site_id=s&property=path&limit=0").unwrap_err().field,
            Some("limit")
        );
        assert_eq!(
            b("site_id=s&property=path&format=xml").unwrap_err().field,
            Some("format")
        );
        let t = |q: &str| ReportQuery::parse(Some(q), accepts::TIMESERIES, NOW);
        assert_eq!(t("site_id=s").unwrap().interval, Interval::Hour);
        assert_eq!(
            t("site_id=s&from=2026-01-01&to=2026-11-01&interval=hour")
                .unwrap_err()
                .field,
            Some("interval")
        );
        // A value may hold an operator; the first one separates the property.
        let odd = t("site_id=s&filters=path%3D%3D%2Fa!%3Db%3Bpath!%3Dx%3D%3Dy").unwrap();
        assert_eq!(
            odd.filters,
            [
                Filter::equals(Dimension::Path, "/a!=b", false),
                Filter::equals(Dimension::Path, "x==y", true)
            ]
        );
        // At most 2048 characters, not bytes: 2048 two-byte characters pass, 2049 do not.
        let long = |n: usize| format!("site_id=s&filters=path%3D%3D{}", "%C3%A9".repeat(n));
        assert!(t(&long(2048)).is_ok());
        assert_eq!(t(&long(2049)).unwrap_err().field, Some("filters"));
        let f = t("site_id=s&filters=source%3D%3DGoogle%3Bdevice!%3Dmobile").unwrap();
        assert_eq!(
            f.filters,
            vec![
                Filter::equals(Dimension::Source, "Google", false),
                Filter::equals(Dimension::Device, "mobile", true),
            ]
        );
    }
}
