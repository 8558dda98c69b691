//! The normalized event: one Kafka record on the `events` topic, one document in MongoDB.
//!
//! Ingestion turns a [`ClientEvent`] into an [`Event`] by filling in what the client could not or
//! should not decide: the event id when absent, the receive time, and the anonymous visitor id.
//! Deserializing re-runs every field rule, so the worker can tell a poison record from a good one.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::fields::{Day, EventType, PagePath, Props, Referrer, SiteId, UserId, VisitorId};
use crate::ClientEvent;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Unique per event; retries reuse it, so storage de-duplicates on it.
    pub eid: Uuid,
    pub site_id: SiteId,
    pub event_type: EventType,
    pub path: PagePath,
    pub visitor_id: VisitorId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<UserId>,
    /// When it happened (client clock when given and plausible, else receive time).
    #[serde(with = "time::serde::rfc3339")]
    pub timestamp: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub received_at: OffsetDateTime,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referrer: Option<Referrer>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub screen_width: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub props: Option<Props>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revenue: Option<crate::Revenue>,
    /// What ingestion derived from the request (device, source, country...). Records written
    /// before enrichment existed decode with everything "unknown".
    #[serde(default, skip_serializing_if = "Context::is_empty")]
    pub context: Context,
}

/// What ingestion derives once per event from the request and the page URL, so the worker and
/// reports work with categories and never see the raw User-Agent or IP address.
///
/// Empty strings mean "not known"; reports show them as `unknown` (or `Direct` for `source`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Context {
    /// A crawler, headless browser or scripted client: counted as filtered, never as traffic.
    #[serde(skip_serializing_if = "is_false")]
    pub bot: bool,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub browser: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub browser_version: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub os: String,
    /// `desktop`, `mobile`, `tablet`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub device: String,
    /// ISO 3166-1 alpha-2.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub country: String,
    /// Named source (`Google`, `Hacker News`), the referring domain, `utm_source`, or `Direct`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub source: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub referrer_domain: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub utm_source: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub utm_medium: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub utm_campaign: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub utm_content: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub utm_term: String,
    /// The registered site's IANA time zone (`Europe/Berlin`), which cuts its days and hours;
    /// "" is UTC.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub timezone: String,
}

/// Shown for a property of a visit nobody could determine (browser, OS, device, country).
pub const UNKNOWN: &str = "unknown";
/// The source (and referrer) of a visit with no referrer and no `utm_source`.
pub const DIRECT: &str = "Direct";

fn is_false(b: &bool) -> bool {
    !*b
}

impl Context {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

impl Event {
    /// An event with only what every event has, received when it happened; the rest are set
    /// with struct update syntax (`Event { context, ..Event::new(..) }`): what the worker's
    /// tests, the benchmarks and rebuilds build.
    pub fn new(
        eid: Uuid,
        (site_id, event_type, path): (SiteId, EventType, PagePath),
        visitor_id: VisitorId,
        timestamp: OffsetDateTime,
    ) -> Self {
        Self {
            eid,
            site_id,
            event_type,
            path,
            visitor_id,
            user_id: None,
            timestamp,
            received_at: timestamp,
            referrer: None,
            screen_width: None,
            props: None,
            revenue: None,
            context: Context::default(),
        }
    }

    /// Completes a validated client event. `new_eid` is used only when the client sent none.
    pub fn from_client(
        client: ClientEvent,
        visitor_id: VisitorId,
        received_at: OffsetDateTime,
        new_eid: impl FnOnce() -> Uuid,
    ) -> Self {
        Self {
            eid: client.eid.unwrap_or_else(new_eid),
            site_id: client.site_id,
            event_type: client.event_type,
            path: client.path,
            visitor_id,
            user_id: client.user_id,
            timestamp: client.timestamp.unwrap_or(received_at),
            received_at,
            referrer: client.referrer,
            screen_width: client.screen_width,
            props: client.props.filter(|p| !p.is_empty()),
            revenue: client.revenue,
            context: Context::default(),
        }
    }

    /// The Kafka record key: events of one site share a partition, so they stay in order.
    pub fn key(&self) -> &str {
        self.site_id.as_str()
    }

    /// The UTC day reports file this event under.
    pub fn day(&self) -> Day {
        Day::of(self.timestamp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::TimeWindow;
    use serde_json::json;
    use time::macros::datetime;

    #[test]
    fn completes_client_event_and_round_trips_through_json() {
        let now = datetime!(2026-11-24 23:59:59 UTC);
        let client = ClientEvent::from_json(
            &json!({"site_id":"site123","event_type":"page_view","path":"/home"}),
            &TimeWindow::standard(now),
        )
        .unwrap();
        let eid = Uuid::from_u128(7);
        let event = Event::from_client(client, VisitorId::parse("v1").unwrap(), now, || eid);
        assert_eq!(event.eid, eid);
        assert_eq!(event.timestamp, now);
        assert_eq!(event.key(), "site123");
        assert_eq!(event.day().to_string(), "2026-11-24");
        let bytes = serde_json::to_vec(&event).unwrap();
        assert_eq!(serde_json::from_slice::<Event>(&bytes).unwrap(), event);
    }

    #[test]
    fn decoding_rejects_records_that_break_a_rule() {
        let bad = json!({"eid":"0192f0e4-7b1a-7cc3-8d3e-1f2a3b4c5d6e","site_id":"bad site",
            "event_type":"page_view","path":"/","visitor_id":"v","timestamp":"2026-11-24T00:00:00Z",
            "received_at":"2026-11-24T00:00:00Z"});
        assert!(serde_json::from_value::<Event>(bad).is_err());
    }
}
