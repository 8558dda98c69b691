//! A worker left without a partition while its group's events wait says so on `/readyz` and in
//! its metrics, keeps joining the group again, and consumes everything once it is given work:
//! over the wire, with Tansu.

mod support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::ClientConfig;
use reqwest::StatusCode;
use serde_json::json;
use support::{TestSystem, CHROME};

/// A group member that holds the topic's only partition and never consumes: what a member
/// the broker still counts (a crashed worker, a stuck one) leaves behind. Its client id sorts
/// before the worker's, so the range assignor gives it the partition.
fn hoarder(system: &TestSystem, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<()> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &system.config.kafka_broker)
        .set("group.id", &system.config.consumer_group)
        .set("client.id", "aaa-hoarder")
        .set("enable.auto.commit", "false")
        .set("session.timeout.ms", "10000")
        .set("heartbeat.interval.ms", "1000")
        .set("partition.assignment.strategy", "range,roundrobin")
        .create()
        .unwrap();
    consumer.subscribe(&[&system.config.kafka_topic]).unwrap();
    std::thread::spawn(move || {
        // Polls only to stay in the group (and take part in rebalances), never to consume:
        // it pauses what it is given.
        while !stop.load(Ordering::Relaxed) {
            let _ = consumer.poll(Duration::from_millis(100));
            if let Ok(assigned) = consumer.assignment() {
                if assigned.count() > 0 {
                    let _ = consumer.pause(&assigned);
                }
            }
        }
        consumer.unsubscribe();
        drop(consumer);
    })
}

#[tokio::test]
async fn a_starved_worker_says_so_rejoins_and_consumes_once_given_work() {
    let mut system = TestSystem::start_with(
        &[
            ("WORKER_STARVED_AFTER_MS", "2000"),
            ("KAFKA_PARTITIONS", "1"),
        ],
        false,
    )
    .await;
    for i in 0..20 {
        let event =
            json!({"site_id": "starve", "event_type": "page_view", "path": format!("/p{i}")});
        let (status, body) = system
            .post_as(&event, &format!("198.51.100.{i}"), CHROME)
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    }
    let stop = Arc::new(AtomicBool::new(false));
    let hoarding = hoarder(&system, stop.clone());
    tokio::time::sleep(Duration::from_secs(4)).await;

    system.start_worker();
    let worker = system.worker_url.clone().unwrap();
    let body = system
        .wait_readyz(
            &worker,
            StatusCode::SERVICE_UNAVAILABLE,
            Duration::from_secs(40),
        )
        .await
        .expect("a starved worker is not ready");
    assert!(
        body["dependency"].as_str().unwrap().contains("starved"),
        "{body}"
    );
    let metrics = system
        .http
        .get(format!("{worker}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("beacon_worker_starved 1"), "{metrics}");
    assert!(metrics.contains("beacon_worker_rejoins_total"), "{metrics}");
    assert_eq!(system.stored().await, 0);

    // The hoarder leaves: the worker, rejoining, gets the partition and stores everything.
    stop.store(true, Ordering::Relaxed);
    hoarding.join().unwrap();
    system.wait_stored(20).await;
    assert!(
        system
            .wait_readyz(&worker, StatusCode::OK, Duration::from_secs(20))
            .await
            .is_some(),
        "ready again once it consumes"
    );
    system.shutdown().await;
}

#[tokio::test]
async fn beacon_admin_status_shows_events_waiting_and_when_events_were_last_stored() {
    let mut system = TestSystem::start_with(&[], false).await;
    let status = |system: &TestSystem| {
        let env = [
            ("KAFKA_BROKER", system.config.kafka_broker.as_str()),
            ("KAFKA_TOPIC", system.config.kafka_topic.as_str()),
            ("KAFKA_GROUP", system.config.consumer_group.as_str()),
        ];
        let output = system.admin_with(&["status"], &env);
        assert!(output.status.success(), "{output:?}");
        support::stdout(&output)
    };
    for i in 0..7 {
        let event =
            json!({"site_id": "status", "event_type": "page_view", "path": format!("/s{i}")});
        let (status, body) = system
            .post_as(&event, &format!("198.51.100.{i}"), CHROME)
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    }
    // No worker yet: all seven wait, and nothing was ever stored.
    let before = status(&system);
    assert!(
        before.contains("waiting for the worker: 7 events"),
        "{before}"
    );
    assert!(before.contains("worker: no events stored yet"), "{before}");

    system.start_worker();
    system.wait_stored(7).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let after = loop {
        let now = status(&system);
        if now.contains("waiting for the worker: 0 events") && now.contains("last stored events")
            || tokio::time::Instant::now() > deadline
        {
            break now;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert!(
        after.contains("waiting for the worker: 0 events"),
        "{after}"
    );
    assert!(after.contains("worker: last stored events"), "{after}");

    // The worker's own lag gauge, per assigned partition (refreshed every 5 s), comes to 0 too.
    let worker = system.worker_url.clone().unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let lags = loop {
        let metrics = system
            .http
            .get(format!("{worker}/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let lags: Vec<String> = metrics
            .lines()
            .filter(|l| l.starts_with("beacon_consumer_lag{"))
            .map(str::to_owned)
            .collect();
        let drained = lags.len() == 3 && lags.iter().all(|l| l.ends_with(" 0"));
        if drained || tokio::time::Instant::now() > deadline {
            break lags;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert_eq!(lags.len(), 3, "{lags:?}");
    assert!(lags.iter().all(|l| l.ends_with(" 0")), "{lags:?}");
    system.shutdown().await;
}
