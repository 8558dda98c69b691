//! How an [`Event`] is laid out as a MongoDB document.
//!
//! Times are BSON dates (`ts`) so range queries use the index; the raw client IP and User-Agent
//! never reach this layer, only the derived `visitor_id`.

use beacon_event::Event;
use mongodb::bson::{doc, Bson, DateTime, Document};

/// A BSON date (millisecond precision) for an instant.
pub(super) fn date(t: time::OffsetDateTime) -> DateTime {
    DateTime::from_millis((t.unix_timestamp_nanos() / 1_000_000) as i64)
}

pub(super) fn event_document(e: &Event) -> Document {
    let mut d = doc! {
        "_id": e.eid.to_string(),
        "site_id": e.site_id.as_str(),
        "event_type": e.event_type.as_str(),
        "path": e.path.as_str(),
        "visitor_id": e.visitor_id.as_str(),
        "ts": date(e.timestamp),
        "received_at": date(e.received_at),
    };
    if let Some(user_id) = &e.user_id {
        d.insert("user_id", user_id.as_str());
    }
    if let Some(referrer) = &e.referrer {
        d.insert("referrer", referrer.as_str());
    }
    if let Some(width) = e.screen_width {
        d.insert("screen_width", i64::from(width));
    }
    if let Some(props) = &e.props {
        let props: Document = props
            .as_map()
            .iter()
            .filter_map(|(k, v)| Bson::try_from(v.clone()).ok().map(|b| (k.clone(), b)))
            .collect();
        d.insert("props", props);
    }
    d
}
