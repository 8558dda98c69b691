//! The batch step against a store held in memory (the same rules as MongoDB's: conditional
//! rollup deltas by watermark, conditional state saves), so replays and retries are checked
//! in milliseconds; `backend/tests/rollups.rs` checks the same over the wire.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::Future;
use std::sync::Mutex;

use beacon_event::Event;
use time::macros::datetime;

use super::*;
use crate::rollup::tests::site;
use crate::rollup::{Bucket, Contributions, Counters, Position, RollupKey, VisitorState};
use crate::store::{EventStore, InsertOutcome, StateStore, StoreError, StoredEvent};

/// A rollup document: its watermarks per partition and its counters.
type Rollup = (BTreeMap<i32, i64>, Counters);

#[derive(Default)]
struct MemoryStore {
    events: Mutex<HashMap<String, Position>>,
    rollups: Mutex<HashMap<String, Rollup>>,
    marks: Mutex<BTreeMap<i32, i64>>,
    states: Mutex<HashMap<String, VisitorState>>,
}

fn conflict(collection: &str) -> StoreError {
    StoreError::Conflict {
        collection: collection.to_owned(),
        failed: 1,
    }
}

impl MemoryStore {
    fn counters(&self, key: &RollupKey) -> Counters {
        let rollups = self.rollups.lock().unwrap();
        rollups.get(&key.id()).map(|(_, c)| *c).unwrap_or_default()
    }

    fn add_rollups(&self, parts: &[&Contributions]) -> Result<usize, StoreError> {
        let mut marks = self.marks.lock().unwrap();
        for (p, o) in Contributions::last_offsets_in(parts) {
            let mark = marks.entry(p).or_insert(o);
            *mark = (*mark).max(o);
        }
        let keys: BTreeSet<&RollupKey> = parts.iter().flat_map(|p| p.keys()).collect();
        let mut rollups = self.rollups.lock().unwrap();
        let mut changed = 0;
        for key in keys {
            let (wm, counters) = rollups.entry(key.id()).or_default();
            let pending =
                Contributions::pending_in(parts, key, wm).map_err(|_| conflict("rollups"))?;
            if let Some((sum, written)) = pending {
                *counters += sum;
                wm.extend(written);
                changed += 1;
            }
        }
        Ok(changed)
    }

    fn save(&self, saves: &[(&VisitorState, Option<Position>)]) -> Result<(), StoreError> {
        let mut states = self.states.lock().unwrap();
        for (state, before) in saves {
            let id = VisitorState::id(&state.site, &state.visitor);
            if states.get(&id).map(|s| s.applied) != *before {
                return Err(conflict("visitors"));
            }
            states.insert(id, (*state).clone());
        }
        Ok(())
    }
}

impl EventStore for MemoryStore {
    fn stored_positions(
        &self,
        eids: &[String],
    ) -> impl Future<Output = Result<HashMap<String, Position>, StoreError>> + Send {
        let events = self.events.lock().unwrap();
        let found = eids
            .iter()
            .filter_map(|eid| Some((eid.clone(), *events.get(eid)?)))
            .collect();
        std::future::ready(Ok(found))
    }

    fn insert_events(
        &self,
        events: &[StoredEvent],
        _retention: time::Duration,
    ) -> impl Future<Output = Result<InsertOutcome, StoreError>> + Send {
        let mut stored = self.events.lock().unwrap();
        let mut outcome = InsertOutcome::default();
        for e in events {
            match stored.entry(e.event.eid.to_string()) {
                std::collections::hash_map::Entry::Occupied(_) => outcome.duplicates += 1,
                std::collections::hash_map::Entry::Vacant(slot) => {
                    slot.insert(e.at);
                    outcome.inserted += 1;
                }
            }
        }
        std::future::ready(Ok(outcome))
    }

    fn apply_rollups(
        &self,
        parts: &[&Contributions],
    ) -> impl Future<Output = Result<usize, StoreError>> + Send {
        std::future::ready(self.add_rollups(parts))
    }

    fn rollup_marks(&self) -> impl Future<Output = Result<BTreeMap<i32, i64>, StoreError>> + Send {
        std::future::ready(Ok(self.marks.lock().unwrap().clone()))
    }
}

