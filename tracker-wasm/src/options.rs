//! The snippet's `data-*` options, and the rules that decide whether a page is tracked at all.
//!
//! Read once from the `<script>` tag through a getter, so the rules run in host tests; see
//! README.md, "Options", for what each one means to a site owner.

use std::string::String;

/// The `localStorage` key of the self-exclusion switch (`"true"`: this browser is not counted).
pub const IGNORE_KEY: &str = "beacon:ignore";
/// The URL fragments that turn the switch on and off (links from the dashboard).
pub const IGNORE_ON: &str = "#beacon-ignore=on";
pub const IGNORE_OFF: &str = "#beacon-ignore=off";

/// Download extensions tracked by `data-file-downloads` without a list of its own, in the
/// attribute's own form (one text in the wasm rather than a table of 34 string slices).
pub const DEFAULT_DOWNLOADS: &str = "pdf,xlsx,xls,docx,doc,pptx,ppt,odt,ods,odp,txt,rtf,csv,\
    epub,exe,msi,dmg,pkg,deb,rpm,apk,iso,7z,rar,gz,tgz,zip,mp3,wav,mp4,mov,avi,wmv,mkv";

/// The options of one snippet.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    pub site: String,
    /// `data-endpoint`; empty: the origin of `beacon.js` + `/event`.
    pub endpoint: String,
    pub hash: bool,
    pub respect_dnt: bool,
    pub allow_localhost: bool,
    pub allow_bots: bool,
    pub outbound_links: bool,
    /// `data-file-downloads`: the tracked extensions (any case), empty when off.
    pub downloads: List,
    /// `data-404`: this page is a "not found" page.
    pub not_found: bool,
    pub exclude: List,
    pub include: List,
}

impl Options {
    /// Reads the options through `attribute("data-site")` and so on.
    pub fn read(attribute: impl Fn(&str) -> Option<String>) -> Self {
        let flag = |name: &str| is_on(attribute(name).as_deref());
        let text = |name: &str| {
            attribute(name)
                .map(|v| String::from(v.trim_ascii()))
                .unwrap_or_default()
        };
        let downloads = match attribute("data-file-downloads") {
            Some(v) if !is_on(Some(&v)) => List::default(),
            Some(v) if !v.trim_ascii().is_empty() => List(v),
            Some(_) => List(DEFAULT_DOWNLOADS.into()),
            None => List::default(),
        };
        Self {
            site: text("data-site"),
            endpoint: text("data-endpoint"),
            hash: flag("data-hash"),
            respect_dnt: flag("data-respect-dnt"),
            allow_localhost: flag("data-allow-localhost"),
            allow_bots: flag("data-allow-bots"),
            outbound_links: flag("data-outbound-links"),
            downloads,
            not_found: flag("data-404"),
            exclude: List(text("data-exclude")),
            include: List(text("data-include")),
        }
    }

    /// Whether events on the page `key` (its path, plus the fragment in hash mode) are sent.
    pub fn tracks_page(&self, key: &str) -> bool {
        let any = |patterns: &List| patterns.iter().any(|p| path_matches(p, key));
        !any(&self.exclude) && (self.include.is_empty() || any(&self.include))
    }
}

/// A boolean attribute: on when present, unless it says `false`, `0`, `no` or `off`.
pub fn is_on(value: Option<&str>) -> bool {
    value.is_some_and(|v| {
        let v = v.trim_ascii();
        !["false", "0", "no", "off"]
            .iter()
            .any(|off| v.eq_ignore_ascii_case(off))
    })
}

/// A comma-separated option (`data-exclude`, `data-include`, `data-file-downloads`), kept as
/// the attribute's text and read entry by entry (trimmed, empty ones skipped) where it is
/// used: no list of strings built at start-up.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct List(pub String);

