//! Recovery as "the fault's backlog is stored": at a moment (a restart, a kill) the topic's high
//! watermarks are taken, and the group must commit up to them within a bound. How soon the lag
//! is then back to a few seconds of traffic is measured and reported, not judged: with the load
//! still coming, it depends on the machine's spare capacity, which a shared CI host does not
//! guarantee (docs/reliability.md, "the worker scenarios ... judge the backlog").

use std::time::Duration;

use anyhow::Result;

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
}

/// Takes the high watermarks now, waits up to `limit_s` for the group to commit up to them,
/// then up to [`LIVE_WATCH_S`] more for the lag to come back under [`caught_up`].
pub async fn drain(system: &System<'_>, load: &Load, limit_s: f64) -> Result<Drain> {
    let since = load.elapsed();
    let marks = snapshot(system).await?;
    let backlog = marks.iter().map(|o| (o.high - o.committed).max(0)).sum();
    let highs: Vec<i64> = marks.iter().map(|o| o.high).collect();
    let drained = wait_drained(system, load, since, &highs, limit_s).await;
    let live = match drained {
        Some(_) => wait_caught_up(system, load, load.elapsed(), LIVE_WATCH_S).await,
        None => None,
    };
    Ok(Drain {
        backlog,
        drained,
        live_at: live.map(|_| load.elapsed() - since),
        caught_up: caught_up(system.suite),
    })
}

/// The group's offsets now, asked again for up to 10 s: the broker may be busy with the
/// rebalance the fault started, and a later snapshot only asks for more.
async fn snapshot(system: &System<'_>) -> Result<Vec<crate::kafka::Offsets>> {
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
    /// after it"; `last` is the committed lag at the last sample.
    pub fn describe(&self, moment: &str, last: i64) -> String {
        let (backlog, caught_up) = (self.backlog, self.caught_up);
        match (self.drained, self.live_at) {
            (Some(d), Some(l)) => format!(
                "{backlog} behind at {moment}, committed {d:.1} s after it; lag back under {caught_up} {l:.1} s after it"
            ),
            (Some(d), None) => format!(
                "{backlog} behind at {moment}, committed {d:.1} s after it; the lag stayed above {caught_up} while the load went on ({last} at the end)"
            ),
            (None, _) => format!("{backlog} behind at {moment}, not committed within the bound"),
        }
    }
}

/// Waits until the group has committed every partition up to `marks`, checking from `since`
/// (seconds into the load) for at most `limit_s`; the seconds it took, if it got there.
async fn wait_drained(
    system: &System<'_>,
    load: &Load,
    since: f64,
    marks: &[i64],
    limit_s: f64,
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
        let drained = offsets.is_some_and(|o| o.iter().zip(marks).all(|(o, m)| o.committed >= *m));
        if drained {
            return Some(waited);
        }
        if waited > limit_s {
            return None;
        }
    }
}

/// Waits until the group's committed lag is down to [`caught_up`], checking from `since`
/// (seconds into the load) for at most `limit_s`; the seconds it took, if it got there.
async fn wait_caught_up(system: &System<'_>, load: &Load, since: f64, limit_s: f64) -> Option<f64> {
    sleep_until(load, since).await;
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let waited = load.elapsed() - since;
        let lag = system
            .broker
            .lag(&system.topic, &system.group, PARTITIONS)
            .await
            .ok();
        if lag.is_some_and(|l| l <= caught_up(system.suite)) {
            return Some(waited);
        }
        if waited > limit_s {
            return None;
        }
    }
}
