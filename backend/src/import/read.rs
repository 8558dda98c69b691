//! Reading an export's files, on a blocking thread: the survey of pass 1 and the stream of
//! day batches of pass 2 (see `super::load`).

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;

use anyhow::Context;
use time::Date;
use tokio::sync::mpsc;

use super::export::{Entry, Export};
use super::plausible::{Columns, Skip, Table, Target};
use crate::rollup::Counters;

/// What pass 1 learns from every file.
#[derive(Debug, Default)]
pub struct Survey {
    /// The days with rows, before the first day that is not over.
    pub days: BTreeSet<Date>,
    /// Custom events per day (`imported_custom_events`), which the day's total counts too:
    /// a tracked day's `events` are page views and custom events.
    pub custom_events: BTreeMap<Date, i64>,
}

/// Which rows pass 2 leaves out, and what it adds.
#[derive(Debug)]
pub struct Plan {
    /// Days the worker counted and keeps (`--prefer native`).
    pub native: BTreeSet<Date>,
    /// The site's today: this day and later ones are not over, so not imported.
    pub today: Date,
    pub custom_events: BTreeMap<Date, i64>,
}

/// A day of one table, summed per document.
#[derive(Debug)]
pub struct DayBatch {
    pub table: Table,
    pub day: Date,
    pub sums: BTreeMap<Target, Counters>,
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

/// A file's rows, and where its table's columns are in them.
fn open_table<'a>(
    entry: &Entry,
    bytes: &'a mut dyn Read,
) -> anyhow::Result<(csv::Reader<&'a mut dyn Read>, Columns)> {
    let mut rows = csv::ReaderBuilder::new().flexible(true).from_reader(bytes);
    let header = rows.headers().with_context(|| entry.name.clone())?;
    let columns =
        Columns::new(entry.table, header).map_err(|e| anyhow::anyhow!("{}: {e}", entry.name))?;
    Ok((rows, columns))
}

/// A row, or the reason it is skipped; a file that cannot be read on (a damaged archive) is an
/// error, not a skipped row.
fn next_row(
    entry: &Entry,
    row: Result<csv::StringRecord, csv::Error>,
) -> anyhow::Result<Result<csv::StringRecord, Skip>> {
    match row {
        Ok(row) => Ok(Ok(row)),
        Err(e) if e.is_io_error() => Err(anyhow::anyhow!("{}: {e}", entry.name)),
        Err(_) => Ok(Err(Skip::Unreadable)),
    }
}

/// Pass 1: checks every file's header (a missing column fails the import before anything is
/// written) and collects the days before `today` and their custom events.
pub fn survey(export: &Export, entries: &[Entry], today: Date) -> anyhow::Result<Survey> {
    let mut survey = Survey::default();
    for entry in entries {
        export.read(entry, |bytes| {
            let (mut rows, columns) = open_table(entry, bytes)?;
            for row in rows.records() {
                let Ok(row) = next_row(entry, row)? else {
                    continue;
                };
                let Some(day) = columns.date(&row).ok().filter(|d| *d < today) else {
                    continue;
                };
                survey.days.insert(day);
                if entry.table == Table::CustomEvents {
                    let events = columns.targets(&row).map_or(0, |t| t[0].1.events);
                    *survey.custom_events.entry(day).or_default() += events;
                }
            }
            Ok(())
        })?;
    }
    Ok(survey)
}

impl Plan {
    /// The day of `row` and what it counts, or why it is skipped.
    fn count(&self, table: Table, columns: &Columns, row: &csv::StringRecord) -> Counted {
        let day = columns.date(row)?;
        if day >= self.today {
            return Err(Skip::NotOver);
        }
        if self.native.contains(&day) {
            return Err(Skip::NativeDay);
        }
        let mut targets = columns.targets(row)?;
        if table == Table::Visitors {
            let custom = self.custom_events.get(&day).copied().unwrap_or_default();
            for (target, counters) in &mut targets {
                if target.is_none() {
                    counters.events += custom;
                }
            }
        }
        Ok((day, targets))
    }
}

type Counted = Result<(Date, Vec<(Target, Counters)>), Skip>;

/// Pass 2 for one file: sends each run of one day's rows as a [`DayBatch`].
pub fn stream_file(
    entry: &Entry,
    bytes: &mut dyn Read,
    plan: &Plan,
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
        let counted = next_row(entry, row)?.and_then(|r| plan.count(entry.table, &columns, &r));
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
