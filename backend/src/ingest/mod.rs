//! Ingestion (`post_service`): `POST /event` validates events and publishes them to Kafka.
//!
//! The request path is: content type → body within limits → JSON → per-event validation into
//! [`Event`]s (anonymous visitor id derived here, raw IP dropped here) → [`EventSink::publish`].
//! A `202` is sent only after the sink confirmed every accepted event is durably in Kafka.
//!
//! `POST /event?receipt=1` also remembers the accepted events' eids, and `POST /event/receipts`
//! answers which of a list were accepted ([`receipts`]), so a tracker that cannot tell whether
//! its last beacon arrived re-sends only what did not.

mod client_ip;
pub mod error;
pub mod geoip;
pub mod limits;
mod payload;
mod receipt_lookup;
pub mod receipts;
#[cfg(test)]
mod tests;
pub mod tracker_files;
mod visitor;

pub use error::IngestError;
pub use payload::{MAX_BODY_BYTES, MAX_EVENTS};
pub use receipt_lookup::MAX_EIDS_ASKED;
pub use receipts::Receipts;
pub use visitor::VisitorIds;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, request::Parts, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use beacon_enrich::{Enricher, Input};
use beacon_event::{ClientEvent, Event, EventError, TimeWindow, VisitorId};
use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;
use tokio::net::TcpListener;
use uuid::Uuid;

use crate::config::Config;
use crate::pipeline::{topics, EventSink, KafkaSink};
use crate::shutdown::Shutdown;
use crate::sites::{SiteCache, Sites};
use crate::{http, ServiceError};
use payload::Payload;

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

/// One event of a batch that was refused, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Rejected {
    pub index: usize,
    pub error: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<&'static str>,
}

#[derive(Serialize)]
struct Accepted {
    accepted: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    rejected: Option<Vec<Rejected>>,
}

pub fn router<S: EventSink>(state: Arc<IngestState<S>>) -> Router {
    Router::new()
        .route("/event", post(post_event::<S>))
        .route("/event/receipts", post(receipt_lookup::post_receipts::<S>))
        .route("/healthz", get(http::healthz))
        .route("/readyz", get(readyz::<S>))
        .route("/openapi.json", get(crate::report::openapi))
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
    sink.producer().flush(Duration::from_secs(10)).await;
    Ok(())
}

async fn readyz<S: EventSink>(State(state): State<Arc<IngestState<S>>>) -> Response {
    http::readiness(state.sink.is_ready().await, "kafka")
}

async fn post_event<S: EventSink>(
    State(state): State<Arc<IngestState<S>>>,
    request: Request,
) -> Result<Response, IngestError> {
    let (parts, body) = request.into_parts();
    payload::check_content_type(&parts.headers)?;
    let body = read_body(body).await?;
    let payload = Payload::parse(&body)?;
    // The query was ignored before receipts existed; every other parameter still is.
    let receipt = receipt_lookup::requested(parts.uri.query());

    let received_at = OffsetDateTime::now_utc();
    let window = TimeWindow::standard(received_at);
    let ip = client_ip_of(&parts, state.trust_forwarded_for);
    let values = match &payload {
        Payload::Single(value) => std::slice::from_ref(value),
        Payload::Batch(values) => values.as_slice(),
    };
    // The client's budget is charged first, for every event it sent, valid or not: beyond it
    // a request costs no site lookup, salt, validation or enrichment.
    let sent = u32::try_from(values.len()).unwrap_or(u32::MAX);
    state.limits.check_ip(ip, sent)?;
    let user_agent = parts
        .headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    // Registered sites that list domains take events only from pages on them. Looked up once
    // per request for the distinct site ids (from the cache), before any event is completed.
    // The page's host (`Origin`, else `Referer`): for allowed domains, and so that a referrer
    // from the site itself counts as direct rather than as a source.
    let origin = crate::sites::request_host(&parts.headers);
    let registered = state
        .sites
        .resolve(
            values
                .iter()
                .filter_map(|v| v.get(beacon_event::fields::names::SITE_ID)?.as_str()),
        )
        .await;
    let refused = |value: &Value| {
        value
            .get(beacon_event::fields::names::SITE_ID)
            .and_then(Value::as_str)
            .and_then(|id| registered.get(id))
            .is_some_and(|site| !site.allows(origin.as_deref()))
    };
    let salt = state
        .visitors
        .salt(beacon_event::Day::of(received_at))
        .await;
    // The event, and its eid if the client chose it (only those can be asked about).
    let complete = |value: &Value| -> Result<(Event, Option<Uuid>), EventError> {
        let client = ClientEvent::from_json(value, &window)?;
        let client_eid = client.eid;
        let visitor = match &client.user_id {
            Some(user) => VisitorId::parse(user.as_str())?,
            None => VisitorIds::derive_with(&salt, &client.site_id, ip, user_agent),
        };
        let mut context = state.enricher.enrich(&Input {
            user_agent: Some(user_agent).filter(|ua| !ua.is_empty()),
            ip: Some(ip),
            path: client.path.as_str(),
            referrer: client.referrer.as_ref().map(|r| r.as_str()),
            site_host: origin.as_deref(),
        });
        // An event with a `user_id` comes from the site's own server about a known user (the
        // tracker never sends one): it is counted as sent, whatever HTTP client posted it.
        context.bot &= state.filter_bots && client.user_id.is_none();
        let mut event = Event::from_client(client, visitor, received_at, Uuid::now_v7);
        event.context = context;
        Ok((event, client_eid))
    };

    match payload {
        Payload::Single(value) => {
            if refused(&value) {
                return Err(IngestError::OriginRefused);
            }
            let (event, client_eid) = complete(&value)?;
            state.limits.check_sites(&[(event.site_id.as_str(), 1)])?;
            let receipted = receipt.then_some(client_eid.as_slice());
            publish(&state, std::slice::from_ref(&event), receipted).await?;
            Ok(accepted(1, None))
        }
        Payload::Batch(values) => {
            let batch = Sorted::from_batch(&values, refused, complete);
            if batch.events.is_empty() && batch.refusals == batch.rejected.len() {
                return Err(IngestError::NoAllowedEvents(batch.rejected));
            }
            if batch.events.is_empty() {
                return Err(IngestError::NoValidEvents(batch.rejected));
            }
            state.limits.check_sites(&events_per_site(&batch.events))?;
            let receipted = receipt.then_some(batch.client_eids.as_slice());
            publish(&state, &batch.events, receipted).await?;
            for r in &batch.rejected {
                error::count_rejected(r.field, 1);
            }
            Ok(accepted(batch.events.len(), Some(batch.rejected)))
        }
    }
}

