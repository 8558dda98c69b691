//! Ingestion (`post_service`): `POST /event` validates events and publishes them to Kafka.
//!
//! The request path (`post_event`) is: content type → body within limits → JSON → the
//! sender's budget → per event: validation, its site's domains, the anonymous visitor id and
//! enrichment (the raw IP and User-Agent go no further) → the path without its query string
//! ([`page`]) → the sites' budgets →
//! [`EventSink::publish`].
//! A `202` is sent only after the sink confirmed every accepted event is durably in Kafka.
//!
//! `POST /event?receipt=1` also remembers the accepted events' eids, and `POST /event/receipts`
//! answers which of a list were accepted ([`receipts`]), so a tracker that cannot tell whether
//! its last beacon arrived re-sends only what did not.

mod bounds;
pub mod error;
pub mod geoip;
pub mod limits;
mod page;
mod payload;
mod plausible;
mod post_event;
mod receipt_lookup;
pub mod receipts;
mod sender;
#[cfg(test)]
mod tests;
pub mod tracker_files;
mod visitor;

pub use bounds::{BODY_TIMEOUT, MAX_BODY_BYTES, MAX_EIDS_ASKED, MAX_EVENTS};
pub use error::{BatchRejected, IngestError, Rejected};
pub use post_event::Accepted;
pub use receipt_lookup::Received;
pub use receipts::Receipts;
pub use visitor::VisitorIds;

/// Ingestion's operations in the OpenAPI document ([`crate::api_doc`]).
#[derive(utoipa::OpenApi)]
#[openapi(paths(post_event::post_event, receipt_lookup::post_receipts))]
pub struct IngestApi;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::Method;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use beacon_enrich::Enricher;
use tokio::net::TcpListener;

use crate::config::Config;
use crate::pipeline::{topics, EventSink, KafkaSink};
use crate::shutdown::Shutdown;
use crate::sites::{SiteCache, Sites};
use crate::{http, ServiceError};

/// What every request handler shares.
pub struct IngestState<S> {
    pub sink: S,
    pub visitors: VisitorIds,
    pub trust_forwarded_for: bool,
    pub enricher: Enricher,
    /// Whether bot traffic is flagged (and so filtered from reports).
    pub filter_bots: bool,
    /// Registered sites, for their allowed domains ([`crate::sites`]).
    pub sites: SiteCache,
    pub limits: limits::Limits,
    /// Eids accepted with `?receipt=1`, for `POST /event/receipts`.
    pub receipts: Receipts,
}

pub fn router<S: EventSink>(state: Arc<IngestState<S>>) -> Router {
    Router::new()
        .route("/event", post(post_event::post_event::<S>))
        .route("/event/receipts", post(receipt_lookup::post_receipts::<S>))
        .route("/api/event", post(plausible::post_plausible::<S>))
        .route("/healthz", get(http::healthz))
        .route("/readyz", get(readyz::<S>))
        .layer(http::open_cors(&[
            Method::POST,
            Method::GET,
            Method::OPTIONS,
        ]))
        .with_state(state)
}

/// Runs the ingestion service on `listener` until `shutdown`, then flushes the producer.
pub async fn run(
    config: &Config,
    listener: TcpListener,
    shutdown: Shutdown,
) -> Result<(), ServiceError> {
    // First: a bad GEOIP_DB stops the service before it touches Kafka or MongoDB.
    let enricher = geoip::enricher(config)?;
    let sink = KafkaSink::new(config)?;
    let topic_config = config.clone();
    tokio::spawn(async move {
        // Keep trying in the background: the service starts (and reports not-ready) even
        // while the broker is still coming up.
        let _ = topics::ensure_with_retry(&topic_config, u32::MAX).await;
    });
    // Lazy: connects on first use, so ingestion starts (and keeps accepting events for
    // unregistered sites) while MongoDB is down.
    let store = crate::store::MongoStore::connect(&config.mongo_url).await?;
    let state = Arc::new(IngestState {
        sites: SiteCache::new(Sites::new(&store), crate::sites::cache::TTL),
        sink: sink.clone(),
        visitors: VisitorIds::new(config.visitor_secret.as_deref(), Some(store.clone())),
        trust_forwarded_for: config.trust_forwarded_for,
        enricher,
        filter_bots: config.filter_bots,
        limits: limits::Limits::new(
            config.rate_per_ip,
            config.rate_per_site,
            config.rate_burst_seconds,
        ),
        receipts: Receipts::default(),
    });
    let forgetful = Arc::clone(&state);
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(60));
        loop {
            every.tick().await;
            forgetful.limits.forget_idle();
        }
    });
    tracing::info!(addr = %listener.local_addr()?, topic = %config.kafka_topic, "ingestion listening");
    http::serve(
        "ingest",
        listener,
        config.max_connections,
        router(state).merge(tracker_files::routes(&config.tracker_dir)),
        shutdown,
    )
    .await?;
    sink.flush(Duration::from_secs(10)).await;
    Ok(())
}

async fn readyz<S: EventSink>(State(state): State<Arc<IngestState<S>>>) -> Response {
    http::readiness(state.sink.is_ready().await, "kafka")
}
