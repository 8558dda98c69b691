//! Event blocks: the raw events of a batch, packed a site, day and partition to a document, in
//! the shape filtered reports read them.
//!
//! Why: a filtered report reads every raw event of its range, and a store answers per document:
//! SecantusDB takes seconds for 100,000 one-event documents, while the same events packed a few
//! thousand to a document come back in tens of milliseconds (docs/benchmarks.md). The raw events
//! stay the record (replays, rebuilds, exports); a block is a copy of what reports need of them.
//!
//! The worker writes a batch's blocks right after its raw events, before anything that says the
//! events are in (rollups, visitor states, checkpoints). A block's id names its site, UTC day,
//! partition and first and last offsets: a replay of the same records writes the same id (a
//! duplicate key, skipped; the block already there holds every event the replay would), and a
//! replay cut at other boundaries writes overlapping blocks, so readers keep each Kafka position
//! once. Whether a day's events are all in blocks is on its site total ([`EVENTS_IN_BLOCKS`]).

use std::borrow::Borrow;
use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;
use std::sync::Arc;

use beacon_event::SiteId;
use futures::TryStreamExt;
use mongodb::bson::spec::BinarySubtype;
use mongodb::bson::{doc, Binary, DateTime, Document};
use serde::{Deserialize, Serialize};
use time::{Date, Duration, OffsetDateTime};

use super::bson::{date, day_range};
use super::documents::{prop_texts, EventDocument, StoredRevenue, StoredVisit};
use super::range_events::RangeEvents;
use super::reports::RawEvent;
use super::rollup_documents::EVENTS_IN_BLOCKS;
use super::{only_duplicates, MongoStore, StoreError, StoredEvent};
use crate::rollup::Position;

/// The collection of blocks.
pub(super) const BLOCKS: &str = "event_blocks";
/// Events per block at most: a block stays far below MongoDB's 16 MB document limit.
const MAX_EVENTS: usize = 4096;

/// A block as stored. It expires `retention` after the end of its UTC day, so an event in it
/// is kept at most a day longer than its raw event.
#[derive(Debug, Serialize, Deserialize)]
struct BlockDocument {
    #[serde(rename = "_id")]
    id: String,
    site: String,
    day: String,
    n: i64,
    expire_at: DateTime,
    data: Binary,
}

/// A block's events, each text (visitor id, path, event type, property, currency) stored once.
#[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
struct Body {
    texts: Vec<String>,
    visits: Vec<StoredVisit>,
    events: Vec<Packed>,
}

/// One event, its texts and visit as indexes into the block's lists.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Packed {
    partition: i32,
    offset: i64,
    ts_ms: i64,
    visitor: u32,
    event_type: u32,
    path: u32,
    visit: u32,
    props: Vec<(u32, u32)>,
    revenue: Option<(i64, u32)>,
}

/// Builds one block's [`Body`], giving each distinct text and visit one index.
#[derive(Default)]
struct Packer {
    body: Body,
    texts: HashMap<String, u32>,
    visits: HashMap<StoredVisit, u32>,
}

/// `value`'s index in `list`, appended (and remembered in `seen`) the first time.
fn index_of<T, Q>(seen: &mut HashMap<T, u32>, list: &mut Vec<T>, value: &Q) -> u32
where
    T: Borrow<Q> + Hash + Eq + Clone,
    Q: ToOwned<Owned = T> + Hash + Eq + ?Sized,
{
    if let Some(&i) = seen.get(value) {
        return i;
    }
    let i = list.len() as u32;
    list.push(value.to_owned());
    seen.insert(value.to_owned(), i);
    i
}

impl Packer {
    fn text(&mut self, text: &str) -> u32 {
        index_of(&mut self.texts, &mut self.body.texts, text)
    }

    fn visit(&mut self, visit: &StoredVisit) -> u32 {
        index_of(&mut self.visits, &mut self.body.visits, visit)
    }

