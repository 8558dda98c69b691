//! `beacon-admin status`: whether the pipeline keeps up, in a few lines a person reads. Events
//! waiting in Kafka per partition (the consumer group's committed offset against the topic's
//! end) and when a worker last stored events, so that frozen numbers are never silent.

use std::io::Write;

use mongodb::bson::DateTime;

use crate::config::Config;
use crate::pipeline::consumer::{group_progress, PartitionProgress};
use crate::store::MongoStore;

/// Prints the pipeline's status to `out`; fails only if MongoDB cannot be read.
pub async fn print(config: &Config, store: &MongoStore, out: &mut dyn Write) -> anyhow::Result<()> {
    // Blocking broker round trips: fine for a one-shot command.
    let progress = group_progress(config);
    writeln!(
        out,
        "kafka: topic {} at {}, group {}",
        config.kafka_topic, config.kafka_broker, config.consumer_group
    )?;
    match progress {
        Ok(Some(partitions)) => write_partitions(&partitions, out)?,
        Ok(None) => writeln!(out, "  the broker did not answer (is Kafka up?)")?,
        Err(e) => writeln!(out, "  cannot reach the broker: {e}")?,
    }
    match store.last_checkpoint().await? {
        Some(last) => {
            let ago = (DateTime::now().timestamp_millis() - last.at.timestamp_millis()) / 1000;
            writeln!(
                out,
                "worker: last stored events {ago} s ago ({}, {} records)",
                last.at.try_to_rfc3339_string().unwrap_or_default(),
                last.records
            )?;
        }
        None => writeln!(out, "worker: no events stored yet")?,
    }
    Ok(())
}

fn write_partitions(partitions: &[PartitionProgress], out: &mut dyn Write) -> anyhow::Result<()> {
    let waiting: i64 = partitions.iter().map(PartitionProgress::unconsumed).sum();
    writeln!(out, "  waiting for the worker: {waiting} events")?;
    for p in partitions {
        writeln!(
            out,
            "  partition {}: committed {}, end {}, waiting {}",
            p.partition,
            p.committed,
            p.end,
            p.unconsumed()
        )?;
    }
    Ok(())
}
