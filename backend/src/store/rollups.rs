//! Writing rollup deltas and visitor states, idempotently by Kafka position.
//!
//! Each write is one `update` command carrying many statements (one round trip per collection
//! per batch). Every statement is conditional on the watermark it was computed against; if
//! another worker moved it (a rebalance overlap), the statement fails with a duplicate key on
//! upsert and the whole batch is retried from fresh reads. See [`crate::rollup`] for why this
//! makes counts exact under replay.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use beacon_event::SiteId;
use mongodb::bson::{self, doc, Bson, DateTime, Document};

use super::bson::{bson_int, counters, date};
use super::{top, MongoStore, StoreError, DAILY, HOURLY, VISITORS};
use crate::rollup::visit::Visit;
use crate::rollup::{Bucket, Contributions, Counters, Position, RollupKey, VisitorState};

/// How long a visitor's state is kept after its last event: visitor ids change daily, so after
/// two days no event can continue the visit. Counted from the save when that is later (see
/// [`state_document`]).
const STATE_TTL_MS: i64 = 2 * 24 * 3600 * 1000;

fn collection_of(key: &RollupKey) -> &'static str {
    match key.bucket {
        Bucket::Day(_) => DAILY,
        Bucket::Hour(_) => HOURLY,
    }
}

fn watermarks(doc: &Document) -> BTreeMap<i32, i64> {
    doc.get_document("wm")
        .map(|wm| {
            wm.iter()
                .filter_map(|(p, o)| Some((p.parse().ok()?, bson_int(o)?)))
                .collect()
        })
        .unwrap_or_default()
}

impl MongoStore {
    /// Adds every delta of `parts` not yet in its document, each document in one statement
    /// however many parts have deltas for it. Returns how many documents changed.
    pub async fn apply_rollups(&self, parts: &[&Contributions]) -> Result<usize, StoreError> {
        let mut last = BTreeMap::new();
        for (p, o) in parts.iter().flat_map(|c| c.last_offsets()) {
            let mark = last.entry(p).or_insert(o);
            *mark = (*mark).max(o);
        }
        self.record_rollup_marks(&last).await?;
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
            let stored: HashMap<String, (BTreeMap<i32, i64>, Counters)> = self
                .find_by_ids(name, &ids, Some(fields))
                .await?
                .into_iter()
                .filter_map(|d| {
                    let id = d.get_str("_id").ok()?.to_owned();
                    Some((id, (watermarks(&d), counters(&d))))
                })
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
                statements.push(rollup_statement(key, id, &before, &sum, &marks, tier));
            }
            changed += statements.len();
            self.update_all(name, statements).await?;
        }
        Ok(changed)
    }

    /// The stored states of these (site, visitor) ids.
    pub async fn load_visitors(
        &self,
        ids: &[String],
    ) -> Result<HashMap<String, VisitorState>, StoreError> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let docs = self.find_by_ids(VISITORS, ids, None).await?;
        docs.iter()
            .map(|d| {
                let id = d.get_str("_id").unwrap_or_default().to_owned();
                // Treating it as a new visitor would collide with it on every save.
                let state = state_from(d).ok_or_else(|| {
                    StoreError::Corrupt(format!("visitor state {id:?} cannot be read"))
                })?;
                Ok((id, state))
            })
            .collect()
    }

    /// Saves states; each is conditional on the position it was loaded at (`before`).
    pub async fn save_visitors(
        &self,
        states: &[(&VisitorState, Option<Position>)],
    ) -> Result<(), StoreError> {
        // A state never saved before is inserted, not upserted: a plain insert is the store's
        // cheapest write (docs/benchmarks.md, "Visitor states held in memory"), and on a busy site most states
        // of a checkpoint are new visitors. A duplicate key means another worker saved it
        // first: a conflict, as a failed condition is for an update.
        let (new, known): (Vec<_>, Vec<_>) =
            states.iter().partition(|(_, before)| before.is_none());
        let saved_ms = DateTime::now().timestamp_millis();
        let inserts = new
            .iter()
            .map(|(state, _)| {
                let mut d = doc! { "_id": VisitorState::id(&state.site, &state.visitor) };
                d.extend(state_document(state, saved_ms));
                d
            })
            .collect();
        self.write_all(VISITORS, "insert", "documents", inserts)
            .await?;
        let statements = known
            .iter()
            .filter_map(|(state, before)| {
                let p = before.as_ref()?;
                let id = VisitorState::id(&state.site, &state.visitor);
                // The condition is one embedded-document equality, written exactly as
                // `state_document` writes `applied` (same fields, order and types): cheaper
                // to match than two dotted fields (docs/benchmarks.md).
                let q = doc! { "_id": &id, "applied": applied(p) };
                Some(doc! { "q": q, "u": state_document(state, saved_ms), "upsert": true })
            })
            .collect();
        self.update_all(VISITORS, statements).await
    }

    /// Visitors of `site` whose latest event happened at or after `since`.
    pub async fn active_visitors(
        &self,
        site: &SiteId,
        since: time::OffsetDateTime,
    ) -> Result<u64, StoreError> {
        let since = date(since);
        Ok(self
            .db
            .collection::<Document>(VISITORS)
            .count_documents(doc! { "site": site.as_str(), "last_seen": { "$gte": since } })
            .await?)
    }

    /// Runs unordered `update` commands; any per-statement failure fails the batch.
    async fn update_all(
        &self,
        collection: &str,
        statements: Vec<Document>,
    ) -> Result<(), StoreError> {
        self.write_all(collection, "update", "updates", statements)
            .await
    }

    /// Runs the unordered write command `command` (its list of statements or documents named
    /// `field`); any per-statement failure fails the batch with [`StoreError::Conflict`].
    async fn write_all(
        &self,
        collection: &str,
        command: &str,
        field: &str,
        statements: Vec<Document>,
    ) -> Result<(), StoreError> {
        // Bounded so one command stays far below MongoDB's 16 MB message limit.
        for chunk in statements.chunks(500) {
            let started = std::time::Instant::now();
            let reply = self
                .db
                .run_command(doc! { command: collection, field: chunk, "ordered": false })
                .await;
            metrics::histogram!(crate::metrics::MONGO_WRITE_SECONDS)
                .record(started.elapsed().as_secs_f64());
            let reply = reply.inspect_err(|_| {
                metrics::counter!(crate::metrics::MONGO_WRITE_ERRORS).increment(1);
            })?;
            if let Ok(errors) = reply.get_array("writeErrors") {
                if !errors.is_empty() {
                    metrics::counter!(crate::metrics::MONGO_WRITE_ERRORS).increment(1);
                    // A lost race shows as a duplicate key (the conditional upsert or the
                    // insert found the document another writer saved); anything else is not
                    // a race and must not send the worker into re-applying its window.
                    let refused = errors.iter().find_map(|e| {
                        let e = e.as_document()?;
                        let code = e.get("code").and_then(bson_int);
                        (code != Some(i64::from(super::DUPLICATE_KEY))).then(|| {
                            format!(
                                "code {}: {}",
                                code.unwrap_or_default(),
                                e.get_str("errmsg").unwrap_or("no message")
                            )
                        })
                    });
                    return Err(match refused {
                        None => StoreError::Conflict {
                            collection: collection.to_owned(),
                            failed: errors.len(),
                        },
                        Some(reason) => StoreError::Rejected {
                            collection: collection.to_owned(),
                            failed: errors.len(),
                            reason,
                        },
                    });
                }
            }
        }
        Ok(())
    }
}

