//! A range's goal and funnel documents read from rollups (`crate::rollup::goals`): bounded by
//! the number of goals, funnel steps and days, whatever the traffic.

use std::collections::{BTreeMap, BTreeSet};

use beacon_event::SiteId;
use mongodb::bson::doc;
use time::Date;

use super::bson::day_range;
use super::rollup_documents::RollupDocument;
use super::{MongoStore, StoreError, DAILY};
use crate::rollup::Counters;

/// A range's documents of some dims, summed per dim and value, and its site totals.
#[derive(Debug, Default)]
pub struct Tallies {
    by_value: BTreeMap<(String, String), Counters>,
    /// The range's site totals (a conversion rate's denominator).
    pub totals: Counters,
}

impl Tallies {
    /// The counters of `dim`'s `value` over the range (zero if it has no document).
    pub fn get(&self, dim: &str, value: &str) -> Counters {
        let key = (dim.to_owned(), value.to_owned());
        self.by_value.get(&key).copied().unwrap_or_default()
    }

    /// Every value of `dim` with its counters.
    pub fn values<'a>(&'a self, dim: &'a str) -> impl Iterator<Item = (&'a str, &'a Counters)> {
        let of_dim = self.by_value.iter().filter(move |((d, _), _)| d == dim);
        of_dim.map(|((_, value), c)| (value.as_str(), c))
    }
}

impl MongoStore {
    /// The documents of `dims` over `[from, to]`, if every day of the range with data lists
    /// every one of `keys` (goals and funnels it was counted by); `None` otherwise, and raw
    /// events must answer.
    pub async fn tallies(
        &self,
        site: &SiteId,
        (from, to): (Date, Date),
        keys: &BTreeSet<String>,
        dims: &[&str],
    ) -> Result<Option<Tallies>, StoreError> {
        let totals = self.daily_total_documents(site, from, to).await?;
        let listed = |d: &RollupDocument| {
            let list = d.goals.iter().flatten().collect::<BTreeSet<&String>>();
            keys.iter().all(|k| list.contains(k))
        };
        if !totals.iter().all(listed) {
            return Ok(None);
        }
        let mut tallies = Tallies::default();
        totals.iter().for_each(|d| tallies.totals += d.counters);
        // One equality per dim: the `site, dim, day` index serves it, where SecantusDB reads
        // every document of the site for a `$in` (docs/benchmarks.md).
        for dim in dims {
            let filter = doc! { "site": site.as_str(), "dim": *dim, "day": day_range(from, to) };
            let found: Vec<RollupDocument> = self.find_all(DAILY, filter).await?;
            for d in found {
                *tallies.by_value.entry((d.dim, d.value)).or_default() += d.counters;
            }
        }
        Ok(Some(tallies))
    }
}
