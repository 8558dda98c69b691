//! Measures `Enricher::enrich` per call over a mix of real requests:
//! `cargo run --release -p beacon-enrich --example bench [iterations]`.

use std::hint::black_box;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use beacon_enrich::{mmdb_writer, Enricher, Input};

const USER_AGENTS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
    "Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S921B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "curl/8.5.0",
];

fn main() {
    let iterations: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(200_000);
    let db = mmdb_writer::write_country_db(&[("203.0.113.0/24", "DE"), ("2001:db8::/32", "JP")]);
    let started = Instant::now();
    let enricher = Enricher::from_geoip_bytes(db).expect("test database");
    let build = started.elapsed();
    let ips: [IpAddr; 2] = [
        "203.0.113.9".parse().unwrap(),
        "2001:db8::1".parse().unwrap(),
    ];

    let enrich = per_call(iterations, |i| {
        let input = Input {
            user_agent: Some(USER_AGENTS[i % USER_AGENTS.len()]),
            ip: Some(ips[i % 2]),
            path: "/pricing?utm_source=newsletter&utm_medium=email&utm_campaign=launch",
            referrer: Some("https://www.google.com/search?q=beacon"),
            site_host: Some("example.com"),
        };
        black_box(enricher.enrich(black_box(&input)));
    });
    println!("Enricher build: {build:?}; enrich: {enrich:?} per call over {iterations} calls");

    // The parts, to see where the time goes.
    let parser = beacon_enrich::ua::UaParser::new().expect("rules");
    let bots = beacon_enrich::bots::BotDetector::new();
    let user_agent = |i: usize| black_box(USER_AGENTS[i % USER_AGENTS.len()]);
    let ua = per_call(iterations, |i| {
        black_box(parser.parse(user_agent(i)));
    });
    println!("  ua::UaParser::parse: {ua:?}");
    let bot = per_call(iterations, |i| {
        black_box(bots.matches(user_agent(i)));
    });
    println!("  bots::BotDetector::matches: {bot:?}");
    let sources = per_call(iterations, |_| {
        black_box(beacon_enrich::referrer::classify(
            black_box(Some("https://www.google.com/search?q=beacon")),
            Some("example.com"),
        ));
        black_box(beacon_enrich::utm::parse(black_box(
            "/pricing?utm_source=newsletter&utm_medium=email&utm_campaign=launch",
        )));
    });
    println!("  referrer + utm: {sources:?}");

    // Worst case: a User-Agent at the parse limit, full of tokens that the rules look for.
    let hostile =
        "Mozilla/5.0 (Linux; Android 14; iPad; Mobile) Chrome/1 Safari/2 Version/3 ".repeat(20);
    let worst = per_call((iterations / 10).max(1), |_| {
        black_box(parser.parse(black_box(&hostile)));
    });
    println!(
        "  ua::UaParser::parse, {} byte hostile UA: {worst:?}",
        hostile.len().min(beacon_enrich::ua::MAX_UA_BYTES),
    );
}

/// The mean time of one call of `f` over `iterations` calls (`f` gets the call's index).
fn per_call(iterations: usize, mut f: impl FnMut(usize)) -> Duration {
    let started = Instant::now();
    for i in 0..iterations {
        f(i);
    }
    started.elapsed() / iterations as u32
}
