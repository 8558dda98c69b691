//! The queries behind `GET /stats`.
//!
//! Three small aggregations over one site and one UTC day, run concurrently. Every value in them
//! comes from a validated type ([`SiteId`], [`Day`]); no request text is ever spliced into a query.

use beacon_event::fields::PAGE_VIEW;
use beacon_event::{Day, SiteId};
use futures::TryStreamExt;
use mongodb::bson::{doc, Document};
use serde::Serialize;

use super::documents::date;
use super::{MongoStore, StoreError};

/// How many paths `top_paths` lists.
pub const TOP_PATHS: i64 = 10;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PathViews {
    pub path: String,
    pub views: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DayStats {
    pub total_views: u64,
    pub unique_users: u64,
    pub top_paths: Vec<PathViews>,
}

fn day_range(day: Day) -> Document {
    doc! { "$gte": date(day.start()), "$lt": date(day.end()) }
}

fn count_of(doc: Option<Document>, field: &str) -> u64 {
    doc.and_then(|d| match d.get(field) {
        Some(mongodb::bson::Bson::Int32(n)) => Some(i64::from(*n)),
        Some(mongodb::bson::Bson::Int64(n)) => Some(*n),
        Some(mongodb::bson::Bson::Double(n)) => Some(*n as i64),
        _ => None,
    })
    .map_or(0, |n| n.max(0) as u64)
}

impl MongoStore {
    /// Views, distinct visitors and the top paths of one site on one UTC day.
    pub async fn day_stats(&self, site: &SiteId, day: Day) -> Result<DayStats, StoreError> {
        let site = site.as_str();
        let range = day_range(day);
        let views_filter = doc! { "site_id": site, "event_type": PAGE_VIEW, "ts": range.clone() };

        let total_views = async {
            let pipeline = [
                doc! { "$match": views_filter.clone() },
                doc! { "$count": "n" },
            ];
            let mut cursor = self.events.aggregate(pipeline).await?;
            Ok::<_, StoreError>(count_of(cursor.try_next().await?, "n"))
        };
        let unique_users = async {
            let pipeline = [
                doc! { "$match": { "site_id": site, "ts": range.clone() } },
                doc! { "$group": { "_id": "$visitor_id" } },
                doc! { "$count": "n" },
            ];
            let mut cursor = self.events.aggregate(pipeline).await?;
            Ok::<_, StoreError>(count_of(cursor.try_next().await?, "n"))
        };
        let top_paths = async {
            let pipeline = [
                doc! { "$match": views_filter.clone() },
                doc! { "$group": { "_id": "$path", "views": { "$sum": 1 } } },
                doc! { "$sort": { "views": -1, "_id": 1 } },
                doc! { "$limit": TOP_PATHS },
            ];
            let docs: Vec<Document> = self.events.aggregate(pipeline).await?.try_collect().await?;
            let paths = docs
                .into_iter()
                .filter_map(|d| {
                    let views = count_of(Some(d.clone()), "views");
                    let path = d.get_str("_id").ok()?.to_owned();
                    Some(PathViews { path, views })
                })
                .collect::<Vec<_>>();
            Ok::<_, StoreError>(paths)
        };
        let (total_views, unique_users, top_paths) =
            tokio::try_join!(total_views, unique_users, top_paths)?;
        Ok(DayStats {
            total_views,
            unique_users,
            top_paths,
        })
    }
}
