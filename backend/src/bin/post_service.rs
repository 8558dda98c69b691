//! Ingestion: `POST /event` → Kafka topic `events`, on `INGEST_PORT` (3000).

#![forbid(unsafe_code)]

use beacon::{ingest, service, shutdown};

/// glibc's malloc/free took a quarter of this service's CPU under load (perf, docs/benchmarks.md,
/// "Profiling ingestion"); mimalloc's thread-local free lists cost less for the many small,
/// short-lived allocations of requests and events.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let (config, listener) = service::start(|config| config.ingest_port).await?;
    ingest::run(&config, listener, shutdown::on_signals()).await?;
    Ok(())
}
