//! Hosts: the page a request came from, and the domains an operator registers for a site.

use axum::http::{header, HeaderMap};
use url::{Host, Url};

use super::SitesError;

/// The host of the page that sent a request: `Origin`, or when it is absent or `null` (sandboxed
/// frames, some privacy settings), `Referer`. Lower case, without port, userinfo or trailing dot.
pub fn request_host(headers: &HeaderMap) -> Option<String> {
    [header::ORIGIN, header::REFERER].iter().find_map(|name| {
        let value = headers.get(name)?.to_str().ok()?;
        url_host(value)
    })
}

/// The host of an absolute URL, normalized: lower case (international names in their ASCII
/// form, as browsers send them), no trailing dot, an IPv6 address without its brackets.
fn url_host(value: &str) -> Option<String> {
    let url = Url::parse(value.trim()).ok()?;
    let host = match url.host()? {
        Host::Domain(name) => name.trim_end_matches('.').to_ascii_lowercase(),
        Host::Ipv4(address) => address.to_string(),
        Host::Ipv6(address) => address.to_string(),
    };
    (!host.is_empty()).then_some(host)
}

/// Turns what an operator typed (`Example.COM`, `https://www.example.com:8443/`, `*.example.com`)
/// into the stored form (`example.com`, `www.example.com`): lower case, no scheme, port, path or
/// wildcard (subdomains are always included). Refuses anything that is not a hostname.
pub fn normalize_domain(input: &str) -> Result<String, SitesError> {
    let trimmed = input.trim();
    let host = if trimmed.contains("://") {
        url_host(trimmed)
    } else {
        url_host(&format!("http://{trimmed}"))
    };
    let host = host.map(|h| h.strip_prefix("*.").map(str::to_owned).unwrap_or(h));
    let valid = host.as_deref().is_some_and(|h| {
        h.len() <= 253
            && h.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            })
    });
    match host {
        Some(h) if valid => Ok(h),
        _ => Err(SitesError::BadDomain(input.to_owned())),
    }
}

pub(super) fn normalize_all(domains: &[String]) -> Result<Vec<String>, SitesError> {
    let mut out: Vec<String> = Vec::with_capacity(domains.len());
    for d in domains {
        let d = normalize_domain(d)?;
        if !out.contains(&d) {
            out.push(d);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_hosts_are_normalized() {
        let mut h = HeaderMap::new();
        assert_eq!(request_host(&h), None);
        h.insert(
            header::REFERER,
            "https://Shop.Example.com./p?q=1".parse().unwrap(),
        );
        assert_eq!(request_host(&h).as_deref(), Some("shop.example.com"));
        h.insert(header::ORIGIN, "null".parse().unwrap());
        assert_eq!(request_host(&h).as_deref(), Some("shop.example.com"));
        h.insert(
            header::ORIGIN,
            "http://u:p@EXAMPLE.com:8080".parse().unwrap(),
        );
        assert_eq!(request_host(&h).as_deref(), Some("example.com"));
        h.insert(header::ORIGIN, "http://[::1]:3000".parse().unwrap());
        assert_eq!(request_host(&h).as_deref(), Some("::1"));
    }

    #[test]
    fn operator_domains_are_normalized_or_refused() {
        for (input, want) in [
            ("Example.COM", "example.com"),
            ("https://www.example.com:8443/path", "www.example.com"),
            ("*.example.com", "example.com"),
            ("localhost", "localhost"),
            // International names in the ASCII form browsers send in `Origin`.
            ("Bücher.example", "xn--bcher-kva.example"),
        ] {
            assert_eq!(normalize_domain(input).unwrap(), want);
        }
        for bad in ["", "exa mple.com", "-x.com", "a..b", "http://"] {
            assert!(normalize_domain(bad).is_err(), "{bad}");
        }
    }
}
