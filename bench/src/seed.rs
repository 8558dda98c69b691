//! `seed`: fills MongoDB with a site-day of the bench mix (or, with `--mix realistic`, of
//! [`crate::realistic`]) through the worker's own storage path,
//! [`beacon::worker::store_batch`] (raw events, rollups and visitor states, exact under replay),
//! the function the Kafka consumer calls for each batch. Kafka is skipped only so that millions
//! of events fit in the time a benchmark has; what MongoDB ends up holding is the same.
//!
//! Event `i` (its Kafka offset on partition 0) is a pure function of `i` and the planned size of
//! the day, so seeding can stop and go on later from `--start-offset`, and a repeated range is
//! harmless (the same `eid`s and positions: the worker's replay rules drop it).
//!
//! The shape of the day: timestamps rise with the offset and fill the UTC day when
//! `--day-events` events are stored. Visits interleave in slots ([`crate::visits`]): each slot
//! is a sequence of visits, consecutive events of one visitor about a minute apart, ~10 events
//! per visit (geometric lengths, so some visits bounce), some visitors returning hours later.
//! Paths follow a Zipf-like law over 50 pages; 5% of events are a custom `signup`; each visitor
//! has one source, device, browser, OS and country.

use std::time::{Duration, Instant};

use anyhow::{ensure, Context as _};
use beacon::rollup::Position;
use beacon::store::MongoStore;
use beacon_event::event::Context;
use beacon_event::{Event, PagePath, SiteId};
use clap::Args;
use time::{Date, OffsetDateTime};

use crate::rollups_only::RollupsOnly;
use crate::site_day::SiteDay;
use crate::visits::{VisitEnd, VisitSlots};

/// One event in this many is a custom `signup` event (5%).
const CUSTOM_EVERY: u64 = 20;
/// A visit ends after an event with probability 1/this: ~10 events per visit.
const VISIT_LENGTH: u64 = 10;

const SOURCES: [(&str, &str, u64); 6] = [
    ("", "", 35),
    ("Google", "google.com", 30),
    ("Hacker News", "news.ycombinator.com", 12),
    ("Twitter", "t.co", 10),
    ("DuckDuckGo", "duckduckgo.com", 8),
    ("newsletter", "", 5),
];
const DEVICES: [(&str, u64); 3] = [("desktop", 60), ("mobile", 35), ("tablet", 5)];
const BROWSERS: [(&str, u64); 5] = [
    ("Chrome", 55),
    ("Safari", 20),
    ("Firefox", 12),
    ("Edge", 10),
    ("Samsung Internet", 3),
];
const OSES: [(&str, u64); 4] = [("Windows", 40), ("macOS", 25), ("Android", 20), ("iOS", 15)];
pub(crate) const COUNTRIES: [(&str, u64); 10] = [
    ("US", 30),
    ("DE", 12),
    ("GB", 10),
    ("FR", 8),
    ("IN", 8),
    ("NL", 7),
    ("CA", 7),
    ("BR", 6),
    ("JP", 6),
    ("PL", 6),
];

/// SplitMix64's finalizer: a good 64-bit mix of an integer.
pub(crate) fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

pub(crate) fn mix2(a: u64, b: u64) -> u64 {
    mix(mix(a) ^ b.rotate_left(17))
}

/// A site's salt: events of different sites get different visitors and `eid`s.
pub(crate) fn site_salt(site: &SiteId) -> u64 {
    site.as_str()
        .bytes()
        .fold(0x000b_eac0_u64, |h, b| mix2(h, u64::from(b)))
}

/// Picks from `(value, weight)` pairs with `hash`.
pub(crate) fn pick<T: Copy>(items: &[(T, u64)], hash: u64) -> T {
    let total: u64 = items.iter().map(|(_, w)| w).sum();
    let mut at = hash % total;
    for (item, weight) in items {
        if at < *weight {
            return *item;
        }
        at -= weight;
    }
    items[items.len() - 1].0
}

/// Whether the event at `offset` is a custom event (not a page view).
pub fn is_custom(offset: u64) -> bool {
    mix2(0xc057, offset) % CUSTOM_EVERY == 0
}

