//! Who may read a site's reports: the bearer token of a report request, checked against every
//! site it names.

use axum::http::{header, HeaderMap};

use super::{Site, Sites};
use crate::store::StoreError;

/// The registered sites among `site_ids` if a request with `token` (from [`bearer_token`]) may
/// read every one of them, `None` if not:
/// unregistered and public sites are open to all; a registered private site needs `token` to be
/// one of its keys or shared links.
pub async fn may_read<'a>(
    sites: &Sites,
    site_ids: impl IntoIterator<Item = &'a str>,
    token: Option<&str>,
) -> Result<Option<Vec<Site>>, StoreError> {
    let mut registered = Vec::new();
    for id in site_ids {
        if let Some(site) = sites.get(id).await? {
            if !site.readable_with(token) {
                return Ok(None);
            }
            registered.push(site);
        }
    }
    Ok(Some(registered))
}

/// The token of an `Authorization: Bearer <token>` header (scheme in any case).
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}
