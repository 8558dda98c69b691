//! What the site owner configured on the snippet (`data-*` attributes), and whether this visit may
//! be tracked at all.
//!
//! Kept free of browser types so the defaults and the opt-outs (Do-Not-Track, localhost, bots)
//! are unit tested on the host: the loader hands over the attributes as plain strings.

use alloc::borrow::ToOwned;
use alloc::string::String;

use beacon_event::SiteId;

/// The tracker's settings, read once at start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `data-site`: which site the events belong to.
    pub site: SiteId,
    /// `data-endpoint`: where batches are posted; defaults to `<origin of beacon.js>/event`.
    pub endpoint: String,
    /// `data-hash`: the URL fragment is part of the page (hash routers), and `hashchange` is a
    /// navigation.
    pub hash: bool,
    /// `data-respect-dnt`: do nothing when the browser sends Do-Not-Track or Global Privacy Control.
    pub respect_dnt: bool,
    /// `data-allow-localhost`: also track on `localhost`, `127.x.x.x`, `[::1]` and `file:` pages.
    pub allow_localhost: bool,
    /// `data-allow-bots`: also track automated browsers (`navigator.webdriver`).
    pub allow_bots: bool,
}

impl Config {
    /// Reads the settings through `attr`, which returns a `data-*` attribute by its `dataset`
    /// name (`respectDnt` for `data-respect-dnt`). `script_src` is the loader's own URL.
    /// `None` when `data-site` is missing or invalid: then nothing is tracked.
    pub fn from_attrs(attr: impl Fn(&str) -> Option<String>, script_src: &str) -> Option<Self> {
        let site = SiteId::parse(attr("site")?.trim()).ok()?;
        let endpoint = attr("endpoint")
            .map(|e| e.trim().to_owned())
            .filter(|e| !e.is_empty())
            .unwrap_or_else(|| default_endpoint(script_src));
        let flag = |name: &str| is_on(attr(name).as_deref());
        Some(Self {
            site,
            endpoint,
            hash: flag("hash"),
            respect_dnt: flag("respectDnt"),
            allow_localhost: flag("allowLocalhost"),
            allow_bots: flag("allowBots"),
        })
    }

    /// Whether this page view may be tracked, given what the browser says about itself.
    pub fn allows(&self, visit: &Visit) -> bool {
        !(self.respect_dnt && visit.opted_out
            || !self.allow_localhost && is_local(visit.hostname)
            || !self.allow_bots && visit.webdriver)
    }
}

/// The facts about the current visit that the opt-outs depend on.
#[derive(Debug, Clone, Copy, Default)]
pub struct Visit<'a> {
    /// `location.hostname` (empty for `file:` pages).
    pub hostname: &'a str,
    /// `navigator.webdriver`: the browser is remote-controlled (Selenium, Puppeteer, ...).
    pub webdriver: bool,
    /// Do-Not-Track is `"1"` or Global Privacy Control is on.
    pub opted_out: bool,
}

/// A boolean attribute is on when present (`data-hash` or `data-hash=""`), unless it says
/// `false`, `0`, `no` or `off`.
pub fn is_on(value: Option<&str>) -> bool {
    value.is_some_and(|v| {
        !matches!(
            v.trim().to_ascii_lowercase().as_str(),
            "false" | "0" | "no" | "off"
        )
    })
}

/// `https://stats.example.com/beacon.js?v=2` → `https://stats.example.com/event`. A `src` without
/// a scheme and host (should not happen: `script.src` is absolute) falls back to `/event`.
pub fn default_endpoint(script_src: &str) -> String {
    // The origin ends at the first `/`, `?` or `#` after `scheme://`.
    let bytes = script_src.as_bytes();
    let host_start = bytes
        .windows(3)
        .position(|w| w == b"://")
        .map(|i| i + 3)
        .unwrap_or(0);
    let host_end = bytes
        .iter()
        .skip(host_start)
        .position(|b| matches!(b, b'/' | b'?' | b'#'))
        .map_or(bytes.len(), |i| host_start + i);
    match script_src.get(..host_end) {
        Some(origin) if host_start > 0 && host_end > host_start => {
            let mut endpoint = String::with_capacity(origin.len() + 6);
            endpoint.push_str(origin);
            endpoint.push_str("/event");
            endpoint
        }
        _ => "/event".to_owned(),
    }
}

