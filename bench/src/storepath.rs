//! The worker against a bare bulk-insert loop on the same store.
//!
//! Issue 7 asks for the worker to reach 80% of what the store accepts from a bare bulk-insert
//! loop in the same run. Two ways to measure it:
//! - `bare-insert` (used by `scripts/bench` right after the worker stored a backlog into an empty
//!   database): copies the raw-event documents the worker stored into a fresh database on the
//!   same MongoDB with `insert_many` and nothing else, so the bare loop writes exactly the
//!   worker's documents, as many of them, from the same empty start;
//! - `store-path`: both sides on a generated site-day (the `seed` generator, `--mix` either mix), the
//!   bare loop against the worker's [`beacon::worker::apply_batch`] (replay check, raw events,
//!   rollups) with visitor states saved at checkpoints and rollup deltas held as under a
//!   backlog, in the same batches. Kafka is left out of both, so the ratio is the
//!   store's alone; it shows what visitor states cost when most events of a batch are by
//!   different visitors, which the benchmark's burst (200 user ids) does not.
//!
//! The bare side's collection carries the same indexes as the worker's `events` collection
//! (`ensure_indexes`): index upkeep is part of what a store accepts.

use std::sync::Arc;
use std::time::Instant;

use anyhow::{ensure, Context as _};
use beacon::rollup::{Position, VisitTag};
use beacon::store::{MongoStore, StoredEvent};
use beacon::worker::CheckpointPolicy;
use beacon_event::Event;
use clap::Args;
use futures::TryStreamExt as _;
use mongodb::bson::{doc, Document};
use time::OffsetDateTime;

use crate::seed::RETENTION;

#[derive(Args)]
pub struct BareInsertArgs {
    /// MongoDB URL (loopback only) of the database the worker wrote; the copy goes to
    /// `<database>_bare`, dropped first and after.
    #[arg(long, default_value = "mongodb://127.0.0.1:27017/bench")]
    mongo: String,
    /// How many of the stored raw events to copy (at most).
    #[arg(long, default_value_t = 200_000)]
    events: u64,
    /// Documents per `insert_many` (the worker's default WORKER_BATCH_SIZE).
    #[arg(long, default_value_t = 10_000)]
    batch: usize,
    /// Connection counts to try, e.g. 1,2.
    #[arg(long, value_delimiter = ',', default_value = "1,2")]
    connections: Vec<usize>,
}

#[derive(Args)]
pub struct StorePathArgs {
    /// MongoDB URL (loopback only); the run uses `<database>_bare` and `<database>_worker` and
    /// drops them first and after.
    #[arg(long, default_value = "mongodb://127.0.0.1:27017/storepath")]
    mongo: String,
    /// Events written by each side.
    #[arg(long, default_value_t = 100_000)]
    events: u64,
    /// The generated day's planned size: with 10M, consecutive events are mostly by different
    /// visitors (a busy site); small values make each visitor's events dense.
    #[arg(long, default_value_t = 10_000_000)]
    day_events: u64,
    /// Events per write (the worker's default WORKER_BATCH_SIZE).
    #[arg(long, default_value_t = 10_000)]
    batch: usize,
    /// Connection counts to try for the bare loop, e.g. 1,2.
    #[arg(long, value_delimiter = ',', default_value = "1,2")]
    connections: Vec<usize>,
    /// The worker side's `WORKER_CHECKPOINT_MS` (0: states saved after every batch); it
    /// checkpoints as the worker does working through a backlog ([`CheckpointPolicy`]).
    #[arg(long, default_value_t = 120_000)]
    checkpoint_ms: u64,
    /// Overrides the policy's most records between checkpoints (experiments only).
    #[arg(long)]
    max_records: Option<usize>,
    /// Overrides the policy's most unsaved states (experiments only).
    #[arg(long)]
    max_dirty: Option<usize>,
    #[command(flatten)]
    mix: crate::mix::MixArgs,
}

/// `url` with a long `connectTimeoutMS` unless it sets one. The driver's server monitor uses it
/// for its heartbeat, and SecantusDB (one Python process) may not answer a heartbeat while it
/// works through a 10,000-document insert on a collection of millions; the monitor would then
/// drop the connections of the writes in flight.
fn patient(url: &str) -> String {
    if url.contains("connectTimeoutMS=") {
        return url.to_owned();
    }
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}connectTimeoutMS=120000")
}

/// The store `url` names, with [`patient`] timeouts.
async fn connect(url: &str) -> anyhow::Result<MongoStore> {
    Ok(MongoStore::connect(&patient(url)).await?)
}

/// A fresh database named `name` beside `base`, with the worker's indexes.
async fn fresh_store(base: &MongoStore, name: &str) -> anyhow::Result<MongoStore> {
    let store = base.with_database(name);
    store
        .database()
        .drop()
        .await
        .context("dropping (is MongoDB up?)")?;
    store.ensure_indexes().await?;
    Ok(store)
}

