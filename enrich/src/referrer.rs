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

/// Domain → source name, first match wins (so specific entries come first). `example.com`
/// matches the domain and its subdomains; `google.*` matches the name under any country or
/// generic top-level domain (`google.de`, `google.co.uk`, `news.google.com.br`).
pub const SOURCES: &[(&str, &str)] = &[
    ("mail.google.*", "Gmail"),
    ("news.google.*", "Google News"),
    ("google.*", "Google"),
    ("bing.com", "Bing"),
    ("duckduckgo.com", "DuckDuckGo"),
    ("yahoo.*", "Yahoo"),
    ("yandex.*", "Yandex"),
    ("ya.ru", "Yandex"),
    ("baidu.com", "Baidu"),
    ("ecosia.org", "Ecosia"),
    ("search.brave.com", "Brave Search"),
    ("qwant.com", "Qwant"),
    ("startpage.com", "Startpage"),
    ("naver.com", "Naver"),
    ("perplexity.ai", "Perplexity"),
    ("chatgpt.com", "ChatGPT"),
    ("chat.openai.com", "ChatGPT"),
    ("t.co", "Twitter"),
    ("twitter.com", "Twitter"),
    ("x.com", "Twitter"),
    ("facebook.com", "Facebook"),
    ("fb.com", "Facebook"),
    ("fb.me", "Facebook"),
    ("messenger.com", "Facebook Messenger"),
    ("instagram.com", "Instagram"),
    ("threads.net", "Threads"),
    ("threads.com", "Threads"),
    ("news.ycombinator.com", "Hacker News"),
    ("reddit.com", "Reddit"),
    ("redd.it", "Reddit"),
    ("linkedin.com", "LinkedIn"),
    ("lnkd.in", "LinkedIn"),
    ("github.com", "GitHub"),
    ("gitlab.com", "GitLab"),
    ("youtube.com", "YouTube"),
    ("youtu.be", "YouTube"),
    ("pinterest.*", "Pinterest"),
    ("pin.it", "Pinterest"),
    ("tiktok.com", "TikTok"),
    ("bsky.app", "Bluesky"),
    ("mastodon.social", "Mastodon"),
    ("lobste.rs", "Lobsters"),
    ("producthunt.com", "Product Hunt"),
    ("stackoverflow.com", "Stack Overflow"),
    ("dev.to", "DEV"),
    ("medium.com", "Medium"),
    ("quora.com", "Quora"),
    ("wikipedia.org", "Wikipedia"),
    ("slack.com", "Slack"),
    ("discord.com", "Discord"),
    ("discordapp.com", "Discord"),
    ("t.me", "Telegram"),
    ("telegram.org", "Telegram"),
    ("whatsapp.com", "WhatsApp"),
    ("wa.me", "WhatsApp"),
    ("outlook.live.com", "Outlook"),
    ("outlook.office.com", "Outlook"),
    ("outlook.office365.com", "Outlook"),
    ("vk.com", "VKontakte"),
];

/// Android package (the host of an `android-app://` referrer) → source name.
pub const ANDROID_APPS: &[(&str, &str)] = &[
    ("com.google.android.gm", "Gmail"),
    ("com.google.android.googlequicksearchbox", "Google"),
    ("com.google.android.apps.searchlite", "Google"),
    ("com.google.android.youtube", "YouTube"),
    ("com.twitter.android", "Twitter"),
    ("com.facebook.katana", "Facebook"),
    ("com.facebook.lite", "Facebook"),
    ("com.facebook.orca", "Facebook Messenger"),
    ("com.instagram.android", "Instagram"),
    ("com.linkedin.android", "LinkedIn"),
    ("com.reddit.frontpage", "Reddit"),
    ("com.slack", "Slack"),
    ("org.telegram.messenger", "Telegram"),
    ("com.whatsapp", "WhatsApp"),
    ("com.discord", "Discord"),
    ("com.pinterest", "Pinterest"),
    ("com.zhiliaoapp.musically", "TikTok"),
    ("com.microsoft.office.outlook", "Outlook"),
];