    /// Adds `s`, whose raw-event document is `doc` (its visit and properties as stored).
    fn push(&mut self, s: &StoredEvent, doc: &EventDocument) {
        let e = &s.event;
        let props = prop_texts(doc.props());
        let props = props
            .iter()
            .map(|(k, v)| (self.text(k), self.text(v)))
            .collect();
        let revenue = e.revenue.map(|r| (r.micros(), self.text(r.currency())));
        let packed = Packed {
            partition: s.at.partition,
            offset: s.at.offset,
            ts_ms: date(e.timestamp).timestamp_millis(),
            visitor: self.text(e.visitor_id.as_str()),
            event_type: self.text(e.event_type.as_str()),
            path: self.text(e.path.as_str()),
            visit: self.visit(doc.visit()),
            props,
            revenue,
        };
        self.body.events.push(packed);
    }
}

impl Body {
    /// The events as reports read them.
    fn unpack(self) -> Vec<RawEvent> {
        let Body {
            texts,
            visits,
            events,
        } = self;
        let visits: Vec<Arc<StoredVisit>> = visits.into_iter().map(Arc::new).collect();
        let shared: Vec<Arc<str>> = texts.iter().map(|t| Arc::from(t.as_str())).collect();
        let text = |i: u32| texts.get(i as usize).cloned().unwrap_or_default();
        let shared = |i: u32| shared.get(i as usize).cloned().unwrap_or_else(|| "".into());
        events
            .into_iter()
            .filter_map(|p| {
                Some(RawEvent {
                    visitor: shared(p.visitor),
                    event_type: shared(p.event_type),
                    path: shared(p.path),
                    ts_ms: p.ts_ms,
                    position: Position {
                        partition: p.partition,
                        offset: p.offset,
                    },
                    visit: visits.get(p.visit as usize)?.clone(),
                    props: p.props.iter().map(|&(k, v)| (text(k), text(v))).collect(),
                    revenue: p.revenue.map(|(micros, currency)| StoredRevenue {
                        micros,
                        currency: text(currency),
                    }),
                })
            })
            .collect()
    }
}

