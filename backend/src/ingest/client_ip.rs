//! Which address a request came from, for the anonymous visitor id.
//!
//! `X-Forwarded-For` is trivially forged, so it is honoured only when the operator says a proxy
//! in front of us sets it (`TRUST_X_FORWARDED_FOR`); then the first (client-most) entry is used.

use std::net::{IpAddr, SocketAddr};

use axum::http::HeaderMap;

pub fn client_ip(
    headers: &HeaderMap,
    peer: Option<SocketAddr>,
    trust_forwarded_for: bool,
) -> IpAddr {
    let forwarded = trust_forwarded_for
        .then(|| headers.get("x-forwarded-for")?.to_str().ok())
        .flatten()
        .and_then(|list| list.split(',').next())
        .and_then(|first| first.trim().parse::<IpAddr>().ok());
    forwarded
        .or(peer.map(|p| p.ip()))
        .unwrap_or(IpAddr::from([0, 0, 0, 0]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_for_only_when_trusted() {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", "203.0.113.9, 10.0.0.1".parse().unwrap());
        let peer = Some("127.0.0.1:5000".parse().unwrap());
        assert_eq!(client_ip(&headers, peer, false).to_string(), "127.0.0.1");
        assert_eq!(client_ip(&headers, peer, true).to_string(), "203.0.113.9");
        headers.insert("x-forwarded-for", "garbage".parse().unwrap());
        assert_eq!(client_ip(&headers, peer, true).to_string(), "127.0.0.1");
    }
}
