//! `bench`: drives a running Beacon over loopback and prints one Markdown table row per run.
//!
//! Probes, each bounded in duration and request count:
//! - `ingest`: closed-loop load on `POST /event` (single events or batches) at a concurrency;
//! - `e2e`: time from `POST /event` until `/stats` counts the event;
//! - `stats`: `GET /stats` latency;
//! - `reports`: latency of `/stats`, `/stats/breakdown` and `/stats/timeseries` on a site-day
//!   filled by `seed`, with the answers checked against what was seeded.
//!
//! `bare-insert` and `store-path` compare the worker's writes with a bare bulk-insert loop on the
//! same store.
//!
//! And two tools for the reports benchmark: `seed` writes a site-day (`--mix bench` or
//! `realistic`) into MongoDB
//! through the worker's storage path (`beacon::worker::store_batch`), `counts` prints how many
//! documents MongoDB holds; `filtered` times filtered reports over several seeded days.
//!
//! `scripts/bench` and `scripts/bench-reports` start the system and run the matrix; this binary
//! only measures (and seeds).

#![forbid(unsafe_code)]

mod filtered;
mod live;
mod mix;
mod posts;
mod probes;
mod realistic;
mod reports;
mod rollups_only;
mod seed;
mod site_day;
mod storepath;
mod tiers;
mod visits;

use clap::{Parser, Subcommand};

/// The worker binary's allocator: `store-path` and `seed` run the worker's storage path in this
/// process, and with glibc's malloc its client side cost half as much again as in the worker
/// (perf: malloc and free were 40% of the client's time on a busy visitor mix).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(about = "Load generator and latency probes for Beacon (loopback only)")]
struct Cli {
    #[command(subcommand)]
    probe: Probe,
}

#[derive(Subcommand)]
enum Probe {
    /// Load on POST /event: closed loop, or open loop at a fixed rate (`--rate`).
    Ingest(probes::IngestArgs),
    /// POST /event → visible in /stats, one event at a time.
    E2e(probes::E2eArgs),
    /// GET /stats latency.
    Stats(probes::StatsArgs),
    /// GET /stats, /stats/breakdown, /stats/timeseries latency on a seeded site-day.
    Reports(reports::ReportsArgs),
    /// Writes a site-day of events into MongoDB through the worker's store_batch.
    Seed(seed::SeedArgs),
    /// Raw event, rollup and visitor-state document counts in MongoDB.
    Counts(reports::CountsArgs),
    /// Breakdown pages read tier by tier against the full aggregation, side by side.
    Tiers(tiers::TiersArgs),
    /// Filtered reports over a range of seeded days, and the range's raw events loaded from
    /// blocks and one document per event, side by side.
    Filtered(filtered::FilteredArgs),
    /// Copies the worker's stored raw events with a bare insert_many loop (same store).
    BareInsert(storepath::BareInsertArgs),
    /// The worker's storage path (states and rollup deltas held as under a backlog) against a
    /// bare insert_many loop on a generated day.
    StorePath(storepath::StorePathArgs),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let row = match Cli::parse().probe {
        Probe::Ingest(args) => probes::ingest(args).await?,
        Probe::E2e(args) => probes::e2e(args).await?,
        Probe::Stats(args) => probes::stats(args).await?,
        Probe::Reports(args) => reports::reports(args).await?,
        Probe::Seed(args) => seed::seed(args).await?,
        Probe::Counts(args) => reports::counts(args).await?,
        Probe::Tiers(args) => tiers::tiers(args).await?,
        Probe::Filtered(args) => filtered::filtered(args).await?,
        Probe::BareInsert(args) => storepath::bare_insert(args).await?,
        Probe::StorePath(args) => storepath::store_path(args).await?,
    };
    println!("{row}");
    Ok(())
}
