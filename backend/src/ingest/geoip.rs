//! The country database ingestion starts with (`GEOIP_DB`), and what happens when it is unusable.
//!
//! Ingestion resolves each event's country once, at request time, from the client address, and
//! keeps only the two-letter code: the address itself is never published or stored.
//!
//! An operator who names a database means it: a missing, unreadable or corrupt file stops
//! ingestion at start with one line naming `GEOIP_DB`, the file and the reason, rather than
//! running for months with every country "unknown". Without `GEOIP_DB`, ingestion starts and
//! says once, as a warning, that countries will be unknown. `./scripts/dev`, `./scripts/test`
//! and the Docker image set `GEOIP_DB` to the free database they install (ip-location-db's
//! geo-whois-asn-country) unless the operator set it; when the scripts could not install it they
//! leave `GEOIP_DB` unset, so a missing default degrades to "unknown" and never stops ingestion.

use beacon_enrich::Enricher;
use time::OffsetDateTime;

use crate::config::Config;
use crate::ServiceError;

/// The enricher with the country database at `GEOIP_DB`, or without one (and a warning) when
/// it is unset. A `GEOIP_DB` that cannot be used is [`ServiceError::GeoIp`].
pub fn enricher(config: &Config) -> Result<Enricher, ServiceError> {
    let Some(path) = config.geoip_db.as_deref() else {
        tracing::warn!(
            "GEOIP_DB is not set: every country will be \"unknown\" \
             (./scripts/dev and the Docker image set it to the bundled database)"
        );
        return Ok(Enricher::new(None)?);
    };
    let enricher = Enricher::new(Some(path)).map_err(ServiceError::GeoIp)?;
    if let Some(geo) = enricher.geoip() {
        let built = i64::try_from(geo.build_epoch())
            .ok()
            .and_then(|epoch| OffsetDateTime::from_unix_timestamp(epoch).ok())
            .map_or_else(|| "unknown".to_owned(), |t| t.date().to_string());
        tracing::info!(
            path = %path.display(),
            database_type = geo.database_type(),
            built = %built,
            "country database loaded"
        );
    }
    Ok(enricher)
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use beacon_enrich::mmdb_writer::{Value, Writer};
    use beacon_enrich::Input;

    use super::*;

    fn config(geoip_db: Option<&str>) -> Config {
        Config::from_lookup(|var| match var {
            "GEOIP_DB" => geoip_db.map(str::to_owned),
            _ => None,
        })
        .expect("valid config")
    }

    fn country(enricher: &Enricher, ip: &str) -> String {
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
    fn unset_starts_without_countries() {
        let enricher = enricher(&config(None)).expect("starts");
        assert!(!enricher.has_geoip());
        assert_eq!(country(&enricher, "8.8.8.8"), "unknown");
    }

    #[test]
    fn a_named_database_is_used() {
        let mut w = Writer::new("country").without_description();
        w.insert("203.0.113.0/24", &Value::country_code("DE"))
            .expect("insert");
        let path = std::env::temp_dir().join(format!("beacon-geoip-{}.mmdb", uuid::Uuid::new_v4()));
        std::fs::write(&path, w.to_bytes().expect("bytes")).expect("write");
        let enricher = enricher(&config(path.to_str())).expect("starts");
        std::fs::remove_file(&path).ok();
        assert_eq!(country(&enricher, "203.0.113.7"), "DE");
    }

    #[test]
    fn a_named_database_that_cannot_be_used_stops_the_start() {
        let missing = "/nonexistent/beacon/country.mmdb";
        let err = enricher(&config(Some(missing))).expect_err("missing file accepted");
        let message = err.to_string();
        assert!(matches!(err, ServiceError::GeoIp(_)), "{message}");
        assert!(message.starts_with("GEOIP_DB: cannot read"), "{message}");
        assert!(message.contains(missing), "{message}");

        let path = std::env::temp_dir().join(format!("beacon-geoip-{}.mmdb", uuid::Uuid::new_v4()));
        std::fs::write(&path, b"not a database").expect("write");
        let err = enricher(&config(path.to_str())).expect_err("garbage accepted");
        std::fs::remove_file(&path).ok();
        let message = err.to_string();
        assert!(
            message.starts_with("GEOIP_DB: invalid GeoIP database"),
            "{message}"
        );
        assert!(message.contains("or unset it"), "{message}");
    }
}
