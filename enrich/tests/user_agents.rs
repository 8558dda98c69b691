//! Real User-Agent strings → browser, major version, OS, device class and bot flag.

use std::sync::OnceLock;

use beacon_enrich::{Enricher, Input};

fn enricher() -> &'static Enricher {
    static ENRICHER: OnceLock<Enricher> = OnceLock::new();
    ENRICHER.get_or_init(|| Enricher::new(None).expect("enricher"))
}

fn enrich_ua(ua: Option<&str>) -> beacon_enrich::Context {
    enricher().enrich(&Input {
        user_agent: ua,
        path: "/",
        ..Input::default()
    })
}

/// (user agent, browser, version, os, device, bot)
const CASES: &[(&str, &str, &str, &str, &str, bool)] = &[
    // Desktop browsers.
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
        "Chrome", "131", "Windows", "desktop", false,
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
        "Firefox", "133", "Windows", "desktop", false,
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
        "Edge", "131", "Windows", "desktop", false,
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36 OPR/115.0.0.0",
        "Opera", "115", "Windows", "desktop", false,
    ),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Safari/605.1.15",
        "Safari", "17", "macOS", "desktop", false,
    ),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
        "Chrome", "131", "macOS", "desktop", false,
    ),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.7; rv:133.0) Gecko/20100101 Firefox/133.0",
        "Firefox", "133", "macOS", "desktop", false,
    ),
    (
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
        "Chrome", "131", "Linux", "desktop", false,
    ),
    (
        "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
        "Firefox", "133", "Ubuntu", "desktop", false,
    ),
    (
        "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
        "Chrome", "131", "ChromeOS", "desktop", false,
    ),
    // Phones.
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
        "Safari", "17", "iOS", "mobile", false,
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1",
        "Chrome", "131", "iOS", "mobile", false,
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/133.0 Mobile/15E148 Safari/605.1.15",
        "Firefox", "133", "iOS", "mobile", false,
    ),
    (
        "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
        "Chrome", "131", "Android", "mobile", false,
    ),
    (
        "Mozilla/5.0 (Android 14; Mobile; rv:133.0) Gecko/133.0 Firefox/133.0",
        "Firefox", "133", "Android", "mobile", false,
    ),
    (
        "Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S921B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36",
        "Samsung Internet", "25", "Android", "mobile", false,
    ),
    (
        "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36 EdgA/131.0.0.0",
        "Edge", "131", "Android", "mobile", false,
    ),
    (
        "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Mobile Safari/537.36 OPR/86.0.0.0",
        "Opera", "86", "Android", "mobile", false,
    ),
    // Tablets.
    (
        "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
        "Safari", "17", "iOS", "tablet", false,
    ),
    (
        "Mozilla/5.0 (Linux; Android 14; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
        "Chrome", "131", "Android", "tablet", false,
    ),
    (
        "Mozilla/5.0 (Linux; Android 13; SAMSUNG SM-X200) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/25.0 Chrome/121.0.0.0 Safari/537.36",
        "Samsung Internet", "25", "Android", "tablet", false,
    ),
    (
        "Mozilla/5.0 (Android 14; Tablet; rv:133.0) Gecko/133.0 Firefox/133.0",
        "Firefox", "133", "Android", "tablet", false,
    ),
    // Crawlers.
    (
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "Googlebot", "2", "unknown", "unknown", true,
    ),
    (
        "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.69 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "Googlebot", "2", "Android", "mobile", true,
    ),
    (
        "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm) Chrome/116.0.1938.76 Safari/537.36",
        "bingbot", "2", "unknown", "unknown", true,
    ),
    (
        "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
        "AhrefsBot", "7", "unknown", "unknown", true,
    ),
    (
        "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)",
        "GPTBot", "1", "unknown", "unknown", true,
    ),
    // Headless browsers.
    (
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36",
        "HeadlessChrome", "131", "Linux", "desktop", true,
    ),
    (
        "Mozilla/5.0 (Unknown; Linux x86_64) AppleWebKit/538.1 (KHTML, like Gecko) PhantomJS/2.1.1 Safari/538.1",
        "PhantomJS", "2", "Linux", "desktop", true,
    ),
    // Scripting clients.
    ("curl/8.5.0", "curl", "8", "unknown", "unknown", true),
    ("Wget/1.21.4", "Wget", "1", "unknown", "unknown", true),
    ("python-requests/2.32.3", "Python Requests", "2", "unknown", "unknown", true),
    ("Python-urllib/3.12", "Python-urllib", "3", "unknown", "unknown", true),
    ("Go-http-client/2.0", "Go-http-client", "2", "unknown", "unknown", true),
    ("axios/1.7.9", "axios", "1", "unknown", "unknown", true),
    // uap-core does not name node-fetch; the bot list still catches it.
    ("node-fetch/1.0 (+https://github.com/bitinn/node-fetch)", "unknown", "", "unknown", "unknown", true),
    ("python-httpx/0.28.1", "unknown", "", "unknown", "unknown", true),
    (
        "Mozilla/5.0 (compatible; ClaudeBot/1.0; +claudebot@anthropic.com)",
        "ClaudeBot", "1", "unknown", "unknown", true,
    ),
    (
        "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko); compatible; ChatGPT-User/1.0; +https://openai.com/bot",
        "unknown", "", "unknown", "unknown", true,
    ),
    ("Java/17.0.2", "Java", "17", "unknown", "unknown", true),
    ("okhttp/4.12.0", "okhttp", "4", "unknown", "unknown", true),
    ("libwww-perl/6.72", "libwww-perl", "6", "unknown", "unknown", true),
    ("Apache-HttpClient/4.5.14 (Java/17.0.9)", "Apache-HttpClient", "4", "unknown", "unknown", true),
];

