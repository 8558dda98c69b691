//! Publishing to Kafka with delivery confirmation.
//!
//! Ingestion answers `202` only after Kafka acknowledged every accepted event, so [`EventSink`]
//! resolves only when all deliveries are confirmed (acks=all, idempotent producer) and fails,
//! within the configured timeout, otherwise. The HTTP layer depends on the trait, not on rdkafka,
//! so its unit tests can run without a broker.

use std::future::Future;
use std::time::Duration;

use beacon_event::Event;
use futures::future::join_all;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer as _};
use rdkafka::util::Timeout;

use crate::config::Config;

/// Why events could not be published. Every variant means "not accepted; retry later".
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    #[error("the event queue is full")]
    QueueFull,
    #[error("Kafka did not acknowledge in time")]
    Timeout,
    #[error("Kafka refused the events: {0}")]
    Kafka(#[from] KafkaError),
    #[error("could not encode the event: {0}")]
    Encode(#[from] serde_json::Error),
}

/// Where ingestion sends validated events.
pub trait EventSink: Send + Sync + 'static {
    /// Publishes every event; `Ok` only once all of them are durably acknowledged.
    fn publish(&self, events: &[Event]) -> impl Future<Output = Result<(), SinkError>> + Send;

    /// Whether the destination answers right now (for `/readyz`).
    fn is_ready(&self) -> impl Future<Output = bool> + Send;

    /// Waits up to `timeout` for anything still queued, at shutdown.
    fn flush(&self, timeout: Duration) -> impl Future<Output = ()> + Send;
}

/// A shared, cheaply cloneable rdkafka producer with the settings Beacon relies on.
#[derive(Clone)]
pub struct Producer {
    inner: FutureProducer,
    ack_timeout: Duration,
}

impl Producer {
    pub fn new(config: &Config, client_id: &str) -> Result<Self, KafkaError> {
        let timeout_ms = config.produce_timeout.as_millis().to_string();
        let inner: FutureProducer = super::client_config(&config.kafka_broker, client_id)
            // Durability first: all in-sync replicas, no duplicates from internal retries.
            .set("acks", "all")
            .set("enable.idempotence", config.kafka_idempotence.to_string())
            // Bounded wait: a delivery not confirmed by then fails and the client gets 503.
            .set("message.timeout.ms", &timeout_ms)
            // A short linger lets concurrent requests share broker round trips; every 202
            // waits for it (KAFKA_LINGER_MS, measured in docs/benchmarks.md).
            .set("linger.ms", config.kafka_linger_ms.to_string())
            .set("compression.type", "lz4")
            .set("queue.buffering.max.messages", "500000")
            .create()?;
        Ok(Self {
            inner,
            ack_timeout: config.produce_timeout,
        })
    }

    /// Enqueues one record and returns a future of its acknowledgement.
    fn enqueue(
        &self,
        topic: &str,
        key: &str,
        payload: &[u8],
    ) -> Result<impl Future<Output = Result<(), SinkError>>, SinkError> {
        let record = FutureRecord::to(topic).key(key).payload(payload);
        let delivery = self.inner.send_result(record).map_err(|(e, _)| match e {
            KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull) => SinkError::QueueFull,
            other => SinkError::Kafka(other),
        })?;
        Ok(async move {
            match delivery.await {
                Ok(Ok(_)) => Ok(()),
                Ok(Err((KafkaError::MessageProduction(RDKafkaErrorCode::MessageTimedOut), _))) => {
                    Err(SinkError::Timeout)
                }
                Ok(Err((e, _))) => Err(SinkError::Kafka(e)),
                // The producer was dropped with the record still queued.
                Err(_canceled) => Err(SinkError::Timeout),
            }
        })
    }

    /// Publishes raw records and waits for every acknowledgement.
    pub async fn send_all<'a>(
        &self,
        topic: &str,
        records: impl IntoIterator<Item = (&'a str, &'a [u8])>,
    ) -> Result<(), SinkError> {
        let mut deliveries = Vec::new();
        for (key, payload) in records {
            deliveries.push(self.enqueue(topic, key, payload)?);
        }
        // librdkafka enforces message.timeout.ms; this outer bound only guards against a
        // delivery report that never arrives.
        let all = join_all(deliveries);
        let results = tokio::time::timeout(self.ack_timeout + Duration::from_secs(1), all)
            .await
            .map_err(|_| SinkError::Timeout)?;
        results.into_iter().collect()
    }

    /// Asks the broker for the topic's metadata; true if it answered in time.
    pub async fn can_reach(&self, topic: &str) -> bool {
        let producer = self.inner.clone();
        let topic = topic.to_owned();
        tokio::task::spawn_blocking(move || {
            producer
                .client()
                .fetch_metadata(Some(&topic), Duration::from_secs(2))
                .is_ok_and(|m| m.topics().iter().any(|t| t.error().is_none()))
        })
        .await
        .unwrap_or(false)
    }

    /// Waits for everything queued to be delivered; called on shutdown.
    pub async fn flush(&self, timeout: Duration) {
        let producer = self.inner.clone();
        let result =
            tokio::task::spawn_blocking(move || producer.flush(Timeout::After(timeout))).await;
        match result {
            Ok(Ok(())) => tracing::info!("producer flushed"),
            Ok(Err(e)) => tracing::error!(error = %e, "producer flush incomplete"),
            Err(e) => tracing::error!(error = %e, "producer flush task failed"),
        }
    }
}

/// The production [`EventSink`]: one Kafka record per event, keyed by site.
#[derive(Clone)]
pub struct KafkaSink {
    producer: Producer,
    topic: String,
}

impl KafkaSink {
    pub fn new(config: &Config) -> Result<Self, KafkaError> {
        Ok(Self {
            producer: Producer::new(config, "beacon-ingest")?,
            topic: config.kafka_topic.clone(),
        })
    }
}

impl EventSink for KafkaSink {
    async fn publish(&self, events: &[Event]) -> Result<(), SinkError> {
        let payloads = events
            .iter()
            .map(serde_json::to_vec)
            .collect::<Result<Vec<_>, _>>()?;
        let records = events
            .iter()
            .zip(&payloads)
            .map(|(e, p)| (e.key(), p.as_slice()));
        self.producer.send_all(&self.topic, records).await
    }

    async fn is_ready(&self) -> bool {
        self.producer.can_reach(&self.topic).await
    }

    async fn flush(&self, timeout: Duration) {
        self.producer.flush(timeout).await;
    }
}
