//! Browser, operating system and device class from a User-Agent header.
//!
//! Why this shape: recognising browsers is a moving target, so the matching rules are not
//! ours. They are [uap-core]'s `regexes.yaml` (kept current by the ua-parser project, vendored
//! as JSON in `data/uap-core/`, Apache-2.0), run by [`ua_parser`], the project's reference Rust
//! implementation, which prefilters its ~1,300 regexes with literal atoms so that only a handful
//! are tried per user agent.
//!
//! What is ours is small and deliberate:
//! - **Names for a dashboard.** uap-core names the mobile build of a browser separately
//!   ("Chrome Mobile", "Mobile Safari", "Firefox iOS"); reports already have a device column,
//!   so those collapse to the browser people know ("Chrome", "Safari", "Firefox"). macOS and
//!   ChromeOS get their current names.
//! - **The device class.** uap-core names the device model but not whether it is a phone or a
//!   tablet, so the class follows the platform conventions the browsers themselves document:
//!   iPad is a tablet; an Android browser that does not say `Mobile` (Google's guidance for
//!   phone UAs) is a tablet; desktop operating systems are desktops; otherwise the generic
//!   `Tablet` / `Mobi` tokens decide, and without them the class is "unknown".
//! - **Bounds.** Only the first [`MAX_UA_BYTES`] bytes are parsed, so a hostile multi-megabyte
//!   header costs the same as a long real one.
//!
//! [uap-core]: https://github.com/ua-parser/uap-core

use crate::EnrichError;

/// The vendored uap-core rules (regexes.yaml converted to JSON, see `data/uap-core/README.md`).
const UAP_REGEXES: &str = include_str!("../data/uap-core/regexes.json");

/// Longest prefix of a User-Agent that is parsed. Real ones stay well below (in-app browsers
/// reach ~500 bytes); anything longer is cut at a character boundary.
pub const MAX_UA_BYTES: usize = 1024;

pub use beacon_event::event::UNKNOWN;

/// What [`UaParser::parse`] found out about one User-Agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UaInfo {
    /// Browser family, e.g. "Chrome", "Safari", "Samsung Internet"; "unknown" when unrecognised.
    pub browser: String,
    /// Browser major version, e.g. "131"; "" when unknown.
    pub browser_version: String,
    /// Operating system, e.g. "Windows", "macOS", "iOS", "Android"; "unknown" when unrecognised.
    pub os: String,
    /// "desktop" | "mobile" | "tablet" | "unknown".
    pub device: &'static str,
    /// uap-core classifies the device as a crawler (its "Spider" device family).
    pub spider: bool,
    /// The browser is a headless automation build (HeadlessChrome, PhantomJS).
    pub headless: bool,
}

impl UaInfo {
    /// The answer for a missing or empty User-Agent.
    pub fn unknown() -> Self {
        Self {
            browser: UNKNOWN.to_owned(),
            browser_version: String::new(),
            os: UNKNOWN.to_owned(),
            device: UNKNOWN,
            spider: false,
            headless: false,
        }
    }
}

/// The compiled uap-core rules. Built once (tens of milliseconds), then shared read-only.
pub struct UaParser {
    extractor: ua_parser::Extractor<'static>,
}

impl std::fmt::Debug for UaParser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UaParser").finish_non_exhaustive()
    }
}

impl UaParser {
    /// Compiles the vendored rules.
    pub fn new() -> Result<Self, EnrichError> {
        let regexes: ua_parser::Regexes<'static> = serde_json::from_str(UAP_REGEXES)
            .map_err(|e| EnrichError::UaRules(format!("cannot read the vendored rules: {e}")))?;
        let extractor = ua_parser::Extractor::try_from(regexes)
            .map_err(|e| EnrichError::UaRules(format!("cannot compile the vendored rules: {e}")))?;
        Ok(Self { extractor })
    }

