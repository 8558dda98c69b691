//! What the worker needs of a store, as two small traits: [`MongoStore`] is the one the
//! services use; the worker's batch logic is also tested against one held in memory.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;

use super::{InsertOutcome, MongoStore, StoreError, StoredEvent};
use crate::rollup::{Contributions, Position, VisitorState};

/// Raw events and rollups, each write idempotent by Kafka position.
pub trait EventStore: Sync {
    /// For each of these event ids that is stored: the position of the record that stored it.
    fn stored_positions(
        &self,
        eids: &[String],
    ) -> impl Future<Output = Result<HashMap<String, Position>, StoreError>> + Send;

    /// Stores events; already stored ones are counted as duplicates, not errors.
    fn insert_events(
        &self,
        events: &[StoredEvent],
        retention: time::Duration,
    ) -> impl Future<Output = Result<InsertOutcome, StoreError>> + Send;

    /// Adds every delta of `parts` not yet in its document; how many documents changed. A
    /// delta run that another writer entered halfway is a [`StoreError::Conflict`].
    fn apply_rollups(
        &self,
        parts: &[&Contributions],
    ) -> impl Future<Output = Result<usize, StoreError>> + Send;

    /// Per partition, the highest offset any writer may have added to rollups.
    fn rollup_marks(&self) -> impl Future<Output = Result<BTreeMap<i32, i64>, StoreError>> + Send;
}

/// Visitor states, saved on the condition that nobody saved them since they were loaded.
pub trait StateStore: Sync {
    /// The stored states of these (site, visitor) ids.
    fn load_visitors(
        &self,
        ids: &[String],
    ) -> impl Future<Output = Result<HashMap<String, VisitorState>, StoreError>> + Send;

    /// Saves states, each conditional on the position it was loaded at (`None`: never saved);
    /// a failed condition is a [`StoreError::Conflict`].
    fn save_visitors(
        &self,
        states: &[(&VisitorState, Option<Position>)],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

impl EventStore for MongoStore {
    fn stored_positions(
        &self,
        eids: &[String],
    ) -> impl Future<Output = Result<HashMap<String, Position>, StoreError>> + Send {
        MongoStore::stored_positions(self, eids)
    }

    fn insert_events(
        &self,
        events: &[StoredEvent],
        retention: time::Duration,
    ) -> impl Future<Output = Result<InsertOutcome, StoreError>> + Send {
        MongoStore::insert_events(self, events, retention)
    }

    fn apply_rollups(
        &self,
        parts: &[&Contributions],
    ) -> impl Future<Output = Result<usize, StoreError>> + Send {
        MongoStore::apply_rollups(self, parts)
    }

    fn rollup_marks(&self) -> impl Future<Output = Result<BTreeMap<i32, i64>, StoreError>> + Send {
        MongoStore::rollup_marks(self)
    }
}

impl StateStore for MongoStore {
    fn load_visitors(
        &self,
        ids: &[String],
    ) -> impl Future<Output = Result<HashMap<String, VisitorState>, StoreError>> + Send {
        MongoStore::load_visitors(self, ids)
    }

    fn save_visitors(
        &self,
        states: &[(&VisitorState, Option<Position>)],
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        MongoStore::save_visitors(self, states)
    }
}
