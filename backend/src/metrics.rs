//! Prometheus metrics: one registry per process, rendered at `GET /metrics` by every service.
//!
//! Code records with the `metrics` macros wherever something worth counting happens; this module
//! only installs the recorder (once, however many services a process runs, as in tests) and
//! names the metrics, so the set an operator can graph is listed in one place.

use std::sync::OnceLock;

use axum::http::header;
use axum::response::IntoResponse;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// HTTP requests by `service`, `route` and `status`.
pub const HTTP_REQUESTS: &str = "beacon_http_requests_total";
/// HTTP request latency by `service` and `route`.
pub const HTTP_SECONDS: &str = "beacon_http_request_duration_seconds";
/// Events acknowledged by Kafka and answered 202.
pub const EVENTS_ACCEPTED: &str = "beacon_events_accepted_total";
/// Events refused at ingestion, by `reason` (the field at fault, or `body`).
pub const EVENTS_REJECTED: &str = "beacon_events_rejected_total";
/// Eids remembered for receipts (events accepted with `POST /event?receipt=1`).
pub const RECEIPTS_REMEMBERED: &str = "beacon_receipts_remembered_total";
/// Eids asked about in `POST /event/receipts`, and how many of them were answered as received
/// (the rest the tracker re-sends: their ratio is the traffic receipts save).
pub const RECEIPTS_ASKED: &str = "beacon_receipts_asked_total";
pub const RECEIPTS_RECEIVED: &str = "beacon_receipts_received_total";
/// Time from publish to the last Kafka acknowledgement of a request's events.
pub const PRODUCE_SECONDS: &str = "beacon_kafka_produce_duration_seconds";
/// Publishes that failed (timeout, queue full, broker error), by `kind`.
pub const DELIVERY_ERRORS: &str = "beacon_kafka_delivery_errors_total";
/// Events the worker stored for the first time.
pub const EVENTS_STORED: &str = "beacon_worker_events_stored_total";
/// Events the worker found already stored (replays, client retries).
pub const EVENTS_DUPLICATE: &str = "beacon_worker_events_duplicate_total";
/// Bot and script events counted as filtered instead of stored.
pub const BOTS_FILTERED: &str = "beacon_worker_bots_filtered_total";
/// Records sent to the dead-letter topic.
pub const DEAD_LETTERS: &str = "beacon_worker_dead_letters_total";
/// MongoDB bulk-insert latency.
pub const MONGO_WRITE_SECONDS: &str = "beacon_mongo_write_duration_seconds";
/// MongoDB writes that failed and will be retried.
pub const MONGO_WRITE_ERRORS: &str = "beacon_mongo_write_errors_total";
/// Records not yet consumed, by `partition`.
pub const CONSUMER_LAG: &str = "beacon_consumer_lag";
/// Worker checkpoints (visitor states saved, then offsets committed), and how long each took.
pub const CHECKPOINTS: &str = "beacon_worker_checkpoints_total";
pub const CHECKPOINT_SECONDS: &str = "beacon_worker_checkpoint_duration_seconds";
/// Visitor states the worker holds in memory, and how many of them are not saved yet (what a
/// crash would make it rebuild by replaying).
pub const STATES_HELD: &str = "beacon_worker_visitor_states_held";
pub const STATES_UNSAVED: &str = "beacon_worker_visitor_states_unsaved";
/// Rollup deltas the worker holds, not yet written (under a backlog it writes them every few
/// batches; 0 once it has caught up and checkpointed).
pub const ROLLUP_DELTAS_HELD: &str = "beacon_worker_rollup_deltas_held";
/// Rollup documents the worker wrote (inserted or updated), one per document and write: with
/// events stored and state saves, how much the store is asked to write per event.
pub const ROLLUP_WRITES: &str = "beacon_worker_rollup_writes_total";
/// Checkpoints that found a visitor state moved by another worker and re-applied their window.
pub const STATE_CONFLICTS: &str = "beacon_worker_state_conflicts_total";
/// 1 while partitions wait with nobody consuming them: this worker holds none, or only others
/// that it works while the rest of the group's stand still below the topic's end.
pub const WORKER_STARVED: &str = "beacon_worker_starved";
/// 1 while partitions this worker holds have records past its position and none arrives.
pub const WORKER_STALLED: &str = "beacon_worker_stalled";
/// Times a starved or stalled worker left its group and joined it again.
pub const WORKER_REJOINS: &str = "beacon_worker_rejoins_total";
/// Daily rollup documents the report service keeps for breakdowns, each day's while its total
/// stands (`store/day_cache.rs`; at most `REPORT_CACHE_ROLLUPS`).
pub const ROLLUPS_KEPT: &str = "beacon_report_rollups_kept";

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the process-wide recorder on first use and returns its handle.
pub fn handle() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let buckets = [
            0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
        ];
        PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &buckets)
            .expect("bucket list is not empty")
            .install_recorder()
            .expect("no other metrics recorder is installed")
    })
}

/// `GET /metrics` in the Prometheus text format.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    operation_id = "getMetrics",
    summary = "Prometheus metrics",
    description = "Prometheus text exposition format: request counts and latencies per route \
        (`beacon_http_requests_total`, `beacon_http_request_duration_seconds`), events accepted \
        and rejected, Kafka produce latency and delivery errors, worker stores, duplicates and \
        dead letters, the rollup documents the report service keeps.",
    responses((status = 200, description = "The metrics.", content_type = "text/plain", body = String,
        example = json!("beacon_events_accepted_total 42\n"))),
)]
pub async fn render() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        handle().render(),
    )
}
