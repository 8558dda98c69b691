//! Ingestion: `POST /event` → Kafka topic `events`, on `INGEST_PORT` (3000).

#![forbid(unsafe_code)]

use anyhow::Context;
use beacon::{config::Config, ingest, shutdown, telemetry};

/// glibc's malloc/free took a quarter of this service's CPU under load (perf, docs/benchmarks.md,
/// "Profiling ingestion"); mimalloc's thread-local free lists cost less for the many small,
/// short-lived allocations of requests and events.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::load()?;
    telemetry::init(config.log_format);
    let addr = (config.bind_host, config.ingest_port);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding {}:{}", addr.0, addr.1))?;
    ingest::run(&config, listener, shutdown::on_signals()).await?;
    Ok(())
}
