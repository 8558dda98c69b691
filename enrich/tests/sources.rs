//! Referrers → source name and domain; campaign tags from the page path.

use std::sync::OnceLock;

use beacon_enrich::{referrer, utm, Context, Enricher, Input};

fn enricher() -> &'static Enricher {
    static ENRICHER: OnceLock<Enricher> = OnceLock::new();
    ENRICHER.get_or_init(|| Enricher::new(None).expect("enricher"))
}

fn enrich(path: &str, referrer: Option<&str>, site_host: Option<&str>) -> Context {
    enricher().enrich(&Input {
        user_agent: None,
        ip: None,
        path,
        referrer,
        site_host,
    })
}

/// (referrer, site host, source, referrer_domain)
const REFERRERS: &[(Option<&str>, Option<&str>, &str, &str)] = &[
    (None, None, "Direct", ""),
    (Some(""), Some("example.com"), "Direct", ""),
    (Some("   "), None, "Direct", ""),
    (
        Some("https://www.google.com/"),
        None,
        "Google",
        "google.com",
    ),
    (
        Some("https://www.google.de/search?q=beacon"),
        None,
        "Google",
        "google.de",
    ),
    (
        Some("https://www.google.co.uk/"),
        None,
        "Google",
        "google.co.uk",
    ),
    (
        Some("https://news.google.com/articles/x"),
        None,
        "Google News",
        "news.google.com",
    ),
    (
        Some("https://mail.google.com/"),
        None,
        "Gmail",
        "mail.google.com",
    ),
    (
        Some("https://www.bing.com/search?q=x"),
        None,
        "Bing",
        "bing.com",
    ),
    (
        Some("https://duckduckgo.com/"),
        None,
        "DuckDuckGo",
        "duckduckgo.com",
    ),
    (Some("https://t.co/abc123"), None, "Twitter", "t.co"),
    (
        Some("https://twitter.com/someone/status/1"),
        None,
        "Twitter",
        "twitter.com",
    ),
    (Some("https://x.com/someone"), None, "Twitter", "x.com"),
    (
        Some("https://l.facebook.com/l.php?u=x"),
        None,
        "Facebook",
        "l.facebook.com",
    ),
    (
        Some("https://m.facebook.com/"),
        None,
        "Facebook",
        "m.facebook.com",
    ),
    (
        Some("https://news.ycombinator.com/item?id=1"),
        None,
        "Hacker News",
        "news.ycombinator.com",
    ),
    (
        Some("https://old.reddit.com/r/rust/"),
        None,
        "Reddit",
        "old.reddit.com",
    ),
    (
        Some("https://www.linkedin.com/feed/"),
        None,
        "LinkedIn",
        "linkedin.com",
    ),
    (
        Some("https://github.com/owner/repo"),
        None,
        "GitHub",
        "github.com",
    ),
    (
        Some("https://www.youtube.com/watch?v=1"),
        None,
        "YouTube",
        "youtube.com",
    ),
    (
        Some("https://l.instagram.com/?u=x"),
        None,
        "Instagram",
        "l.instagram.com",
    ),
    (Some("https://chatgpt.com/"), None, "ChatGPT", "chatgpt.com"),
    // Not in the table: the domain, without www.
    (
        Some("https://www.example.org/blog/post"),
        None,
        "example.org",
        "example.org",
    ),
    (
        Some("http://Blog.Example.NET:8080/x"),
        None,
        "blog.example.net",
        "blog.example.net",
    ),
    // Look-alikes are not the real thing.
    (
        Some("https://notgoogle.com/"),
        None,
        "notgoogle.com",
        "notgoogle.com",
    ),
    (
        Some("https://google.evil.example/"),
        None,
        "google.evil.example",
        "google.evil.example",
    ),
    (
        Some("https://github.com.evil.example/"),
        None,
        "github.com.evil.example",
        "github.com.evil.example",
    ),
    // Self-referrals are Direct, www. and port on either side notwithstanding.
    (
        Some("https://example.com/pricing"),
        Some("example.com"),
        "Direct",
        "",
    ),
    (
        Some("https://www.example.com/"),
        Some("example.com"),
        "Direct",
        "",
    ),
    (
        Some("https://example.com/"),
        Some("www.Example.com:443"),
        "Direct",
        "",
    ),
    (
        Some("https://blog.example.com/"),
        Some("example.com"),
        "blog.example.com",
        "blog.example.com",
    ),
    // Android apps.
    (
        Some("android-app://com.google.android.gm"),
        None,
        "Gmail",
        "com.google.android.gm",
    ),
    (
        Some("android-app://com.google.android.googlequicksearchbox/https/www.google.com"),
        None,
        "Google",
        "com.google.android.googlequicksearchbox",
    ),
    (
        Some("android-app://org.example.reader"),
        None,
        "org.example.reader",
        "org.example.reader",
    ),
    // A scheme-less referrer is read as a web address.
    (Some("example.org/page"), None, "example.org", "example.org"),
    // Not web addresses.
    (Some("about:blank"), None, "Direct", ""),
    (
        Some("chrome-extension://abcdef/popup.html"),
        None,
        "Direct",
        "",
    ),
    (Some("not a url"), None, "Direct", ""),
    (Some("file:///home/me/page.html"), None, "Direct", ""),
];

