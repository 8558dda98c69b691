//! Every few seconds: the lag gauges, and a look for partitions nobody consumes.

use std::time::Duration;

use tokio::time::Instant;

use super::endpoints::StoreHealth;
use super::starvation::{Reason, Watch};
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
    /// help (events still wait after a rejoin), or would not (a static member lost to its
    /// group).
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
                let blind = self
                    .watch
                    .observe_blind(holds, consumer.is_static(), self.last);
                (blind, None)
            }
        };
        let Some(reason) = reason else {
            return Look::Fine;
        };
        metrics::counter!(WORKER_REJOINS).increment(1);
        if renews(&reason, self.watch.futile_rejoins(), consumer.is_static()) {
            tracing::warn!(
                reason = %reason.describe(),
                "joining again with this consumer does not help; starting over with a new consumer, without static membership"
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

/// Whether joining again should be done with a new consumer: once a rejoin did not help, and at
/// once for a static member that cannot see its group (the broker keeps answering the same
/// `group.instance.id` as before: on Tansu 0.6.0 a static rejoin never brought such a member
/// back, a new consumer always did; docs/reliability.md).
fn renews(reason: &Reason, futile_rejoins: u32, is_static: bool) -> bool {
    futile_rejoins > 1 || (is_static && *reason == Reason::Unseen)
}

/// What a look asks of the worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Look {
    Fine,
    /// Drop the consumer and consume with a new one (dynamic membership).
    Renew,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_consumer_after_a_futile_rejoin_or_at_once_for_a_static_member_lost_to_its_group() {
        // The first rejoin joins again with the same consumer...
        assert!(!renews(&Reason::Unseen, 1, false));
        assert!(!renews(&Reason::Orphaned(vec![2]), 1, true));
        assert!(!renews(&Reason::Starved, 1, true));
        // ...unless the member is static and cannot see its group.
        assert!(renews(&Reason::Unseen, 1, true));
        // A second rejoin in a row is done with a new consumer, whatever the reason.
        assert!(renews(&Reason::Orphaned(vec![2]), 2, false));
        assert!(renews(&Reason::Stalled(vec![0]), 2, true));
    }
}
