//! Where a report's numbers come from: the worker's rollups when nothing is filtered (a bounded
//! number of documents), the raw events otherwise ([`Scan`]). Every endpoint asks through
//! [`Source`], so a filtered and an unfiltered report count the same way.

use crate::rollup::{Counters, Dimension};
use crate::store::{MongoStore, Order, Page, Row, RowsQuery};

use super::scan::Scan;
use super::{ReportError, ReportQuery};

pub enum Source {
    Rollups,
    Scan(Scan),
}

impl Source {
    pub async fn for_query(store: &MongoStore, q: &ReportQuery) -> Result<Self, ReportError> {
        if q.filters.is_empty() {
            return Ok(Self::Rollups);
        }
        let (from, until) = q.instants();
        let events = store.raw_events(&q.site_id, from, until).await?;
        Ok(Self::Scan(Scan::new(events, &q.filters)))
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

    /// One page of `dim`'s values in `order`.
    pub async fn rows(
        &self,
        store: &MongoStore,
        q: &ReportQuery,
        dim: Dimension,
        order: Order,
        page: Page,
    ) -> Result<Vec<Row>, ReportError> {
        match self {
            Self::Rollups => Ok(store
                .breakdown(RowsQuery {
                    site: &q.site_id,
                    from: q.from,
                    to: q.to,
                    dim,
                    order,
                    page,
                })
                .await?),
            Self::Scan(scan) => Ok(order.arrange(
                scan.by(dim)
                    .into_iter()
                    .map(|(value, counters)| Row { value, counters }),
                page,
            )),
        }
    }
}
