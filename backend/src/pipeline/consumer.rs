//! Reading the `events` topic in batches and committing what was stored.
//!
//! Auto-commit is off: the worker commits offsets only after MongoDB acknowledged everything
//! before them (and the dead-letter topic its rejects). A crash before the commit replays from
//! the last commit; storage is idempotent by position, so a replay never double-counts.
//!
//! The worker keeps visitor states in memory between commits, which is only sound while it
//! owns their partitions. So the consumer counts rebalances and tells the worker when one
//! happened ([`Fetched::Records::rebalanced`]): with the eager protocol every partition is
//! revoked, records fetched before are discarded by librdkafka, and consumption resumes from
//! the committed offsets, the point the worker's saved states belong to.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rdkafka::consumer::{
    BaseConsumer, CommitMode, Consumer as _, ConsumerContext, Rebalance, StreamConsumer,
};
use rdkafka::error::KafkaError;
use rdkafka::message::OwnedMessage;
use rdkafka::{ClientContext, Message as _, Offset, TopicPartitionList};

use crate::config::Config;
use crate::shutdown::Shutdown;

/// One record, detached from the consumer so batches can be held across awaits.
#[derive(Debug, Clone)]
pub struct Record {
    pub partition: i32,
    pub offset: i64,
    pub payload: Vec<u8>,
}

/// Counts partition assignments and revocations.
#[derive(Default)]
pub struct RebalanceCounter(AtomicU64);

impl ClientContext for RebalanceCounter {}

impl ConsumerContext for RebalanceCounter {
    fn pre_rebalance(&self, _: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        self.0.fetch_add(1, Ordering::SeqCst);
        tracing::info!(?rebalance, "consumer group rebalance");
    }

    fn post_rebalance(&self, _: &BaseConsumer<Self>, _: &Rebalance<'_>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// What [`EventConsumer::next_batch`] got.
#[derive(Debug)]
pub enum Fetched {
    Records {
        records: Vec<Record>,
        /// Partitions were revoked or assigned since the previous batch. The records are all
        /// from after it: records received before it in the same batch are dropped, as
        /// librdkafka drops those it fetched before it, so a replay is never mixed with a
        /// continuation.
        rebalanced: bool,
    },
    /// A rebalance happened after the last record received: the records gathered (if any)
    /// were dropped, as belonging to the assignment that ended.
    Rebalanced,
    /// No record arrived within the idle wait.
    Idle,
    /// Shutdown was requested before a record arrived.
    Shutdown,
    /// The consumer can never consume again (e.g. fenced: another member runs with the same
    /// `group.instance.id`).
    Fatal(KafkaError),
}

/// What a member sees of one partition of its topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartitionView {
    pub partition: i32,
    /// Whether this member holds the partition.
    pub mine: bool,
    /// How far the partition has been consumed: this member's position (the offset after the
    /// last record it took) if it holds the partition, else the group's committed offset. It
    /// moves while anyone works on the partition.
    pub consumed: i64,
    /// The offset after the newest record.
    pub end: i64,
}

impl PartitionView {
    pub fn unconsumed(&self) -> i64 {
        (self.end - self.consumed).max(0)
    }
}

/// One partition: where the group's committed offset stands and where the topic ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartitionProgress {
    pub partition: i32,
    /// The oldest offset the partition still holds.
    pub start: i64,
    /// The group's committed offset (the partition's start if it never committed).
    pub committed: i64,
    /// The offset after the newest record.
    pub end: i64,
}

impl PartitionProgress {
    pub fn unconsumed(&self) -> i64 {
        (self.end - self.committed).max(0)
    }
}

/// The group's committed offset and the end of every partition of `topic`, as `consumer`'s
/// group sees them (it need not be subscribed). Blocking broker round trips.
fn partition_progress<X: ConsumerContext, C: rdkafka::consumer::Consumer<X>>(
    consumer: &C,
    topic: &str,
) -> Option<Vec<PartitionProgress>> {
    let timeout = Duration::from_secs(1);
    let metadata = consumer.fetch_metadata(Some(topic), timeout).ok()?;
    let mut all = TopicPartitionList::new();
    for partition in metadata.topics().first()?.partitions() {
        all.add_partition(topic, partition.id());
    }
    let committed = consumer.committed_offsets(all, timeout).ok()?;
    committed
        .elements()
        .iter()
        .map(|element| {
            let partition = element.partition();
            let (start, end) = consumer.fetch_watermarks(topic, partition, timeout).ok()?;
            let committed = match element.offset() {
                Offset::Offset(offset) => offset,
                _ => start,
            };
            Some(PartitionProgress {
                partition,
                start,
                committed,
                end,
            })
        })
        .collect()
}

