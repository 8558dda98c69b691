//! Who may read a site's reports: the bearer token of a report request, checked against every
//! site it names.

use axum::http::{header, HeaderMap};

use super::Sites;
use crate::store::StoreError;

/// Whether a request with `token` (from [`bearer_token`]) may read every one of `site_ids`:
/// unregistered and public sites are open to all; a registered private site needs `token` to be
/// one of its keys or shared links.
pub async fn may_read<'a>(
    sites: &Sites,
    site_ids: impl IntoIterator<Item = &'a str>,
    token: Option<&str>,
) -> Result<bool, StoreError> {
    for id in site_ids {
        if let Some(site) = sites.get(id).await? {
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
