//! The reads behind the report API: rollup documents for unfiltered reports (a bounded number
//! of documents per request, whatever the traffic), raw events for filtered ones.
//!
//! Every value in a query comes from a typed value (a site id, a date, a [`Dimension`]); no
//! request text is spliced into a query.

use std::collections::BTreeMap;
use std::sync::Arc;

use beacon_event::SiteId;
use futures::TryStreamExt;
use mongodb::bson::{doc, Bson, Document};
use time::{Date, OffsetDateTime};

use super::bson::{date, day_range};
use super::documents::{prop_texts, RawEventDocument, StoredRevenue, StoredVisit};
use super::range_events::RangeEvents;
use super::rollup_documents::{GroupedRow, RollupDocument, PROPS_ROLLED_UP};
use super::shared_loads::LoadKey;
use super::{MongoStore, StoreError, DAILY, HOURLY};
use crate::rollup::{Counters, Position, Property, TOTAL};

/// A breakdown row: one property value and its counters over the range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub value: String,
    pub counters: Counters,
}

/// How a breakdown is ordered (largest first, ties by value).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    Views,
    Visitors,
    Visits,
    Events,
}

impl Order {
    /// A row's sort key (largest first; ties go to the smaller value).
    pub fn key(self, c: &Counters) -> (i64, i64) {
        match self {
            Self::Views => (c.views, 0),
            Self::Visitors => (c.visitors, c.views),
            Self::Visits => (c.visits, c.views),
            Self::Events => (c.events, c.visitors),
        }
    }

    /// Whether a value with these counters is listed: top pages only if viewed; otherwise, not
    /// values whose visits all moved elsewhere (a former exit page).
    pub fn lists(self, c: &Counters) -> bool {
        match self {
            Self::Views => c.views > 0,
            _ => c.events > 0 || c.visits > 0,
        }
    }

    /// `rows` as this order lists them, and the page of them asked for.
    pub fn arrange(self, rows: impl IntoIterator<Item = Row>, page: Page) -> Vec<Row> {
        let mut rows: Vec<Row> = rows
            .into_iter()
            .filter(|r| self.lists(&r.counters))
            .collect();
        rows.sort_by(|a, b| {
            self.key(&b.counters)
                .cmp(&self.key(&a.counters))
                .then_with(|| a.value.cmp(&b.value))
        });
        let skip = usize::try_from(page.skip).unwrap_or(usize::MAX);
        let limit = usize::try_from(page.limit).unwrap_or(usize::MAX);
        rows.into_iter().skip(skip).take(limit).collect()
    }

    fn keys(self) -> Document {
        match self {
            Self::Views => doc! { "views": -1, "_id": 1 },
            Self::Visitors => doc! { "visitors": -1, "views": -1, "_id": 1 },
            Self::Visits => doc! { "visits": -1, "views": -1, "_id": 1 },
            Self::Events => doc! { "events": -1, "visitors": -1, "_id": 1 },
        }
    }
}

/// Which slice of an ordered breakdown to return.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub skip: u64,
    pub limit: u64,
}

/// What a breakdown reads: one property's values on a site over `[from, to]`, ordered and paged.
#[derive(Debug, Clone, Copy)]
pub struct RowsQuery<'a> {
    pub site: &'a SiteId,
    pub from: Date,
    pub to: Date,
    pub dim: &'a Property,
    pub order: Order,
    pub page: Page,
}

/// One raw event as a filtered report needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct RawEvent {
    /// Texts shared with the other events of its block that have them (`super::blocks`).
    pub visitor: Arc<str>,
    pub event_type: Arc<str>,
    pub path: Arc<str>,
    pub ts_ms: i64,
    /// The record that stored it: the worker's processing order.
    pub position: Position,
    /// The visit it belongs to, with its fixed session properties (shared by its events).
    pub visit: Arc<StoredVisit>,
    /// Its custom properties, each value as text.
    pub props: BTreeMap<String, String>,
    pub revenue: Option<StoredRevenue>,
}

fn sums() -> Document {
    Counters::FIELDS
        .iter()
        .map(|f| {
            (
                (*f).to_owned(),
                Bson::Document(doc! { "$sum": format!("${f}") }),
            )
        })
        .collect()
}

impl MongoStore {
    /// The site's total counters per day in `[from, to]` (days without data are absent).
    pub async fn daily_totals(
        &self,
        site: &SiteId,
        from: Date,
        to: Date,
    ) -> Result<Vec<(Date, Counters)>, StoreError> {
        let docs = self.daily_total_documents(site, from, to).await?;
        Ok(docs
            .into_iter()
            .filter_map(|d| Some((d.date()?, d.counters)))
            .collect())
    }

    /// Whether every day of `[from, to]` with data rolls up custom properties (its total says
    /// so, see [`PROPS_ROLLED_UP`]): only then can its property reports read rollups.
    pub async fn props_rolled_up(
        &self,
        site: &SiteId,
        from: Date,
        to: Date,
    ) -> Result<bool, StoreError> {
        let totals = self.daily_total_documents(site, from, to).await?;
        Ok(totals.iter().all(|d| d.rv >= PROPS_ROLLED_UP))
    }

    /// The site's daily total documents in `[from, to]`: one per day with data.
    pub(super) async fn daily_total_documents(
        &self,
        site: &SiteId,
        from: Date,
        to: Date,
    ) -> Result<Vec<RollupDocument>, StoreError> {
        let filter = doc! { "site": site.as_str(), "dim": TOTAL, "day": day_range(from, to) };
        self.find_all(DAILY, filter).await
    }

