//! Crash loops on the dev configuration: the worker (or both of two workers) killed with
//! `kill -9` three times within 10 s and restarted at once each time, against Tansu on its
//! SQLite log with `./scripts/dev`'s settings. No helper worker: the restarted workers must
//! find every partition by themselves (a starved or orphaned member leaves the group and joins
//! again, `WORKER_STARVED_AFTER_MS`), and within [`RECOVERY_BOUND_S`] of the last restart the
//! group must have committed everything that was in the topic at that moment: the backlog the
//! crash loop left. How close the lag then comes to the live head (a few seconds of traffic)
//! is reported, not judged: it measures the machine's spare capacity while the load goes on,
//! which a shared CI host does not guarantee (crate::drain).

use std::time::Duration;

use anyhow::Result;

use crate::drain::drain;
use crate::procs::Proc;
use crate::scenarios::{finish, lag_recovery, sleep_until, Report};
use crate::system::{Suite, System};

/// How long after the last restart the backlog may take to be committed: the starvation bound
/// (20 s) plus a checkpoint interval and a look every 5 s, the rebalance that joining again
/// starts (~3 s on Tansu), then working through what gathered (~50 s of traffic) at a debug
/// build's pace on shared cores.
pub const RECOVERY_BOUND_S: f64 = 90.0;

/// Seconds between the kills: three kills within 10 s.
const KILL_EVERY_S: f64 = 4.0;

pub async fn run(suite: &Suite, n: u16, workers: u16, report: &mut Report) -> Result<()> {
    let (system, _tansu) = System::on_dev_broker(suite, n).await?;
    let _ingest = system.start_ingest().await?;
    let mut running = start_workers(&system, workers).await?;
    let _reports = system.start_report().await?;
    let load = system.load();
    let lag = system.lag_sampler(load.started);
    sleep_until(&load, 6.0).await;
    let fault_at = load.elapsed();
    let mut kills = Vec::new();
    for round in 0..3 {
        sleep_until(&load, fault_at + KILL_EVERY_S * f64::from(round)).await;
        kills.push(load.elapsed() - fault_at);
        for worker in &mut running {
            worker.kill9().await?;
        }
        running = start_workers(&system, workers).await?;
    }
    let drain = drain(&system, &load, RECOVERY_BOUND_S).await?;
    sleep_until(&load, load.elapsed() + 8.0).await;
    let samples = lag.stop().await;
    finish(&system, load, report, Duration::from_secs(60)).await;
    drop(running);
    let peak = lag_recovery(&samples, fault_at, i64::MAX).0;
    let kills: Vec<String> = kills.iter().map(|t| format!("+{t:.1}")).collect();
    let rejoins = count_in_logs(&system, workers, "leaving the group and joining again");
    report.recovery = format!(
        "killed at {} s; lag peak {peak}, {}; {rejoins} rejoins",
        kills.join(", "),
        drain.describe("the last restart", &samples)
    );
    let who = if workers == 1 {
        "the worker"
    } else {
        "the workers"
    };
    report
        .failures
        .extend(drain.failure(&system, who, "the last restart"));
    Ok(())
}

async fn start_workers(system: &System<'_>, workers: u16) -> Result<Vec<Proc>> {
    let mut running = Vec::new();
    for i in 1..=workers {
        running.push(system.start_worker(i).await?);
    }
    Ok(running)
}

/// Lines containing `what` in the workers' logs (each restart appends to its worker's log).
fn count_in_logs(system: &System<'_>, workers: u16, what: &str) -> usize {
    (1..=workers)
        .map(|i| {
            std::fs::read_to_string(system.dir.join(format!("worker{i}.log")))
                .unwrap_or_default()
                .lines()
                .filter(|l| l.contains(what))
                .count()
        })
        .sum()
}
