//! Worker: Kafka topic `events` → MongoDB, at least once, idempotent.

use beacon::{config::Config, shutdown, telemetry, worker};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::load()?;
    telemetry::init(config.log_format);
    worker::run(&config, shutdown::on_signals()).await?;
    Ok(())
}
