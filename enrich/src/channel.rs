//! Acquisition channels: a visit's source and campaign tags grouped the way Google Analytics'
//! default channel grouping (and Plausible after it) groups them, so "how much came from
//! search, social, e-mail, ads" is one small table.
//!
//! A pure function of what every stored visit already has (its source as reports show it and
//! its `utm_source`, `utm_medium`, `utm_campaign`), so visits stored before channels existed
//! get one too, and a rebuild recomputes them with the current lists.

use crate::sources::{self, Category};

/// The channels, in the order the rules try them.
pub const CHANNELS: [&str; 16] = [
    DIRECT,
    "Cross-network",
    "Paid Search",
    "Organic Search",
    "Paid Social",
    "Organic Social",
    "AI Assistants",
    "Email",
    "Affiliates",
    "Display",
    "Paid Other",
    "Audio",
    "SMS",
    "Mobile Push Notifications",
    "Referral",
    "Unassigned",
];

const DIRECT: &str = beacon_event::event::DIRECT;

/// What a visit's channel is decided from.
#[derive(Debug, Clone, Copy, Default)]
pub struct Tags<'a> {
    /// The source as reports show it: a name, a domain, a `utm_source`, or "" / "Direct".
    pub source: &'a str,
    pub utm_source: &'a str,
    pub utm_medium: &'a str,
    pub utm_campaign: &'a str,
}

/// The channel of a visit: one of [`CHANNELS`].
pub fn classify(tags: Tags<'_>) -> &'static str {
    let source = match tags.source.trim() {
        DIRECT => "",
        s => s,
    };
    let medium = tags.utm_medium.trim().to_ascii_lowercase();
    let campaign = tags.utm_campaign.trim().to_ascii_lowercase();
    let utm_source = tags.utm_source.trim().to_ascii_lowercase();
    if source.is_empty() && medium.is_empty() && campaign.is_empty() && utm_source.is_empty() {
        return DIRECT;
    }
    if campaign.contains("cross-network") {
        return "Cross-network";
    }
    let category = sources::category_of(source).or_else(|| sources::category_of(&utm_source));
    let paid = is_paid(&medium);
    let by_kind = match category {
        Some(Category::Search) => Some(if paid {
            "Paid Search"
        } else {
            "Organic Search"
        }),
        Some(Category::Social) => Some(if paid {
            "Paid Social"
        } else {
            "Organic Social"
        }),
        _ if is_social_medium(&medium) => Some("Organic Social"),
        Some(Category::AiAssistant) => Some("AI Assistants"),
        Some(Category::Email) => Some("Email"),
        _ => None,
    };
    by_kind
        .or_else(|| by_medium(&medium, &source.to_ascii_lowercase(), paid))
        .unwrap_or(if source.is_empty() && medium != "referral" {
            "Unassigned"
        } else {
            "Referral"
        })
}

/// The channels a campaign medium (or an e-mail-ish source) names by itself.
fn by_medium(medium: &str, source: &str, paid: bool) -> Option<&'static str> {
    let email = |s: &str| {
        ["email", "e-mail", "e_mail", "e mail"]
            .iter()
            .any(|e| s.contains(e))
    };
    Some(match medium {
        _ if email(medium) || email(source) => "Email",
        "affiliate" => "Affiliates",
        "display" | "banner" | "expandable" | "interstitial" | "cpm" => "Display",
        _ if paid => "Paid Other",
        "audio" => "Audio",
        "sms" => "SMS",
        _ if medium.ends_with("push")
            || medium.contains("mobile")
            || medium.contains("notification") =>
        {
            "Mobile Push Notifications"
        }
        _ => return None,
    })
}

/// `cpc`, `ppc`, `paid…` and the like, as Google Analytics reads them.
fn is_paid(medium: &str) -> bool {
    medium.contains("cp")
        || medium == "ppc"
        || medium == "retargeting"
        || medium.starts_with("paid")
}

fn is_social_medium(medium: &str) -> bool {
    matches!(
        medium,
        "social" | "social-network" | "social-media" | "sm" | "social network" | "social media"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn channel(source: &str, utm: [&str; 3]) -> &'static str {
        classify(Tags {
            source,
            utm_source: utm[0],
            utm_medium: utm[1],
            utm_campaign: utm[2],
        })
    }

    #[test]
    fn referrers_alone() {
        assert_eq!(channel("", ["", "", ""]), "Direct");
        assert_eq!(channel("Direct", ["", "", ""]), "Direct");
        assert_eq!(channel("Google", ["", "", ""]), "Organic Search");
        assert_eq!(channel("DuckDuckGo", ["", "", ""]), "Organic Search");
        assert_eq!(channel("Twitter", ["", "", ""]), "Organic Social");
        assert_eq!(channel("Hacker News", ["", "", ""]), "Organic Social");
        assert_eq!(channel("Gmail", ["", "", ""]), "Email");
        assert_eq!(channel("ChatGPT", ["", "", ""]), "AI Assistants");
        assert_eq!(channel("blog.example.com", ["", "", ""]), "Referral");
    }

    #[test]
    fn campaign_tags() {
        assert_eq!(
            channel("google", ["google", "cpc", "spring"]),
            "Paid Search"
        );
        assert_eq!(
            channel("facebook", ["facebook", "paid_social", ""]),
            "Paid Social"
        );
        assert_eq!(channel("fb", ["fb", "social", ""]), "Organic Social");
        assert_eq!(channel("newsletter", ["newsletter", "email", ""]), "Email");
        assert_eq!(channel("mailchimp", ["mailchimp", "", ""]), "Referral");
        assert_eq!(
            channel("partner", ["partner", "affiliate", ""]),
            "Affiliates"
        );
        assert_eq!(channel("adnet", ["adnet", "banner", ""]), "Display");
        assert_eq!(channel("adnet", ["adnet", "cpc", ""]), "Paid Other");
        assert_eq!(channel("podcast", ["podcast", "audio", ""]), "Audio");
        assert_eq!(channel("twilio", ["twilio", "sms", ""]), "SMS");
        assert_eq!(
            channel("app", ["app", "push", ""]),
            "Mobile Push Notifications"
        );
        assert_eq!(
            channel("x", ["x", "cpc", "Cross-Network Q3"]),
            "Cross-network"
        );
        assert_eq!(channel("Direct", ["", "", "launch"]), "Unassigned");
        assert_eq!(channel("Direct", ["", "referral", ""]), "Referral");
        assert_eq!(channel("Google", ["", "CPC", ""]), "Paid Search");
    }

    #[test]
    fn every_answer_is_a_listed_channel() {
        let sources = [
            "",
            "Google",
            "Twitter",
            "Gmail",
            "ChatGPT",
            "x.example",
            "newsletter",
        ];
        let media = [
            "",
            "cpc",
            "social",
            "email",
            "affiliate",
            "cpm",
            "audio",
            "sms",
            "push",
        ];
        for source in sources {
            for medium in media {
                let got = channel(source, ["", medium, ""]);
                assert!(CHANNELS.contains(&got), "{source} {medium}: {got}");
            }
        }
    }
}
