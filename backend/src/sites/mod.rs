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
//! One file per job: the model here, `domains` (hosts of requests and registered domains),
//! [`goals`] (goals and funnels, with `goal_cli` for their commands),
//! `access` (who reads reports), `repository` (the MongoDB collection), [`cache`] (for
//! ingestion), [`keys`], [`links`] and [`cli`].
//!
//! Ingestion reads sites through [`SiteCache`] (no MongoDB round trip per event, and a MongoDB
//! outage never stops ingestion); reports read them per request, so a revoked key stops working
//! at once.

mod access;
pub mod cache;
pub mod cli;
mod domains;
mod goal_cli;
pub mod goals;
pub mod keys;
pub mod links;
mod repository;
mod secrets;

pub use access::{bearer_token, may_read};
pub use cache::SiteCache;
pub use domains::{normalize_domain, request_host};
pub use goals::{Funnel, Goal};
pub use keys::{ApiKey, NewKey, KEY_PREFIX};
pub use links::{share_url, NewLink, SharedLink, LINK_PREFIX};
pub use repository::{SiteChanges, Sites};

use beacon_event::SiteId;
use mongodb::bson::DateTime;
use serde::{Deserialize, Serialize};

use crate::store::StoreError;

/// The MongoDB collection of registered sites.
pub const COLLECTION: &str = "sites";

/// A registered site, as stored (`_id` = the site id).
///
/// Every field but `_id` has a default, so a document written by hand with only some fields
/// still reads: a missing `public` means private, missing `domains` means "from anywhere".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Site {
    #[serde(rename = "_id")]
    pub id: SiteId,
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
    /// Query parameters kept in stored paths (`q`, `page`); every other one is dropped.
    #[serde(default)]
    pub keep_query: Vec<String>,
    /// IANA time zone (`Europe/Berlin`) its days and hours are cut in; none: UTC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    #[serde(default)]
    pub goals: Vec<Goal>,
    #[serde(default)]
    pub funnels: Vec<Funnel>,
    #[serde(default)]
    pub created_at: Option<DateTime>,
}

impl Site {
    /// A site with these domains and nothing else set yet: private, no keys, UTC.
    pub fn new(id: SiteId, domains: Vec<String>) -> Self {
        Self {
            id,
            domains,
            public: false,
            keys: Vec::new(),
            links: Vec::new(),
            keep_query: Vec::new(),
            timezone: None,
            goals: Vec::new(),
            funnels: Vec::new(),
            created_at: None,
        }
    }

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

/// What managing sites can fail with.
#[derive(Debug, thiserror::Error)]
pub enum SitesError {
    #[error("invalid site id: {0}")]
    BadSiteId(String),
    #[error("`{0}` is not a hostname (expected e.g. example.com)")]
    BadDomain(String),
    #[error("`{0}` is not a query parameter name to keep (expected e.g. q,page)")]
    BadQueryParam(String),
    #[error("{0}")]
    BadGoal(String),
    #[error("`{0}` is not an IANA time zone (expected e.g. Europe/Berlin, Asia/Kolkata, UTC)")]
    BadTimezone(String),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn site(domains: &[&str]) -> Site {
        let domains = domains.iter().map(|d| d.to_string()).collect();
        Site::new(SiteId::parse("s").unwrap(), domains)
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
