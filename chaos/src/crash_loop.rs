//! Crash loops on the dev configuration: the worker (or both of two workers) killed with
//! `kill -9` three times within 10 s and restarted at once each time, against Tansu on its
//! SQLite log with `./scripts/dev`'s settings. No helper worker: the restarted workers must
//! find every partition by themselves (a starved or orphaned member leaves the group and joins
//! again, `WORKER_STARVED_AFTER_MS`), and the lag must fall back within [`RECOVERY_BOUND_S`].

use std::time::Duration;

use anyhow::Result;

use crate::procs::Proc;
use crate::scenarios::{finish, lag_recovery, sleep_until, wait_caught_up, Report};
use crate::system::{Suite, System};

/// How long after the last restart the committed lag must be back to a second of traffic: the
/// starvation bound (20 s) plus a checkpoint interval and a look every 5 s, the rebalance that
/// joining again starts (~3 s on Tansu), then draining what gathered meanwhile (~50 s of
/// traffic) at a debug build's pace on shared cores.
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
    let restarted_at = load.elapsed();
    let back = wait_caught_up(&system, &load, restarted_at, RECOVERY_BOUND_S).await;
    sleep_until(&load, load.elapsed() + 8.0).await;
    let samples = lag.stop().await;
    finish(&system, load, report, Duration::from_secs(60)).await;
    drop(running);
    let (peak, _) = lag_recovery(&samples, fault_at, i64::MAX);
    let kills: Vec<String> = kills.iter().map(|t| format!("+{t:.1}")).collect();
    let rejoins = count_in_logs(&system, workers, "leaving the group and joining again");
    report.recovery = match back {
        Some(s) => format!(
            "killed at {} s; lag peak {peak}, caught up {s:.1} s after the last restart; {rejoins} rejoins",
            kills.join(", ")
        ),
        None => format!(
            "killed at {} s; lag peak {peak}, not caught up within {RECOVERY_BOUND_S:.0} s of the last restart",
            kills.join(", ")
        ),
    };
    if back.is_none() {
        let seen = crate::digest::group_events(&system.dir.join("worker1.log"), 12);
        report.failures.push(format!(
            "the lag was not back within {RECOVERY_BOUND_S:.0} s of the last restart (worker 1's group: {seen})"
        ));
    }
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
