//! A minimal MaxMind DB (`.mmdb`) writer, so tests can build a country database on the fly.
//!
//! Why: GeoLite2 files cannot be committed or downloaded in CI (licence and network), yet the
//! geo path must be tested against the real reader. The published writer crates are young
//! single-author 0.1 releases with more surface than needed here, while the format is small
//! and fully specified (<https://maxmind.github.io/MaxMind-DB/>), so this module implements the
//! part of it that a country database uses, for this crate's tests and for other crates'
//! (e.g. the backend's integration tests):
//!
//! - an IPv6 search tree (`ip_version` 6), IPv4 networks stored under `::/96` as MaxMind does,
//!   so the reader's IPv4 lookups walk 96 zero bits first;
//! - 24-, 28- or 32-bit records, the smallest that fits;
//! - a data section with maps, UTF-8 strings, unsigned integers and arrays; identical records
//!   are stored once;
//! - the metadata map after `\xAB\xCD\xEFMaxMind.com`.
//!
//! When networks overlap, the one inserted last wins over its whole range. It is not meant for
//! production databases (no pointers, no aliases for `::ffff:0:0/96` or `2002::/16`).
//!
//! ```
//! let db = beacon_enrich::mmdb_writer::write_country_db(&[
//!     ("203.0.113.0/24", "DE"),
//!     ("2001:db8::/32", "JP"),
//! ]);
//! let enricher = beacon_enrich::Enricher::from_geoip_bytes(db).unwrap();
//! # let _ = enricher;
//! ```

use std::collections::HashMap;
use std::net::IpAddr;

/// Why a database could not be written.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WriteError {
    /// A network was not `address/prefix` with a valid address and prefix length.
    #[error("invalid network {0:?}: expected e.g. 203.0.113.0/24 or 2001:db8::/32")]
    InvalidNetwork(String),
    /// The tree or data grew past what 32-bit records can address.
    #[error("database too large for 32-bit records")]
    TooLarge,
}

/// A value in the data section.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Value {
    /// UTF-8 string.
    String(String),
    /// Unsigned integer, stored as uint32 (`u32`) or uint64.
    Uint(u64),
    /// Map with string keys, written in the given order.
    Map(Vec<(String, Value)>),
    /// Array.
    Array(Vec<Value>),
}

impl Value {
    /// A map from `(key, value)` pairs.
    pub fn map<K: Into<String>>(entries: impl IntoIterator<Item = (K, Value)>) -> Self {
        Value::Map(entries.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    /// `{"country": {"iso_code": iso}}`, the GeoLite2-Country / GeoIP2-City layout.
    pub fn country(iso: &str) -> Self {
        Value::map([(
            "country",
            Value::map([("iso_code", Value::String(iso.to_owned()))]),
        )])
    }

    /// `{"country_code": iso}`, the ip-location-db layout.
    pub fn country_code(iso: &str) -> Self {
        Value::map([("country_code", Value::String(iso.to_owned()))])
    }
}

/// Where a record of the search tree points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Record {
    Empty,
    Node(usize),
    Data(usize),
}

/// Builds a database in memory; see the module docs.
#[derive(Debug, Clone)]
pub struct Writer {
    database_type: String,
    /// Index 0 is the root; records of replaced subtrees become unreachable and are skipped.
    nodes: Vec<[Record; 2]>,
    /// Distinct serialised values, in insertion order.
    values: Vec<Vec<u8>>,
    value_index: HashMap<Vec<u8>, usize>,
    build_epoch: u64,
    description: bool,
}

impl Writer {
    /// An empty database whose metadata says `database_type`, e.g. "GeoLite2-Country".
    pub fn new(database_type: &str) -> Self {
        Self {
            database_type: database_type.to_owned(),
            nodes: vec![[Record::Empty; 2]],
            values: Vec::new(),
            value_index: HashMap::new(),
            build_epoch: 0,
            description: true,
        }
    }

    /// Leaves the metadata's `description` map empty, as ip-location-db's databases do.
    pub fn without_description(mut self) -> Self {
        self.description = false;
        self
    }

    /// Sets the metadata's build time (seconds since the Unix epoch; default 0).
    pub fn build_epoch(mut self, epoch: u64) -> Self {
        self.build_epoch = epoch;
        self
    }

