//! `POST /event`, in steps: the sender's budget, then per event: validate → its site →
//! origin check → complete (visitor id, enrichment); then the sites' budgets and publish.
//! `202` only once Kafka has every accepted event.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use beacon_enrich::Input;
use beacon_event::fields::names::SITE_ID;
use beacon_event::{ClientEvent, Day, Event, EventError, TimeWindow, VisitorId};
use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;
use uuid::Uuid;

use super::error::{count_rejected, Rejected, ORIGIN_REFUSED};
use super::page;
use super::payload::{self, read_body, Payload};
use super::sender::Sender;
use super::visitor::Salt;
use super::{receipt_lookup, IngestError, IngestState, VisitorIds};
use crate::api_doc::params::ReceiptParam;
use crate::api_doc::responses::{QueueUnavailable, RateLimited};
use crate::api_doc::wire::{ErrorOrBatch, EventOrBatchSchema};
use crate::http::ErrorBody;
use crate::metrics::{EVENTS_ACCEPTED, PRODUCE_SECONDS, RECEIPTS_REMEMBERED};
use crate::pipeline::EventSink;
use crate::sites::cache::Resolved;

/// `POST /event`'s 202.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Accepted {
    /// Events accepted and queued.
    #[schema(minimum = 1)]
    accepted: usize,
    /// Batches only: the events that were skipped.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(required = false, nullable = false)]
    rejected: Option<Vec<Rejected>>,
}

#[utoipa::path(
    post,
    path = "/event",
    tag = "ingestion",
    operation_id = "postEvent",
    summary = "Send one event or a batch of up to 500",
    description = "Validates each event, derives an anonymous visitor id (unless `user_id` is \
        given), and answers 202 only after every accepted event is durably in Kafka. A single \
        invalid event is a 400 naming the field. In a batch, invalid events are skipped and \
        listed in `rejected`; only if none is valid is the answer a 400. `text/plain` bodies \
        (what `navigator.sendBeacon` sends with a string) are parsed as JSON, as is a body \
        without Content-Type. Bodies are limited to 1 MiB. Unknown event fields are ignored; \
        optional fields that are `null` or `\"\"` count as absent. Clients should send an \
        `eid` so that a retry after a timeout or 503 is not counted twice. With \
        `?receipt=1`, the eids of the accepted events are also remembered for \
        `POST /event/receipts`.",
    params(ReceiptParam),
    request_body(
        content = EventOrBatchSchema,
        description = "One event or a batch, as JSON. The same JSON is accepted as \
            `text/plain` (what `navigator.sendBeacon` sends with a string) and without \
            Content-Type.",
        examples(
            ("single" = (summary = "One page view", value = json!({
                "site_id": "site123", "event_type": "page_view", "path": "/home",
                "user_id": "user1"
            }))),
            ("batch" = (summary = "A batch", value = json!([
                {
                    "site_id": "site123", "event_type": "page_view", "path": "/pricing",
                    "eid": "0192f1c4-6a8b-7cde-9f01-23456789abcd",
                    "referrer": "https://news.ycombinator.com/", "screen_width": 1440
                },
                {
                    "site_id": "site123", "event_type": "signup", "path": "/pricing",
                    "props": { "plan": "pro", "seats": 3, "trial": true }
                }
            ]))),
        ),
    ),
    responses(
        (status = 202, description = "Accepted and durably queued. For a batch, `rejected` \
            lists the events that were skipped (possibly empty).", body = Accepted,
            example = json!({ "accepted": 1 })),
        (status = 400, description = "Malformed body (not JSON, not an object or array, empty \
            batch), a single event that breaks a rule (`field` names it), or a batch in which \
            no event is valid (`rejected` lists why).", body = ErrorOrBatch,
            example = json!({ "error": "`path` must start with `/`", "field": "path" })),
        (status = 403, description = "The site is registered with allowed domains and the \
            request's `Origin` (or `Referer`) is on none of them, or names no page. A batch in \
            which every event is refused this way lists them in `rejected`; in a mixed batch \
            they are listed with the 202.", body = ErrorOrBatch,
            example = json!({ "error": ORIGIN_REFUSED, "field": "site_id" })),
        (status = 413, description = "The body is larger than 1 MiB (1048576 bytes), or the \
            batch has more than 500 events.", body = ErrorBody,
            example = json!({ "error": "batch has 501 events; at most 500 are accepted per request" })),
        (status = 415, description = "Content-Type is neither application/json nor text/plain.",
            body = ErrorBody, example = json!({ "error": "unsupported Content-Type \
            `application/x-www-form-urlencoded`; send application/json or text/plain" })),
        (status = 429, response = RateLimited),
        (status = 503, response = QueueUnavailable),
    ),
)]
pub(super) async fn post_event<S: EventSink>(
    State(state): State<Arc<IngestState<S>>>,
    request: Request,
) -> Response {
    match accept(&state, request).await {
        Ok(accepted) => (StatusCode::ACCEPTED, Json(accepted)).into_response(),
        Err(e) => {
            e.count();
            e.into_response()
        }
    }
}

