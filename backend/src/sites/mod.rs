//! Registered sites: who may send a site's events, and who may read its reports.
//!
//! Beacon started without any notion of a site: any `site_id` is accepted from anywhere and its
//! reports are public. That stays the contract for every site that is *not* registered, so
//! existing trackers and dashboards keep working. A site becomes restricted only once an operator
//! registers it (collection `sites`, `_id` = the site id, managed with `beacon-admin`):
//!
//! - `domains`: when non-empty, ingestion accepts the site's events only from pages on one of
//!   these hosts or their subdomains (read from `Origin`, else `Referer`; see [`Site::allows`]).
//!   This stops another website from polluting the site's numbers through a browser; it is not
//!   authentication (a script can send any header), which is what the report keys are for.
//! - `public`: when false (the default for a registered site), every `/stats*` report needs
//!   `Authorization: Bearer <token>` with one of the site's `keys` or `links`.
//! - `keys`: API keys ([`keys`]), and `links`: shared links ([`links`]), both stored only as
//!   BLAKE3 hashes (`secrets.rs`). Either opens the site's reports, and nothing else.
//!
//! Ingestion reads sites through [`SiteCache`] (no MongoDB round trip per event, and a MongoDB
//! outage never stops ingestion); reports read them per request, so a revoked key stops working
//! at once.

pub mod cache;
pub mod cli;
pub mod keys;
pub mod links;
mod secrets;

pub use cache::SiteCache;
pub use keys::{ApiKey, NewKey, KEY_PREFIX};
pub use links::{share_url, NewLink, SharedLink, LINK_PREFIX};

use axum::http::{header, HeaderMap};
use beacon_event::SiteId;
use futures::TryStreamExt;
use mongodb::bson::{doc, DateTime, Document};
use mongodb::error::{ErrorKind, WriteFailure};
use mongodb::Collection;
use serde::{Deserialize, Serialize};

use crate::store::{MongoStore, StoreError};

/// The MongoDB collection of registered sites.
pub const COLLECTION: &str = "sites";

/// A registered site, as stored (`_id` = the site id).
///
/// Every field but `_id` has a default, so a document written by hand with only some fields
/// still reads: a missing `public` means private, missing `domains` means "from anywhere".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Site {
    #[serde(rename = "_id")]
    pub id: String,
    /// Lower-case hostnames; empty: events are accepted from anywhere.
    #[serde(default)]
    pub domains: Vec<String>,
    /// Whether reports are readable without a key.
    #[serde(default)]
    pub public: bool,
    #[serde(default)]
    pub keys: Vec<ApiKey>,
    #[serde(default)]
    pub links: Vec<SharedLink>,
    #[serde(default)]
    pub created_at: Option<DateTime>,
}

impl Site {
    /// Whether an event for this site may come from a page on `host` (the request's `Origin`
    /// or `Referer` host, see [`request_host`]).
    ///
    /// No domains: anything, including no header at all (server-side senders). With domains:
    /// the host must equal one of them or be a subdomain of one (`example.com` admits
    /// `www.example.com` and `shop.example.com`, not `badexample.com`). A request that names
    /// no page at all is refused: a browser always sends `Origin` on a cross-origin POST, so
    /// only a non-browser client omits it, and such a client can send `Origin` explicitly.
    pub fn allows(&self, host: Option<&str>) -> bool {
        if self.domains.is_empty() {
            return true;
        }
        let Some(host) = host else {
            return false;
        };
        self.domains.iter().any(|domain| {
            host == domain
                || host
                    .strip_suffix(domain.as_str())
                    .is_some_and(|rest| rest.ends_with('.'))
        })
    }

    /// Whether `token` (the text after `Bearer `) is one of this site's API keys.
    pub fn accepts_key(&self, token: &str) -> bool {
        secrets::matches_any(self.keys.iter().map(|k| k.hash.as_str()), token)
    }

    /// Whether `token` opens this site's reports: one of its API keys or shared links. (A
    /// shared link grants nothing else: anything more a key may ever do checks
    /// [`Site::accepts_key`].)
    pub fn opens_reports(&self, token: &str) -> bool {
        let links = self.links.iter().map(|l| l.hash.as_str());
        self.accepts_key(token) | secrets::matches_any(links, token)
    }

    /// Whether anyone may read this site's reports, or the holder of `token`.
    pub fn readable_with(&self, token: Option<&str>) -> bool {
        self.public || token.is_some_and(|t| self.opens_reports(t))
    }
}

