//! Creates the topics Beacon needs, so a fresh broker works without manual setup.
//!
//! Both ingestion and the worker call this at start: whichever comes up first creates the topics
//! with the configured partition count, instead of letting broker auto-creation pick one.

use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::error::KafkaError;
use rdkafka::types::RDKafkaErrorCode;

use crate::backoff::Backoff;
use crate::config::Config;

/// Creates `topic` and the dead-letter topic if they are missing. Existing topics are left as
/// they are (their partition count is the operator's decision).
pub async fn ensure(config: &Config) -> Result<(), KafkaError> {
    let admin: AdminClient<DefaultClientContext> =
        super::client_config(&config.kafka_broker, "beacon-admin").create()?;
    let replication = || TopicReplication::Fixed(config.kafka_replication);
    let topics = [
        NewTopic::new(&config.kafka_topic, config.kafka_partitions, replication()),
        NewTopic::new(&config.dlq_topic, 1, replication()),
    ];
    let options = AdminOptions::new()
        .operation_timeout(Some(Duration::from_secs(10)))
        .request_timeout(Some(Duration::from_secs(10)));
    for result in admin.create_topics(&topics, &options).await? {
        match result {
            Ok(name) => tracing::info!(topic = %name, "created topic"),
            Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((name, code)) => {
                return Err(KafkaError::AdminOp(code)).inspect_err(
                    |_| tracing::warn!(topic = %name, error = %code, "could not create topic"),
                )
            }
        }
    }
    Ok(())
}

/// Keeps trying [`ensure`] with backoff until it succeeds or `attempts` run out, so a service
/// started before its broker still sets the topics up once the broker answers.
pub async fn ensure_with_retry(config: &Config, attempts: u32) -> Result<(), KafkaError> {
    let mut backoff = Backoff::new(Duration::from_millis(250), Duration::from_secs(5));
    let mut attempt = 1;
    loop {
        match ensure(config).await {
            Ok(()) => return Ok(()),
            Err(e) if attempt >= attempts => return Err(e),
            Err(e) => {
                tracing::warn!(error = %e, attempt, "broker not ready for topic setup; retrying");
                tokio::time::sleep(backoff.next_delay()).await;
                attempt += 1;
            }
        }
    }
}
