//! Beacon's backend, laid out the way an event travels:
//! [`ingest`] (HTTP in) → [`pipeline`] (Kafka) → [`store`] (MongoDB) → [`report`] (HTTP out).
//!
//! The three binaries in `src/bin` are thin: [`service::start`] loads [`config::Config`], sets
//! up [`telemetry`] and binds the port; they call one `run` function here until [`shutdown`]. Tests drive the same functions.
//! `beacon-admin` (registered sites and API keys, [`sites`]) is as thin over [`sites::cli`].

#![forbid(unsafe_code)]

pub mod api_doc;
pub mod backoff;
pub mod config;
pub mod http;
pub mod import;
pub mod ingest;
pub mod metrics;
pub mod pipeline;
pub mod report;
pub mod rollup;
pub mod service;
pub mod shutdown;
pub mod sites;
pub mod store;
pub mod telemetry;
pub mod worker;

/// Why a service could not start or stopped abnormally.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("Kafka client error: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error("network error: {0}")]
    Io(#[from] std::io::Error),
    /// `GEOIP_DB` names a file that is missing, unreadable or not a country database: an
    /// operator's mistake, so ingestion refuses to start rather than count every country unknown.
    #[error(
        "GEOIP_DB: {0}; point it at a .mmdb country database, or unset it to run without countries"
    )]
    GeoIp(beacon_enrich::EnrichError),
    /// The built-in enrichment rules did not load (a build problem).
    #[error(transparent)]
    Enrich(#[from] beacon_enrich::EnrichError),
}
