//! The three probes. Each refuses non-loopback targets: load is only ever sent to this machine.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context};
use clap::Args;
use hdrhistogram::Histogram;
use indicatif::{ProgressBar, ProgressStyle};

pub(crate) fn loopback(url: &str) -> anyhow::Result<()> {
    let host = url
        .split("://")
        .nth(1)
        .and_then(|rest| rest.split(['/', ':']).next())
        .unwrap_or("");
    if !matches!(host, "127.0.0.1" | "localhost" | "[::1]") {
        bail!("{url}: bench only targets loopback addresses");
    }
    Ok(())
}

pub(crate) fn progress(len: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg} [{bar:30}] {pos}/{len} {per_sec}")
            .expect("valid template"),
    );
    bar.set_message(what.to_owned());
    bar
}

pub(crate) fn ms(histogram: &Histogram<u64>, quantile: f64) -> f64 {
    histogram.value_at_quantile(quantile) as f64 / 1000.0
}

pub(crate) fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 120_000_000, 3).expect("valid bounds")
}

#[derive(Args)]
pub struct IngestArgs {
    #[arg(long, default_value = "http://127.0.0.1:3000")]
    url: String,
    /// Events per request (1 sends a single JSON object).
    #[arg(long, default_value_t = 1)]
    batch: usize,
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Seconds to run.
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Stop after this many requests even if time is left.
    #[arg(long, default_value_t = 5_000_000)]
    max_requests: u64,
    #[arg(long, default_value = "bench")]
    site: String,
    /// Open loop: offer this many requests/s on a fixed schedule (at most `concurrency` in
    /// flight) and time each request from the moment it was due, so a stall counts against
    /// every request it delayed (no coordinated omission). Without it: closed loop, each of
    /// `concurrency` clients sends its next request as soon as the last one is answered.
    #[arg(long)]
    rate: Option<f64>,
    /// Seconds of the same load before measuring (not counted in the row): the load
    /// generator's connections are opened then, not in the first measured second. Without it
    /// an open loop at 20,000 requests/s spent its first second opening up to `concurrency`
    /// connections at once, and that second alone set the run's p99.
    #[arg(long, default_value_t = 1.0)]
    warmup: f64,
    /// Also print, to stderr, each second's request count, requests over 10 ms, slowest
    /// request and latest start (by when requests were due): a tail from a few stalls shows
    /// as a few bad seconds, a tail from running near capacity as every second's, and a late
    /// start says the load generator itself fell behind.
    #[arg(long)]
    timeline: bool,
    /// What is posted: the bench mix sends one body again and again; the realistic mix sends
    /// a day of `max_requests` x `batch` events, each once (generated before the run).
    #[command(flatten)]
    mix: crate::mix::MixArgs,
    /// A process to pause (SIGSTOP) while the requests are sent, after they are generated, and
    /// resume after: the worker, so a backlog builds up in Kafka.
    #[arg(long)]
    pause_pid: Option<u32>,
}

/// Sends `signal` (`STOP`, `CONT`) to `pid` with kill(1).
fn signal(pid: u32, signal: &str) -> anyhow::Result<()> {
    let status = std::process::Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status()
        .context("running kill")?;
    ensure!(status.success(), "kill -{signal} {pid} failed");
    Ok(())
}

/// The resolution of Tokio's timer (see the open loop in [`ingest`]).
const TIMER_TICK: Duration = Duration::from_millis(1);

/// One second of `--timeline` (requests by when they were due). Counters, not a histogram per
/// second: allocating those mid-run made the run's own tail.
#[derive(Debug, Clone, Copy, Default)]
struct Second {
    requests: u64,
    /// Requests over 10 ms.
    slow: u64,
    slowest_us: u64,
    /// The latest start: how long after it was due a request was sent at the latest. Large
    /// when the load generator itself fell behind (starved of CPU, or every one of its
    /// `concurrency` requests still waiting for an answer), so a slow second can be told
    /// apart from a slow server.
    late_us: u64,
}

impl Second {
    /// Second `n` of `timeline`, growing it as the run goes on.
    fn at(timeline: &mut Vec<Second>, n: u64) -> &mut Second {
        let n = n as usize;
        if timeline.len() <= n {
            timeline.resize(n + 1, Second::default());
        }
        &mut timeline[n]
    }

    fn record(&mut self, took_us: u64, late_us: u64) {
        self.add(&Second {
            requests: 1,
            slow: u64::from(took_us > 10_000),
            slowest_us: took_us,
            late_us,
        });
    }

    fn add(&mut self, other: &Second) {
        self.requests += other.requests;
        self.slow += other.slow;
        self.slowest_us = self.slowest_us.max(other.slowest_us);
        self.late_us = self.late_us.max(other.late_us);
    }
}

