//! API keys: what a program (or a person signing in to the dashboard) presents to read a
//! private site's reports. `beacon-admin key add|list|revoke`.

use mongodb::bson::{doc, DateTime};
use serde::{Deserialize, Serialize};

use super::secrets::{self, NewSecret};
use super::{Sites, SitesError};

/// Every API key starts with this, so a leaked one is recognisable (secret scanners, logs).
pub const KEY_PREFIX: &str = "bk_";

/// One API key of a site; the secret itself is never stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiKey {
    /// A public handle to list and revoke the key by (`k_` + 12 hex digits).
    pub id: String,
    /// BLAKE3 of the whole key text (`bk_...`), hex.
    pub hash: String,
    #[serde(default)]
    pub created_at: Option<DateTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

/// A key just created: the only moment its secret exists outside the caller.
pub type NewKey = NewSecret;

impl Sites {
    /// Creates a key for `site`; its secret is returned once and stored only hashed.
    pub async fn add_key(&self, site: &str, label: Option<&str>) -> Result<NewKey, SitesError> {
        let (key, hash) = secrets::generate(KEY_PREFIX, "k_");
        let stored = ApiKey {
            id: key.id.clone(),
            hash,
            created_at: Some(DateTime::now()),
            label: label.map(str::to_owned),
        };
        self.push(site, "keys", mongodb::bson::to_document(&stored)?)
            .await?;
        Ok(key)
    }

    /// Deletes key `key` of `site`; requests presenting it are refused from then on.
    pub async fn revoke_key(&self, site: &str, key: &str) -> Result<(), SitesError> {
        if self.pull(site, "keys", key).await? {
            return Ok(());
        }
        Err(match self.get(site).await? {
            None => SitesError::NoSuchSite(site.to_owned()),
            Some(_) => SitesError::NoSuchKey {
                site: site.to_owned(),
                key: key.to_owned(),
            },
        })
    }
}