async fn accept<S: EventSink>(
    state: &IngestState<S>,
    request: Request,
) -> Result<Accepted, IngestError> {
    let (parts, body) = request.into_parts();
    payload::check_content_type(&parts.headers)?;
    let payload = Payload::parse(&read_body(body).await?)?;
    let single = matches!(payload, Payload::Single(_));
    accept_values(state, &parts, payload.values(), single).await
}

/// Everything after the body was read: `values` are events as `POST /event` takes them;
/// `single` gives single-event answers (an error instead of a `rejected` list).
pub(super) async fn accept_values<S: EventSink>(
    state: &IngestState<S>,
    parts: &axum::http::request::Parts,
    values: &[Value],
    single: bool,
) -> Result<Accepted, IngestError> {
    // The query was ignored before receipts existed; every other parameter still is.
    let receipt = receipt_lookup::requested(parts.uri.query());
    let sender = Sender::of(parts, state.trust_forwarded_for);
    // The sender's budget is charged first, for every event it sent, valid or not: beyond it
    // a request costs no site lookup, salt, validation or enrichment.
    let sent = u32::try_from(values.len()).unwrap_or(u32::MAX);
    state.limits.check_ip(sender.ip, sent)?;
    let mut sorted = sort(state, &sender, values).await;
    if single {
        if let Some((_, refusal)) = sorted.refused.pop() {
            return Err(refusal.into());
        }
    } else if sorted.events.is_empty() {
        let origin_only = sorted.refused.iter().all(|(_, r)| r.is_origin());
        let rejected = sorted.rejected();
        return Err(match origin_only {
            true => IngestError::NoAllowedEvents(rejected),
            false => IngestError::NoValidEvents(rejected),
        });
    }
    state.limits.check_sites(&events_per_site(&sorted.events))?;
    let receipted = receipt.then_some(sorted.client_eids.as_slice());
    publish(state, &sorted.events, receipted).await?;
    let rejected = (!single).then(|| sorted.rejected());
    for r in rejected.iter().flatten() {
        count_rejected(r.field, 1);
    }
    Ok(Accepted {
        accepted: sorted.events.len(),
        rejected,
    })
}

/// Why an event was refused.
enum Refusal {
    Invalid(EventError),
    /// Its site is registered with domains, and the page is on none of them.
    Origin,
}

impl Refusal {
    fn is_origin(&self) -> bool {
        matches!(self, Self::Origin)
    }
}

impl From<Refusal> for IngestError {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::Invalid(e) => Self::Invalid(e),
            Refusal::Origin => Self::OriginRefused,
        }
    }
}

/// The events of a request sorted into those to publish and those refused.
#[derive(Default)]
struct Sorted {
    events: Vec<Event>,
    /// The eids of `events` that their clients chose (only those can be asked about).
    client_eids: Vec<Uuid>,
    /// By index in the request.
    refused: Vec<(usize, Refusal)>,
}

