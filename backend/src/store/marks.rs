//! How far any worker may have written rollups, per partition: a mark recorded before each
//! rollup write (`meta`, `rollup_marks`). A worker taking partitions over sums deltas into runs
//! only past it (`crate::rollup::Contributions::compact`): below it, a predecessor may have
//! added part of a run to a document, and only per-event deltas replay exactly.

use std::collections::BTreeMap;

use mongodb::bson::{doc, Document};
use serde::Deserialize;

use super::rollup_documents::by_partition;
use super::{MongoStore, StoreError, META};

const ROLLUP_MARKS: &str = "rollup_marks";

/// The marks document: `_id` and one field per partition, its mark.
#[derive(Debug, Deserialize)]
struct MarksDocument {
    #[serde(rename = "_id")]
    _id: String,
    #[serde(flatten)]
    marks: BTreeMap<String, i64>,
}

impl MongoStore {
    /// Raises the mark of each partition to at least `last` (its highest offset about to be
    /// written). Before the rollup documents: a crash between the two leaves the mark ahead,
    /// which only makes a successor sum less.
    pub async fn record_rollup_marks(&self, last: &BTreeMap<i32, i64>) -> Result<(), StoreError> {
        if last.is_empty() {
            return Ok(());
        }
        let raise: Document = last
            .iter()
            .map(|(p, o)| (p.to_string(), (*o).into()))
            .collect();
        self.db
            .collection::<Document>(META)
            .update_one(doc! { "_id": ROLLUP_MARKS }, doc! { "$max": raise })
            .upsert(true)
            .await?;
        Ok(())
    }

    /// The marks: the highest offset per partition any worker may have added to rollups.
    pub async fn rollup_marks(&self) -> Result<BTreeMap<i32, i64>, StoreError> {
        let found = self
            .db
            .collection::<MarksDocument>(META)
            .find_one(doc! { "_id": ROLLUP_MARKS })
            .await?;
        Ok(found.map(|d| by_partition(&d.marks)).unwrap_or_default())
    }
}
