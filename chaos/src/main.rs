//! The chaos suite: real Beacon processes (post_service, worker, report_service, Tansu,
//! SecantusDB) on loopback, a known stream of events with client eids, one injected fault per
//! scenario, and an exact accounting afterwards: every acknowledged event stored and counted
//! once, nothing else. See docs/reliability.md and scripts/chaos.

#![forbid(unsafe_code)]

mod crash_loop;
mod digest;
mod drain;
mod kafka;
mod load;
mod procs;
mod scenarios;
mod system;

use std::io::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::Parser;

use crate::kafka::Broker;
use crate::procs::{Proc, Tools};
use crate::scenarios::Report;
use crate::system::Suite;

#[derive(Parser, Debug)]
#[command(about = "Fault-injection suite for Beacon's real processes")]
struct Args {
    /// Directory with post_service, worker and report_service.
    #[arg(long)]
    bin_dir: PathBuf,
    /// The Tansu binary.
    #[arg(long)]
    tansu: PathBuf,
    /// SecantusDB's secantusd-py.
    #[arg(long)]
    secantus: PathBuf,
    /// Logs and data go here (one folder per scenario).
    #[arg(long)]
    work_dir: PathBuf,
    /// Where to write the results as Markdown table rows.
    #[arg(long)]
    table: Option<PathBuf>,
    /// Workers with static group membership (`WORKER_INSTANCE_ID`, one name per worker slot):
    /// to measure what it changes on the broker.
    #[arg(long)]
    static_membership: bool,
    /// Scenarios to run (1-8), comma separated; default all.
    #[arg(long, value_delimiter = ',')]
    only: Vec<u16>,
    /// Events per second the client sends (batches of 10).
    #[arg(long, default_value_t = 300)]
    rate: u32,
    /// Ports used: BASE+92 (broker), BASE+17 (store), BASE+n00.. BASE+n92 for scenario n.
    /// Below Linux's ephemeral range (32768–60999): a listening port there can be taken by
    /// some client connection's local port, and a service then fails to bind.
    #[arg(long, default_value_t = 31000)]
    base_port: u16,
}

#[tokio::main]
async fn main() -> Result<()> {
    let mut args = Args::parse();
    std::fs::create_dir_all(&args.work_dir)?;
    // The services run in per-scenario folders: every path must be absolute.
    for path in [
        &mut args.bin_dir,
        &mut args.tansu,
        &mut args.secantus,
        &mut args.work_dir,
    ] {
        *path = std::fs::canonicalize(&*path).with_context(|| path.display().to_string())?;
    }
    procs::set_pids_file(args.work_dir.join("chaos.pids"));
    let tools = Tools {
        bin_dir: args.bin_dir.clone(),
        tansu: args.tansu.clone(),
        secantus: args.secantus.clone(),
    };
    let suite_started = Instant::now();
    let broker_port = args.base_port + 92;
    let store_port = args.base_port + 17;
    let _tansu: Proc = tools
        .tansu(
            broker_port,
            "memory://tansu/",
            &args.work_dir,
            &args.work_dir.join("tansu.log"),
        )
        .await?;
    let store = tools
        .secantus(store_port, &args.work_dir.join("secantusdb.log"))
        .await?;
    let mut options =
        mongodb::options::ClientOptions::parse(format!("mongodb://127.0.0.1:{store_port}")).await?;
    options.server_selection_timeout = Some(Duration::from_secs(5));
    let suite = Suite {
        tools,
        work_dir: args.work_dir.clone(),
        broker: Broker {
            addr: format!("127.0.0.1:{broker_port}"),
        },
        mongo_port: store_port,
        mongo: mongodb::Client::with_options(options)?,
        http: reqwest::Client::new(),
        rate: args.rate,
        static_membership: args.static_membership,
        base_port: args.base_port,
        store,
    };

    let selected: Vec<u16> = if args.only.is_empty() {
        (1..=scenarios::NAMES.len() as u16).collect()
    } else {
        args.only.clone()
    };
    let mut reports = Vec::new();
    for n in selected {
        eprintln!(
            "chaos: scenario {n}: {}",
            scenarios::NAMES[usize::from(n) - 1]
        );
        let report = scenarios::run(&suite, n).await;
        print_report(&report);
        reports.push(report);
    }
    let failed = reports.iter().filter(|r| r.status() == "FAIL").count();
    let blocked = reports.iter().filter(|r| r.status() == "BLOCKED").count();
    println!(
        "chaos: {} passed, {failed} failed, {blocked} blocked by a stand-in in {:.0} s",
        reports.len() - failed - blocked,
        suite_started.elapsed().as_secs_f64()
    );
    if let Some(path) = &args.table {
        let mut f = std::fs::File::create(path).with_context(|| path.display().to_string())?;
        for r in &reports {
            writeln!(f, "{}", table_row(r))?;
        }
        for r in &reports {
            for note in r.failures.iter().chain(&r.notes).chain(&r.blocked) {
                writeln!(f, "NOTE {}. {}: {note}", r.n, r.name)?;
            }
        }
    }
    // Stop the broker and the store before exiting (process::exit runs no destructors).
    drop(suite);
    drop(_tansu);
    if failed > 0 {
        std::process::exit(1);
    }
    Ok(())
}