    /// Maps `network` ("203.0.113.0/24", "2001:db8::/32"; a bare address is a /32 or /128)
    /// to `value`.
    pub fn insert(&mut self, network: &str, value: &Value) -> Result<&mut Self, WriteError> {
        let (bits, prefix) = parse_network(network)?;
        let mut encoded = Vec::new();
        encode(value, &mut encoded);
        let data = match self.value_index.get(&encoded) {
            Some(&i) => i,
            None => {
                let i = self.values.len();
                self.values.push(encoded.clone());
                self.value_index.insert(encoded, i);
                i
            }
        };
        self.assign(bits, prefix, data);
        Ok(self)
    }

    /// Points the records covering `bits/prefix` at `data`.
    fn assign(&mut self, bits: u128, prefix: u8, data: usize) {
        if prefix == 0 {
            self.nodes[0] = [Record::Data(data); 2];
            return;
        }
        let mut node = 0;
        for depth in 0..prefix {
            let side = usize::from(bit(bits, depth));
            if depth + 1 == prefix {
                self.nodes[node][side] = Record::Data(data);
                return;
            }
            node = match self.nodes[node][side] {
                Record::Node(next) => next,
                // Going below an empty record or a wider network: split it, the other half
                // keeps what the record said.
                record @ (Record::Empty | Record::Data(_)) => {
                    self.nodes.push([record; 2]);
                    let next = self.nodes.len() - 1;
                    self.nodes[node][side] = Record::Node(next);
                    next
                }
            };
        }
    }