    /// The site's total counters per hour in `[from, until)` (unix seconds of each hour).
    pub async fn hourly_totals(
        &self,
        site: &SiteId,
        from: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<Vec<(i64, Counters)>, StoreError> {
        let filter =
            doc! { "site": site.as_str(), "hour": { "$gte": date(from), "$lt": date(until) } };
        let docs: Vec<RollupDocument> = self.find_all(HOURLY, filter).await?;
        Ok(docs
            .into_iter()
            .filter_map(|d| Some((d.hour?.timestamp_millis() / 1000, d.counters)))
            .collect())
    }

    /// One page of a property's values over `[from, to]`, summed across days and ordered:
    /// read tier by tier (`super::top`) once every rollup document has its tier, by
    /// aggregating every document of the range before.
    pub async fn breakdown(&self, q: RowsQuery<'_>) -> Result<Vec<Row>, StoreError> {
        if self.tiers_ready().await? {
            return Ok(self.top_rows(q).await?.rows);
        }
        self.aggregate_rows(q).await
    }

    /// [`MongoStore::breakdown`] by aggregating every rollup document of the range (what
    /// tiered reads are checked against, and the reads while tiers are being backfilled).
    pub async fn aggregate_rows(&self, q: RowsQuery<'_>) -> Result<Vec<Row>, StoreError> {
        let mut group = sums();
        group.insert("_id", "$value");
        let range = day_range(q.from, q.to);
        let mut pipeline = vec![
            doc! { "$match": { "site": q.site.as_str(), "dim": q.dim.stored().as_ref(), "day": range } },
            doc! { "$group": group },
        ];
        let (order, page) = (q.order, q.page);
        if order == Order::Views {
            // Top pages: only values that were viewed.
            pipeline.push(doc! { "$match": { "views": { "$gt": 0 } } });
        } else {
            // Values whose visits all moved elsewhere (a former exit page) are not listed.
            pipeline.push(doc! { "$match": { "$or": [ { "events": { "$gt": 0 } }, { "visits": { "$gt": 0 } } ] } });
        }
        pipeline.push(doc! { "$sort": order.keys() });
        pipeline.push(doc! { "$skip": page.skip as i64 });
        pipeline.push(doc! { "$limit": page.limit as i64 });
        let rows: Vec<GroupedRow> = self
            .db
            .collection::<Document>(DAILY)
            .aggregate(pipeline)
            .with_type::<GroupedRow>()
            .await?
            .try_collect()
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| Row {
                value: r.value,
                counters: r.counters,
            })
            .collect())
    }

    /// Every raw event of `site` in `[from, until)`, for reports the rollups cannot answer, in
    /// the order the worker processed them. Reports asking for the same range at once share
    /// one load (`super::shared_loads`).
    pub async fn raw_events(
        &self,
        site: &SiteId,
        from: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<Arc<RangeEvents>, StoreError> {
        let key = LoadKey {
            site: site.as_str().to_owned(),
            from_ms: date(from).timestamp_millis(),
            until_ms: date(until).timestamp_millis(),
        };
        self.loads
            .get(key, || self.load_raw_events(site, from, until))
            .await
    }

    async fn load_raw_events(
        &self,
        site: &SiteId,
        from: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<RangeEvents, StoreError> {
        if self.in_blocks(site, from, until).await? {
            return self.raw_events_from_blocks(site, from, until).await;
        }
        let events = self.raw_events_from_documents(site, from, until).await?;
        Ok(RangeEvents::from_vec(events))
    }

    /// [`MongoStore::raw_events`] read one document per event: for ranges with days stored
    /// before events were also written in blocks (`super::blocks`), and what blocks are
    /// checked against.
    pub async fn raw_events_from_documents(
        &self,
        site: &SiteId,
        from: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<Vec<RawEvent>, StoreError> {
        let mut cursor = self
            .events
            .find(
                doc! { "site_id": site.as_str(), "ts": { "$gte": date(from), "$lt": date(until) } },
            )
            .projection(
                doc! { "visitor_id": 1, "event_type": 1, "path": 1, "ts": 1, "src": 1, "s": 1, "props": 1, "revenue": 1 },
            )
            .await?;
        let mut out = Vec::new();
        while let Some(d) = cursor.try_next().await? {
            // One malformed document (written by hand, say) is left out, not the report.
            let Ok(raw) = mongodb::bson::from_document::<RawEventDocument>(d) else {
                continue;
            };
            out.push(RawEvent::from(raw));
        }
        out.sort_by_key(|e| e.position);
        Ok(out)
    }
}

#[cfg(test)]
impl RawEvent {
    /// A page view of `path` by visitor `v` at position (0, 0), for tests.
    pub(crate) fn viewing(path: &str) -> Self {
        RawEvent {
            visitor: "v".into(),
            event_type: "page_view".into(),
            path: path.into(),
            ts_ms: 0,
            position: Position {
                partition: 0,
                offset: 0,
            },
            visit: Default::default(),
            props: Default::default(),
            revenue: None,
        }
    }
}

impl From<RawEventDocument> for RawEvent {
    fn from(raw: RawEventDocument) -> Self {
        RawEvent {
            visitor: raw.visitor_id.into(),
            event_type: raw.event_type.into(),
            path: raw.path.into(),
            ts_ms: raw.ts.timestamp_millis(),
            position: super::documents::origin(raw.src),
            visit: Arc::new(raw.s),
            props: prop_texts(raw.props.as_ref()),
            revenue: raw.revenue,
        }
    }
}
