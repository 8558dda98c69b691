//! Sending records that can never be stored to the dead-letter topic, so they are kept for an
//! operator and the partition moves on.

use std::time::Duration;

use super::decode::DeadLetter;
use crate::backoff::retry;
use crate::config::Config;
use crate::metrics::DEAD_LETTERS;
use crate::pipeline::Producer;
use crate::shutdown::Shutdown;
use crate::ServiceError;

pub struct DeadLetters {
    producer: Producer,
    topic: String,
}

impl DeadLetters {
    pub fn new(config: &Config) -> Result<Self, ServiceError> {
        Ok(Self {
            producer: Producer::new(config, "beacon-worker-dlq")?,
            topic: config.dlq_topic.clone(),
        })
    }

    /// Sends `dead` until the broker takes them; `None` if shutdown came first (the batch is
    /// then not applied, and its records come again after the restart).
    pub async fn send(&self, dead: &[DeadLetter], shutdown: &mut Shutdown) -> Option<()> {
        if dead.is_empty() {
            return Some(());
        }
        let envelopes: Vec<Vec<u8>> = dead
            .iter()
            .map(|d| serde_json::to_vec(d).expect("a dead letter always serializes"))
            .collect();
        for d in dead {
            tracing::warn!(partition = d.partition, offset = d.offset, reason = %d.reason, "record sent to the dead-letter topic");
        }
        let send = || {
            let records = envelopes.iter().map(|e| ("dlq", e.as_slice()));
            self.producer.send_all(&self.topic, records)
        };
        retry("write dead letters", shutdown, send).await?;
        metrics::counter!(DEAD_LETTERS).increment(dead.len() as u64);
        Some(())
    }

    /// Waits (a bounded time) for letters still in the producer's queue, at shutdown.
    pub async fn flush(&self) {
        self.producer.flush(Duration::from_secs(5)).await;
    }
}
