//! Where a report's numbers come from: the worker's rollups when nothing is filtered (a bounded
//! number of documents), the raw events otherwise ([`Scan`]). Every endpoint asks through
//! [`Source`], so a filtered and an unfiltered report count the same way. Custom properties
//! are read from rollups only over days whose every event was counted in them (days begun by a
//! worker that rolls them up, or rebuilt since: `MongoStore::props_rolled_up`).

use crate::rollup::Counters;
use std::collections::BTreeSet;

use crate::store::{MongoStore, Order, Page, Row, RowsQuery, Tallies};

use super::scan::Scan;
use super::{ReportError, ReportQuery};
use crate::rollup::Property;

/// The raw events of `q`'s range, filtered by `q`'s filters.
pub async fn scan(store: &MongoStore, q: &ReportQuery) -> Result<Scan, ReportError> {
    let (from, until) = q.instants();
    let events = store.raw_events(&q.site_id, from, until).await?;
    Ok(Scan::new(events, &q.filters, q.zone.clone()))
}

/// The goal or funnel documents of `dims` over `q`'s range, when the range is unfiltered and
/// every day of it was counted by each of `keys` (`None`: raw events must answer).
pub async fn tallies(
    store: &MongoStore,
    q: &ReportQuery,
    keys: &BTreeSet<String>,
    dims: &[&str],
) -> Result<Option<Tallies>, ReportError> {
    if !q.filters.is_empty() {
        return Ok(None);
    }
    Ok(store
        .tallies(&q.site_id, (q.from, q.to), keys, dims)
        .await?)
}

pub enum Source {
    Rollups,
    Scan(Scan),
}

impl Source {
    /// Rollups when nothing is filtered and the breakdown (if any) is rolled up.
    pub async fn for_query(store: &MongoStore, q: &ReportQuery) -> Result<Self, ReportError> {
        let rolled_up = match &q.property {
            None | Some(Property::Dim(_)) => true,
            // Custom properties (the others are never parsed from a query).
            Some(_) => {
                q.filters.is_empty() && store.props_rolled_up(&q.site_id, q.from, q.to).await?
            }
        };
        if q.filters.is_empty() && rolled_up {
            return Ok(Self::Rollups);
        }
        Ok(Self::Scan(scan(store, q).await?))
    }

    pub async fn totals(
        &self,
        store: &MongoStore,
        q: &ReportQuery,
    ) -> Result<Counters, ReportError> {
        Ok(match self {
            Self::Rollups => {
                let mut sum = Counters::default();
                for (_, c) in store.daily_totals(&q.site_id, q.from, q.to).await? {
                    sum += c;
                }
                sum
            }
            Self::Scan(scan) => scan.totals(),
        })
    }

    /// One page of `property`'s values in `order`.
    pub async fn rows(
        &self,
        store: &MongoStore,
        q: &ReportQuery,
        property: &Property,
        order: Order,
        page: Page,
    ) -> Result<Vec<Row>, ReportError> {
        match self {
            Self::Rollups => Ok(store
                .breakdown(RowsQuery {
                    site: &q.site_id,
                    from: q.from,
                    to: q.to,
                    dim: property,
                    order,
                    page,
                })
                .await?),
            Self::Scan(scan) => Ok(scan.rows(property, order, page)),
        }
    }
}
