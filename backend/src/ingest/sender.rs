//! Who sent a request: its address and User-Agent (for the anonymous visitor id and the
//! enrichment, never stored) and the page it came from (for a site's domains).
//!
//! `X-Forwarded-For` is trivially forged, so it is honoured only when the operator says a proxy
//! in front of us sets it (`TRUST_X_FORWARDED_FOR`); then the first (client-most) entry is used.

use std::net::{IpAddr, SocketAddr};

use axum::extract::ConnectInfo;
use axum::http::{header, request::Parts, HeaderMap};

/// What a request says about its sender.
pub struct Sender<'a> {
    pub ip: IpAddr,
    /// Empty when absent.
    pub user_agent: &'a str,
    /// The host of the page that sent it (`Origin`, else `Referer`): for a site's allowed
    /// domains, and so that a referrer from the site itself counts as direct.
    pub page_host: Option<String>,
}

impl<'a> Sender<'a> {
    pub fn of(parts: &'a Parts, trust_forwarded_for: bool) -> Self {
        let user_agent = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        Self {
            ip: ip_of(parts, trust_forwarded_for),
            user_agent,
            page_host: crate::sites::request_host(&parts.headers),
        }
    }
}

/// The client's IP address (the peer's, or the proxy's `X-Forwarded-For` if trusted).
pub fn ip_of(parts: &Parts, trust_forwarded_for: bool) -> IpAddr {
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    client_ip(&parts.headers, peer, trust_forwarded_for)
}

fn client_ip(headers: &HeaderMap, peer: Option<SocketAddr>, trust_forwarded_for: bool) -> IpAddr {
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