/// How many page views the events at offsets `0..events` contain.
pub fn page_views(events: u64) -> u64 {
    (0..events).filter(|&i| !is_custom(i)).count() as u64
}

/// Well-known first paths (ranks 1..) of both mixes: the head of their laws looks like a real
/// site's.
pub(crate) const NAMED_PATHS: [&str; 10] = [
    "/",
    "/pricing",
    "/docs",
    "/blog",
    "/features",
    "/signup",
    "/login",
    "/about",
    "/changelog",
    "/contact",
];

/// The 50 paths with Zipf-like weights (rank r weighs 1/(r+1)).
fn paths() -> Vec<(PagePath, u64)> {
    NAMED_PATHS
        .iter()
        .map(|p| (*p).to_owned())
        .chain((1..=25).map(|k| format!("/blog/post-{k}")))
        .chain((1..=15).map(|k| format!("/docs/page-{k}")))
        .enumerate()
        .map(|(rank, p)| {
            let path = PagePath::parse(&p).expect("a valid path");
            (path, 1_000_000 / (rank as u64 + 1))
        })
        .collect()
}

/// Generates the events of one site-day in offset order.
pub struct Generator {
    day: SiteDay,
    visits: VisitSlots,
    paths: Vec<(PagePath, u64)>,
}

impl Generator {
    /// A generator positioned at `start` (events before it are replayed in memory only).
    pub fn new(site: &str, date: Date, day_events: u64, start: u64) -> anyhow::Result<Self> {
        ensure!(day_events > 0, "--day-events must be > 0");
        let site = SiteId::parse(site).map_err(|e| anyhow::anyhow!("site: {e}"))?;
        let salt = site_salt(&site);
        Ok(Self {
            day: SiteDay::new(site, salt, date),
            visits: VisitSlots::new(salt, day_events, start, VisitEnd::OneIn(VISIT_LENGTH)),
            paths: paths(),
        })
    }

    /// The next event and its position (partition 0, offset = its index in the day).
    pub fn next_event(&mut self, received_at: OffsetDateTime) -> anyhow::Result<(Event, Position)> {
        let (offset, who) = self.visits.next_visitor()?;
        let salt = self.day.salt();
        let (source, referrer_domain) = pick(&SOURCES.map(|(s, d, w)| ((s, d), w)), mix2(who, 1));
        let context = Context {
            browser: pick(&BROWSERS, mix2(who, 2)).to_owned(),
            os: pick(&OSES, mix2(who, 3)).to_owned(),
            device: pick(&DEVICES, mix2(who, 4)).to_owned(),
            country: pick(&COUNTRIES, mix2(who, 5)).to_owned(),
            source: source.to_owned(),
            referrer_domain: referrer_domain.to_owned(),
            utm_source: if source == "newsletter" {
                "newsletter".to_owned()
            } else {
                String::new()
            },
            ..Context::default()
        };
        let path_index = {
            let total: u64 = self.paths.iter().map(|(_, w)| w).sum();
            let mut at = mix2(salt ^ 0x9a7, offset) % total;
            self.paths
                .iter()
                .position(|(_, w)| {
                    let hit = at < *w;
                    at = at.saturating_sub(*w);
                    hit
                })
                .unwrap_or(0)
        };
        let day_events = i128::from(self.visits.day_events());
        let nanos = i128::from(offset) * 86_400_000_000_000 / day_events;
        let path = self.paths[path_index].0.clone();
        self.day
            .event(offset, who, path, nanos as i64, context, received_at)
    }
}

/// Raw events expire this long after they happened: kept for the whole benchmark (seeding and
/// `store-path` alike).
pub(crate) const RETENTION: time::Duration = time::Duration::days(3650);

