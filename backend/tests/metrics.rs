//! `/metrics` over the wire on all three services, with exact counts: this file holds a single
//! test, so the process-wide registry sees only its traffic.

mod support;

use reqwest::StatusCode;
use serde_json::json;
use support::TestSystem;

/// The value of the sample `name{labels...}` in a Prometheus text exposition.
fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines().find_map(|line| {
        let rest = line.strip_prefix(name)?;
        if !(rest.starts_with('{') || rest.starts_with(' ')) {
            return None;
        }
        let (label_part, value) = rest.rsplit_once(' ')?;
        labels
            .iter()
            .all(|(k, v)| label_part.contains(&format!("{k}=\"{v}\"")))
            .then(|| value.parse().ok())?
    })
}

#[tokio::test]
async fn every_service_exposes_prometheus_metrics_with_exact_counts() {
    let system = TestSystem::start().await;
    let valid = json!({"site_id":"m","event_type":"page_view","path":"/"});
    for _ in 0..3 {
        assert_eq!(system.post(&valid).await.0, StatusCode::ACCEPTED);
    }
    let (status, _) = system
        .post(&json!({"site_id":"m","event_type":"page_view"}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = system
        .post(&json!([valid, {"site_id":"bad site","event_type":"x","path":"/"}]))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    system.wait_stored(4).await;
    assert_eq!(system.stats("site_id=m").await.1["total_views"], 4);

    let ingest = system.metrics(&system.ingest_url).await;
    assert_eq!(
        sample(&ingest, "beacon_events_accepted_total", &[]),
        Some(4.0)
    );
    assert_eq!(
        sample(
            &ingest,
            "beacon_events_rejected_total",
            &[("reason", "path")]
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &ingest,
            "beacon_events_rejected_total",
            &[("reason", "site_id")]
        ),
        Some(1.0)
    );
    let requests = |status: &str| {
        sample(
            &ingest,
            "beacon_http_requests_total",
            &[
                ("service", "ingest"),
                ("route", "/event"),
                ("status", status),
            ],
        )
    };
    assert_eq!((requests("202"), requests("400")), (Some(4.0), Some(1.0)));
    assert_eq!(
        sample(&ingest, "beacon_kafka_produce_duration_seconds_count", &[]),
        Some(4.0)
    );

    let worker_url = system.worker_url.clone().unwrap();
    let worker = system.metrics(&worker_url).await;
    assert_eq!(
        sample(&worker, "beacon_worker_events_stored_total", &[]),
        Some(4.0)
    );
    assert!(sample(&worker, "beacon_mongo_write_duration_seconds_count", &[]).unwrap() >= 1.0);
    // The topic went quiet: the worker checkpoints (saves the visitor states it holds, commits).
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    let worker = loop {
        let worker = system.metrics(&worker_url).await;
        if sample(&worker, "beacon_worker_checkpoints_total", &[]).is_some_and(|n| n >= 1.0) {
            break worker;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no checkpoint in 10 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert_eq!(
        sample(&worker, "beacon_worker_visitor_states_unsaved", &[]),
        Some(0.0)
    );
    assert_eq!(
        sample(&worker, "beacon_worker_rollup_deltas_held", &[]),
        Some(0.0)
    );
    assert!(sample(&worker, "beacon_worker_visitor_states_held", &[]).unwrap() >= 1.0);
    assert!(
        sample(
            &worker,
            "beacon_worker_checkpoint_duration_seconds_count",
            &[]
        )
        .unwrap()
            >= 1.0
    );
    let ready = system
        .http
        .get(format!("{worker_url}/readyz"))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), StatusCode::OK);

    let report = system.metrics(&system.report_url).await;
    let stats_requests = [
        ("service", "report"),
        ("route", "/stats"),
        ("status", "200"),
    ];
    assert_eq!(
        sample(&report, "beacon_http_requests_total", &stats_requests),
        Some(1.0)
    );
    // That request's top paths: the day's path documents read are kept while its total stands.
    assert!(sample(&report, "beacon_report_rollups_kept", &[]).unwrap() >= 1.0);

    // Every answer says how long the service took, as browsers' Server-Timing reads it.
    let timed = system
        .http
        .get(format!("{}/stats?site_id=m", system.report_url))
        .send()
        .await
        .unwrap();
    let timing = timed.headers()["server-timing"].to_str().unwrap();
    let ms: f64 = timing
        .strip_prefix("app;dur=")
        .and_then(|d| d.parse().ok())
        .unwrap_or_else(|| panic!("not `app;dur=<ms>`: {timing:?}"));
    assert!(ms > 0.0 && ms < 60_000.0, "{timing}");
    assert_eq!(
        timed.json::<serde_json::Value>().await.unwrap()["total_views"],
        4
    );

    // Request ids: kept when the client sends one, made up otherwise, echoed either way.
    let traced = system
        .http
        .get(format!("{}/healthz", system.report_url))
        .header("x-request-id", "trace-me-42")
        .send()
        .await
        .unwrap();
    assert_eq!(traced.headers()["x-request-id"], "trace-me-42");
    let fresh = system
        .http
        .get(format!("{}/healthz", system.ingest_url))
        .send()
        .await
        .unwrap();
    let id = fresh.headers()["x-request-id"].to_str().unwrap();
    assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");
    system.shutdown().await;
}
