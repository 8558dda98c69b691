//! What a breakdown, a filter or a rollup document names: one of the built-in [`Dimension`]s,
//! or a custom property the tracker sent with its events (`props.plan`, Plausible's
//! `event:props:plan`), or the custom properties' keys.
//!
//! Custom properties belong to each event (like `path`). The worker rolls up each key's values
//! (`dim` `props.<key>`) and the keys themselves (`dim` `props`); their values are shown as text
//! ([`super::prop_text`]).

use std::borrow::Cow;
use std::fmt;

use beacon_event::limits::MAX_PROP_KEY_CHARS;

use crate::rollup::Dimension;

/// The prefix that names a custom property.
pub const PROPS_PREFIX: &str = "props.";
/// The name of the custom properties' keys themselves (a breakdown only).
pub const PROP_KEYS: &str = "props";
/// The `dim` of goal conversion documents.
pub const GOAL: &str = "goal";
/// The `dim` of goal revenue documents.
pub const GOAL_REVENUE: &str = "goal_revenue";
/// The `dim` of funnel step documents.
pub const FUNNEL: &str = "funnel";

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Property {
    Dim(Dimension),
    /// A custom property's key (1–64 characters, no control characters).
    Prop(String),
    /// The keys of the custom properties events carry: which properties there are (a
    /// breakdown only).
    PropKeys,
    /// Goal conversions, per goal ([`super::goals`]): rollup documents only, never parsed.
    Goal,
    /// Goal revenue, per currency and goal: rollup documents only, never parsed.
    GoalRevenue,
    /// Funnel steps reached, per step and funnel: rollup documents only, never parsed.
    Funnel,
}

impl Property {
    /// A dimension's name, or `props.` and a key under the tracker's key rules.
    pub fn parse(name: &str) -> Option<Self> {
        if let Some(key) = name.strip_prefix(PROPS_PREFIX) {
            let chars = key.chars().count();
            let valid =
                (1..=MAX_PROP_KEY_CHARS).contains(&chars) && !key.chars().any(char::is_control);
            return valid.then(|| Self::Prop(key.to_owned()));
        }
        if name == PROP_KEYS {
            return Some(Self::PropKeys);
        }
        Dimension::parse(name).map(Self::Dim)
    }

    /// The built-in dimension, if it is one.
    pub fn dimension(&self) -> Option<Dimension> {
        match self {
            Self::Dim(d) => Some(*d),
            Self::Prop(_) | Self::PropKeys | Self::Goal | Self::GoalRevenue | Self::Funnel => None,
        }
    }

    /// Whether the values are page paths (filters read wildcards in them).
    pub fn is_path(&self) -> bool {
        self.dimension().is_some_and(Dimension::is_path)
    }

    /// The `dim` its rollup documents are stored under: for what a query can name, the name
    /// [`Property::parse`] reads.
    pub fn stored(&self) -> Cow<'static, str> {
        match self {
            Self::Dim(d) => Cow::Borrowed(d.name()),
            Self::PropKeys => Cow::Borrowed(PROP_KEYS),
            Self::Goal => Cow::Borrowed(GOAL),
            Self::GoalRevenue => Cow::Borrowed(GOAL_REVENUE),
            Self::Funnel => Cow::Borrowed(FUNNEL),
            Self::Prop(key) => Cow::Owned(format!("{PROPS_PREFIX}{key}")),
        }
    }

    /// [`Property::stored`] where it is one part of a string with `|` (ids) or `=` (seen keys)
    /// between the parts: a key's `%`, `|` and `=` percent-encoded, so no two properties give
    /// the same part. Built-in names and `props` have none of them.
    pub fn delimited(&self) -> Cow<'static, str> {
        match self {
            Self::Prop(key) if key.contains(['%', '|', '=']) => {
                let key = key
                    .replace('%', "%25")
                    .replace('|', "%7C")
                    .replace('=', "%3D");
                Cow::Owned(format!("{PROPS_PREFIX}{key}"))
            }
            _ => self.stored(),
        }
    }

    /// Every name [`Property::parse`] accepts, for error messages.
    pub fn names() -> String {
        let mut names: Vec<&str> = Dimension::ALL.iter().map(|d| d.name()).collect();
        names.extend([PROP_KEYS, "props.<key>"]);
        names.join(", ")
    }
}

impl From<Dimension> for Property {
    fn from(d: Dimension) -> Self {
        Self::Dim(d)
    }
}

impl fmt::Display for Property {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.stored())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_and_print_back() {
        for name in [
            "path",
            "country",
            "props",
            "props.plan",
            "props.a b",
            "props.ünï",
        ] {
            assert_eq!(Property::parse(name).unwrap().to_string(), name);
        }
        assert_eq!(
            Property::parse("props.plan"),
            Some(Property::Prop("plan".into()))
        );
        let long = format!("props.{}", "k".repeat(64));
        assert!(Property::parse(&long).is_some());
        for bad in [
            "props.",
            "Props",
            "colour",
            "props.a\nb",
            &format!("{long}k"),
        ] {
            assert_eq!(Property::parse(bad), None, "{bad}");
        }
        assert!(Property::Dim(Dimension::ExitPage).is_path());
        assert!(!Property::Prop("path".into()).is_path());
    }

    #[test]
    fn delimited_names_cannot_collide() {
        let names = ["a|b", "a", "a%7Cb", "a=b", "a%3Db", "%", "%25"]
            .map(|k| Property::Prop(k.into()).delimited().into_owned());
        let distinct: std::collections::HashSet<&String> = names.iter().collect();
        assert_eq!(distinct.len(), names.len(), "{names:?}");
        assert!(names.iter().all(|n| !n.contains(['|', '='])), "{names:?}");
        assert_eq!(Property::Prop("plan".into()).delimited(), "props.plan");
        assert_eq!(Property::Dim(Dimension::Path).delimited(), "path");
    }
}
