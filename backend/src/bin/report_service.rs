//! Reports: `GET /stats` from MongoDB, on `REPORT_PORT` (4000).

#![forbid(unsafe_code)]

use beacon::{report, service, shutdown};

/// mimalloc, as in post_service (docs/benchmarks.md, "Profiling ingestion"): requests and BSON
/// documents are many small, short-lived allocations here too.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let (config, listener) = service::start(|config| config.report_port).await?;
    report::run(&config, listener, shutdown::on_signals()).await?;
    Ok(())
}
