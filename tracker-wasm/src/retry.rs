//! Whether a failed request is worth retrying, and how long to wait first.
//!
//! When ingestion is down, thousands of open pages must not hammer it the moment it comes back:
//! each page waits exponentially longer between attempts (2 s, 4 s, 8 s ... capped at 5 min),
//! with random jitter so pages do not retry in lockstep, and never sooner than a `Retry-After`.

/// First wait after a failure.
pub const BASE_MS: f64 = 2_000.0;
/// Longest wait between two attempts.
pub const MAX_MS: f64 = 300_000.0;

/// How a request ended.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Outcome {
    /// 2xx: ingestion took the batch (invalid events in it are refused for good anyway).
    Delivered,
    /// A 4xx that will not change on retry (400, 413, 415, ...): the batch is dropped.
    Refused,
    /// Network error, 408, 429 or 5xx (503 while Kafka is unreachable): retry later.
    /// `after_ms` is the server's `Retry-After`, when readable.
    Retry { after_ms: Option<f64> },
}

impl Outcome {
    /// Classifies an HTTP answer; `retry_after` is the `Retry-After` header, if any.
    pub fn of_status(status: u16, retry_after: Option<&str>) -> Self {
        match status {
            200..=299 => Self::Delivered,
            408 | 429 => Self::retry(retry_after),
            400..=499 => Self::Refused,
            _ => Self::retry(retry_after),
        }
    }

    fn retry(retry_after: Option<&str>) -> Self {
        Self::Retry {
            after_ms: retry_after.and_then(retry_after_ms),
        }
    }
}

/// `Retry-After` in seconds (the HTTP-date form is ignored: the backoff covers it).
pub fn retry_after_ms(header: &str) -> Option<f64> {
    header
        .trim()
        .parse::<u32>()
        .ok()
        .map(|s| f64::from(s) * 1000.0)
}

/// The retry schedule of one page.
#[derive(Debug, Default)]
pub struct Backoff {
    failures: u32,
}

impl Backoff {
    /// Records a failure and returns how long to wait, in ms. `jitter` is uniform in [0, 1)
    /// (`Math.random()`): the wait is between half and all of the exponential step.
    pub fn next_delay(&mut self, jitter: f64, retry_after_ms: Option<f64>) -> u32 {
        // 2^failures as a shift: `powi` is std-only (the wasm build is no_std); exact either way.
        let step = (BASE_MS * f64::from(1u32 << self.failures.min(16))).min(MAX_MS);
        self.failures = self.failures.saturating_add(1);
        let jitter = if jitter.is_finite() {
            jitter.clamp(0.0, 1.0)
        } else {
            1.0
        };
        let jittered = step * (0.5 + jitter / 2.0);
        let wait = jittered.max(retry_after_ms.unwrap_or(0.0).min(MAX_MS));
        wait as u32
    }

    /// A request succeeded: the next failure starts the schedule again.
    pub fn reset(&mut self) {
        self.failures = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses() {
        assert_eq!(Outcome::of_status(202, None), Outcome::Delivered);
        assert_eq!(Outcome::of_status(400, None), Outcome::Refused);
        assert_eq!(Outcome::of_status(413, None), Outcome::Refused);
        assert_eq!(
            Outcome::of_status(503, Some("5")),
            Outcome::Retry {
                after_ms: Some(5000.0)
            }
        );
        assert_eq!(
            Outcome::of_status(429, Some("Wed, 21 Oct 2026 07:28:00 GMT")),
            Outcome::Retry { after_ms: None }
        );
        assert_eq!(
            Outcome::of_status(0, None),
            Outcome::Retry { after_ms: None }
        );
    }

    #[test]
    fn exponential_capped_and_reset() {
        let mut b = Backoff::default();
        let full: Vec<u32> = (0..10).map(|_| b.next_delay(1.0, None)).collect();
        assert_eq!(
            full,
            [2_000, 4_000, 8_000, 16_000, 32_000, 64_000, 128_000, 256_000, 300_000, 300_000]
        );
        for _ in 0..100 {
            assert_eq!(b.next_delay(1.0, None), 300_000, "no overflow");
        }
        b.reset();
        assert_eq!(b.next_delay(0.0, None), 1_000, "jitter halves at most");
    }

    #[test]
    fn retry_after_is_a_floor_but_capped() {
        let mut b = Backoff::default();
        assert_eq!(b.next_delay(0.0, Some(30_000.0)), 30_000);
        assert_eq!(b.next_delay(0.0, Some(3_600_000.0)), 300_000);
        assert!(b.next_delay(f64::NAN, None) >= 4_000 / 2);
    }
}