/// The classified referrer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Referrer {
    /// [`DIRECT`], a name from the tables, or the referrer's domain.
    pub source: String,
    /// The referrer's host without `www.` ("" for Direct). For `android-app://` referrers, the
    /// app's package name.
    pub domain: String,
}

impl Referrer {
    /// No outside referrer.
    pub fn direct() -> Self {
        Self {
            source: DIRECT.to_owned(),
            domain: String::new(),
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

    if scheme == "android-app" {
        let source = lookup_exact(ANDROID_APPS, &host)
            .unwrap_or(&host)
            .to_owned();
        return Referrer {
            source,
            domain: host,
        };
    }

    if site_host
        .map(site_host_of)
        .is_some_and(|site| !site.is_empty() && site == host)
    {
        return Referrer::direct();
    }
    let source = named_source(&host).unwrap_or(&host).to_owned();
    Referrer {
        source,
        domain: host,
    }
}

/// The known name of a referrer host (already normalised: lower case, no `www.`), if any.
pub fn named_source(host: &str) -> Option<&'static str> {
    SOURCES
        .iter()
        .find(|(pattern, _)| domain_matches(host, pattern))
        .map(|&(_, name)| name)
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

fn lookup_exact<'t>(table: &'t [(&'t str, &'t str)], key: &str) -> Option<&'t str> {
    table.iter().find(|(k, _)| *k == key).map(|&(_, name)| name)
}

/// `example.com` matches itself and subdomains; `google.*` matches `google` followed by one or
/// two short top-level labels (`google.de`, `google.co.uk`), possibly under subdomains.
fn domain_matches(host: &str, pattern: &str) -> bool {
    match pattern.strip_suffix(".*") {
        None => {
            host == pattern
                || host
                    .strip_suffix(pattern)
                    .is_some_and(|prefix| prefix.ends_with('.'))
        }
        Some(base) => {
            let labels: Vec<&str> = host.split('.').collect();
            let base_labels: Vec<&str> = base.split('.').collect();
            let n = base_labels.len();
            (0..labels.len()).any(|i| {
                let rest = labels.len().saturating_sub(i + n);
                labels.get(i..i + n) == Some(base_labels.as_slice())
                    && (1..=2).contains(&rest)
                    && labels[i + n..].iter().all(|l| {
                        (2..=3).contains(&l.len()) && l.bytes().all(|b| b.is_ascii_alphabetic())
                    })
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffix_patterns_respect_label_boundaries() {
        assert!(domain_matches("github.com", "github.com"));
        assert!(domain_matches("gist.github.com", "github.com"));
        assert!(!domain_matches("notgithub.com", "github.com"));
        assert!(!domain_matches("github.com.evil.example", "github.com"));
    }

    #[test]
    fn wildcard_patterns_take_one_or_two_short_top_level_labels() {
        assert!(domain_matches("google.de", "google.*"));
        assert!(domain_matches("google.co.uk", "google.*"));
        assert!(domain_matches("images.google.com.br", "google.*"));
        assert!(!domain_matches("google", "google.*"));
        assert!(!domain_matches("google.evil.example", "google.*"));
        assert!(!domain_matches("google.a.b.c", "google.*"));
        assert!(!domain_matches("mygoogle.com", "google.*"));
    }

    #[test]
    fn site_hosts_are_normalised() {
        assert_eq!(site_host_of("Example.COM"), "example.com");
        assert_eq!(site_host_of("www.example.com:8443"), "example.com");
        assert_eq!(site_host_of("[::1]:8080"), "[::1]");
        assert_eq!(site_host_of("example.com."), "example.com");
    }

    #[test]
    fn every_table_entry_is_normalised() {
        for (pattern, name) in SOURCES.iter().chain(ANDROID_APPS) {
            assert_eq!(*pattern, pattern.to_ascii_lowercase());
            assert!(
                !pattern.starts_with("www.") && !name.is_empty(),
                "{pattern}"
            );
        }
    }
}