/// Whether a report request may read every site its query string names: unregistered and
/// public sites are open to all; a registered private site needs `token` (from
/// [`bearer_token`]) to be one of its keys or shared links.
///
/// Every `site_id` in the query is checked, not only the first: the report handler refuses a
/// repeated parameter anyway, but then no difference between this parse and the handler's can
/// ever let a private site through. A query that does not parse is left to the handler (400).
pub async fn may_read(
    sites: &Sites,
    query: Option<&str>,
    token: Option<&str>,
) -> Result<bool, StoreError> {
    let Ok(pairs) = serde_urlencoded::from_str::<Vec<(String, String)>>(query.unwrap_or("")) else {
        return Ok(true);
    };
    for (name, id) in pairs {
        if name != beacon_event::fields::names::SITE_ID {
            continue;
        }
        if let Some(site) = sites.get(&id).await? {
            if !site.readable_with(token) {
                return Ok(false);
            }
        }
    }
    Ok(true)
}

/// The token of an `Authorization: Bearer <token>` header (scheme in any case).
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The host of the page that sent a request: `Origin`, or when it is absent or `null` (sandboxed
/// frames, some privacy settings), `Referer`. Lower case, without port, userinfo or trailing dot.
pub fn request_host(headers: &HeaderMap) -> Option<String> {
    [header::ORIGIN, header::REFERER].iter().find_map(|name| {
        let value = headers.get(name)?.to_str().ok()?;
        url_host(value)
    })
}

/// The host of an absolute URL (`scheme://[userinfo@]host[:port][/...]`), normalized.
fn url_host(url: &str) -> Option<String> {
    let rest = url.trim().split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if let Some(v6) = host_port.strip_prefix('[') {
        // An IPv6 literal keeps its brackets' content; its colons are not a port.
        v6.split(']').next()?
    } else {
        host_port.split(':').next()?
    };
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    (!host.is_empty() && host != "null").then_some(host)
}

/// Turns what an operator typed (`Example.COM`, `https://www.example.com:8443/`, `*.example.com`)
/// into the stored form (`example.com`, `www.example.com`): lower case, no scheme, port, path or
/// wildcard (subdomains are always included). Refuses anything that is not a hostname.
pub fn normalize_domain(input: &str) -> Result<String, SitesError> {
    let trimmed = input.trim();
    let host = if trimmed.contains("://") {
        url_host(trimmed)
    } else {
        url_host(&format!("http://{trimmed}"))
    };
    let host = host.map(|h| h.strip_prefix("*.").map(str::to_owned).unwrap_or(h));
    let valid = host.as_deref().is_some_and(|h| {
        h.len() <= 253
            && h.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            })
    });
    match host {
        Some(h) if valid => Ok(h),
        _ => Err(SitesError::BadDomain(input.to_owned())),
    }
}

