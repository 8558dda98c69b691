//! Shared links, as Plausible has them: a URL that opens one site's dashboard read-only for
//! whoever has it, without an account or a key. `beacon-admin link add|list|revoke`.
//!
//! The token is a secret like an API key (32 random bytes, stored only as a BLAKE3 hash) and is
//! presented the same way (`Authorization: Bearer`), but it is a separate kind: it opens that
//! one site's reports and nothing else, and it is listed and revoked apart from the keys. The URL
//! carries it in the fragment (`#auth=`), which browsers never send to a server, so it stays out
//! of access logs and `Referer` headers; the dashboard moves it into `sessionStorage` and strips
//! it from the address bar.

use mongodb::bson::DateTime;
use serde::{Deserialize, Serialize};

use super::secrets::{self, NewSecret};
use super::{Sites, SitesError};

/// Every shared-link token starts with this.
pub const LINK_PREFIX: &str = "bs_";
/// How many hex digits of a token are kept in the clear, to recognise it in `link list` and
/// revoke it by: 32 of its 256 bits, so the rest stays far beyond guessing.
pub const SHOWN_DIGITS: usize = 8;

/// One shared link of a site; the token itself is never stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SharedLink {
    /// A public handle to list and revoke the link by (`l_` + 12 hex digits).
    pub id: String,
    /// BLAKE3 of the whole token (`bs_...`), hex.
    pub hash: String,
    /// The token's first [`SHOWN_DIGITS`] hex digits after the prefix.
    pub shown: String,
    #[serde(default)]
    pub created_at: Option<DateTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

impl SharedLink {
    /// How `link list` shows the token: `bs_1a2b3c4d…`.
    pub fn token_prefix(&self) -> String {
        format!("{LINK_PREFIX}{}…", self.shown)
    }

    /// Whether `what` names this link: its id, or its token (or the start of it, at least
    /// [`SHOWN_DIGITS`] digits; a whole token must also match the stored hash).
    fn is_named_by(&self, what: &str) -> bool {
        if what == self.id {
            return true;
        }
        let Some(digits) = what.strip_prefix(LINK_PREFIX) else {
            return false;
        };
        let whole = digits.len() == 64;
        digits.len() >= SHOWN_DIGITS
            && digits.starts_with(&self.shown)
            && (!whole || secrets::matches_any([self.hash.as_str()], what))
    }
}

/// A shared link just created: its token, shown once.
pub type NewLink = NewSecret;

/// The text of a shared link for `site` under `base_url`: `<base>/?site=<site>#auth=<token>`.
pub fn share_url(base_url: &str, site: &str, token: &str) -> String {
    format!(
        "{}/?site={site}#auth={token}",
        base_url.trim_end_matches('/')
    )
}

impl Sites {
    /// Creates a shared link for `site`; its token is returned once and stored only hashed.
    pub async fn add_link(&self, site: &str, label: Option<&str>) -> Result<NewLink, SitesError> {
        let (link, hash) = secrets::generate(LINK_PREFIX, "l_");
        let stored = SharedLink {
            id: link.id.clone(),
            hash,
            shown: link.secret[LINK_PREFIX.len()..][..SHOWN_DIGITS].to_owned(),
            created_at: Some(DateTime::now()),
            label: label.map(str::to_owned),
        };
        self.push(site, "links", mongodb::bson::to_document(&stored)?)
            .await?;
        Ok(link)
    }

    /// Revokes the link of `site` that `what` names: its id, its token or the start of the
    /// token as `link list` shows it, or the whole shared URL. Returns the revoked link's id.
    pub async fn revoke_link(&self, site: &str, what: &str) -> Result<String, SitesError> {
        let what = what.rsplit_once("#auth=").map_or(what, |(_, token)| token);
        let what = what.trim().trim_end_matches('…');
        let found = self.registered(site).await?;
        let named: Vec<&SharedLink> = found.links.iter().filter(|l| l.is_named_by(what)).collect();
        let link = match named[..] {
            [link] => link,
            [] => {
                return Err(SitesError::NoSuchLink {
                    site: site.to_owned(),
                    link: what.to_owned(),
                })
            }
            _ => return Err(SitesError::AmbiguousLink(what.to_owned())),
        };
        self.pull(site, "links", &link.id).await?;
        Ok(link.id.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(token: &str) -> SharedLink {
        SharedLink {
            id: "l_000000000001".into(),
            hash: secrets::hash(token),
            shown: token[3..11].to_owned(),
            created_at: None,
            label: None,
        }
    }

    #[test]
    fn a_link_is_named_by_its_id_or_its_token() {
        let token = format!("bs_1a2b3c4d{}", "e".repeat(56));
        let l = link(&token);
        assert!(l.is_named_by("l_000000000001"));
        assert!(l.is_named_by(&token));
        assert!(l.is_named_by("bs_1a2b3c4d"));
        assert!(l.is_named_by("bs_1a2b3c4dee"));
        assert_eq!(l.token_prefix(), "bs_1a2b3c4d…");
        // Too short to be safe, another token, or a whole token that only shares the start.
        assert!(!l.is_named_by("bs_1a2b3c4"));
        assert!(!l.is_named_by("bs_1a2b3c4e"));
        assert!(!l.is_named_by(&format!("bs_1a2b3c4d{}", "f".repeat(56))));
        assert!(!l.is_named_by("l_000000000002"));
        assert!(!l.is_named_by(""));
    }

    #[test]
    fn share_urls_carry_the_token_in_the_fragment() {
        assert_eq!(
            share_url("https://stats.example.com/", "shop", "bs_x"),
            "https://stats.example.com/?site=shop#auth=bs_x"
        );
        assert_eq!(
            share_url("http://localhost:4000", "a.b", "bs_y"),
            "http://localhost:4000/?site=a.b#auth=bs_y"
        );
    }
}
