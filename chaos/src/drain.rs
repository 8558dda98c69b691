//! Recovery as "the fault's backlog is stored": at a moment (a restart, a kill) the topic's high
//! watermarks are taken, and the group must commit up to them within a bound. How soon the lag
//! is then back to a few seconds of traffic is measured and reported, not judged: with the load
//! still coming, it depends on the machine's spare capacity, which a shared CI host does not
//! guarantee (docs/reliability.md, "the worker scenarios ... judge the backlog").

use std::time::Duration;

use anyhow::Result;

use crate::kafka::{uncommitted, Offsets};
use crate::load::Load;
use crate::scenarios::{caught_up, sleep_until};
use crate::system::{System, PARTITIONS};

/// How long past the stored backlog the lag is watched for coming back to the live head.
const LIVE_WATCH_S: f64 = 20.0;

/// How the group worked off what the topic held at one moment.
pub struct Drain {
    /// Committed lag at that moment.
    pub backlog: i64,
    /// Seconds from that moment until the group had committed it all.
    pub drained: Option<f64>,
    /// Seconds from that moment until the lag was back to a few seconds of traffic.
    pub live_at: Option<f64>,
    caught_up: i64,
    limit_s: f64,
}

/// Takes the high watermarks now, waits up to `limit_s` for the group to commit up to them,
/// then up to [`LIVE_WATCH_S`] more for the lag to come back under [`caught_up`].
pub async fn drain(system: &System<'_>, load: &Load, limit_s: f64) -> Result<Drain> {
    let since = load.elapsed();
    let marks = snapshot(system).await?;
    let backlog = uncommitted(&marks);
    let drained = wait_until(system, load, since, limit_s, |now| {
        now.iter().zip(&marks).all(|(o, m)| o.committed >= m.high)
    })
    .await;
    let caught_up = caught_up(system.suite);
    let live = match drained {
        Some(_) => {
            let from = load.elapsed();
            wait_until(system, load, from, LIVE_WATCH_S, |now| {
                uncommitted(now) <= caught_up
            })
            .await
        }
        None => None,
    };
    Ok(Drain {
        backlog,
        drained,
        live_at: live.map(|_| load.elapsed() - since),
        caught_up,
        limit_s,
    })
}

/// The group's offsets now, asked again for up to 10 s: the broker may be busy with the
/// rebalance the fault started, and a later snapshot only asks for more.
async fn snapshot(system: &System<'_>) -> Result<Vec<Offsets>> {
    let mut tries = 0;
    loop {
        match system
            .broker
            .offsets(&system.topic, &system.group, PARTITIONS)
            .await
        {
            Ok(offsets) => return Ok(offsets),
            Err(_) if tries < 10 => tries += 1,
            Err(e) => return Err(e),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

impl Drain {
    /// E.g. "4230 behind at the restart, committed 19.0 s after it; lag back under 900 25.0 s
    /// after it"; `samples` are the lag sampler's (the last one is the lag at the end).
    pub fn describe(&self, moment: &str, samples: &[(f64, i64)]) -> String {
        let (backlog, caught_up) = (self.backlog, self.caught_up);
        let last = samples.last().map_or(0, |(_, l)| *l);
        match (self.drained, self.live_at) {
            (Some(d), Some(l)) => format!(
                "{backlog} behind at {moment}, committed {d:.1} s after it; lag back under {caught_up} {l:.1} s after it"
            ),
            (Some(d), None) => format!(
                "{backlog} behind at {moment}, committed {d:.1} s after it; the lag stayed above {caught_up} while the load went on ({last} at the end)"
            ),
            (None, _) => format!(
                "{backlog} behind at {moment}, not committed within {:.0} s",
                self.limit_s
            ),
        }
    }

    /// The scenario's failure if the backlog was not committed in time: `who` did not commit
    /// it, with worker 1's recent group events.
    pub fn failure(&self, system: &System<'_>, who: &str, moment: &str) -> Option<String> {
        self.drained.is_none().then(|| {
            let seen = crate::digest::group_events(&system.dir.join("worker1.log"), 12);
            format!(
                "{who} did not commit the backlog at {moment} within {:.0} s (worker 1's group: {seen})",
                self.limit_s
            )
        })
    }
}

/// Polls the group's offsets every 500 ms from `since` (seconds into the load) until `done`
/// holds, for at most `limit_s`; the seconds it took, if it got there. An unanswered poll
/// counts as not done.
async fn wait_until(
    system: &System<'_>,
    load: &Load,
    since: f64,
    limit_s: f64,
    done: impl Fn(&[Offsets]) -> bool,
) -> Option<f64> {
    sleep_until(load, since).await;
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let waited = load.elapsed() - since;
        let offsets = system
            .broker
            .offsets(&system.topic, &system.group, PARTITIONS)
            .await
            .ok();
        if offsets.is_some_and(|o| done(&o)) {
            return Some(waited);
        }
        if waited > limit_s {
            return None;
        }
    }
}