/// The consumer group's progress on the events topic, from outside the group (for
/// `beacon-admin status`), or `None` if the broker did not answer.
pub fn group_progress(config: &Config) -> Result<Option<Vec<PartitionProgress>>, KafkaError> {
    let consumer: BaseConsumer = super::client_config(&config.kafka_broker, "beacon-admin")
        .set("group.id", &config.consumer_group)
        .set("enable.auto.commit", "false")
        .create()?;
    Ok(partition_progress(&consumer, &config.kafka_topic))
}

pub struct EventConsumer {
    inner: StreamConsumer<RebalanceCounter>,
    topic: String,
    /// Joined with a `group.instance.id`.
    is_static: bool,
    /// The rebalance count the worker has been told about.
    seen_rebalances: AtomicU64,
}

impl EventConsumer {
    /// Joins the configured consumer group and subscribes to the events topic.
    /// `static_member`: join with `WORKER_INSTANCE_ID` as `group.instance.id`, if it is set.
    pub fn subscribe(config: &Config, static_member: bool) -> Result<Self, KafkaError> {
        let mut client = super::client_config(&config.kafka_broker, "beacon-worker");
        let instance = config.worker_instance_id.as_ref().filter(|_| static_member);
        if let Some(id) = instance {
            client.set("group.instance.id", id);
        }
        let inner: StreamConsumer<RebalanceCounter> = client
            .set("group.id", &config.consumer_group)
            // Eager (not cooperative) rebalancing, stated rather than left to the default:
            // after every rebalance the worker restarts from committed offsets with an
            // empty state cache, which a partition kept through a cooperative rebalance
            // would not do.
            .set("partition.assignment.strategy", "range,roundrobin")
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            // A new group starts from the oldest retained event: nothing accepted is skipped.
            .set("auto.offset.reset", "earliest")
            .set("session.timeout.ms", "10000")
            .set("heartbeat.interval.ms", "1000")
            // Realtime reports promise an event within 2 s: never let an idle fetch long-poll
            // hold new records back for librdkafka's default 500 ms.
            .set("fetch.wait.max.ms", "100")
            .create_with_context(RebalanceCounter::default())?;
        inner.subscribe(&[&config.kafka_topic])?;
        Ok(Self {
            inner,
            topic: config.kafka_topic.clone(),
            is_static: instance.is_some(),
            seen_rebalances: AtomicU64::new(0),
        })
    }

    /// Whether a rebalance happened since the last call.
    fn rebalanced(&self) -> bool {
        let now = self.inner.context().0.load(Ordering::SeqCst);
        self.seen_rebalances.swap(now, Ordering::SeqCst) != now
    }

    /// Waits for a first record (at most `idle`, if given), then gathers up to `max` for at
    /// most `wait`.
    pub async fn next_batch(
        &self,
        max: usize,
        wait: Duration,
        idle: Option<Duration>,
        shutdown: &mut Shutdown,
    ) -> Fetched {
        let first = match self.first_record(idle, shutdown).await {
            Ok(first) => first,
            Err(fetched) => return fetched,
        };
        let (batch, rebalanced) = self.fill(first, max, wait).await;
        if self.rebalanced() {
            // Handled by a `recv` that then timed out: everything gathered predates it.
            return Fetched::Rebalanced;
        }
        let records = batch
            .into_iter()
            .map(|m| Record {
                partition: m.partition(),
                offset: m.offset(),
                payload: m.payload().map(<[u8]>::to_vec).unwrap_or_default(),
            })
            .collect();
        Fetched::Records {
            records,
            rebalanced,
        }
    }