/// What managing sites can fail with.
#[derive(Debug, thiserror::Error)]
pub enum SitesError {
    #[error("invalid site id: {0}")]
    BadSiteId(String),
    #[error("`{0}` is not a hostname (expected e.g. example.com)")]
    BadDomain(String),
    #[error("site `{0}` is already registered")]
    AlreadyExists(String),
    #[error("site `{0}` is not registered")]
    NoSuchSite(String),
    #[error("site `{site}` has no key `{key}`")]
    NoSuchKey { site: String, key: String },
    #[error("site `{site}` has no shared link `{link}` (give its id, or its token as `link list` shows it)")]
    NoSuchLink { site: String, link: String },
    #[error("`{0}` names more than one shared link: give the link's id")]
    AmbiguousLink(String),
    #[error("cannot encode the document: {0}")]
    Encode(#[from] mongodb::bson::ser::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<mongodb::error::Error> for SitesError {
    fn from(e: mongodb::error::Error) -> Self {
        Self::Store(StoreError::Mongo(e))
    }
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

    /// The registered sites among `ids` (one query).
    pub async fn get_many(&self, ids: &[String]) -> Result<Vec<Site>, StoreError> {
        let cursor = self.collection.find(doc! { "_id": { "$in": ids } }).await?;
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

    /// Registers a site. `domains` are normalized ([`normalize_domain`]).
    pub async fn add(
        &self,
        id: &str,
        domains: &[String],
        public: bool,
    ) -> Result<Site, SitesError> {
        // Only an id ingestion would accept can be registered; anything else could never match.
        SiteId::parse(id).map_err(|e| SitesError::BadSiteId(e.message))?;
        let site = Site {
            id: id.to_owned(),
            domains: normalize_all(domains)?,
            public,
            keys: Vec::new(),
            links: Vec::new(),
            created_at: Some(DateTime::now()),
        };
        match self.collection.insert_one(&site).await {
            Ok(_) => Ok(site),
            Err(e) if is_duplicate(&e) => Err(SitesError::AlreadyExists(id.to_owned())),
            Err(e) => Err(e.into()),
        }
    }

    /// Changes what is given: the public flag, and/or the whole domain list (empty: from
    /// anywhere). Returns the site as it is now.
    pub async fn update(
        &self,
        id: &str,
        public: Option<bool>,
        domains: Option<&[String]>,
    ) -> Result<Site, SitesError> {
        let mut set = doc! {};
        if let Some(public) = public {
            set.insert("public", public);
        }
        if let Some(domains) = domains {
            set.insert("domains", normalize_all(domains)?);
        }
        if !set.is_empty() {
            let result = self
                .collection
                .update_one(doc! { "_id": id }, doc! { "$set": set })
                .await?;
            if result.matched_count == 0 {
                return Err(SitesError::NoSuchSite(id.to_owned()));
            }
        }
        self.get(id)
            .await?
            .ok_or_else(|| SitesError::NoSuchSite(id.to_owned()))
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
    async fn push(&self, site: &str, field: &str, entry: Document) -> Result<(), SitesError> {
        let result = self
            .collection
            .update_one(doc! { "_id": site }, doc! { "$push": { field: entry } })
            .await?;
        if result.matched_count == 0 {
            return Err(SitesError::NoSuchSite(site.to_owned()));
        }
        Ok(())
    }

    /// Removes the entry with `id` from the array `field` of `site`; false if there was none.
    async fn pull(&self, site: &str, field: &str, id: &str) -> Result<bool, SitesError> {
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

fn normalize_all(domains: &[String]) -> Result<Vec<String>, SitesError> {
    let mut out: Vec<String> = Vec::with_capacity(domains.len());
    for d in domains {
        let d = normalize_domain(d)?;
        if !out.contains(&d) {
            out.push(d);
        }
    }
    Ok(out)
}

/// Whether an insert failed only because `_id` exists (E11000).
fn is_duplicate(e: &mongodb::error::Error) -> bool {
    matches!(e.kind.as_ref(), ErrorKind::Write(WriteFailure::WriteError(w)) if w.code == 11000)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(domains: &[&str]) -> Site {
        Site {
            id: "s".into(),
            domains: domains.iter().map(|d| d.to_string()).collect(),
            public: false,
            keys: Vec::new(),
            links: Vec::new(),
            created_at: None,
        }
    }

    #[test]
    fn domains_admit_themselves_and_their_subdomains_only() {
        let s = site(&["example.com"]);
        assert!(s.allows(Some("example.com")));
        assert!(s.allows(Some("www.example.com")));
        assert!(s.allows(Some("a.b.example.com")));
        assert!(!s.allows(Some("badexample.com")));
        assert!(!s.allows(Some("example.com.evil.net")));
        assert!(!s.allows(None));
        assert!(site(&[]).allows(None));
    }

    #[test]
    fn request_hosts_are_normalized() {
        let mut h = HeaderMap::new();
        assert_eq!(request_host(&h), None);
        h.insert(
            header::REFERER,
            "https://Shop.Example.com./p?q=1".parse().unwrap(),
        );
        assert_eq!(request_host(&h).as_deref(), Some("shop.example.com"));
        h.insert(header::ORIGIN, "null".parse().unwrap());
        assert_eq!(request_host(&h).as_deref(), Some("shop.example.com"));
        h.insert(
            header::ORIGIN,
            "http://u:p@EXAMPLE.com:8080".parse().unwrap(),
        );
        assert_eq!(request_host(&h).as_deref(), Some("example.com"));
        h.insert(header::ORIGIN, "http://[::1]:3000".parse().unwrap());
        assert_eq!(request_host(&h).as_deref(), Some("::1"));
    }

    #[test]
    fn operator_domains_are_normalized_or_refused() {
        for (input, want) in [
            ("Example.COM", "example.com"),
            ("https://www.example.com:8443/path", "www.example.com"),
            ("*.example.com", "example.com"),
            ("localhost", "localhost"),
        ] {
            assert_eq!(normalize_domain(input).unwrap(), want);
        }
        for bad in ["", "exa mple.com", "-x.com", "a..b", "http://"] {
            assert!(normalize_domain(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn keys_and_shared_links_open_reports_and_only_keys_are_keys() {
        let (key, key_hash) = secrets::generate(KEY_PREFIX, "k_");
        let (link, link_hash) = secrets::generate(LINK_PREFIX, "l_");
        let mut s = site(&[]);
        s.keys.push(ApiKey {
            id: key.id,
            hash: key_hash,
            created_at: None,
            label: None,
        });
        s.links.push(SharedLink {
            id: link.id,
            hash: link_hash,
            shown: link.secret[3..11].to_owned(),
            created_at: None,
            label: None,
        });
        assert!(s.accepts_key(&key.secret) && !s.accepts_key(&link.secret));
        assert!(s.opens_reports(&key.secret) && s.opens_reports(&link.secret));
        assert!(!s.readable_with(None) && !s.readable_with(Some("bs_0")));
        assert!(s.readable_with(Some(&link.secret)));
        s.public = true;
        assert!(s.readable_with(None));
    }
}
