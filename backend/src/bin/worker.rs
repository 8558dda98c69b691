//! Worker: Kafka topic `events` → MongoDB, at least once, idempotent; `/metrics` on `WORKER_PORT` (3001).

#![forbid(unsafe_code)]

use anyhow::Context;
use beacon::{config::Config, shutdown, telemetry, worker};

/// mimalloc, as in post_service (docs/benchmarks.md, "Profiling ingestion"): the worker too makes
/// many small, short-lived allocations (records, events, BSON documents).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::load()?;
    telemetry::init(config.log_format);
    let addr = (config.bind_host, config.worker_port);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding {}:{}", addr.0, addr.1))?;
    worker::run(&config, listener, shutdown::on_signals()).await?;
    Ok(())
}