impl List {
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        crate::text::pieces(&self.0, b',')
            .map(str::trim_ascii)
            .filter(|v| !v.is_empty())
    }

    pub fn is_empty(&self) -> bool {
        self.iter().next().is_none()
    }

    /// Whether `entry` is in the list, ignoring ASCII case (`PDF` is `pdf`).
    pub fn contains(&self, entry: &str) -> bool {
        self.iter().any(|e| e.eq_ignore_ascii_case(entry))
    }
}

/// What the browser says about the visitor and the page, for the opt-outs.
#[derive(Debug, Clone, Default)]
pub struct Visitor {
    /// `location.hostname` (lower case: the URL parser's).
    pub hostname: String,
    /// `location.protocol`.
    pub protocol: String,
    /// `navigator.doNotTrack` and `window.doNotTrack`.
    pub do_not_track: [Option<String>; 2],
    /// `navigator.globalPrivacyControl`.
    pub global_privacy_control: bool,
    /// `navigator.webdriver`: an automated browser.
    pub webdriver: bool,
    /// The self-exclusion switch is on in this browser.
    pub ignored: bool,
}

/// Why nothing is tracked on this page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptOut {
    DoNotTrack,
    Localhost,
    Bot,
    Ignored,
}

/// The first reason this visitor is not tracked, if any.
pub fn opt_out(options: &Options, visitor: &Visitor) -> Option<OptOut> {
    let dnt = visitor
        .do_not_track
        .iter()
        .flatten()
        .any(|v| v == "1" || v == "yes");
    if visitor.ignored {
        Some(OptOut::Ignored)
    } else if options.respect_dnt && (dnt || visitor.global_privacy_control) {
        Some(OptOut::DoNotTrack)
    } else if !options.allow_localhost && is_local(&visitor.hostname, &visitor.protocol) {
        Some(OptOut::Localhost)
    } else if !options.allow_bots && visitor.webdriver {
        Some(OptOut::Bot)
    } else {
        None
    }
}

/// A developer's own machine: `localhost`, `*.localhost`, `127.x.x.x`, `[::1]`, `file:` pages.
/// `hostname` is `location.hostname`, which the URL parser has already lower-cased.
fn is_local(host: &str, protocol: &str) -> bool {
    protocol == "file:"
        || host.is_empty()
        || host == "localhost"
        || host.ends_with(".localhost")
        || host.starts_with("127.")
        || host == "[::1]"
        || host == "::1"
}

/// A path pattern: `*` matches within one path segment, `**` across segments; everything
/// else literally. `/blog/*` matches `/blog/post` but not `/blog/a/b`; `/docs/**` matches both.
pub fn path_matches(pattern: &str, path: &str) -> bool {
    glob(pattern.as_bytes(), path.as_bytes())
}

/// `s[i..]`, empty past the end (no bounds panic in the wasm).
fn tail(s: &[u8], i: usize) -> &[u8] {
    s.get(i..).unwrap_or_default()
}

