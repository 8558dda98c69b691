//! `beacon-admin rollups rebuild`: a site's rollups recomputed from its raw events, online.
//!
//! Why: after a fix in how something is counted (or, later, a timezone change or an import),
//! the rollups of past days must be computed again, while the worker keeps storing new events.
//! How: the site's stored events of the range (and of the day before, so visits that cross
//! midnight start where they started) are read back in the order the worker stored them and
//! stored again, by the worker's own [`store_batch`] (with the site's goals and funnels as
//! registered now), into a scratch database: that is a fresh
//! single pass. Its rollups then replace the site's, document by document, each on the
//! condition that the worker did not change it meanwhile ([`MongoStore::replace_rollups`]),
//! after the pass's event blocks (what filtered reports read) are added to the site's.
//! Running it twice changes nothing. Days whose raw events may have expired
//! (`RETENTION_DAYS`) are left as they are and reported.

use beacon_event::SiteId;
use indicatif::ProgressBar;
use time::{Date, Duration, OffsetDateTime};

use super::{goals_for, store_batch, Batch};
use crate::rollup::Zone;
use crate::store::{MongoStore, Replaced, RollupRange, StoreError};

/// Events stored into the scratch database per batch.
const CHUNK: usize = 2000;

/// What a rebuild did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rebuilt {
    /// The days recomputed (inclusive), if any.
    pub days: Option<(Date, Date)>,
    /// The days left as they were: older than the raw-event retention.
    pub skipped: Option<(Date, Date)>,
    pub events: usize,
    /// Stored documents that could not be read back as events (not written by a worker).
    pub unreadable: usize,
    pub replaced: Replaced,
}

/// Recomputes `site`'s rollups for its days `[from, to]` in `zone` (its registered time zone:
/// the events are counted in it, whatever zone they were counted in before) that are within
/// `retention` of `now`; `progress` counts the events stored again.
pub async fn rebuild(
    store: &MongoStore,
    (site, zone): (&SiteId, &Zone),
    (from, to): (Date, Date),
    retention: Duration,
    now: OffsetDateTime,
    progress: &ProgressBar,
) -> Result<Rebuilt, StoreError> {
    let kept_from = first_kept_day(now, retention);
    let start = from.max(kept_from);
    let skipped =
        (from < kept_from).then(|| (from, to.min(kept_from.previous_day().unwrap_or(to))));
    let mut rebuilt = Rebuilt {
        days: (start <= to).then_some((start, to)),
        skipped,
        events: 0,
        unreadable: 0,
        replaced: Replaced::default(),
    };
    let Some((start, to)) = rebuilt.days else {
        return Ok(rebuilt);
    };
    let range = RollupRange {
        site,
        days: (start, to),
        from: zone.midnight(start),
        until: zone.midnight(to.next_day().unwrap_or(to)),
    };
    let (mut events, unreadable) = store
        .stored_events(site, range.from - Duration::DAY, range.until)
        .await?;
    for (event, _) in &mut events {
        event.context.timezone = zone.name().to_owned();
    }
    (rebuilt.events, rebuilt.unreadable) = (events.len(), unreadable);
    progress.set_length(events.len() as u64);
    let scratch = store.with_database(&scratch_name(store, site));
    let result = async {
        scratch.ensure_indexes().await?;
        for chunk in events.chunks(CHUNK) {
            // The site's goals as registered now: the rebuilt days list them all.
            let goals = goals_for(store, chunk).await?;
            let batch = Batch {
                events: chunk,
                goals: &goals,
            };
            store_batch(&scratch, batch, retention).await?;
            progress.inc(chunk.len() as u64);
        }
        // Before the rollups: a rebuilt day's site total says its events are in blocks.
        store.copy_blocks(&scratch, site).await?;
        store.replace_rollups(&scratch, &range).await
    }
    .await;
    // Dropped whatever happened: a scratch database never outlives its rebuild.
    let _ = scratch.database().drop().await;
    rebuilt.replaced = result?;
    progress.finish_and_clear();
    Ok(rebuilt)
}

/// The first day all of whose raw events are still kept at `now`.
pub fn first_kept_day(now: OffsetDateTime, retention: Duration) -> Date {
    (now - retention + Duration::DAY).date()
}

fn scratch_name(store: &MongoStore, site: &SiteId) -> String {
    let tag: String = site
        .as_str()
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(16)
        .collect();
    let unique = &uuid::Uuid::new_v4().simple().to_string()[..8];
    // MongoDB database names are at most 63 bytes.
    let base: String = store.database().name().chars().take(30).collect();
    format!("{base}_rebuild_{tag}_{unique}")
}
