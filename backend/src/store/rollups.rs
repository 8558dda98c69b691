//! Writing rollup deltas, idempotently by Kafka position.
//!
//! Each write is one `update` command carrying many statements (one round trip per collection
//! per batch). Every statement is conditional on the watermark it was computed against; if
//! another worker moved it (a rebalance overlap), the statement fails with a duplicate key on
//! upsert and the whole batch is retried from fresh reads. See [`crate::rollup`] for why this
//! makes counts exact under replay.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use mongodb::bson::{self, doc, Document};

use super::rollup_documents::{RollupDocument, RollupIdentity};
use super::{top, MongoStore, StoreError, DAILY, HOURLY};
use crate::rollup::{Bucket, Contributions, Counters, RollupKey};

fn collection_of(key: &RollupKey) -> &'static str {
    match key.bucket {
        Bucket::Day(_) => DAILY,
        Bucket::Hour(_) => HOURLY,
    }
}

impl MongoStore {
    /// Adds every delta of `parts` not yet in its document, each document in one statement
    /// however many parts have deltas for it. Returns how many documents changed.
    pub async fn apply_rollups(&self, parts: &[&Contributions]) -> Result<usize, StoreError> {
        self.record_rollup_marks(&Contributions::last_offsets_in(parts))
            .await?;
        let mut by_collection: BTreeMap<&str, BTreeSet<&RollupKey>> = BTreeMap::new();
        for key in parts.iter().flat_map(|p| p.keys()) {
            by_collection
                .entry(collection_of(key))
                .or_default()
                .insert(key);
        }
        let mut changed = 0;
        for (name, keys) in by_collection {
            let ids: Vec<String> = keys.iter().map(|k| k.id()).collect();
            // Daily documents carry their tier (super::top), computed from the counters read
            // here under the same watermark condition as the update.
            let tiered = name == DAILY;
            let mut fields = doc! { "wm": 1 };
            if tiered {
                top::RANKED.iter().for_each(|f| {
                    fields.insert(*f, 1);
                });
            }
            let found: Vec<RollupDocument> = self.find_by_ids(name, &ids, Some(fields)).await?;
            let stored: HashMap<String, (BTreeMap<i32, i64>, Counters)> = found
                .into_iter()
                .map(|d| (d.watermarks(), d.counters, d.id))
                .map(|(wm, counters, id)| (id, (wm, counters)))
                .collect();
            let mut statements = Vec::new();
            for (key, id) in keys.into_iter().zip(ids) {
                let (before, mut counters) = stored.get(&id).cloned().unwrap_or_default();
                let pending = Contributions::pending_in(parts, key, &before).map_err(|_| {
                    // Another writer added part of a run: its records must be applied again.
                    StoreError::Conflict {
                        collection: name.to_owned(),
                        failed: 1,
                    }
                })?;
                let Some((sum, marks)) = pending else {
                    continue;
                };
                counters += sum;
                let tier = tiered.then(|| top::tier(&counters));
                statements.push(rollup_statement(key, id, &before, &sum, &marks, tier)?);
            }
            changed += statements.len();
            self.update_all(name, statements).await?;
        }
        Ok(changed)
    }
}

fn rollup_statement(
    key: &RollupKey,
    id: String,
    before: &BTreeMap<i32, i64>,
    sum: &Counters,
    marks: &BTreeMap<i32, i64>,
    tier: Option<i64>,
) -> Result<Document, StoreError> {
    let mut q = doc! { "_id": &id };
    let mut set = Document::new();
    for (p, offset) in marks {
        let field = format!("wm.{p}");
        match before.get(p) {
            Some(old) => q.insert(field.clone(), *old),
            None => q.insert(field.clone(), doc! { "$exists": false }),
        };
        set.insert(field, *offset);
    }
    if let Some(t) = tier {
        set.insert(top::TIER, t);
    }
    let inc = typed(sum)?;
    let on_insert = typed(&RollupIdentity::of(key))?;
    Ok(doc! {
        "q": q,
        "u": { "$inc": inc, "$set": set, "$setOnInsert": on_insert },
        "upsert": true,
    })
}

fn typed(value: &impl serde::Serialize) -> Result<Document, StoreError> {
    bson::to_document(value).map_err(|e| StoreError::Corrupt(format!("rollup write: {e}")))
}
