//! `bench`: drives a running Beacon over loopback and prints one Markdown table row per run.
//!
//! Three probes, each bounded in duration and request count:
//! - `ingest`: closed-loop load on `POST /event` (single events or batches) at a concurrency;
//! - `e2e`: time from `POST /event` until `/stats` counts the event;
//! - `stats`: `GET /stats` latency.
//!
//! `scripts/bench` starts the system and runs the matrix; this binary only measures.

mod probes;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(about = "Load generator and latency probes for Beacon (loopback only)")]
struct Cli {
    #[command(subcommand)]
    probe: Probe,
}

#[derive(Subcommand)]
enum Probe {
    /// Closed-loop load on POST /event.
    Ingest(probes::IngestArgs),
    /// POST /event → visible in /stats, one event at a time.
    E2e(probes::E2eArgs),
    /// GET /stats latency.
    Stats(probes::StatsArgs),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let row = match Cli::parse().probe {
        Probe::Ingest(args) => probes::ingest(args).await?,
        Probe::E2e(args) => probes::e2e(args).await?,
        Probe::Stats(args) => probes::stats(args).await?,
    };
    println!("{row}");
    Ok(())
}
