//! Country of an IP address, from a MaxMind DB (`.mmdb`) file.
//!
//! Why: a country is the coarsest location that is still useful, and it is derived locally from
//! a file the operator supplies, so no visitor address leaves the server and none needs to be
//! stored. Two record layouts are read:
//! - MaxMind's (GeoLite2-Country, GeoIP2-Country, GeoIP2-City, DB-IP's lite files):
//!   `country.iso_code`, falling back to `registered_country.iso_code` when the record has no
//!   `country` (anonymous proxies, some satellite providers);
//! - ip-location-db's (the free `geo-whois-asn-country` database that `./scripts/dev` and the
//!   Docker image install): a top-level `country_code`.
//!
//! The file is read once with the [`maxminddb`] crate and every record is decoded at start-up,
//! so a wrong path or a corrupt file stops the service instead of silently reporting
//! "unknown" for months.
//!
//! Lookups never fail: addresses that cannot have a country (private, loopback, link-local,
//! shared CGNAT, multicast, unspecified) are not looked up, and an address that is not in the
//! file, or a record without a usable code, gives "unknown".

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;

use maxminddb::{MaxMindDbError, PathElement, Reader, WithinOptions};
use serde::de::IgnoredAny;

use crate::ua::UNKNOWN;
use crate::EnrichError;

const COUNTRY_ISO: [PathElement<'static>; 2] =
    [PathElement::Key("country"), PathElement::Key("iso_code")];
const REGISTERED_COUNTRY_ISO: [PathElement<'static>; 2] = [
    PathElement::Key("registered_country"),
    PathElement::Key("iso_code"),
];
const COUNTRY_CODE: [PathElement<'static>; 1] = [PathElement::Key("country_code")];
/// Where a record may keep its country, in the order tried.
const COUNTRY_PATHS: [&[PathElement<'static>]; 3] =
    [&COUNTRY_ISO, &REGISTERED_COUNTRY_ISO, &COUNTRY_CODE];

/// An opened, validated country database.
pub struct GeoDb {
    reader: Reader<Vec<u8>>,
}

impl std::fmt::Debug for GeoDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GeoDb")
            .field("database_type", &self.reader.metadata().database_type)
            .field("ip_version", &self.reader.metadata().ip_version)
            .finish()
    }
}

impl GeoDb {
    /// Reads and validates the database file at `path`.
    pub fn open(path: &Path) -> Result<Self, EnrichError> {
        let bytes = std::fs::read(path).map_err(|source| EnrichError::GeoIo {
            path: path.to_owned(),
            source,
        })?;
        Self::from_bytes(bytes).map_err(|e| match e {
            EnrichError::GeoDb { reason, .. } => EnrichError::GeoDb {
                path: path.to_owned(),
                reason,
            },
            other => other,
        })
    }

    /// Validates a database held in memory (errors name the path `<in memory>`).
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self, EnrichError> {
        let invalid = |reason: String| EnrichError::GeoDb {
            path: "<in memory>".into(),
            reason,
        };
        let reader = Reader::from_source(bytes).map_err(|e| invalid(e.to_string()))?;
        decode_every_record(&reader).map_err(|e| invalid(e.to_string()))?;
        Ok(Self { reader })
    }

    /// The database's own name for its layout, e.g. "GeoLite2-Country".
    pub fn database_type(&self) -> &str {
        &self.reader.metadata().database_type
    }

    /// When the database was built, in seconds since the Unix epoch (its metadata's
    /// `build_epoch`), so the start-up log can say how old the data is.
    pub fn build_epoch(&self) -> u64 {
        self.reader.metadata().build_epoch
    }

    /// ISO 3166-1 alpha-2 code ("DE") of `ip`, or "unknown". Never fails.
    pub fn country(&self, ip: IpAddr) -> String {
        let ip = canonical(ip);
        if !is_public(ip) {
            return UNKNOWN.to_owned();
        }
        let Ok(found) = self.reader.lookup(ip) else {
            return UNKNOWN.to_owned();
        };
        if !found.has_data() {
            return UNKNOWN.to_owned();
        }
        COUNTRY_PATHS
            .into_iter()
            .find_map(|path| {
                found
                    .decode_path::<&str>(path)
                    .ok()
                    .flatten()
                    .and_then(iso_code)
            })
            .unwrap_or_else(|| UNKNOWN.to_owned())
    }
}

/// Walks the whole search tree once and decodes each distinct record it points to, so a
/// truncated or corrupt download is rejected at start-up, not discovered one lookup at a time.
///
/// Why not [`Reader::verify`], which does the same walk: it also insists on a non-empty
/// `description` map in the metadata, which ip-location-db's databases leave empty, and lookups
/// never read it. (About 30 ms for the 7.8 MB ip-location-db file in a release build.)
fn decode_every_record(reader: &Reader<Vec<u8>>) -> Result<(), MaxMindDbError> {
    // A tree of n nodes has at most 2n records (the reader's own `verify` allows 3n, so do we);
    // more networks than that means the tree points back into itself.
    let limit = (reader.metadata().node_count as usize).saturating_mul(3);
    let mut decoded = HashSet::new();
    let everything = WithinOptions::default().include_networks_without_data();
    for (i, found) in reader.networks(everything)?.enumerate() {
        if i > limit {
            return Err(MaxMindDbError::invalid_database(
                "the search tree has more networks than it has records (a cycle)",
            ));
        }
        let found = found?;
        if let Some(offset) = found.offset() {
            if decoded.insert(offset) {
                found.decode::<IgnoredAny>()?;
            }
        }
    }
    Ok(())
}

/// Two ASCII letters, upper-cased; anything else is not a country code.
fn iso_code(code: &str) -> Option<String> {
    let code = code.trim();
    (code.len() == 2 && code.bytes().all(|b| b.is_ascii_alphabetic()))
        .then(|| code.to_ascii_uppercase())
}

/// IPv4 addresses that arrive as IPv6 (`::ffff:203.0.113.7` from a dual-stack socket) are
/// looked up as IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    }
}

/// Whether an address can belong to a visitor somewhere in the world. Private, loopback,
/// link-local, unspecified, multicast, shared (CGNAT) and unique-local addresses cannot.
fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    let shared_cgnat = a == 100 && (64..128).contains(&b);
    !(ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || shared_cgnat
        || a == 0
        || a >= 240)
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    let unique_local = (first & 0xfe00) == 0xfc00;
    let link_local = (first & 0xffc0) == 0xfe80;
    !(ip.is_loopback() || ip.is_unspecified() || ip.is_multicast() || unique_local || link_local)
}