impl Sorted {
    fn rejected(&self) -> Vec<Rejected> {
        let entry = |index: usize, refusal: &Refusal| match refusal {
            Refusal::Invalid(e) => Rejected {
                index,
                error: e.message.clone(),
                field: e.field,
            },
            Refusal::Origin => Rejected {
                index,
                error: ORIGIN_REFUSED.to_owned(),
                field: Some(SITE_ID),
            },
        };
        self.refused.iter().map(|(i, r)| entry(*i, r)).collect()
    }
}

/// Validates each value, checks its site's domains against the sender's page, and completes
/// the events that pass.
async fn sort<S: EventSink>(
    state: &IngestState<S>,
    sender: &Sender<'_>,
    values: &[Value],
) -> Sorted {
    let received_at = OffsetDateTime::now_utc();
    let window = TimeWindow::standard(received_at);
    let validated: Vec<Result<ClientEvent, EventError>> = values
        .iter()
        .map(|value| ClientEvent::from_json(value, &window))
        .collect();
    // Registered sites, from the cache: looked up once per request for its distinct sites.
    let valid = validated.iter().filter_map(|v| v.as_ref().ok());
    let registered = state
        .sites
        .resolve(valid.map(|client| client.site_id.as_str()))
        .await;
    let salt = state.visitors.salt(Day::of(received_at)).await;
    let mut sorted = Sorted {
        events: Vec::with_capacity(values.len()),
        ..Sorted::default()
    };
    for (index, validated) in validated.into_iter().enumerate() {
        let refusal = match validated {
            Err(e) => Refusal::Invalid(e),
            Ok(client)
                if registered
                    .get(client.site_id.as_str())
                    .is_some_and(|site| !site.allows(sender.page_host.as_deref())) =>
            {
                Refusal::Origin
            }
            Ok(client) => match complete(state, sender, &salt, &registered, client, received_at) {
                Ok((event, client_eid)) => {
                    sorted.events.push(event);
                    sorted.client_eids.extend(client_eid);
                    continue;
                }
                Err(e) => Refusal::Invalid(e),
            },
        };
        sorted.refused.push((index, refusal));
    }
    sorted
}

/// The event as Kafka carries it: the visitor id (derived, or the `user_id` a site's server
/// sent) and what enrichment finds; with the eid the client chose, if it chose one.
fn complete<S: EventSink>(
    state: &IngestState<S>,
    sender: &Sender<'_>,
    salt: &Salt,
    registered: &Resolved,
    client: ClientEvent,
    received_at: OffsetDateTime,
) -> Result<(Event, Option<Uuid>), EventError> {
    let client_eid = client.eid;
    let visitor = match &client.user_id {
        Some(user) => VisitorId::parse(user.as_str())?,
        None => VisitorIds::derive_with(salt, &client.site_id, sender.ip, sender.user_agent),
    };
    let mut context = state.enricher.enrich(&Input {
        user_agent: Some(sender.user_agent).filter(|ua| !ua.is_empty()),
        ip: Some(sender.ip),
        path: client.path.as_str(),
        referrer: client.referrer.as_ref().map(|r| r.as_str()),
        site_host: sender.page_host.as_deref(),
    });
    // An event with a `user_id` comes from the site's own server about a known user (the
    // tracker never sends one): it is counted as sent, whatever HTTP client posted it.
    context.bot &= state.filter_bots && client.user_id.is_none();
    let site = registered.get(client.site_id.as_str());
    let keep = site.map_or(&[][..], |site| site.keep_query.as_slice());
    context.timezone = site.and_then(|s| s.timezone.clone()).unwrap_or_default();
    let mut event = Event::from_client(client, visitor, received_at, Uuid::now_v7);
    event.context = context;
    // Only now: enrichment read the campaign tags from the full path.
    event.path = page::clean(&event.path, keep);
    Ok((event, client_eid))
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
    metrics::histogram!(PRODUCE_SECONDS).record(started.elapsed().as_secs_f64());
    metrics::counter!(EVENTS_ACCEPTED).increment(events.len() as u64);
    // Only now, after Kafka's acknowledgement: a receipt must never name an event that may be lost.
    if let Some(eids) = receipted {
        state.receipts.remember(eids);
        metrics::counter!(RECEIPTS_REMEMBERED).increment(eids.len() as u64);
    }
    Ok(())
}