    /// Parses one User-Agent. Total: any string gives an answer.
    pub fn parse(&self, user_agent: &str) -> UaInfo {
        let ua = bounded(user_agent.trim(), MAX_UA_BYTES);
        if ua.is_empty() {
            return UaInfo::unknown();
        }
        let family = self.extractor.ua.extract(ua);
        let os = self.extractor.os.extract(ua);
        let device = self.extractor.dev.extract(ua);

        let (browser, browser_version) = match &family {
            Some(v) if is_name(&v.family) => (
                browser_name(&v.family).to_owned(),
                v.major.map(major_only).unwrap_or_default().to_owned(),
            ),
            _ => (UNKNOWN.to_owned(), String::new()),
        };
        let os_name = match &os {
            Some(v) if v.os != "Other" => os_name(&v.os).to_owned(),
            _ => UNKNOWN.to_owned(),
        };
        let device_family = device.as_ref().map(|d| d.device.as_ref()).unwrap_or("");
        let headless = family
            .as_ref()
            .is_some_and(|v| matches!(v.family.as_ref(), "HeadlessChrome" | "PhantomJS"));

        UaInfo {
            device: device_class(ua, &os_name, device_family),
            spider: device_family == "Spider",
            headless,
            browser,
            browser_version,
            os: os_name,
        }
    }
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
pub(crate) fn bounded(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// A family that reads as a product name. uap-core's catch-all crawler rule sometimes captures
/// a URL fragment ("com/bot"); that is reported as unknown rather than as a browser.
fn is_name(family: &str) -> bool {
    family != "Other" && !family.is_empty() && family.len() <= 50 && !family.contains('/')
}

/// Keeps a version number only when it looks like one ("131"), so odd captures never leak.
fn major_only(major: &str) -> &str {
    let major = major.trim();
    if !major.is_empty() && major.len() <= 8 && major.bytes().all(|b| b.is_ascii_digit()) {
        major
    } else {
        ""
    }
}

/// uap-core family → the name a dashboard shows. Mobile builds fold into their browser because
/// the device is reported separately; everything else keeps uap-core's name.
fn browser_name(family: &str) -> &str {
    match family {
        "Chrome Mobile" | "Chrome Mobile iOS" => "Chrome",
        "Chrome Mobile WebView" => "Chrome WebView",
        "Firefox Mobile" | "Firefox iOS" => "Firefox",
        "Mobile Safari" => "Safari",
        "Mobile Safari UI/WKWebView" => "Safari WebView",
        "Edge Mobile" => "Edge",
        "Opera Mobile" => "Opera",
        "DuckDuckGo Mobile" => "DuckDuckGo",
        other => other,
    }
}

/// uap-core OS family → current product name.
fn os_name(os: &str) -> &str {
    match os {
        "Mac OS X" | "Mac OS" => "macOS",
        "Chrome OS" => "ChromeOS",
        other => other,
    }
}

/// Phone, tablet or desktop. uap-core names devices but does not classify them, so this follows
/// what the platforms document about their own user agents.
fn device_class(ua: &str, os: &str, device_family: &str) -> &'static str {
    match (os, device_family) {
        (_, "iPad") => "tablet",
        (_, "iPhone" | "iPod" | "iPod touch") => "mobile",
        // Kindle Fire's Silk browser in desktop mode still names the device.
        (_, d) if d.starts_with("Kindle") => "tablet",
        ("iOS" | "iPadOS", _) => {
            if ua.contains("iPad") {
                "tablet"
            } else {
                "mobile"
            }
        }
        ("Android", _) => {
            // Android phones say "Mobile" (Chrome: "Mobile Safari/537.36", Firefox:
            // "Android 14; Mobile;"); tablets do not.
            if ua.contains("Mobile") {
                "mobile"
            } else {
                "tablet"
            }
        }
        ("BlackBerry Tablet OS", _) => "tablet",
        (
            "Windows Phone" | "BlackBerry OS" | "KaiOS" | "Symbian OS" | "Symbian^3" | "Firefox OS",
            _,
        ) => "mobile",
        (
            "Windows" | "macOS" | "Linux" | "ChromeOS" | "Ubuntu" | "Fedora" | "Debian" | "FreeBSD"
            | "OpenBSD" | "NetBSD" | "Mint" | "Gentoo" | "Mandriva" | "Red Hat" | "Slackware"
            | "SUSE" | "Kubuntu" | "Arch Linux" | "Solaris",
            _,
        ) => {
            if ua.contains("Mobile") && os == "Linux" {
                "mobile"
            } else {
                "desktop"
            }
        }
        // Anything else (Tizen and HarmonyOS run on phones, tablets and TVs alike): the
        // generic tokens, else unknown.
        _ => {
            if ua.contains("Tablet") {
                "tablet"
            } else if ua.contains("Mobi") {
                "mobile"
            } else {
                UNKNOWN
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_cuts_on_character_boundaries() {
        assert_eq!(bounded("abc", 10), "abc");
        assert_eq!(bounded("abc", 2), "ab");
        assert_eq!(bounded("éé", 3), "é");
        assert_eq!(bounded("🚀", 3), "");
    }

    #[test]
    fn versions_are_digits_only() {
        assert_eq!(major_only("131"), "131");
        assert_eq!(major_only(" 17 "), "17");
        assert_eq!(major_only("1a"), "");
        assert_eq!(major_only("123456789"), "");
    }

    #[test]
    fn mobile_builds_fold_into_their_browser() {
        assert_eq!(browser_name("Chrome Mobile iOS"), "Chrome");
        assert_eq!(browser_name("Mobile Safari"), "Safari");
        assert_eq!(browser_name("Samsung Internet"), "Samsung Internet");
        assert_eq!(os_name("Mac OS X"), "macOS");
    }
}
