//! The few text searches the tracker makes, over bytes.
//!
//! `str`'s own searches (`split(',')`, `split_once(' ')`, `find("…")`, `parse::<u64>()`) link
//! core's general searchers and integer parser into the wasm; these plain loops do the same for
//! the tracker's ASCII separators and keys, in less code (docs/benchmarks.md, "Tracker size").
//! Cutting at an ASCII byte always leaves whole UTF-8 on both sides.

/// Where `needle` (not empty) starts in `text`. The first byte is compared before the rest:
/// delivery looks for whole events in request bodies of up to 32 KiB.
pub fn find(text: &str, needle: &str) -> Option<usize> {
    let needle = needle.as_bytes();
    let first = *needle.first()?;
    text.as_bytes()
        .windows(needle.len())
        .position(|w| w[0] == first && w == needle)
}

/// `text` before and after the first `sep` (ASCII).
pub fn split_once(text: &str, sep: u8) -> Option<(&str, &str)> {
    let at = text.bytes().position(|b| b == sep)?;
    Some((text.get(..at)?, text.get(at + 1..)?))
}

/// The pieces of `text` between each `sep` (ASCII), like `str::split`.
pub fn pieces(text: &str, sep: u8) -> impl Iterator<Item = &str> {
    let mut rest = Some(text);
    core::iter::from_fn(move || {
        let current = rest?;
        match split_once(current, sep) {
            Some((piece, after)) => {
                rest = Some(after);
                Some(piece)
            }
            None => rest.take(),
        }
    })
}

/// Plain decimal digits (at most 19, so any fits a `u64`), or `None`.
pub fn decimal(text: &str) -> Option<u64> {
    let digits = !text.is_empty() && text.len() <= 19 && text.bytes().all(|b| b.is_ascii_digit());
    digits.then(|| text.bytes().fold(0, |n, b| n * 10 + u64::from(b - b'0')))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn searches_agree_with_str() {
        for text in ["", ",", "a", "a,b", ",a,,b,", "é,ü,", "no separator"] {
            let ours: Vec<&str> = pieces(text, b',').collect();
            let theirs: Vec<&str> = text.split(',').collect();
            assert_eq!(ours, theirs, "{text:?}");
            assert_eq!(split_once(text, b','), text.split_once(','), "{text:?}");
            assert_eq!(find(text, ",b"), text.find(",b"), "{text:?}");
        }
    }

    #[test]
    fn decimals_are_plain_digits_that_fit() {
        assert_eq!(decimal("0"), Some(0));
        assert_eq!(decimal("1764950400123"), Some(1_764_950_400_123));
        assert_eq!(decimal(&"9".repeat(19)), Some(9_999_999_999_999_999_999));
        for bad in ["", "+1", "-1", " 1", "1.5", "12a", &"9".repeat(20)] {
            assert_eq!(decimal(bad), None, "{bad:?}");
        }
    }
}
