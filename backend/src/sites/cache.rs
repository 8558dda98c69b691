//! Ingestion's view of the registered sites: an in-memory map refreshed from MongoDB.
//!
//! Ingestion must stay as available as Kafka, whatever MongoDB does, and must not add a database
//! round trip per event. So:
//!
//! - An answer (registered or not) is kept for [`TTL`]; a change made with `beacon-admin`
//!   reaches ingestion within that time.
//! - An expired entry is still answered at once, and refreshed in the background (one refresh
//!   per entry at a time). Only a site never seen before waits for MongoDB, at most
//!   [`LOOKUP_TIMEOUT`], and all of a batch's unknown sites are fetched in one query.
//! - When MongoDB does not answer, the last known value stays (a registered site keeps its
//!   restrictions), and a site never seen is treated as unregistered, logged, and asked again
//!   after [`RETRY_AFTER_FAILURE`]. Failing open here is deliberate: refusing every event of
//!   every site during a database outage would lose data the pipeline exists to keep.
//! - Site ids come from anyone on the internet, so the map is bounded ([`MAX_ENTRIES`]) and
//!   ids that ingestion would refuse anyway are never looked up.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use beacon_event::SiteId;
use futures::future::BoxFuture;

use super::{Site, Sites};
use crate::store::StoreError;

/// Where the cache learns registrations: [`Sites`] (MongoDB) in the services; unit tests use
/// one held in memory.
pub trait SiteSource: Send + Sync + 'static {
    /// The registered sites among `ids`.
    fn get_many<'a>(&'a self, ids: &'a [String]) -> BoxFuture<'a, Result<Vec<Site>, StoreError>>;
}

impl SiteSource for Sites {
    fn get_many<'a>(&'a self, ids: &'a [String]) -> BoxFuture<'a, Result<Vec<Site>, StoreError>> {
        Box::pin(Sites::get_many(self, ids))
    }
}

/// How long an answer is used before it is refreshed.
pub const TTL: Duration = Duration::from_secs(30);
/// Longest a request waits for MongoDB to learn about a site it has never seen.
pub const LOOKUP_TIMEOUT: Duration = Duration::from_secs(1);
/// After a failed refresh, how long the last known value is used before trying again.
pub const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(5);
/// Most sites remembered; beyond it, expired entries are dropped, then everything.
pub const MAX_ENTRIES: usize = 10_000;

/// Sites by id; `None` when there is no registry (everything is unregistered).
#[derive(Clone)]
pub struct SiteCache {
    inner: Option<Arc<Inner>>,
}

struct Inner {
    sites: Box<dyn SiteSource>,
    ttl: Duration,
    entries: RwLock<HashMap<String, Entry>>,
}

#[derive(Clone)]
struct Entry {
    /// `None`: not registered.
    site: Option<Arc<Site>>,
    expires: Instant,
    refreshing: bool,
}

/// What a batch's sites resolved to: a registered site, or absent when unregistered.
pub type Resolved = HashMap<String, Arc<Site>>;

impl SiteCache {
    pub fn new(sites: impl SiteSource, ttl: Duration) -> Self {
        Self {
            inner: Some(Arc::new(Inner {
                sites: Box::new(sites),
                ttl,
                entries: RwLock::new(HashMap::new()),
            })),
        }
    }

    /// A cache that knows no sites: every site behaves as unregistered (unit tests).
    pub fn disabled() -> Self {
        Self { inner: None }
    }

    /// The registered sites among `ids` (unregistered ones are absent from the answer).
    pub async fn resolve<'a>(&self, ids: impl IntoIterator<Item = &'a str>) -> Resolved {
        let Some(inner) = &self.inner else {
            return Resolved::new();
        };
        let now = Instant::now();
        let mut found = Resolved::new();
        let mut unknown: Vec<String> = Vec::new();
        let mut stale: Vec<String> = Vec::new();
        {
            let entries = inner.entries.read().unwrap_or_else(|p| p.into_inner());
            for id in ids {
                if found.contains_key(id) || unknown.iter().any(|u| u == id) {
                    continue;
                }
                match entries.get(id) {
                    Some(entry) => {
                        if entry.expires <= now
                            && !entry.refreshing
                            && !stale.iter().any(|s| s == id)
                        {
                            stale.push(id.to_owned());
                        }
                        if let Some(site) = &entry.site {
                            found.insert(id.to_owned(), site.clone());
                        }
                    }
                    // An id ingestion refuses is never registered; don't spend a query on it.
                    None if SiteId::parse(id).is_ok() => unknown.push(id.to_owned()),
                    None => {}
                }
            }
        }
        if !stale.is_empty() {
            inner.mark_refreshing(&stale);
            let inner = inner.clone();
            tokio::spawn(async move { inner.refresh(&stale).await });
        }
        if !unknown.is_empty() {
            for (id, site) in inner.refresh(&unknown).await {
                if let Some(site) = site {
                    found.insert(id, site);
                }
            }
        }
        found
    }
}

impl Inner {
    fn mark_refreshing(&self, ids: &[String]) {
        let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        for id in ids {
            if let Some(entry) = entries.get_mut(id) {
                entry.refreshing = true;
            }
        }
    }

