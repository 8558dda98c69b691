//! `reports`: latency of the report endpoints on one seeded site-day (or a range of days seeded
//! alike), and `counts`: how many documents MongoDB holds, to show that a report reads a bounded
//! number of them.

use std::time::Instant;

use anyhow::{ensure, Context as _};
use beacon::store::MongoStore;
use clap::Args;
use mongodb::bson::{doc, Document};
use serde_json::Value;

use crate::live::{self, Live, LiveDay};
use crate::mix::MixArgs;
use crate::probes::{loopback, ms, new_histogram, progress};
use crate::seed::{self, SeededDay};

#[derive(Args)]
pub struct ReportsArgs {
    #[arg(long, default_value = "http://127.0.0.1:4000")]
    report: String,
    #[command(flatten)]
    day: SeededDay,
    /// The range's last day (YYYY-MM-DD): the reports ask for `--date`..`--to`, each day of it
    /// seeded with `--events` events (`scripts/bench-filtered`). Without it, the one day.
    #[arg(long)]
    to: Option<String>,
    /// How many events `bench seed` stored for the day (offsets 0..events): the answers are
    /// checked against what was seeded.
    #[arg(long)]
    events: u64,
    /// Timed requests per endpoint (after one untimed, checked request).
    #[arg(long, default_value_t = 50)]
    requests: u32,
    /// Timed requests per report that reads raw events (filters, custom properties, goals,
    /// funnels), which take longer. These need the site registered with the goals and funnel
    /// `scripts/bench-reports` adds (0: not measured).
    #[arg(long, default_value_t = 0)]
    scan_requests: u32,
    /// The mix `bench seed` stored (its sizes set how many rows a breakdown shows).
    #[command(flatten)]
    mix: MixArgs,
    /// Live traffic: before each timed request, store this many more events of the range's
    /// last day through the worker's storage path ([`crate::live`]; needs `--mongo`).
    #[arg(long, default_value_t = 0)]
    live_events: usize,
    /// The MongoDB URL `--live-events` writes to (loopback only); with it the answers are
    /// checked against the page views stored, which live events of earlier runs add to.
    #[arg(long)]
    mongo: Option<String>,
    /// The Kafka partition the range's last day was seeded on (`scripts/bench-filtered` seeds
    /// day k on partition k).
    #[arg(long, default_value_t = 0)]
    live_partition: u16,
}

/// Checks an answer against the page views seeded.
type Check = Box<dyn Fn(&Value, u64) -> anyhow::Result<()>>;

/// One endpoint under test: its label in the table, its path and query, and a check of its body.
struct Endpoint {
    label: String,
    url: String,
    check: Check,
}

fn views_of(body: &Value) -> anyhow::Result<u64> {
    body["total_views"]
        .as_u64()
        .context("no total_views in the answer")
}

fn check_stats(body: &Value, views: u64) -> anyhow::Result<()> {
    let total = views_of(body)?;
    ensure!(total == views, "total_views = {total}, seeded {views}");
    let top = body["top_paths"].as_array().context("no top_paths")?;
    ensure!(top.len() == 10, "top_paths lists {} paths", top.len());
    ensure!(
        top[0]["path"] == "/",
        "top path is {}, the seed's most viewed is /",
        top[0]["path"]
    );
    let users = body["unique_users"].as_u64().unwrap_or(0);
    ensure!(
        users > 0 && users < views,
        "unique_users = {users} for {views} views"
    );
    Ok(())
}

fn check_metrics(body: &Value, views: u64) -> anyhow::Result<()> {
    check_stats(body, views)?;
    let visits = body["visits"].as_u64().context("no visits")?;
    let bounce = body["bounce_rate"].as_f64().context("no bounce_rate")?;
    let per_visit = body["views_per_visit"]
        .as_f64()
        .context("no views_per_visit")?;
    let duration = body["visit_duration"]
        .as_u64()
        .context("no visit_duration")?;
    ensure!(
        visits > 0 && visits < views,
        "visits = {visits} for {views} views"
    );
    ensure!((1.0..60.0).contains(&bounce), "bounce_rate = {bounce}");
    ensure!(
        (3.0..20.0).contains(&per_visit),
        "views_per_visit = {per_visit}"
    );
    ensure!(duration > 0, "visit_duration = {duration}");
    Ok(())
}

/// A breakdown's first page: `expected_rows` rows (10 at most: 10 of the bench mix's 50 paths).
fn check_breakdown(expected_rows: usize) -> Check {
    Box::new(move |body, _| {
        let rows = body["results"].as_array().context("no results")?;
        ensure!(
            rows.len() == expected_rows,
            "{} rows, expected {expected_rows}",
            rows.len()
        );
        Ok(())
    })
}

