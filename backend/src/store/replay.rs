//! Recomputing rollups from raw events (`beacon-admin rollups rebuild`): the stored events read
//! back as [`Event`]s at their Kafka positions, and a site's rollups replaced by freshly
//! computed ones without losing what a running worker adds meanwhile.
//!
//! An event read back carries its visit's properties as its context (`s`, what reports show):
//! for the first event of a visit that is its own context, and later events of a visit do not
//! use theirs. So a pass over the read-back events counts what the worker counted.

use std::collections::HashMap;

use beacon_event::{
    Event, EventType, PagePath, Props, Referrer, Revenue, SiteId, UserId, VisitorId,
};
use futures::TryStreamExt;
use mongodb::bson::{self, doc, Bson, DateTime, Document};
use serde::Deserialize;
use time::OffsetDateTime;

use super::bson::date;
use super::documents::{StoredPosition, StoredRevenue, StoredVisit};
use super::{MongoStore, StoreError, DAILY, EVENTS, HOURLY};
use crate::rollup::visit::from_millis;
use crate::rollup::Position;

/// A raw event document, everything the worker stored.
#[derive(Debug, Deserialize)]
struct StoredEventDocument {
    #[serde(rename = "_id")]
    id: String,
    site_id: String,
    event_type: String,
    path: String,
    visitor_id: String,
    ts: DateTime,
    received_at: DateTime,
    #[serde(default)]
    user_id: Option<String>,
    #[serde(default)]
    referrer: Option<String>,
    #[serde(default)]
    screen_width: Option<i64>,
    #[serde(default)]
    props: Option<Document>,
    #[serde(default)]
    revenue: Option<StoredRevenue>,
    src: StoredPosition,
    #[serde(default)]
    s: StoredVisit,
    #[serde(default)]
    bot: bool,
}

fn instant(t: DateTime) -> OffsetDateTime {
    from_millis(t.timestamp_millis())
}

impl StoredEventDocument {
    /// The event as the worker had it, or `None` for a document no worker could have written.
    fn into_event(self) -> Option<(Event, Position)> {
        let s = self.s;
        let context = beacon_event::event::Context {
            bot: self.bot,
            browser: s.browser,
            os: s.os,
            device: s.device,
            country: s.country,
            source: s.source,
            referrer_domain: s.referrer,
            utm_source: s.utm_source,
            utm_medium: s.utm_medium,
            utm_campaign: s.utm_campaign,
            utm_content: s.utm_content,
            utm_term: s.utm_term,
            ..Default::default()
        };
        let props = match self.props {
            None => None,
            Some(d) => {
                let json = Bson::Document(d).into_relaxed_extjson();
                let map = json.as_object()?.clone();
                Some(Props::try_from(map).ok()?)
            }
        };
        let event = Event {
            eid: uuid::Uuid::parse_str(&self.id).ok()?,
            site_id: SiteId::parse(&self.site_id).ok()?,
            event_type: EventType::parse(&self.event_type).ok()?,
            path: PagePath::parse(&self.path).ok()?,
            visitor_id: VisitorId::parse(&self.visitor_id).ok()?,
            user_id: self.user_id.as_deref().and_then(|u| UserId::parse(u).ok()),
            timestamp: instant(self.ts),
            received_at: instant(self.received_at),
            referrer: self
                .referrer
                .as_deref()
                .and_then(|r| Referrer::parse(r).ok()),
            screen_width: self.screen_width.and_then(|w| u32::try_from(w).ok()),
            props,
            revenue: self
                .revenue
                .and_then(|r| Revenue::from_micros(r.micros, &r.currency).ok()),
            context,
        };
        Some((event, Position::from(self.src)))
    }
}

/// How replacing a site's rollups went.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Replaced {
    pub written: usize,
    pub removed: usize,
    /// Documents a worker changed while they were recomputed (left as they were).
    pub raced: usize,
}

/// The documents a rebuild covers: `site`'s daily rollups of the (local) days `days`, and its
/// hourly ones in `[from, until)`, those days' instants.
pub struct RollupRange<'a> {
    pub site: &'a SiteId,
    pub days: (time::Date, time::Date),
    pub from: OffsetDateTime,
    pub until: OffsetDateTime,
}

impl RollupRange<'_> {
    fn filters(&self) -> [(&'static str, Document); 2] {
        let (first, last) = self.days;
        let days = doc! { "$gte": first.to_string(), "$lte": last.to_string() };
        let hours = doc! { "$gte": date(self.from), "$lt": date(self.until) };
        [
            (DAILY, doc! { "site": self.site.as_str(), "day": days }),
            (HOURLY, doc! { "site": self.site.as_str(), "hour": hours }),
        ]
    }
}

impl MongoStore {
    /// `site`'s stored events in `[from, until)`, in the order the worker stored them
    /// (documents no worker could have written are left out and counted).
    pub async fn stored_events(
        &self,
        site: &SiteId,
        from: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<(Vec<(Event, Position)>, usize), StoreError> {
        let filter =
            doc! { "site_id": site.as_str(), "ts": { "$gte": date(from), "$lt": date(until) } };
        let mut cursor = self.db.collection::<Document>(EVENTS).find(filter).await?;
        let (mut events, mut unreadable) = (Vec::new(), 0);
        while let Some(d) = cursor.try_next().await? {
            match bson::from_document::<StoredEventDocument>(d)
                .ok()
                .and_then(|d| d.into_event())
            {
                Some(e) => events.push(e),
                None => unreadable += 1,
            }
        }
        events.sort_by_key(|(_, at)| *at);
        Ok((events, unreadable))
    }

    /// Replaces the rollups of `range` by `fresh`'s (the same range, computed elsewhere): each
    /// document written or removed on the condition that its watermark is still the one read
    /// here, so a delta a worker adds meanwhile is never overwritten (that document is counted
    /// in [`Replaced::raced`] and left for another rebuild).
    pub async fn replace_rollups(
        &self,
        fresh: &MongoStore,
        range: &RollupRange<'_>,
    ) -> Result<Replaced, StoreError> {
        let mut done = Replaced::default();
        for (collection, filter) in range.filters() {
            let current: Vec<Document> = self.find_all(collection, filter.clone()).await?;
            let mut watermarks: HashMap<String, Bson> = current
                .into_iter()
                .filter_map(|d| Some((d.get_str("_id").ok()?.to_owned(), d.get("wm")?.clone())))
                .collect();
            let target = self.db.collection::<Document>(collection);
            for d in fresh.find_all::<Document>(collection, filter).await? {
                let Ok(id) = d.get_str("_id").map(str::to_owned) else {
                    continue;
                };
                let wm = watermarks
                    .remove(&id)
                    .unwrap_or_else(|| doc! { "$exists": false }.into());
                let result = target
                    .replace_one(doc! { "_id": &id, "wm": wm }, &d)
                    .upsert(true)
                    .await;
                match result {
                    Ok(r) if r.matched_count == 1 || r.upserted_id.is_some() => done.written += 1,
                    Ok(_) => done.raced += 1,
                    Err(e) if super::is_duplicate(&e) => done.raced += 1,
                    Err(e) => return Err(e.into()),
                }
            }
            for (id, wm) in watermarks {
                let removed = target.delete_one(doc! { "_id": &id, "wm": wm }).await?;
                match removed.deleted_count {
                    1 => done.removed += 1,
                    _ => done.raced += 1,
                }
            }
        }
        Ok(done)
    }
}
