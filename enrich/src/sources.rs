//! Which named source a referrer host belongs to, and what kind of source it is.
//!
//! The names come from Matomo's search engine, social network and AI assistant lists (vendored
//! in `data/matomo`, CC0, see its README), kept current by the Matomo community, plus
//! [`OWN`]: the web mail hosts and Android apps those lists lack, which the Email channel and
//! `android-app://` referrers need. A host matches an entry, or a subdomain of it; `name.{}`
//! entries match the name under any one or two short top-level labels (`google.de`,
//! `google.co.uk`). The longest matching suffix wins, so `news.google.com` can be Google News
//! while `google.com` is Google.

use std::collections::HashMap;
use std::sync::LazyLock;

use serde::Deserialize;

/// What kind of site a named source is; the acquisition channel follows from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    Search,
    Social,
    Email,
    AiAssistant,
    /// Named, but none of the above (Google's own non-search pages, Wikipedia).
    Other,
}

/// A named source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Known {
    pub name: &'static str,
    pub category: Category,
}

/// Beacon's own entries, in the lists' pattern syntax: taken before the lists'.
const OWN: &[(&str, &str, Category)] = &[
    ("mail.google.{}", "Gmail", Category::Email),
    ("com.google.android.gm", "Gmail", Category::Email),
    ("news.google.{}", "Google News", Category::Other),
    ("outlook.live.com", "Outlook", Category::Email),
    ("outlook.office.com", "Outlook", Category::Email),
    ("outlook.office365.com", "Outlook", Category::Email),
    ("com.microsoft.office.outlook", "Outlook", Category::Email),
    ("mail.yahoo.com", "Yahoo Mail", Category::Email),
    ("mail.proton.me", "Proton Mail", Category::Email),
    (
        "com.google.android.googlequicksearchbox",
        "Google",
        Category::Search,
    ),
    (
        "com.google.android.apps.searchlite",
        "Google",
        Category::Search,
    ),
    ("com.google.android.youtube", "YouTube", Category::Social),
    ("com.twitter.android", "Twitter", Category::Social),
    ("com.facebook.katana", "Facebook", Category::Social),
    ("com.facebook.lite", "Facebook", Category::Social),
    ("com.facebook.orca", "Facebook Messenger", Category::Social),
    ("messenger.com", "Facebook Messenger", Category::Social),
    ("com.instagram.android", "Instagram", Category::Social),
    ("com.linkedin.android", "LinkedIn", Category::Social),
    ("com.slack", "Slack", Category::Social),
    ("slack.com", "Slack", Category::Social),
    ("org.telegram.messenger", "Telegram", Category::Social),
    ("com.whatsapp", "WhatsApp", Category::Social),
    ("com.discord", "Discord", Category::Social),
    ("com.pinterest", "Pinterest", Category::Social),
    ("com.zhiliaoapp.musically", "TikTok", Category::Social),
    ("wikipedia.org", "Wikipedia", Category::Other),
    ("lobste.rs", "Lobsters", Category::Social),
    ("producthunt.com", "Product Hunt", Category::Social),
    ("dev.to", "DEV", Category::Social),
];

/// The lists' names shown otherwise: Beacon's earlier names for the same sources, so reports
/// keep one row per source across the switch to the lists.
const RENAMED: &[(&str, &str)] = &[
    ("reddit", "Reddit"),
    ("Yahoo!", "Yahoo"),
    ("Brave", "Brave Search"),
    ("Google%2B", "Google+"),
    ("Vkontakte", "VKontakte"),
    ("StackOverflow", "Stack Overflow"),
];

const SEARCH_ENGINES: &str = include_str!("../data/matomo/search_engines.json");
const SOCIALS: &str = include_str!("../data/matomo/socials.json");
const AI_ASSISTANTS: &str = include_str!("../data/matomo/ai_assistants.json");

/// One definition of a search engine in the list; only its hosts are read.
#[derive(Deserialize)]
struct Engine {
    #[serde(default)]
    urls: Vec<String>,
}

/// The lists, indexed.
struct Table {
    /// Host (or Android package) → source; subdomains match too.
    exact: HashMap<String, Known>,
    /// `name` of a `name.{}` entry → source.
    any_tld: HashMap<String, Known>,
    /// Lower-case source name → its category, for sources named by a campaign tag.
    by_name: HashMap<String, Category>,
}

static TABLE: LazyLock<Table> = LazyLock::new(Table::load);

impl Table {
    fn load() -> Self {
        let mut table = Self {
            exact: HashMap::new(),
            any_tld: HashMap::new(),
            by_name: HashMap::new(),
        };
        for &(pattern, name, category) in OWN {
            table.add(pattern, Known { name, category });
        }
        let socials: Vec<(String, Vec<String>)> = named_lists(SOCIALS);
        table.add_all(socials, Category::Social);
        let assistants: Vec<(String, Vec<String>)> = named_lists(AI_ASSISTANTS);
        table.add_all(assistants, Category::AiAssistant);
        // An engine's first definition holds its own hosts; the later ones are other sites'
        // searches it powers (`www.cnn.com` under Google), which are not that engine.
        let engines: Vec<(String, Vec<Engine>)> = named_lists(SEARCH_ENGINES);
        let engines = engines.into_iter().map(|(name, definitions)| {
            let hosts = definitions.into_iter().next().map(|d| d.urls);
            (name, hosts.unwrap_or_default())
        });
        table.add_all(engines, Category::Search);
        table
    }