    /// The complete `.mmdb` file.
    pub fn to_bytes(&self) -> Result<Vec<u8>, WriteError> {
        // Number the reachable nodes breadth-first from the root.
        let mut order = vec![0usize];
        let mut number = HashMap::from([(0usize, 0usize)]);
        let mut i = 0;
        while i < order.len() {
            for record in self.nodes[order[i]] {
                if let Record::Node(n) = record {
                    number.insert(n, order.len());
                    order.push(n);
                }
            }
            i += 1;
        }
        let node_count = order.len();

        let mut data_section = Vec::new();
        let mut offsets = Vec::with_capacity(self.values.len());
        for v in &self.values {
            offsets.push(data_section.len());
            data_section.extend_from_slice(v);
        }

        let value_of = |record: Record| -> u64 {
            match record {
                Record::Empty => node_count as u64,
                Record::Node(n) => number[&n] as u64,
                Record::Data(d) => (node_count + 16 + offsets[d]) as u64,
            }
        };
        let max = (node_count + 16 + data_section.len()) as u64;
        let record_size: u16 = if max < 1 << 24 {
            24
        } else if max < 1 << 28 {
            28
        } else if max < 1 << 32 {
            32
        } else {
            return Err(WriteError::TooLarge);
        };

        let mut out = Vec::with_capacity(node_count * usize::from(record_size) / 4 + 256);
        for &n in &order {
            let [left, right] = self.nodes[n];
            write_node(&mut out, record_size, value_of(left), value_of(right));
        }
        out.extend_from_slice(&[0u8; 16]);
        out.extend_from_slice(&data_section);
        out.extend_from_slice(b"\xAB\xCD\xEFMaxMind.com");
        let metadata = Value::map([
            ("binary_format_major_version", Value::Uint(2)),
            ("binary_format_minor_version", Value::Uint(0)),
            ("build_epoch", Value::Uint(self.build_epoch)),
            ("database_type", Value::String(self.database_type.clone())),
            (
                "description",
                Value::Map(if self.description {
                    vec![(
                        "en".into(),
                        Value::String(format!("{} (test database)", self.database_type)),
                    )]
                } else {
                    Vec::new()
                }),
            ),
            ("ip_version", Value::Uint(6)),
            ("languages", Value::Array(vec![Value::String("en".into())])),
            ("node_count", Value::Uint(node_count as u64)),
            ("record_size", Value::Uint(u64::from(record_size))),
        ]);
        encode_metadata(&metadata, &mut out);
        Ok(out)
    }
}

/// Writes a GeoLite2-Country-style database mapping each network to a country code.
///
/// # Panics
///
/// On an invalid network string: this is test support, and a typo in a fixture should fail
/// loudly. [`try_write_country_db`] returns the error instead.
pub fn write_country_db(entries: &[(&str, &str)]) -> Vec<u8> {
    match try_write_country_db(entries) {
        Ok(bytes) => bytes,
        Err(e) => panic!("write_country_db: {e}"),
    }
}

/// [`write_country_db`] without the panic.
pub fn try_write_country_db(entries: &[(&str, &str)]) -> Result<Vec<u8>, WriteError> {
    let mut writer = Writer::new("GeoLite2-Country");
    for (network, iso) in entries {
        writer.insert(network, &Value::country(iso))?;
    }
    writer.to_bytes()
}

/// Bit `depth` (0 = most significant) of a 128-bit address.
fn bit(bits: u128, depth: u8) -> bool {
    (bits >> (127 - u32::from(depth))) & 1 == 1
}

/// "a.b.c.d/n" → (::a.b.c.d as 128 bits, 96 + n); "x::/n" → (bits, n).
fn parse_network(network: &str) -> Result<(u128, u8), WriteError> {
    let invalid = || WriteError::InvalidNetwork(network.to_owned());
    let (addr, prefix) = match network.trim().split_once('/') {
        Some((a, p)) => (a, Some(p.parse::<u8>().map_err(|_| invalid())?)),
        None => (network.trim(), None),
    };
    let (bits, prefix) = match addr.parse::<IpAddr>().map_err(|_| invalid())? {
        IpAddr::V4(v4) => {
            let p = prefix.unwrap_or(32);
            if p > 32 {
                return Err(invalid());
            }
            (u128::from(u32::from(v4)), 96 + p)
        }
        IpAddr::V6(v6) => {
            let p = prefix.unwrap_or(128);
            if p > 128 {
                return Err(invalid());
            }
            (u128::from(v6), p)
        }
    };
    // Host bits set ("203.0.113.7/24") are cleared, as `ip route` would.
    let mask = if prefix == 0 {
        0
    } else {
        u128::MAX << (128 - u32::from(prefix))
    };
    Ok((bits & mask, prefix))
}

fn write_node(out: &mut Vec<u8>, record_size: u16, left: u64, right: u64) {
    match record_size {
        24 => {
            out.extend_from_slice(&left.to_be_bytes()[5..]);
            out.extend_from_slice(&right.to_be_bytes()[5..]);
        }
        28 => {
            // Left's low 24 bits, one byte holding left's and right's high nibbles, then
            // right's low 24 bits.
            out.extend_from_slice(&left.to_be_bytes()[5..]);
            out.push((((left >> 24) & 0x0f) << 4) as u8 | ((right >> 24) & 0x0f) as u8);
            out.extend_from_slice(&right.to_be_bytes()[5..]);
        }
        _ => {
            out.extend_from_slice(&left.to_be_bytes()[4..]);
            out.extend_from_slice(&right.to_be_bytes()[4..]);
        }
    }
}

// Data section types (spec, "Output Data Section").
const TYPE_STRING: u8 = 2;
const TYPE_UINT16: u8 = 5;
const TYPE_UINT32: u8 = 6;
const TYPE_MAP: u8 = 7;
const TYPE_UINT64: u8 = 9;
const TYPE_ARRAY: u8 = 11;

/// Control byte(s) for a field of `kind` and `size`: type in the top 3 bits (or 0 and an
/// extended-type byte), size in the low 5 bits plus 0–3 extra bytes.
fn write_control(out: &mut Vec<u8>, kind: u8, size: usize) {
    let (size_bits, extra): (u8, Vec<u8>) = if size < 29 {
        (size as u8, Vec::new())
    } else if size < 29 + 256 {
        (29, vec![(size - 29) as u8])
    } else if size < 285 + 65_536 {
        (30, ((size - 285) as u16).to_be_bytes().to_vec())
    } else {
        (31, ((size - 65_821) as u32).to_be_bytes()[1..].to_vec())
    };
    if kind <= 7 {
        out.push((kind << 5) | size_bits);
    } else {
        out.push(size_bits);
        out.push(kind - 7);
    }
    out.extend_from_slice(&extra);
}

fn write_uint(out: &mut Vec<u8>, kind: u8, n: u64) {
    let bytes = n.to_be_bytes();
    let skip = bytes.iter().take_while(|&&b| b == 0).count();
    write_control(out, kind, 8 - skip);
    out.extend_from_slice(&bytes[skip..]);
}

fn write_str(out: &mut Vec<u8>, s: &str) {
    write_control(out, TYPE_STRING, s.len());
    out.extend_from_slice(s.as_bytes());
}

/// Data-section encoding; integers are uint32 when they fit, else uint64.
fn encode(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::String(s) => write_str(out, s),
        Value::Uint(n) => match u32::try_from(*n) {
            Ok(small) => write_uint(out, TYPE_UINT32, u64::from(small)),
            Err(_) => write_uint(out, TYPE_UINT64, *n),
        },
        Value::Map(entries) => {
            write_control(out, TYPE_MAP, entries.len());
            for (k, v) in entries {
                write_str(out, k);
                encode(v, out);
            }
        }
        Value::Array(items) => {
            write_control(out, TYPE_ARRAY, items.len());
            for v in items {
                encode(v, out);
            }
        }
    }
}

