//! Reading the `events` topic in batches and committing what was stored.
//!
//! Auto-commit is off: the worker commits a batch's offsets only after MongoDB acknowledged its
//! events (and the dead-letter topic its rejects). A crash before the commit replays the batch;
//! storage is idempotent on `eid`, so a replay never double-counts.

use std::collections::BTreeMap;
use std::time::Duration;

use rdkafka::consumer::{CommitMode, Consumer as _, StreamConsumer};
use rdkafka::error::KafkaError;
use rdkafka::{Message as _, Offset, TopicPartitionList};

use crate::config::Config;
use crate::shutdown::Shutdown;

/// One record, detached from the consumer so batches can be held across awaits.
#[derive(Debug, Clone)]
pub struct Record {
    pub partition: i32,
    pub offset: i64,
    pub payload: Vec<u8>,
}

pub struct EventConsumer {
    inner: StreamConsumer,
    topic: String,
}

impl EventConsumer {
    /// Joins the configured consumer group and subscribes to the events topic.
    pub fn subscribe(config: &Config) -> Result<Self, KafkaError> {
        let inner: StreamConsumer = super::client_config(&config.kafka_broker, "beacon-worker")
            .set("group.id", &config.consumer_group)
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            // A new group starts from the oldest retained event: nothing accepted is skipped.
            .set("auto.offset.reset", "earliest")
            .set("session.timeout.ms", "10000")
            .set("heartbeat.interval.ms", "1000")
            // Realtime reports promise an event within 2 s: never let an idle fetch long-poll
            // hold new records back for librdkafka's default 500 ms.
            .set("fetch.wait.max.ms", "100")
            .create()?;
        inner.subscribe(&[&config.kafka_topic])?;
        Ok(Self {
            inner,
            topic: config.kafka_topic.clone(),
        })
    }

    /// Waits for at least one record, then gathers up to `max` more for at most `wait`.
    /// Returns `None` when shutdown is requested before the first record arrives.
    pub async fn next_batch(
        &self,
        max: usize,
        wait: Duration,
        shutdown: &mut Shutdown,
    ) -> Option<Vec<Record>> {
        let first = loop {
            tokio::select! {
                _ = shutdown.wait() => return None,
                received = self.inner.recv() => match received {
                    Ok(message) => break message.detach(),
                    Err(e) => {
                        tracing::warn!(error = %e, "consumer error; retrying");
                        tokio::time::sleep(Duration::from_millis(500)).await;
                    }
                },
            }
        };
        let mut batch = vec![first];
        let deadline = tokio::time::Instant::now() + wait;
        while batch.len() < max {
            match tokio::time::timeout_at(deadline, self.inner.recv()).await {
                Ok(Ok(message)) => batch.push(message.detach()),
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "consumer error while filling a batch");
                    break;
                }
                Err(_elapsed) => break,
            }
        }
        Some(
            batch
                .into_iter()
                .map(|m| Record {
                    partition: m.partition(),
                    offset: m.offset(),
                    payload: m.payload().map(<[u8]>::to_vec).unwrap_or_default(),
                })
                .collect(),
        )
    }

    /// Sets the lag gauge (high watermark − position) for each assigned partition. Blocking
    /// broker round trips: call it now and then, not per record.
    pub fn record_lag(&self) {
        let Ok(positions) = self.inner.position() else {
            return;
        };
        for element in positions.elements() {
            let partition = element.partition();
            let Ok((low, high)) =
                self.inner
                    .fetch_watermarks(&self.topic, partition, Duration::from_secs(1))
            else {
                continue;
            };
            let position = match element.offset() {
                Offset::Offset(offset) => offset,
                _ => low,
            };
            metrics::gauge!(crate::metrics::CONSUMER_LAG, "partition" => partition.to_string())
                .set((high - position).max(0) as f64);
        }
    }

    /// Commits, per partition, the offset after the highest record in `records`.
    pub fn commit(&self, records: &[Record]) -> Result<(), KafkaError> {
        let mut next: BTreeMap<i32, i64> = BTreeMap::new();
        for r in records {
            let entry = next.entry(r.partition).or_insert(r.offset + 1);
            *entry = (*entry).max(r.offset + 1);
        }
        let mut list = TopicPartitionList::new();
        for (partition, offset) in next {
            list.add_partition_offset(&self.topic, partition, Offset::Offset(offset))?;
        }
        self.inner.commit(&list, CommitMode::Sync)
    }
}