    fn add_all(&mut self, lists: impl IntoIterator<Item = (String, Vec<String>)>, c: Category) {
        for (name, patterns) in lists {
            let name: &'static str = Box::leak(shown_name(&name).into_boxed_str());
            for pattern in patterns {
                self.add(&pattern, Known { name, category: c });
            }
        }
    }

    /// Adds one pattern unless an earlier entry has it: `{}.` in front means any subdomain
    /// (which every entry matches anyway), a path after the host is ignored.
    fn add(&mut self, pattern: &str, known: Known) {
        self.by_name
            .entry(known.name.to_ascii_lowercase())
            .or_insert(known.category);
        let host = pattern.split('/').next().unwrap_or("").to_ascii_lowercase();
        let host = host.trim_start_matches("{}.");
        let host = host.strip_prefix("www.").unwrap_or(host);
        if host.is_empty() || host.contains('{') && !host.ends_with(".{}") {
            return;
        }
        match host.strip_suffix(".{}") {
            Some(base) => self.any_tld.entry(base.to_owned()).or_insert(known),
            None => self.exact.entry(host.to_owned()).or_insert(known),
        };
    }

    /// The longest suffix of `host` that an entry matches (suffixes are slices of `host`: no
    /// allocation on ingestion's path).
    fn lookup(&self, host: &str) -> Option<Known> {
        let starts = std::iter::once(0).chain(host.match_indices('.').map(|(i, _)| i + 1));
        starts.map(|at| &host[at..]).find_map(|suffix| {
            self.exact
                .get(suffix)
                .copied()
                .or_else(|| self.under_any_tld(suffix))
        })
    }

    /// `suffix` as a `name.{}` entry: the name under one or two short top-level labels.
    fn under_any_tld(&self, suffix: &str) -> Option<Known> {
        let mut base = suffix;
        for _ in 0..2 {
            let (rest, label) = base.rsplit_once('.')?;
            if !is_short_label(label) {
                return None;
            }
            base = rest;
            if let Some(known) = self.any_tld.get(base) {
                return Some(*known);
            }
        }
        None
    }
}

/// A list file: an object of name → entries, in file order.
fn named_lists<T: for<'de> Deserialize<'de>>(json: &str) -> Vec<(String, Vec<T>)> {
    let lists: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(json).expect("a vendored list is valid JSON");
    lists
        .into_iter()
        .map(|(name, entries)| {
            let entries = serde_json::from_value(entries).expect("a vendored list's entries");
            (name, entries)
        })
        .collect()
}

fn shown_name(name: &str) -> String {
    let renamed = RENAMED.iter().find(|(from, _)| *from == name);
    renamed.map_or(name, |(_, to)| to).to_owned()
}

/// A country or generic top-level label: two or three letters (`de`, `com`, `co`).
fn is_short_label(label: &str) -> bool {
    (2..=3).contains(&label.len()) && label.bytes().all(|b| b.is_ascii_alphabetic())
}

/// The named source of a referrer host (lower case, without `www.`) or Android package.
pub fn lookup(host: &str) -> Option<Known> {
    TABLE.lookup(host)
}

/// The category of a source as reports show it: a name from the lists (any case, so a
/// campaign's `utm_source=google` is a search engine) or a host.
pub fn category_of(source: &str) -> Option<Category> {
    let lower = source.trim().to_ascii_lowercase();
    TABLE
        .by_name
        .get(&lower)
        .copied()
        .or_else(|| lookup(lower.strip_prefix("www.").unwrap_or(&lower)).map(|k| k.category))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(host: &str) -> Option<&'static str> {
        lookup(host).map(|k| k.name)
    }

    #[test]
    fn the_lists_name_hosts_their_subdomains_and_country_domains() {
        assert_eq!(name("google.com"), Some("Google"));
        assert_eq!(name("google.co.uk"), Some("Google"));
        assert_eq!(name("google.com.br"), Some("Google"));
        assert_eq!(name("images.google.com.br"), Some("Google Images"));
        assert_eq!(name("mail.google.com"), Some("Gmail"));
        assert_eq!(name("news.google.de"), Some("Google News"));
        assert_eq!(name("t.co"), Some("Twitter"));
        assert_eq!(name("np.reddit.com"), Some("Reddit"));
        assert_eq!(name("news.ycombinator.com"), Some("Hacker News"));
        assert_eq!(name("chatgpt.com"), Some("ChatGPT"));
        assert_eq!(name("search.brave.com"), Some("Brave Search"));
        assert_eq!(name("com.reddit.frontpage"), Some("Reddit"));
        assert_eq!(name("stackoverflow.com"), Some("Stack Overflow"));
        assert_eq!(name("lobste.rs"), Some("Lobsters"));
    }

    #[test]
    fn lookalikes_and_powered_searches_are_not_the_engine() {
        assert_eq!(name("google.evil.example"), None);
        assert_eq!(name("mygoogle.com"), None);
        assert_eq!(name("google.a.b.c"), None);
        assert_eq!(name("notgithub.com"), None);
        assert_eq!(name("cnn.com"), None);
    }

    #[test]
    fn categories_by_name_or_host() {
        assert_eq!(category_of("Google"), Some(Category::Search));
        assert_eq!(category_of("google"), Some(Category::Search));
        assert_eq!(category_of("bing.com"), Some(Category::Search));
        assert_eq!(category_of("Facebook"), Some(Category::Social));
        assert_eq!(category_of("Gmail"), Some(Category::Email));
        assert_eq!(category_of("Perplexity"), Some(Category::AiAssistant));
        assert_eq!(category_of("newsletter"), None);
        assert_eq!(category_of("example.com"), None);
    }
}
