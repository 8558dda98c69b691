//! `--mix`: which site-day `seed`, `store-path` and `reports` work on. The bench mix (50 paths,
//! 6 sources) is the one today's figures in docs/benchmarks.md were measured on and stays the
//! default; the realistic mix ([`crate::realistic`]) is a real site's cardinalities (issue 18).

use anyhow::ensure;
use beacon::rollup::Position;
use beacon_event::Event;
use clap::{Args, ValueEnum};
use time::{Date, OffsetDateTime};

use crate::realistic::{Realistic, Sizes};
use crate::seed::Generator;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Mix {
    /// 50 paths, 6 sources, 3 devices, 5 browsers, 4 OSes (the figures so far).
    Bench,
    /// 20,000 paths (Zipf), query strings, 300 referrers, 40 user agents, hours (sizes below).
    Realistic,
}

/// The mix and, for the realistic one, its sizes.
#[derive(Args, Clone, Debug)]
pub struct MixArgs {
    #[arg(long, value_enum, default_value_t = Mix::Bench)]
    pub mix: Mix,
    /// Realistic mix: distinct paths.
    #[arg(long, default_value_t = 20_000)]
    pub paths: u64,
    /// Realistic mix: share of the paths with a query string.
    #[arg(long, default_value_t = 0.2)]
    pub query_share: f64,
    /// Realistic mix: distinct visitors over the planned day (default: a fifth of its events,
    /// 60,000 per 300,000).
    #[arg(long)]
    pub visitors: Option<u64>,
    /// Realistic mix: distinct referring domains.
    #[arg(long, default_value_t = 300)]
    pub referrers: u64,
    /// Realistic mix: distinct user agents.
    #[arg(long, default_value_t = 40)]
    pub user_agents: u64,
    /// Realistic mix: the seed (the same seed and sizes give the same events).
    #[arg(long, default_value_t = 18)]
    pub mix_seed: u64,
}

impl MixArgs {
    /// The realistic mix's sizes for a planned day of `day_events`.
    pub fn sizes(&self, day_events: u64) -> Sizes {
        Sizes {
            paths: self.paths,
            query_share: self.query_share,
            visitors: self
                .visitors
                .unwrap_or_else(|| Sizes::for_day(day_events).visitors),
            referrers: self.referrers,
            user_agents: self.user_agents,
            seed: self.mix_seed,
        }
    }

    /// The generator of this mix, positioned at `start`.
    pub fn generator(
        &self,
        site: &str,
        date: Date,
        day_events: u64,
        start: u64,
    ) -> anyhow::Result<Traffic> {
        Ok(match self.mix {
            Mix::Bench => Traffic::Bench(Generator::new(site, date, day_events, start)?),
            Mix::Realistic => {
                let sizes = self.sizes(day_events);
                let generator = Realistic::new(site, date, day_events, start, &sizes)?;
                Traffic::Realistic(Box::new(generator))
            }
        })
    }

    /// How many rows a breakdown's first page (10) shows for a mix with `values` distinct
    /// values, and whether the realistic sizes allow the report checks.
    pub fn first_page(&self, bench_values: usize, realistic_values: u64) -> anyhow::Result<usize> {
        let values = match self.mix {
            Mix::Bench => bench_values,
            Mix::Realistic => usize::try_from(realistic_values)?,
        };
        ensure!(values >= 1, "a mix without values");
        Ok(values.min(10))
    }
}

/// A site-day's events in offset order, from either mix.
pub enum Traffic {
    Bench(Generator),
    Realistic(Box<Realistic>),
}

impl Traffic {
    /// The next event and its position (partition 0, offset = its index in the day).
    pub fn next_event(&mut self, received_at: OffsetDateTime) -> anyhow::Result<(Event, Position)> {
        match self {
            Self::Bench(generator) => generator.next_event(received_at),
            Self::Realistic(generator) => generator.next_event(received_at),
        }
    }
}
