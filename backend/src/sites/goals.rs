//! Goals and funnels of a registered site: what counts as a conversion (a page view whose path
//! matches a pattern, or a custom event by name), and ordered steps of them within one visit.
//! Managed with `beacon-admin goal add|list|remove` and `funnel add|list|remove`; reported by
//! `/stats/goals` and `/stats/funnel`.

use beacon_event::{EventType, PagePath};
use serde::{Deserialize, Serialize};

use super::{Site, Sites, SitesError};

/// Most goals a site has.
pub const MAX_GOALS: usize = 100;
/// Most funnels a site has.
pub const MAX_FUNNELS: usize = 20;
/// A funnel's steps: at least two, at most eight.
pub const FUNNEL_STEPS: std::ops::RangeInclusive<usize> = 2..=8;
/// Longest funnel name, in characters.
const MAX_FUNNEL_NAME_CHARS: usize = 64;

/// One goal, as stored in the site's `goals`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Goal {
    /// A page view on a path matching `path` (`*`: any characters but `/`; `**`: any).
    Page { path: String },
    /// A custom event named `name`.
    Event { name: String },
}

impl Goal {
    /// A page goal; the pattern follows the rules of a page path.
    pub fn page(path: &str) -> Result<Self, SitesError> {
        PagePath::parse(path).map_err(|e| SitesError::BadGoal(format!("page {path:?}: {e}")))?;
        Ok(Self::Page {
            path: path.to_owned(),
        })
    }

    /// A custom-event goal; `page_view` is a page goal (`--page /**`), not an event goal.
    pub fn event(name: &str) -> Result<Self, SitesError> {
        let kind = EventType::parse(name)
            .map_err(|e| SitesError::BadGoal(format!("event {name:?}: {e}")))?;
        if kind.is_page_view() {
            return Err(SitesError::BadGoal(
                "page views are page goals: use --page (e.g. --page '/**')".to_owned(),
            ));
        }
        Ok(Self::Event {
            name: name.to_owned(),
        })
    }

    /// A step as `beacon-admin funnel add --step` takes it: `page:/pricing` or `event:signup`.
    pub fn parse_step(step: &str) -> Result<Self, SitesError> {
        match step.split_once(':') {
            Some(("page", path)) => Self::page(path),
            Some(("event", name)) => Self::event(name),
            _ => Err(SitesError::BadGoal(format!(
                "step {step:?}: expected page:<path pattern> or event:<name>"
            ))),
        }
    }

    /// How reports and the dashboard name it: `Visit /blog/*`, or the event's name.
    pub fn display_name(&self) -> String {
        match self {
            Self::Page { path } => format!("Visit {path}"),
            Self::Event { name } => name.clone(),
        }
    }
}

/// Ordered steps within one visit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Funnel {
    pub name: String,
    pub steps: Vec<Goal>,
}

impl Funnel {
    pub fn new(name: &str, steps: Vec<Goal>) -> Result<Self, SitesError> {
        let chars = name.chars().count();
        if chars == 0 || chars > MAX_FUNNEL_NAME_CHARS || name.chars().any(char::is_control) {
            return Err(SitesError::BadGoal(format!(
                "funnel name {name:?}: 1-64 characters, no control characters"
            )));
        }
        if !FUNNEL_STEPS.contains(&steps.len()) {
            return Err(SitesError::BadGoal(format!(
                "a funnel has 2 to 8 steps, not {}",
                steps.len()
            )));
        }
        Ok(Self {
            name: name.to_owned(),
            steps,
        })
    }
}

impl Sites {
    /// Adds `goal` to `site`; adding one it has is refused.
    pub async fn add_goal(&self, site: &str, goal: Goal) -> Result<Site, SitesError> {
        let found = self.registered(site).await?;
        if found.goals.contains(&goal) {
            return Err(SitesError::BadGoal(format!(
                "site `{site}` already has the goal {:?}",
                goal.display_name()
            )));
        }
        if found.goals.len() >= MAX_GOALS {
            return Err(SitesError::BadGoal(format!(
                "a site has at most {MAX_GOALS} goals"
            )));
        }
        self.push(site, "goals", mongodb::bson::to_document(&goal)?)
            .await?;
        self.registered(site).await
    }

    /// Removes `goal` from `site`; false if it had none such.
    pub async fn remove_goal(&self, site: &str, goal: &Goal) -> Result<bool, SitesError> {
        self.pull_where(site, "goals", mongodb::bson::to_document(goal)?)
            .await
    }

    /// Adds `funnel` to `site`; a name it has is refused.
    pub async fn add_funnel(&self, site: &str, funnel: Funnel) -> Result<Site, SitesError> {
        let found = self.registered(site).await?;
        if found.funnels.iter().any(|f| f.name == funnel.name) {
            return Err(SitesError::BadGoal(format!(
                "site `{site}` already has a funnel named {:?}",
                funnel.name
            )));
        }
        if found.funnels.len() >= MAX_FUNNELS {
            return Err(SitesError::BadGoal(format!(
                "a site has at most {MAX_FUNNELS} funnels"
            )));
        }
        self.push(site, "funnels", mongodb::bson::to_document(&funnel)?)
            .await?;
        self.registered(site).await
    }

    /// Removes the funnel named `name` from `site`; false if it had none such.
    pub async fn remove_funnel(&self, site: &str, name: &str) -> Result<bool, SitesError> {
        self.pull_where(site, "funnels", mongodb::bson::doc! { "name": name })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn goals_and_funnels_follow_the_event_rules() {
        assert_eq!(
            Goal::parse_step("page:/blog/**").unwrap(),
            Goal::Page {
                path: "/blog/**".into()
            }
        );
        assert_eq!(
            Goal::parse_step("event:signup").unwrap().display_name(),
            "signup"
        );
        assert_eq!(
            Goal::page("/thanks").unwrap().display_name(),
            "Visit /thanks"
        );
        for bad in [
            "page:blog",
            "event:",
            "event:page_view",
            "click:x",
            "/pricing",
        ] {
            assert!(Goal::parse_step(bad).is_err(), "{bad}");
        }
        let steps = |n: usize| vec![Goal::event("a").unwrap(); n];
        assert!(Funnel::new("signup", steps(2)).is_ok());
        assert!(Funnel::new("signup", steps(8)).is_ok());
        assert!(Funnel::new("signup", steps(1)).is_err());
        assert!(Funnel::new("signup", steps(9)).is_err());
        assert!(Funnel::new("", steps(2)).is_err());
        let stored = mongodb::bson::to_document(&Goal::page("/a").unwrap()).unwrap();
        assert_eq!(stored, mongodb::bson::doc! { "kind": "page", "path": "/a" });
    }
}
