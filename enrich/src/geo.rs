//! Country of an IP address, from a MaxMind DB (`.mmdb`) file.
//!
//! Why: a country is the coarsest location that is still useful, and it is derived locally from
//! a file the operator supplies (GeoLite2-Country, GeoIP2-Country or GeoIP2-City: they all store
//! `country.iso_code`), so no visitor address leaves the server and none needs to be stored.
//! The file is read once with the [`maxminddb`] crate and checked at start-up, so a wrong path
//! or a corrupt file stops the service instead of silently reporting "unknown" for months.
//!
//! Lookups never fail: addresses that cannot have a country (private, loopback, link-local,
//! shared CGNAT, multicast, unspecified) are not looked up, and an address that is not in the
//! file, or a record without a usable code, gives "unknown". When the record has no `country`
//! (anonymous proxies, some satellite providers), `registered_country` is used instead.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;

use maxminddb::{PathElement, Reader};

use crate::ua::UNKNOWN;
use crate::EnrichError;

const COUNTRY_ISO: [PathElement<'static>; 2] =
    [PathElement::Key("country"), PathElement::Key("iso_code")];
const REGISTERED_COUNTRY_ISO: [PathElement<'static>; 2] = [
    PathElement::Key("registered_country"),
    PathElement::Key("iso_code"),
];

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
        // Walks the whole tree and data section once: a truncated or corrupt download is
        // rejected here, not discovered one lookup at a time.
        reader.verify().map_err(|e| invalid(e.to_string()))?;
        Ok(Self { reader })
    }

    /// The database's own name for its layout, e.g. "GeoLite2-Country".
    pub fn database_type(&self) -> &str {
        &self.reader.metadata().database_type
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
        [&COUNTRY_ISO[..], &REGISTERED_COUNTRY_ISO[..]]
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
