//! Writing rollup deltas, idempotently by Kafka position.
//!
//! Each write reads the documents' watermarks, then sends one `insert` command for the
//! documents not stored yet and one `update` command for the others, each carrying many
//! statements. Every update is conditional on the watermark it was computed against, and an insert
//! on the document not existing; if another worker moved or created it (a rebalance overlap),
//! the statement fails with a duplicate key and the whole batch is retried from fresh reads.
//! See [`crate::rollup`] for why this makes counts exact under replay.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use mongodb::bson::{self, doc, Bson, Document};

use super::rollup_documents::{RollupDocument, RollupIdentity, GOALS};
use super::tiers::{Tiers, RANKED};
use super::{MongoStore, StoreError, DAILY, HOURLY};
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
            let writes = self.rollup_writes(name, keys, parts).await?;
            changed += writes.inserts.len() + writes.updates.len();
            // New documents are inserted whole: on SecantusDB an insert costs about a third
            // of the upsert that would create the same document (docs/benchmarks.md).
            self.write_all(name, "insert", "documents", writes.inserts)
                .await?;
            self.update_all(name, writes.updates).await?;
        }
        Ok(changed)
    }

    /// The writes that add `parts`' pending deltas to the documents of `keys` in `name`, from
    /// their stored watermarks (and, for daily documents, the counters their tier needs).
    async fn rollup_writes(
        &self,
        name: &str,
        keys: BTreeSet<&RollupKey>,
        parts: &[&Contributions],
    ) -> Result<RollupWrites, StoreError> {
        let ids: Vec<String> = keys.iter().map(|k| k.id()).collect();
        // Daily documents carry their tier (super::top), computed from the counters read here
        // under the same watermark condition as the update.
        let tiered = name == DAILY;
        let mut fields = doc! { "wm": 1 };
        if tiered {
            RANKED.iter().chain([&GOALS]).for_each(|f| {
                fields.insert(*f, 1);
            });
        }
        let found: Vec<RollupDocument> = self.find_by_ids(name, &ids, Some(fields)).await?;
        let stored: HashMap<String, Stored> = found
            .into_iter()
            .map(|d| (d.watermarks(), d.counters, d.goals, d.id))
            .map(|(wm, counters, goals, id)| (id, (wm, counters, goals)))
            .collect();
        let mut writes = RollupWrites::default();
        for (key, id) in keys.into_iter().zip(ids) {
            let known = stored.get(&id);
            let (before, mut counters, goals) = known.cloned().unwrap_or_default();
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
            // Nothing to add (a former exit page: its visit's +1 and -1 in the same runs): not
            // written, the watermark left where it is. A replay of these runs finds the same
            // zero, and the next write of this document adds only what it holds then.
            if sum.is_zero() {
                continue;
            }
            counters += sum;
            let stamp = Stamp {
                tiers: tiered.then(|| Tiers::of(&counters)),
                goals: goal_list(parts, key, known.map(|_| goals)),
            };
            match known {
                Some(_) => writes
                    .updates
                    .push(rollup_statement(key, id, &before, &sum, &marks, stamp)?),
                None => writes
                    .inserts
                    .push(new_rollup_document(key, id, &sum, &marks, stamp)?),
            }
        }
        Ok(writes)
    }
}

/// A stored document's watermark, counters and goal list.
type Stored = (BTreeMap<i32, i64>, Counters, Option<Vec<String>>);

/// What a write sets besides the counters and the watermark: a daily document's tiers, and a
/// day's site total's goal list.
struct Stamp {
    tiers: Option<Tiers>,
    goals: Option<Vec<String>>,
}

/// The goal list a day's site total is written with: the goals its events here were matched
/// against, and, for a stored document, also listed there before (one stored without a list
/// was begun by a worker that counted none). `None` for other documents.
fn goal_list(
    parts: &[&Contributions],
    key: &RollupKey,
    stored: Option<Option<Vec<String>>>,
) -> Option<Vec<String>> {
    if !key.is_daily_total() {
        return None;
    }
    let noted = Contributions::goals_in(parts, key).unwrap_or_default();
    Some(match stored {
        None => noted.into_iter().collect(),
        Some(before) => before
            .unwrap_or_default()
            .into_iter()
            .filter(|g| noted.contains(g))
            .collect(),
    })
}

/// One collection's rollup writes: documents to insert, update statements for the others.
#[derive(Default)]
struct RollupWrites {
    inserts: Vec<Document>,
    updates: Vec<Document>,
}

/// A document not stored yet, whole: what [`rollup_statement`]'s upsert would create from
/// nothing (its identity, the summed counters, the watermark and the tier).
fn new_rollup_document(
    key: &RollupKey,
    id: String,
    sum: &Counters,
    marks: &BTreeMap<i32, i64>,
    stamp: Stamp,
) -> Result<Document, StoreError> {
    let mut document = doc! { "_id": id };
    document.extend(typed(&RollupIdentity::written(key))?);
    document.extend(typed(sum)?);
    let wm: Document = marks
        .iter()
        .map(|(p, offset)| (p.to_string(), Bson::Int64(*offset)))
        .collect();
    document.insert("wm", wm);
    if let Some(tiers) = stamp.tiers {
        document.extend(tiers.fields());
    }
    if let Some(goals) = stamp.goals {
        document.insert(GOALS, goals);
    }
    Ok(document)
}

fn rollup_statement(
    key: &RollupKey,
    id: String,
    before: &BTreeMap<i32, i64>,
    sum: &Counters,
    marks: &BTreeMap<i32, i64>,
    stamp: Stamp,
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
    if let Some(tiers) = stamp.tiers {
        set.extend(tiers.fields());
    }
    if let Some(goals) = stamp.goals {
        set.insert(GOALS, goals);
    }
    let inc = typed(sum)?;
    let on_insert = typed(&RollupIdentity::written(key))?;
    Ok(doc! {
        "q": q,
        "u": { "$inc": inc, "$set": set, "$setOnInsert": on_insert },
        "upsert": true,
    })
}

fn typed(value: &impl serde::Serialize) -> Result<Document, StoreError> {
    bson::to_document(value).map_err(|e| StoreError::Corrupt(format!("rollup write: {e}")))
}
