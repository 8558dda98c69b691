//! Worker: Kafka topic `events` → MongoDB, at least once, idempotent; `/metrics` on `WORKER_PORT` (3001).

#![forbid(unsafe_code)]

use beacon::{service, shutdown, worker};

/// mimalloc, as in post_service (docs/benchmarks.md, "Profiling ingestion"): the worker too makes
/// many small, short-lived allocations (records, events, BSON documents).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let (config, listener) = service::start(|config| config.worker_port).await?;
    worker::run(&config, listener, shutdown::on_signals()).await?;
    Ok(())
}