/// Runs closed- or open-loop load; the row: batch, concurrency or offered rate, req/s, events/s,
/// p50, p95, p99, non-2xx.
pub async fn ingest(args: IngestArgs) -> anyhow::Result<String> {
    loopback(&args.url)?;
    ensure!(
        args.batch >= 1 && args.concurrency >= 1,
        "batch and concurrency must be >= 1"
    );
    let posts = crate::posts::posts(&args.mix, &args.site, args.batch, args.max_requests)?;
    if let Some(pid) = args.pause_pid {
        signal(pid, "STOP")?;
    }
    let row = load(&args, Arc::new(posts)).await;
    if let Some(pid) = args.pause_pid {
        signal(pid, "CONT")?;
    }
    row
}

/// Sends `posts` as `args` say (closed or open loop); the row.
async fn load(args: &IngestArgs, posts: Arc<Vec<crate::posts::Post>>) -> anyhow::Result<String> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency)
        .build()?;
    let endpoint = format!("{}/event", args.url);
    let sent = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let latencies = Arc::new(Mutex::new(new_histogram()));
    ensure!(
        args.warmup >= 0.0 && args.warmup.is_finite(),
        "--warmup must be >= 0"
    );
    let warmup = Duration::from_secs_f64(args.warmup);
    let deadline = Instant::now() + warmup + Duration::from_secs(args.duration);
    let bar = progress(args.duration + args.warmup.ceil() as u64, "seconds");
    let ticker = {
        let bar = bar.clone();
        tokio::spawn(async move {
            while Instant::now() < deadline {
                tokio::time::sleep(Duration::from_secs(1)).await;
                bar.inc(1);
            }
        })
    };
    if let Some(rate) = args.rate {
        ensure!(rate > 0.0, "--rate must be > 0");
    }
    let started = Instant::now();
    let measured_from = started + warmup;
    let mut workers = Vec::new();
    for _ in 0..args.concurrency {
        let (client, endpoint, posts) = (client.clone(), endpoint.clone(), posts.clone());
        let (sent, failed, latencies) = (sent.clone(), failed.clone(), latencies.clone());
        let (max, rate) = (args.max_requests, args.rate);
        workers.push(tokio::spawn(async move {
            let mut local = new_histogram();
            let mut seconds: Vec<Second> = Vec::new();
            loop {
                let i = sent.fetch_add(1, Ordering::Relaxed);
                // Closed loop: now. Open loop: request i is due at i / rate.
                let due = match rate {
                    Some(rate) => started + Duration::from_secs_f64(i as f64 / rate),
                    None => Instant::now(),
                };
                if due >= deadline || i >= max {
                    break;
                }
                // Tokio's timer rounds every deadline up to its next millisecond tick, so a
                // request slept for until its due time is sent up to a millisecond after it,
                // and a closed loop that slept "until now" lost that much per request (its
                // figures were a millisecond slower and a third lower than `wrk`'s on the same
                // server). So the closed loop does not sleep, and the open loop sleeps until a
                // tick before its due time, sends as soon as it wakes, and times the request
                // from when it was sent or when it was due, whichever came first: waking late
                // still counts against the request; the timer's rounding no longer does.
                if rate.is_some() {
                    let wake = due.checked_sub(TIMER_TICK).unwrap_or(due);
                    tokio::time::sleep_until(wake.into()).await;
                }
                let sent_at = Instant::now();
                let t = due.min(sent_at);
                let late = sent_at.saturating_duration_since(due).as_micros() as u64;
                let post = &posts[(i % posts.len() as u64) as usize];
                let mut request = client
                    .post(&endpoint)
                    .header("content-type", "application/json");
                if let Some(agent) = &post.user_agent {
                    request = request.header("user-agent", agent);
                }
                let ok = request
                    .body(post.body.clone())
                    .send()
                    .await
                    .is_ok_and(|r| r.status().as_u16() == 202);
                if due < measured_from {
                    continue;
                }
                let took = t.elapsed().as_micros() as u64;
                let _ = local.record(took);
                Second::at(&mut seconds, (due - measured_from).as_secs()).record(took, late);
                if !ok {
                    failed.fetch_add(1, Ordering::Relaxed);
                }
            }
            latencies.lock().expect("not poisoned").add(&local).ok();
            seconds
        }));
    }
    let mut timeline: Vec<Second> = Vec::new();
    for worker in workers {
        for (second, s) in worker.await.context("load task")?.iter().enumerate() {
            Second::at(&mut timeline, second as u64).add(s);
        }
    }
    let elapsed = measured_from.elapsed().as_secs_f64();
    if args.timeline {
        for (second, s) in timeline.iter().enumerate() {
            eprintln!(
                "second {second}: {} requests, {} over 10 ms, slowest {:.1} ms, latest start {:.1} ms",
                s.requests,
                s.slow,
                s.slowest_us as f64 / 1000.0,
                s.late_us as f64 / 1000.0
            );
        }
    }
    ticker.abort();
    bar.finish_and_clear();
    let histogram = latencies.lock().expect("not poisoned");
    let requests = histogram.len();
    let failed = failed.load(Ordering::Relaxed);
    let ok = requests - failed;
    let load = match args.rate {
        Some(rate) => format!("{rate:.0}/s offered (≤ {} open)", args.concurrency),
        None => args.concurrency.to_string(),
    };
    Ok(format!(
        "| {} | {} | {:.0} | {:.0} | {:.1} ms | {:.1} ms | {:.1} ms | {} |",
        args.batch,
        load,
        requests as f64 / elapsed,
        (ok * args.batch as u64) as f64 / elapsed,
        ms(&histogram, 0.5),
        ms(&histogram, 0.95),
        ms(&histogram, 0.99),
        failed
    ))
}

