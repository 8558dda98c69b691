//! Imported days: daily rollup documents written from another tool's export
//! (`beacon-admin import`), beside the worker's.
//!
//! An imported document has the same `_id` and layout as one the worker writes for that site,
//! day and value (so every report, tiered reads included, counts it unchanged), no watermark,
//! and `imp`: the table it came from. A day is either the worker's or imported, told apart by
//! its `total` document: the import checks [`MongoStore::native_days`] first, and a rebuild
//! leaves imported days alone ([`MongoStore::imported_days`]). Hourly documents are never
//! imported (the export has days only).
//!
//! Every query names `site`, `dim` and `day` and nothing else, and `imp` is checked here: a
//! store may serve a query from an index only when the index covers every field it names
//! (SecantusDB does), and the rollup index has no `imp`.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use beacon_event::SiteId;
use futures::TryStreamExt;
use mongodb::bson::doc;
use time::Date;

use super::bson::{date, day_range};
use super::rollup_documents::{parse_day, ImportedRollup, RollupDocument, RollupIdentity};
use super::tiers::Tiers;
use super::{MongoStore, StoreError, DAILY, HOURLY};
use crate::rollup::{Bucket, Counters, Dimension, RollupKey, Zone, TOTAL};
use serde::Deserialize;

/// The field that marks a daily document as imported, holding the table it came from.
const IMPORTED: &str = "imp";

/// Every `dim` a daily document can have.
fn all_dims() -> Vec<&'static str> {
    std::iter::once(TOTAL)
        .chain(Dimension::ALL.map(Dimension::name))
        .collect()
}

/// The `dim` of an imported document of `dim` (`None`: the site's total).
fn stored(dim: Option<Dimension>) -> &'static str {
    dim.map_or(TOTAL, Dimension::name)
}

/// One day of one table's imported counters, summed per document.
#[derive(Debug)]
pub struct ImportedDay<'a> {
    pub site: &'a SiteId,
    pub day: Date,
    /// The table they come from (stored in `imp`).
    pub table: &'a str,
    /// The dimension of every document that table writes (`None` for the site's total).
    pub dims: &'a [Option<Dimension>],
    pub sums: &'a BTreeMap<Option<(Dimension, String)>, Counters>,
}

/// What tells days and tables apart: a daily document's id, day and import mark.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Marked {
    #[serde(rename = "_id")]
    id: String,
    day: String,
    imp: Option<String>,
}

impl Marked {
    fn date(&self) -> Option<Date> {
        parse_day(&self.day)
    }
}

impl MongoStore {
    /// The `dim` documents of `site` on the days `[from, to]`, as [`Marked`].
    async fn marked(
        &self,
        site: &SiteId,
        dim: &str,
        (from, to): (Date, Date),
    ) -> Result<Vec<Marked>, StoreError> {
        let filter = doc! { "site": site.as_str(), "dim": dim, "day": day_range(from, to) };
        let found = self
            .db
            .collection::<Marked>(DAILY)
            .find(filter)
            .projection(doc! { "day": 1, IMPORTED: 1 })
            .await?;
        Ok(found.try_collect().await?)
    }

    /// The days of `site` in `days`' span whose total `imported` says.
    async fn days_marked(
        &self,
        site: &SiteId,
        (from, to): (Date, Date),
        imported: bool,
    ) -> Result<BTreeSet<Date>, StoreError> {
        let totals = self.marked(site, TOTAL, (from, to)).await?;
        Ok(totals
            .iter()
            .filter(|d| d.imp.is_some() == imported)
            .filter_map(Marked::date)
            .collect())
    }

    /// Which of `days` have counters the worker wrote for `site`.
    pub async fn native_days(
        &self,
        site: &SiteId,
        days: &BTreeSet<Date>,
    ) -> Result<BTreeSet<Date>, StoreError> {
        let (Some(first), Some(last)) = (days.first(), days.last()) else {
            return Ok(BTreeSet::new());
        };
        let native = self.days_marked(site, (*first, *last), false).await?;
        Ok(native.intersection(days).copied().collect())
    }