#[test]
fn user_agent_table() {
    let mut failures = Vec::new();
    for &(ua, browser, version, os, device, bot) in CASES {
        let e = enrich_ua(Some(ua));
        let got = (
            e.browser.as_str(),
            e.browser_version.as_str(),
            e.os.as_str(),
            e.device.as_str(),
            e.bot,
        );
        if got != (browser, version, os, device, bot) {
            failures.push(format!(
                "{ua}\n   want {:?}\n   got  {got:?}",
                (browser, version, os, device, bot)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(CASES.len() >= 20);
}

#[test]
fn missing_or_empty_user_agent_is_unknown_and_not_a_bot() {
    for ua in [None, Some(""), Some("   "), Some("\t\n")] {
        let e = enrich_ua(ua);
        assert!(!e.bot, "{ua:?}");
        assert_eq!(
            (
                e.browser.as_str(),
                e.browser_version.as_str(),
                e.os.as_str(),
                e.device.as_str()
            ),
            ("unknown", "", "unknown", "unknown"),
            "{ua:?}"
        );
    }
}

#[test]
fn unrecognised_text_is_unknown() {
    let e = enrich_ua(Some("something entirely different"));
    assert_eq!(e.os, "unknown");
    assert_eq!(e.device, "unknown");
}

/// In-app and less common browsers are people, not bots.
#[test]
fn real_browsers_are_not_bots() {
    const PEOPLE: &[(&str, &str)] = &[
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [FBAN/FBIOS;FBAV/477.0.0.38.107;FBBV/640000000;FBDV/iPhone15,2;FBMD/iPhone;FBSN/iOS;FBSV/17.5;FBSS/3;FBID/phone;FBLC/en_US;FBOP/5;FBRV/641000000]",
            "mobile",
        ),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Instagram 345.0.0.32.95 (iPhone15,2; iOS 17_5; en_US; en; scale=3.00; 1179x2556; 634108168)",
            "mobile",
        ),
        (
            "Mozilla/5.0 (Linux; Android 14; Pixel 8 Build/AP2A.240805.005; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/127.0.6533.103 Mobile Safari/537.36",
            "mobile",
        ),
        (
            "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/131.0.0.0 Mobile DuckDuckGo/5 Safari/537.36",
            "mobile",
        ),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) GSA/343.0.695551749 Mobile/15E148 Safari/604.1",
            "mobile",
        ),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Snapchat/12.80.0.40 (like Safari/8618.2.12.10.6, panda)",
            "mobile",
        ),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 YaBrowser/24.12.0.0 Safari/537.36",
            "desktop",
        ),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Vivaldi/7.0.3495.18",
            "desktop",
        ),
        (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
            "desktop",
        ),
        (
            "Mozilla/5.0 (Windows NT 6.1; Trident/7.0; rv:11.0) like Gecko",
            "desktop",
        ),
    ];
    for &(ua, device) in PEOPLE {
        let e = enrich_ua(Some(ua));
        assert!(!e.bot, "flagged as a bot: {ua}");
        assert_eq!(e.device, device, "{ua}");
        assert_ne!(e.browser, "unknown", "{ua}");
    }
}
