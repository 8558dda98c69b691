//! The secrets that open a private site's reports, API keys and shared links: how they are
//! drawn, stored and checked. Both are 32 random bytes behind a recognisable prefix (so a leaked
//! one is found by secret scanners and in logs), stored only as BLAKE3 hashes. With that much
//! randomness a plain (unsalted) hash is as strong as a password hash would be: there is nothing
//! to guess.

/// A secret just drawn: the only moment its text exists outside the caller.
#[derive(Debug, Clone)]
pub struct NewSecret {
    /// The public handle to list and revoke it by.
    pub id: String,
    /// The secret itself, `prefix` + 64 hex digits.
    pub secret: String,
}

/// Draws a secret: `prefix` + 64 hex digits (32 bytes from the thread CSPRNG), a public id
/// `id_prefix` + 12 hex digits, and the hash to store.
pub fn generate(prefix: &str, id_prefix: &str) -> (NewSecret, String) {
    let secret = format!("{prefix}{}", hex(&rand::random::<[u8; 32]>()));
    let id = format!("{id_prefix}{}", hex(&rand::random::<[u8; 6]>()));
    let hash = hash(&secret);
    (NewSecret { id, secret }, hash)
}

/// BLAKE3 of the whole secret text, hex: what is stored.
pub fn hash(secret: &str) -> String {
    blake3::hash(secret.as_bytes()).to_hex().to_string()
}

/// Whether `token` hashes to one of `stored` (hex hashes).
///
/// Compares with `blake3::Hash`'s constant-time equality, so timing reveals nothing about a
/// stored hash; every hash is compared, a match does not stop early.
pub fn matches_any<'a>(stored: impl IntoIterator<Item = &'a str>, token: &str) -> bool {
    let presented = blake3::hash(token.as_bytes());
    stored.into_iter().fold(false, |found, hash| {
        found | blake3::Hash::from_hex(hash).is_ok_and(|h| h == presented)
    })
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_random_prefixed_and_checked_by_hash() {
        let (a, hash_a) = generate("bk_", "k_");
        let (b, hash_b) = generate("bk_", "k_");
        assert_ne!(a.secret, b.secret);
        assert_ne!(a.id, b.id);
        assert!(a.secret.starts_with("bk_") && a.secret.len() == 3 + 64);
        assert!(a.id.starts_with("k_") && a.id.len() == 2 + 12);
        assert!(matches_any([hash_a.as_str()], &a.secret));
        assert!(matches_any([hash_b.as_str(), hash_a.as_str()], &a.secret));
        assert!(!matches_any([hash_a.as_str()], &b.secret));
        assert!(!matches_any(["not hex"], &a.secret));
        assert!(!matches_any([hash_a.as_str()], ""));
        assert!(!matches_any([], &a.secret));
    }
}
