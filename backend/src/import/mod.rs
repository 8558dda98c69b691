//! `beacon-admin import plausible`: another tool's history brought in as Beacon's daily
//! rollups, so a site that moves keeps its past.
//!
//! An export holds per-day aggregates, not events, so it becomes daily rollup documents
//! marked as imported (see `crate::store`'s `imported`), which every unfiltered report reads
//! like the worker's. What an export cannot give, Beacon cannot show for those days: hourly
//! charts, filtered reports, goals, funnels and custom properties (they read raw events).

pub mod cli;
pub mod export;
pub mod load;
pub mod plausible;
pub mod read;
