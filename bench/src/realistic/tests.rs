//! The realistic mix: reproducible, continuable, and the issue's day in numbers.

use std::collections::{HashMap, HashSet};

use time::macros::{date, datetime};

use super::*;

const DAY: Date = date!(2026 - 11 - 02);
const NOW: OffsetDateTime = datetime!(2026-11-03 00:00 UTC);

fn day(site: &str, n: u64, start: u64, take: u64, sizes: &Sizes) -> Vec<(Event, Position)> {
    let mut generator = Realistic::new(site, DAY, n, start, sizes).unwrap();
    (0..take)
        .map(|_| generator.next_event(NOW).unwrap())
        .collect()
}

#[test]
fn the_same_seed_gives_the_same_events_and_another_seed_others() {
    let sizes = Sizes::for_day(300_000);
    let first = day("s", 300_000, 0, 3000, &sizes);
    assert_eq!(first, day("s", 300_000, 0, 3000, &sizes));
    assert_eq!(
        crate::seed::tests::fingerprint(&first),
        crate::seed::tests::fingerprint(&day("s", 300_000, 0, 3000, &sizes))
    );
    let other = day("s", 300_000, 0, 3000, &Sizes { seed: 19, ..sizes });
    let same_path = first
        .iter()
        .zip(&other)
        .filter(|(a, b)| a.0.path == b.0.path)
        .count();
    // Two seeds agree on a path only as often as two draws from the Zipf law do (~2%), and
    // never on a visitor or an eid.
    assert!(same_path < 300, "{same_path} of 3000 paths alike");
    assert!(first
        .iter()
        .zip(&other)
        .all(|(a, b)| a.0.visitor_id != b.0.visitor_id && a.0.eid != b.0.eid));
}

#[test]
fn continuing_from_an_offset_generates_the_same_events() {
    let sizes = Sizes::for_day(100_000);
    let all = day("s", 100_000, 0, 3000, &sizes);
    assert_eq!(&all[2000..], &day("s", 100_000, 2000, 1000, &sizes)[..]);
}

#[test]
fn timestamps_rise_and_fill_each_hour_by_its_weight() {
    let n = 240_000;
    let total: u64 = HOURS.iter().sum();
    let mut per_hour = [0u64; 24];
    let mut last = -1i64;
    for offset in 0..n {
        let nanos = nanos_into_day(offset, n);
        assert!(
            nanos > last && nanos < 86_400_000_000_000,
            "offset {offset}"
        );
        last = nanos;
        per_hour[(nanos / 3_600_000_000_000) as usize] += 1;
    }
    for (hour, count) in per_hour.iter().enumerate() {
        // Exact up to rounding: the hour's weight's share of the day's events.
        let expected = n * HOURS[hour] / total;
        assert!(
            count.abs_diff(expected) <= 1,
            "hour {hour}: {count} vs {expected}"
        );
    }
    // The night trough (02:00) has a sixth of the afternoon's (14:00) traffic.
    assert_eq!(per_hour[14] / per_hour[2], 6);
}

/// Expected distinct values seen in `draws` draws from a Zipf law over `n` (exponent 1).
fn expected_distinct(n: u64, draws: u64) -> f64 {
    let harmonic: f64 = (1..=n).map(|k| 1.0 / k as f64).sum();
    (1..=n)
        .map(|k| 1.0 - (-(draws as f64) / (k as f64 * harmonic)).exp())
        .sum()
}

fn distinct<T: std::hash::Hash + Eq>(values: impl Iterator<Item = T>) -> usize {
    values.collect::<HashSet<_>>().len()
}

