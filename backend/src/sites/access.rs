//! Who may read a site's reports: the bearer token of a report request, checked against every
//! site its query string names.

use axum::http::{header, HeaderMap};

use super::Sites;
use crate::store::StoreError;

/// Whether a report request may read every site its query string names: unregistered and
/// public sites are open to all; a registered private site needs `token` (from
/// [`bearer_token`]) to be one of its keys or shared links.
///
/// Every `site_id` in the query is checked, not only the first: the report handler refuses a
/// repeated parameter anyway, but then no difference between this parse and the handler's can
/// ever let a private site through. A query that does not parse is left to the handler (400).
pub async fn may_read(
    sites: &Sites,
    query: Option<&str>,
    token: Option<&str>,
) -> Result<bool, StoreError> {
    let Ok(pairs) = serde_urlencoded::from_str::<Vec<(String, String)>>(query.unwrap_or("")) else {
        return Ok(true);
    };
    for (name, id) in pairs {
        if name != beacon_event::fields::names::SITE_ID {
            continue;
        }
        if let Some(site) = sites.get(&id).await? {
            if !site.readable_with(token) {
                return Ok(false);
            }
        }
    }
    Ok(true)
}

/// The token of an `Authorization: Bearer <token>` header (scheme in any case).
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}