/// Metadata encoding: the same as data, but with the integer widths the spec gives each key.
fn encode_metadata(metadata: &Value, out: &mut Vec<u8>) {
    let Value::Map(entries) = metadata else {
        return encode(metadata, out);
    };
    write_control(out, TYPE_MAP, entries.len());
    for (k, v) in entries {
        write_str(out, k);
        match (k.as_str(), v) {
            (
                "binary_format_major_version"
                | "binary_format_minor_version"
                | "ip_version"
                | "record_size",
                Value::Uint(n),
            ) => write_uint(out, TYPE_UINT16, *n),
            ("build_epoch", Value::Uint(n)) => write_uint(out, TYPE_UINT64, *n),
            ("node_count", Value::Uint(n)) => write_uint(out, TYPE_UINT32, *n),
            _ => encode(v, out),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn control(kind: u8, size: usize) -> Vec<u8> {
        let mut out = Vec::new();
        write_control(&mut out, kind, size);
        out
    }

    #[test]
    fn control_bytes_follow_the_spec() {
        // Type in the top three bits, size below 29 in the low five.
        assert_eq!(control(TYPE_STRING, 0), [0b010_00000]);
        assert_eq!(control(TYPE_STRING, 28), [0b010_11100]);
        // 29 + one byte, 285 + two bytes, 65,821 + three bytes.
        assert_eq!(control(TYPE_STRING, 29), [0b010_11101, 0]);
        assert_eq!(control(TYPE_STRING, 284), [0b010_11101, 255]);
        assert_eq!(control(TYPE_STRING, 285), [0b010_11110, 0, 0]);
        assert_eq!(control(TYPE_STRING, 65_820), [0b010_11110, 0xff, 0xff]);
        assert_eq!(control(TYPE_STRING, 65_821), [0b010_11111, 0, 0, 0]);
        // Extended types: type bits 0, then (type - 7), then the size bytes.
        assert_eq!(control(TYPE_ARRAY, 1), [0b000_00001, 4]);
        assert_eq!(control(TYPE_UINT64, 30), [0b000_11101, 2, 1]);
    }

    #[test]
    fn integers_use_the_fewest_bytes() {
        let mut out = Vec::new();
        write_uint(&mut out, TYPE_UINT32, 0);
        assert_eq!(out, [0b110_00000]);
        out.clear();
        write_uint(&mut out, TYPE_UINT16, 0x0102);
        assert_eq!(out, [0b101_00010, 1, 2]);
    }

    #[test]
    fn records_pack_into_24_28_and_32_bits() {
        let mut out = Vec::new();
        write_node(&mut out, 24, 0x0a_0b0c, 0x01_0203);
        assert_eq!(out, [0x0a, 0x0b, 0x0c, 0x01, 0x02, 0x03]);
        out.clear();
        write_node(&mut out, 28, 0xa0b_0c0d, 0x102_0304);
        assert_eq!(out, [0x0b, 0x0c, 0x0d, 0xa1, 0x02, 0x03, 0x04]);
        out.clear();
        write_node(&mut out, 32, 0x0102_0304, 0x0506_0708);
        assert_eq!(out, [1, 2, 3, 4, 5, 6, 7, 8]);
    }

    #[test]
    fn networks_parse_into_the_ipv6_tree() {
        assert_eq!(
            parse_network("203.0.113.7/24"),
            Ok((u128::from(0xcb00_7100u32), 120))
        );
        assert_eq!(parse_network("::/0"), Ok((0, 0)));
        assert_eq!(
            parse_network("2001:db8::/32"),
            Ok((0x2001_0db8u128 << 96, 32))
        );
    }

    #[test]
    fn identical_records_are_stored_once() {
        let one = try_write_country_db(&[("203.0.113.0/24", "DE")]).expect("db");
        let two =
            try_write_country_db(&[("203.0.113.0/24", "DE"), ("2001:db8::/32", "DE")]).expect("db");
        let three =
            try_write_country_db(&[("203.0.113.0/24", "DE"), ("2001:db8::/32", "JP")]).expect("db");
        // Same data section size for the shared value, one more record for a new one.
        let data_len = |db: &[u8]| {
            let reader = maxminddb::Reader::from_source(db).expect("reader");
            let meta = reader.metadata();
            db.len() - (meta.node_count as usize * 6) - 16
        };
        assert!(data_len(&two) - data_len(&one) < data_len(&three) - data_len(&one));
    }
}
