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
use utoipa::ToSchema;

use crate::api_doc::responses::{BadRequest, StoreUnavailable};
use crate::api_doc::wire::SiteIdSchema;
use crate::sites::{bearer_token, Sites};
use crate::store::MongoStore;

use super::ReportError;

#[derive(Debug, Serialize, ToSchema)]
pub struct SiteList {
    pub sites: Vec<ListedSite>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Site)]
pub struct ListedSite {
    #[schema(value_type = SiteIdSchema)]
    pub site_id: String,
    /// Whether its reports are readable without a token.
    pub public: bool,
    /// The hosts (and their subdomains) its events are accepted from; empty: anywhere.
    pub domains: Vec<String>,
    /// The IANA time zone its days are cut in; absent: UTC.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(required = false, nullable = false, examples("Europe/Berlin"))]
    pub timezone: Option<String>,
    /// How many goals it has (`/stats/goals` reports them).
    pub goals: usize,
    /// Its funnels' names, for `/stats/funnel?funnel=`.
    pub funnels: Vec<String>,
}

#[utoipa::path(
    get,
    path = "/sites",
    tag = "reports",
    operation_id = "listSites",
    summary = "The registered sites the caller may read",
    description = "For a dashboard's site picker: every registered public site, and the private \
        site that the bearer token (an API key or a shared link's token) opens. A wrong or \
        missing token is not an error: it opens nothing, so the answer lists the public sites. \
        Unregistered sites are never listed (their reports are open to anyone who knows the \
        id). Takes no query parameters.",
    responses(
        (status = 200, description = "The sites, by id.", body = SiteList, example = json!({
            "sites": [
                { "site_id": "demo-shop", "public": true, "domains": ["shop.example.com"],
                  "goals": 2, "funnels": ["checkout"] },
                { "site_id": "site123", "public": false, "domains": [], "goals": 0,
                  "funnels": [] }
            ]
        })),
        (status = 400, response = BadRequest),
        (status = 503, response = StoreUnavailable),
    ),
    security((), ("siteKey" = [])),
)]
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
                site_id: s.id.into(),
                public: s.public,
                domains: s.domains,
                timezone: s.timezone,
                goals: s.goals.len(),
                funnels: s.funnels.into_iter().map(|f| f.name).collect(),
            })
            .collect(),
    }))
}
