//! The worker's last checkpoint, kept in MongoDB so that `beacon-admin status` (and anyone
//! reading the database) can tell when events were last stored, whatever process asks.

use mongodb::bson::{doc, DateTime, Document};

use super::{MongoStore, StoreError, META};

const LAST_CHECKPOINT: &str = "worker_checkpoint";

/// When a worker last saved its states and committed, and how many records that covered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LastCheckpoint {
    pub at: DateTime,
    pub records: i64,
}

impl MongoStore {
    /// Records a checkpoint of `records` records, now.
    pub async fn record_checkpoint(&self, records: usize) -> Result<(), StoreError> {
        let records = i64::try_from(records).unwrap_or(i64::MAX);
        self.db
            .collection::<Document>(META)
            .update_one(
                doc! { "_id": LAST_CHECKPOINT },
                doc! { "$set": { "at": DateTime::now(), "records": records } },
            )
            .upsert(true)
            .await?;
        Ok(())
    }

    /// The last checkpoint any worker recorded, if one did.
    pub async fn last_checkpoint(&self) -> Result<Option<LastCheckpoint>, StoreError> {
        let found = self
            .db
            .collection::<Document>(META)
            .find_one(doc! { "_id": LAST_CHECKPOINT })
            .await?;
        Ok(found.and_then(|d| {
            Some(LastCheckpoint {
                at: d.get_datetime("at").ok().copied()?,
                records: d.get("records").and_then(super::bson::bson_int)?,
            })
        }))
    }
}
