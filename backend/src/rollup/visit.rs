//! Visits (sessions) and what each new event changes in the rollups.
//!
//! A visit is the events of one visitor on one site with gaps under 30 minutes. The worker keeps
//! one [`VisitorState`] per (site, visitor): the visit in progress and which documents already
//! count this visitor. [`VisitorState::apply`] turns one event into counter deltas. Visit
//! counters are expressed as "the visit's contribution now minus its contribution before", so a
//! visit that gets a second page stops being a bounce and a moving exit page moves its visit,
//! both with plain `$inc`.
//!
//! Goals and funnels are counted here too, by the site's set the caller passes in
//! ([`super::goals`]), which is part of the input: the same state, events and set give the same
//! deltas.
//!
//! Everything here is a pure function of (state, event): given the same state and the same
//! events in the same order it produces the same deltas, which is what makes a replay exact (see
//! [`super`]).

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use beacon_event::event::Context;
use beacon_event::{Event, SiteId};
use time::OffsetDateTime;

use super::goals::{funnel_value, revenue_value, FunnelRule, GoalRule, GoalSet};
use super::{
    prop_text, Bucket, Contributions, Counters, Dimension, Position, Property, RollupKey, Zone,
};

/// Longest gap between two events of one visit.
pub const VISIT_GAP_SECONDS: i64 = 30 * 60;
/// A visitor's "already counted in" set stops growing here (about 100 KB): beyond it, a new
/// page is not counted as a new visitor of that page. Real visitors never get near it; it keeps
/// a runaway client from growing one document without bound.
pub const MAX_SEEN: usize = 2000;

/// One visit, as far as it has got. Stored with its visitor's state under these field names.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Visit {
    /// The `eid` of the visit's first event.
    pub id: String,
    /// Unix milliseconds of the first and the latest event.
    pub start_ms: i64,
    pub last_ms: i64,
    pub entry: String,
    pub exit: String,
    pub pageviews: i64,
    pub events: i64,
    /// The first event's context: source, device, country... of the whole visit.
    pub context: Context,
    /// Per funnel (its key), how many of its steps this visit has taken in order.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub funnels: BTreeMap<String, usize>,
}

impl Visit {
    fn start(e: &Event) -> Self {
        let ms = millis(e.timestamp);
        Self {
            id: e.eid.to_string(),
            start_ms: ms,
            last_ms: ms,
            entry: e.path.as_str().to_owned(),
            exit: e.path.as_str().to_owned(),
            pageviews: i64::from(e.event_type.is_page_view()),
            events: 1,
            context: e.context.clone(),
            funnels: BTreeMap::new(),
        }
    }

    /// The visit with `e` added.
    fn continued(&self, e: &Event) -> Self {
        let mut v = self.clone();
        v.last_ms = v.last_ms.max(millis(e.timestamp));
        v.events += 1;
        if e.event_type.is_page_view() {
            v.pageviews += 1;
            v.exit = e.path.as_str().to_owned();
        }
        v
    }

    fn started_at(&self) -> OffsetDateTime {
        from_millis(self.start_ms)
    }

    /// Seconds from the first to the latest event.
    pub fn duration(&self) -> i64 {
        (self.last_ms - self.start_ms).max(0) / 1000
    }

    pub fn is_bounce(&self) -> bool {
        self.events == 1
    }

    /// The counters this visit adds to one document.
    fn counters(&self) -> Counters {
        Counters {
            visits: 1,
            bounces: i64::from(self.is_bounce()),
            duration: self.duration(),
            ..Counters::default()
        }
    }

    /// The value of a session property for this visit.
    pub fn value(&self, dim: Dimension) -> String {
        match dim {
            Dimension::EntryPage => self.entry.clone(),
            Dimension::ExitPage => self.exit.clone(),
            _ => dim.of_context(&self.context),
        }
    }

    /// Every document this visit contributes to, with what it contributes. Visit counters go
    /// to the site total (day and hour of the visit's start) and to each session property's
    /// value; page views inside the visit go to the session properties (the site total counts
    /// page views per event instead).
    fn contributions(&self, site: &SiteId) -> Vec<(RollupKey, Counters)> {
        let start = self.started_at();
        let zone = Zone::of_event(&self.context.timezone);
        let day = Bucket::day_in(start, &zone);
        let visit = self.counters();
        let mut out = vec![
            (RollupKey::total(site, day), visit),
            (RollupKey::total(site, Bucket::hour_in(start, &zone)), visit),
        ];
        let with_views = Counters {
            views: self.pageviews,
            events: self.events,
            ..visit
        };
        for dim in Dimension::SESSION_FIXED
            .into_iter()
            .chain([Dimension::ExitPage])
        {
            out.push((RollupKey::of(site, day, dim, &self.value(dim)), with_views));
        }
        out
    }
}

