//! Reading and writing the BSON values every collection shares: dates, integers, counters and
//! day ranges.

use mongodb::bson::{doc, Bson, DateTime, Document};
use time::Date;

use crate::rollup::Counters;

/// A BSON date (millisecond precision) for an instant.
pub(super) fn date(t: time::OffsetDateTime) -> DateTime {
    DateTime::from_millis((t.unix_timestamp_nanos() / 1_000_000) as i64)
}

pub(super) fn bson_int(value: &Bson) -> Option<i64> {
    match value {
        Bson::Int32(n) => Some(i64::from(*n)),
        Bson::Int64(n) => Some(*n),
        Bson::Double(n) => Some(*n as i64),
        _ => None,
    }
}

/// A rollup document's counters (absent ones are 0).
pub(super) fn counters(d: &Document) -> Counters {
    let v = Counters::FIELDS.map(|f| d.get(f).and_then(bson_int).unwrap_or(0));
    Counters::from_values(v)
}

pub(super) fn day_range(from: Date, to: Date) -> Document {
    doc! { "$gte": from.to_string(), "$lte": to.to_string() }
}
