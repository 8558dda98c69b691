//! How a rollup is laid out as a MongoDB document, read and written through these types.
//!
//! A daily or hourly document: `_id` (the [`RollupKey`] id), what it counts (`site`, `dim`,
//! `value`, and `day` or `hour`), the [`Counters`], the watermark per Kafka partition (`wm`)
//! and, on daily documents, the tier (`t`, see `super::top`).

use std::borrow::Cow;
use std::collections::BTreeMap;

use mongodb::bson::DateTime;
use serde::{Deserialize, Serialize};
use time::Date;

use crate::rollup::{Bucket, Counters, RollupKey};

/// A rollup document as read back. Every field is lenient: a document written by other means
/// reads as counting nothing rather than failing the report.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct RollupDocument {
    #[serde(rename = "_id")]
    pub id: String,
    pub dim: String,
    pub value: String,
    pub day: Option<String>,
    pub hour: Option<DateTime>,
    pub wm: BTreeMap<String, i64>,
    /// A day's site total: the goals every event of the day was matched against.
    #[serde(deserialize_with = "list")]
    pub goals: Option<Vec<String>>,
    /// A day's site total: what the day's documents hold ([`PROPS_ROLLED_UP`]).
    #[serde(deserialize_with = "crate::rollup::count")]
    pub rv: i64,
    #[serde(flatten)]
    pub counters: Counters,
}

/// A stored list of strings; anything else (edited by hand) reads as no list.
fn list<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Stored {
        List(Vec<String>),
        Other(serde::de::IgnoredAny),
    }
    Ok(match Stored::deserialize(d)? {
        Stored::List(list) => Some(list),
        Stored::Other(_) => None,
    })
}

/// How a daily document's `day` is written.
const DAY: &[time::format_description::BorrowedFormatItem<'static>] =
    time::macros::format_description!("[year]-[month]-[day]");

/// A stored `day` (`YYYY-MM-DD`) as a date, if it reads as one.
pub(super) fn parse_day(day: &str) -> Option<Date> {
    Date::parse(day, DAY).ok()
}

impl RollupDocument {
    /// The day a daily document counts, if it reads as one.
    pub fn date(&self) -> Option<Date> {
        parse_day(self.day.as_deref()?)
    }

    /// The watermark: the highest offset per partition already counted.
    pub fn watermarks(&self) -> BTreeMap<i32, i64> {
        by_partition(&self.wm)
    }
}

/// One value's counters summed over a range (`$group` by value).
#[derive(Debug, Deserialize)]
pub(super) struct GroupedRow {
    #[serde(rename = "_id")]
    pub value: String,
    #[serde(flatten)]
    pub counters: Counters,
}

/// A day's site total's field listing the goals counted in its rollups for every event of the
/// day (`crate::rollup::goals`).
pub const GOALS: &str = "goals";
/// What a day's documents hold, stored on its site total (`rv`) by the worker that creates it:
/// this when that worker rolls up custom properties, so every event of the day was counted in
/// them (a day begun by an older worker has none, and its property reports read raw events). A
/// rebuild writes the day afresh, with it.
pub const PROPS_ROLLED_UP: i64 = 2;
/// A day begun by a worker that also writes every event in blocks (`super::blocks`), so its
/// filtered reports can read them; it rolls up custom properties too.
pub const EVENTS_IN_BLOCKS: i64 = 3;

/// What a new rollup document is set to on insert: what it counts.
#[derive(Debug, Serialize)]
pub(super) struct RollupIdentity<'a> {
    site: &'a str,
    dim: Cow<'static, str>,
    value: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    day: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    hour: Option<DateTime>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rv: Option<i64>,
}

impl<'a> RollupIdentity<'a> {
    /// A document the worker creates: a daily total says what the day's documents hold.
    pub fn written(key: &'a RollupKey) -> Self {
        let rv = key.is_daily_total().then_some(EVENTS_IN_BLOCKS);
        Self {
            rv,
            ..Self::of(key)
        }
    }