/// What the worker remembers about one visitor of one site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisitorState {
    pub site: SiteId,
    pub visitor: String,
    /// The last event applied: events at or before it are already in the rollups.
    pub applied: Position,
    /// Unix milliseconds of the visitor's latest event (realtime visitors): when it happened,
    /// not when it arrived, so a late batch from an outbox does not look like live traffic.
    pub last_seen_ms: i64,
    /// Documents that already count this visitor (see `seen_key`).
    pub seen: BTreeSet<String>,
    pub visit: Option<Visit>,
}

/// The session facts a raw event is stored with, so filtered reports can scan raw events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisitTag {
    pub visit_id: String,
    pub entry: String,
    pub context: Context,
}

impl VisitorState {
    pub fn id(site: &SiteId, visitor: &str) -> String {
        format!("{site}|{visitor}")
    }

    pub fn new(site: &SiteId, visitor: &str) -> Self {
        Self {
            site: site.clone(),
            visitor: visitor.to_owned(),
            applied: Position {
                partition: -1,
                offset: -1,
            },
            last_seen_ms: 0,
            seen: BTreeSet::new(),
            visit: None,
        }
    }

    /// Whether the event at `at` is already reflected in this state (a replay).
    pub fn has_applied(&self, at: Position) -> bool {
        self.applied.partition == at.partition && at.offset <= self.applied.offset
    }

    /// Applies one event: updates the visit and records every counter delta, tagged with
    /// the event's position, in `out`, the event matched against its site's goals and funnels.
    /// Returns the visit the event belongs to.
    pub fn apply(
        &mut self,
        e: &Event,
        at: Position,
        goals: &GoalSet,
        out: &mut Contributions,
    ) -> VisitTag {
        let ms = millis(e.timestamp);
        self.count_event(e, at, &goals.goals, out);
        // The visit: continue it or start a new one.
        let before = self
            .visit
            .clone()
            .filter(|v| ms - v.last_ms < VISIT_GAP_SECONDS * 1000 && ms >= v.start_ms);
        let mut after = match &before {
            Some(v) => v.continued(e),
            None => Visit::start(e),
        };
        self.count_funnels(e, at, (&goals.funnels, &mut after), out);
        self.count_visit(&e.site_id, before.as_ref(), &after, at, out);
        let tag = VisitTag {
            visit_id: after.id.clone(),
            entry: after.entry.clone(),
            context: after.context.clone(),
        };
        self.visit = Some(after);
        self.applied = at;
        self.last_seen_ms = self.last_seen_ms.max(ms);
        tag
    }

    /// Event properties and goals: counted where the event happened, the visitor once per
    /// document.
    fn count_event(
        &mut self,
        e: &Event,
        at: Position,
        goals: &[GoalRule],
        out: &mut Contributions,
    ) {
        let site = &e.site_id;
        let zone = Zone::of_event(&e.context.timezone);
        let day = Bucket::day_in(e.timestamp, &zone);
        let hour = Bucket::hour_in(e.timestamp, &zone);
        let event_counts = Counters {
            views: i64::from(e.event_type.is_page_view()),
            events: 1,
            ..Counters::default()
        };
        let mut targets = vec![
            (RollupKey::total(site, day), seen_key(day, None)),
            (RollupKey::total(site, hour), seen_key(hour, None)),
        ];
        let path = (Dimension::Path.into(), Cow::Borrowed(e.path.as_str()));
        let event_type = (
            Dimension::EventType.into(),
            Cow::Borrowed(e.event_type.as_str()),
        );
        let reached = goals
            .iter()
            .filter(|g| g.matcher.matches(e.event_type.as_str(), e.path.as_str()));
        let reached: Vec<&GoalRule> = reached.collect();
        let conversions = reached
            .iter()
            .map(|g| (Property::Goal, Cow::Borrowed(g.key.as_str())));
        let props = prop_values(e).map(|(property, value)| (property, Cow::Owned(value)));
        let values = [path, event_type].into_iter().chain(props);
        for (property, value) in values.chain(conversions) {
            let seen = seen_key(day, Some((&property, &value)));
            targets.push((RollupKey::of(site, day, property, &value), seen));
        }
        count_revenue(e, (at, day), &reached, out);
        for (key, seen) in targets {
            let visitors = i64::from(self.first_time(seen));
            out.add(
                key,
                at,
                Counters {
                    visitors,
                    ..event_counts
                },
            );
        }
    }

