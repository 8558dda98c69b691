//! The daily visitor salts (see `ingest::visitor`): one random salt per UTC day, shared by every
//! ingestion instance, deleted by a TTL index an hour after its day ends.

use beacon_event::Day;
use mongodb::bson::spec::BinarySubtype;
use mongodb::bson::{doc, Binary, DateTime};
use serde::{Deserialize, Serialize};

use super::bson::date;
use super::{MongoStore, StoreError};

pub(super) const SALTS: &str = "salts";

/// One day's salt as stored.
#[derive(Debug, Serialize, Deserialize)]
struct SaltDocument {
    /// The day, `YYYY-MM-DD`.
    #[serde(rename = "_id")]
    day: String,
    salt: Binary,
    expire_at: DateTime,
}

impl MongoStore {
    /// The salt of `day`: the stored one, or `fresh` if this call is the first to store one.
    pub async fn daily_salt(&self, day: Day, fresh: [u8; 32]) -> Result<[u8; 32], StoreError> {
        let salts = self.db.collection::<SaltDocument>(SALTS);
        // The collection and its index exist before this process's first insert. SecantusDB
        // wedges when one process's insert creates a collection while another's createIndexes
        // creates the same one (docs/reliability.md, "Stand-ins"); the worker creates this
        // index too, and a day's first salt is often stored while it starts.
        salts.create_index(super::expiry_index()).await?;
        let id = day.to_string();
        let new = SaltDocument {
            day: id.clone(),
            salt: Binary {
                subtype: BinarySubtype::Generic,
                bytes: fresh.to_vec(),
            },
            expire_at: date(day.end() + time::Duration::HOUR),
        };
        match salts.insert_one(new).await {
            Ok(_) => return Ok(fresh),
            Err(e) if super::is_duplicate(&e) => {}
            Err(e) => return Err(e.into()),
        }
        // Another instance stored the day's salt first: use that one.
        let stored = salts
            .find_one(doc! { "_id": &id })
            .await?
            .and_then(|d| <[u8; 32]>::try_from(d.salt.bytes.as_slice()).ok());
        stored
            .ok_or_else(|| StoreError::Corrupt(format!("the salt of {id} is missing or malformed")))
    }
}
