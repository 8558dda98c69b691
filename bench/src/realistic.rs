//! The realistic mix: one site-day shaped like a real site's (issue 18), beside the bench mix
//! of [`crate::seed::Generator`] (50 paths, 6 sources), whose figures stay comparable.
//!
//! Sizes are parameters ([`Sizes`]); the defaults are the day of 300,000 page views:
//! 20,000 distinct paths with Zipf-distributed popularity (exponent 1, rank 1 is `/`), a fifth
//! of them with a query string, 60,000 visitors per 300,000 events (scaled with the day), 300
//! referring domains (Zipf over them, 35% of visitors direct) and 40 user agents (Zipf over
//! them), and more traffic in the afternoon than at night ([`HOURS`]).
//!
//! Event `i` is a function of `i`, the sizes, the seed and the planned size of the day only, as
//! in the bench mix, so seeding can stop and go on from an offset. Random draws come from a
//! ChaCha8 generator seeded per event (or per visitor) with a hash of the seed and the offset
//! (or visitor): ChaCha's output is fixed across `rand` versions and platforms, which a
//! `SmallRng` does not promise. Visits are interleaved "slots" as in the bench mix
//! ([`crate::visits`]): a slot's consecutive events are one visitor's, about a minute apart,
//! until its visit ends; a visit ends after each event with the probability that makes the day's
//! distinct visitors come out at [`Sizes::visitors`]; one visit in 8 is by a visitor seen
//! earlier that day.

use anyhow::{ensure, Context as _};
use beacon::rollup::Position;
use beacon_enrich::referrer::named_source;
use beacon_enrich::ua::UaParser;
use beacon_event::event::Context;
use beacon_event::{Event, PagePath, SiteId};
use rand::SeedableRng as _;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution as _, Zipf};
use time::{Date, OffsetDateTime};

use crate::seed::{mix2, pick, site_salt, COUNTRIES, NAMED_PATHS};
use crate::site_day::SiteDay;
use crate::visits::{VisitEnd, VisitSlots, RETURNING_EVERY};

/// Relative traffic per UTC hour: a night trough a sixth of the afternoon's plateau.
pub const HOURS: [u64; 24] = [
    4, 3, 2, 2, 2, 3, 5, 8, 11, 12, 13, 13, 13, 13, 13, 13, 13, 12, 11, 10, 9, 8, 7, 5,
];
/// Share of visitors without a referrer (in percent).
const DIRECT_PERCENT: u64 = 35;
/// Popularity falls as 1/rank^this for paths, referrers and user agents.
const ZIPF_EXPONENT: f64 = 1.0;

/// Sections the generated paths live under.
const SECTIONS: [&str; 8] = [
    "blog", "docs", "products", "help", "news", "tags", "guides", "careers",
];
/// Known referring domains first (named sources, as ingestion names them), then generated ones.
const NAMED_REFERRERS: [&str; 12] = [
    "google.com",
    "news.ycombinator.com",
    "t.co",
    "duckduckgo.com",
    "bing.com",
    "reddit.com",
    "github.com",
    "linkedin.com",
    "facebook.com",
    "ecosia.org",
    "stackoverflow.com",
    "lobste.rs",
];
/// User-agent templates, `{v}` a major version; the k-th user agent is template `k % len` at
/// version `base - k / len`, parsed by ingestion's own parser.
const AGENTS: [(&str, u64); 10] = [
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.0.0 Safari/537.36", 131),
    ("Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.0.0 Mobile Safari/537.36", 131),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS {v}_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/{v}.0 Mobile/15E148 Safari/604.1", 18),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.0.0 Safari/537.36", 131),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:{v}.0) Gecko/20100101 Firefox/{v}.0", 133),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/{v}.0 Safari/605.1.15", 18),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.0.0 Safari/537.36 Edg/{v}.0.0.0", 131),
    ("Mozilla/5.0 (Linux; Android 14; SM-S921B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/{v}.0 Chrome/121.0.0.0 Mobile Safari/537.36", 26),
    ("Mozilla/5.0 (iPad; CPU OS {v}_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/{v}.0 Mobile/15E148 Safari/604.1", 18),
    ("Mozilla/5.0 (X11; Linux x86_64; rv:{v}.0) Gecko/20100101 Firefox/{v}.0", 133),
];

