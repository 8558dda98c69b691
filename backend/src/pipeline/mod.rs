//! The Kafka leg of the pipeline: the producer ingestion publishes through, the consumer the
//! worker reads from, and the topics both rely on.
//!
//! Nothing outside this module touches rdkafka types; ingestion sees the [`EventSink`] trait and
//! the worker sees [`consumer::EventConsumer`].

pub mod consumer;
pub mod producer;
pub mod topics;

pub use producer::{EventSink, KafkaSink, Producer, SinkError};

use rdkafka::ClientConfig;

/// Settings every client shares, so producer, consumer and admin find the broker the same way.
fn client_config(brokers: &str, client_id: &str) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", brokers)
        .set("client.id", client_id)
        // Fail over quickly between broker addresses and surface outages fast in logs.
        .set("socket.connection.setup.timeout.ms", "5000")
        .set("reconnect.backoff.max.ms", "2000")
        .set("log_level", "4");
    config
}
