//! Which URL counts as "the page", and when a single-page app has moved to a new one.
//!
//! Routers call `history.pushState`/`replaceState` far more often than the visitor changes
//! page (scroll restoration, state updates, query-string filters), so an automatic page view is
//! only counted when the page *key* (the path, plus the fragment in hash mode) changed.

use std::string::String;

/// The parts of `window.location` the tracker looks at.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Location {
    pub pathname: String,
    /// `?utm_source=...` or empty.
    pub search: String,
    /// `#/settings` or empty.
    pub hash: String,
}

impl Location {
    /// The `path` field sent with an event: path and query string (so UTM parameters survive),
    /// plus the fragment in hash mode.
    pub fn page_path(&self, hash_mode: bool) -> String {
        let mut path = String::with_capacity(self.pathname.len() + self.search.len());
        if self.pathname.as_bytes().first() != Some(&b'/') {
            path.push('/');
        }
        path.push_str(&self.pathname);
        path.push_str(&self.search);
        if hash_mode {
            path.push_str(&self.hash);
        }
        path
    }

    /// What identifies the page for de-duplication: the path without the query string, plus
    /// the fragment in hash mode.
    pub fn page_key(&self, hash_mode: bool) -> String {
        let mut key = self.pathname.clone();
        if hash_mode {
            key.push_str(&self.hash);
        }
        key
    }
}

/// Remembers the page last counted.
#[derive(Debug, Default)]
pub struct Navigation {
    last_key: Option<String>,
}

impl Navigation {
    /// A navigation happened (load, pushState, replaceState, popstate, hashchange): true if it
    /// reached a page other than the one last counted, which is then remembered.
    pub fn moved_to(&mut self, key: String) -> bool {
        if self.last_key.as_deref() == Some(key.as_str()) {
            return false;
        }
        self.last_key = Some(key);
        true
    }

    /// An explicit `beacon('pageview')`: always counted, and remembered.
    pub fn counted(&mut self, key: String) {
        self.last_key = Some(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loc(pathname: &str, search: &str, hash: &str) -> Location {
        Location {
            pathname: pathname.into(),
            search: search.into(),
            hash: hash.into(),
        }
    }

    #[test]
    fn page_path_keeps_the_query_and_the_hash_only_in_hash_mode() {
        let l = loc("/pricing", "?utm_source=news", "#plans");
        assert_eq!(l.page_path(false), "/pricing?utm_source=news");
        assert_eq!(l.page_path(true), "/pricing?utm_source=news#plans");
        assert_eq!(loc("", "", "").page_path(false), "/");
    }

    #[test]
    fn same_page_is_not_counted_twice() {
        let mut nav = Navigation::default();
        let key = |l: &Location| l.page_key(false);
        assert!(nav.moved_to(key(&loc("/", "", ""))), "initial load");
        // replaceState with the same path (state update, or a query-string filter)
        assert!(!nav.moved_to(key(&loc("/", "", ""))));
        assert!(!nav.moved_to(key(&loc("/", "?sort=price", ""))));
        // a hash change is not a new page unless in hash mode
        assert!(!nav.moved_to(key(&loc("/", "", "#top"))));
        assert!(nav.moved_to(key(&loc("/about", "", ""))), "pushState");
        assert!(nav.moved_to(key(&loc("/", "", ""))), "back (popstate)");
    }

    #[test]
    fn hash_mode_counts_fragment_routes() {
        let mut nav = Navigation::default();
        let key = |l: &Location| l.page_key(true);
        assert!(nav.moved_to(key(&loc("/", "", "#/inbox"))));
        // popstate and hashchange both fire for one fragment navigation
        assert!(nav.moved_to(key(&loc("/", "", "#/settings"))));
        assert!(!nav.moved_to(key(&loc("/", "", "#/settings"))));
    }

    #[test]
    fn explicit_page_views_always_count_and_reset_the_key() {
        let mut nav = Navigation::default();
        assert!(nav.moved_to("/a".into()));
        nav.counted("/b".into());
        assert!(!nav.moved_to("/b".into()));
    }
}
