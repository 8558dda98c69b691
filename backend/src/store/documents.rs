//! How an [`Event`] is laid out as a MongoDB document.
//!
//! Times are BSON dates (`ts`) so range queries use the index; the raw client IP and User-Agent
//! never reach this layer, only the derived `visitor_id`.

use beacon_event::Event;
use mongodb::bson::{doc, Bson, Document};

use super::bson::{bson_int, date};
use crate::rollup::{Dimension, Position, VisitTag};

/// The raw-event document: the event, its context, the visit it belongs to (for filtered
/// reports), where it came from in Kafka (to tell a replay from a duplicate) and when it expires.
pub(super) fn stored_document(
    e: &Event,
    at: Position,
    visit: &VisitTag,
    expire_at: time::OffsetDateTime,
) -> Document {
    let mut d = event_document(e);
    d.insert("src", doc! { "p": at.partition, "o": at.offset });
    d.insert("expire_at", date(expire_at));
    let mut s = doc! { "id": &visit.visit_id, Dimension::EntryPage.name(): &visit.entry };
    for dim in Dimension::SESSION_FIXED {
        if dim != Dimension::EntryPage {
            s.insert(dim.name(), dim.of_context(&visit.context));
        }
    }
    d.insert("s", s);
    if e.context.bot {
        d.insert("bot", true);
    }
    d
}

/// The position of the record that stored a raw event (`src`); (-1, -1) for events stored
/// before positions were recorded, which then never match a record.
pub(super) fn origin(d: &Document) -> Position {
    let src = d.get_document("src").ok();
    let field = |f: &str| src.and_then(|s| s.get(f)).and_then(bson_int).unwrap_or(-1);
    Position {
        partition: field("p") as i32,
        offset: field("o"),
    }
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