    /// Asks MongoDB about `ids` and stores the answers; on failure keeps what was known.
    /// Returns what each id now resolves to.
    async fn refresh(&self, ids: &[String]) -> Vec<(String, Option<Arc<Site>>)> {
        let answer = tokio::time::timeout(LOOKUP_TIMEOUT, self.sites.get_many(ids)).await;
        let now = Instant::now();
        let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        let fresh: Option<HashMap<String, Arc<Site>>> = match answer {
            Ok(Ok(sites)) => Some(
                sites
                    .into_iter()
                    .map(|s| (s.id.to_string(), Arc::new(s)))
                    .collect(),
            ),
            Ok(Err(e)) => {
                tracing::warn!(error = %e, sites = ids.len(), "site lookup failed; using what is known");
                None
            }
            Err(_) => {
                tracing::warn!(
                    sites = ids.len(),
                    "site lookup timed out; using what is known"
                );
                None
            }
        };
        if entries.len() + ids.len() > MAX_ENTRIES {
            entries.retain(|_, e| e.expires > now);
            if entries.len() + ids.len() > MAX_ENTRIES {
                entries.clear();
            }
        }
        ids.iter()
            .map(|id| {
                let entry = match &fresh {
                    Some(fresh) => Entry {
                        site: fresh.get(id).cloned(),
                        expires: now + self.ttl,
                        refreshing: false,
                    },
                    None => Entry {
                        site: entries.get(id).and_then(|e| e.site.clone()),
                        expires: now + RETRY_AFTER_FAILURE,
                        refreshing: false,
                    },
                };
                let site = entry.site.clone();
                entries.insert(id.clone(), entry);
                (id.clone(), site)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::store::MongoStore;

    /// A cache over a MongoDB that is not there (nothing listens on port 9).
    async fn unreachable() -> SiteCache {
        let store = MongoStore::connect("mongodb://127.0.0.1:9/none")
            .await
            .expect("the URL parses; the driver connects lazily");
        SiteCache::new(Sites::new(&store), TTL)
    }

    fn site(id: &str) -> Site {
        Site::new(SiteId::parse(id).unwrap(), vec!["example.com".to_owned()])
    }

    /// Registrations held in memory, counting the lookups.
    #[derive(Default)]
    struct Registry {
        sites: Vec<Site>,
        lookups: AtomicUsize,
    }

    impl SiteSource for Arc<Registry> {
        fn get_many<'a>(
            &'a self,
            ids: &'a [String],
        ) -> BoxFuture<'a, Result<Vec<Site>, StoreError>> {
            self.lookups.fetch_add(1, Ordering::SeqCst);
            let found = self
                .sites
                .iter()
                .filter(|s| ids.iter().any(|id| id == s.id.as_str()))
                .cloned()
                .collect();
            Box::pin(std::future::ready(Ok(found)))
        }
    }

    #[tokio::test]
    async fn a_batch_s_sites_are_looked_up_once_then_answered_from_memory() {
        let registry = Arc::new(Registry {
            sites: vec![site("shop")],
            ..Registry::default()
        });
        let cache = SiteCache::new(registry.clone(), TTL);
        let first = cache.resolve(["shop", "blog", "shop"]).await;
        assert_eq!(first.keys().collect::<Vec<_>>(), ["shop"]);
        // Registered or not, both answers are remembered: no second lookup within the TTL.
        let again = cache.resolve(["blog", "shop"]).await;
        assert!(again.contains_key("shop") && !again.contains_key("blog"));
        assert_eq!(registry.lookups.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn an_outage_treats_new_sites_as_unregistered_within_the_timeout() {
        let cache = unreachable().await;
        let started = Instant::now();
        assert!(cache
            .resolve(["new-site", "not a valid id!"])
            .await
            .is_empty());
        assert!(started.elapsed() < LOOKUP_TIMEOUT + Duration::from_millis(500));
        // Remembered as unregistered for a while: the next request does not wait again.
        let started = Instant::now();
        assert!(cache.resolve(["new-site"]).await.is_empty());
        assert!(started.elapsed() < Duration::from_millis(100));
    }

    #[tokio::test]
    async fn an_outage_keeps_the_last_known_site() {
        let cache = unreachable().await;
        let inner = cache.inner.clone().unwrap();
        inner.entries.write().unwrap().insert(
            "shop".to_owned(),
            Entry {
                site: Some(Arc::new(site("shop"))),
                expires: Instant::now(),
                refreshing: false,
            },
        );
        // Expired: answered at once from memory while a refresh runs in the background...
        let started = Instant::now();
        assert!(cache.resolve(["shop"]).await.contains_key("shop"));
        assert!(started.elapsed() < Duration::from_millis(100));
        // ...which fails and keeps the site, restrictions included.
        tokio::time::sleep(LOOKUP_TIMEOUT + Duration::from_millis(300)).await;
        let entry = inner.entries.read().unwrap().get("shop").cloned().unwrap();
        assert!(!entry.refreshing && entry.expires > Instant::now());
        assert_eq!(entry.site.as_deref(), Some(&site("shop")));
    }
}