#[derive(Args)]
pub struct SeedArgs {
    /// MongoDB URL (loopback only), with the database the services use.
    #[arg(long, default_value = "mongodb://127.0.0.1:27017/beacon")]
    mongo: String,
    #[command(flatten)]
    day: SeededDay,
    /// How many events the finished day holds: timestamps are spread so that this many fill
    /// the day (a smaller run covers its beginning). Keep it the same across continued runs.
    #[arg(long, default_value_t = 10_000_000)]
    day_events: u64,
    /// The offset of the first event to store (where a previous run stopped).
    #[arg(long, default_value_t = 0)]
    start_offset: u64,
    /// How many events to store.
    #[arg(long)]
    events: u64,
    /// Events per `store_batch` call.
    #[arg(long, default_value_t = 5_000)]
    batch: usize,
    /// The Kafka partition the events come from: several days of one site, each seeded on
    /// its own partition, share no position and no `eid`.
    #[arg(long, default_value_t = 0)]
    partition: u16,
    /// Writes only the day's rollup documents, computed by the worker's batch code with the
    /// visitor states held in memory and written once at the end (no raw events, blocks or
    /// states: [`crate::rollups_only`]). For days too large for the whole path on the stand-in.
    #[arg(long)]
    rollups_only: bool,
    #[command(flatten)]
    mix: crate::mix::MixArgs,
}

/// A generated event moved to `partition`, its `eid` with it (partition 0 leaves it as is).
pub(crate) fn on_partition(
    (mut event, at): (Event, Position),
    partition: u16,
) -> (Event, Position) {
    if partition == 0 {
        return (event, at);
    }
    // The eid's last 8 bytes are the offset, whose top bytes are always 0.
    let mut eid = *event.eid.as_bytes();
    eid[8..10].copy_from_slice(&partition.to_be_bytes());
    event.eid = uuid::Uuid::from_bytes(eid);
    let at = Position {
        partition: i32::from(partition),
        ..at
    };
    (event, at)
}

/// The site-day `seed` fills and `reports`, `counts` and `tiers` read back: one definition, so
/// that their defaults cannot drift apart.
#[derive(Args)]
pub struct SeededDay {
    #[arg(long, default_value = "bench-reports")]
    pub site: String,
    /// The seeded UTC day (YYYY-MM-DD).
    #[arg(long, default_value = "2026-11-02")]
    pub date: String,
}

/// Stores events `start_offset..start_offset + events`; row: from, to, seconds, events/s.
pub async fn seed(args: SeedArgs) -> anyhow::Result<String> {
    crate::probes::loopback(&args.mongo)?;
    ensure!(args.batch >= 1, "--batch must be >= 1");
    let date = beacon_event::Day::parse_named(&args.day.date, "date")
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .start()
        .date();
    let end = args.start_offset + args.events;
    ensure!(
        !args.rollups_only || args.start_offset == 0,
        "--rollups-only seeds a whole day in one run (its visitor states live in memory)"
    );
    ensure!(
        end <= args.day_events,
        "offsets up to {end} do not fit a day of {} events (--day-events)",
        args.day_events
    );
    let store = prepared_store(&args.mongo).await?;
    let mut generator =
        args.mix
            .generator(&args.day.site, date, args.day_events, args.start_offset)?;
    let started = Instant::now();
    let mut reported = Instant::now();
    let mut done = 0u64;
    let (mut inserted, mut duplicates) = (0usize, 0usize);
    let mut held = beacon::worker::VisitorStates::default();
    held.set_rollup_budget(usize::MAX); // written at the end (--rollups-only)
    while done < args.events {
        let size = (args.events - done).min(args.batch as u64);
        let now = OffsetDateTime::now_utc();
        let batch = (0..size)
            .map(|_| Ok(on_partition(generator.next_event(now)?, args.partition)))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let outcome = store_one(&store, &batch, args.rollups_only, &mut held)
            .await
            .with_context(|| {
                format!(
                    "store_batch at offset {}; continue with --start-offset {}",
                    args.start_offset + done,
                    args.start_offset + done
                )
            })?;
        inserted += outcome.inserted;
        duplicates += outcome.duplicates;
        done += size;
        if reported.elapsed() >= Duration::from_secs(10) || done == args.events {
            let elapsed = started.elapsed().as_secs_f64();
            eprintln!(
                "seed: offset {} ({done}/{} this run), {:.0} events/s, {:.0} s",
                args.start_offset + done,
                args.events,
                done as f64 / elapsed,
                elapsed
            );
            reported = Instant::now();
        }
    }
    if args.rollups_only {
        let written = held.save(&RollupsOnly(&store)).await?;
        eprintln!("seed: rollups written, {written} visitor states kept out of MongoDB");
        inserted = 0;
    }
    let elapsed = started.elapsed().as_secs_f64();
    eprintln!("seed: {inserted} raw events inserted, {duplicates} duplicates (a repeated range)");
    Ok(format!(
        "| {} | {} | {} | {:.0} s | {:.0} |",
        args.start_offset,
        end,
        inserted,
        elapsed,
        args.events as f64 / elapsed
    ))
}

