//! Is this User-Agent a person's browser, or a program?
//!
//! Why: bot traffic inflates every number a site owner looks at, and most of it announces
//! itself. Three independent, maintained signals are combined, and any one is enough:
//! - the [`isbot`] crate's pattern list (crawlers, monitors, link previewers, HTTP libraries
//!   such as curl, wget, python-requests, Go-http-client, axios, okhttp, Java/), compiled into
//!   one case-insensitive regex;
//! - uap-core's "Spider" device family (see [`crate::ua`]), which tracks new search and AI
//!   crawlers;
//! - headless automation builds (HeadlessChrome, PhantomJS), which is what Puppeteer and
//!   Playwright send by default.
//!
//! [`EXTRA_PATTERNS`] adds the clients that appeared after isbot's list was last published
//! (AI assistants fetching on a user's behalf, newer HTTP libraries). It is data, kept short.
//!
//! A missing or empty User-Agent is deliberately **not** a bot: server-side integrations post
//! events without one.

use crate::ua::{bounded, UaInfo, MAX_UA_BYTES};

/// Lower-case regex fragments added to isbot's list: clients it does not know yet.
pub const EXTRA_PATTERNS: &[&str] = &[
    // AI crawlers and assistants fetching on a user's behalf.
    "chatgpt-user",
    "claude-user",
    "claude-web",
    "anthropic-ai",
    "perplexity-user",
    "meta-externalagent",
    "meta-externalfetcher",
    "cohere-ai",
    "googleother",
    "ia_archiver",
    // Headless and automation tooling.
    "headless",
    "puppeteer",
    "playwright",
    "cypress/",
    "screaming frog",
    "gtmetrix",
    // HTTP libraries and scripting runtimes.
    "^node$",
    "undici",
    "^deno/",
    "^bun/",
    "^ruby",
    "^rest-client",
    "^faraday",
    "^http\\.rb",
    "^mechanize",
    "^dart/",
    "^reqwest",
    "^wget",
    "^libcurl",
    "winhttp",
    "windowspowershell",
    "lwp::",
    "^python/",
    "^python-",
];

/// The compiled bot patterns. Built once, shared read-only.
pub struct BotDetector {
    patterns: isbot::Bots,
}

impl std::fmt::Debug for BotDetector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BotDetector").finish_non_exhaustive()
    }
}

impl Default for BotDetector {
    fn default() -> Self {
        Self::new()
    }
}

impl BotDetector {
    /// isbot's list plus [`EXTRA_PATTERNS`].
    pub fn new() -> Self {
        let mut patterns = isbot::Bots::default();
        patterns.append(EXTRA_PATTERNS);
        Self { patterns }
    }

    /// Whether the pattern list alone recognises `user_agent` (empty → false).
    pub fn matches(&self, user_agent: &str) -> bool {
        let ua = bounded(user_agent.trim(), MAX_UA_BYTES);
        !ua.is_empty() && self.patterns.is_bot(ua)
    }

    /// The combined verdict: pattern list, uap-core's crawler class, or a headless browser.
    pub fn is_bot(&self, user_agent: &str, parsed: &UaInfo) -> bool {
        parsed.spider || parsed.headless || self.matches(user_agent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extra_patterns_compile_and_match() {
        let bots = BotDetector::new();
        for ua in [
            "node",
            "undici",
            "Deno/2.1.4",
            "Bun/1.1.38",
            "Ruby",
            "Dart/3.5 (dart:io)",
            "python-httpx/0.28.1",
            "Python/3.12 aiohttp/3.11.10",
            "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko); compatible; ChatGPT-User/1.0; +https://openai.com/bot",
            "Mozilla/5.0 (Windows NT; Windows NT 10.0; en-US) WindowsPowerShell/5.1.22621.4391",
        ] {
            assert!(bots.matches(ua), "{ua}");
        }
        assert!(!bots.matches(""));
        assert!(
            !bots.matches("Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0")
        );
    }
}
