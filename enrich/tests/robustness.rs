//! `enrich` is total: odd, hostile and random inputs give an answer, never a panic.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use beacon_enrich::{mmdb_writer, Enricher, Input};

const ODD: &[&str] = &[
    "",
    " ",
    "\0",
    "\u{FFFD}\u{FFFD}",
    "é",
    "🚀🚀🚀",
    "?",
    "??",
    "?&&&==",
    "?utm_source",
    "?utm_source=%",
    "?utm_source=%E2%82",
    "?utm_source=%ZZ",
    "?utm_campaign=a&utm_campaign=b&",
    "#",
    "/?#?#",
    "//",
    "://",
    "http://",
    "https://",
    "https:///path",
    "https://[::1",
    "https://[::1]:99999/",
    "http://user:pass@host:0/",
    "http://xn--/",
    "http://xn--ls8h.la/",
    "http://.../",
    "http://a..b/",
    "http://www./",
    "http://www/",
    "http://%41%42/",
    "http://1.2.3.4/",
    "http://[2001:db8::1]/",
    "android-app://",
    "android-app:///",
    "android-app://com.google.android.gm/../../..",
    "javascript:alert(1)",
    "data:text/html,hi",
    "mailto:a@b.c",
    "www.",
    "google.",
    ".google.com",
    "google.*",
    "Mozilla/5.0 (",
    "Mozilla/5.0 (iPad",
    "Mozilla/5.0 (Linux; Android",
    ")))(((",
    "((((((((((((((((((((((((((((((",
    "bot",
    "Chrome/",
    "Chrome/99999999999999999999999999",
    "Version/ Safari/",
];

fn enricher() -> Enricher {
    let db = mmdb_writer::write_country_db(&[("203.0.113.0/24", "DE"), ("2001:db8::/32", "JP")]);
    Enricher::from_geoip_bytes(db).expect("db")
}

fn check(enricher: &Enricher, text: &str, ip: Option<IpAddr>) {
    let e = enricher.enrich(&Input {
        user_agent: Some(text),
        ip,
        path: text,
        referrer: Some(text),
        site_host: Some(text),
    });
    assert!(["desktop", "mobile", "tablet", "unknown"].contains(&e.device.as_str()));
    assert!(e.country == "unknown" || e.country.len() == 2);
    assert!(!e.source.is_empty());
    for tag in [
        &e.utm_source,
        &e.utm_medium,
        &e.utm_campaign,
        &e.utm_content,
        &e.utm_term,
    ] {
        assert!(tag.chars().count() <= 100);
        assert_eq!(tag.trim(), tag.as_str());
    }
    // Path-shaped and URL-shaped variants of the same text.
    for path in [
        format!("/?utm_source={text}"),
        format!("/{text}?{text}={text}"),
    ] {
        enricher.enrich(&Input {
            user_agent: None,
            ip,
            path: &path,
            referrer: Some(&path),
            site_host: None,
        });
    }
    let as_url = format!("https://{text}/");
    enricher.enrich(&Input {
        user_agent: Some(&as_url),
        ip,
        path: &as_url,
        referrer: Some(&as_url),
        site_host: Some(text),
    });
}

#[test]
fn odd_inputs() {
    let enricher = enricher();
    for text in ODD {
        check(&enricher, text, None);
    }
}

#[test]
fn huge_inputs() {
    let enricher = enricher();
    let ua = format!(
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) {} Chrome/131.0.0.0 Safari/537.36",
        "A".repeat(1_000_000)
    );
    let e = enricher.enrich(&Input {
        user_agent: Some(&ua),
        ip: Some("203.0.113.1".parse().expect("ip")),
        path: &format!("/?utm_source={}", "s".repeat(1_000_000)),
        referrer: Some(&format!("https://{}.example.com/", "a".repeat(60))),
        site_host: Some(&"b".repeat(100_000)),
    });
    assert_eq!(e.country, "DE");
    assert_eq!(e.utm_source.len(), 100);
    assert_eq!(e.source, e.utm_source);
    // Multi-byte characters straddling the parse limit.
    check(&enricher, &"é".repeat(5_000), None);
    check(&enricher, &"🚀".repeat(3_000), None);
}

/// A small deterministic generator (no dependency, reproducible failures).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
}

#[test]
fn random_inputs() {
    const PIECES: &[&str] = &[
        "Mozilla/5.0 ",
        "(",
        ")",
        ";",
        " ",
        "/",
        "?",
        "&",
        "=",
        "#",
        "%",
        "%2",
        "%FF",
        "+",
        "utm_source",
        "utm_term",
        "https://",
        "android-app://",
        "www.",
        "google",
        ".com",
        ".",
        ":",
        "[",
        "]",
        "iPad",
        "Android",
        "Mobile",
        "Chrome/",
        "1",
        "99",
        "bot",
        "é",
        "\u{0}",
        "\u{FEFF}",
        "🚀",
        "\\",
        "\"",
        "'",
        "<",
        ">",
        "{",
        "}",
        "*",
    ];
    let enricher = enricher();
    let mut rng = Lcg(0x5eed);
    for _ in 0..3_000 {
        let len = rng.next() % 24;
        let text: String = (0..len)
            .map(|_| PIECES[(rng.next() % PIECES.len() as u64) as usize])
            .collect();
        let ip = match rng.next() % 3 {
            0 => None,
            1 => Some(IpAddr::V4(Ipv4Addr::from(rng.next() as u32))),
            _ => Some(IpAddr::V6(Ipv6Addr::from(
                (u128::from(rng.next()) << 96) | u128::from(rng.next()),
            ))),
        };
        check(&enricher, &text, ip);
    }
}
