//! `beacon-admin rollups rebuild <site> [--from D] [--to D]`: runs [`super::rebuild`] with a
//! progress bar and says what it did.

use std::io::Write;

use beacon_event::{Day, SiteId};
use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};
use time::OffsetDateTime;

use super::rebuild::{first_kept_day, rebuild, Rebuilt};
use crate::config::Config;
use crate::rollup::Zone;
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
    let registered = crate::sites::Sites::new(store).get(site.as_str()).await?;
    let zone = match registered.and_then(|s| s.timezone) {
        Some(name) => Zone::named(&name)
            .ok_or_else(|| anyhow::anyhow!("the site's time zone {name:?} is unknown"))?,
        None => Zone::utc(),
    };
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
    for attempt in 1..=ATTEMPTS {
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
        if done.replaced.raced == 0 {
            return Ok(());
        }
        writeln!(
            out,
            "the worker changed {} documents meanwhile; again ({attempt}/{ATTEMPTS})",
            done.replaced.raced
        )?;
    }
    anyhow::bail!("the worker kept changing these rollups; run the rebuild again later")
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
