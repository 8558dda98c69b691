//! `tiers`: a breakdown's first page read tier by tier (what the report API does) against the
//! same page aggregated from every rollup document of the day (what it did before), side by
//! side on one seeded site-day, each answer checked equal to the other.

use std::time::Instant;

use anyhow::{ensure, Context as _};
use beacon::rollup::{Dimension, Property};
use beacon::store::{MongoStore, Order, Page, RowsQuery};
use beacon_event::SiteId;
use clap::Args;
use time::macros::format_description;
use time::Date;

use crate::probes::{ms, new_histogram};
use crate::seed::SeededDay;

#[derive(Args)]
pub struct TiersArgs {
    #[arg(long, default_value = "mongodb://127.0.0.1:27017/beacon")]
    mongo: String,
    #[command(flatten)]
    day: SeededDay,
    /// The day's events (for the table only).
    #[arg(long)]
    events: u64,
    /// The range's last day (YYYY-MM-DD): the pages cover `--date`..`--to`.
    #[arg(long)]
    to: Option<String>,
    /// Timed reads of each kind per breakdown, alternating.
    #[arg(long, default_value_t = 10)]
    requests: u32,
}

/// The breakdowns the dashboard's first screen shows, as the report API orders them.
const BREAKDOWNS: [(&str, Dimension, Order); 5] = [
    (
        "top paths by views (`/stats`)",
        Dimension::Path,
        Order::Views,
    ),
    ("path", Dimension::Path, Order::Visitors),
    ("exit page", Dimension::ExitPage, Order::Visits),
    ("source", Dimension::Source, Order::Visitors),
    ("referrer", Dimension::Referrer, Order::Visitors),
];

/// Rows: events, breakdown, tiered p50, aggregated p50, ratio, documents read (tiered).
pub async fn tiers(args: TiersArgs) -> anyhow::Result<String> {
    let store = MongoStore::connect(&args.mongo).await?;
    let day = Date::parse(&args.day.date, format_description!("[year]-[month]-[day]"))
        .context("--date must be YYYY-MM-DD")?;
    let to = match &args.to {
        Some(to) => Date::parse(to, format_description!("[year]-[month]-[day]"))
            .context("--to must be YYYY-MM-DD")?,
        None => day,
    };
    let site =
        SiteId::parse(&args.day.site).map_err(|e| anyhow::anyhow!("--site: {}", e.message))?;
    let page = Page { skip: 0, limit: 10 };
    let mut rows = Vec::new();
    for (label, dim, order) in BREAKDOWNS {
        let dim = &Property::Dim(dim);
        let (mut tiered, mut aggregated) = (new_histogram(), new_histogram());
        let mut read = 0;
        for _ in 0..args.requests {
            let q = RowsQuery {
                site: &site,
                from: day,
                to,
                dim,
                order,
                page,
            };
            let started = Instant::now();
            let top = store.top_rows(q).await?;
            tiered.record(started.elapsed().as_micros() as u64)?;
            let started = Instant::now();
            let all = store.aggregate_rows(q).await?;
            aggregated.record(started.elapsed().as_micros() as u64)?;
            ensure!(
                top.rows == all,
                "{label}: tiered and aggregated pages differ"
            );
            read = top.documents_read;
        }
        let (t, a) = (ms(&tiered, 0.5), ms(&aggregated, 0.5));
        rows.push(format!(
            "| {} | {label} | {t:.1} ms | {a:.1} ms | {:.0}× | {read} |",
            args.events,
            a / t.max(0.001)
        ));
    }
    Ok(rows.join("\n"))
}