fn print_report(r: &Report) {
    println!("{}", console_line(r));
    for f in &r.failures {
        println!("  failure: {f}");
    }
    for n in &r.notes {
        println!("  note: {n}");
    }
    if let Some(b) = &r.blocked {
        println!("  blocked: {b}");
    }
}

/// The figures a report is judged by, in the order both [`console_line`] and [`table_row`] give
/// them: one list, so that the console and the table cannot come to disagree.
fn figures(r: &Report) -> [String; 10] {
    let v = &r.verdict;
    [
        r.sent.to_string(),
        r.acked.to_string(),
        v.raw.to_string(),
        v.stats_views.to_string(),
        v.acked_views.to_string(),
        v.stats_visitors.to_string(),
        v.raw_visitors.to_string(),
        v.lost.to_string(),
        v.duplicates().max(0).to_string(),
        r.s503.to_string(),
    ]
}

/// The report's first line on the console.
fn console_line(r: &Report) -> String {
    let [sent, acked, stored, views, acked_views, visitors, stored_visitors, lost, duplicates, s503] =
        figures(r);
    format!(
        "{} {}. {} — sent {sent}, acked {acked}, stored {stored}, /stats views {views} (acked page views {acked_views}), /stats visitors {visitors} (stored {stored_visitors}), lost {lost}, duplicates {duplicates}, 503s {s503}, other errors {}{}; {}; {:.0} s",
        r.status(),
        r.n,
        r.name,
        r.errors,
        if r.error_detail.is_empty() { String::new() } else { format!(" ({})", r.error_detail) },
        r.recovery,
        r.wall_s
    )
}

fn table_row(r: &Report) -> String {
    let [sent, acked, stored, views, acked_views, visitors, stored_visitors, lost, duplicates, s503] =
        figures(r);
    format!(
        "| {}. {} | {sent} | {acked} | {stored} | {views} / {acked_views} | {visitors} / {stored_visitors} | {lost} | {duplicates} | {s503} | {} | {} | {} |",
        r.n,
        r.name,
        if r.error_detail.is_empty() {
            "0".to_owned()
        } else {
            format!("{} ({})", r.errors, r.error_detail)
        },
        r.recovery,
        match r.status() {
            "FAIL" => "**FAIL**",
            "BLOCKED" => "blocked by the stand-in (below)",
            _ => "pass",
        }
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::system::Verdict;

    /// The console line and the table row as they read before they shared [`figures`].
    #[test]
    fn a_failed_report_reads_as_before() {
        let verdict = Verdict {
            raw: 1189,
            lost: 1,
            stats_views: 1150,
            raw_views: 1140,
            acked_views: 1139,
            stats_visitors: 77,
            raw_visitors: 78,
            ..Verdict::default()
        };
        let failed = Report {
            n: 3,
            name: "restart the broker",
            sent: 1200,
            acked: 1190,
            s503: 4,
            errors: 6,
            error_detail: "5 refused, 1 reset".to_owned(),
            verdict,
            recovery: "lag peak 300".to_owned(),
            failures: vec!["lost one".to_owned()],
            wall_s: 42.4,
            ..Report::default()
        };
        assert_eq!(
            console_line(&failed),
            "FAIL 3. restart the broker — sent 1200, acked 1190, stored 1189, /stats views 1150 (acked page views 1139), /stats visitors 77 (stored 78), lost 1, duplicates 10, 503s 4, other errors 6 (5 refused, 1 reset); lag peak 300; 42 s"
        );
        assert_eq!(
            table_row(&failed),
            "| 3. restart the broker | 1200 | 1190 | 1189 | 1150 / 1139 | 77 / 78 | 1 | 10 | 4 | 6 (5 refused, 1 reset) | lag peak 300 | **FAIL** |"
        );
    }

    /// Views missing from the rollups show as no duplicates, and a blocked scenario says why.
    #[test]
    fn a_passed_and_a_blocked_report_read_as_before() {
        let passed = Report {
            n: 1,
            name: "x",
            sent: 10,
            acked: 10,
            verdict: Verdict {
                raw: 10,
                stats_views: 9,
                raw_views: 11,
                acked_views: 9,
                ..Verdict::default()
            },
            recovery: "ok".to_owned(),
            wall_s: 3.6,
            ..Report::default()
        };
        assert_eq!(
            console_line(&passed),
            "PASS 1. x — sent 10, acked 10, stored 10, /stats views 9 (acked page views 9), /stats visitors 0 (stored 0), lost 0, duplicates 0, 503s 0, other errors 0; ok; 4 s"
        );
        assert_eq!(
            table_row(&passed),
            "| 1. x | 10 | 10 | 10 | 9 / 9 | 0 / 0 | 0 | 0 | 0 | 0 | ok | pass |"
        );
        let blocked = Report {
            n: 2,
            name: "y",
            errors: 3,
            blocked: Some("stand-in".to_owned()),
            ..Report::default()
        };
        assert_eq!(
            console_line(&blocked),
            "BLOCKED 2. y — sent 0, acked 0, stored 0, /stats views 0 (acked page views 0), /stats visitors 0 (stored 0), lost 0, duplicates 0, 503s 0, other errors 3; ; 0 s"
        );
        assert_eq!(
            table_row(&blocked),
            "| 2. y | 0 | 0 | 0 | 0 / 0 | 0 / 0 | 0 | 0 | 0 | 0 |  | blocked by the stand-in (below) |"
        );
    }
}
