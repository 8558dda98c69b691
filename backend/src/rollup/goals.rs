//! Goals and funnels as the worker counts them and reports read them: which events complete a
//! goal or a funnel's step, and the keys their rollup documents are stored under.
//!
//! A goal's documents (`dim` `goal`, value its [`goal_key`]) count its converting events and each
//! converting visitor once a day; its revenue goes to one document per currency (`dim`
//! `goal_revenue`, value `<currency>|<key>`). A funnel's step `k` (`dim` `funnel`, value
//! [`funnel_value`]) counts each visitor once a day who completed it, after steps 1 to k-1 in
//! the same visit, with an event of that day. Goals and funnels are registered and removed at any
//! time, so a day's site total lists the keys of those every one of its events was matched
//! against (`goals`, kept by the worker as the intersection of the sets it used for the day):
//! reports read a goal or funnel from rollups only over days that list it.

use std::collections::{BTreeMap, BTreeSet};

use beacon_event::fields::PAGE_VIEW;
use beacon_event::SiteId;

use crate::report::filter::Pattern;
use crate::sites::{Funnel, Goal};

/// The stored key of a goal: `page:<pattern>` or `event:<name>`, as `funnel add --step` writes
/// it (its documents' value, and its entry in a day's list).
pub fn goal_key(goal: &Goal) -> String {
    match goal {
        Goal::Page { path } => format!("page:{path}"),
        Goal::Event { name } => format!("event:{name}"),
    }
}

/// The stored key of a funnel: its name and its steps' keys (a funnel removed and added again
/// with other steps is another funnel), separated by a control character neither can hold.
pub fn funnel_key(funnel: &Funnel) -> String {
    let steps: Vec<String> = funnel.steps.iter().map(goal_key).collect();
    format!("funnel:{}\u{1f}{}", funnel.name, steps.join("\u{1f}"))
}

/// The value of a funnel's document for its step `step` (1-based; digits first, so the key
/// follows unambiguously).
pub fn funnel_value(step: usize, key: &str) -> String {
    format!("{step}|{key}")
}

/// The value of a goal's revenue document in `currency` (three letters, so the key follows
/// unambiguously).
pub fn revenue_value(currency: &str, key: &str) -> String {
    format!("{currency}|{key}")
}

/// A goal, ready to test events against: its path pattern compiled.
pub enum Matcher {
    Page(Pattern),
    Event(String),
}

impl Matcher {
    pub fn new(goal: &Goal) -> Self {
        match goal {
            Goal::Page { path } => Self::Page(Pattern::page(path)),
            Goal::Event { name } => Self::Event(name.clone()),
        }
    }

    /// Whether an event of this type on this path completes the goal.
    pub fn matches(&self, event_type: &str, path: &str) -> bool {
        match self {
            Self::Event(name) => event_type == name,
            Self::Page(page) => event_type == PAGE_VIEW && page.equals(path),
        }
    }
}

/// One goal as the worker counts it.
pub struct GoalRule {
    pub key: String,
    pub matcher: Matcher,
}

/// One funnel as the worker counts it.
pub struct FunnelRule {
    pub key: String,
    pub steps: Vec<Matcher>,
}

/// One site's goals and funnels.
#[derive(Default)]
pub struct GoalSet {
    pub goals: Vec<GoalRule>,
    pub funnels: Vec<FunnelRule>,
}

impl GoalSet {
    /// No goals, no funnels.
    pub const NONE: GoalSet = GoalSet {
        goals: Vec::new(),
        funnels: Vec::new(),
    };

    pub fn new(goals: &[Goal], funnels: &[Funnel]) -> Self {
        let goals = goals.iter().map(|g| GoalRule {
            key: goal_key(g),
            matcher: Matcher::new(g),
        });
        let funnels = funnels.iter().map(|f| FunnelRule {
            key: funnel_key(f),
            steps: f.steps.iter().map(Matcher::new).collect(),
        });
        Self {
            goals: goals.collect(),
            funnels: funnels.collect(),
        }
    }

    /// The keys of these goals and funnels: what a day counted by this set lists.
    pub fn keys(&self) -> BTreeSet<String> {
        let goals = self.goals.iter().map(|g| g.key.clone());
        goals
            .chain(self.funnels.iter().map(|f| f.key.clone()))
            .collect()
    }
}

static NO_GOALS: GoalSet = GoalSet::NONE;

/// Each site's goals and funnels, read once per batch so that one batch counts by one set.
#[derive(Default)]
pub struct SiteGoals {
    by_site: BTreeMap<SiteId, GoalSet>,
}

impl SiteGoals {
    /// No site has goals or funnels.
    pub const NONE: SiteGoals = SiteGoals {
        by_site: BTreeMap::new(),
    };

    pub fn new(registered: impl IntoIterator<Item = (SiteId, GoalSet)>) -> Self {
        Self {
            by_site: registered.into_iter().collect(),
        }
    }

    /// `site`'s goals and funnels (none for a site without them or not registered).
    pub fn of(&self, site: &SiteId) -> &GoalSet {
        self.by_site.get(site).unwrap_or(&NO_GOALS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_matching() {
        let page = Goal::page("/blog/*").unwrap();
        let event = Goal::event("signup").unwrap();
        assert_eq!(goal_key(&page), "page:/blog/*");
        assert_eq!(goal_key(&event), "event:signup");
        assert_eq!(revenue_value("EUR", "event:signup"), "EUR|event:signup");
        let (page, event) = (Matcher::new(&page), Matcher::new(&event));
        assert!(page.matches("page_view", "/blog/a"));
        assert!(!page.matches("page_view", "/blog/a/b"));
        assert!(!page.matches("signup", "/blog/a"));
        assert!(event.matches("signup", "/anywhere"));
        assert!(!event.matches("page_view", "/signup"));
        let steps = vec![Goal::page("/").unwrap(), Goal::event("signup").unwrap()];
        let funnel = Funnel::new("a|b", steps).unwrap();
        assert_eq!(
            funnel_key(&funnel),
            "funnel:a|b\u{1f}page:/\u{1f}event:signup"
        );
        assert_eq!(funnel_value(2, "funnel:x"), "2|funnel:x");
        let site = SiteId::parse("s").unwrap();
        let set = GoalSet::new(&[Goal::event("signup").unwrap()], &[funnel]);
        let goals = SiteGoals::new([(site.clone(), set)]);
        let keys = goals.of(&site).keys();
        let want = ["event:signup", "funnel:a|b\u{1f}page:/\u{1f}event:signup"];
        assert_eq!(keys, want.map(str::to_owned).into());
        assert!(goals.of(&SiteId::parse("other").unwrap()).keys().is_empty());
    }
}