/// A breakdown's first page of 1 to 10 rows (values the mix does not fix the number of).
fn check_some_rows(body: &Value, _: u64) -> anyhow::Result<()> {
    let rows = body["results"].as_array().context("no results")?.len();
    ensure!((1..=10).contains(&rows), "{rows} rows");
    Ok(())
}

/// The timeseries: `points` points (24 hours of a day, or the range's days) adding up to the
/// views seeded.
fn check_timeseries(points: usize) -> Check {
    Box::new(move |body, views| {
        let got = body["points"].as_array().context("no points")?;
        ensure!(
            got.len() == points,
            "{} points, expected {points}",
            got.len()
        );
        let sum: u64 = got.iter().filter_map(|p| p["views"].as_u64()).sum();
        ensure!(
            sum == views,
            "the points' views sum to {sum}, seeded {views}"
        );
        Ok(())
    })
}

/// A filtered `/stats`: some of the views, not all.
fn check_filtered(body: &Value, views: u64) -> anyhow::Result<()> {
    let total = views_of(body)?;
    ensure!(
        total > 0 && total < views,
        "total_views = {total} of {views}"
    );
    Ok(())
}

/// `/stats/goals` with the two goals `scripts/bench-reports` registers, the signup reached
/// (the realistic mix may have no `/pricing`).
fn check_goals(body: &Value, _: u64) -> anyhow::Result<()> {
    let goals = body["goals"].as_array().context("no goals")?;
    ensure!(goals.len() == 2, "{} goals", goals.len());
    ensure!(
        goals.iter().any(|g| g["visitors"].as_u64() > Some(0)),
        "no goal reached: {body}"
    );
    Ok(())
}

/// `/stats/funnel` for the three-step funnel `scripts/bench-reports` registers.
fn check_funnel(body: &Value, _: u64) -> anyhow::Result<()> {
    let steps = body["steps"].as_array().context("no steps")?;
    ensure!(steps.len() == 3, "{} steps", steps.len());
    ensure!(
        steps[0]["visitors"].as_u64() > Some(0),
        "nobody entered: {body}"
    );
    Ok(())
}

/// A filter every event passes: the same report, read from raw events.
const EVERY_EVENT: &str = "&filters=event_type!%3D__none__";

/// The custom property, goal and funnel reports, read from rollups on the site
/// `scripts/bench-reports` registers (before seeding, so every day counted its goals).
fn conversion_endpoints(at: impl Fn(&str, &str) -> String) -> Vec<Endpoint> {
    vec![
        Endpoint {
            label: "`/stats/breakdown?property=props`".into(),
            url: at("/breakdown", "&property=props"),
            check: check_breakdown(1),
        },
        Endpoint {
            label: "`/stats/breakdown?property=props.plan`".into(),
            url: at("/breakdown", "&property=props.plan"),
            check: check_breakdown(2),
        },
        Endpoint {
            label: "`/stats/goals` (2 goals)".into(),
            url: at("/goals", ""),
            check: Box::new(check_goals),
        },
        Endpoint {
            label: "`/stats/funnel` (3 steps)".into(),
            url: at("/funnel", "&funnel=signup"),
            check: Box::new(check_funnel),
        },
    ]
}

/// The reports that read raw events, on the site `scripts/bench-reports` registers: filtered
/// ones, and the conversion reports read that way (a filter every event passes), each checked
/// equal to the same report read from rollups.
fn scan_endpoints(at: impl Fn(&str, &str) -> String + Copy, paths: usize) -> Vec<Endpoint> {
    let raw = conversion_endpoints(at).into_iter().map(|e| Endpoint {
        label: format!("{} from raw events", e.label),
        url: format!("{}{EVERY_EVENT}", e.url),
        check: e.check,
    });
    let filtered = vec![
        Endpoint {
            label: "`/stats` + `filters=source==Google`".into(),
            url: at("", "&filters=source%3D%3DGoogle"),
            check: Box::new(check_filtered),
        },
        Endpoint {
            label: "`/stats/breakdown?property=path&filters=source==Google`".into(),
            url: at("/breakdown", "&property=path&filters=source%3D%3DGoogle"),
            check: check_breakdown(paths),
        },
    ];
    filtered.into_iter().chain(raw).collect()
}

/// Each conversion report read from rollups answers what the same report read from raw events
/// does (the JSON equal, figures and order).
async fn check_equal_to_raw(
    client: &reqwest::Client,
    at: impl Fn(&str, &str) -> String,
) -> anyhow::Result<()> {
    for e in conversion_endpoints(at) {
        let rolled: Value = serde_json::from_str(&get(client, &e.url).await?)?;
        let raw = format!("{}{EVERY_EVENT}", e.url);
        let scanned: Value = serde_json::from_str(&get(client, &raw).await?)?;
        ensure!(
            rolled == scanned,
            "{}: {rolled} from rollups, {scanned} from raw events",
            e.url
        );
    }
    Ok(())
}

