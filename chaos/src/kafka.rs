//! Direct broker access: the consumer group's lag (committed offsets against high watermarks),
//! a topic's record count, and raw (poison) records.

use std::time::Duration;

use anyhow::{Context, Result};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

/// One partition: the group's committed offset and the high watermark.
#[derive(Debug, Clone, Copy)]
pub struct Offsets {
    pub committed: i64,
    pub high: i64,
}

/// Records the group has not committed yet, over `offsets` (each partition's).
pub fn uncommitted(offsets: &[Offsets]) -> i64 {
    offsets.iter().map(|o| (o.high - o.committed).max(0)).sum()
}

#[derive(Clone)]
pub struct Broker {
    pub addr: String,
}

impl Broker {
    fn consumer(&self, group: &str) -> Result<BaseConsumer> {
        Ok(ClientConfig::new()
            .set("bootstrap.servers", &self.addr)
            .set("group.id", group)
            .set("enable.auto.commit", "false")
            .set("socket.connection.setup.timeout.ms", "3000")
            .set("log_level", "3")
            .create()?)
    }

    /// Per partition of `topic`: where the group's committed offset stands (the low watermark
    /// if it committed none) and the high watermark; blocking.
    fn offsets_blocking(&self, topic: &str, group: &str, partitions: i32) -> Result<Vec<Offsets>> {
        let consumer = self.consumer(group)?;
        let timeout = Duration::from_secs(3);
        let mut tpl = TopicPartitionList::new();
        for p in 0..partitions {
            tpl.add_partition(topic, p);
        }
        let committed = consumer.committed_offsets(tpl, timeout)?;
        (0..partitions)
            .map(|p| {
                let (low, high) = consumer.fetch_watermarks(topic, p, timeout)?;
                let committed = committed
                    .find_partition(topic, p)
                    .and_then(|e| match e.offset() {
                        Offset::Offset(o) => Some(o),
                        _ => None,
                    })
                    .unwrap_or(low);
                Ok(Offsets { committed, high })
            })
            .collect()
    }

    /// Where the group stands in each partition of `topic` against its high watermark.
    pub async fn offsets(&self, topic: &str, group: &str, partitions: i32) -> Result<Vec<Offsets>> {
        let (b, t, g) = (self.clone(), topic.to_owned(), group.to_owned());
        tokio::task::spawn_blocking(move || b.offsets_blocking(&t, &g, partitions)).await?
    }

    /// Records of `topic` the group has not committed yet (all partitions).
    pub async fn lag(&self, topic: &str, group: &str, partitions: i32) -> Result<i64> {
        Ok(uncommitted(&self.offsets(topic, group, partitions).await?))
    }

    /// Records in every partition of `topic`, counted by reading them all from the start.
    /// (Watermarks would not do: Tansu 0.6 gives a batch of records a single offset.)
    pub async fn records(&self, topic: &str) -> Result<i64> {
        let (b, t) = (self.clone(), topic.to_owned());
        tokio::task::spawn_blocking(move || -> Result<i64> {
            let consumer = b.consumer("beacon-chaos-probe")?;
            let timeout = Duration::from_secs(3);
            let metadata = consumer.fetch_metadata(Some(&t), timeout)?;
            let mut tpl = TopicPartitionList::new();
            for topic in metadata.topics() {
                for p in topic.partitions() {
                    tpl.add_partition_offset(&t, p.id(), Offset::Beginning)?;
                }
            }
            consumer.assign(&tpl)?;
            let mut n = 0;
            // Until the topic has been quiet for a second.
            while let Some(message) = consumer.poll(Duration::from_secs(1)) {
                if message.is_ok() {
                    n += 1;
                }
            }
            Ok(n)
        })
        .await?
    }

    /// Produces raw records (key, payload) to `topic` and waits for their acknowledgements.
    pub async fn produce_raw(&self, topic: &str, records: &[(&str, &[u8])]) -> Result<()> {
        let producer: FutureProducer = ClientConfig::new()
            .set("bootstrap.servers", &self.addr)
            .set("acks", "all")
            .set("message.timeout.ms", "10000")
            .create()?;
        for (key, payload) in records {
            producer
                .send(
                    FutureRecord::to(topic).key(*key).payload(*payload),
                    Duration::from_secs(10),
                )
                .await
                .map_err(|(e, _)| e)
                .with_context(|| format!("producing a raw record to {topic}"))?;
        }
        Ok(())
    }
}
