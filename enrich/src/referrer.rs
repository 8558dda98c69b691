//! Where a visit came from: the referrer's domain and a human name for it.
//!
//! Why: a "Sources" report is only readable if `www.google.de`, `www.google.com` and the
//! Google app are one row called "Google", and if `t.co`, `twitter.com` and `x.com` are one row
//! called "Twitter". The referrer is parsed with the `url` crate (WHATWG URL rules, the same as
//! the browser that sent it); the names come from [`SOURCES`], a short table of domain →
//! name, and [`ANDROID_APPS`] for `android-app://package` referrers sent by Android apps.
//! Anything not in the tables is reported by its domain.
//!
//! A visit is "Direct" when there is no usable referrer (absent, empty, not a web URL, e.g.
//! `about:blank`) or when it comes from the tracked site itself (a self-referral: moving
//! between pages is not a source). `www.` is ignored on both sides of that comparison.

pub use beacon_event::event::DIRECT;

/// Longest referrer that is parsed; beyond it, the (far) tail of the URL is ignored.
const MAX_REFERRER_BYTES: usize = 4096;

/// The classified referrer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Referrer {
    /// [`DIRECT`], a name from the tables, or the referrer's domain.
    pub source: String,
    /// The referrer's host without `www.` ("" for Direct). For `android-app://` referrers, the
    /// app's package name.
    pub domain: String,
    /// The host is on the referrer spam list.
    pub spam: bool,
}

impl Referrer {
    /// No outside referrer.
    pub fn direct() -> Self {
        Self {
            source: DIRECT.to_owned(),
            domain: String::new(),
            spam: false,
        }
    }
}

/// Classifies a referrer URL. `site_host` is the tracked page's host (a port is ignored), used
/// to turn self-referrals into Direct. Total: any input gives an answer.
pub fn classify(referrer: Option<&str>, site_host: Option<&str>) -> Referrer {
    let Some(raw) = referrer.map(str::trim).filter(|r| !r.is_empty()) else {
        return Referrer::direct();
    };
    let raw = crate::ua::bounded(raw, MAX_REFERRER_BYTES);
    let Some((scheme, host)) = scheme_and_host(raw) else {
        return Referrer::direct();
    };
    let host = normalize_host(&host);
    if host.is_empty() {
        return Referrer::direct();
    }

    let app = scheme == "android-app";
    if !app
        && site_host
            .map(site_host_of)
            .is_some_and(|site| !site.is_empty() && site == host)
    {
        return Referrer::direct();
    }
    let source = named_source(&host).unwrap_or(&host).to_owned();
    Referrer {
        source,
        spam: !app && crate::spam::is_spam(&host),
        domain: host,
    }
}

/// The known name of a referrer host (already normalised: lower case, no `www.`) or Android
/// package, if any.
pub fn named_source(host: &str) -> Option<&'static str> {
    crate::sources::lookup(host).map(|k| k.name)
}

/// (scheme, host) of a web or Android-app referrer; None for anything else.
fn scheme_and_host(raw: &str) -> Option<(String, String)> {
    let parsed = match url::Url::parse(raw) {
        Ok(u) => u,
        // "example.com/page": a referrer someone typed or a tool stripped of its scheme.
        Err(url::ParseError::RelativeUrlWithoutBase) if looks_like_host(raw) => {
            url::Url::parse(&format!("https://{raw}")).ok()?
        }
        Err(_) => return None,
    };
    let scheme = parsed.scheme();
    if !matches!(scheme, "http" | "https" | "android-app") {
        return None;
    }
    let host = parsed.host_str()?.to_owned();
    Some((scheme.to_owned(), host))
}

/// Whether a scheme-less string starts with something shaped like a domain name.
fn looks_like_host(raw: &str) -> bool {
    let host = raw.split(['/', '?', '#']).next().unwrap_or("");
    host.contains('.')
        && !host.starts_with('.')
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':'))
}

/// Lower case, no trailing dot, no `www.`.
fn normalize_host(host: &str) -> String {
    let host = host.trim().trim_end_matches('.').to_ascii_lowercase();
    match host.strip_prefix("www.") {
        Some(rest) => rest.to_owned(),
        None => host,
    }
}

/// The tracked site's host as given by the caller ("Example.com:8080", "www.example.com"),
/// normalised like a referrer host.
fn site_host_of(site_host: &str) -> String {
    let site = site_host.trim();
    let without_port = if site.starts_with('[') {
        // [::1]:8080 → [::1]
        site.split_inclusive(']').next().unwrap_or(site)
    } else if site.matches(':').count() == 1 {
        site.split(':').next().unwrap_or(site)
    } else {
        site
    };
    normalize_host(without_port)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn site_hosts_are_normalised() {
        assert_eq!(site_host_of("Example.COM"), "example.com");
        assert_eq!(site_host_of("www.example.com:8443"), "example.com");
        assert_eq!(site_host_of("[::1]:8080"), "[::1]");
        assert_eq!(site_host_of("example.com."), "example.com");
    }
}