impl StateStore for MemoryStore {
    fn load_visitors(
        &self,
        ids: &[String],
    ) -> impl Future<Output = Result<HashMap<String, VisitorState>, StoreError>> + Send {
        let states = self.states.lock().unwrap();
        let found = ids
            .iter()
            .filter_map(|id| Some((id.clone(), states.get(id)?.clone())))
            .collect();
        std::future::ready(Ok(found))
    }

    fn save_visitors(
        &self,
        states: &[(&VisitorState, Option<Position>)],
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        std::future::ready(self.save(states))
    }
}

fn event(n: u128, visitor: &str, kind: &str, minute: i64, bot: bool) -> Event {
    let at = datetime!(2026-11-25 10:00 UTC) + time::Duration::minutes(minute);
    let mut event = crate::rollup::tests::event(n, visitor, kind, "/", at);
    event.context.bot = bot;
    event
}

fn at(offset: i64) -> Position {
    Position {
        partition: 0,
        offset,
    }
}

fn total(store: &MemoryStore) -> Counters {
    let day = Bucket::day_of(datetime!(2026-11-25 10:00 UTC));
    store.counters(&RollupKey::total(&site(), day))
}

const RETENTION: time::Duration = time::Duration::days(30);

#[tokio::test]
async fn a_replayed_batch_stores_and_counts_nothing_twice() {
    let store = MemoryStore::default();
    let batch = vec![
        (event(1, "a", "page_view", 0, false), at(0)),
        (event(2, "a", "page_view", 1, false), at(1)),
        (event(3, "b", "signup", 2, false), at(2)),
    ];
    let first = store_batch(&store, &batch, RETENTION).await.unwrap();
    assert_eq!((first.inserted, first.duplicates), (3, 0));
    let counted = total(&store);
    assert_eq!((counted.views, counted.events, counted.visitors), (2, 3, 2));
    // The same records again (a crash before the commit): nothing new anywhere.
    let again = store_batch(&store, &batch, RETENTION).await.unwrap();
    assert_eq!((again.inserted, again.duplicates), (0, 0));
    assert_eq!(total(&store), counted);
}

#[tokio::test]
async fn a_client_retry_in_another_record_is_a_duplicate() {
    let store = MemoryStore::default();
    let sent = event(7, "a", "page_view", 0, false);
    store_batch(&store, &[(sent.clone(), at(0))], RETENTION)
        .await
        .unwrap();
    // The client did not hear the 202 and sent the same eid again: a later record.
    let retry = store_batch(&store, &[(sent, at(4))], RETENTION)
        .await
        .unwrap();
    assert_eq!((retry.inserted, retry.duplicates), (0, 1));
    assert_eq!(total(&store).views, 1);
}

#[tokio::test]
async fn bots_are_counted_apart_and_stored_nowhere() {
    let store = MemoryStore::default();
    let batch = vec![
        (event(1, "a", "page_view", 0, false), at(0)),
        (event(2, "crawler", "page_view", 0, true), at(1)),
    ];
    let outcome = store_batch(&store, &batch, RETENTION).await.unwrap();
    assert_eq!((outcome.inserted, outcome.bots), (1, 1));
    let counted = total(&store);
    assert_eq!((counted.views, counted.bots, counted.visitors), (1, 1, 1));
    assert!(store
        .states
        .lock()
        .unwrap()
        .keys()
        .all(|id| !id.contains("crawler")));
}

#[tokio::test]
async fn a_state_saved_by_another_worker_meanwhile_is_a_conflict() {
    let store = MemoryStore::default();
    let mut states = VisitorStates::default();
    let first = [(event(1, "a", "page_view", 0, false), at(0))];
    apply_batch(&store, &first, RETENTION, &mut states)
        .await
        .unwrap();
    // Another worker saves visitor `a` first (a rebalance overlap).
    let mut theirs = VisitorState::new(&site(), "a");
    theirs.applied = at(9);
    store.save(&[(&theirs, None)]).unwrap();
    let saved = states.save(&store).await;
    assert!(
        matches!(saved, Err(StoreError::Conflict { .. })),
        "{saved:?}"
    );
}
