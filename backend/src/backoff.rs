//! Waiting between attempts at something that failed: a doubling delay with a ceiling.
//!
//! The worker retries its store writes, dead letters and checkpoints with it (until shutdown),
//! and the services retry topic setup with it (a bounded number of times).

use std::future::Future;
use std::time::Duration;

use crate::shutdown::Shutdown;

/// A delay that starts at `first` and doubles up to `max` after each wait.
#[derive(Debug, Clone)]
pub struct Backoff {
    delay: Duration,
    max: Duration,
}

impl Default for Backoff {
    /// 100 ms, doubling up to 10 s: long enough for MongoDB or the broker to come back, short
    /// enough that a brief outage costs seconds.
    fn default() -> Self {
        Self::new(Duration::from_millis(100), Duration::from_secs(10))
    }
}

impl Backoff {
    pub fn new(first: Duration, max: Duration) -> Self {
        Self { delay: first, max }
    }

    /// The delay to wait now; the next one is twice as long (up to the ceiling).
    pub fn next_delay(&mut self) -> Duration {
        let now = self.delay;
        self.delay = (self.delay * 2).min(self.max);
        now
    }

    /// Logs the failure and waits; `false` if shutdown was requested instead.
    pub async fn wait(&mut self, what: &str, error: &str, shutdown: &mut Shutdown) -> bool {
        let delay = self.next_delay();
        tracing::warn!(error = %error, retry_in_ms = delay.as_millis() as u64, "could not {what}");
        tokio::select! {
            _ = shutdown.wait() => false,
            _ = tokio::time::sleep(delay) => true,
        }
    }
}

/// Calls `attempt` until it succeeds, backing off between tries. Gives up (returning `None`)
/// only when shutdown is requested.
pub async fn retry<T, E, F, Fut>(what: &str, shutdown: &mut Shutdown, mut attempt: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
    E: std::fmt::Display,
{
    let mut backoff = Backoff::default();
    loop {
        match attempt().await {
            Ok(value) => return Some(value),
            Err(e) => {
                if !backoff.wait(what, &e.to_string(), shutdown).await {
                    return None;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_delay_doubles_up_to_its_ceiling() {
        let ms = Duration::from_millis;
        let mut backoff = Backoff::new(ms(250), ms(1000));
        let delays: Vec<_> = (0..4).map(|_| backoff.next_delay()).collect();
        assert_eq!(delays, [ms(250), ms(500), ms(1000), ms(1000)]);
    }
}