/// A `YYYY-MM-DD` argument as a date (`name` says which in the error).
fn date_of(day: &str, name: &'static str) -> anyhow::Result<time::Date> {
    beacon_event::Day::parse_named(day, name)
        .map_err(|e| anyhow::anyhow!("{e}"))
        .map(|d| d.start().date())
}

/// The days asked for: `--date` alone, or `--date`..`--to`; and the query naming them.
fn range(args: &ReportsArgs) -> anyhow::Result<(u64, String)> {
    let Some(to) = &args.to else {
        return Ok((1, format!("date={}", args.day.date)));
    };
    let days = (date_of(to, "to")? - date_of(&args.day.date, "date")?).whole_days() + 1;
    ensure!(days >= 1, "--to is before --date");
    Ok((days as u64, format!("from={}&to={to}", args.day.date)))
}

/// The reports read from rollups: the summary, the breakdowns' first pages (`sources` and
/// `paths` rows) and the timeseries (hourly for a day, daily for a range).
fn rollup_endpoints(
    at: impl Fn(&str, &str) -> String,
    sources: usize,
    paths: usize,
    days: u64,
) -> Vec<Endpoint> {
    let (interval, points) = if days == 1 {
        ("hour", 24)
    } else {
        ("day", days as usize)
    };
    let mut endpoints = vec![
        Endpoint {
            label: "`/stats`".into(),
            url: at("", ""),
            check: Box::new(check_stats),
        },
        Endpoint {
            label: "`/stats` + `metrics=visits,bounce_rate,visit_duration,views_per_visit`".into(),
            url: at(
                "",
                "&metrics=visits,bounce_rate,visit_duration,views_per_visit",
            ),
            check: Box::new(check_metrics),
        },
        Endpoint {
            label: "`/stats/breakdown?property=source`".into(),
            url: at("/breakdown", "&property=source"),
            check: check_breakdown(sources),
        },
        Endpoint {
            label: "`/stats/breakdown?property=path`".into(),
            url: at("/breakdown", "&property=path"),
            check: check_breakdown(paths),
        },
    ];
    for property in ["entry_page", "exit_page"] {
        endpoints.push(Endpoint {
            label: format!("`/stats/breakdown?property={property}`"),
            url: at("/breakdown", &format!("&property={property}")),
            check: check_breakdown(paths),
        });
    }
    endpoints.push(Endpoint {
        label: "`/stats/breakdown?property=referrer`".into(),
        url: at("/breakdown", "&property=referrer"),
        check: Box::new(check_some_rows),
    });
    endpoints.push(Endpoint {
        label: format!("`/stats/timeseries?interval={interval}`"),
        url: at("/timeseries", &format!("&interval={interval}")),
        check: check_timeseries(points),
    });
    endpoints
}

/// Times each endpoint sequentially; rows: events that day (or in the range), endpoint,
/// requests, p50, p95, max.
pub async fn reports(args: ReportsArgs) -> anyhow::Result<String> {
    loopback(&args.report)?;
    let (days, period) = range(&args)?;
    let views = seed::page_views(args.events) * days;
    // Sources: the referrers' and Direct.
    let sources = args.mix.first_page(6, args.mix.referrers + 1)?;
    let paths = args.mix.first_page(50, args.mix.paths)?;
    let base = format!(
        "{}/stats{{}}?site_id={}&{period}",
        args.report, args.day.site
    );
    let at = |path: &str, extra: &str| base.replacen("{}", path, 1) + extra;
    let client = reqwest::Client::new();
    let mut rows = Vec::new();
    let events = args.events * days;
    let (earlier, mut live) = live_traffic(&args, views).await?;
    let views = views + earlier;
    for endpoint in rollup_endpoints(at, sources, paths, days)
        .iter()
        .chain(&conversion_endpoints(at))
    {
        let timed = Timed {
            requests: args.requests,
            events,
            views,
        };
        rows.push(time_endpoint(&client, endpoint, timed, live.as_mut()).await?);
    }
    if args.scan_requests > 0 {
        check_equal_to_raw(&client, at).await?;
        for endpoint in &scan_endpoints(at, paths) {
            let timed = Timed {
                requests: args.scan_requests,
                events,
                views,
            };
            rows.push(time_endpoint(&client, endpoint, timed, None).await?);
        }
    }
    Ok(rows.join("\n"))
}

