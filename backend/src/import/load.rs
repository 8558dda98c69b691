//! Loading an export into the daily rollups, in two passes.
//!
//! 1. Every file's header is checked and the days it covers are collected (nothing is written
//!    if a file lacks a column). Days the worker already counted for the site are an overlap:
//!    refused unless the operator said which wins ([`Prefer`]). The site's today and later days
//!    are not over (an export made today has part of today) and are never imported.
//! 2. Each file is streamed: consecutive rows of one day are summed per document and written
//!    as that day's imported documents ([`MongoStore::write_imported_day`]) before the next
//!    day is read. Memory is one day of one table, whatever the file's length; the reading
//!    runs on a blocking thread (`super::read`) and hands days to the writer through a short
//!    channel, so a slow database slows the reading instead of filling memory.

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;

use beacon_event::SiteId;
use indicatif::ProgressBar;
use time::Date;
use tokio::sync::mpsc;

use super::export::Export;
use super::read::{stream_file, survey, DayBatch, FileReport, Plan};
use crate::rollup::Zone;
use crate::store::{ImportedDay, MongoStore};

/// Which counters a day keeps when the export and the worker both have it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Prefer {
    /// Keep Beacon's own counters; the export's rows for those days are skipped.
    Native,
    /// Replace Beacon's counters of those days (raw events stay) by the export's.
    Imported,
}

/// What the import is asked to do.
#[derive(Debug, Clone)]
pub struct Job {
    pub site: SiteId,
    /// The site's time zone: its days, whose hourly counters an imported day replaces.
    pub zone: Zone,
    /// Today in that zone: the first day not imported.
    pub today: Date,
    pub prefer: Option<Prefer>,
}

/// What an import did.
#[derive(Debug, Default)]
pub struct Outcome {
    pub files: Vec<FileReport>,
    /// Files of the export that hold no table Beacon reads.
    pub ignored: Vec<String>,
    /// The first and last day written.
    pub days: Option<(Date, Date)>,
    /// Days Beacon had counted itself, and which side kept them.
    pub overlap: BTreeSet<Date>,
    pub prefer: Option<Prefer>,
    /// Document writes (a day that comes back in an unsorted file writes its documents again).
    pub documents: usize,
}

/// How many days may wait between the reader and the writer.
const DAYS_IN_FLIGHT: usize = 2;

/// Imports `export` for `job.site`; `progress` counts the bytes of the second pass.
pub async fn import(
    store: &MongoStore,
    export: Export,
    job: &Job,
    progress: ProgressBar,
) -> anyhow::Result<Outcome> {
    // The day queries and deletes below read the rollup indexes; a database no worker has
    // started on yet has none.
    store.ensure_indexes().await?;
    let export = Arc::new(export);
    let listing = {
        let export = export.clone();
        tokio::task::spawn_blocking(move || export.list()).await??
    };
    anyhow::ensure!(
        !listing.entries.is_empty(),
        "no file of Plausible's export found (imported_visitors_*.csv, imported_pages_*.csv, ...)"
    );
    let entries = Arc::new(listing.entries);
    let today = job.today;
    let surveyed = {
        let (export, entries) = (export.clone(), entries.clone());
        tokio::task::spawn_blocking(move || survey(&export, &entries, today)).await??
    };
    let overlap = store.native_days(&job.site, &surveyed.days).await?;
    let plan = Plan {
        native: settle_overlap(store, job, &overlap).await?,
        today,
        custom_events: surveyed.custom_events,
    };
    progress.set_length(entries.iter().map(|e| e.size).sum());
    let (tx, rx) = mpsc::channel::<DayBatch>(DAYS_IN_FLIGHT);
    let reader = tokio::task::spawn_blocking(move || {
        entries
            .iter()
            .map(|entry| {
                export.read(entry, |bytes| {
                    stream_file(entry, &mut progress.wrap_read(bytes), &plan, &tx)
                })
            })
            .collect::<anyhow::Result<Vec<FileReport>>>()
    });
    let written = write_days(store, job, rx).await;
    // A writer that stopped drops its end of the channel, so the reader stops too.
    let files = reader.await?;
    let files = match (written.error, files) {
        (None, Ok(files)) => files,
        (Some(e), _) | (None, Err(e)) => {
            return Err(partial(e, written.documents, job, &overlap));
        }
    };
    Ok(Outcome {
        files,
        ignored: listing.ignored,
        days: written.days,
        overlap,
        prefer: job.prefer,
        documents: written.documents,
    })
}

/// What the writer did: the days written, the document writes, and what stopped it.
#[derive(Debug, Default)]
struct Written {
    days: Option<(Date, Date)>,
    documents: usize,
    error: Option<anyhow::Error>,
}

/// Writes each day batch as it comes.
async fn write_days(store: &MongoStore, job: &Job, mut rx: mpsc::Receiver<DayBatch>) -> Written {
    let mut fresh_days = HashSet::new();
    let mut written = Written::default();
    while let Some(batch) = rx.recv().await {
        let fresh = fresh_days.insert((batch.table, batch.day));
        let day = ImportedDay {
            site: &job.site,
            day: batch.day,
            table: batch.table.name(),
            dims: batch.table.dims(),
            sums: &batch.sums,
        };
        match store.write_imported_day(&day, fresh).await {
            Ok(n) => written.documents += n,
            Err(e) => {
                written.error = Some(e.into());
                break;
            }
        }
        let (first, last) = written.days.unwrap_or((batch.day, batch.day));
        written.days = Some((first.min(batch.day), last.max(batch.day)));
    }
    written
}

/// An error after writing began: what is in the store, and how to finish.
fn partial(
    error: anyhow::Error,
    documents: usize,
    job: &Job,
    overlap: &BTreeSet<Date>,
) -> anyhow::Error {
    let removed = match job.prefer {
        Some(Prefer::Imported) if !overlap.is_empty() => format!(
            ", and Beacon's own counters of {} day(s) were removed",
            overlap.len()
        ),
        _ => String::new(),
    };
    error.context(format!(
        "the import stopped part way ({documents} documents written{removed}); run the same \
         command again to complete it"
    ))
}

/// Refuses an overlap nobody settled; otherwise returns the days whose rows are skipped.
async fn settle_overlap(
    store: &MongoStore,
    job: &Job,
    overlap: &BTreeSet<Date>,
) -> anyhow::Result<BTreeSet<Date>> {
    if overlap.is_empty() {
        return Ok(BTreeSet::new());
    }
    match job.prefer {
        None => {
            let shown: Vec<String> = overlap.iter().take(10).map(Date::to_string).collect();
            let more = if overlap.len() > 10 { ", ..." } else { "" };
            anyhow::bail!(
                "{} day(s) of this export already have Beacon's own data for {} ({}{more}); \
                 nothing was imported. Say which wins: --prefer native skips the export's rows \
                 for those days, --prefer imported replaces Beacon's counters of those days",
                overlap.len(),
                job.site,
                shown.join(", ")
            )
        }
        Some(Prefer::Native) => Ok(overlap.clone()),
        Some(Prefer::Imported) => {
            store
                .remove_native_rollups(&job.site, overlap, &job.zone)
                .await?;
            Ok(BTreeSet::new())
        }
    }
}