/// `insert_many` of `docs` in batches of `batch` on `k` connections at once; docs/s.
async fn bare_loop(
    store: &MongoStore,
    docs: Arc<Vec<Document>>,
    batch: usize,
    k: usize,
) -> anyhow::Result<f64> {
    let events = store.database().collection::<Document>("events");
    let bar = crate::probes::progress(docs.len() as u64, &format!("bare insert_many, {k} conn"));
    let started = Instant::now();
    let mut tasks = Vec::new();
    // Connection i writes batches i, i + k, i + 2k, ...
    for i in 0..k {
        let (events, docs, bar) = (events.clone(), docs.clone(), bar.clone());
        tasks.push(tokio::spawn(async move {
            for chunk in docs.chunks(batch).skip(i).step_by(k) {
                events.insert_many(chunk).ordered(false).await?;
                bar.inc(chunk.len() as u64);
            }
            anyhow::Ok(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    bar.finish_and_clear();
    Ok(docs.len() as f64 / started.elapsed().as_secs_f64())
}

/// Runs the bare loop for each connection count; the best rate and one row per count, each
/// row's label ending in `when`.
async fn bare_rows(
    base: &MongoStore,
    name: &str,
    docs: Arc<Vec<Document>>,
    batch: usize,
    connections: &[usize],
    when: &str,
) -> anyhow::Result<(f64, Vec<String>)> {
    let mut best = 0f64;
    let mut rows = Vec::new();
    for &k in connections {
        ensure!(k >= 1, "--connections must be >= 1");
        let store = fresh_store(base, name).await?;
        let rate = bare_loop(&store, docs.clone(), batch, k).await?;
        store.database().drop().await?;
        eprintln!("bare insert_many, {k} connection(s): {rate:.0} docs/s");
        best = best.max(rate);
        rows.push(format!(
            "| bare `insert_many`, {k} connection(s){when} | {} | {rate:.0} docs/s |",
            docs.len()
        ));
    }
    Ok((best, rows))
}

/// Copies the worker's stored raw events into a scratch database; row per connection count.
pub async fn bare_insert(args: BareInsertArgs) -> anyhow::Result<String> {
    crate::probes::loopback(&args.mongo)?;
    ensure!(args.batch >= 1, "--batch must be >= 1");
    let source = connect(&args.mongo).await?;
    let docs: Vec<Document> = source
        .database()
        .collection::<Document>("events")
        .find(doc! {})
        .limit(i64::try_from(args.events).unwrap_or(i64::MAX))
        .await?
        .try_collect()
        .await
        .context("reading the stored raw events")?;
    ensure!(!docs.is_empty(), "no raw events stored in {}", args.mongo);
    let name = format!("{}_bare", source.database().name());
    let (best, rows) = bare_rows(
        &source,
        &name,
        Arc::new(docs),
        args.batch,
        &args.connections,
        "",
    )
    .await?;
    eprintln!("bare insert_many: best {best:.0} docs/s");
    Ok(rows.join("\n"))
}

/// The worker's storage path against the bare loop on one generated day; rows and the ratio.
pub async fn store_path(args: StorePathArgs) -> anyhow::Result<String> {
    crate::probes::loopback(&args.mongo)?;
    ensure!(
        args.batch >= 1 && args.events >= 1 && args.day_events >= args.events,
        "--batch, --events must be >= 1 and --day-events >= --events"
    );
    let base = connect(&args.mongo).await?;
    let database = base.database().name().to_owned();
    let now = OffsetDateTime::now_utc();
    let mut generator = args
        .mix
        .generator("store-path", now.date(), args.day_events, 0)?;
    let events: Vec<(Event, Position)> = (0..args.events)
        .map(|_| generator.next_event(now))
        .collect::<anyhow::Result<_>>()?;
    let docs: Vec<Document> = events
        .iter()
        .map(|(event, at)| {
            StoredEvent {
                event: event.clone(),
                at: *at,
                visit: VisitTag {
                    visit_id: format!("{:x}", at.offset),
                    entry: event.path.as_str().to_owned(),
                    context: event.context.clone(),
                },
            }
            .to_document(RETENTION)
        })
        .collect();
    // The bare loop runs before and after the worker and the worker is compared with the mean:
    // SecantusDB gets slower as it accumulates history (a second identical bare run was ~20%
    // slower than the first), so whichever side runs second would be handicapped.
    let docs = Arc::new(docs);
    let bare_db = format!("{database}_bare");
    let (before, mut rows) = bare_rows(
        &base,
        &bare_db,
        docs.clone(),
        args.batch,
        &args.connections,
        ", before the worker",
    )
    .await?;

    // The worker's loop without Kafka: batches applied with visitor states held in memory,
    // saved at each checkpoint and at the end.
    let store = fresh_store(&base, &format!("{database}_worker")).await?;
    let bar = crate::probes::progress(args.events, "worker apply_batch");
    let mut policy = CheckpointPolicy::new(std::time::Duration::from_millis(args.checkpoint_ms));
    policy.max_records = args.max_records.unwrap_or(policy.max_records);
    policy.max_dirty = args.max_dirty.unwrap_or(policy.max_dirty);
    let mut states = beacon::worker::VisitorStates::default();
    // A backlog: the worker holds rollup deltas between writes, as here.
    states.set_rollup_budget(policy.max_rollup_deltas);
    let (mut saves, mut saved_states) = (0, 0);
    // The worker keeps each window's records (the events' JSON, as Kafka gave them) for a
    // conflict's re-apply: held here too, copied from payloads made before the baseline, so the
    // growth of the resident set is what the worker holds.
    let payloads: Vec<Vec<u8>> = events
        .iter()
        .map(|(event, _)| serde_json::to_vec(event))
        .collect::<Result<_, _>>()?;
    let mut window: Vec<Vec<u8>> = Vec::new();
    let baseline = resident_bytes();
    let mut peak = baseline;
    let mut saving = std::time::Duration::ZERO;
    let started = Instant::now();
    let mut last_save = Instant::now();
    for (i, (chunk, records)) in events
        .chunks(args.batch)
        .zip(payloads.chunks(args.batch))
        .enumerate()
    {
        // As the worker does: the batch's goals read first (none registered here).
        let goals = beacon::worker::goals_for(&store, chunk).await?;
        let batch = beacon::worker::Batch {
            events: chunk,
            goals: &goals,
        };
        beacon::worker::apply_batch(&store, batch, RETENTION, &mut states).await?;
        window.extend_from_slice(records);
        peak = peak.max(resident_bytes());
        let last = (i + 1) * args.batch >= events.len();
        if last || policy.due(last_save.elapsed(), states.holding(window.len()), false) {
            let save = Instant::now();
            saved_states += states.save(&store).await?;
            saving += save.elapsed();
            saves += 1;
            window.clear();
            peak = peak.max(resident_bytes());
            last_save = Instant::now();
        }
        bar.inc(chunk.len() as u64);
    }
    let elapsed = started.elapsed().as_secs_f64();
    let rate = args.events as f64 / elapsed;
    bar.finish_and_clear();
    store.database().drop().await?;
    let per_event = |n: usize| n as f64 / args.events as f64;
    let written = format!(
        "documents written per event: 1 raw + {:.2} rollups + {:.2} states; held at most {} MB",
        per_event(states.rollup_writes()),
        per_event(saved_states),
        peak.saturating_sub(baseline) >> 20
    );
    eprintln!(
        "worker: {rate:.0} events/s, {saved_states} state saves in {saves} checkpoints taking {:.1} of {elapsed:.1} s; {written}",
        saving.as_secs_f64()
    );
    rows.push(format!(
        "| worker ({:?} mix; replay check, raw events, rollups; visitor states held, `WORKER_CHECKPOINT_MS={}`: {saved_states} state saves in {saves} checkpoints, {:.1} of {elapsed:.1} s; {written}) | {} | {rate:.0} events/s |",
        args.mix.mix, args.checkpoint_ms, saving.as_secs_f64(), args.events
    ));
    let (after, after_rows) = bare_rows(
        &base,
        &bare_db,
        docs,
        args.batch,
        &args.connections,
        ", after the worker",
    )
    .await?;
    rows.extend(after_rows);
    let bare = (before + after) / 2.0;
    rows.push(format!(
        "| **worker / bare (mean of the best before and after: {bare:.0} docs/s)** | | **{:.0}%** |",
        100.0 * rate / bare
    ));
    Ok(rows.join("\n"))
}

/// This process's resident set, in bytes (0 where the system does not say).
fn resident_bytes() -> usize {
    memory_stats::memory_stats().map_or(0, |m| m.physical_mem)
}

#[cfg(test)]
mod tests {
    use super::patient;

    #[test]
    fn a_long_connect_timeout_is_added_unless_set() {
        assert_eq!(
            patient("mongodb://h:1/b"),
            "mongodb://h:1/b?connectTimeoutMS=120000"
        );
        assert_eq!(
            patient("mongodb://h:1/b?appName=x"),
            "mongodb://h:1/b?appName=x&connectTimeoutMS=120000"
        );
        assert_eq!(
            patient("mongodb://h:1/b?connectTimeoutMS=5"),
            "mongodb://h:1/b?connectTimeoutMS=5"
        );
    }
}
