//! The BSON values every collection shares: dates and day ranges.

use mongodb::bson::{doc, DateTime, Document};
use time::Date;

/// A BSON date (millisecond precision) for an instant.
pub(super) fn date(t: time::OffsetDateTime) -> DateTime {
    DateTime::from_millis((t.unix_timestamp_nanos() / 1_000_000) as i64)
}

pub(super) fn day_range(from: Date, to: Date) -> Document {
    doc! { "$gte": from.to_string(), "$lte": to.to_string() }
}
