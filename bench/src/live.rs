//! Live traffic for `reports --live-events`: more events of the range's last day, stored
//! through the worker's storage path before each timed request, so that every request finds
//! that day's total changed, as a dashboard does while visitors arrive.

use anyhow::{ensure, Context as _};
use beacon::store::MongoStore;
use beacon_event::SiteId;
use mongodb::bson::{doc, Document};
use time::{Date, OffsetDateTime};

use crate::mix::{MixArgs, Traffic};
use crate::seed;

pub struct Live {
    store: MongoStore,
    generator: Traffic,
    partition: u16,
    per_request: usize,
    held: beacon::worker::VisitorStates,
    /// Page views stored so far (the answers' checks add them to the seeded ones).
    pub page_views: u64,
}

/// The site-day live events go to, and the Kafka partition they come from (the one the day
/// was seeded on: `scripts/bench-filtered` seeds day k on partition k).
pub struct LiveDay<'a> {
    pub site: &'a str,
    pub day: Date,
    pub partition: u16,
}

impl Live {
    /// Events of `to`, `per_request` at a time, from the offset after the highest that day
    /// counts on its partition (the seeded ones, and an earlier run's). The generator spreads
    /// a day of twice that offset, so they fall in the day's second half.
    pub async fn new(
        store: MongoStore,
        mix: &MixArgs,
        to: LiveDay<'_>,
        per_request: usize,
    ) -> anyhow::Result<Self> {
        let first = next_offset(&store, &to).await?;
        Ok(Self {
            generator: mix.generator(to.site, to.day, first.max(1) * 2, first)?,
            store,
            partition: to.partition,
            per_request,
            held: beacon::worker::VisitorStates::default(),
            page_views: 0,
        })
    }

    /// Stores the next batch.
    pub async fn arrive(&mut self) -> anyhow::Result<()> {
        let now = OffsetDateTime::now_utc();
        let batch = (0..self.per_request)
            .map(|_| {
                let next = self.generator.next_event(now)?;
                Ok(seed::on_partition(next, self.partition))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let views = batch.iter().filter(|(e, _)| e.event_type.is_page_view());
        self.page_views += views.count() as u64;
        seed::store_one(&self.store, &batch, false, &mut self.held).await?;
        Ok(())
    }
}

/// The offset after the highest that `to`'s site total counts on its partition.
async fn next_offset(store: &MongoStore, to: &LiveDay<'_>) -> anyhow::Result<u64> {
    let total = store
        .database()
        .collection::<Document>("rollups_daily")
        .find_one(doc! { "site": to.site, "dim": "total", "day": to.day.to_string() })
        .await?
        .context("the live day has no site total: seed it first")?;
    let highest = total
        .get_document("wm")
        .ok()
        .and_then(|wm| wm.get_i64(to.partition.to_string()).ok())
        .context("the live day's total counts nothing on --live-partition")?;
    Ok(u64::try_from(highest)? + 1)
}

/// Page views stored over `[from, to]` beyond the `seeded` ones (live events of earlier runs),
/// read from the day totals.
pub async fn earlier_views(
    store: &MongoStore,
    site: &str,
    (from, to): (Date, Date),
    seeded: u64,
) -> anyhow::Result<u64> {
    let site = SiteId::parse(site).map_err(|e| anyhow::anyhow!("site: {e}"))?;
    let totals = store.daily_totals(&site, from, to).await?;
    let stored = u64::try_from(totals.iter().map(|(_, c)| c.views).sum::<i64>())?;
    ensure!(
        stored >= seeded,
        "{stored} page views stored, {seeded} seeded"
    );
    Ok(stored - seeded)
}
