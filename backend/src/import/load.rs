//! Loading an export into the daily rollups, in two passes.
//!
//! 1. Every file's header is checked and the days it covers are collected (nothing is written
//!    if a file lacks a column). Days the worker already counted for the site are an overlap:
//!    refused unless the operator said which wins ([`Prefer`]).
//! 2. Each file is streamed: consecutive rows of one day are summed per document and written
//!    as that day's imported documents ([`MongoStore::write_imported_day`]) before the next
//!    day is read. Memory is one day of one table, whatever the file's length; the reading
//!    runs on a blocking thread and hands days to the writer through a short channel, so a
//!    slow database slows the reading instead of filling memory.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::io::Read;
use std::sync::Arc;

use beacon_event::SiteId;
use indicatif::ProgressBar;
use time::Date;
use tokio::sync::mpsc;

use super::export::{Entry, Export};
use super::plausible::{Columns, Skip, Table, Target};
use crate::rollup::{Counters, Zone};
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
    pub prefer: Option<Prefer>,
}

/// What happened to one file's rows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileReport {
    pub name: String,
    pub rows: u64,
    pub imported: u64,
    /// Rows left out, by reason.
    pub skipped: BTreeMap<String, u64>,
}

/// What an import did.
#[derive(Debug, Default)]
pub struct Outcome {
    pub files: Vec<FileReport>,
    /// Files of the export that hold no table Beacon reads.
    pub ignored: Vec<String>,
    /// The first and last day of the export.
    pub days: Option<(Date, Date)>,
    /// Days Beacon had counted itself, and which side kept them.
    pub overlap: BTreeSet<Date>,
    pub prefer: Option<Prefer>,
    /// Documents written (a document summing several rows counts once).
    pub documents: usize,
}

/// A day of one table, summed per document.
struct DayBatch {
    table: Table,
    day: Date,
    sums: BTreeMap<Target, Counters>,
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
    let days = {
        let (export, entries) = (export.clone(), entries.clone());
        tokio::task::spawn_blocking(move || days_of(&export, &entries)).await??
    };
    let overlap = store.native_days(&job.site, &days).await?;
    let skip = settle_overlap(store, job, &overlap).await?;
    progress.set_length(entries.iter().map(|e| e.size).sum());
    let (tx, mut rx) = mpsc::channel::<DayBatch>(DAYS_IN_FLIGHT);
    let reader = tokio::task::spawn_blocking(move || {
        entries
            .iter()
            .map(|entry| {
                export.read(entry, |bytes| {
                    let mut bytes = progress.wrap_read(bytes);
                    stream_file(entry, &mut bytes, &skip, &tx)
                })
            })
            .collect::<anyhow::Result<Vec<FileReport>>>()
    });
    let mut written = HashSet::new();
    let mut documents = 0;
    while let Some(batch) = rx.recv().await {
        let fresh = written.insert((batch.table, batch.day));
        let day = ImportedDay {
            site: &job.site,
            day: batch.day,
            table: batch.table.name(),
            dims: batch.table.dims(),
            sums: &batch.sums,
        };
        documents += store.write_imported_day(&day, fresh).await?;
    }
    Ok(Outcome {
        files: reader.await??,
        ignored: listing.ignored,
        days: days.first().zip(days.last()).map(|(a, b)| (*a, *b)),
        overlap,
        prefer: job.prefer,
        documents,
    })
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

/// A file's rows, and where its table's columns are in them.
fn open_table<'a>(
    entry: &Entry,
    bytes: &'a mut dyn Read,
) -> anyhow::Result<(csv::Reader<&'a mut dyn Read>, Columns)> {
    let mut rows = csv::ReaderBuilder::new().flexible(true).from_reader(bytes);
    let columns = Columns::new(entry.table, rows.headers()?)
        .map_err(|e| anyhow::anyhow!("{}: {e}", entry.name))?;
    Ok((rows, columns))
}

/// The days the export covers; fails on a file without a column its table needs.
fn days_of(export: &Export, entries: &[Entry]) -> anyhow::Result<BTreeSet<Date>> {
    let mut days = BTreeSet::new();
    for entry in entries {
        export.read(entry, |bytes| {
            let (mut rows, columns) = open_table(entry, bytes)?;
            for row in rows.records() {
                if let Ok(day) = row
                    .map_err(drop)
                    .and_then(|r| columns.date(&r).map_err(drop))
                {
                    days.insert(day);
                }
            }
            Ok(())
        })?;
    }
    Ok(days)
}

/// Reads one file, sending each run of one day's rows as a [`DayBatch`].
fn stream_file(
    entry: &Entry,
    bytes: &mut dyn Read,
    skip_days: &BTreeSet<Date>,
    tx: &mpsc::Sender<DayBatch>,
) -> anyhow::Result<FileReport> {
    let mut report = FileReport {
        name: entry.name.clone(),
        ..FileReport::default()
    };
    let (mut rows, columns) = open_table(entry, bytes)?;
    let mut batch: Option<DayBatch> = None;
    let send = |batch: DayBatch| {
        tx.blocking_send(batch)
            .map_err(|_| anyhow::anyhow!("the import stopped writing"))
    };
    for row in rows.records() {
        report.rows += 1;
        let counted = row
            .map_err(|_| Skip::Unreadable)
            .and_then(|row| Ok((columns.date(&row)?, row)))
            .and_then(|(day, row)| match skip_days.contains(&day) {
                true => Err(Skip::NativeDay),
                false => Ok((day, columns.targets(&row)?)),
            });
        let (day, targets) = match counted {
            Ok(counted) => counted,
            Err(reason) => {
                *report.skipped.entry(reason.to_string()).or_default() += 1;
                continue;
            }
        };
        if batch.as_ref().is_some_and(|b| b.day != day) {
            send(batch.take().expect("checked"))?;
        }
        let current = batch.get_or_insert_with(|| DayBatch {
            table: entry.table,
            day,
            sums: BTreeMap::new(),
        });
        for (target, counters) in targets {
            *current.sums.entry(target).or_default() += counters;
        }
        report.imported += 1;
    }
    if let Some(last) = batch {
        send(last)?;
    }
    Ok(report)
}
