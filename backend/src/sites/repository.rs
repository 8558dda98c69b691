//! The `sites` collection in MongoDB, typed as [`Site`].

use beacon_event::SiteId;
use futures::TryStreamExt;
use mongodb::bson::{doc, DateTime, Document};
use mongodb::error::{ErrorKind, WriteFailure};
use mongodb::Collection;

use super::domains::normalize_all;
use super::{secrets, Funnel, Goal, Site, SitesError, COLLECTION};
use crate::store::{MongoStore, StoreError};

/// A registered site's goals and funnels.
#[derive(Debug, serde::Deserialize)]
pub struct GoalsOf {
    #[serde(rename = "_id")]
    pub id: SiteId,
    #[serde(default)]
    pub goals: Vec<Goal>,
    #[serde(default)]
    pub funnels: Vec<Funnel>,
}

/// The `sites` collection: reads for the services, and every change `beacon-admin` makes.
#[derive(Clone)]
pub struct Sites {
    collection: Collection<Site>,
}

impl Sites {
    pub fn new(store: &MongoStore) -> Self {
        Self {
            collection: store.database().collection(COLLECTION),
        }
    }

    /// The site registered as `id`, if any.
    pub async fn get(&self, id: &str) -> Result<Option<Site>, StoreError> {
        Ok(self.collection.find_one(doc! { "_id": id }).await?)
    }

    /// The site registered as `id`, or [`SitesError::NoSuchSite`].
    pub async fn registered(&self, id: &str) -> Result<Site, SitesError> {
        self.get(id)
            .await?
            .ok_or_else(|| SitesError::NoSuchSite(id.to_owned()))
    }

    /// The time zone `id`'s days are counted in: its registered one, else UTC.
    pub async fn zone_of(&self, id: &str) -> Result<crate::rollup::Zone, SitesError> {
        match self.get(id).await?.and_then(|s| s.timezone) {
            Some(name) => crate::rollup::Zone::named(&name).ok_or(SitesError::BadTimezone(name)),
            None => Ok(crate::rollup::Zone::utc()),
        }
    }

    /// The registered sites among `ids` (one query).
    pub async fn get_many(&self, ids: &[String]) -> Result<Vec<Site>, StoreError> {
        let cursor = self.collection.find(doc! { "_id": { "$in": ids } }).await?;
        Ok(cursor.try_collect().await?)
    }

    /// The goals and funnels of the registered sites among `ids` (one query, reading only
    /// those).
    pub async fn goals_of(&self, ids: &[&str]) -> Result<Vec<GoalsOf>, StoreError> {
        let cursor = self
            .collection
            .clone_with_type::<GoalsOf>()
            .find(doc! { "_id": { "$in": ids } })
            .projection(doc! { "goals": 1, "funnels": 1 })
            .await?;
        Ok(cursor.try_collect().await?)
    }

    /// The registered sites `token` may read (see [`Site::readable_with`]), by id: every public
    /// one, and the private ones it is a key or shared link of. The query narrows by hash; the
    /// constant-time check decides.
    pub async fn readable_by(&self, token: Option<&str>) -> Result<Vec<Site>, StoreError> {
        let mut anyone = vec![doc! { "public": true }];
        if let Some(token) = token {
            let hash = secrets::hash(token);
            anyone.push(doc! { "keys.hash": &hash });
            anyone.push(doc! { "links.hash": &hash });
        }
        let cursor = self
            .collection
            .find(doc! { "$or": anyone })
            .sort(doc! { "_id": 1 })
            .await?;
        let sites: Vec<Site> = cursor.try_collect().await?;
        Ok(sites
            .into_iter()
            .filter(|s| s.readable_with(token))
            .collect())
    }

    /// Every registered site, by id.
    pub async fn list(&self) -> Result<Vec<Site>, StoreError> {
        let cursor = self
            .collection
            .find(doc! {})
            .sort(doc! { "_id": 1 })
            .await?;
        Ok(cursor.try_collect().await?)
    }

    /// Registers a site. `domains` are normalized (`normalize_domain`).
    pub async fn add(
        &self,
        id: &str,
        domains: &[String],
        public: bool,
    ) -> Result<Site, SitesError> {
        // Only an id ingestion would accept can be registered; anything else could never match.
        let site_id = SiteId::parse(id).map_err(|e| SitesError::BadSiteId(e.message))?;
        let site = Site {
            public,
            created_at: Some(DateTime::now()),
            ..Site::new(site_id, normalize_all(domains)?)
        };
        match self.collection.insert_one(&site).await {
            Ok(_) => Ok(site),
            Err(e) if is_duplicate(&e) => Err(SitesError::AlreadyExists(id.to_owned())),
            Err(e) => Err(e.into()),
        }
    }

