//! Where a report's numbers come from: the worker's rollups when nothing is filtered (a bounded
//! number of documents), the raw events otherwise ([`Scan`]). Every endpoint asks through
//! [`Source`], so a filtered and an unfiltered report count the same way.

use crate::rollup::Counters;
use crate::store::{MongoStore, Order, Page, Row, RowsQuery};

use super::property::Property;
use super::scan::Scan;
use super::{ReportError, ReportQuery};

/// The raw events of `q`'s range, filtered by `q`'s filters.
pub async fn scan(store: &MongoStore, q: &ReportQuery) -> Result<Scan, ReportError> {
    let (from, until) = q.instants();
    let events = store.raw_events(&q.site_id, from, until).await?;
    Ok(Scan::new(events, &q.filters, q.zone.clone()))
}

pub enum Source {
    Rollups,
    Scan(Scan),
}

impl Source {
    /// Rollups when nothing is filtered and the breakdown (if any) is rolled up.
    pub async fn for_query(store: &MongoStore, q: &ReportQuery) -> Result<Self, ReportError> {
        let rolled_up = q.property.as_ref().is_none_or(|p| p.dimension().is_some());
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
        match (self, property) {
            (Self::Rollups, Property::Dim(dim)) => Ok(store
                .breakdown(RowsQuery {
                    site: &q.site_id,
                    from: q.from,
                    to: q.to,
                    dim: *dim,
                    order,
                    page,
                })
                .await?),
            // `for_query` reads raw events for a custom property: no rollup holds one.
            (Self::Rollups, Property::Prop(_) | Property::PropKeys) => Ok(Vec::new()),
            (Self::Scan(scan), property) => Ok(scan.rows(property, order, page)),
        }
    }
}