    /// Funnels: `e` takes the next step of each funnel whose step it matches in `visit`; the
    /// visitor is counted once a day in each step they complete.
    fn count_funnels(
        &mut self,
        e: &Event,
        at: Position,
        (funnels, visit): (&[FunnelRule], &mut Visit),
        out: &mut Contributions,
    ) {
        let zone = Zone::of_event(&e.context.timezone);
        let day = Bucket::day_in(e.timestamp, &zone);
        for funnel in funnels {
            let done = visit.funnels.get(&funnel.key).copied().unwrap_or(0);
            let Some(next) = funnel.steps.get(done) else {
                continue;
            };
            if !next.matches(e.event_type.as_str(), e.path.as_str()) {
                continue;
            }
            visit.funnels.insert(funnel.key.clone(), done + 1);
            let value = funnel_value(done + 1, &funnel.key);
            if self.first_time(seen_key(day, Some((&Property::Funnel, &value)))) {
                let reached = Counters {
                    visitors: 1,
                    ..Counters::default()
                };
                out.add(
                    RollupKey::of(&e.site_id, day, Property::Funnel, &value),
                    at,
                    reached,
                );
            }
        }
    }

    /// The visit's contribution now minus its contribution before; a new visit also counts
    /// the visitor once per session-property value of the day.
    fn count_visit(
        &mut self,
        site: &SiteId,
        before: Option<&Visit>,
        after: &Visit,
        at: Position,
        out: &mut Contributions,
    ) {
        let mut delta: std::collections::BTreeMap<RollupKey, Counters> = Default::default();
        for (key, c) in after.contributions(site) {
            *delta.entry(key).or_default() += c;
        }
        if let Some(v) = before {
            for (key, c) in v.contributions(site) {
                *delta.entry(key).or_default() += Counters::default() - c;
            }
        } else {
            let zone = Zone::of_event(&after.context.timezone);
            let start_day = Bucket::day_in(after.started_at(), &zone);
            for dim in Dimension::SESSION_FIXED {
                let value = after.value(dim);
                if self.first_time(seen_key(start_day, Some((&dim.into(), &value)))) {
                    let key = RollupKey::of(site, start_day, dim, &value);
                    delta.entry(key).or_default().visitors += 1;
                }
            }
        }
        for (key, c) in delta {
            if !c.is_zero() {
                out.add(key, at, c);
            }
        }
    }

    /// Marks `key` seen; true the first time.
    fn first_time(&mut self, key: String) -> bool {
        if self.seen.contains(&key) || self.seen.len() >= MAX_SEEN {
            return false;
        }
        self.seen.insert(key)
    }
}

/// What `e` was worth, in each goal it `reached`: one document per goal and currency.
fn count_revenue(
    e: &Event,
    (at, day): (Position, Bucket),
    reached: &[&GoalRule],
    out: &mut Contributions,
) {
    let Some(revenue) = &e.revenue else { return };
    let worth = Counters {
        events: 1,
        revenue: revenue.micros(),
        ..Counters::default()
    };
    for goal in reached {
        let value = revenue_value(revenue.currency(), &goal.key);
        let key = RollupKey::of(&e.site_id, day, Property::GoalRevenue, &value);
        out.add(key, at, worth);
    }
}

/// The custom properties `e` carries, as their rollup documents count them: each key (under
/// `props`) and each key's value (under `props.<key>`), values shown by [`prop_text`].
fn prop_values(e: &Event) -> impl Iterator<Item = (Property, String)> + '_ {
    let props = e.props.iter().flat_map(|p| p.as_map());
    props
        .filter_map(|(key, value)| Some((key, prop_text(value)?)))
        .flat_map(|(key, text)| {
            [
                (Property::PropKeys, key.clone()),
                (Property::Prop(key.clone()), text),
            ]
        })
}

/// How a visitor state records that a document counts the visitor: a day's total
/// (`2026-11-24|total`), an hour's total (`Hour(1763942400)`, the hour's start in Unix
/// seconds), or a day's value of a property (`2026-11-24|path=/pricing`,
/// `2026-11-24|props.plan=pro`). These strings are stored in every visitor state, so their
/// format never changes.
fn seen_key(bucket: Bucket, value: Option<(&Property, &str)>) -> String {
    match (bucket, value) {
        (Bucket::Day(day), None) => format!("{day}|total"),
        (Bucket::Day(day), Some((property, value))) => {
            format!("{day}|{}={value}", property.delimited())
        }
        (Bucket::Hour(start), _) => format!("Hour({start})"),
    }
}

pub fn millis(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

pub fn from_millis(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn seen_keys_keep_their_stored_format() {
        let day = Bucket::Day(date!(2026 - 11 - 24));
        assert_eq!(seen_key(day, None), "2026-11-24|total");
        assert_eq!(
            seen_key(day, Some((&Dimension::Path.into(), "/pricing"))),
            "2026-11-24|path=/pricing"
        );
        assert_eq!(
            seen_key(day, Some((&Property::Prop("a=b".into()), "c"))),
            "2026-11-24|props.a%3Db=c"
        );
        assert_eq!(
            seen_key(Bucket::Hour(1_763_942_400), None),
            format!("{:?}", Bucket::Hour(1_763_942_400)),
            "the hour's key was once written with Debug"
        );
        assert_eq!(
            seen_key(Bucket::Hour(1_763_942_400), None),
            "Hour(1763942400)"
        );
    }
}
