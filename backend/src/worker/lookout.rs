//! Every few seconds: the lag gauges, and a look for partitions nobody consumes.

use std::time::Duration;

use tokio::time::Instant;

use super::endpoints::StoreHealth;
use super::starvation::Watch;
use crate::metrics::WORKER_REJOINS;
use crate::pipeline::consumer::EventConsumer;

/// How often the consumer-lag gauges are refreshed and the group is watched.
pub const LAG_EVERY: Duration = Duration::from_secs(5);

/// Refreshes the lag gauges and watches for partitions nobody consumes; a starved or stalled
/// worker leaves its group and joins again.
pub struct Lookout {
    watch: Watch,
    last: Instant,
    /// Whether records were taken since the last look.
    worked: bool,
}

impl Lookout {
    pub fn new(watch: Watch) -> Self {
        Self {
            watch,
            last: Instant::now(),
            worked: false,
        }
    }

    /// Notes that the worker took records.
    pub fn worked(&mut self) {
        self.worked = true;
    }

    /// Blocking broker round trips, when a look is due. `Renew` when joining again did not
    /// help: events still wait after a rejoin.
    pub fn look(&mut self, consumer: &EventConsumer, health: &StoreHealth) -> Look {
        if self.last.elapsed() < LAG_EVERY {
            return Look::Fine;
        }
        let worked = std::mem::take(&mut self.worked);
        self.last = Instant::now();
        let (reason, unconsumed) = match consumer.group_view() {
            Some(view) => {
                let unconsumed: i64 = view.iter().map(|p| p.unconsumed()).sum();
                let store_ok = !health.failing();
                let reason = self.watch.observe(&view, worked, store_ok, self.last);
                (reason, Some(unconsumed))
            }
            None => {
                tracing::debug!("could not read the group's progress");
                let holds = consumer.holds_partitions();
                (self.watch.observe_blind(holds, self.last), None)
            }
        };
        let Some(reason) = reason else {
            return Look::Fine;
        };
        metrics::counter!(WORKER_REJOINS).increment(1);
        if self.watch.futile_rejoins() > 1 {
            tracing::warn!(
                reason = %reason.describe(),
                "joining again did not help; starting over with a new consumer, without static membership"
            );
            return Look::Renew;
        }
        tracing::warn!(
            unconsumed,
            reason = %reason.describe(),
            "events may wait with nobody consuming them; leaving the group and joining again"
        );
        if let Err(e) = consumer.rejoin() {
            tracing::warn!(error = %e, "could not join the group again");
        }
        Look::Fine
    }
}

/// What a look asks of the worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Look {
    Fine,
    /// Drop the consumer and consume with a new one (dynamic membership).
    Renew,
}