    /// Changes what is given (see [`SiteChanges`]). Returns the site as it is now.
    pub async fn update(&self, id: &str, changes: SiteChanges) -> Result<Site, SitesError> {
        let mut set = doc! {};
        if let Some(public) = changes.public {
            set.insert("public", public);
        }
        if let Some(domains) = changes.domains {
            set.insert("domains", normalize_all(&domains)?);
        }
        if let Some(names) = changes.keep_query {
            set.insert("keep_query", query_names(names)?);
        }
        let mut unset = doc! {};
        match changes.timezone.as_deref() {
            None => {}
            Some("" | "UTC") => {
                unset.insert("timezone", "");
            }
            Some(name) => {
                crate::rollup::Zone::named(name)
                    .ok_or_else(|| SitesError::BadTimezone(name.to_owned()))?;
                set.insert("timezone", name);
            }
        }
        if !set.is_empty() || !unset.is_empty() {
            let mut update = doc! {};
            if !set.is_empty() {
                update.insert("$set", set);
            }
            if !unset.is_empty() {
                update.insert("$unset", unset);
            }
            let result = self
                .collection
                .update_one(doc! { "_id": id }, update)
                .await?;
            if result.matched_count == 0 {
                return Err(SitesError::NoSuchSite(id.to_owned()));
            }
        }
        self.registered(id).await
    }

    /// Unregisters a site: it is then open again, like any unknown site. Its events stay.
    pub async fn remove(&self, id: &str) -> Result<(), SitesError> {
        let result = self.collection.delete_one(doc! { "_id": id }).await?;
        if result.deleted_count == 0 {
            return Err(SitesError::NoSuchSite(id.to_owned()));
        }
        Ok(())
    }

    /// Appends `entry` to the array `field` (`keys`, `links`) of `site`.
    pub(super) async fn push(
        &self,
        site: &str,
        field: &str,
        entry: Document,
    ) -> Result<(), SitesError> {
        let result = self
            .collection
            .update_one(doc! { "_id": site }, doc! { "$push": { field: entry } })
            .await?;
        if result.matched_count == 0 {
            return Err(SitesError::NoSuchSite(site.to_owned()));
        }
        Ok(())
    }

    /// Removes the entries of the array `field` of `site` that match `entry`; false if none
    /// did.
    pub(super) async fn pull_where(
        &self,
        site: &str,
        field: &str,
        entry: Document,
    ) -> Result<bool, SitesError> {
        let result = self
            .collection
            .update_one(doc! { "_id": site }, doc! { "$pull": { field: entry } })
            .await?;
        if result.matched_count == 0 {
            return Err(SitesError::NoSuchSite(site.to_owned()));
        }
        Ok(result.modified_count > 0)
    }

    /// Removes the entry with `id` from the array `field` of `site`; false if there was none.
    pub(super) async fn pull(&self, site: &str, field: &str, id: &str) -> Result<bool, SitesError> {
        let result = self
            .collection
            .update_one(
                doc! { "_id": site, format!("{field}.id"): id },
                doc! { "$pull": { field: { "id": id } } },
            )
            .await?;
        Ok(result.modified_count > 0)
    }
}

/// Whether an insert failed only because `_id` exists (E11000).
/// What `beacon-admin site set` changes; `None` leaves a setting as it is.
#[derive(Debug, Default)]
pub struct SiteChanges {
    pub public: Option<bool>,
    /// The whole domain list (empty: events from anywhere).
    pub domains: Option<Vec<String>>,
    /// The whole list of query parameters kept in paths (empty: none).
    pub keep_query: Option<Vec<String>>,
    /// An IANA time zone; "" or `UTC`: back to UTC.
    pub timezone: Option<String>,
}

impl SiteChanges {
    pub fn is_empty(&self) -> bool {
        self.public.is_none()
            && self.domains.is_none()
            && self.keep_query.is_none()
            && self.timezone.is_none()
    }
}

/// Most query parameters a site keeps.
const MAX_KEPT: usize = 20;

/// Query parameter names as a site keeps them: non-empty, at most 64 characters, nothing a
/// query string uses as a separator, each once, at most [`MAX_KEPT`].
fn query_names(names: Vec<String>) -> Result<Vec<String>, SitesError> {
    let mut kept: Vec<String> = Vec::new();
    for name in names.iter().flat_map(|n| n.split(',')).map(str::trim) {
        let separator = |c: char| matches!(c, '&' | '=' | '?' | '#') || c.is_whitespace();
        if name.is_empty() || name.chars().count() > 64 || name.contains(separator) {
            return Err(SitesError::BadQueryParam(name.to_owned()));
        }
        if !kept.iter().any(|k| k == name) {
            kept.push(name.to_owned());
        }
    }
    if kept.len() > MAX_KEPT {
        return Err(SitesError::BadQueryParam(format!(
            "{} names (at most {MAX_KEPT})",
            kept.len()
        )));
    }
    Ok(kept)
}

fn is_duplicate(e: &mongodb::error::Error) -> bool {
    matches!(e.kind.as_ref(), ErrorKind::Write(WriteFailure::WriteError(w)) if w.code == 11000)
}
