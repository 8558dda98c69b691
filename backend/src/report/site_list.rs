//! `GET /sites`: the registered sites a caller may read, for the dashboard's site picker.
//!
//! Everyone sees the public ones; a bearer token (an API key or a shared link) adds the private
//! site it opens. A private site is never revealed to anyone without its key, and a wrong token
//! is not an error here: it simply opens nothing, so the answer is the public list. Unregistered
//! sites cannot be listed (nothing knows them until someone types their id), and need not be:
//! their reports are open.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::Json;
use beacon_event::EventError;
use serde::Serialize;

use crate::sites::{bearer_token, Sites};
use crate::store::MongoStore;

use super::ReportError;

#[derive(Debug, Serialize)]
pub struct SiteList {
    pub sites: Vec<ListedSite>,
}

#[derive(Debug, Serialize)]
pub struct ListedSite {
    pub site_id: String,
    pub public: bool,
    /// The hosts its events come from: where the dashboard links for "don't count my visits".
    pub domains: Vec<String>,
}

pub async fn sites(
    State(store): State<Arc<MongoStore>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Json<SiteList>, ReportError> {
    if query.is_some_and(|q| !q.is_empty()) {
        return Err(EventError::whole("`/sites` takes no query parameters").into());
    }
    let readable = Sites::new(&store)
        .readable_by(bearer_token(&headers))
        .await?;
    Ok(Json(SiteList {
        sites: readable
            .into_iter()
            .map(|s| ListedSite {
                site_id: s.id,
                public: s.public,
                domains: s.domains,
            })
            .collect(),
    }))
}
