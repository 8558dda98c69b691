//! Beacon's backend, laid out the way an event travels:
//! [`ingest`] (HTTP in) → [`pipeline`] (Kafka) → [`store`] (MongoDB) → [`report`] (HTTP out).
//!
//! The three binaries in `src/bin` are thin: they load [`config::Config`], set up [`telemetry`],
//! call one `run` function here and wait for [`shutdown`]. Tests drive the same functions.
//! `beacon-admin` (registered sites and API keys, [`sites`]) is as thin over [`sites::cli`].

#![forbid(unsafe_code)]

pub mod config;
pub mod http;
pub mod ingest;
pub mod metrics;
pub mod pipeline;
pub mod report;
pub mod rollup;
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
}
