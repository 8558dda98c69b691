//! Anonymous visitor ids, the cookieless way.
//!
//! A visitor without a `user_id` is identified by a keyed hash of (daily salt, site, client IP,
//! User-Agent). The salt changes every UTC day, so the same person gets a new id tomorrow and
//! cannot be followed across days or sites; the IP and User-Agent themselves are never published
//! or stored, only this hash.
//!
//! The daily salt is derived from a secret key. With `VISITOR_SECRET` set, every ingestion
//! instance derives the same salt (needed when several run behind a load balancer). Without it, a
//! random key is drawn at start, which is right for a single instance and resets ids on restart.

use std::net::IpAddr;

use beacon_event::{Day, SiteId, VisitorId};
use time::OffsetDateTime;

pub struct VisitorIds {
    key: [u8; 32],
}

impl VisitorIds {
    /// Keys ids from a configured secret, or from fresh randomness when there is none.
    pub fn new(secret: Option<&str>) -> Self {
        let key = match secret {
            Some(secret) => blake3::derive_key("beacon visitor-id salt key v1", secret.as_bytes()),
            None => rand::random(),
        };
        Self { key }
    }

    fn daily_salt(&self, day: Day) -> [u8; 32] {
        *blake3::keyed_hash(&self.key, day.to_string().as_bytes()).as_bytes()
    }

    /// The anonymous id for this site, client and UTC day: 32 hex characters.
    pub fn derive(
        &self,
        at: OffsetDateTime,
        site: &SiteId,
        ip: IpAddr,
        user_agent: &str,
    ) -> VisitorId {
        let mut hasher = blake3::Hasher::new_keyed(&self.daily_salt(Day::of(at)));
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
        let ids = VisitorIds::new(Some("secret"));
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
        let a = VisitorIds::new(Some("k")).derive(t, &site("s"), ip, "UA");
        assert_eq!(
            a,
            VisitorIds::new(Some("k")).derive(t, &site("s"), ip, "UA")
        );
        assert_ne!(
            a,
            VisitorIds::new(Some("other")).derive(t, &site("s"), ip, "UA")
        );
        assert_ne!(a, VisitorIds::new(None).derive(t, &site("s"), ip, "UA"));
        assert!(!a.as_str().contains("198"));
    }
}