/// [`path_matches`] on bytes, so no split can fall inside a character.
fn glob(p: &[u8], s: &[u8]) -> bool {
    match p {
        [] => s.is_empty(),
        [b'*', b'*', rest @ ..] => (0..=s.len()).any(|i| glob(rest, tail(s, i))),
        [b'*', rest @ ..] => {
            let segment = s.iter().position(|&c| c == b'/').unwrap_or(s.len());
            (0..=segment).any(|i| glob(rest, tail(s, i)))
        }
        [c, rest @ ..] => s.first() == Some(c) && glob(rest, tail(s, 1)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(attributes: &[(&str, &str)]) -> Options {
        Options::read(|name| {
            attributes
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| String::from(*v))
        })
    }

    #[test]
    fn boolean_attributes_are_on_when_present_unless_they_say_otherwise() {
        assert!(is_on(Some("")));
        assert!(is_on(Some("true")));
        for off in ["false", " 0 ", "NO", "off"] {
            assert!(!is_on(Some(off)), "{off}");
        }
        assert!(!is_on(None));
        let o = read(&[
            ("data-site", " s1 "),
            ("data-hash", ""),
            ("data-allow-bots", "off"),
        ]);
        assert_eq!((o.site.as_str(), o.hash, o.allow_bots), ("s1", true, false));
    }

    #[test]
    fn downloads_take_the_default_list_or_the_sites_own() {
        assert!(read(&[]).downloads.is_empty());
        let list = read(&[("data-file-downloads", "")]).downloads;
        let defaults: Vec<&str> = list.iter().collect();
        assert_eq!(defaults.len(), 34);
        assert_eq!((defaults[0], defaults[33]), ("pdf", "mkv"));
        let plain = |e: &&str| e.bytes().all(|b| b.is_ascii_alphanumeric());
        assert!(defaults.iter().all(plain), "{defaults:?}");
        let own = read(&[("data-file-downloads", "EPUB, ,zip")]).downloads;
        assert_eq!(own.iter().collect::<Vec<_>>(), ["EPUB", "zip"]);
        assert!(own.contains("epub") && own.contains("ZIP"));
        assert!(!own.contains("pdf") && !own.contains(""));
        assert!(read(&[("data-file-downloads", " , ")]).downloads.is_empty());
        assert!(read(&[("data-file-downloads", "false")])
            .downloads
            .is_empty());
    }

    #[test]
    fn path_patterns() {
        assert!(path_matches("/blog/*", "/blog/post"));
        assert!(!path_matches("/blog/*", "/blog/a/b"));
        assert!(path_matches("/docs/**", "/docs/a/b"));
        assert!(path_matches("/*/admin", "/shop/admin"));
        assert!(path_matches("/how-to-*", "/how-to-pack"));
        assert!(!path_matches("/admin", "/admin/users"));
        assert!(path_matches("/admin**", "/admin/users"));
    }

    #[test]
    fn exclude_and_include_decide_which_pages_are_tracked() {
        let o = read(&[("data-exclude", "/admin/**, /preview/*")]);
        assert!(o.tracks_page("/"));
        assert!(!o.tracks_page("/admin/users/1"));
        assert!(!o.tracks_page("/preview/x"));
        let o = read(&[("data-include", "/shop/**"), ("data-exclude", "/shop/cart")]);
        assert!(o.tracks_page("/shop/tent"));
        assert!(!o.tracks_page("/shop/cart"));
        assert!(!o.tracks_page("/about"));
    }

    #[test]
    fn opt_outs() {
        let visitor = Visitor {
            hostname: "shop.example".into(),
            protocol: "https:".into(),
            ..Visitor::default()
        };
        let opts = read(&[("data-site", "s")]);
        assert_eq!(opt_out(&opts, &visitor), None);
        let dnt = Visitor {
            do_not_track: [Some("1".into()), None],
            ..visitor.clone()
        };
        assert_eq!(opt_out(&opts, &dnt), None, "DNT only with data-respect-dnt");
        let respect = read(&[("data-respect-dnt", "")]);
        assert_eq!(opt_out(&respect, &dnt), Some(OptOut::DoNotTrack));
        let gpc = Visitor {
            global_privacy_control: true,
            ..visitor.clone()
        };
        assert_eq!(opt_out(&respect, &gpc), Some(OptOut::DoNotTrack));
        for host in ["localhost", "app.localhost", "127.0.0.1", "[::1]", ""] {
            let local = Visitor {
                hostname: host.into(),
                ..visitor.clone()
            };
            assert_eq!(opt_out(&opts, &local), Some(OptOut::Localhost), "{host}");
        }
        let bot = Visitor {
            webdriver: true,
            ..visitor.clone()
        };
        assert_eq!(opt_out(&opts, &bot), Some(OptOut::Bot));
        assert_eq!(opt_out(&read(&[("data-allow-bots", "")]), &bot), None);
        let me = Visitor {
            ignored: true,
            ..visitor
        };
        assert_eq!(opt_out(&opts, &me), Some(OptOut::Ignored));
    }
}