#[derive(Args)]
pub struct E2eArgs {
    #[arg(long, default_value = "http://127.0.0.1:3000")]
    ingest: String,
    #[arg(long, default_value = "http://127.0.0.1:4000")]
    report: String,
    #[arg(long, default_value_t = 30)]
    samples: u32,
}

/// POSTs one event to a fresh site, polls /stats every 10 ms until it is counted; row: samples,
/// p50, p95, max.
pub async fn e2e(args: E2eArgs) -> anyhow::Result<String> {
    loopback(&args.ingest)?;
    loopback(&args.report)?;
    let client = reqwest::Client::new();
    let mut histogram = new_histogram();
    let bar = progress(u64::from(args.samples), "samples");
    let run = std::process::id();
    for i in 0..args.samples {
        let site = format!("e2e-{run}-{i}");
        let event = serde_json::json!({"site_id": site, "event_type": "page_view", "path": "/"});
        let t = Instant::now();
        let status = client
            .post(format!("{}/event", args.ingest))
            .header("content-type", "application/json")
            .body(event.to_string())
            .send()
            .await?
            .status();
        ensure!(status.as_u16() == 202, "POST /event answered {status}");
        let stats = format!("{}/stats?site_id={site}", args.report);
        loop {
            let body: serde_json::Value = client.get(&stats).send().await?.json().await?;
            if body["total_views"] == 1 {
                break;
            }
            ensure!(
                t.elapsed() < Duration::from_secs(30),
                "{site} not visible after 30 s"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        histogram.record(t.elapsed().as_micros() as u64)?;
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(format!(
        "| {} | {:.0} ms | {:.0} ms | {:.0} ms |",
        args.samples,
        ms(&histogram, 0.5),
        ms(&histogram, 0.95),
        histogram.max() as f64 / 1000.0
    ))
}

#[derive(Args)]
pub struct StatsArgs {
    #[arg(long, default_value = "http://127.0.0.1:4000")]
    report: String,
    #[arg(long, default_value = "bench")]
    site: String,
    /// YYYY-MM-DD; default today.
    #[arg(long)]
    date: Option<String>,
    #[arg(long, default_value_t = 50)]
    requests: u32,
}

/// Sequential GET /stats; row: events counted, requests, p50, p95, max.
pub async fn stats(args: StatsArgs) -> anyhow::Result<String> {
    loopback(&args.report)?;
    let client = reqwest::Client::new();
    let mut url = format!("{}/stats?site_id={}", args.report, args.site);
    if let Some(date) = &args.date {
        url.push_str(&format!("&date={date}"));
    }
    let mut histogram = new_histogram();
    let bar = progress(u64::from(args.requests), "requests");
    let mut views = 0;
    for _ in 0..args.requests {
        let t = Instant::now();
        let response = client.get(&url).send().await?;
        ensure!(
            response.status().is_success(),
            "/stats answered {}",
            response.status()
        );
        let body: serde_json::Value = response.json().await?;
        histogram.record(t.elapsed().as_micros() as u64)?;
        views = body["total_views"].as_u64().unwrap_or(0);
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(format!(
        "| {} | {} | {:.1} ms | {:.1} ms | {:.1} ms |",
        views,
        args.requests,
        ms(&histogram, 0.5),
        ms(&histogram, 0.95),
        histogram.max() as f64 / 1000.0
    ))
}

#[cfg(test)]
mod tests {
    use super::Second;

    #[test]
    fn a_timeline_counts_each_second_and_merges_across_tasks() {
        let (mut a, mut b) = (Vec::new(), Vec::new());
        Second::at(&mut a, 0).record(4_000, 100);
        Second::at(&mut a, 2).record(15_000, 7_000);
        Second::at(&mut b, 2).record(10_000, 200);
        Second::at(&mut b, 2).record(30_000, 300);
        let mut merged = Vec::new();
        for task in [&a, &b] {
            for (n, s) in task.iter().enumerate() {
                Second::at(&mut merged, n as u64).add(s);
            }
        }
        let rows: Vec<(u64, u64, u64, u64)> = merged
            .iter()
            .map(|s| (s.requests, s.slow, s.slowest_us, s.late_us))
            .collect();
        assert_eq!(
            rows,
            [(1, 0, 4_000, 100), (0, 0, 0, 0), (3, 2, 30_000, 7_000)]
        );
    }
}
