//! The worker's last checkpoint, kept in MongoDB so that `beacon-admin status` (and anyone
//! reading the database) can tell when events were last stored, whatever process asks.

use mongodb::bson::{self, doc, DateTime};
use serde::{Deserialize, Serialize};

use super::{MongoStore, StoreError, META};

const LAST_CHECKPOINT: &str = "worker_checkpoint";

/// When a worker last saved its states and committed, and how many records that covered; as
/// stored (with `_id` [`LAST_CHECKPOINT`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastCheckpoint {
    pub at: DateTime,
    pub records: i64,
}

impl MongoStore {
    /// Records a checkpoint of `records` records, now.
    pub async fn record_checkpoint(&self, records: usize) -> Result<(), StoreError> {
        let checkpoint = LastCheckpoint {
            at: DateTime::now(),
            records: i64::try_from(records).unwrap_or(i64::MAX),
        };
        let set = bson::to_document(&checkpoint)
            .map_err(|e| StoreError::Corrupt(format!("checkpoint: {e}")))?;
        self.db
            .collection::<LastCheckpoint>(META)
            .update_one(doc! { "_id": LAST_CHECKPOINT }, doc! { "$set": set })
            .upsert(true)
            .await?;
        Ok(())
    }

    /// The last checkpoint any worker recorded, if one did.
    pub async fn last_checkpoint(&self) -> Result<Option<LastCheckpoint>, StoreError> {
        Ok(self
            .db
            .collection::<LastCheckpoint>(META)
            .find_one(doc! { "_id": LAST_CHECKPOINT })
            .await?)
    }
}
