//! How an [`Event`] is laid out as a MongoDB document.
//!
//! Times are BSON dates (`ts`) so range queries use the index; the raw client IP and User-Agent
//! never reach this layer, only the derived `visitor_id`.

use std::collections::BTreeMap;

use beacon_event::Event;
use mongodb::bson::{Bson, DateTime, Document};
use serde::{Deserialize, Deserializer, Serialize};

use super::bson::date;
use crate::rollup::{Dimension, Position, VisitTag};

/// A raw-event document as the worker writes it: the event, its context, the visit it belongs
/// to (for filtered reports), where it came from in Kafka (to tell a replay from a duplicate)
/// and when it expires.
#[derive(Debug, Serialize)]
pub(super) struct EventDocument<'a> {
    #[serde(rename = "_id")]
    id: String,
    site_id: &'a str,
    event_type: &'a str,
    path: &'a str,
    visitor_id: &'a str,
    ts: DateTime,
    received_at: DateTime,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    referrer: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    screen_width: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    props: Option<Document>,
    #[serde(skip_serializing_if = "Option::is_none")]
    revenue: Option<StoredRevenue>,
    src: StoredPosition,
    expire_at: DateTime,
    s: StoredVisit,
    #[serde(skip_serializing_if = "is_false")]
    bot: bool,
}

impl EventDocument<'_> {
    /// The visit it belongs to, as stored.
    pub(super) fn visit(&self) -> &StoredVisit {
        &self.s
    }

    /// Its custom properties, as stored.
    pub(super) fn props(&self) -> Option<&Document> {
        self.props.as_ref()
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl<'a> EventDocument<'a> {
    pub(super) fn new(
        e: &'a Event,
        at: Position,
        visit: &VisitTag,
        expire_at: time::OffsetDateTime,
    ) -> Self {
        Self {
            id: e.eid.to_string(),
            site_id: e.site_id.as_str(),
            event_type: e.event_type.as_str(),
            path: e.path.as_str(),
            visitor_id: e.visitor_id.as_str(),
            ts: date(e.timestamp),
            received_at: date(e.received_at),
            user_id: e.user_id.as_ref().map(|u| u.as_str()),
            referrer: e.referrer.as_ref().map(|r| r.as_str()),
            screen_width: e.screen_width.map(i64::from),
            props: stored_props(e),
            revenue: e.revenue.map(|r| StoredRevenue {
                micros: r.micros(),
                currency: r.currency().to_owned(),
            }),
            src: StoredPosition::from(at),
            expire_at: date(expire_at),
            s: StoredVisit::of(visit),
            bot: e.context.bot,
        }
    }
}

/// An event's custom properties as stored. They are flat JSON scalars (validated at
/// ingestion); one that BSON cannot hold is left out rather than failing the batch.
fn stored_props(e: &Event) -> Option<Document> {
    e.props.as_ref().map(|props| {
        props
            .as_map()
            .iter()
            .filter_map(|(k, v)| Bson::try_from(v.clone()).ok().map(|b| (k.clone(), b)))
            .collect()
    })
}

/// A Kafka position as documents hold it: a raw event's origin (`src`), a visitor state's last
/// applied record (`applied`). Saves compare `applied` whole, so its fields, their order and
/// their types (int32, int64) are part of the format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct StoredPosition {
    p: i32,
    o: i64,
}

impl From<Position> for StoredPosition {
    fn from(at: Position) -> Self {
        Self {
            p: at.partition,
            o: at.offset,
        }
    }
}

impl From<StoredPosition> for Position {
    fn from(at: StoredPosition) -> Self {
        Position {
            partition: at.p,
            offset: at.o,
        }
    }
}

/// The position of the record that stored a raw event; (-1, -1) for events stored before
/// positions were recorded, which then never match a record.
pub(super) fn origin(src: Option<StoredPosition>) -> Position {
    src.map_or(
        Position {
            partition: -1,
            offset: -1,
        },
        Position::from,
    )
}

/// A field as stored, or `None` when it is absent or not of its type (a document written by
/// other means). An unreadable `src` then matches no record, like an event stored before
/// positions were recorded, and is never taken for an event that was not stored; an unreadable
/// `revenue` leaves the event reported without revenue.
fn lenient<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    let value = Option::<Bson>::deserialize(d)?;
    Ok(value.and_then(|b| mongodb::bson::from_bson(b).ok()))
}

/// What [`super::MongoStore::stored_positions`] reads of a raw event.
#[derive(Debug, Deserialize)]
pub(super) struct EventOrigin {
    #[serde(rename = "_id")]
    pub id: String,
    #[serde(default, deserialize_with = "lenient")]
    pub src: Option<StoredPosition>,
}