/// The sizes of a realistic site-day.
#[derive(Clone, Debug)]
pub struct Sizes {
    /// Distinct paths the site has (all appear once the day is large enough).
    pub paths: u64,
    /// Share of those paths that carry a query string.
    pub query_share: f64,
    /// Distinct visitors over the planned day.
    pub visitors: u64,
    /// Distinct referring domains.
    pub referrers: u64,
    /// Distinct user agents.
    pub user_agents: u64,
    /// Another seed, another day of the same shape.
    pub seed: u64,
}

impl Sizes {
    /// The defaults for a day of `day_events` events: 60,000 visitors per 300,000.
    pub fn for_day(day_events: u64) -> Self {
        Self {
            paths: 20_000,
            query_share: 0.2,
            visitors: (day_events / 5).max(1),
            referrers: 300,
            user_agents: 40,
            seed: 18,
        }
    }
}

/// One user agent, and what ingestion derives from it.
struct Agent {
    user_agent: String,
    browser: String,
    browser_version: String,
    os: String,
    device: String,
}

/// Generates the events of one realistic site-day in offset order.
pub struct Realistic {
    day: SiteDay,
    visits: VisitSlots,
    paths: Vec<PagePath>,
    path_rank: Zipf<f64>,
    referrers: Vec<(String, String)>,
    referrer_rank: Zipf<f64>,
    agents: Vec<Agent>,
    agent_rank: Zipf<f64>,
}

/// A Zipf law over ranks `1..=n`.
fn zipf(n: u64, what: &str) -> anyhow::Result<Zipf<f64>> {
    Zipf::new(n as f64, ZIPF_EXPONENT).with_context(|| format!("a Zipf law over {n} {what}"))
}

/// The `n` paths by popularity; a `query_share` of them (never `/`) carry a query string.
fn paths(n: u64, query_share: f64, salt: u64) -> anyhow::Result<Vec<PagePath>> {
    let threshold = (query_share * f64::from(u32::MAX)) as u64;
    (0..n)
        .map(|k| {
            let mut path = match NAMED_PATHS.get(k as usize) {
                Some(named) => (*named).to_owned(),
                None => {
                    let section =
                        SECTIONS[(mix2(salt ^ 0x5ec, k) % SECTIONS.len() as u64) as usize];
                    format!("/{section}/page-{k}")
                }
            };
            let hash = mix2(salt ^ 0x9e7, k);
            if k > 0 && hash & u64::from(u32::MAX) < threshold {
                path.push_str(&format!("?ref=nav&page={}", 2 + (hash >> 32) % 9));
            }
            PagePath::parse(&path).map_err(|e| anyhow::anyhow!("path {path}: {e}"))
        })
        .collect()
}

/// The `n` referring domains by popularity with the source ingestion names for each.
fn referrers(n: u64) -> Vec<(String, String)> {
    (0..n)
        .map(|k| {
            let domain = match NAMED_REFERRERS.get(k as usize) {
                Some(named) => (*named).to_owned(),
                None => format!("site-{k}.example.net"),
            };
            let source = named_source(&domain).unwrap_or(&domain).to_owned();
            (source, domain)
        })
        .collect()
}

/// The `n` user agents by popularity, parsed as ingestion parses them.
fn agents(n: u64) -> anyhow::Result<Vec<Agent>> {
    let parser = UaParser::new().map_err(|e| anyhow::anyhow!("user-agent parser: {e}"))?;
    Ok((0..n)
        .map(|k| {
            let (template, base) = AGENTS[(k % AGENTS.len() as u64) as usize];
            let version = base.saturating_sub(k / AGENTS.len() as u64);
            let user_agent = template.replace("{v}", &version.to_string());
            let info = parser.parse(&user_agent);
            Agent {
                user_agent,
                browser: info.browser,
                browser_version: info.browser_version,
                os: info.os,
                device: info.device.to_owned(),
            }
        })
        .collect())
}

/// Nanoseconds into the day of the event at `offset` of `day_events`: the share of the day's
/// events before it equals the share of [`HOURS`]' weight before its time, so timestamps rise
/// with the offset and each hour gets its weight's share.
fn nanos_into_day(offset: u64, day_events: u64) -> i64 {
    let total: u64 = HOURS.iter().sum();
    // Exact integer arithmetic: scaled by day_events, the event sits at offset * total.
    let at = u128::from(offset) * u128::from(total);
    let n = u128::from(day_events);
    let mut before = 0u128;
    for (hour, weight) in HOURS.iter().enumerate() {
        let end = before + u128::from(*weight) * n;
        if at < end {
            let hour_ns = 3_600_000_000_000u128;
            let into = (at - before) * hour_ns / (u128::from(*weight) * n);
            return (hour as u128 * hour_ns + into) as i64;
        }
        before = end;
    }
    86_400_000_000_000 - 1
}

