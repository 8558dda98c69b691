//! `seed --rollups-only`: a site-day's rollup documents as the worker writes them, without its
//! raw events, event blocks and visitor states.
//!
//! Why: the unfiltered reports and the stats page read only rollups, and a 10M-event day through
//! the whole storage path takes the stand-in store over seven hours (docs/benchmarks.md). Here
//! the worker's own batch code ([`beacon::worker::apply_batch`], the visitor states held in
//! memory across the whole day as a worker working through a backlog holds them) computes every
//! delta, and [`MongoStore::apply_rollups`] writes them once at the end: any batching leaves the
//! same documents (backend/tests/rollups.rs), so the day's rollups are those the full path
//! leaves. Nothing else is written, so reports that read raw events have nothing to read.

use std::collections::{BTreeMap, HashMap};

use beacon::rollup::{Contributions, Position, VisitorState};
use beacon::store::{EventStore, InsertOutcome, MongoStore, StateStore, StoreError, StoredEvent};

/// A store that writes rollups to MongoDB and drops everything else.
pub struct RollupsOnly<'a>(pub &'a MongoStore);

impl EventStore for RollupsOnly<'_> {
    /// Every seeded event is new: `eid`s are distinct and nothing is replayed.
    async fn stored_positions(
        &self,
        _eids: &[String],
    ) -> Result<HashMap<String, Position>, StoreError> {
        Ok(HashMap::new())
    }

    async fn insert_events(
        &self,
        events: &[StoredEvent],
        _retention: time::Duration,
    ) -> Result<InsertOutcome, StoreError> {
        Ok(InsertOutcome {
            inserted: events.len(),
            duplicates: 0,
        })
    }

    async fn apply_rollups(&self, parts: &[&Contributions]) -> Result<usize, StoreError> {
        self.0.apply_rollups(parts).await
    }

    async fn rollup_marks(&self) -> Result<BTreeMap<i32, i64>, StoreError> {
        self.0.rollup_marks().await
    }
}

impl StateStore for RollupsOnly<'_> {
    /// None stored: the states live in the seeder's memory for the whole day.
    async fn load_visitors(
        &self,
        _ids: &[String],
    ) -> Result<HashMap<String, VisitorState>, StoreError> {
        Ok(HashMap::new())
    }

    async fn save_visitors(
        &self,
        _states: &[(&VisitorState, Option<Position>)],
    ) -> Result<(), StoreError> {
        Ok(())
    }
}
