//! The real country database that `./scripts/dev`, `./scripts/test` and the Docker image
//! install (ip-location-db's geo-whois-asn-country, see scripts/lib/common.sh), read through
//! `GEOIP_DB`: it loads, and address blocks whose country is stable and documented resolve to
//! it. `scripts/test` installs the file and sets `GEOIP_DB`, so CI always runs these checks;
//! run by hand without it they are skipped with a note.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Instant;

use beacon_enrich::{Enricher, Input};

/// The database `scripts/test` installed, or `None` (with a note) when run by hand without it.
/// In CI it must be there: a skipped check would hide a broken install step.
fn bundled_database() -> Option<PathBuf> {
    match std::env::var("GEOIP_DB") {
        Ok(path) if !path.trim().is_empty() => Some(PathBuf::from(path)),
        _ if std::env::var_os("CI").is_some() => {
            panic!("GEOIP_DB is not set in CI: scripts/test installs the database and sets it")
        }
        _ => {
            eprintln!(
                "SKIPPED: GEOIP_DB is not set; ./scripts/test installs the bundled country \
                 database and sets it (or: GEOIP_DB=/path/to/country.mmdb cargo test)"
            );
            None
        }
    }
}

fn country_of(enricher: &Enricher, ip: &str) -> String {
    let ip: IpAddr = ip.parse().expect("ip");
    enricher
        .enrich(&Input {
            ip: Some(ip),
            path: "/",
            ..Input::default()
        })
        .country
}

#[test]
fn known_address_blocks_resolve_to_their_countries() {
    let Some(path) = bundled_database() else {
        return;
    };
    let started = Instant::now();
    let enricher = Enricher::new(Some(&path))
        .unwrap_or_else(|e| panic!("the bundled database at {} loads: {e}", path.display()));
    eprintln!("loaded {} in {:?}", path.display(), started.elapsed());
    assert!(enricher.has_geoip());

    // Networks whose holder and country have not changed in decades, as the RIRs register them.
    for (ip, want, why) in [
        ("8.8.8.8", "US", "Google Public DNS"),
        ("2001:4860:4860::8888", "US", "Google Public DNS over IPv6"),
        (
            "1.1.1.1",
            "AU",
            "1.1.1.0/24, APNIC's research prefix (Brisbane)",
        ),
        ("193.99.144.80", "DE", "heise.de, Heise Medien in Hannover"),
        ("81.169.145.1", "DE", "Strato AG, Berlin"),
        (
            "133.242.0.1",
            "JP",
            "133.0.0.0/8, the block IANA gave JPNIC",
        ),
        ("193.0.6.139", "NL", "ripe.net, the RIPE NCC in Amsterdam"),
        ("2001:67c:2e8::1", "NL", "the RIPE NCC's own IPv6 network"),
        ("212.58.244.1", "GB", "the BBC"),
        // An IPv4 address as a dual-stack socket reports it.
        ("::ffff:8.8.8.8", "US", "IPv4-mapped IPv6"),
    ] {
        assert_eq!(country_of(&enricher, ip), want, "{ip}: {why}");
    }
    // Addresses no database can place are never looked up.
    for ip in [
        "10.0.0.1",
        "192.168.1.1",
        "127.0.0.1",
        "100.64.0.1",
        "::1",
        "fd00::1",
    ] {
        assert_eq!(country_of(&enricher, ip), "unknown", "{ip}");
    }
}