pub(crate) async fn get(client: &reqwest::Client, url: &str) -> anyhow::Result<String> {
    let response = client.get(url).send().await?;
    let status = response.status();
    let body = response.text().await?;
    ensure!(status.is_success(), "answered {status}: {body}");
    Ok(body)
}

/// The page views stored beyond the seeded ones (with `--mongo`), and the live traffic
/// `--live-events` asks for, on the range's last day.
async fn live_traffic(
    args: &ReportsArgs,
    seeded_views: u64,
) -> anyhow::Result<(u64, Option<Live>)> {
    let Some(mongo) = args.mongo.as_deref() else {
        ensure!(args.live_events == 0, "--live-events needs --mongo");
        return Ok((0, None));
    };
    crate::probes::loopback(mongo)?;
    let store = seed::prepared_store(mongo).await?;
    let first = date_of(&args.day.date, "date")?;
    let last = date_of(args.to.as_deref().unwrap_or(&args.day.date), "to")?;
    let site = &args.day.site;
    let earlier = live::earlier_views(&store, site, (first, last), seeded_views).await?;
    if args.live_events == 0 {
        return Ok((earlier, None));
    }
    let to = LiveDay {
        site,
        day: last,
        partition: args.live_partition,
    };
    let live = Live::new(store, &args.mix, to, args.live_events).await?;
    Ok((earlier, Some(live)))
}

/// What an endpoint's row says: timed requests, events seeded, page views seeded.
#[derive(Clone, Copy)]
struct Timed {
    requests: u32,
    events: u64,
    views: u64,
}

/// One checked request (its time shown: the report service keeps no page of it yet), then
/// `requests` timed ones, each after a batch of `live` traffic if any; the table row.
async fn time_endpoint(
    client: &reqwest::Client,
    endpoint: &Endpoint,
    Timed {
        requests,
        events,
        views,
    }: Timed,
    mut live: Option<&mut Live>,
) -> anyhow::Result<String> {
    let started = Instant::now();
    let body: Value = serde_json::from_str(&get(client, &endpoint.url).await?)?;
    let first = started.elapsed().as_secs_f64() * 1000.0;
    let arrived = live.as_ref().map_or(0, |l| l.page_views);
    (endpoint.check)(&body, views + arrived)
        .with_context(|| format!("implausible answer from {}", endpoint.url))?;
    let mut histogram = new_histogram();
    let bar = progress(u64::from(requests), &endpoint.label);
    for _ in 0..requests {
        if let Some(live) = live.as_deref_mut() {
            live.arrive().await?;
        }
        let t = Instant::now();
        let body = get(client, &endpoint.url).await?;
        histogram.record(t.elapsed().as_micros() as u64)?;
        ensure!(!body.is_empty(), "{}: empty answer", endpoint.url);
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(format!(
        "| {} | {} | {first:.1} ms | {} | {:.1} ms | {:.1} ms | {:.1} ms |",
        events,
        endpoint.label,
        requests,
        ms(&histogram, 0.5),
        ms(&histogram, 0.95),
        histogram.max() as f64 / 1000.0
    ))
}

#[derive(Args)]
pub struct CountsArgs {
    #[arg(long, default_value = "mongodb://127.0.0.1:27017/beacon")]
    mongo: String,
    #[command(flatten)]
    day: SeededDay,
}

/// Row: raw events, daily rollup documents (all / the site-day's), hourly rollup documents,
/// visitor states.
pub async fn counts(args: CountsArgs) -> anyhow::Result<String> {
    loopback(&args.mongo)?;
    let store = MongoStore::connect(&args.mongo).await?;
    let db = store.database();
    let collection = |name: &str| db.collection::<Document>(name);
    // Estimated counts read collection metadata: a filtered count would scan millions of
    // documents. The database holds this one site only.
    let events = collection("events").estimated_document_count().await?;
    let visitors = collection("visitors").estimated_document_count().await?;
    let daily = collection("rollups_daily")
        .count_documents(doc! { "site": &args.day.site, "day": &args.day.date })
        .await?;
    let daily_total = collection("rollups_daily")
        .count_documents(doc! { "site": &args.day.site, "day": &args.day.date, "dim": "total" })
        .await?;
    let daily_paths = collection("rollups_daily")
        .count_documents(doc! { "site": &args.day.site, "day": &args.day.date, "dim": "path" })
        .await?;
    let daily_sources = collection("rollups_daily")
        .count_documents(doc! { "site": &args.day.site, "day": &args.day.date, "dim": "source" })
        .await?;
    let hourly = collection("rollups_hourly")
        .count_documents(doc! { "site": &args.day.site })
        .await?;
    Ok(format!(
        "| {events} | {daily} (total {daily_total}, path {daily_paths}, source {daily_sources}) | {hourly} | {visitors} |"
    ))
}
