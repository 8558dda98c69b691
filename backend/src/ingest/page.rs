//! The page an event is counted under: the pathname, without its query string.
//!
//! Why: `/?utm_source=newsletter`, `/?fbclid=…` and `/?gclid=…` are the same page as `/`, and
//! query strings carry tokens and e-mail addresses that must not stay in reports forever. The
//! campaign tags are read from the full path first (enrichment); what is stored is the
//! pathname, plus the parameters a registered site names (`--keep-query q,page`, in the order
//! sent). A fragment is kept only when it is a route (`#/cart`, `#!/cart`), which is what the
//! tracker sends in hash mode; its own query string is cleaned the same way. Any other
//! fragment (`#section`, `#access_token=…`) is dropped.

use beacon_event::PagePath;

/// `path` as it is stored and reported, keeping only the query parameters named in `keep`.
pub fn clean(path: &PagePath, keep: &[String]) -> PagePath {
    let raw = path.as_str();
    if !raw.contains(['?', '#']) {
        return path.clone();
    }
    let (page, fragment) = match raw.split_once('#') {
        Some((page, fragment)) => (page, Some(fragment)),
        None => (raw, None),
    };
    let mut out = without_query(page, keep);
    if let Some(route) = fragment.filter(|f| f.starts_with('/') || f.starts_with("!/")) {
        out.push('#');
        out.push_str(&without_query(route, keep));
    }
    // A prefix of a valid path with parts left out is valid; the original is the fallback.
    PagePath::parse(&out).unwrap_or_else(|_| path.clone())
}

/// `path` up to its `?`, then the parameters named in `keep`, if any.
fn without_query(path: &str, keep: &[String]) -> String {
    let Some((pathname, query)) = path.split_once('?') else {
        return path.to_owned();
    };
    let kept: Vec<&str> = query
        .split('&')
        .filter(|pair| {
            let key = pair.split_once('=').map_or(*pair, |(key, _)| key);
            !key.is_empty() && keep.iter().any(|k| k == key)
        })
        .collect();
    match kept.is_empty() {
        true => pathname.to_owned(),
        false => format!("{pathname}?{}", kept.join("&")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cleaned(path: &str, keep: &[&str]) -> String {
        let keep: Vec<String> = keep.iter().map(|k| (*k).to_owned()).collect();
        clean(&PagePath::parse(path).unwrap(), &keep).to_string()
    }

    #[test]
    fn the_query_string_is_dropped_unless_a_parameter_is_kept() {
        assert_eq!(cleaned("/", &[]), "/");
        assert_eq!(
            cleaned("/?utm_source=newsletter&utm_medium=email", &[]),
            "/"
        );
        assert_eq!(cleaned("/pricing?fbclid=IwAR0x", &[]), "/pricing");
        assert_eq!(cleaned("/reset?email=a@b.c&token=s3cret", &[]), "/reset");
        assert_eq!(cleaned("/a?", &[]), "/a");
        assert_eq!(
            cleaned("/search?q=shoes&page=2&gclid=x", &["q"]),
            "/search?q=shoes"
        );
        assert_eq!(
            cleaned("/search?page=2&gclid=x&q=shoes", &["q", "page"]),
            "/search?page=2&q=shoes"
        );
        assert_eq!(cleaned("/search?q&qq=1", &["q"]), "/search?q");
        assert_eq!(cleaned("/search?Q=1", &["q"]), "/search");
    }

    #[test]
    fn only_route_fragments_stay_and_are_cleaned_too() {
        assert_eq!(cleaned("/docs#install", &[]), "/docs");
        assert_eq!(cleaned("/cb#access_token=abc&state=1", &[]), "/cb");
        assert_eq!(cleaned("/app?ref=x#/cart", &[]), "/app#/cart");
        assert_eq!(cleaned("/#!/users?id=3&tab=a", &["tab"]), "/#!/users?tab=a");
        assert_eq!(cleaned("/#/", &[]), "/#/");
        assert_eq!(cleaned("/a#", &[]), "/a");
    }
}