#[test]
fn referrer_table() {
    let mut failures = Vec::new();
    for &(referrer, site_host, source, domain) in REFERRERS {
        let e = enrich("/", referrer, site_host);
        if (e.source.as_str(), e.referrer_domain.as_str()) != (source, domain) {
            failures.push(format!(
                "{referrer:?} on {site_host:?}: want ({source:?}, {domain:?}), got ({:?}, {:?})",
                e.source, e.referrer_domain
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn utm_source_wins_over_the_referrer() {
    let e = enrich(
        "/pricing?utm_source=newsletter&utm_medium=email",
        Some("https://www.google.com/"),
        Some("example.com"),
    );
    assert_eq!(e.source, "newsletter");
    assert_eq!(e.referrer_domain, "google.com");
    assert_eq!(e.utm_medium, "email");

    // Verbatim (trimmed), not mapped to a table name.
    let e = enrich("/?utm_source=%20google%20", None, None);
    assert_eq!(e.source, "google");
    assert_eq!(e.utm_source, "google");

    // An empty utm_source does not hide the referrer.
    let e = enrich("/?utm_source=&utm_campaign=x", Some("https://t.co/x"), None);
    assert_eq!(e.source, "Twitter");
}

#[test]
fn ref_and_source_tags_are_sources_below_utm_source() {
    let google = Some("https://www.google.com/");
    let e = enrich("/launch?ref=producthunt", google, None);
    assert_eq!(
        (e.source.as_str(), e.utm_source.as_str()),
        ("producthunt", "")
    );
    let e = enrich("/?source=newsletter&ref=%20hn%20", None, None);
    assert_eq!(e.source, "hn");
    let e = enrich("/?source=newsletter", None, None);
    assert_eq!(e.source, "newsletter");
    let e = enrich("/?Ref=hn&utm_source=mail", google, None);
    assert_eq!(e.source, "mail");
    // Keys that merely contain the words are not tags.
    let e = enrich("/?prefer=dark&resource=x", google, None);
    assert_eq!(e.source, "Google");
}

#[test]
fn utm_tags_are_decoded_trimmed_and_bounded() {
    let e = enrich(
        "/pricing?utm_source=hn&utm_medium=social%20media&utm_campaign=Spring+Sale+2025&utm_content=%F0%9F%9A%80%20launch&utm_term=%20rust%20analytics%20#section",
        None,
        None,
    );
    assert_eq!(e.utm_source, "hn");
    assert_eq!(e.utm_medium, "social media");
    assert_eq!(e.utm_campaign, "Spring Sale 2025");
    assert_eq!(e.utm_content, "🚀 launch");
    assert_eq!(e.utm_term, "rust analytics");

    let long = "é".repeat(500);
    let e = enrich(&format!("/?utm_campaign={long}"), None, None);
    assert_eq!(e.utm_campaign.chars().count(), utm::MAX_UTM_CHARS);
}

#[test]
fn utm_edge_cases() {
    assert_eq!(utm::parse("/no-query"), utm::Utm::default());
    assert_eq!(utm::parse("/?"), utm::Utm::default());
    assert_eq!(utm::parse("/#utm_source=fragment"), utm::Utm::default());
    // First occurrence wins; keys are case-insensitive; a fragment is not part of the query.
    let u = utm::parse("/?UTM_Source=first&utm_source=second#utm_medium=frag");
    assert_eq!(u.source, "first");
    assert_eq!(u.medium, "");
    // Full URLs work too.
    assert_eq!(
        utm::parse("https://example.com/a?utm_campaign=x").campaign,
        "x"
    );
    // Invalid percent-encoding and invalid UTF-8 are kept or replaced, never an error.
    assert_eq!(utm::parse("/?utm_source=100%").source, "100%");
    assert_eq!(utm::parse("/?utm_source=%FFab").source, "\u{FFFD}ab");
    // Control characters are dropped.
    assert_eq!(utm::parse("/?utm_source=a%0Ab%00c").source, "abc");
    // Only control characters and spaces → absent.
    assert_eq!(utm::parse("/?utm_source=%0A%20%09").source, "");
}

#[test]
fn named_sources_are_matched_by_domain_boundaries() {
    assert_eq!(referrer::named_source("google.com"), Some("Google"));
    assert_eq!(referrer::named_source("google.com.br"), Some("Google"));
    assert_eq!(
        referrer::named_source("images.google.com.br"),
        Some("Google Images")
    );
    assert_eq!(referrer::named_source("t.co"), Some("Twitter"));
    assert_eq!(referrer::named_source("at.co"), None);
    assert_eq!(referrer::named_source("google"), None);
    assert_eq!(referrer::named_source(""), None);
}

#[test]
fn referrer_spam_is_counted_as_a_bot() {
    for spam in [
        "https://semalt.com/",
        "http://www.darodar.com/x?y",
        "https://shop.semalt.com/",
    ] {
        let c = enrich("/", Some(spam), Some("example.com"));
        assert!(c.bot, "{spam}");
    }
    let fine = enrich("/", Some("https://notsemalt.com/"), Some("example.com"));
    assert!(!fine.bot);
    assert_eq!(fine.source, "notsemalt.com");
}
