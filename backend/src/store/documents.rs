//! How an [`Event`] is laid out as a MongoDB document.
//!
//! Times are BSON dates (`ts`) so range queries use the index; the raw client IP and User-Agent
//! never reach this layer, only the derived `visitor_id`.

use beacon_event::Event;
use mongodb::bson::{doc, Bson, Document};
use serde::{Deserialize, Serialize};

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
    let s = mongodb::bson::to_document(&StoredVisit::of(visit))
        .expect("a visit of strings always serializes");
    d.insert("s", s);
    if e.context.bot {
        d.insert("bot", true);
    }
    d
}

/// The visit an event belongs to, stored with it (`s`) for filtered reports: its id and its
/// fixed session properties as reports show them, each under its dimension's name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct StoredVisit {
    pub id: String,
    pub entry_page: String,
    pub source: String,
    pub referrer: String,
    pub utm_source: String,
    pub utm_medium: String,
    pub utm_campaign: String,
    pub utm_content: String,
    pub utm_term: String,
    pub browser: String,
    pub os: String,
    pub device: String,
    pub country: String,
}

impl StoredVisit {
    pub fn of(visit: &VisitTag) -> Self {
        let shown = |dim: Dimension| dim.of_context(&visit.context);
        Self {
            id: visit.visit_id.clone(),
            entry_page: visit.entry.clone(),
            source: shown(Dimension::Source),
            referrer: shown(Dimension::Referrer),
            utm_source: shown(Dimension::UtmSource),
            utm_medium: shown(Dimension::UtmMedium),
            utm_campaign: shown(Dimension::UtmCampaign),
            utm_content: shown(Dimension::UtmContent),
            utm_term: shown(Dimension::UtmTerm),
            browser: shown(Dimension::Browser),
            os: shown(Dimension::Os),
            device: shown(Dimension::Device),
            country: shown(Dimension::Country),
        }
    }

    /// The stored value of a fixed session property ("" for the others).
    pub fn value(&self, dim: Dimension) -> &str {
        match dim {
            Dimension::EntryPage => &self.entry_page,
            Dimension::Source => &self.source,
            Dimension::Referrer => &self.referrer,
            Dimension::UtmSource => &self.utm_source,
            Dimension::UtmMedium => &self.utm_medium,
            Dimension::UtmCampaign => &self.utm_campaign,
            Dimension::UtmContent => &self.utm_content,
            Dimension::UtmTerm => &self.utm_term,
            Dimension::Browser => &self.browser,
            Dimension::Os => &self.os,
            Dimension::Device => &self.device,
            Dimension::Country => &self.country,
            Dimension::Path | Dimension::EventType | Dimension::ExitPage => "",
        }
    }
}

/// What a filtered report reads of a raw-event document.
#[derive(Debug, Deserialize)]
pub(super) struct RawEventDocument {
    pub visitor_id: String,
    pub event_type: String,
    pub path: String,
    pub ts: mongodb::bson::DateTime,
    #[serde(default)]
    pub s: StoredVisit,
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

#[cfg(test)]
mod tests {
    use super::*;
    use beacon_event::event::Context;

    #[test]
    fn a_stored_visit_keeps_each_property_under_its_dimension_name() {
        let visit = VisitTag {
            visit_id: "v1".into(),
            entry: "/landing".into(),
            context: Context {
                source: "Google".into(),
                referrer_domain: "google.com".into(),
                utm_campaign: "spring".into(),
                browser: "Firefox".into(),
                device: "mobile".into(),
                ..Context::default()
            },
        };
        let stored = StoredVisit::of(&visit);
        let document = mongodb::bson::to_document(&stored).unwrap();
        assert_eq!(document.get_str("id").unwrap(), "v1");
        for dim in Dimension::SESSION_FIXED {
            let value = stored.value(dim);
            assert_eq!(document.get_str(dim.name()).unwrap(), value, "{dim}");
            if dim != Dimension::EntryPage {
                assert_eq!(value, dim.of_context(&visit.context), "{dim}");
            }
        }
        assert_eq!(stored.value(Dimension::EntryPage), "/landing");
        assert_eq!(stored.value(Dimension::Country), "unknown");
        let read: StoredVisit = mongodb::bson::from_document(document).unwrap();
        assert_eq!(read, stored);
    }
}
