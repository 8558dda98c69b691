//! Report filters: `property==value`, `!=`, `~=` (contains) and `!~=`, joined by `;`.
//!
//! The property is a built-in one or a custom one (`props.plan==pro`, see
//! [`Property`]). A value may list alternatives with `|` (`source==Google|Bing`: either); a negation holds
//! when none does. In the path properties (`path`, `entry_page`, `exit_page`), `*` stands for
//! any characters but `/` and `**` for any characters (`/blog/**`). `\|`, `\*` and `\\` are a
//! literal `|`, `*` and `\`. Matching is exact and case-sensitive, like the values reports show.

use beacon_event::EventError;
use regex::Regex;

use super::query::{MAX_FILTERS, MAX_FILTER_VALUE_CHARS};
use crate::rollup::Property;

/// The operators, longest first where one contains another.
const OPERATORS: [(&str, Op, bool); 4] = [
    ("!~=", Op::Contains, true),
    ("==", Op::Equals, false),
    ("!=", Op::Equals, true),
    ("~=", Op::Contains, false),
];

const SYNTAX: &str = "must be `property==value`, `!=`, `~=` (contains) or `!~=`, alternatives \
                      joined by `|`, conditions separated by `;`";

/// How a filter compares a value with each of its alternatives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Equals,
    Contains,
}

/// One alternative of a filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pattern {
    Text(String),
    /// A path pattern with `*` or `**`.
    Glob(Glob),
}

/// A compiled path pattern; equal when written the same.
#[derive(Debug, Clone)]
pub struct Glob {
    written: String,
    regex: Regex,
}

impl PartialEq for Glob {
    fn eq(&self, other: &Self) -> bool {
        self.written == other.written
    }
}

impl Eq for Glob {}

/// One condition of `filters`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    pub property: Property,
    pub op: Op,
    pub negated: bool,
    /// At least one.
    pub any_of: Vec<Pattern>,
}

impl Filter {
    /// A filter that holds for exactly `value` (or, negated, for anything else).
    pub fn equals(property: impl Into<Property>, value: &str, negated: bool) -> Self {
        Self {
            property: property.into(),
            op: Op::Equals,
            negated,
            any_of: vec![Pattern::Text(value.to_owned())],
        }
    }

    pub fn matches(&self, value: &str) -> bool {
        let hit = self.any_of.iter().any(|p| match (p, self.op) {
            (Pattern::Text(t), Op::Contains) => value.contains(t.as_str()),
            (p, _) => p.equals(value),
        });
        hit != self.negated
    }
}

impl Pattern {
    /// A page pattern as goals write it: the same wildcards and escapes as a path filter's
    /// value, without alternatives (`|` is a character).
    pub fn page(pattern: &str) -> Self {
        let escaped = pattern.replace('|', "\\|");
        let mut pieces = alternatives(&escaped);
        pattern_of(pieces.remove(0), true)
    }

    /// Whether `value` is this text, or matches this glob.
    pub fn equals(&self, value: &str) -> bool {
        match self {
            Self::Text(t) => t == value,
            Self::Glob(g) => g.regex.is_match(value),
        }
    }
}

/// Parses `filters`: at most [`MAX_FILTERS`] conditions.
pub fn parse_filters(text: &str) -> Result<Vec<Filter>, EventError> {
    let filters = text
        .split(';')
        .filter(|p| !p.trim().is_empty())
        .map(parse_one)
        .collect::<Result<Vec<Filter>, EventError>>()?;
    if filters.len() > MAX_FILTERS {
        return Err(EventError::field(
            "filters",
            format!("takes at most {MAX_FILTERS} conditions"),
        ));
    }
    Ok(filters)
}

fn parse_one(part: &str) -> Result<Filter, EventError> {
    // The first operator ends the property name: a value may hold one itself (`path==/a!=b`
    // is the path `/a!=b`).
    let (at, (operator, op, negated)) = part
        .char_indices()
        .find_map(|(i, _)| {
            let rest = &part[i..];
            OPERATORS
                .into_iter()
                .find(|(o, _, _)| rest.starts_with(o))
                .map(|found| (i, found))
        })
        .ok_or_else(|| EventError::field("filters", SYNTAX))?;
    let (name, value) = (&part[..at], &part[at + operator.len()..]);
    // Spaces around a name are ignored, but a custom property's key may end in one.
    let property = Property::parse(name.trim())
        .or_else(|| Property::parse(name.trim_start()))
        .ok_or_else(|| unknown_property(name))?;
    if property == Property::PropKeys {
        return Err(EventError::field(
            "filters",
            "filter on a custom property by its key: `props.<key>==value`",
        ));
    }
    if value.chars().count() > MAX_FILTER_VALUE_CHARS || value.chars().any(char::is_control) {
        return Err(EventError::field(
            "filters",
            "values are at most 2048 printable characters",
        ));
    }
    let globs = op == Op::Equals && property.is_path();
    let any_of = alternatives(value)
        .into_iter()
        .map(|alt| pattern_of(alt, globs))
        .collect();
    Ok(Filter {
        property,
        op,
        negated,
        any_of,
    })
}

fn unknown_property(name: &str) -> EventError {
    let shown: String = name.chars().filter(|c| !c.is_control()).take(64).collect();
    EventError::field(
        "filters",
        format!(
            "has unknown property `{shown}`; use one of: {}",
            Property::names()
        ),
    )
}

