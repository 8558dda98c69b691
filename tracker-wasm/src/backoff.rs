//! How long to wait before posting again after a failed delivery.

/// The first wait.
const FIRST_MS: f64 = 2_000.0;
/// The longest wait, and the most a `Retry-After` is honoured for.
const MAX_MS: f64 = 300_000.0;

/// The wait after the `fails`-th failure in a row (0 for the first): 2 s, 4 s, 8 s … up to
/// 5 min, scaled by 50–100 % (`random` in 0..1) so that the open pages of one site do not retry
/// in lockstep after an outage, and never less than the server's `Retry-After` in seconds.
pub fn delay_ms(fails: u32, random: f64, retry_after: Option<&str>) -> f64 {
    let doubled = FIRST_MS * f64::from(1u32 << fails.min(16));
    let jittered = doubled.min(MAX_MS) * (0.5 + random.clamp(0.0, 1.0) / 2.0);
    let asked = retry_after
        .and_then(|h| crate::text::decimal(h.trim_ascii()))
        .map_or(0.0, |s| (s as f64 * 1000.0).min(MAX_MS));
    jittered.max(asked)
}

/// What an answer to a posted batch means for the events in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// 2xx: durably accepted.
    Delivered,
    /// A 4xx other than 408 and 429: ingestion refused the request, and sending it again
    /// cannot help, so the events are dropped.
    Refused,
    /// A network error, 408, 429 or a 5xx (Kafka down): kept and retried.
    Failed,
}

impl Outcome {
    /// `None` is a request that failed before any answer (network error, blocked).
    pub fn of(status: Option<u16>) -> Self {
        match status {
            Some(200..=299) => Self::Delivered,
            Some(408 | 429) => Self::Failed,
            Some(400..=499) => Self::Refused,
            _ => Self::Failed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_up_to_five_minutes_with_jitter() {
        assert_eq!(delay_ms(0, 1.0, None), 2_000.0);
        assert_eq!(delay_ms(0, 0.0, None), 1_000.0);
        assert_eq!(delay_ms(3, 1.0, None), 16_000.0);
        assert_eq!(delay_ms(40, 1.0, None), 300_000.0);
        assert_eq!(delay_ms(40, 0.0, None), 150_000.0);
    }

    #[test]
    fn retry_after_in_seconds_is_a_floor_up_to_the_maximum() {
        assert_eq!(delay_ms(0, 0.0, Some(" 30 ")), 30_000.0);
        assert_eq!(delay_ms(0, 0.0, Some("99999")), 300_000.0);
        assert_eq!(delay_ms(0, 0.0, Some("99999999999")), 300_000.0);
        assert_eq!(delay_ms(5, 1.0, Some("1")), 64_000.0);
        // An HTTP date or garbage is ignored.
        assert_eq!(
            delay_ms(0, 1.0, Some("Wed, 21 Oct 2015 07:28:00 GMT")),
            2_000.0
        );
    }

    #[test]
    fn outcomes_by_status() {
        assert_eq!(Outcome::of(Some(202)), Outcome::Delivered);
        assert_eq!(Outcome::of(Some(400)), Outcome::Refused);
        assert_eq!(Outcome::of(Some(413)), Outcome::Refused);
        for kept in [Some(408), Some(429), Some(500), Some(503), Some(302), None] {
            assert_eq!(Outcome::of(kept), Outcome::Failed, "{kept:?}");
        }
    }
}
