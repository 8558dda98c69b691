//! The tiers of daily rollup documents: what [`super::top`] reads a page by, how the worker and
//! imports compute them, and the backfill that gives them to documents written before.
//!
//! Two tiers per document, each ⌊log₂ m⌋ of a largest counter (-1 when m ≤ 0): `t` over every
//! counter a breakdown is ordered by (views, events, visitors, visits), and `tv` over the visit
//! counters only (visitors, visits). Most breakdowns are ordered by visitors or visits, which
//! count several times less than views and events: read by `t`, such a page would bound unseen
//! values by their views and read ~5x the documents it needs (docs/benchmarks.md).

use std::sync::atomic::{AtomicBool, Ordering};

use futures::TryStreamExt;
use mongodb::bson::{self, doc, Document};

use super::{MongoStore, StoreError, DAILY, META};
use crate::rollup::Counters;
use crate::store::Order;

/// The tier field over every ranked counter.
pub(super) const TIER: &str = "t";
/// The tier field over the visit counters.
pub(super) const VISIT_TIER: &str = "tv";
/// The counters a tier is computed from: those breakdowns are ordered by.
pub(super) const RANKED: [&str; 4] = ["views", "events", "visitors", "visits"];
/// The documents (in `meta`) that say every daily rollup has its `t`, and its `tv`.
const TIERS_READY: &str = "rollup_tiers";
const VISIT_TIERS_READY: &str = "rollup_visit_tiers";

fn tier_of(m: i64) -> i64 {
    if m <= 0 {
        -1
    } else {
        63 - i64::from(m.leading_zeros())
    }
}

/// The `t` of a document with these counters.
pub fn tier(c: &Counters) -> i64 {
    tier_of(c.views.max(c.events).max(c.visitors).max(c.visits))
}

/// The `tv` of a document with these counters.
pub fn visit_tier(c: &Counters) -> i64 {
    tier_of(c.visitors.max(c.visits))
}

/// A document's two tiers, as written.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub(super) struct Tiers {
    pub t: i64,
    pub tv: i64,
}

impl Tiers {
    pub fn of(c: &Counters) -> Self {
        Self {
            t: tier(c),
            tv: visit_tier(c),
        }
    }

    /// The fields to `$set` (or insert).
    pub fn fields(self) -> Document {
        doc! { TIER: self.t, VISIT_TIER: self.tv }
    }
}

/// The tier field a page is read by, and how a counter set's tier in it is computed.
#[derive(Debug, Clone, Copy)]
pub(super) struct TierField {
    pub name: &'static str,
    pub of: fn(&Counters) -> i64,
}

impl TierField {
    /// `tv` for pages ordered by visitors or visits once every document has one, else `t`.
    pub fn for_order(order: Order, visit_tiers: bool) -> Self {
        match order {
            Order::Visitors | Order::Visits if visit_tiers => Self {
                name: VISIT_TIER,
                of: visit_tier,
            },
            _ => Self {
                name: TIER,
                of: tier,
            },
        }
    }
}

impl MongoStore {
    /// Whether every daily rollup document has its `t` (cached once it does).
    pub(super) async fn tiers_ready(&self) -> Result<bool, StoreError> {
        self.ready(&self.tiers_ready, TIERS_READY).await
    }

    /// Whether every daily rollup document has its `tv` (cached once it does).
    pub(super) async fn visit_tiers_ready(&self) -> Result<bool, StoreError> {
        self.ready(&self.visit_tiers_ready, VISIT_TIERS_READY).await
    }

    async fn ready(&self, known: &AtomicBool, marker: &str) -> Result<bool, StoreError> {
        if known.load(Ordering::Relaxed) {
            return Ok(true);
        }
        let meta = self.db.collection::<Document>(META);
        let ready = meta.find_one(doc! { "_id": marker }).await?.is_some();
        known.store(ready, Ordering::Relaxed);
        Ok(ready)
    }