/// The store with its indexes and tiers, as the worker prepares it at start.
pub(crate) async fn prepared_store(url: &str) -> anyhow::Result<MongoStore> {
    let store = MongoStore::connect(url).await?;
    store
        .ensure_indexes()
        .await
        .context("creating indexes (is MongoDB up?)")?;
    // Reports read tiered rollups once this has run.
    store.backfill_tiers().await?;
    Ok(store)
}

/// Stores one batch the way `seed` was asked to: through the worker's whole storage path, or
/// (`rollups_only`) its batch code with every visitor state and rollup delta held in `held`, as
/// a worker working through a backlog holds them, until the end of the run.
pub(crate) async fn store_one(
    store: &MongoStore,
    batch: &[(Event, Position)],
    rollups_only: bool,
    held: &mut beacon::worker::VisitorStates,
) -> anyhow::Result<beacon::worker::BatchOutcome> {
    // The site's goals as the worker would count them (bench-reports registers some).
    let goals = beacon::worker::goals_for(store, batch).await?;
    let batch = beacon::worker::Batch {
        events: batch,
        goals: &goals,
    };
    let outcome = if rollups_only {
        beacon::worker::apply_batch(&RollupsOnly(store), batch, RETENTION, held).await?
    } else {
        beacon::worker::store_batch(store, batch, RETENTION).await?
    };
    Ok(outcome)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn continuing_from_an_offset_generates_the_same_events() {
        let now = OffsetDateTime::now_utc();
        let mut whole = Generator::new("s", date!(2026 - 11 - 02), 100_000, 0).unwrap();
        let all: Vec<_> = (0..3000).map(|_| whole.next_event(now).unwrap()).collect();
        let mut tail = Generator::new("s", date!(2026 - 11 - 02), 100_000, 2000).unwrap();
        let rest: Vec<_> = (0..1000).map(|_| tail.next_event(now).unwrap()).collect();
        assert_eq!(&all[2000..], &rest[..]);
    }

    /// FNV-1a over the JSON of `events` and their positions: a fingerprint of a mix's output.
    /// Custom properties are left out: the pinned fingerprints predate the signups' `plan`
    /// (checked on its own below), and everything else is what the published figures ran on.
    pub(crate) fn fingerprint(events: &[(Event, Position)]) -> u64 {
        let mut hash = 0xcbf2_9ce4_8422_2325_u64;
        for (event, at) in events {
            let event = Event {
                props: None,
                ..event.clone()
            };
            let json = serde_json::to_string(&event).unwrap();
            for byte in json.bytes().chain(at.offset.to_be_bytes()) {
                hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
            }
        }
        hash
    }

    /// The bench mix's figures in docs/benchmarks.md stay comparable only while its events do:
    /// the fingerprint was taken before the realistic mix was added beside it.
    #[test]
    fn the_bench_mix_is_unchanged() {
        let now = time::macros::datetime!(2026-11-03 00:00 UTC);
        let mut g = Generator::new("bench-reports", date!(2026 - 11 - 02), 10_000_000, 0).unwrap();
        let events: Vec<_> = (0..5000).map(|_| g.next_event(now).unwrap()).collect();
        assert_eq!(fingerprint(&events), 4_779_147_001_101_467_844);
    }

    #[test]
    fn signups_and_only_signups_say_their_plan() {
        let now = time::macros::datetime!(2026-11-03 00:00 UTC);
        let mut g = Generator::new("s", date!(2026 - 11 - 02), 100_000, 0).unwrap();
        let events: Vec<_> = (0..20_000).map(|_| g.next_event(now).unwrap().0).collect();
        let plan = |e: &Event| e.props.as_ref().map(|p| p.as_map()["plan"].clone());
        let (mut pro, mut free) = (0, 0);
        for e in &events {
            match (e.event_type.is_page_view(), plan(e)) {
                (true, None) => {}
                (false, Some(p)) if p == "pro" => pro += 1,
                (false, Some(p)) if p == "free" => free += 1,
                other => panic!("{other:?}"),
            }
        }
        assert!(pro > 100 && free > 2 * pro, "{pro} pro, {free} free");
    }

    /// The pinned day above has more slots than events, so no visit ends in it: these smaller
    /// days (fingerprints taken before the visit slots moved to [`crate::visits`]) end visits and
    /// bring visitors back, also when generated from an offset.
    #[test]
    fn the_bench_mix_visits_are_unchanged() {
        let fingerprint_of = |n: u64, start: u64, take: u64| {
            let mut g = Generator::new("s", date!(2026 - 11 - 02), n, start).unwrap();
            let now = time::macros::datetime!(2026-11-03 00:00 UTC);
            let events: Vec<_> = (0..take).map(|_| g.next_event(now).unwrap()).collect();
            fingerprint(&events)
        };
        assert_eq!(fingerprint_of(100_000, 0, 3000), 14_413_739_949_916_306_387);
        assert_eq!(
            fingerprint_of(100_000, 2000, 1000),
            1_541_734_473_345_211_557
        );
        assert_eq!(fingerprint_of(1000, 0, 1000), 13_214_223_385_472_983_789);
        assert_eq!(fingerprint_of(1000, 700, 300), 11_155_606_792_014_305_876);
        let mut g = Generator::new("s", date!(2026 - 11 - 02), 1000, 0).unwrap();
        let now = OffsetDateTime::now_utc();
        let first: Vec<_> = (0..3).map(|_| g.next_event(now).unwrap().0).collect();
        let paths: Vec<_> = first.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, ["/blog/post-6", "/contact", "/login"]);
        assert!(first
            .iter()
            .all(|e| e.visitor_id.as_str() == "25123a2e7c20d23b"));
        assert_eq!(
            first[2].timestamp,
            time::macros::datetime!(2026-11-02 0:02:52.8 UTC)
        );
    }

    #[test]
    fn the_day_has_its_shape() {
        let now = OffsetDateTime::now_utc();
        let n = 100_000;
        let mut g = Generator::new("s", date!(2026 - 11 - 02), n, 0).unwrap();
        let events: Vec<_> = (0..n).map(|_| g.next_event(now).unwrap().0).collect();
        assert!(events.windows(2).all(|w| w[0].timestamp < w[1].timestamp));
        assert_eq!(events[0].timestamp.date(), date!(2026 - 11 - 02));
        assert_eq!(
            events[n as usize - 1].timestamp.date(),
            date!(2026 - 11 - 02)
        );
        let custom = events
            .iter()
            .filter(|e| !e.event_type.is_page_view())
            .count() as u64;
        assert_eq!(n - custom, page_views(n));
        assert!((4_000..6_000).contains(&custom), "{custom}");
        let visitors: std::collections::HashSet<_> = events.iter().map(|e| &e.visitor_id).collect();
        let per_visitor = n as f64 / visitors.len() as f64;
        assert!((8.0..14.0).contains(&per_visitor), "{per_visitor}");
        let paths: std::collections::HashSet<_> = events.iter().map(|e| &e.path).collect();
        assert_eq!(paths.len(), 50);
        let sources: std::collections::HashSet<_> =
            events.iter().map(|e| &e.context.source).collect();
        assert_eq!(sources.len(), 6);
    }
}