/// The blocks of `events` (`docs` their raw-event documents, in the same order): one per
/// site, UTC day and partition, in offset order, split at [`MAX_EVENTS`].
fn blocks_of(
    events: &[StoredEvent],
    docs: &[EventDocument],
    retention: Duration,
) -> Vec<BlockDocument> {
    type Pair<'e, 'd> = (&'e StoredEvent, &'d EventDocument<'d>);
    let mut groups: BTreeMap<(&str, Date, i32), Vec<Pair>> = BTreeMap::new();
    for (s, doc) in events.iter().zip(docs) {
        let day = s.event.timestamp.to_offset(time::UtcOffset::UTC).date();
        let key = (s.event.site_id.as_str(), day, s.at.partition);
        groups.entry(key).or_default().push((s, doc));
    }
    let mut blocks = Vec::new();
    for ((site, day, partition), mut group) in groups {
        group.sort_by_key(|(s, _)| s.at.offset);
        for chunk in group.chunks(MAX_EVENTS) {
            let mut packer = Packer::default();
            chunk.iter().for_each(|(s, doc)| packer.push(s, doc));
            let (first, last) = (chunk[0].0.at.offset, chunk[chunk.len() - 1].0.at.offset);
            let day_end = day.next_day().unwrap_or(day).midnight().assume_utc();
            blocks.push(BlockDocument {
                id: format!("{site}|{day}|{partition}|{first}|{last}"),
                site: site.to_owned(),
                day: day.to_string(),
                n: chunk.len() as i64,
                expire_at: date(day_end + retention),
                data: Binary {
                    subtype: BinarySubtype::Generic,
                    bytes: postcard::to_allocvec(&packer.body)
                        .expect("a block of strings and numbers always serializes"),
                },
            });
        }
    }
    blocks
}

/// The UTC days an instant range `[from, until)` touches.
fn utc_days(from: OffsetDateTime, until: OffsetDateTime) -> (Date, Date) {
    let last = (until - Duration::MILLISECOND).max(from);
    let utc = time::UtcOffset::UTC;
    (from.to_offset(utc).date(), last.to_offset(utc).date())
}

impl MongoStore {
    /// Writes the blocks of `events` (stored as the raw-event documents `docs` just before,
    /// whose visits and properties are packed as they are); a block already
    /// written by an earlier attempt at the same records is skipped.
    pub(super) async fn insert_blocks(
        &self,
        events: &[StoredEvent],
        docs: &[EventDocument<'_>],
        retention: Duration,
    ) -> Result<(), StoreError> {
        self.put_blocks(blocks_of(events, docs, retention)).await
    }

    /// Inserts `blocks`, skipping those already written.
    async fn put_blocks(&self, blocks: Vec<BlockDocument>) -> Result<(), StoreError> {
        if blocks.is_empty() {
            return Ok(());
        }
        let result = self
            .db
            .collection::<BlockDocument>(BLOCKS)
            .insert_many(blocks)
            .ordered(false)
            .await;
        match result {
            Err(e) if only_duplicates(&e).is_none() => Err(e.into()),
            _ => Ok(()),
        }
    }

    /// Whether every event of `site` in `[from, until)` is in blocks: every day with data
    /// around the range (each local day it may touch, whatever the site's zone) was begun by
    /// a worker that writes them.
    pub async fn in_blocks(
        &self,
        site: &SiteId,
        from: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let (first, last) = utc_days(from, until);
        let (first, last) = (
            first.previous_day().unwrap_or(first),
            last.next_day().unwrap_or(last),
        );
        let totals = self.daily_total_documents(site, first, last).await?;
        Ok(totals.iter().all(|d| d.rv >= EVENTS_IN_BLOCKS))
    }

    /// [`MongoStore::raw_events`] read from blocks (those read before from the cache): each
    /// Kafka position once, in processing order. A block that cannot be read (written by other
    /// means) is left out.
    pub async fn raw_events_from_blocks(
        &self,
        site: &SiteId,
        from: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<RangeEvents, StoreError> {
        let (first, last) = utc_days(from, until);
        let filter = doc! { "site": site.as_str(), "day": day_range(first, last) };
        let ids: Vec<Document> = self
            .db
            .collection::<Document>(BLOCKS)
            .find(filter.clone())
            .projection(doc! { "_id": 1 })
            .await?
            .try_collect()
            .await?;
        let mut blocks = Vec::with_capacity(ids.len());
        let mut missing = Vec::new();
        // A document whose id is not text is not a block (written by other means): left out.
        let ids = ids.iter().filter_map(|d| d.get_str("_id").ok());
        for id in ids.map(str::to_owned) {
            match self.blocks.get(&id) {
                Some(events) => blocks.push(events),
                None => missing.push(id),
            }
        }
        blocks.extend(self.read_blocks(filter, missing, blocks.is_empty()).await?);
        let (from_ms, until_ms) = (
            date(from).timestamp_millis(),
            date(until).timestamp_millis(),
        );
        let keep = |ms: i64| (from_ms..until_ms).contains(&ms);
        Ok(RangeEvents::from_blocks(blocks, keep))
    }

    /// Reads and decodes the blocks `ids` (all that `filter` matches when `all`), keeping
    /// them in the cache.
    async fn read_blocks(
        &self,
        filter: Document,
        ids: Vec<String>,
        all: bool,
    ) -> Result<Vec<Arc<Vec<RawEvent>>>, StoreError> {
        let read: Vec<Document> = match (ids.is_empty(), all) {
            (true, _) => return Ok(Vec::new()),
            (false, true) => self.find_all(BLOCKS, filter).await?,
            (false, false) => self.find_by_ids(BLOCKS, &ids, None).await?,
        };
        let mut out = Vec::with_capacity(read.len());
        for block in read {
            // One that cannot be read (written by other means) is left out, not the report.
            let block = mongodb::bson::from_document::<BlockDocument>(block);
            let Some((block, body)) = block.ok().and_then(|b| {
                let body = postcard::from_bytes::<Body>(&b.data.bytes).ok()?;
                Some((b, body))
            }) else {
                continue;
            };
            let events = Arc::new(body.unpack());
            self.blocks.put(block.id, events.clone());
            out.push(events);
        }
        Ok(out)
    }

    /// Copies `site`'s blocks from `scratch` (a rebuild's fresh pass) into this store, where
    /// the rebuilt days' site totals will say their events are in blocks.
    pub(crate) async fn copy_blocks(
        &self,
        scratch: &MongoStore,
        site: &SiteId,
    ) -> Result<(), StoreError> {
        let blocks = scratch
            .find_all(BLOCKS, doc! { "site": site.as_str() })
            .await?;
        self.put_blocks(blocks).await
    }
}

#[cfg(test)]
mod tests;
