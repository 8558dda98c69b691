//! Referrer spam: hosts that send fake visits to get their name into analytics reports.
//!
//! The list is Matomo's community-maintained referrer spam list (vendored in
//! `data/referrer-spam`, public domain, see its README). A referrer whose host is a listed host
//! or a subdomain of one is spam; a listed subdomain (`spammer.tumblr.com`) leaves its parent
//! alone.

use std::collections::HashSet;
use std::sync::LazyLock;

const SPAMMERS: &str = include_str!("../data/referrer-spam/spammers.txt");

static LIST: LazyLock<HashSet<String>> = LazyLock::new(|| {
    SPAMMERS
        .lines()
        .map(|l| l.trim().to_ascii_lowercase())
        .filter(|l| !l.is_empty())
        .collect()
});

/// Whether a referrer host (lower case, without `www.`) is on the spam list.
pub fn is_spam(host: &str) -> bool {
    let mut rest = host;
    loop {
        if LIST.contains(rest) {
            return true;
        }
        match rest.split_once('.') {
            Some((_, parent)) if parent.contains('.') => rest = parent,
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listed_hosts_and_their_subdomains_are_spam() {
        let listed = SPAMMERS.lines().find(|l| l.contains('.')).unwrap().trim();
        let listed = listed.to_ascii_lowercase();
        assert!(is_spam(&listed));
        assert!(is_spam(&format!("shop.{listed}")));
        assert!(!is_spam(&format!("not{listed}")));
        assert!(!is_spam("example.com"));
        assert!(!is_spam("com"));
    }
}
