//! The properties reports break traffic down by, and where each one's value comes from.
//!
//! Two kinds: event properties (`path`, `event_type`) belong to each event; session properties
//! (source, device, entry page...) belong to the visit and are fixed by its first event, except
//! `exit_page`, which moves as the visit goes on. The distinction decides which counters a
//! rollup keeps for a value and how a filter matches a raw event.

use std::fmt;

use beacon_event::event::Context;
pub use beacon_event::event::{DIRECT, UNKNOWN};

/// The `dim` of a site's total documents.
pub const TOTAL: &str = "total";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Dimension {
    Path,
    EventType,
    EntryPage,
    ExitPage,
    Source,
    Referrer,
    Channel,
    UtmSource,
    UtmMedium,
    UtmCampaign,
    UtmContent,
    UtmTerm,
    Browser,
    Os,
    Device,
    Country,
}

impl Dimension {
    pub const ALL: [Dimension; 16] = [
        Self::Path,
        Self::EventType,
        Self::EntryPage,
        Self::ExitPage,
        Self::Source,
        Self::Referrer,
        Self::Channel,
        Self::UtmSource,
        Self::UtmMedium,
        Self::UtmCampaign,
        Self::UtmContent,
        Self::UtmTerm,
        Self::Browser,
        Self::Os,
        Self::Device,
        Self::Country,
    ];

    /// The session properties whose value is fixed when the visit starts, in [`Self::ALL`]'s
    /// order: every property but the event's own two and the exit page, which moves.
    pub const SESSION_FIXED: [Dimension; 13] = {
        let mut fixed = [Self::Country; 13];
        let (mut i, mut n) = (0, 0);
        while i < Self::ALL.len() {
            let d = Self::ALL[i];
            if !matches!(d, Self::Path | Self::EventType | Self::ExitPage) {
                fixed[n] = d;
                n += 1;
            }
            i += 1;
        }
        assert!(n == fixed.len(), "SESSION_FIXED's length");
        fixed
    };

    pub fn name(self) -> &'static str {
        match self {
            Self::Path => "path",
            Self::EventType => "event_type",
            Self::EntryPage => "entry_page",
            Self::ExitPage => "exit_page",
            Self::Source => "source",
            Self::Referrer => "referrer",
            Self::Channel => "channel",
            Self::UtmSource => "utm_source",
            Self::UtmMedium => "utm_medium",
            Self::UtmCampaign => "utm_campaign",
            Self::UtmContent => "utm_content",
            Self::UtmTerm => "utm_term",
            Self::Browser => "browser",
            Self::Os => "os",
            Self::Device => "device",
            Self::Country => "country",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.name() == name)
    }

    /// Whether the values are page paths (filters read `*` and `**` in them as wildcards).
    pub fn is_path(self) -> bool {
        matches!(self, Self::Path | Self::EntryPage | Self::ExitPage)
    }

    /// Whether the value belongs to the visit rather than to each event.
    pub fn is_session(self) -> bool {
        !matches!(self, Self::Path | Self::EventType)
    }

    /// The value of a fixed session property, read from the visit's first event.
    pub fn of_context(self, context: &Context) -> String {
        let value = match self {
            Self::Channel => {
                return channel_of(
                    &context.source,
                    [
                        &context.utm_source,
                        &context.utm_medium,
                        &context.utm_campaign,
                    ],
                )
                .to_owned()
            }
            Self::Source => &context.source,
            Self::Referrer => &context.referrer_domain,
            Self::UtmSource => &context.utm_source,
            Self::UtmMedium => &context.utm_medium,
            Self::UtmCampaign => &context.utm_campaign,
            Self::UtmContent => &context.utm_content,
            Self::UtmTerm => &context.utm_term,
            Self::Browser => &context.browser,
            Self::Os => &context.os,
            Self::Device => &context.device,
            Self::Country => &context.country,
            Self::Path | Self::EventType | Self::EntryPage | Self::ExitPage => {
                unreachable!("{self} is not read from the context")
            }
        };
        self.shown(value).to_owned()
    }

    /// What a report shows for `value` of this property: the one rule for values nobody could
    /// determine.
    pub fn shown(self, value: &str) -> &str {
        match self {
            _ if !value.is_empty() => value,
            // Plausible-style: no source or referrer domain means a direct visit.
            Self::Source | Self::Referrer | Self::Channel => DIRECT,
            Self::Browser | Self::Os | Self::Device | Self::Country => UNKNOWN,
            // An absent UTM tag is not "unknown", it is absent: the dashboard lists the empty
            // value as "(none)". Pages and event types are never empty.
            Self::UtmSource
            | Self::UtmMedium
            | Self::UtmCampaign
            | Self::UtmContent
            | Self::UtmTerm
            | Self::Path
            | Self::EventType
            | Self::EntryPage
            | Self::ExitPage => value,
        }
    }
}

/// The acquisition channel of a visit with this source and `utm_source`, `utm_medium` and
/// `utm_campaign` (see `beacon_enrich::channel`): derived, not stored, so visits stored before
/// channels existed have one too.
pub fn channel_of(source: &str, [utm_source, utm_medium, utm_campaign]: [&str; 3]) -> &'static str {
    beacon_enrich::channel::classify(beacon_enrich::channel::Tags {
        source,
        utm_source,
        utm_medium,
        utm_campaign,
    })
}

impl fmt::Display for Dimension {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_kinds() {
        for d in Dimension::ALL {
            assert_eq!(Dimension::parse(d.name()), Some(d));
        }
        assert_eq!(Dimension::parse("nope"), None);
        assert_eq!(
            Dimension::SESSION_FIXED.map(Dimension::name).join(","),
            "entry_page,source,referrer,channel,utm_source,utm_medium,utm_campaign,utm_content,utm_term,\
             browser,os,device,country"
        );
        assert!(!Dimension::Path.is_session());
        assert!(Dimension::ExitPage.is_session());
        assert!(!Dimension::SESSION_FIXED.contains(&Dimension::ExitPage));
    }

    #[test]
    fn context_values_fill_the_gaps() {
        let empty = Context::default();
        assert_eq!(Dimension::Source.of_context(&empty), "Direct");
        assert_eq!(Dimension::Referrer.of_context(&empty), "Direct");
        assert_eq!(Dimension::Country.of_context(&empty), "unknown");
        assert_eq!(Dimension::UtmCampaign.of_context(&empty), "");
        let google = Context {
            source: "Google".into(),
            referrer_domain: "google.com".into(),
            ..Context::default()
        };
        assert_eq!(Dimension::Source.of_context(&google), "Google");
        assert_eq!(Dimension::Referrer.of_context(&google), "google.com");
        // Stored values are shown by the same rule (filtered reports read them from raw events).
        for d in Dimension::SESSION_FIXED {
            if d != Dimension::EntryPage {
                assert_eq!(d.shown(""), d.of_context(&empty), "{d}");
            }
        }
        assert_eq!(Dimension::Device.shown("mobile"), "mobile");
    }
}
