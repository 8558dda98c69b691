//! Per-event enrichment for Beacon's ingestion path.
//!
//! Why a crate of its own: everything a report groups by, other than what the tracker sends,
//! is derived here, once per event, from request data that is then thrown away (the IP
//! address and the raw User-Agent are never stored). Keeping it pure (no I/O after start-up,
//! no global state, no panics on any input) makes it cheap to call on the hot path and easy to
//! test exhaustively.
//!
//! One job per module:
//! - [`ua`]: browser, version, OS and device class (uap-core rules via `ua-parser`);
//! - [`bots`]: crawlers, headless browsers and HTTP libraries (`isbot` plus uap-core);
//! - [`geo`]: country from a `.mmdb` database (`maxminddb`);
//! - [`referrer`]: referrer domain and named source ("Google", "Hacker News");
//! - [`utm`]: campaign tags from the page's query string;
//! - `mmdb_writer` (feature `test-support`, for tests only): builds small `.mmdb` files.
//!
//! ```
//! use beacon_enrich::{Enricher, Input};
//!
//! let enricher = Enricher::new(None)?; // once, at start-up; share it (it is Send + Sync)
//! let e = enricher.enrich(&Input {
//!     user_agent: Some("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"),
//!     ip: None,
//!     path: "/pricing?utm_source=newsletter&utm_campaign=spring%20sale",
//!     referrer: Some("https://www.google.com/"),
//!     site_host: Some("example.com"),
//! });
//! assert_eq!((e.browser.as_str(), e.os.as_str(), e.device.as_str()), ("Safari", "iOS", "mobile"));
//! assert_eq!(e.source, "newsletter"); // utm_source wins over the referrer
//! assert_eq!(e.referrer_domain, "google.com");
//! assert_eq!(e.utm_campaign, "spring sale");
//! assert_eq!(e.country, "unknown"); // no database given
//! # Ok::<(), beacon_enrich::EnrichError>(())
//! ```

#![forbid(unsafe_code)]

use std::net::IpAddr;
use std::path::{Path, PathBuf};

pub mod bots;
pub mod channel;
pub mod geo;
#[cfg(feature = "test-support")]
pub mod mmdb_writer;
pub mod referrer;
pub mod sources;
pub mod spam;
pub mod ua;
pub mod utm;

pub use beacon_event::event::{Context, DIRECT, UNKNOWN};

/// Why an [`Enricher`] could not be built. Only happens at start-up.
#[derive(Debug, thiserror::Error)]
pub enum EnrichError {
    /// The GeoIP database file could not be read.
    #[error("cannot read GeoIP database {path}: {source}")]
    GeoIo {
        /// The path given.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not a valid MaxMind DB.
    #[error("invalid GeoIP database {path}: {reason}")]
    GeoDb {
        /// The path given (`<in memory>` for [`Enricher::from_geoip_bytes`]).
        path: PathBuf,
        /// What the reader objected to.
        reason: String,
    },
    /// The vendored User-Agent rules did not load (a build problem, never an input problem).
    #[error("user-agent rules: {0}")]
    UaRules(String),
}

/// What is known about one request, borrowed from it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Input<'a> {
    /// The User-Agent header; `None` or empty for server-side integrations.
    pub user_agent: Option<&'a str>,
    /// The client address (after trusted-proxy handling, which is the caller's job).
    pub ip: Option<IpAddr>,
    /// The page path, with its optional `?query` (a full URL works too).
    pub path: &'a str,
    /// The page's referrer, a full URL as `document.referrer` gives it.
    pub referrer: Option<&'a str>,
    /// The host of the tracked page when known ("example.com", a port is ignored), so that
    /// self-referrals count as Direct.
    pub site_host: Option<&'a str>,
}

/// The enrichment rules, compiled once at start-up (about 0.1–0.5 s, mostly the User-Agent
/// rules) and then shared: `Send + Sync`, read-only, put it in an `Arc` or a `static`.
#[derive(Debug)]
pub struct Enricher {
    ua: ua::UaParser,
    bots: bots::BotDetector,
    geo: Option<geo::GeoDb>,
}

impl Enricher {
    /// Builds the enricher. `geoip`: optional path to a `.mmdb` country database: MaxMind's
    /// layout (GeoLite2-Country, GeoIP2-Country or GeoIP2-City: `country.iso_code`) or
    /// ip-location-db's (`country_code`). Without one, every country is "unknown". A missing,
    /// unreadable or corrupt file is an error.
    pub fn new(geoip: Option<&Path>) -> Result<Self, EnrichError> {
        let geo = geoip.map(geo::GeoDb::open).transpose()?;
        Self::with_geo(geo)
    }

    /// Builds the enricher with a `.mmdb` database held in memory (e.g. from
    /// `mmdb_writer::write_country_db` in tests, feature `test-support`).
    pub fn from_geoip_bytes(database: Vec<u8>) -> Result<Self, EnrichError> {
        Self::with_geo(Some(geo::GeoDb::from_bytes(database)?))
    }

    fn with_geo(geo: Option<geo::GeoDb>) -> Result<Self, EnrichError> {
        Ok(Self {
            ua: ua::UaParser::new()?,
            bots: bots::BotDetector::new(),
            geo,
        })
    }

    /// Whether a GeoIP database is loaded.
    pub fn has_geoip(&self) -> bool {
        self.geo.is_some()
    }

    /// The loaded country database, if any (its type and build date, for the start-up log).
    pub fn geoip(&self) -> Option<&geo::GeoDb> {
        self.geo.as_ref()
    }

    /// Enriches one event. Total: never fails and never panics, whatever the input.
    /// Unknown text fields are "unknown" (browser, os, device, country) or "" (browser_version,
    /// referrer_domain, utm_*); `source` is the `utm_source`, else `ref` or `source` from the
    /// query, else a named source, the referrer's domain or "Direct".
    pub fn enrich(&self, input: &Input<'_>) -> Context {
        let user_agent = input.user_agent.map(str::trim).unwrap_or("");
        let (parsed, bot) = if user_agent.is_empty() {
            // Server-side integrations post without a User-Agent: unknown, not a bot.
            (ua::UaInfo::unknown(), false)
        } else {
            let parsed = self.ua.parse(user_agent);
            let bot = self.bots.is_bot(user_agent, &parsed);
            (parsed, bot)
        };

        let country = match (&self.geo, input.ip) {
            (Some(geo), Some(ip)) => geo.country(ip),
            _ => UNKNOWN.to_owned(),
        };

        let utm = utm::parse(input.path);
        let from = referrer::classify(input.referrer, input.site_host);
        let source = [&utm.source, &utm.referral]
            .into_iter()
            .find(|tag| !tag.is_empty())
            .cloned()
            .unwrap_or(from.source);

        Context {
            // Referrer spam is not a visit: counted with the bots, never in a report.
            bot: bot || from.spam,
            browser: parsed.browser,
            browser_version: parsed.browser_version,
            os: parsed.os,
            device: parsed.device.to_owned(),
            country,
            source,
            referrer_domain: from.domain,
            utm_source: utm.source,
            utm_medium: utm.medium,
            utm_campaign: utm.campaign,
            utm_content: utm.content,
            utm_term: utm.term,
            // The site's, which ingestion knows and enrichment does not.
            timezone: String::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enricher_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Enricher>();
    }
}
