//! Reports: `GET /stats` from MongoDB, on `REPORT_PORT` (4000).

#![forbid(unsafe_code)]

use anyhow::Context;
use beacon::{config::Config, report, shutdown, telemetry};

/// mimalloc, as in post_service (docs/benchmarks.md, "Profiling ingestion"): requests and BSON
/// documents are many small, short-lived allocations here too.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::load()?;
    telemetry::init(config.log_format);
    let addr = (config.bind_host, config.report_port);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding {}:{}", addr.0, addr.1))?;
    report::run(&config, listener, shutdown::on_signals()).await?;
    Ok(())
}
