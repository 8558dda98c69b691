//! Poison records on the topic go to the dead-letter topic and the rest keeps flowing.

mod support;

use std::time::{Duration, Instant};

use beacon::pipeline::Producer;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};
use reqwest::StatusCode;
use serde_json::{json, Value};
use support::TestSystem;

/// Reads every record of the (single-partition) dead-letter topic, waiting for `count` of them.
fn read_dead_letters(broker: &str, topic: &str, count: usize) -> Vec<Value> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", broker)
        .set("group.id", format!("dlq-reader-{}", uuid::Uuid::new_v4()))
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let mut assignment = TopicPartitionList::new();
    assignment
        .add_partition_offset(topic, 0, Offset::Beginning)
        .unwrap();
    consumer.assign(&assignment).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut letters = Vec::new();
    while letters.len() < count && Instant::now() < deadline {
        if let Some(Ok(message)) = consumer.poll(Duration::from_millis(200)) {
            letters.push(serde_json::from_slice(message.payload().unwrap()).unwrap());
        }
    }
    letters
}

#[tokio::test]
async fn poison_records_land_in_the_dead_letter_topic_and_the_rest_flows() {
    let system = TestSystem::start().await;
    // Make sure the topics exist before writing to them directly.
    beacon::pipeline::topics::ensure(&system.config)
        .await
        .unwrap();
    let producer = Producer::new(&system.config, "test-poisoner").unwrap();
    let poison: [&[u8]; 3] = [
        b"this is not json",
        br#"{"site_id":"dlq","event_type":"page_view"}"#,
        &[0xff, 0x00, 0xfe],
    ];
    producer
        .send_all(
            &system.config.kafka_topic,
            poison.iter().map(|p| ("dlq", *p)),
        )
        .await
        .unwrap();
    let (status, _) = system
        .post(&json!({"site_id":"dlq","event_type":"page_view","path":"/fine"}))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    system.wait_stored(1).await;
    assert_eq!(system.stats("site_id=dlq").await.1["total_views"], 1);

    let broker = system.config.kafka_broker.clone();
    let dlq = system.config.dlq_topic.clone();
    let letters = tokio::task::spawn_blocking(move || read_dead_letters(&broker, &dlq, 3))
        .await
        .unwrap();
    assert_eq!(letters.len(), 3, "{letters:?}");
    assert_eq!(letters[0]["payload"], "this is not json");
    assert!(
        letters[1]["reason"]
            .as_str()
            .unwrap()
            .contains("missing field"),
        "{}",
        letters[1]
    );
    for letter in &letters {
        assert_eq!(letter["topic"], system.config.kafka_topic.as_str());
        assert!(letter["offset"].is_i64());
    }
    system.shutdown().await;
}

#[tokio::test]
async fn ingestion_creates_the_topic_with_three_partitions_and_the_dead_letter_topic() {
    let system = TestSystem::start_with(&[], false).await;
    assert!(
        system.wait_ready(&system.ingest_url).await,
        "ingestion never ready"
    );
    let (broker, topic, dlq) = (
        system.config.kafka_broker.clone(),
        system.config.kafka_topic.clone(),
        system.config.dlq_topic.clone(),
    );
    let partitions = tokio::task::spawn_blocking(move || {
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", &broker)
            .create()
            .unwrap();
        let count = |name: &str| {
            let metadata = consumer
                .fetch_metadata(Some(name), Duration::from_secs(5))
                .unwrap();
            metadata.topics()[0].partitions().len()
        };
        (count(&topic), count(&dlq))
    })
    .await
    .unwrap();
    assert_eq!(partitions, (3, 1));
    system.shutdown().await;
}
