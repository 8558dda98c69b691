//! The top values of a property over a range of days, reading a bounded number of rollup
//! documents whatever the site's cardinality (20,000 paths a day read like 50).
//!
//! Each daily rollup document carries *tiers* ([`super::tiers`]): `t` is ⌊log₂ m⌋ of m, the
//! largest of the counters a breakdown is ordered by (views, events, visitors, visits), or -1
//! when m ≤ 0; `tv` the same over visitors and visits, for pages in those orders. The worker
//! sets them in the conditional update that changes the counters, computed from the counters
//! it read under the same watermark condition, so replays and rebalances keep them exact.
//!
//! A page is read tier by tier, highest first (index `site, dim, t, day`, or `tv`). Once every
//! document of tier ≥ T is read, every other one counts less than 2^T in the page's order, so
//! a value not seen yet totals at most `days · (2^T − 1)` over the range. Each value seen is
//! summed exactly (its documents on the range's other days are looked up by id, or taken from
//! what was kept of those days); once the page's last row counts more than that bound, no
//! unseen value can enter the page and reading stops. On a skewed distribution (real traffic)
//! that is a few documents per day; on a flat one (every value equal) it reads all.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use beacon_event::SiteId;
use mongodb::bson::doc;

use super::bson::day_range;
use super::day_cache::Held;
use super::rollup_documents::RollupDocument;
use super::tiers::TierField;
use super::top_cache::{TopCache, Totals};
use super::top_days::RangeDays;
use super::{MongoStore, StoreError, DAILY};
use crate::rollup::{Bucket, Counters, Property, RollupKey};
use crate::store::{Order, Page, Row, RowsQuery};

/// A page of rows and what reading it cost.
#[derive(Debug)]
pub struct Top {
    pub rows: Vec<Row>,
    /// Rollup documents read from the store (by tier and by id).
    pub documents_read: usize,
}

/// The values seen so far, each summed exactly over the range.
#[derive(Default)]
struct Candidates {
    sums: HashMap<String, Counters>,
    /// Documents already added (a value's document can come back in a lower tier).
    counted: HashSet<String>,
}

impl Candidates {
    fn add(&mut self, d: &Held) {
        if !self.counted.contains(&d.id) {
            self.counted.insert(d.id.clone());
            *self.sums.entry(d.value.clone()).or_default() += d.counters;
        }
    }

    /// Whether the first `need` rows in `order` are final: the last of them counts more than
    /// `bound`, the most a value not seen yet can count.
    fn settled(&self, order: Order, need: u64, bound: i64) -> bool {
        let mut keys: Vec<i64> = self
            .sums
            .values()
            .filter(|c| order.lists(c))
            .map(|c| order.key(c).0)
            .collect();
        let Some(at) = usize::try_from(need).ok().and_then(|n| n.checked_sub(1)) else {
            return true;
        };
        if keys.len() <= at {
            return false;
        }
        keys.select_nth_unstable_by(at, |a, b| b.cmp(a));
        keys[at] > bound
    }

    fn page(self, order: Order, page: Page, documents_read: usize) -> Top {
        let rows = self
            .sums
            .into_iter()
            .map(|(value, counters)| Row { value, counters });
        Top {
            rows: order.arrange(rows, page),
            documents_read,
        }
    }
}

impl MongoStore {
    /// One page of `dim`'s values over `[from, to]` in `order`, read tier by tier (or kept
    /// from an earlier read while the range's day totals are unchanged: [`TopCache`]; each
    /// day's documents kept while its total is: [`super::day_cache`]).
    pub async fn top_rows(&self, q: RowsQuery<'_>) -> Result<Top, StoreError> {
        let read_at = Instant::now();
        let totals = self.daily_totals(q.site, q.from, q.to).await?;
        let key = TopCache::key(&q);
        if let Some((rows, refresh)) = self.tops.get(&key, &totals) {
            if refresh {
                self.read_again(q, key, totals, false);
            }
            return Ok(Top {
                rows,
                documents_read: 0,
            });
        }
        let (top, days) = self.read_top(q, &totals, false).await?;
        if days.refresh_due() {
            self.read_again(q, key.clone(), totals.clone(), true);
        }
        self.keep(q, key, totals, &top, days, read_at).await?;
        Ok(top)
    }

    /// Keeps a page read under `totals` if they still stand (nothing was counted meanwhile),
    /// and what was read of each day whose total still stands.
    async fn keep(
        &self,
        q: RowsQuery<'_>,
        key: String,
        totals: Totals,
        top: &Top,
        days: RangeDays,
        read_at: Instant,
    ) -> Result<(), StoreError> {
        if !self.tops.enabled() && !self.days.enabled() {
            return Ok(());
        }
        let now = self.daily_totals(q.site, q.from, q.to).await?;
        days.keep(&self.days, &now, read_at);
        if now == totals {
            self.tops.put(key, totals, top.rows.clone(), read_at);
        }
        Ok(())
    }