/// The visit an event belongs to, stored with it (`s`) for filtered reports: its id and its
/// fixed session properties as reports show them, each under its dimension's name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
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
            Dimension::Channel => crate::rollup::channel_of(
                &self.source,
                [&self.utm_source, &self.utm_medium, &self.utm_campaign],
            ),
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
    pub ts: DateTime,
    #[serde(default, deserialize_with = "lenient")]
    pub src: Option<StoredPosition>,
    #[serde(default)]
    pub s: StoredVisit,
    #[serde(default)]
    pub props: Option<Document>,
    #[serde(default, deserialize_with = "lenient")]
    pub revenue: Option<StoredRevenue>,
}

/// Revenue as stored: the amount in millionths of the currency unit (exact), and the currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredRevenue {
    pub micros: i64,
    pub currency: String,
}

/// Stored custom properties as reports show them: each value as text ([`prop_text`]).
pub(super) fn prop_texts(props: Option<&Document>) -> BTreeMap<String, String> {
    let props = props.into_iter().flatten();
    props
        .filter_map(|(k, v)| Some((k.clone(), prop_text(v)?)))
        .collect()
}

/// A stored custom property value as reports show it: text as is, a number as JSON writes it,
/// a boolean as `true`/`false`; anything else (written by other means) is left out.
pub(super) fn prop_text(value: &Bson) -> Option<String> {
    let json = match value {
        Bson::String(s) => serde_json::Value::String(s.clone()),
        Bson::Int32(n) => (*n).into(),
        Bson::Int64(n) => (*n).into(),
        Bson::Double(f) => (*f).into(),
        Bson::Boolean(b) => (*b).into(),
        _ => return None,
    };
    crate::rollup::prop_text(&json)
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
            // The channel is derived from the stored source and tags, not stored itself.
            if dim != Dimension::Channel {
                assert_eq!(document.get_str(dim.name()).unwrap(), value, "{dim}");
            }
            if dim != Dimension::EntryPage {
                assert_eq!(value, dim.of_context(&visit.context), "{dim}");
            }
        }
        assert_eq!(stored.value(Dimension::EntryPage), "/landing");
        assert_eq!(stored.value(Dimension::Country), "unknown");
        assert_eq!(stored.value(Dimension::Channel), "Organic Search");
        let read: StoredVisit = mongodb::bson::from_document(document).unwrap();
        assert_eq!(read, stored);
    }

    #[test]
    fn a_raw_event_document_has_the_stored_layout() {
        use beacon_event::{EventType, PagePath, Props, Referrer, SiteId, VisitorId};
        let at = time::macros::datetime!(2026-11-25 10:00 UTC);
        let props: Props =
            serde_json::from_value(serde_json::json!({ "plan": "pro", "seats": 3 })).unwrap();
        let event = Event {
            eid: uuid::Uuid::from_u128(7),
            site_id: SiteId::parse("s").unwrap(),
            event_type: EventType::parse("signup").unwrap(),
            path: PagePath::parse("/pricing").unwrap(),
            visitor_id: VisitorId::parse("v").unwrap(),
            user_id: None,
            timestamp: at,
            received_at: at,
            referrer: Some(Referrer::parse("https://example.com/").unwrap()),
            screen_width: Some(1440),
            props: Some(props),
            revenue: None,
            context: Context::default(),
        };
        let visit = VisitTag {
            visit_id: "v1".into(),
            entry: "/".into(),
            context: Context::default(),
        };
        let position = Position {
            partition: 1,
            offset: 9,
        };
        let stored = EventDocument::new(&event, position, &visit, at + time::Duration::days(1));
        let d = mongodb::bson::to_document(&stored).unwrap();
        assert_eq!(d.get_str("_id").unwrap(), event.eid.to_string());
        assert_eq!(
            d.get_datetime("ts").unwrap().timestamp_millis(),
            at.unix_timestamp() * 1000
        );
        assert_eq!(d.get_i64("screen_width").unwrap(), 1440);
        let seats = d.get_document("props").unwrap().get("seats").cloned();
        assert!(
            matches!(seats, Some(Bson::Int32(3) | Bson::Int64(3))),
            "{seats:?}"
        );
        assert_eq!(
            d.get_document("src").unwrap(),
            &mongodb::bson::doc! { "p": 1_i32, "o": 9_i64 }
        );
        assert!(d.get("user_id").is_none() && d.get("bot").is_none());
        let read: RawEventDocument = mongodb::bson::from_document(d).unwrap();
        assert_eq!(origin(read.src), position);
        assert_eq!(read.s, StoredVisit::of(&visit));
        assert_eq!(origin(None).offset, -1);
    }

    #[test]
    fn an_event_without_a_readable_origin_still_reads_and_matches_no_record() {
        use mongodb::bson::doc;
        let unknown = Position {
            partition: -1,
            offset: -1,
        };
        for src in [
            None,
            Some(Bson::from("p1o9")),
            Some(doc! { "p": "x" }.into()),
        ] {
            let mut d = doc! { "_id": "e1" };
            if let Some(src) = src {
                d.insert("src", src);
            }
            let found: EventOrigin = mongodb::bson::from_document(d).unwrap();
            assert_eq!((found.id.as_str(), origin(found.src)), ("e1", unknown));
        }
    }
}
