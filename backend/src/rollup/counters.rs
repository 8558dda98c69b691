//! What a rollup document counts, and where a count goes (site × bucket × property value).

use std::borrow::Cow;
use std::ops::{AddAssign, Sub};

use beacon_event::SiteId;
use time::{Date, OffsetDateTime};

use super::{Property, Zone, TOTAL};

/// The additive counters every rollup document carries. Signed: a visit that gets a second page
/// stops being a bounce, and a moving exit page leaves one value for another, so some
/// contributions are negative.
///
/// Stored under these field names; read leniently (an absent counter is 0, and any number
/// type counts, as a document edited by hand in a shell holds doubles).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Counters {
    /// `page_view` events.
    #[serde(deserialize_with = "count")]
    pub views: i64,
    /// All events, page views included.
    #[serde(deserialize_with = "count")]
    pub events: i64,
    /// Distinct visitors (each counted once per document).
    #[serde(deserialize_with = "count")]
    pub visitors: i64,
    /// Visits (sessions) started.
    #[serde(deserialize_with = "count")]
    pub visits: i64,
    /// Visits with a single event.
    #[serde(deserialize_with = "count")]
    pub bounces: i64,
    /// Sum of visit durations, in seconds.
    #[serde(deserialize_with = "count")]
    pub duration: i64,
    /// Events from bots and scripts, filtered out of everything else.
    #[serde(deserialize_with = "count")]
    pub bots: i64,
    /// Revenue in millionths of the currency (goal revenue documents only; not written when 0).
    #[serde(deserialize_with = "count", skip_serializing_if = "is_zero")]
    pub revenue: i64,
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

impl Counters {
    /// Field names in MongoDB, in the order of [`Counters::values`].
    pub const FIELDS: [&'static str; 8] = [
        "views", "events", "visitors", "visits", "bounces", "duration", "bots", "revenue",
    ];

    pub fn values(&self) -> [i64; 8] {
        [
            self.views,
            self.events,
            self.visitors,
            self.visits,
            self.bounces,
            self.duration,
            self.bots,
            self.revenue,
        ]
    }

    pub fn from_values(v: [i64; 8]) -> Self {
        Self {
            views: v[0],
            events: v[1],
            visitors: v[2],
            visits: v[3],
            bounces: v[4],
            duration: v[5],
            bots: v[6],
            revenue: v[7],
        }
    }

    pub fn is_zero(&self) -> bool {
        *self == Self::default()
    }
}

/// A stored count: any BSON number, a double truncated (only a hand-edited document has one);
/// anything else counts 0, so one damaged document cannot fail a report or a worker's read.
pub(crate) fn count<'de, D: serde::Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum Number {
        Int(i64),
        Float(f64),
        Other(serde::de::IgnoredAny),
    }
    Ok(match serde::Deserialize::deserialize(d)? {
        Number::Int(n) => n,
        Number::Float(f) => f as i64,
        Number::Other(_) => 0,
    })
}

impl AddAssign for Counters {
    fn add_assign(&mut self, rhs: Self) {
        let (a, b) = (self.values(), rhs.values());
        *self = Self::from_values(std::array::from_fn(|i| a[i] + b[i]));
    }
}

impl Sub for Counters {
    type Output = Self;
    fn sub(self, rhs: Self) -> Self {
        let (a, b) = (self.values(), rhs.values());
        Self::from_values(std::array::from_fn(|i| a[i] - b[i]))
    }
}

/// A time bucket: a day (every property) or an hour (site totals, for hourly charts), the
/// site's own (see [`Zone`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Bucket {
    Day(Date),
    /// Unix seconds of the hour's start.
    Hour(i64),
}

impl Bucket {
    /// The UTC day of `t`.
    pub fn day_of(t: OffsetDateTime) -> Self {
        Self::day_in(t, &Zone::utc())
    }

    /// The local day of `t` in `zone`.
    pub fn day_in(t: OffsetDateTime, zone: &Zone) -> Self {
        Self::Day(zone.date_of(t))
    }

    /// The local hour of `t` in `zone` (unix seconds of its start).
    pub fn hour_in(t: OffsetDateTime, zone: &Zone) -> Self {
        Self::Hour(zone.hour_start(t))
    }

    /// The UTC hour of `t`.
    pub fn hour_of(t: OffsetDateTime) -> Self {
        Self::hour_in(t, &Zone::utc())
    }
}

/// Which document a contribution goes to. `dim: None` is the site's total.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RollupKey {
    pub site: SiteId,
    pub bucket: Bucket,
    pub dim: Option<Property>,
    pub value: String,
}

impl RollupKey {
    pub fn total(site: &SiteId, bucket: Bucket) -> Self {
        Self {
            site: site.clone(),
            bucket,
            dim: None,
            value: String::new(),
        }
    }

    pub fn of(site: &SiteId, bucket: Bucket, dim: impl Into<Property>, value: &str) -> Self {
        Self {
            site: site.clone(),
            bucket,
            dim: Some(dim.into()),
            value: value.to_owned(),
        }
    }

    /// The dimension's name as stored (`total` for the site total).
    pub fn dim_name(&self) -> Cow<'static, str> {
        self.dim
            .as_ref()
            .map_or(Cow::Borrowed(TOTAL), Property::stored)
    }

    /// Whether this is a day's site total, the document that says what the day's documents
    /// hold (its `rv` and its goal list, see `crate::store`).
    pub fn is_daily_total(&self) -> bool {
        self.dim.is_none() && matches!(self.bucket, Bucket::Day(_))
    }

    /// The document id: every part, so one key is one document and an upsert finds it.
    /// Values may contain `|`; the value is last and a custom property's key is escaped
    /// ([`Property::delimited`]), so ids stay unambiguous.
    pub fn id(&self) -> String {
        let bucket = match self.bucket {
            Bucket::Day(d) => d.to_string(),
            Bucket::Hour(s) => format!("h{s}"),
        };
        let dim = self
            .dim
            .as_ref()
            .map_or(Cow::Borrowed(TOTAL), Property::delimited);
        format!("{}|{}|{}|{}", self.site, bucket, dim, self.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rollup::Dimension;
    use time::macros::datetime;

    #[test]
    fn arithmetic_and_buckets() {
        let mut a = Counters {
            views: 2,
            bounces: 1,
            ..Counters::default()
        };
        a += Counters {
            views: 1,
            bounces: -1,
            ..Counters::default()
        };
        assert_eq!((a.views, a.bounces), (3, 0));
        assert!((a - a).is_zero());
        let t = datetime!(2026-11-25 13:59:59 UTC);
        let site = SiteId::parse("s").unwrap();
        assert_eq!(
            Bucket::hour_of(t),
            Bucket::Hour(datetime!(2026-11-25 13:00 UTC).unix_timestamp())
        );
        assert_eq!(
            RollupKey::of(&site, Bucket::day_of(t), Dimension::Path, "/a|b").id(),
            "s|2026-11-25|path|/a|b"
        );
        assert_eq!(
            RollupKey::of(&site, Bucket::day_of(t), Property::Prop("a|b".into()), "c").id(),
            "s|2026-11-25|props.a%7Cb|c"
        );
        assert_eq!(
            RollupKey::total(&site, Bucket::hour_of(t)).id(),
            format!(
                "s|h{}|total|",
                datetime!(2026-11-25 13:00 UTC).unix_timestamp()
            )
        );
    }
}