    /// The days in `[from, to]` whose counters for `site` were imported.
    pub async fn imported_days(
        &self,
        site: &SiteId,
        from: Date,
        to: Date,
    ) -> Result<BTreeSet<Date>, StoreError> {
        self.days_marked(site, (from, to), true).await
    }

    /// Deletes daily documents by id.
    async fn delete_daily(&self, ids: Vec<String>) -> Result<(), StoreError> {
        let statements = ids
            .chunks(super::IDS_PER_QUERY)
            .map(|chunk| doc! { "q": { "_id": { "$in": chunk } }, "limit": 0 })
            .collect();
        self.write_all(DAILY, "delete", "deletes", statements).await
    }

    /// Removes the worker's daily and hourly counters of `site` on `days` (its days in
    /// `zone`): what an import that is told to win over them does first. Raw events stay.
    pub async fn remove_native_rollups(
        &self,
        site: &SiteId,
        days: &BTreeSet<Date>,
        zone: &Zone,
    ) -> Result<(), StoreError> {
        let mut ids = Vec::new();
        for day in days {
            for dim in all_dims() {
                let found = self.marked(site, dim, (*day, *day)).await?;
                ids.extend(found.into_iter().filter(|d| d.imp.is_none()).map(|d| d.id));
            }
        }
        self.delete_daily(ids).await?;
        let hours = days.iter().map(|day| {
            let until = zone.midnight(day.next_day().unwrap_or(*day));
            let hours = doc! { "$gte": date(zone.midnight(*day)), "$lt": date(until) };
            doc! { "q": { "site": site.as_str(), "hour": hours }, "limit": 0 }
        });
        self.write_all(HOURLY, "delete", "deletes", hours.collect())
            .await
    }

    /// Writes `imported`'s documents. The first write of a day (`fresh`) replaces what an
    /// earlier import of that table left for it, so importing the same export again changes
    /// nothing; a later one (the day came back in an unsorted file) adds to it. Returns how
    /// many documents were written.
    pub async fn write_imported_day(
        &self,
        imported: &ImportedDay<'_>,
        fresh: bool,
    ) -> Result<usize, StoreError> {
        let (site, day) = (imported.site, imported.day);
        let keys: Vec<RollupKey> = imported
            .sums
            .keys()
            .map(|target| match target {
                None => RollupKey::total(site, Bucket::Day(day)),
                Some((dim, value)) => RollupKey::of(site, Bucket::Day(day), *dim, value),
            })
            .collect();
        let ids: Vec<String> = keys.iter().map(RollupKey::id).collect();
        let mut before: HashMap<String, Counters> = HashMap::new();
        if fresh {
            let mut earlier = Vec::new();
            for dim in imported.dims {
                let found = self.marked(site, stored(*dim), (day, day)).await?;
                earlier.extend(
                    found
                        .into_iter()
                        .filter(|d| d.imp.as_deref() == Some(imported.table))
                        .map(|d| d.id),
                );
            }
            self.delete_daily(earlier).await?;
        } else {
            let found: Vec<RollupDocument> = self.find_by_ids(DAILY, &ids, None).await?;
            before = found.into_iter().map(|d| (d.id, d.counters)).collect();
        }
        let mut statements = Vec::with_capacity(ids.len());
        for ((key, id), counters) in keys.iter().zip(ids).zip(imported.sums.values()) {
            let mut counters = *counters;
            counters += before.get(&id).copied().unwrap_or_default();
            let document = ImportedRollup {
                identity: RollupIdentity::of(key),
                counters,
                tiers: Tiers::of(&counters),
                imp: imported.table,
            };
            let set = mongodb::bson::to_document(&document)
                .map_err(|e| StoreError::Corrupt(format!("imported rollup: {e}")))?;
            statements.push(doc! { "q": { "_id": id }, "u": { "$set": set }, "upsert": true });
        }
        let written = statements.len();
        self.update_all(DAILY, statements).await?;
        Ok(written)
    }
}
