//! Anonymous visitor ids, the cookieless way.
//!
//! A visitor without a `user_id` is identified by a keyed hash of (daily salt, site, client IP,
//! User-Agent). The salt changes every UTC day, so the same person gets a new id tomorrow and
//! cannot be followed across days or sites; the IP and User-Agent themselves are never published
//! or stored, only this hash.
//!
//! The daily salt is random, drawn by the first ingestion instance that needs it and shared
//! through MongoDB (`salts`, one document per day), so every instance behind a load balancer
//! derives the same ids. A TTL index deletes each salt an hour after its day ends: from then on
//! nobody, the operator included, can recompute that day's ids from an IP and a User-Agent.
//!
//! If MongoDB cannot be reached when a day's salt is first needed, ingestion does not wait: it
//! falls back to a salt derived from `VISITOR_SECRET` (the same on every instance) or, without
//! one, from a per-process random key, and asks MongoDB again 30 s later.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use beacon_event::{Day, SiteId, VisitorId};
use time::OffsetDateTime;
use tokio::sync::Mutex;

use crate::store::MongoStore;

/// How long a fallback salt is used before the shared one is asked for again.
const FALLBACK_FOR: Duration = Duration::from_secs(30);
/// Longest wait for the shared salt before falling back.
const SHARED_TIMEOUT: Duration = Duration::from_secs(2);

pub type Salt = [u8; 32];

pub struct VisitorIds {
    fallback_key: [u8; 32],
    shared: Option<MongoStore>,
    /// The current day's salt; `Some(deadline)` when it is a fallback to replace after then.
    current: Mutex<Option<(Day, Salt, Option<Instant>)>>,
}

impl VisitorIds {
    /// Ids salted by the shared random daily salt in `shared` (MongoDB), falling back to a key
    /// from `secret` (or fresh randomness) when there is no store or it does not answer.
    pub fn new(secret: Option<&str>, shared: Option<MongoStore>) -> Self {
        let fallback_key = match secret {
            Some(secret) => blake3::derive_key("beacon visitor-id salt key v1", secret.as_bytes()),
            None => rand::random(),
        };
        Self {
            fallback_key,
            shared,
            current: Mutex::new(None),
        }
    }

    fn fallback_salt(&self, day: Day) -> Salt {
        *blake3::keyed_hash(&self.fallback_key, day.to_string().as_bytes()).as_bytes()
    }

    /// The salt for `day`: cached, else the shared one (created if this is the first
    /// instance to need it), else the fallback.
    pub async fn salt(&self, day: Day) -> Salt {
        let mut current = self.current.lock().await;
        if let Some((cached, salt, retry)) = *current {
            if cached == day && retry.is_none_or(|at| Instant::now() < at) {
                return salt;
            }
        }
        let Some(store) = &self.shared else {
            let salt = self.fallback_salt(day);
            *current = Some((day, salt, None));
            return salt;
        };
        let shared = tokio::time::timeout(SHARED_TIMEOUT, store.daily_salt(day, rand::random()));
        let (salt, retry) = match shared.await {
            Ok(Ok(salt)) => (salt, None),
            Ok(Err(e)) => {
                tracing::warn!(error = %e, %day, "no shared visitor salt; using the fallback for now");
                (self.fallback_salt(day), Some(Instant::now() + FALLBACK_FOR))
            }
            Err(_) => {
                tracing::warn!(%day, "MongoDB did not give the visitor salt in time; using the fallback for now");
                (self.fallback_salt(day), Some(Instant::now() + FALLBACK_FOR))
            }
        };
        *current = Some((day, salt, retry));
        salt
    }

    /// The anonymous id for this site and client under `salt`: 32 hex characters.
    pub fn derive_with(salt: &Salt, site: &SiteId, ip: IpAddr, user_agent: &str) -> VisitorId {
        let mut hasher = blake3::Hasher::new_keyed(salt);
        // Length-prefix each part so ("ab","c") and ("a","bc") cannot collide.
        for part in [
            site.as_str().as_bytes(),
            ip.to_string().as_bytes(),
            user_agent.as_bytes(),
        ] {
            hasher.update(&(part.len() as u64).to_le_bytes());
            hasher.update(part);
        }
        let hash = hasher.finalize();
        let hex = hash.to_hex();
        VisitorId::parse(&hex[..32]).expect("32 hex characters are a valid visitor id")
    }

    /// The id under the fallback salt of `at`'s day (no store involved).
    pub fn derive(
        &self,
        at: OffsetDateTime,
        site: &SiteId,
        ip: IpAddr,
        user_agent: &str,
    ) -> VisitorId {
        Self::derive_with(&self.fallback_salt(Day::of(at)), site, ip, user_agent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn site(s: &str) -> SiteId {
        SiteId::parse(s).unwrap()
    }

    #[test]
    fn stable_within_a_day_and_different_across_days_sites_clients() {
        let ids = VisitorIds::new(Some("secret"), None);
        let ip: IpAddr = "203.0.113.7".parse().unwrap();
        let morning = datetime!(2026-11-24 08:00 UTC);
        let evening = datetime!(2026-11-24 23:59 UTC);
        let next_day = datetime!(2026-11-25 00:01 UTC);
        let a = ids.derive(morning, &site("s1"), ip, "UA");
        assert_eq!(a, ids.derive(evening, &site("s1"), ip, "UA"));
        assert_eq!(a.as_str().len(), 32);
        assert_ne!(a, ids.derive(next_day, &site("s1"), ip, "UA"));
        assert_ne!(a, ids.derive(morning, &site("s2"), ip, "UA"));
        assert_ne!(
            a,
            ids.derive(morning, &site("s1"), "203.0.113.8".parse().unwrap(), "UA")
        );
        assert_ne!(a, ids.derive(morning, &site("s1"), ip, "UA2"));
    }

    #[test]
    fn same_secret_same_ids_and_no_raw_ip_inside() {
        let ip: IpAddr = "198.51.100.23".parse().unwrap();
        let t = datetime!(2026-11-24 12:00 UTC);
        let a = VisitorIds::new(Some("k"), None).derive(t, &site("s"), ip, "UA");
        assert_eq!(
            a,
            VisitorIds::new(Some("k"), None).derive(t, &site("s"), ip, "UA")
        );
        assert_ne!(
            a,
            VisitorIds::new(Some("other"), None).derive(t, &site("s"), ip, "UA")
        );
        assert_ne!(
            a,
            VisitorIds::new(None, None).derive(t, &site("s"), ip, "UA")
        );
        assert!(!a.as_str().contains("198"));
    }
}