#[test]
fn the_issues_day_has_its_shape() {
    let n = 300_000;
    let events: Vec<Event> = day("s", n, 0, n, &Sizes::for_day(n))
        .into_iter()
        .map(|(event, _)| event)
        .collect();
    let views: Vec<&Event> = events
        .iter()
        .filter(|e| e.event_type.is_page_view())
        .collect();
    assert_eq!(views.len() as u64, crate::seed::page_views(n));
    let mut by_path: HashMap<&str, u64> = HashMap::new();
    for event in &events {
        *by_path.entry(event.path.as_str()).or_default() += 1;
    }
    // 18,363 of 20,000 paths are seen in 300,000 draws, as the Zipf law predicts (18,393).
    let paths = by_path.len() as f64;
    let expected = expected_distinct(20_000, n);
    assert!(
        (paths / expected - 1.0).abs() < 0.01,
        "{paths} paths, {expected:.0} expected"
    );
    // The 10 most viewed paths take H(10) / H(20,000) = 27.9% of the events.
    let mut counts: Vec<u64> = by_path.values().copied().collect();
    counts.sort_unstable_by(|a, b| b.cmp(a));
    let head = counts[..10].iter().sum::<u64>() as f64 / n as f64;
    let harmonic = |k: u64| (1..=k).map(|i| 1.0 / i as f64).sum::<f64>();
    let zipf_head = harmonic(10) / harmonic(20_000);
    assert!(
        (head - zipf_head).abs() < 0.005,
        "head {head}, Zipf {zipf_head}"
    );
    assert_eq!(counts[0], by_path["/"]);
    let queries = by_path.keys().filter(|p| p.contains('?')).count() as f64 / paths;
    assert!(
        (0.18..0.22).contains(&queries),
        "{queries} of paths with a query"
    );
    // 61,906: a few percent over, as visits in a slot's first hours cannot be returns.
    let visitors = distinct(events.iter().map(|e| &e.visitor_id)) as f64;
    assert!(
        (visitors / 60_000.0 - 1.0).abs() < 0.05,
        "{visitors} visitors"
    );
    let referrers = distinct(
        events
            .iter()
            .map(|e| &e.context.referrer_domain)
            .filter(|d| !d.is_empty()),
    );
    assert_eq!(referrers, 300);
    // Each referrer its own source, and Direct (empty before the rollup names it).
    assert_eq!(distinct(events.iter().map(|e| &e.context.source)), 301);
    let agents = distinct(events.iter().map(|e| {
        let c = &e.context;
        (&c.browser, &c.browser_version, &c.os, &c.device)
    }));
    assert_eq!(agents, 40);
    let direct = events
        .iter()
        .filter(|e| e.context.source.is_empty())
        .count() as f64
        / n as f64;
    assert!((0.33..0.37).contains(&direct), "{direct} direct");
    assert_eq!(distinct(events.iter().map(|e| e.timestamp.hour())), 24);
}

#[test]
fn a_large_enough_day_shows_nearly_every_path() {
    let n = 2_000_000;
    let generator = Realistic::new("s", DAY, n, 0, &Sizes::for_day(n)).unwrap();
    let seen = distinct((0..n).map(|offset| generator.path_at(offset)));
    // 99.6% of the 20,000 by the Zipf law.
    let expected = expected_distinct(20_000, n);
    assert!(expected > 19_900.0, "{expected}");
    assert!((seen as f64 / expected - 1.0).abs() < 0.005, "{seen} paths");
}

/// The realistic mix's figures in docs/benchmarks.md stay comparable only while its events do:
/// fingerprints taken before its visit slots moved to [`crate::visits`], on a busy day (every
/// event a visit's first) and on small ones (visits end, visitors return), also from an offset.
#[test]
fn the_realistic_mix_is_unchanged() {
    let fingerprint = |site: &str, n: u64, start: u64, take: u64| {
        crate::seed::tests::fingerprint(&day(site, n, start, take, &Sizes::for_day(n)))
    };
    assert_eq!(
        fingerprint("bench-reports", 10_000_000, 0, 5000),
        11_559_522_425_514_681_873
    );
    assert_eq!(
        fingerprint("s", 100_000, 0, 3000),
        5_029_081_872_769_496_550
    );
    assert_eq!(fingerprint("s", 1000, 0, 1000), 15_816_523_950_763_299_694);
    assert_eq!(fingerprint("s", 1000, 700, 300), 14_977_367_373_222_531_463);
    let first = day("s", 1000, 0, 5, &Sizes::for_day(1000));
    let paths: Vec<_> = first.iter().map(|(e, _)| e.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/pricing?ref=nav&page=5",
            "/guides/page-319?ref=nav&page=6",
            "/tags/page-903",
            "/tags/page-383?ref=nav&page=5",
            "/news/page-19"
        ]
    );
    let visitors: Vec<_> = first.iter().map(|(e, _)| e.visitor_id.as_str()).collect();
    let (one, two, three) = ("28d9fa093d36ada1", "dcd5e92b00d957df", "1744c571f1eb6bf5");
    assert_eq!(visitors, [one, one, two, two, three]);
    let midnight = DAY.midnight().assume_utc();
    let millis: Vec<_> = first
        .iter()
        .map(|(e, _)| (e.timestamp - midnight).whole_milliseconds())
        .collect();
    assert_eq!(millis, [0, 184_500, 369_000, 553_500, 738_000]);
}
