//! Campaign tags (`utm_source`, `utm_medium`, `utm_campaign`, `utm_content`, `utm_term`, and
//! the short `ref` / `source`) from the page path's query string.
//!
//! Why: the tags are how site owners label links they share, and they arrive exactly as typed
//! into a URL builder: percent-encoded, `+` for spaces, sometimes with stray whitespace or a
//! key in upper case. Decoding follows `application/x-www-form-urlencoded` (what browsers use
//! for query strings), via `url`'s `form_urlencoded`; invalid UTF-8 is replaced, not rejected.
//! Values are trimmed, stripped of control characters and cut to [`MAX_UTM_CHARS`] characters
//! so that one odd link cannot blow up a report's cardinality or row size. The first occurrence
//! of a key wins.

/// Longest tag value kept, in characters.
pub const MAX_UTM_CHARS: usize = 100;

/// The five campaign tags; "" when absent.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Utm {
    /// `utm_source`
    pub source: String,
    /// `utm_medium`
    pub medium: String,
    /// `utm_campaign`
    pub campaign: String,
    /// `utm_content`
    pub content: String,
    /// `utm_term`
    pub term: String,
    /// `ref`, else `source`: the short tags many sites put on shared links (`?ref=producthunt`),
    /// a source when `utm_source` is absent.
    pub referral: String,
}

/// The query part of a page path: after the first `?`, before any `#`.
fn query_of(path: &str) -> Option<&str> {
    let (_, rest) = path.split_once('?')?;
    Some(rest.split_once('#').map_or(rest, |(q, _)| q))
}

/// Extracts the campaign tags from a page path such as `/pricing?utm_source=hn&utm_campaign=x`.
/// A full URL works too. Total: any input gives an answer.
pub fn parse(path: &str) -> Utm {
    let mut utm = Utm::default();
    let Some(query) = query_of(path) else {
        return utm;
    };
    // Cheap exit for the common case of no campaign tags. (A key that percent-encodes one of
    // the letters "utm" themselves is not worth a full decode of every query.)
    if !["utm", "ref", "source"]
        .iter()
        .any(|tag| contains_ignore_ascii_case(query, tag))
    {
        return utm;
    }
    let mut source_tag = String::new();
    for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
        let slot = match key.trim().to_ascii_lowercase().as_str() {
            "utm_source" => &mut utm.source,
            "utm_medium" => &mut utm.medium,
            "utm_campaign" => &mut utm.campaign,
            "utm_content" => &mut utm.content,
            "utm_term" => &mut utm.term,
            "ref" => &mut utm.referral,
            "source" => &mut source_tag,
            _ => continue,
        };
        if slot.is_empty() {
            *slot = clean(&value);
        }
    }
    if utm.referral.is_empty() {
        utm.referral = source_tag;
    }
    utm
}

/// Control characters removed, trimmed, at most [`MAX_UTM_CHARS`] characters.
pub fn clean(value: &str) -> String {
    let without_controls: String = if value.chars().any(char::is_control) {
        value.chars().filter(|c| !c.is_control()).collect()
    } else {
        value.to_owned()
    };
    let trimmed = without_controls.trim();
    match trimmed.char_indices().nth(MAX_UTM_CHARS) {
        // Cutting may leave a trailing space: trim again.
        Some((cut, _)) => trimmed[..cut].trim_end().to_owned(),
        None => trimmed.to_owned(),
    }
}

fn contains_ignore_ascii_case(haystack: &str, needle: &str) -> bool {
    let needle = needle.as_bytes();
    haystack
        .as_bytes()
        .windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}
