//! `filtered`: the reports that cannot read rollups (any filter) over a range of seeded days,
//! timed through the report API; and, side by side in the same run, the range's raw events
//! loaded as those reports load them (from event blocks) and one document per event (what they
//! loaded before, and still load for days begun by an older worker), the two checked equal.

use std::time::Instant;

use anyhow::{ensure, Context as _};
use beacon::store::MongoStore;
use beacon_event::SiteId;
use clap::Args;
use serde_json::Value;
use time::macros::format_description;
use time::{Date, Duration};

use crate::probes::{loopback, ms, new_histogram, progress};
use crate::reports::get;

#[derive(Args)]
pub struct FilteredArgs {
    #[arg(long, default_value = "http://127.0.0.1:4000")]
    report: String,
    #[arg(long, default_value = "mongodb://127.0.0.1:27017/beacon")]
    mongo: String,
    #[arg(long, default_value = "bench-reports")]
    site: String,
    /// The range's first and last UTC day (YYYY-MM-DD).
    #[arg(long)]
    from: String,
    #[arg(long)]
    to: String,
    /// The range's events (for the table only).
    #[arg(long)]
    events: u64,
    /// Timed requests per report (after one untimed, checked request).
    #[arg(long, default_value_t = 10)]
    requests: u32,
    /// Timed loads of the range's events one document per event (tens of seconds each at a
    /// million events on SecantusDB); as many from blocks (0: no loads side by side).
    #[arg(long, default_value_t = 2)]
    document_loads: u32,
}

/// A report with a filter, and what its answer must show to be plausible.
struct Filtered {
    label: &'static str,
    path: &'static str,
    query: &'static str,
    check: fn(&Value) -> bool,
}

fn some(v: &Value) -> bool {
    v.as_u64().is_some_and(|n| n > 0)
}

const REPORTS: [Filtered; 6] = [
    Filtered {
        label: "`/stats` + `filters=source==Google`",
        path: "",
        query: "&filters=source%3D%3DGoogle",
        check: |b| some(&b["total_views"]) && some(&b["unique_users"]),
    },
    Filtered {
        label: "`/stats/breakdown?property=path` + `filters=source==Google`",
        path: "/breakdown",
        query: "&property=path&filters=source%3D%3DGoogle",
        check: |b| b["results"].as_array().is_some_and(|r| r.len() == 10),
    },
    Filtered {
        label: "`/stats/breakdown?property=source` + `filters=path==/pricing`",
        path: "/breakdown",
        query: "&property=source&filters=path%3D%3D/pricing",
        check: |b| b["results"].as_array().is_some_and(|r| !r.is_empty()),
    },
    Filtered {
        label: "`/stats/timeseries?interval=day` + `filters=props.plan==pro`",
        path: "/timeseries",
        query: "&interval=day&filters=props.plan%3D%3Dpro",
        check: |b| b["points"].as_array().is_some_and(|p| !p.is_empty()),
    },
    Filtered {
        label: "`/stats/goals` + `filters=device==mobile`",
        path: "/goals",
        query: "&filters=device%3D%3Dmobile",
        check: |b| b["goals"].as_array().is_some_and(|g| g.len() == 2),
    },
    Filtered {
        label: "`/stats/funnel` + `filters=device==mobile`",
        path: "/funnel",
        query: "&funnel=signup&filters=device%3D%3Dmobile",
        check: |b| some(&b["steps"][0]["visitors"]),
    },
];

/// Rows of two tables separated by an empty line: the reports' latency, then the loads side
/// by side (when asked for).
pub async fn filtered(args: FilteredArgs) -> anyhow::Result<String> {
    loopback(&args.report)?;
    loopback(&args.mongo)?;
    let client = reqwest::Client::new();
    let base = format!(
        "{}/stats{{}}?site_id={}&from={}&to={}",
        args.report, args.site, args.from, args.to
    );
    let mut rows = Vec::new();
    for r in &REPORTS {
        let url = base.replacen("{}", r.path, 1) + r.query;
        let started = Instant::now();
        let body: Value = serde_json::from_str(&get(&client, &url).await?)?;
        let first = started.elapsed().as_secs_f64() * 1000.0;
        ensure!((r.check)(&body), "implausible answer from {url}: {body}");
        let mut histogram = new_histogram();
        let bar = progress(u64::from(args.requests), r.label);
        for _ in 0..args.requests {
            let started = Instant::now();
            get(&client, &url).await?;
            histogram.record(started.elapsed().as_micros() as u64)?;
            bar.inc(1);
        }
        bar.finish_and_clear();
        rows.push(format!(
            "| {} | {} | {first:.1} ms | {} | {:.1} ms | {:.1} ms | {:.1} ms |",
            args.events,
            r.label,
            args.requests,
            ms(&histogram, 0.5),
            ms(&histogram, 0.95),
            histogram.max() as f64 / 1000.0
        ));
    }
    if args.document_loads > 0 {
        rows.push(String::new());
        rows.push(loads(&args).await?);
    }
    Ok(rows.join("\n"))
}

/// The range's raw events from blocks (read and decoded by a fresh store, then again from its
/// cache) and one document per event, alternating, checked equal; row: events, loads, blocks
/// p50, cached p50, documents p50, ratio of documents to blocks read.
async fn loads(args: &FilteredArgs) -> anyhow::Result<String> {
    let site = SiteId::parse(&args.site).map_err(|e| anyhow::anyhow!("--site: {}", e.message))?;
    let day = |d: &str, name: &str| {
        Date::parse(d, format_description!("[year]-[month]-[day]"))
            .with_context(|| format!("--{name} must be YYYY-MM-DD"))
    };
    let from = day(&args.from, "from")?.midnight().assume_utc();
    let until = day(&args.to, "to")?.midnight().assume_utc() + Duration::DAY;
    let (mut blocks, mut cached, mut documents) =
        (new_histogram(), new_histogram(), new_histogram());
    let bar = progress(u64::from(args.document_loads), "loads side by side");
    let mut loaded = 0;
    for _ in 0..args.document_loads {
        // A store of its own, as after a restart: its cache holds nothing yet.
        let store = MongoStore::connect(&args.mongo).await?;
        ensure!(
            store.in_blocks(&site, from, until).await?,
            "the range's days do not say their events are in blocks"
        );
        let started = Instant::now();
        let packed = store.raw_events_from_blocks(&site, from, until).await?;
        blocks.record(started.elapsed().as_micros() as u64)?;
        let started = Instant::now();
        let again = store.raw_events_from_blocks(&site, from, until).await?;
        cached.record(started.elapsed().as_micros() as u64)?;
        let started = Instant::now();
        let one_by_one = store.raw_events_from_documents(&site, from, until).await?;
        documents.record(started.elapsed().as_micros() as u64)?;
        let packed = packed.to_vec();
        ensure!(packed == again.to_vec(), "a cached read differs");
        ensure!(packed == one_by_one, "blocks and documents differ");
        loaded = packed.len();
        bar.inc(1);
    }
    bar.finish_and_clear();
    let (b, c, d) = (ms(&blocks, 0.5), ms(&cached, 0.5), ms(&documents, 0.5));
    Ok(format!(
        "| {} | {loaded} | {} | {b:.1} ms | {c:.1} ms | {d:.1} ms | {:.0}× |",
        args.events,
        args.document_loads,
        d / b.max(0.001)
    ))
}
