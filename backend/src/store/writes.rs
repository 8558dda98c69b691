//! Unordered write commands of many statements: one round trip per collection per batch, and a
//! lost race (a duplicate key) told apart from a refusal.

use mongodb::bson::{doc, Document};

use super::bson::bson_int;
use super::{MongoStore, StoreError};

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
