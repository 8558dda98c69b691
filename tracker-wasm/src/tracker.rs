//! From what the page reports to one serialized event.
//!
//! For every navigation, `beacon()` call or tracked click, `web/` reads the page ([`Page`]) and
//! this module decides whether it is an event (a navigation that stayed on the same page is
//! not; a page left out by `data-exclude`/`data-include` sends nothing), fits the browser values
//! to the field rules and builds the `beacon_event::ClientEvent` that ingestion validates,
//! written once by its own `write_json`: delivery stores and resends those very bytes.

use std::string::String;
use std::vec::Vec;

use beacon_event::fields::PAGE_VIEW;
use beacon_event::{ClientEvent, PropValue as Value, Revenue, SiteId};
use uuid::Uuid;

use crate::event::{self, Facts};
use crate::options::Options;
use crate::props::{self, PropValue};
use crate::route::{Location, Navigation};

/// What the event is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The page loaded, or the URL may have changed (pushState, replaceState, popstate,
    /// hashchange): a page view only if the page is a new one.
    Navigated,
    /// `beacon('pageview')`: always counted.
    PageView,
    /// `beacon('event', name, props)` or a tracked click, with the properties handed over
    /// before by [`Tracker::prop`].
    Custom,
}

/// What the page knows at the moment of an event.
#[derive(Debug, Clone, Default)]
pub struct Page {
    pub location: Location,
    /// `document.referrer`.
    pub referrer: String,
    /// `screen.width` (NaN when missing).
    pub screen_width: f64,
    /// `Date.now()`.
    pub now_ms: f64,
    /// A fresh random id (`crypto.getRandomValues`), if the browser gave one.
    pub eid: Option<Uuid>,
}

/// One page's tracker state.
pub struct Tracker {
    /// `data-site`.
    site: SiteId,
    /// `data-hash` (the URL fragment is part of the page) and the page patterns.
    options: Options,
    nav: Navigation,
    /// The custom properties of the next event, already fitted.
    props: Vec<(String, Value)>,
    /// What the next custom event was worth.
    revenue: Option<Revenue>,
}

impl Tracker {
    /// `None` without a valid `data-site`: then nothing is tracked.
    pub fn new(options: Options) -> Option<Self> {
        Some(Self {
            site: SiteId::parse(&options.site).ok()?,
            options,
            nav: Navigation::default(),
            props: Vec::new(),
            revenue: None,
        })
    }

    /// The snippet's options.
    pub fn options(&self) -> &Options {
        &self.options
    }

    /// One property of the next custom event; what ingestion would refuse is left out, and at
    /// most `Props::MAX_KEYS` are kept.
    pub fn prop(&mut self, key: String, value: PropValue) {
        if self.props.len() < beacon_event::Props::MAX_KEYS {
            if let Some(entry) = props::entry(key, value) {
                self.props.push(entry);
            }
        }
    }

    /// The revenue of the next custom event, read by [`revenue`] (`None`: the event is still
    /// sent, without one).
    pub fn set_revenue(&mut self, revenue: Option<Revenue>) {
        self.revenue = revenue;
    }

    /// The event's JSON, or `None` when there is none: a navigation that stayed on the same
    /// page, a page left out by the site's patterns, a custom name that breaks the rules. The
    /// properties handed over so far are used (custom events) or dropped (page views) either
    /// way. `float` prints fractional numbers.
    pub fn track(
        &mut self,
        kind: Kind,
        name: &str,
        page: &Page,
        float: fn(f64) -> String,
    ) -> Option<String> {
        let kept = core::mem::take(&mut self.props);
        let revenue = self.revenue.take();
        let hash = self.options.hash;
        let key = page.location.page_key(hash);
        let tracked = self.options.tracks_page(&key);
        let (event_type, props, revenue) = match kind {
            Kind::Navigated => {
                if !self.nav.moved_to(key) {
                    return None;
                }
                (PAGE_VIEW, None, None)
            }
            Kind::PageView => {
                self.nav.counted(key);
                (PAGE_VIEW, None, None)
            }
            Kind::Custom => (name, props::finish(kept), revenue),
        };
        if !tracked {
            return None;
        }
        let facts = Facts {
            path: page.location.page_path(hash),
            referrer: &page.referrer,
            // `as` saturates, NaN becomes 0; `client_event` leaves out what does not fit.
            screen_width: (!page.screen_width.is_nan()).then_some(page.screen_width as i32),
            now_ms: page.now_ms,
            eid: page.eid,
        };
        event::client_event(&self.site, event_type, &facts, props)
            .map(|e| ClientEvent { revenue, ..e })
            .and_then(|e| event::to_json(&e, float))
    }
}

/// A revenue from an amount as decimal text (at most 6 decimals) and a currency code; `None`
/// when ingestion would refuse it.
pub fn revenue(amount: &str, currency: &str) -> Option<Revenue> {
    Revenue::new(amount.trim_ascii(), currency.trim_ascii()).ok()
}