    /// Gives every daily rollup document written before tiers (or before `tv`) existed its
    /// tiers, then records that all have them; returns how many it gave them. Run by the
    /// worker at start; a no-op once done. Each update is conditional on the counters it was
    /// computed from (a worker of an older version may be writing meanwhile); a document that
    /// changed is found again by the next pass, and gets them then (after the last of five
    /// passes, an error).
    pub async fn backfill_tiers(&self) -> Result<u64, StoreError> {
        if self.visit_tiers_ready().await? {
            return Ok(0);
        }
        let rollups = self.db.collection::<Document>(DAILY);
        // A document without `t` has no `tv` either.
        let missing = doc! { VISIT_TIER: { "$exists": false } };
        let mut fields = doc! { "_id": 1 };
        RANKED.iter().for_each(|f| {
            fields.insert(*f, 1);
        });
        let mut updated = 0;
        for _pass in 0..5 {
            // One scan, its documents given their tiers 500 to a command as they come.
            let mut found = rollups
                .find(missing.clone())
                .projection(fields.clone())
                .await?;
            let (mut statements, mut given) = (Vec::new(), 0);
            while let Some(d) = found.try_next().await? {
                statements.push(tiers_statement(&missing, &d));
                given += 1;
                if statements.len() == 500 {
                    self.update_all(DAILY, std::mem::take(&mut statements))
                        .await?;
                }
            }
            self.update_all(DAILY, statements).await?;
            if given == 0 {
                for marker in [TIERS_READY, VISIT_TIERS_READY] {
                    let set = doc! { "$set": { "ready": true } };
                    let meta = self.db.collection::<Document>(META);
                    meta.update_one(doc! { "_id": marker }, set)
                        .upsert(true)
                        .await?;
                }
                return Ok(updated);
            }
            updated += given;
        }
        Err(StoreError::Corrupt(
            "daily rollups kept changing while their tiers were backfilled".to_owned(),
        ))
    }
}

/// The update that gives `d` (read with its ranked counters) its tiers if it still has none
/// and its counters are as read.
fn tiers_statement(missing: &Document, d: &Document) -> Document {
    let mut q = missing.clone();
    q.insert("_id", d.get("_id").cloned().unwrap_or_default());
    for f in RANKED {
        q.insert(f, d.get(f).cloned().unwrap_or_default());
    }
    let counters = bson::from_document::<Counters>(d.clone()).unwrap_or_default();
    doc! { "q": q, "u": { "$set": Tiers::of(&counters).fields() } }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(views: i64, visitors: i64, visits: i64) -> Counters {
        Counters {
            views,
            visitors,
            visits,
            ..Counters::default()
        }
    }

    #[test]
    fn tiers_bound_every_ranked_counter() {
        assert_eq!(tier(&Counters::default()), -1);
        assert_eq!(tier(&with(-3, 0, 0)), -1);
        assert_eq!(tier(&with(1, 0, 0)), 0);
        assert_eq!(tier(&with(2, 0, 3)), 1);
        assert_eq!(tier(&with(4, 0, 0)), 2);
        assert_eq!(tier(&with(1023, 0, 1024)), 10);
        assert_eq!(tier(&with(i64::MAX, 0, 0)), 62);
        // A document of tier t counts less than 2^(t+1) in every ranked counter.
        for n in 1..5000 {
            assert!(n < 1_i64 << (tier(&with(n, 0, n / 2)) + 1));
            assert!(n >= 1_i64 << tier(&with(n, 0, 0)));
        }
    }

    #[test]
    fn visit_tiers_bound_visitors_and_visits_only() {
        assert_eq!(visit_tier(&with(5000, 0, 0)), -1);
        assert_eq!(visit_tier(&with(5000, 3, 2)), 1);
        assert_eq!(visit_tier(&with(1, 2, 1024)), 10);
        for n in 1..5000 {
            let c = with(n * 5, n, n / 2);
            assert!(n < 1_i64 << (visit_tier(&c) + 1) && n >= 1_i64 << visit_tier(&c));
            assert!(visit_tier(&c) <= tier(&c));
        }
        let visits = TierField::for_order(Order::Visits, true);
        assert_eq!((visits.name, (visits.of)(&with(9, 4, 0))), ("tv", 2));
        assert_eq!(TierField::for_order(Order::Visitors, false).name, "t");
        assert_eq!(TierField::for_order(Order::Views, true).name, "t");
        assert_eq!(TierField::for_order(Order::Events, true).name, "t");
    }
}
