//! Rate limits on ingestion: events per second per client IP and per site.
//!
//! Token buckets (GCRA, the `governor` crate) keyed by client IP and by site id, charged one
//! token per event, so a batch of 50 costs what 50 single requests cost. A client over its
//! limit gets `429` with `Retry-After`; the tracker keeps the batch and retries then, so a burst
//! is delayed, not lost. Both limits are off when set to 0. Keys not seen for a while are
//! forgotten (`retain_recent`), so memory stays bounded however many clients pass by.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// Which limit a request ran into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    ClientIp,
    Site,
}

/// Over a limit: the scope and how long to wait.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("rate limit exceeded ({scope:?}); retry in {retry_after:?}")]
pub struct Exceeded {
    pub scope: Scope,
    pub retry_after: Duration,
    /// The site at fault, for [`Scope::Site`].
    pub site: Option<String>,
}

pub struct Limits {
    per_ip: Option<DefaultKeyedRateLimiter<IpAddr>>,
    per_site: Option<DefaultKeyedRateLimiter<String>>,
}

/// A bucket refilled at `per_second` that holds `burst_seconds` worth of events.
fn limiter<K: std::hash::Hash + Eq + Clone>(
    per_second: u32,
    burst_seconds: u32,
) -> Option<DefaultKeyedRateLimiter<K>> {
    let rate = NonZeroU32::new(per_second)?;
    let burst = NonZeroU32::new(per_second.saturating_mul(burst_seconds.max(1)))?;
    Some(RateLimiter::keyed(
        Quota::per_second(rate).allow_burst(burst),
    ))
}

impl Limits {
    /// `per_ip` and `per_site` are sustained events per second (0: no limit); a client may
    /// burst to `burst_seconds` times that.
    pub fn new(per_ip: u32, per_site: u32, burst_seconds: u32) -> Self {
        Self {
            per_ip: limiter(per_ip, burst_seconds),
            per_site: limiter(per_site, burst_seconds),
        }
    }

    /// Charges `events` events to `ip`. Called before anything else is spent on a request
    /// (site lookups, validation, enrichment), so a flood costs its sender only parsing.
    pub fn check_ip(&self, ip: IpAddr, events: u32) -> Result<(), Exceeded> {
        match &self.per_ip {
            Some(limiter) => charge(limiter, &ip, events).map_err(|retry_after| Exceeded {
                scope: Scope::ClientIp,
                retry_after,
                site: None,
            }),
            None => Ok(()),
        }
    }

    /// Charges each site its share of a request's valid events.
    pub fn check_sites(&self, sites: &[(&str, u32)]) -> Result<(), Exceeded> {
        if let Some(limiter) = &self.per_site {
            for (site, n) in sites {
                charge(limiter, &(*site).to_owned(), *n).map_err(|retry_after| Exceeded {
                    scope: Scope::Site,
                    retry_after,
                    site: Some((*site).to_owned()),
                })?;
            }
        }
        Ok(())
    }

    /// Forgets keys whose buckets are full again (called now and then).
    pub fn forget_idle(&self) {
        if let Some(l) = &self.per_ip {
            l.retain_recent();
        }
        if let Some(l) = &self.per_site {
            l.retain_recent();
        }
    }
}

/// Takes `n` tokens or says how long until they would be there. A request larger than the
/// whole bucket can never pass: it is told to wait a full burst, and the tracker's batches
/// (at most 10 events) never come near that.
fn charge<K: std::hash::Hash + Eq + Clone>(
    limiter: &DefaultKeyedRateLimiter<K>,
    key: &K,
    n: u32,
) -> Result<(), Duration> {
    let Some(n) = NonZeroU32::new(n) else {
        return Ok(());
    };
    match limiter.check_key_n(key, n) {
        Ok(Ok(())) => Ok(()),
        Ok(Err(not_until)) => Err(not_until.wait_time_from(DefaultClock::default().now())),
        Err(_insufficient) => Err(Duration::from_secs(60)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_per_ip_and_per_site() {
        let limits = Limits::new(10, 15, 1);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        assert!(limits.check_ip(a, 10).is_ok());
        let over = limits.check_ip(a, 1).unwrap_err();
        assert_eq!(over.scope, Scope::ClientIp);
        assert!(over.retry_after > Duration::ZERO && over.retry_after <= Duration::from_secs(1));
        // Another IP has its own bucket.
        assert!(limits.check_ip(b, 5).is_ok());
        // A site's bucket is shared by every client: 10 + 5 of 15 spent.
        assert!(limits.check_sites(&[("s", 10)]).is_ok());
        assert!(limits.check_sites(&[("s", 5), ("t", 3)]).is_ok());
        let site = limits.check_sites(&[("t", 1), ("s", 1)]).unwrap_err();
        assert_eq!((site.scope, site.site.as_deref()), (Scope::Site, Some("s")));
        // A request larger than the whole bucket is refused outright.
        assert!(limits.check_ip("192.0.2.3".parse().unwrap(), 11).is_err());
        assert!(limits.check_sites(&[("u", 16)]).is_err());
        // Off means off.
        let off = Limits::new(0, 0, 1);
        assert!(off.check_ip(a, 1_000_000).is_ok());
        assert!(off.check_sites(&[("s", 1_000_000)]).is_ok());
    }
}