/// A version 4 UUID from 16 random bytes; `None` when all are 0 (`crypto.getRandomValues`
/// was missing or threw).
pub fn eid(bytes: [u8; 16]) -> Option<Uuid> {
    if bytes == [0; 16] {
        return None;
    }
    // `from_random_bytes` sets the version and variant bits.
    Some(uuid::Builder::from_random_bytes(bytes).into_uuid())
}

#[cfg(test)]
mod tests {
    use super::*;
    use beacon_event::{ClientEvent, TimeWindow};
    use serde_json::Value as Json;

    const T0: f64 = 1_795_600_800_000.0;

    fn options(site: &str, hash: bool) -> Options {
        Options {
            site: site.into(),
            hash,
            ..Options::default()
        }
    }

    fn tracker(hash: bool) -> Tracker {
        Tracker::new(options("site123", hash)).unwrap()
    }

    #[test]
    fn the_site_id_is_validated() {
        assert!(Tracker::new(options("site123", false)).is_some());
        for bad in ["", "has space", &"x".repeat(129)] {
            assert!(Tracker::new(options(bad, false)).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn excluded_pages_send_nothing_but_still_move_the_navigation() {
        let mut t = Tracker::new(Options {
            exclude: crate::options::List("/admin/**".into()),
            ..options("site123", false)
        })
        .unwrap();
        let mut nav = |path: &str, n| t.track(Kind::Navigated, "", &page(path, "", "", n), float);
        assert!(nav("/", 1).is_some());
        assert!(nav("/admin/users", 2).is_none());
        assert!(
            nav("/", 3).is_some(),
            "back from an excluded page is a new page view"
        );
        assert!(t
            .track(Kind::Custom, "click", &page("/admin/x", "", "", 4), float)
            .is_none());
    }

    fn page(pathname: &str, search: &str, hash: &str, n: u32) -> Page {
        Page {
            location: Location {
                pathname: pathname.into(),
                search: search.into(),
                hash: hash.into(),
            },
            referrer: "https://search.example/".into(),
            screen_width: 390.0,
            now_ms: T0 + f64::from(n),
            eid: eid(n.to_le_bytes().repeat(4).try_into().unwrap()),
        }
    }

    fn float(n: f64) -> String {
        n.to_string()
    }

    /// Parses the JSON the way ingestion does.
    fn ingest(json: &str) -> ClientEvent {
        let now = event::timestamp(T0).unwrap();
        let value: Json = serde_json::from_str(json).unwrap();
        ClientEvent::from_json(&value, &TimeWindow::standard(now)).unwrap()
    }

    /// (event_type, path) of each event the calls produced.
    fn summary(jsons: &[Option<String>]) -> Vec<(String, String)> {
        jsons
            .iter()
            .flatten()
            .map(|j| ingest(j))
            .map(|e| (e.event_type.as_str().into(), e.path.as_str().into()))
            .collect()
    }

    #[test]
    fn spa_navigation_counts_each_new_page_once() {
        let mut t = tracker(false);
        let mut nav = |p: Page| t.track(Kind::Navigated, "", &p, float);
        let out = [
            nav(page("/", "", "", 1)),                        // load
            nav(page("/", "?tab=2", "", 2)),                  // replaceState, same page
            nav(page("/", "?tab=2", "#top", 3)),              // hashchange, not hash mode
            nav(page("/pricing", "?utm_source=news", "", 4)), // pushState
            nav(page("/", "", "", 5)),                        // popstate
        ];
        assert_eq!(
            summary(&out),
            [
                ("page_view".into(), "/".into()),
                ("page_view".into(), "/pricing?utm_source=news".into()),
                ("page_view".into(), "/".into()),
            ]
        );
    }

    #[test]
    fn hash_mode_counts_fragment_routes_and_sends_the_fragment() {
        let mut t = tracker(true);
        let a = t.track(Kind::Navigated, "", &page("/", "", "#/inbox", 1), float);
        let b = t.track(Kind::Navigated, "", &page("/", "", "#/inbox", 2), float);
        let c = t.track(Kind::Navigated, "", &page("/", "", "#/settings", 3), float);
        assert!(
            b.is_none(),
            "popstate and hashchange of one navigation count once"
        );
        assert_eq!(
            summary(&[a, c])
                .into_iter()
                .map(|(_, p)| p)
                .collect::<Vec<_>>(),
            ["/#/inbox", "/#/settings"]
        );
    }

    #[test]
    fn explicit_page_views_always_count_and_reset_the_key() {
        let mut t = tracker(false);
        assert!(t
            .track(Kind::Navigated, "", &page("/a", "", "", 1), float)
            .is_some());
        assert!(t
            .track(Kind::PageView, "", &page("/a", "", "", 2), float)
            .is_some());
        assert!(t
            .track(Kind::PageView, "", &page("/b", "", "", 3), float)
            .is_some());
        assert!(t
            .track(Kind::Navigated, "", &page("/b", "", "", 4), float)
            .is_none());
    }

    #[test]
    fn custom_events_carry_their_props_once_and_round_trip_through_ingestion() {
        let mut t = tracker(false);
        t.prop("plan".into(), PropValue::Str("pro".into()));
        t.prop("seats".into(), PropValue::Num(3.0));
        t.prop("price".into(), PropValue::Num(9.5));
        t.prop("trial".into(), PropValue::Bool(false));
        t.prop("nested".into(), PropValue::Other);
        let json = t
            .track(Kind::Custom, "signup", &page("/p", "?x=1", "", 7), float)
            .unwrap();
        let event = ingest(&json);
        assert_eq!(json, serde_json::to_string(&event).unwrap());
        let wire: Json = serde_json::from_str(&json).unwrap();
        assert_eq!(
            wire,
            serde_json::json!({"site_id":"site123","event_type":"signup","path":"/p?x=1",
                "timestamp":"2026-11-25T10:00:00.007Z","eid":event.eid.unwrap().to_string(),
                "referrer":"https://search.example/","screen_width":390,
                "props":{"plan":"pro","price":9.5,"seats":3,"trial":false}})
        );
        assert_eq!(event.eid.unwrap().get_version_num(), 4);

        // The next event does not inherit them; a page view drops pending ones.
        let next = t.track(Kind::Custom, "again", &page("/p", "", "", 8), float);
        assert_eq!(ingest(&next.unwrap()).props, None);
        t.prop("stale".into(), PropValue::Bool(true));
        t.track(Kind::PageView, "", &page("/p", "", "", 9), float);
        let after = t.track(Kind::Custom, "later", &page("/p", "", "", 10), float);
        assert_eq!(ingest(&after.unwrap()).props, None);
    }

    #[test]
    fn revenue_goes_with_the_next_custom_event_only() {
        let mut t = tracker(false);
        t.set_revenue(revenue("19.900000", "EUR"));
        let json = t
            .track(Kind::Custom, "purchase", &page("/p", "", "", 1), float)
            .unwrap();
        let event = ingest(&json);
        assert_eq!(json, serde_json::to_string(&event).unwrap());
        let wire: Json = serde_json::from_str(&json).unwrap();
        assert_eq!(
            wire["revenue"],
            serde_json::json!({"amount": "19.9", "currency": "EUR"})
        );
        let next = t.track(Kind::Custom, "again", &page("/p", "", "", 2), float);
        assert_eq!(ingest(&next.unwrap()).revenue, None);
        // A page view drops it; an amount or currency ingestion would refuse sends no revenue.
        t.set_revenue(revenue("5", "USD"));
        t.track(Kind::PageView, "", &page("/p", "", "", 3), float);
        for (amount, currency) in [("1e3", "USD"), ("5", "usd"), ("0.0000001", "EUR")] {
            t.set_revenue(revenue(amount, currency));
            let json = t.track(Kind::Custom, "odd", &page("/p", "", "", 4), float);
            assert_eq!(ingest(&json.unwrap()).revenue, None, "{amount} {currency}");
        }
    }

    #[test]
    fn at_most_thirty_props_and_bad_names_drop_the_event() {
        let mut t = tracker(false);
        for i in 0..40 {
            t.prop(format!("k{i}"), PropValue::Num(f64::from(i)));
        }
        let json = t.track(Kind::Custom, "many", &page("/", "", "", 1), float);
        assert_eq!(ingest(&json.unwrap()).props.unwrap().len(), 30);
        assert!(t
            .track(Kind::Custom, "", &page("/", "", "", 2), float)
            .is_none());
        let long = "x".repeat(65);
        assert!(t
            .track(Kind::Custom, &long, &page("/", "", "", 3), float)
            .is_none());
    }

    #[test]
    fn odd_browser_values_are_left_out_not_fatal() {
        let mut t = tracker(false);
        let odd = Page {
            referrer: "not a url".into(),
            screen_width: f64::NAN,
            eid: None,
            ..page("", "", "", 1)
        };
        let event = ingest(&t.track(Kind::Navigated, "", &odd, float).unwrap());
        assert_eq!(event.path.as_str(), "/");
        assert_eq!(
            (event.referrer, event.screen_width, event.eid),
            (None, None, None)
        );
        let wide = Page {
            screen_width: 1e12,
            ..page("/w", "", "", 2)
        };
        let event = ingest(&t.track(Kind::Navigated, "", &wide, float).unwrap());
        assert_eq!(event.screen_width, None);
    }

    #[test]
    fn eids_are_random_v4_uuids() {
        let a = eid([7; 16]).unwrap();
        assert_eq!(a.get_version_num(), 4);
        assert_ne!(Some(a), eid([8; 16]));
        assert_eq!(eid([0; 16]), None);
    }
}