    /// The next record, waiting at most `idle` (if given); or why there is none.
    async fn first_record(
        &self,
        idle: Option<Duration>,
        shutdown: &mut Shutdown,
    ) -> Result<OwnedMessage, Fetched> {
        let idle_deadline = idle.map(|idle| tokio::time::Instant::now() + idle);
        loop {
            let next = async {
                match idle_deadline {
                    Some(deadline) => tokio::time::timeout_at(deadline, self.inner.recv()).await,
                    None => Ok(self.inner.recv().await),
                }
            };
            tokio::select! {
                _ = shutdown.wait() => return Err(Fetched::Shutdown),
                received = next => match received {
                    Err(_elapsed) if self.rebalanced() => return Err(Fetched::Rebalanced),
                    Err(_elapsed) => return Err(Fetched::Idle),
                    Ok(Ok(message)) => return Ok(message.detach()),
                    Ok(Err(e @ KafkaError::MessageConsumptionFatal(_))) => return Err(Fetched::Fatal(e)),
                    Ok(Err(e)) => {
                        tracing::warn!(error = %e, "consumer error; retrying");
                        tokio::time::sleep(Duration::from_millis(500)).await;
                    }
                },
            }
        }
    }

    /// `first` and what follows it, up to `max` records within `wait`; whether a rebalance
    /// happened meanwhile (what came before it is dropped: it belongs to the ended assignment).
    async fn fill(
        &self,
        first: OwnedMessage,
        max: usize,
        wait: Duration,
    ) -> (Vec<OwnedMessage>, bool) {
        let mut rebalanced = self.rebalanced();
        let mut batch = vec![first];
        let deadline = tokio::time::Instant::now() + wait;
        while batch.len() < max {
            match tokio::time::timeout_at(deadline, self.inner.recv()).await {
                Ok(Ok(message)) => {
                    if self.rebalanced() {
                        batch.clear();
                        rebalanced = true;
                    }
                    batch.push(message.detach());
                }
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "consumer error while filling a batch");
                    break;
                }
                Err(_elapsed) => break,
            }
        }
        (batch, rebalanced)
    }

    /// Every partition of the topic as this member sees it, or `None` if the broker did not
    /// answer; on the way, sets the lag gauge (end − position) of each partition it holds.
    /// Blocking broker round trips: call it now and then, not per record.
    pub fn group_view(&self) -> Option<Vec<PartitionView>> {
        let assigned: BTreeMap<i32, Offset> = match self.inner.assignment().ok()?.count() {
            0 => BTreeMap::new(),
            _ => self
                .inner
                .position()
                .ok()?
                .elements()
                .iter()
                .map(|e| (e.partition(), e.offset()))
                .collect(),
        };
        let view = partition_progress(&self.inner, &self.topic)?
            .into_iter()
            .map(|p| {
                let position = assigned.get(&p.partition).map(|offset| match offset {
                    Offset::Offset(offset) => *offset,
                    _ => p.committed,
                });
                if let Some(position) = position {
                    metrics::gauge!(crate::metrics::CONSUMER_LAG, "partition" => p.partition.to_string())
                        .set((p.end - position).max(0) as f64);
                }
                PartitionView {
                    partition: p.partition,
                    mine: position.is_some(),
                    consumed: position.unwrap_or(p.committed),
                    end: p.end,
                }
            })
            .collect();
        Some(view)
    }

    /// Whether this member joined with static membership (`group.instance.id`).
    pub fn is_static(&self) -> bool {
        self.is_static
    }

    /// Whether this member has partitions assigned (local state, no broker round trip).
    pub fn holds_partitions(&self) -> bool {
        self.inner
            .assignment()
            .is_ok_and(|assigned| assigned.count() > 0)
    }

    /// Leaves the group and joins it again as a new member.
    pub fn rejoin(&self) -> Result<(), KafkaError> {
        self.inner.unsubscribe();
        self.inner.subscribe(&[&self.topic])
    }

    /// Commits `next`: per partition, the offset of the first record not yet handled.
    pub fn commit(&self, next: &BTreeMap<i32, i64>) -> Result<(), KafkaError> {
        let mut list = TopicPartitionList::new();
        for (&partition, &offset) in next {
            list.add_partition_offset(&self.topic, partition, Offset::Offset(offset))?;
        }
        self.inner.commit(&list, CommitMode::Sync)
    }
}