    /// Reads a page again in the background: it was answered from the cache meanwhile, or
    /// (`fresh`) some of the days it was read from were kept long enough to be read again.
    fn read_again(&self, q: RowsQuery<'_>, key: String, totals: Totals, fresh: bool) {
        let store = self.clone();
        let (site, dim) = (q.site.clone(), q.dim.clone());
        let (from, to, order, page) = (q.from, q.to, q.order, q.page);
        tokio::spawn(async move {
            let q = RowsQuery {
                site: &site,
                from,
                to,
                dim: &dim,
                order,
                page,
            };
            let read_at = Instant::now();
            let read = match store.read_top(q, &totals, fresh).await {
                Ok((top, days)) => store.keep(q, key, totals, &top, days, read_at).await,
                Err(e) => Err(e),
            };
            if let Err(error) = read {
                tracing::debug!(%error, "a kept breakdown page could not be read again");
            }
        });
    }

    /// [`MongoStore::top_rows`] read from the days kept and the store (only the store if
    /// `fresh`), given the range's day totals; also what it read of each day.
    async fn read_top(
        &self,
        q: RowsQuery<'_>,
        totals: &Totals,
        fresh: bool,
    ) -> Result<(Top, RangeDays), StoreError> {
        let RowsQuery {
            site,
            dim,
            order,
            page,
            ..
        } = q;
        let field = TierField::for_order(order, self.visit_tiers_ready().await?);
        // The highest tier any value can have (a total counts at least as much as each of
        // its values).
        let highest = totals.iter().map(|(_, c)| (field.of)(c)).max();
        let mut days = RangeDays::new(&self.days, (site, dim, field.name), totals, fresh);
        let day_count = i64::try_from(days.len()).unwrap_or(i64::MAX);
        let need = page.skip + page.limit;
        let mut seen = Candidates::default();
        for t in (-1..=highest.unwrap_or(-1)).rev() {
            self.read_tier(&mut days, (site, dim, field.name), t)
                .await?;
            let mut fresh_values = HashSet::new();
            for d in days.tier(t) {
                if !seen.sums.contains_key(&d.value) {
                    fresh_values.insert(d.value.clone());
                }
                seen.add(d);
            }
            let fresh_values: Vec<String> = fresh_values.into_iter().collect();
            self.complete(&mut seen, &mut days, site, dim, &fresh_values)
                .await?;
            // Every document below tier t counts at most 2^t - 1 (at most 0 below tier 0).
            let bound = day_count.saturating_mul((1_i64 << t.max(0)) - 1);
            if t >= 0 && seen.settled(order, need, bound) {
                break;
            }
        }
        Ok((seen.page(order, page, days.read()), days))
    }

    /// Reads the documents of tier `t` in `field` of the days not known yet, a query per run
    /// of such days.
    async fn read_tier(
        &self,
        days: &mut RangeDays,
        (site, dim, field): (&SiteId, &Property, &str),
        t: i64,
    ) -> Result<(), StoreError> {
        let mut found: Vec<RollupDocument> = Vec::new();
        for (from, to) in days.unread(t) {
            let filter = doc! { "site": site.as_str(), "dim": dim.stored().as_ref(), field: t, "day": day_range(from, to) };
            found.extend(self.find_all::<RollupDocument>(DAILY, filter).await?);
        }
        days.learn_tier(t, found);
        Ok(())
    }

    /// Adds the documents of `values` on the range's other days, so each is summed exactly:
    /// from what is known of those days, else looked up by id.
    async fn complete(
        &self,
        seen: &mut Candidates,
        days: &mut RangeDays,
        site: &SiteId,
        dim: &Property,
        values: &[String],
    ) -> Result<(), StoreError> {
        let dates = days.dates();
        let mut wanted: HashMap<String, (usize, &String)> = HashMap::new();
        for value in values {
            for (i, day) in dates.iter().enumerate() {
                let id = RollupKey::of(site, Bucket::Day(*day), dim.clone(), value).id();
                if seen.counted.contains(&id) {
                    continue;
                }
                match days.looked_up(i, value) {
                    Some(Some(held)) => seen.add(held),
                    Some(None) => {}
                    None => {
                        wanted.insert(id, (i, value));
                    }
                }
            }
        }
        if wanted.is_empty() {
            return Ok(());
        }
        let ids: Vec<String> = wanted.keys().cloned().collect();
        let found: Vec<RollupDocument> = self.find_by_ids(DAILY, &ids, None).await?;
        for d in found {
            if let Some((i, value)) = wanted.remove(&d.id) {
                let held = Held::from(d);
                seen.add(&held);
                days.learn_lookup(i, value.clone(), Some(held));
            }
        }
        for (i, value) in wanted.into_values() {
            days.learn_lookup(i, value.clone(), None);
        }
        Ok(())
    }
}
