//! A worker left without a partition, or beside partitions nobody consumes, while its group's
//! events wait says so on `/readyz` and in its metrics, keeps joining the group again, and
//! consumes everything once it is given work: over the wire, with Tansu.

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
    // One partition, held by the hoarder: the worker has none.
    let reason = starved_until_the_hoarder_leaves("1", |stored| stored == 0).await;
    assert!(reason.contains("starved: none assigned"), "{reason}");
}

#[tokio::test]
async fn a_worker_beside_a_dead_members_partition_says_so_and_consumes_it_once_given_it() {
    // Two partitions: the worker stores its own while the hoarder's wait.
    let reason = starved_until_the_hoarder_leaves("2", |stored| stored > 0 && stored < 20).await;
    assert!(reason.contains("starved: partitions "), "{reason}");
    assert!(
        reason.contains(" wait with no member consuming them"),
        "{reason}"
    );
}

/// Posts 20 events of 20 sites (so over every partition), lets a hoarder take what the
/// range assignor gives it (partition 0), starts a worker and checks that it reports the
/// waiting partitions on `/readyz` and in metrics with `stored` events in MongoDB; then the
/// hoarder leaves and the worker must store all 20. Returns `/readyz`'s reason.
async fn starved_until_the_hoarder_leaves(partitions: &str, stored: fn(u64) -> bool) -> String {
    let mut system = TestSystem::start_with(
        &[
            ("WORKER_STARVED_AFTER_MS", "2000"),
            ("WORKER_CHECKPOINT_MS", "1000"),
            ("KAFKA_PARTITIONS", partitions),
        ],
        false,
    )
    .await;
    for i in 0..20 {
        let site = format!("starve{i}");
        let event = json!({"site_id": site, "event_type": "page_view", "path": format!("/p{i}")});
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
    let reason = body["dependency"].as_str().unwrap().to_owned();
    let metrics = system.metrics(&worker).await;
    assert!(metrics.contains("beacon_worker_starved 1"), "{metrics}");
    assert!(metrics.contains("beacon_worker_rejoins_total"), "{metrics}");
    let before = system.stored().await;
    assert!(stored(before), "{before} stored while starved");

    // The hoarder leaves: the worker, rejoining, gets every partition and stores everything.
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
    reason
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
        let metrics = system.metrics(&worker).await;
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