/// Development hosts, whose visits are not real traffic.
pub fn is_local(hostname: &str) -> bool {
    let host = hostname.to_ascii_lowercase();
    host.is_empty()
        || host == "localhost"
        || host.ends_with(".localhost")
        || host.starts_with("127.")
        || host == "[::1]"
        || host == "::1"
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(attrs: &[(&str, &str)], src: &str) -> Option<Config> {
        let map: HashMap<String, String> = attrs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_attrs(|name| map.get(name).cloned(), src)
    }

    #[test]
    fn defaults_and_flags() {
        let c = config(
            &[("site", "site123")],
            "https://stats.example.com/beacon.js",
        )
        .unwrap();
        assert_eq!(c.site.as_str(), "site123");
        assert_eq!(c.endpoint, "https://stats.example.com/event");
        assert!(!c.hash && !c.respect_dnt && !c.allow_localhost && !c.allow_bots);

        let c = config(
            &[
                ("site", "s"),
                ("endpoint", "https://in.example.com/event"),
                ("hash", ""),
                ("respectDnt", "true"),
                ("allowLocalhost", "false"),
                ("allowBots", "0"),
            ],
            "https://cdn.example.com/beacon.js",
        )
        .unwrap();
        assert_eq!(c.endpoint, "https://in.example.com/event");
        assert!(c.hash && c.respect_dnt && !c.allow_localhost && !c.allow_bots);
    }

    #[test]
    fn site_is_required_and_validated() {
        assert_eq!(config(&[], "https://x.example/beacon.js"), None);
        assert_eq!(config(&[("site", "")], "https://x.example/b.js"), None);
        assert_eq!(
            config(&[("site", "has space")], "https://x.example/b.js"),
            None
        );
    }

    #[test]
    fn default_endpoint_uses_the_loader_origin() {
        assert_eq!(
            default_endpoint("http://localhost:8080/js/beacon.js?v=1"),
            "http://localhost:8080/event"
        );
        assert_eq!(
            default_endpoint("https://stats.example.com?x#y"),
            "https://stats.example.com/event"
        );
        assert_eq!(default_endpoint(""), "/event");
        assert_eq!(default_endpoint("https:///nohost"), "/event");
    }

    #[test]
    fn opt_outs() {
        let c = config(&[("site", "s")], "https://x.example/b.js").unwrap();
        let real = Visit {
            hostname: "shop.example.com",
            ..Visit::default()
        };
        assert!(c.allows(&real));
        for host in ["localhost", "app.localhost", "127.0.0.1", "[::1]", ""] {
            assert!(!c.allows(&Visit {
                hostname: host,
                ..real
            }));
        }
        assert!(!c.allows(&Visit {
            webdriver: true,
            ..real
        }));
        // Do-Not-Track is only honoured when the site asks for it.
        let dnt = Visit {
            opted_out: true,
            ..real
        };
        assert!(c.allows(&dnt));
        let strict = Config {
            respect_dnt: true,
            ..c.clone()
        };
        assert!(!strict.allows(&dnt));

        let dev = Config {
            allow_localhost: true,
            allow_bots: true,
            ..c
        };
        assert!(dev.allows(&Visit {
            hostname: "localhost",
            webdriver: true,
            opted_out: false
        }));
    }

    #[test]
    fn boolean_attributes() {
        assert!(is_on(Some("")) && is_on(Some("true")) && is_on(Some("1")));
        assert!(!is_on(None) && !is_on(Some("false")) && !is_on(Some(" OFF ")));
    }
}