fn rollup_statement(
    key: &RollupKey,
    id: String,
    before: &BTreeMap<i32, i64>,
    sum: &Counters,
    marks: &BTreeMap<i32, i64>,
    tier: Option<i64>,
) -> Document {
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
    let inc: Document = Counters::FIELDS
        .iter()
        .zip(sum.values())
        .map(|(f, v)| ((*f).to_owned(), Bson::Int64(v)))
        .collect();
    let mut on_insert = doc! { "site": &key.site, "dim": key.dim_name(), "value": &key.value };
    match key.bucket {
        Bucket::Day(day) => on_insert.insert("day", day.to_string()),
        Bucket::Hour(s) => on_insert.insert("hour", DateTime::from_millis(s * 1000)),
    };
    doc! {
        "q": q,
        "u": { "$inc": inc, "$set": set, "$setOnInsert": on_insert },
        "upsert": true,
    }
}

/// A state's `applied` position as stored; saves compare it whole.
fn applied(at: &Position) -> Document {
    doc! { "p": at.partition, "o": at.offset }
}

/// A visitor state as stored by a save at `saved_ms`. It expires `STATE_TTL_MS` after its last
/// event, or after the save if that is later: a worker working through a backlog of events
/// older than that still needs the state for the rest of their day (expiring it by event time
/// alone would count those visitors again).
fn state_document(s: &VisitorState, saved_ms: i64) -> Document {
    let mut d = doc! {
        "site": &s.site,
        "visitor": &s.visitor,
        "applied": applied(&s.applied),
        "last_seen": DateTime::from_millis(s.last_seen_ms),
        "expire_at": DateTime::from_millis(s.last_seen_ms.max(saved_ms) + STATE_TTL_MS),
        "seen": s.seen.iter().cloned().collect::<Vec<_>>(),
    };
    if let Some(v) = &s.visit {
        d.insert(
            "visit",
            doc! {
                "id": &v.id,
                "start_ms": v.start_ms,
                "last_ms": v.last_ms,
                "entry": &v.entry,
                "exit": &v.exit,
                "pageviews": v.pageviews,
                "events": v.events,
                "context": bson::to_document(&v.context).unwrap_or_default(),
            },
        );
    }
    d
}

fn state_from(d: &Document) -> Option<VisitorState> {
    let applied = d.get_document("applied").ok()?;
    let visit = match d.get_document("visit") {
        Ok(v) => Some(Visit {
            id: v.get_str("id").ok()?.to_owned(),
            start_ms: v.get("start_ms").and_then(bson_int)?,
            last_ms: v.get("last_ms").and_then(bson_int)?,
            entry: v.get_str("entry").ok()?.to_owned(),
            exit: v.get_str("exit").ok()?.to_owned(),
            pageviews: v.get("pageviews").and_then(bson_int)?,
            events: v.get("events").and_then(bson_int)?,
            context: v
                .get_document("context")
                .ok()
                .and_then(|c| bson::from_document(c.clone()).ok())
                .unwrap_or_default(),
        }),
        Err(_) => None,
    };
    Some(VisitorState {
        site: d.get_str("site").ok()?.to_owned(),
        visitor: d.get_str("visitor").ok()?.to_owned(),
        applied: Position {
            partition: applied.get("p").and_then(bson_int)? as i32,
            offset: applied.get("o").and_then(bson_int)?,
        },
        last_seen_ms: d.get_datetime("last_seen").ok()?.timestamp_millis(),
        seen: d
            .get_array("seen")
            .ok()?
            .iter()
            .filter_map(|s| s.as_str().map(str::to_owned))
            .collect(),
        visit,
    })
}
