//! Unordered write commands of many statements: one round trip per collection per batch, and a
//! lost race (a duplicate key) told apart from a refusal.

use mongodb::bson::{self, doc, Document};
use serde::Deserialize;

use super::{MongoStore, StoreError};

/// What a write command's reply says of the statements that failed.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct WriteReply {
    write_errors: Vec<WriteError>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WriteError {
    code: i64,
    errmsg: String,
}

impl MongoStore {
    /// Runs unordered `update` commands; any per-statement failure fails the batch.
    pub(super) async fn update_all(
        &self,
        collection: &str,
        statements: Vec<Document>,
    ) -> Result<(), StoreError> {
        self.write_all(collection, "update", "updates", statements)
            .await
    }

    /// Runs the unordered write command `command` (its list of statements or documents named
    /// `field`); any per-statement failure fails the batch with [`StoreError::Conflict`].
    pub(super) async fn write_all(
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
            let errors = bson::from_document::<WriteReply>(reply)
                .unwrap_or_default()
                .write_errors;
            if !errors.is_empty() {
                metrics::counter!(crate::metrics::MONGO_WRITE_ERRORS).increment(1);
                return Err(failure(collection, &errors));
            }
        }
        Ok(())
    }
}

/// A lost race shows as a duplicate key (the conditional upsert or the insert found the
/// document another writer saved); anything else is not a race and must not send the worker
/// into re-applying its window.
fn failure(collection: &str, errors: &[WriteError]) -> StoreError {
    let refused = errors
        .iter()
        .find(|e| e.code != i64::from(super::DUPLICATE_KEY));
    match refused {
        None => StoreError::Conflict {
            collection: collection.to_owned(),
            failed: errors.len(),
        },
        Some(e) => StoreError::Rejected {
            collection: collection.to_owned(),
            failed: errors.len(),
            reason: format!("code {}: {}", e.code, e.errmsg),
        },
    }
}
