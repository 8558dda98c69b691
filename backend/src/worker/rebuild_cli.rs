//! `beacon-admin rollups rebuild <site> [--from D] [--to D]`: runs [`super::rebuild`] with a
//! progress bar and says what it did.

use std::collections::BTreeSet;
use std::io::Write;

use beacon_event::{Day, SiteId};
use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};
use time::{Date, OffsetDateTime};

use super::rebuild::{first_kept_day, rebuild, Rebuilt};
use crate::config::Config;
use crate::store::MongoStore;

/// How often a rebuild that raced the worker is run again.
const ATTEMPTS: usize = 3;

#[derive(Debug, Subcommand)]
pub enum RollupsCommand {
    /// Recompute a site's rollups from its raw events (UTC days, inclusive; default: every
    /// day within RETENTION_DAYS), while the worker keeps running. Idempotent.
    Rebuild {
        site: String,
        #[arg(long, value_name = "YYYY-MM-DD")]
        from: Option<String>,
        #[arg(long, value_name = "YYYY-MM-DD")]
        to: Option<String>,
    },
}

pub async fn run(
    command: RollupsCommand,
    config: &Config,
    store: &MongoStore,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let RollupsCommand::Rebuild { site, from, to } = command;
    let site = SiteId::parse(&site).map_err(|e| anyhow::anyhow!("site: {}", e.message))?;
    let zone = crate::sites::Sites::new(store)
        .zone_of(site.as_str())
        .await?;
    let now = OffsetDateTime::now_utc();
    let day = |text: Option<String>, name: &'static str, default: time::Date| match text {
        None => Ok(default),
        Some(t) => Day::parse_named(&t, name)
            .map(|d| d.start().date())
            .map_err(|e| anyhow::anyhow!("--{name}: {}", e.message)),
    };
    let to = day(to, "to", zone.date_of(now))?;
    let from = day(from, "from", first_kept_day(now, config.retention))?;
    anyhow::ensure!(from <= to, "--from is after --to");
    let imported = store.imported_days(&site, from, to).await?;
    if !imported.is_empty() {
        writeln!(
            out,
            "left {} imported day(s) as they are: their counters came from an export",
            imported.len()
        )?;
    }
    for attempt in 1..=ATTEMPTS {
        let mut raced = 0;
        for (from, to) in runs_between(from, to, &imported) {
            let progress = ProgressBar::new(0).with_style(
                ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} events ({eta})")?
                    .progress_chars("=> "),
            );
            progress.set_message(format!("rebuilding {site}"));
            let done = rebuild(
                store,
                (&site, &zone),
                (from, to),
                config.retention,
                now,
                &progress,
            )
            .await?;
            report(&site, &done, config, out)?;
            raced += done.replaced.raced;
        }
        if raced == 0 {
            return Ok(());
        }
        writeln!(
            out,
            "the worker changed {raced} documents meanwhile; again ({attempt}/{ATTEMPTS})"
        )?;
    }
    anyhow::bail!("the worker kept changing these rollups; run the rebuild again later")
}

/// The runs of consecutive days in `[from, to]` that are not in `left_out`.
fn runs_between(from: Date, to: Date, left_out: &BTreeSet<Date>) -> Vec<(Date, Date)> {
    let mut runs = Vec::new();
    let mut start: Option<Date> = None;
    let mut day = from;
    loop {
        match (left_out.contains(&day), start) {
            (false, None) => start = Some(day),
            (true, Some(s)) => {
                runs.push((s, day.previous_day().unwrap_or(day)));
                start = None;
            }
            _ => {}
        }
        if day >= to {
            break;
        }
        day = day.next_day().unwrap_or(to);
    }
    runs.extend(start.map(|s| (s, to)));
    runs
}

fn report(
    site: &SiteId,
    done: &Rebuilt,
    config: &Config,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    if let Some((from, to)) = done.days {
        let r = &done.replaced;
        writeln!(
            out,
            "rebuilt {site} {from}..{to} from {} events: {} documents written, {} removed",
            done.events, r.written, r.removed
        )?;
    }
    if let Some((from, to)) = done.skipped {
        let days = config.retention.whole_days();
        writeln!(
            out,
            "left {from}..{to} as they are: older than the raw events kept (RETENTION_DAYS={days})"
        )?;
    }
    if done.unreadable > 0 {
        writeln!(
            out,
            "{} stored documents were not events a worker wrote; left out",
            done.unreadable
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    #[test]
    fn imported_days_split_the_range_into_runs() {
        let left_out = BTreeSet::from([
            date!(2026 - 01 - 03),
            date!(2026 - 01 - 04),
            date!(2026 - 01 - 07),
        ]);
        assert_eq!(
            runs_between(date!(2026 - 01 - 01), date!(2026 - 01 - 08), &left_out),
            vec![
                (date!(2026 - 01 - 01), date!(2026 - 01 - 02)),
                (date!(2026 - 01 - 05), date!(2026 - 01 - 06)),
                (date!(2026 - 01 - 08), date!(2026 - 01 - 08)),
            ]
        );
        let all = BTreeSet::from([date!(2026 - 01 - 01)]);
        assert!(runs_between(date!(2026 - 01 - 01), date!(2026 - 01 - 01), &all).is_empty());
        assert_eq!(
            runs_between(
                date!(2026 - 01 - 01),
                date!(2026 - 01 - 02),
                &BTreeSet::new()
            ),
            vec![(date!(2026 - 01 - 01), date!(2026 - 01 - 02))]
        );
    }
}
