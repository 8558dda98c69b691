//! `/stats` query parameters, parsed into typed values before anything else happens.
//!
//! Parameters are read one by one from the raw query string: an unknown or repeated name is
//! refused with its name, so `site_id[$ne]=x` is a 400 and never reaches a query.

use beacon_event::fields::names;
use beacon_event::{Day, EventError, SiteId};
use time::OffsetDateTime;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatsQuery {
    pub site_id: SiteId,
    pub date: Day,
}

impl StatsQuery {
    /// Parses `site_id` (required) and `date` (default: today in UTC).
    pub fn parse(query: Option<&str>, now: OffsetDateTime) -> Result<Self, EventError> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query.unwrap_or(""))
            .map_err(|_| EventError::whole("the query string is not valid URL encoding"))?;
        let mut site_id = None;
        let mut date = None;
        for (name, value) in pairs {
            let slot = match name.as_str() {
                names::SITE_ID => &mut site_id,
                names::DATE => &mut date,
                _ => return Err(unknown_parameter(&name)),
            };
            if slot.replace(value).is_some() {
                return Err(EventError {
                    field: field_name(&name),
                    message: format!("`{name}` is given more than once"),
                });
            }
        }
        let site_id = site_id.ok_or_else(|| EventError::field(names::SITE_ID, "is required"))?;
        Ok(Self {
            site_id: SiteId::parse(&site_id)?,
            date: match date {
                Some(d) => Day::parse_named(&d, names::DATE)?,
                None => Day::of(now),
            },
        })
    }
}

fn field_name(name: &str) -> Option<&'static str> {
    [names::SITE_ID, names::DATE]
        .into_iter()
        .find(|n| *n == name)
}

fn unknown_parameter(name: &str) -> EventError {
    // Echo a bounded, printable version of the name so the client can see what was refused.
    let shown: String = name.chars().filter(|c| !c.is_control()).take(64).collect();
    EventError::whole(format!(
        "unknown query parameter `{shown}`; /stats accepts site_id and date"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-11-25 10:00 UTC);

    fn parse(q: &str) -> Result<StatsQuery, EventError> {
        StatsQuery::parse(Some(q), NOW)
    }

    #[test]
    fn valid_and_default_date() {
        let q = parse("site_id=site123&date=2026-11-24").unwrap();
        assert_eq!(
            (q.site_id.as_str(), q.date.to_string().as_str()),
            ("site123", "2026-11-24")
        );
        assert_eq!(parse("site_id=s").unwrap().date.to_string(), "2026-11-25");
    }

    #[test]
    fn refusals_name_the_parameter() {
        assert_eq!(parse("").unwrap_err().field, Some("site_id"));
        assert_eq!(parse("date=2026-11-24").unwrap_err().field, Some("site_id"));
        assert_eq!(parse("site_id=a%20b").unwrap_err().field, Some("site_id"));
        assert_eq!(
            parse("site_id=s&date=tomorrow").unwrap_err().field,
            Some("date")
        );
        assert_eq!(
            parse("site_id=s&site_id=t").unwrap_err().field,
            Some("site_id")
        );
        let injection = parse("site_id[$ne]=x").unwrap_err();
        assert!(
            injection.message.contains("site_id[$ne]"),
            "{}",
            injection.message
        );
        assert!(parse("site_id=s&date[$gt]=2026-01-01").is_err());
        assert!(parse("site_id=%7B%22%24where%22%3A1%7D").is_err());
    }
}