/// A piece of a value: a character as written (escaped or not), or a wildcard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Piece {
    Char(char),
    Star,
    DoubleStar,
}

/// `value` split at each `|` that is not escaped, each alternative read into pieces.
fn alternatives(value: &str) -> Vec<Vec<Piece>> {
    let mut out = vec![Vec::new()];
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        let current = out.last_mut().expect("never empty");
        match c {
            '\\' => current.push(Piece::Char(chars.next().unwrap_or('\\'))),
            '|' => out.push(Vec::new()),
            '*' if chars.peek() == Some(&'*') => {
                chars.next();
                current.push(Piece::DoubleStar);
            }
            '*' => current.push(Piece::Star),
            c => current.push(Piece::Char(c)),
        }
    }
    out
}

/// An alternative as a pattern: a glob when `globs` and it has a wildcard, else its text
/// (wildcards then standing for themselves).
fn pattern_of(pieces: Vec<Piece>, globs: bool) -> Pattern {
    let text = |pieces: &[Piece]| -> String {
        pieces
            .iter()
            .map(|p| match p {
                Piece::Char(c) => c.to_string(),
                Piece::Star => "*".to_owned(),
                Piece::DoubleStar => "**".to_owned(),
            })
            .collect()
    };
    if !globs || pieces.iter().all(|p| matches!(p, Piece::Char(_))) {
        return Pattern::Text(text(&pieces));
    }
    let mut source = String::from("^");
    for piece in &pieces {
        match piece {
            Piece::Char(c) => source.push_str(&regex::escape(&c.to_string())),
            Piece::Star => source.push_str("[^/]*"),
            Piece::DoubleStar => source.push_str(".*"),
        }
    }
    source.push('$');
    match Regex::new(&source) {
        Ok(regex) => Pattern::Glob(Glob {
            written: text(&pieces),
            regex,
        }),
        // Only a pattern over the regex size limit fails; it is then matched as text.
        Err(_) => Pattern::Text(text(&pieces)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(text: &str) -> Filter {
        let mut parsed = parse_filters(text).unwrap();
        assert_eq!(parsed.len(), 1, "{text}");
        parsed.remove(0)
    }

    fn holds(text: &str, value: &str) -> bool {
        filter(text).matches(value)
    }

    #[test]
    fn operators_alternatives_and_negations() {
        assert!(holds("source==Google", "Google"));
        assert!(!holds("source==Google", "google"));
        assert!(holds("source==Google|Bing", "Bing"));
        assert!(!holds("source!=Google|Bing", "Bing"));
        assert!(holds("source!=Google|Bing", "Direct"));
        assert!(holds("utm_campaign~=spring", "big-spring-sale"));
        assert!(!holds("utm_campaign!~=spring|fall", "fall-2026"));
        assert!(holds("utm_campaign!~=spring|fall", "winter"));
        assert!(holds("event_type==a\\|b", "a|b"));
        assert!(!holds("event_type==a\\|b", "a"));
        // The first operator ends the name; later ones belong to the value.
        let odd = filter("path==/a!=b");
        let path = Property::Dim(crate::rollup::Dimension::Path);
        assert_eq!((&odd.property, odd.negated), (&path, false));
        assert!(odd.matches("/a!=b"));
        let odd = filter("path!=x==y");
        assert!(odd.negated && !odd.matches("x==y"));
        assert!(holds("path!~=/admin", "/shop"));
    }

    #[test]
    fn path_wildcards() {
        assert!(holds("path==/blog/*", "/blog/hello"));
        assert!(!holds("path==/blog/*", "/blog/2026/hello"));
        assert!(holds("path==/blog/**", "/blog/2026/hello"));
        assert!(holds("path==/blog/**", "/blog/"));
        assert!(holds("entry_page==/*/pricing|/", "/de/pricing"));
        assert!(holds("exit_page!=/thanks*", "/cart"));
        assert!(!holds("exit_page!=/thanks*", "/thanks-a-lot"));
        assert!(holds("path==/a.b/(x)+", "/a.b/(x)+"));
        assert!(!holds("path==/a.b", "/aXb"));
        // Escaped, and outside path properties, a star is a star.
        assert!(holds("path==/\\*", "/*"));
        assert!(!holds("path==/\\*", "/x"));
        assert!(holds("source==*", "*"));
        assert!(!holds("source==*", "Google"));
        assert!(holds("path~=*", "/a*b"));
        assert!(holds("props.plan==pro|team", "team"));
        assert!(holds("props.slug==a*", "a*"));
        assert_eq!(filter(" props. ==x").property, Property::Prop(" ".into()));
        assert_eq!(
            filter(" source ==x").property,
            Property::Dim(crate::rollup::Dimension::Source)
        );
        assert!(Pattern::page("/blog/**").equals("/blog/a/b"));
        assert!(Pattern::page("/a|b").equals("/a|b"));
        assert!(!Pattern::page("/a|b").equals("/a"));
        assert!(Pattern::page("/x\\*").equals("/x*"));
    }

    #[test]
    fn malformed_filters_name_the_parameter() {
        for bad in [
            "source",
            "colour==red",
            "source=Google",
            "source~Google",
            "props==x",
        ] {
            assert_eq!(
                parse_filters(bad).unwrap_err().field,
                Some("filters"),
                "{bad}"
            );
        }
        let many = ["source==a"; MAX_FILTERS + 1].join(";");
        assert!(parse_filters(&many).is_err());
        assert!(parse_filters("").unwrap().is_empty());
    }
}