impl Realistic {
    /// A generator positioned at `start` (events before it are replayed in memory only).
    pub fn new(
        site: &str,
        date: Date,
        day_events: u64,
        start: u64,
        sizes: &Sizes,
    ) -> anyhow::Result<Self> {
        ensure!(day_events > 0, "--day-events must be > 0");
        ensure!(
            sizes.paths >= 1 && sizes.visitors >= 1 && sizes.referrers >= 1,
            "--paths, --visitors and --referrers must be >= 1"
        );
        ensure!(sizes.user_agents >= 1, "--user-agents must be >= 1");
        ensure!(
            (0.0..=1.0).contains(&sizes.query_share),
            "--query-share must be between 0 and 1"
        );
        let site = SiteId::parse(site).map_err(|e| anyhow::anyhow!("site: {e}"))?;
        let salt = mix2(site_salt(&site), sizes.seed ^ 0x0ea1_1571c);
        // Visits of mean length L give day_events / L visits, 7 in 8 by new visitors: L is
        // chosen so that those come to `visitors`.
        let mean_length = (day_events as f64 * (RETURNING_EVERY - 1) as f64)
            / (RETURNING_EVERY as f64 * sizes.visitors as f64);
        let visit_end = (f64::from(u32::MAX) / mean_length.max(1.0)) as u64;
        Ok(Self {
            day: SiteDay::new(site, salt, date),
            paths: paths(sizes.paths, sizes.query_share, salt)?,
            path_rank: zipf(sizes.paths, "paths")?,
            referrers: referrers(sizes.referrers),
            referrer_rank: zipf(sizes.referrers, "referrers")?,
            agents: agents(sizes.user_agents)?,
            agent_rank: zipf(sizes.user_agents, "user agents")?,
            visits: VisitSlots::new(salt, day_events, start, VisitEnd::Below(visit_end)),
        })
    }

    /// What ingestion would have derived for visitor `who`: one referrer, agent and country;
    /// and the agent.
    fn context_of(&self, who: u64) -> (Context, &Agent) {
        let mut rng = ChaCha8Rng::seed_from_u64(mix2(who, 0xc0));
        let (source, referrer_domain) = if mix2(who, 1) % 100 < DIRECT_PERCENT {
            (String::new(), String::new())
        } else {
            let rank = self.referrer_rank.sample(&mut rng) as usize;
            self.referrers[rank - 1].clone()
        };
        let agent = &self.agents[self.agent_rank.sample(&mut rng) as usize - 1];
        let context = Context {
            browser: agent.browser.clone(),
            browser_version: agent.browser_version.clone(),
            os: agent.os.clone(),
            device: agent.device.clone(),
            country: pick(&COUNTRIES, mix2(who, 5)).to_owned(),
            source,
            referrer_domain,
            ..Context::default()
        };
        (context, agent)
    }

    /// The path of the event at `offset`: a draw from the Zipf law over the paths' ranks.
    fn path_at(&self, offset: u64) -> &PagePath {
        let mut rng = ChaCha8Rng::seed_from_u64(mix2(self.day.salt() ^ 0x9a7, offset));
        &self.paths[self.path_rank.sample(&mut rng) as usize - 1]
    }

    /// The next event and its position (partition 0, offset = its index in the day).
    pub fn next_event(&mut self, received_at: OffsetDateTime) -> anyhow::Result<(Event, Position)> {
        self.next_sent(received_at)
            .map(|(event, at, _)| (event, at))
    }

    /// [`Realistic::next_event`], with the User-Agent its visitor's browser sends (what
    /// ingestion derives the event's browser, OS and device from).
    pub fn next_sent(
        &mut self,
        received_at: OffsetDateTime,
    ) -> anyhow::Result<(Event, Position, &str)> {
        let (offset, who) = self.visits.next_visitor()?;
        let path = self.path_at(offset).clone();
        let nanos = nanos_into_day(offset, self.visits.day_events());
        let (context, agent) = self.context_of(who);
        let (event, at) = self
            .day
            .event(offset, who, path, nanos, context, received_at)?;
        Ok((event, at, &agent.user_agent))
    }
}

#[cfg(test)]
mod tests;