/// The client's IP address (the peer's, or the proxy's `X-Forwarded-For` if trusted).
fn client_ip_of(parts: &Parts, trust_forwarded_for: bool) -> IpAddr {
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    client_ip::client_ip(&parts.headers, peer, trust_forwarded_for)
}

/// A batch sorted into the events to publish and the ones refused.
#[derive(Default)]
struct Sorted {
    events: Vec<Event>,
    /// The eids of `events` that their clients chose, for receipts.
    client_eids: Vec<Uuid>,
    rejected: Vec<Rejected>,
    /// How many of `rejected` were refused for their origin.
    refusals: usize,
}

impl Sorted {
    fn from_batch(
        values: &[Value],
        refused: impl Fn(&Value) -> bool,
        complete: impl Fn(&Value) -> Result<(Event, Option<Uuid>), EventError>,
    ) -> Self {
        let mut sorted = Self {
            events: Vec::with_capacity(values.len()),
            ..Self::default()
        };
        for (index, value) in values.iter().enumerate() {
            if refused(value) {
                sorted.refusals += 1;
                sorted.rejected.push(Rejected {
                    index,
                    error: error::ORIGIN_REFUSED.to_owned(),
                    field: Some(beacon_event::fields::names::SITE_ID),
                });
                continue;
            }
            match complete(value) {
                Ok((event, client_eid)) => {
                    sorted.events.push(event);
                    sorted.client_eids.extend(client_eid);
                }
                Err(e) => sorted.rejected.push(Rejected {
                    index,
                    error: e.message,
                    field: e.field,
                }),
            }
        }
        sorted
    }
}

/// How many of `events` belong to each site (rate limits are per site).
fn events_per_site(events: &[Event]) -> Vec<(&str, u32)> {
    let mut counts: Vec<(&str, u32)> = Vec::new();
    for e in events {
        match counts.iter_mut().find(|(s, _)| *s == e.site_id.as_str()) {
            Some((_, n)) => *n += 1,
            None => counts.push((e.site_id.as_str(), 1)),
        }
    }
    counts
}

/// Publishes and records how long Kafka took to acknowledge, and how many events it accepted;
/// then remembers `receipted` eids, if the client asked for receipts.
async fn publish<S: EventSink>(
    state: &IngestState<S>,
    events: &[Event],
    receipted: Option<&[Uuid]>,
) -> Result<(), IngestError> {
    let started = std::time::Instant::now();
    state.sink.publish(events).await?;
    ::metrics::histogram!(crate::metrics::PRODUCE_SECONDS).record(started.elapsed().as_secs_f64());
    ::metrics::counter!(crate::metrics::EVENTS_ACCEPTED).increment(events.len() as u64);
    // Only now, after Kafka's acknowledgement: a receipt must never name an event that may be lost.
    if let Some(eids) = receipted {
        state.receipts.remember(eids);
        ::metrics::counter!(crate::metrics::RECEIPTS_REMEMBERED).increment(eids.len() as u64);
    }
    Ok(())
}

fn accepted(accepted: usize, rejected: Option<Vec<Rejected>>) -> Response {
    (StatusCode::ACCEPTED, Json(Accepted { accepted, rejected })).into_response()
}

/// Longest a client may take to send its body: a tracker's batch arrives in milliseconds; a
/// client trickling bytes (slow loris) is cut off instead of holding a task and a connection.
pub const BODY_TIMEOUT: Duration = Duration::from_secs(10);

/// Reads at most [`MAX_BODY_BYTES`] within [`BODY_TIMEOUT`]; a longer or slower body is
/// refused without buffering the rest.
async fn read_body(body: axum::body::Body) -> Result<bytes::Bytes, IngestError> {
    use http_body_util::{BodyExt, LengthLimitError, Limited};
    let read = tokio::time::timeout(BODY_TIMEOUT, Limited::new(body, MAX_BODY_BYTES).collect());
    let Ok(result) = read.await else {
        return Err(IngestError::BodyTimeout);
    };
    match result {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => Err(IngestError::BodyTooLarge),
        Err(_) => Err(IngestError::BodyUnreadable),
    }
}
