//! Which link clicks are events: links to other sites (`data-outbound-links`) and to files
//! (`data-file-downloads`). The event leaves with the page's beacon if the click navigates
//! away, so the click is never delayed.

use std::string::String;

use crate::options::Options;

/// The custom event of a click on a link to another site, with the link in `url`.
pub const OUTBOUND: &str = "Outbound Link: Click";
/// The custom event of a click on a link to a file, with the link in `url`.
pub const DOWNLOAD: &str = "File Download";

/// The parts of a clicked `<a href>` the rules look at (from `HTMLAnchorElement`).
#[derive(Debug, Clone, Default)]
pub struct Link {
    pub href: String,
    pub protocol: String,
    pub host: String,
    pub pathname: String,
}

/// The event name for a click on `link` from a page on `page_host`, if it is one.
pub fn click_event(options: &Options, link: &Link, page_host: &str) -> Option<&'static str> {
    let web = link.protocol == "http:" || link.protocol == "https:";
    if !web {
        return None;
    }
    // Byte searches: lighter in the wasm than `str`'s reverse char searcher.
    let path = link.pathname.as_bytes();
    let extension = path
        .iter()
        .rposition(|&b| b == b'.')
        .and_then(|dot| link.pathname.get(dot + 1..))
        .filter(|ext| !ext.bytes().any(|b| b == b'/'));
    if extension.is_some_and(|ext| options.downloads.contains(ext)) {
        return Some(DOWNLOAD);
    }
    let outbound = !link.host.eq_ignore_ascii_case(page_host);
    (options.outbound_links && outbound).then_some(OUTBOUND)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::List;

    fn link(href: &str) -> Link {
        let (protocol, rest) = href.split_once("//").unwrap();
        let (host, path) = rest.split_once('/').map_or((rest, "/"), |(h, p)| (h, p));
        Link {
            href: href.into(),
            protocol: protocol.into(),
            host: host.into(),
            pathname: format!("/{}", path.trim_start_matches('/')),
        }
    }

    fn options(outbound: bool, downloads: &[&str]) -> Options {
        Options {
            outbound_links: outbound,
            downloads: List(downloads.join(",")),
            ..Options::default()
        }
    }

    #[test]
    fn outbound_links_are_other_hosts_on_the_web() {
        let o = options(true, &[]);
        let page = "shop.example";
        assert_eq!(
            click_event(&o, &link("https://other.example/x"), page),
            Some(OUTBOUND)
        );
        assert_eq!(
            click_event(&o, &link("https://shop.example/about"), page),
            None
        );
        assert_eq!(click_event(&o, &link("mailto://someone"), page), None);
        assert_eq!(
            click_event(&options(false, &[]), &link("https://other.example/"), page),
            None
        );
    }

    #[test]
    fn downloads_go_by_extension_on_any_host() {
        let o = options(false, &["pdf", "zip"]);
        let page = "shop.example";
        assert_eq!(
            click_event(&o, &link("https://shop.example/manual.PDF"), page),
            Some(DOWNLOAD)
        );
        assert_eq!(
            click_event(&o, &link("https://cdn.example/a/b.zip"), page),
            Some(DOWNLOAD)
        );
        assert_eq!(
            click_event(&o, &link("https://shop.example/v1.2/guide"), page),
            None
        );
        assert_eq!(
            click_event(&o, &link("https://shop.example/page.html"), page),
            None
        );
        let both = options(true, &["pdf"]);
        let names: Vec<_> = vec!["https://x.example/a.pdf", "https://x.example/a"]
            .into_iter()
            .map(|h| click_event(&both, &link(h), page))
            .collect();
        assert_eq!(names, [Some(DOWNLOAD), Some(OUTBOUND)]);
    }
}