    pub fn of(key: &'a RollupKey) -> Self {
        let (day, hour) = match key.bucket {
            Bucket::Day(day) => (day.format(DAY).ok(), None),
            Bucket::Hour(s) => (None, Some(DateTime::from_millis(s * 1000))),
        };
        Self {
            site: key.site.as_str(),
            dim: key.dim_name(),
            value: &key.value,
            day,
            hour,
            rv: None,
        }
    }
}

/// A daily rollup document written by an import: what it counts, its counters, its tiers and
/// the table it was imported from (`imp`), which tells it apart from the worker's documents.
#[derive(Debug, Serialize)]
pub(super) struct ImportedRollup<'a> {
    #[serde(flatten)]
    pub identity: RollupIdentity<'a>,
    #[serde(flatten)]
    pub counters: Counters,
    #[serde(flatten)]
    pub tiers: super::tiers::Tiers,
    pub imp: &'a str,
}

/// Offsets per partition as stored (BSON keys are strings); keys that are not partitions are
/// left out.
pub(super) fn by_partition(stored: &BTreeMap<String, i64>) -> BTreeMap<i32, i64> {
    stored
        .iter()
        .filter_map(|(p, o)| Some((p.parse().ok()?, *o)))
        .collect()
}

#[cfg(test)]
mod tests {
    use mongodb::bson::{self, doc};
    use time::macros::date;

    use super::*;
    use crate::rollup::Dimension;
    use beacon_event::SiteId;

    #[test]
    fn a_written_document_reads_back_and_hand_edited_numbers_count() {
        let site = SiteId::parse("s").unwrap();
        let key = RollupKey::of(
            &site,
            Bucket::Day(date!(2026 - 12 - 05)),
            Dimension::Path,
            "/a",
        );
        let mut stored = bson::to_document(&RollupIdentity::of(&key)).unwrap();
        assert_eq!(
            stored,
            doc! { "site": "s", "dim": "path", "value": "/a", "day": "2026-12-05" }
        );
        stored.insert("_id", key.id());
        stored.insert("wm", doc! { "0": 7_i64, "x": 1_i32 });
        stored.insert("views", 3_i32);
        stored.insert("visits", 2.0_f64);
        stored.insert("t", 1_i64);
        stored.insert("bots", "many");
        let read: RollupDocument = bson::from_document(stored).unwrap();
        assert_eq!(
            (read.id.as_str(), read.value.as_str()),
            ("s|2026-12-05|path|/a", "/a")
        );
        assert_eq!(read.watermarks(), BTreeMap::from([(0, 7)]));
        assert_eq!(read.date(), Some(date!(2026 - 12 - 05)));
        let want = Counters {
            views: 3,
            visits: 2,
            ..Counters::default()
        };
        assert_eq!(read.counters, want);
        let hour = RollupKey::total(&site, Bucket::Hour(3600));
        assert_eq!(
            bson::to_document(&RollupIdentity::of(&hour)).unwrap(),
            doc! { "site": "s", "dim": "total", "value": "", "hour": DateTime::from_millis(3_600_000) }
        );
    }

    #[test]
    fn counters_are_stored_under_their_field_names() {
        let c = Counters::from_values([1, 2, 3, 4, 5, 6, 7, 8]);
        let stored = bson::to_document(&c).unwrap();
        let names: Vec<&str> = stored.keys().map(String::as_str).collect();
        assert_eq!(names, Counters::FIELDS);
        assert_eq!(bson::from_document::<Counters>(stored).unwrap(), c);
        // Revenue is written only where there is some (goal revenue documents).
        let without = Counters::from_values([1, 2, 3, 4, 5, 6, 7, 0]);
        let stored = bson::to_document(&without).unwrap();
        assert!(!stored.contains_key("revenue"), "{stored}");
        assert_eq!(bson::from_document::<Counters>(stored).unwrap(), without);
    }
}
