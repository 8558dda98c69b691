//! `beacon-admin import plausible <export.zip|dir> --site <id> [--prefer native|imported]`:
//! runs [`super::load::import`] with a progress bar and says what it read, wrote and skipped.

use std::io::Write;
use std::path::PathBuf;

use beacon_event::SiteId;
use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};

use super::export::Export;
use super::load::{import, Job, Outcome, Prefer};
use crate::store::MongoStore;

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Import Plausible's CSV export (the zip from Site Settings > Imports & Exports, or the
    /// folder it unpacks to) as the site's daily counters. Idempotent: importing the same
    /// export again changes nothing.
    Plausible {
        /// The export: a .zip file or a folder of imported_*.csv files.
        export: PathBuf,
        /// The Beacon site the history belongs to.
        #[arg(long)]
        site: String,
        /// Which side keeps a day both the export and Beacon have counted (without it such
        /// an overlap is refused before anything is written).
        #[arg(long, value_enum)]
        prefer: Option<Prefer>,
    },
}

pub async fn run(
    command: ImportCommand,
    store: &MongoStore,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let ImportCommand::Plausible {
        export,
        site,
        prefer,
    } = command;
    let site = SiteId::parse(&site).map_err(|e| anyhow::anyhow!("--site: {}", e.message))?;
    let zone = crate::sites::Sites::new(store)
        .zone_of(site.as_str())
        .await?;
    let progress = ProgressBar::new(0).with_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {bytes}/{total_bytes} ({eta})")?
            .progress_chars("=> "),
    );
    progress.set_message(format!("importing into {site}"));
    let today = zone.date_of(time::OffsetDateTime::now_utc());
    let job = Job {
        site,
        zone,
        today,
        prefer,
    };
    let done = import(store, Export::open(&export)?, &job, progress.clone()).await?;
    progress.finish_and_clear();
    report(&job.site, &done, out)?;
    Ok(())
}

fn report(site: &SiteId, done: &Outcome, out: &mut dyn Write) -> std::io::Result<()> {
    for file in &done.files {
        let skipped: u64 = file.skipped.values().sum();
        writeln!(
            out,
            "{}: {} rows read, {} imported, {skipped} skipped",
            file.name, file.rows, file.imported
        )?;
        for (reason, n) in &file.skipped {
            writeln!(out, "  {n} skipped: {reason}")?;
        }
    }
    for name in &done.ignored {
        writeln!(out, "{name}: not a table Beacon imports; not read")?;
    }
    if !done.overlap.is_empty() {
        let kept = match done.prefer {
            Some(Prefer::Imported) => "the export's counters replaced Beacon's",
            _ => "Beacon's own counters were kept",
        };
        writeln!(
            out,
            "{} day(s) Beacon had counted itself: {kept}",
            done.overlap.len()
        )?;
    }
    match done.days {
        Some((from, to)) => writeln!(
            out,
            "imported {site} {from}..{to}: {} documents written",
            done.documents
        ),
        None => writeln!(out, "the export has no rows for {site}; nothing written"),
    }
}
