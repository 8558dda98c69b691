//! Filtered reports, computed from raw events.
//!
//! Rollups hold one property at a time, so `source==Google;device==mobile` cannot be read from
//! them. A filtered report instead loads the range's raw events (stored with their visit's
//! properties) and aggregates them here. It is exact but proportional to the range's traffic:
//! the price of arbitrary filter combinations (docs/architecture.md, "Reports").
//!
//! Semantics, shared with the rollups: an event matches when every event filter (`path`,
//! `event_type`) holds for it and every session filter holds for its visit. Views, events and
//! visitors count matching events; visits, bounces and durations count the visits that have
//! at least one matching event, with the whole visit's bounce and duration.

use std::collections::BTreeMap;
use std::hash::Hash;
use std::sync::Arc;

use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};
use time::OffsetDateTime;

use super::query::Filter;
use crate::rollup::visit::from_millis;
use crate::rollup::Property;
use crate::rollup::{Counters, Dimension, Zone};
use crate::store::{At, Order, Page, RangeEvents, RawEvent, Row, StoredVisit};

/// One visit as seen in the range.
#[derive(Debug)]
pub struct Session {
    pub start_ms: i64,
    pub last_ms: i64,
    pub events: i64,
    visit: Arc<StoredVisit>,
    /// The visit's entry page, or when none was stored the path of its first event seen.
    entry: Arc<str>,
    /// The path of its last page view seen (of its first event if it has none).
    exit: Arc<str>,
    matching: bool,
}

impl Session {
    pub fn value(&self, dim: Dimension) -> &str {
        match dim {
            Dimension::EntryPage => &self.entry,
            Dimension::ExitPage => &self.exit,
            Dimension::Path | Dimension::EventType => "",
            dim => dim.shown(self.visit.value(dim)),
        }
    }

    /// The visit `e` is the first seen event of.
    fn start(e: &RawEvent) -> Self {
        let entry = match e.visit.entry_page.as_str() {
            "" => e.path.clone(),
            stored => stored.into(),
        };
        Session {
            start_ms: e.ts_ms,
            last_ms: e.ts_ms,
            events: 0,
            visit: e.visit.clone(),
            entry,
            exit: e.path.clone(),
            matching: false,
        }
    }
}

pub struct Scan {
    /// The site's time zone: visitors are distinct per local day.
    zone: Zone,
    /// In the worker's processing order; shared with the other reports of the same load.
    events: Arc<RangeEvents>,
    /// The matching events, each with its visit's index in `sessions`.
    matching: Vec<(At, u32)>,
    sessions: Vec<Session>,
}

/// The visits of `events` (in stream order), each with its properties as reports show them,
/// and each event with the index of its visit.
fn sessions(events: &RangeEvents) -> (Vec<Session>, Vec<(At, u32)>) {
    let mut by_id: HashMap<&str, u32> = HashMap::new();
    // The events of a visit in one block share its `Arc`: its address finds the visit without
    // hashing its id again.
    let mut by_address: HashMap<usize, u32> = HashMap::new();
    let mut sessions: Vec<Session> = Vec::new();
    // Per visit, its last page view (or first event): its exit page.
    let mut exits: Vec<At> = Vec::new();
    let mut visit_of = Vec::with_capacity(events.len());
    for (at, e) in events.iter() {
        let address = Arc::as_ptr(&e.visit) as usize;
        let visit = *by_address.entry(address).or_insert_with(|| {
            *by_id.entry(e.visit.id.as_str()).or_insert_with(|| {
                sessions.push(Session::start(e));
                exits.push(at);
                (sessions.len() - 1) as u32
            })
        });
        let s = &mut sessions[visit as usize];
        s.events += 1;
        s.last_ms = s.last_ms.max(e.ts_ms);
        if &*e.event_type == beacon_event::fields::PAGE_VIEW {
            exits[visit as usize] = at;
        }
        visit_of.push((at, visit));
    }
    for (s, exit) in sessions.iter_mut().zip(exits) {
        s.exit = events.get(exit).path.clone();
    }
    (sessions, visit_of)
}

impl Scan {
    /// `events` in processing order, as `MongoStore::raw_events` answers.
    pub fn new(events: Arc<RangeEvents>, filters: &[Filter], zone: Zone) -> Self {
        let (mut sessions, mut matching) = sessions(&events);
        matching.retain(|&(at, visit)| {
            let (e, session) = (events.get(at), &sessions[visit as usize]);
            filters
                .iter()
                .all(|f| f.matches(value_of(&f.property, e, session)))
        });
        for &(_, visit) in &matching {
            sessions[visit as usize].matching = true;
        }
        Self {
            zone,
            events,
            matching,
            sessions,
        }
    }

    /// Aggregates matching events by `event_keys` (none, one or several per event) and
    /// matching visits by `visit_key`. Visitors are distinct (local day, visitor) pairs per
    /// key, as in the daily rollups.
    pub fn group<'s, K: Ord + Hash + Clone, E: IntoIterator<Item = K>>(
        &'s self,
        event_keys: impl Fn(&'s RawEvent, &'s Session) -> E,
        visit_key: impl Fn(&'s Session) -> Option<K>,
    ) -> BTreeMap<K, Counters> {
        let mut out: HashMap<K, Counters> = HashMap::new();
        let mut seen: HashSet<(K, time::Date, &str)> = HashSet::new();
        for &(at, visit) in &self.matching {
            let e = self.events.get(at);
            let session = &self.sessions[visit as usize];
            let day = self.day_of(e);
            for key in event_keys(e, session) {
                let c = out.entry(key.clone()).or_default();
                c.events += 1;
                c.views += i64::from(&*e.event_type == beacon_event::fields::PAGE_VIEW);
                if seen.insert((key, day, &*e.visitor)) {
                    c.visitors += 1;
                }
            }
        }
        for s in self.sessions.iter().filter(|s| s.matching) {
            let Some(key) = visit_key(s) else {
                continue;
            };
            let c = out.entry(key).or_default();
            c.visits += 1;
            c.bounces += i64::from(s.events == 1);
            c.duration += (s.last_ms - s.start_ms).max(0) / 1000;
        }
        out.into_iter().collect()
    }

    /// The site's local day `e` happened on.
    pub fn day_of(&self, e: &RawEvent) -> time::Date {
        self.zone.date_of(from_millis(e.ts_ms))
    }

    /// The matching events, in the order the worker processed them.
    pub fn matching(&self) -> impl Iterator<Item = &RawEvent> {
        self.matching.iter().map(|&(at, _)| self.events.get(at))
    }

    /// The matching events of each visit, in the order the worker processed them.
    pub fn visits(&self) -> HashMap<&str, Vec<&RawEvent>> {
        let mut by_visit: HashMap<&str, Vec<&RawEvent>> = HashMap::new();
        for e in self.matching() {
            by_visit.entry(e.visit.id.as_str()).or_default().push(e);
        }
        by_visit
    }

    /// The range's totals.
    pub fn totals(&self) -> Counters {
        self.group(|_, _| Some(()), |_| Some(()))
            .remove(&())
            .unwrap_or_default()
    }

    /// Totals per bucket; `bucket` maps an instant to its bucket.
    pub fn series<K: Ord + Hash + Clone>(
        &self,
        bucket: impl Fn(OffsetDateTime) -> K,
    ) -> BTreeMap<K, Counters> {
        self.group(
            |e, _| Some(bucket(from_millis(e.ts_ms))),
            |s| Some(bucket(from_millis(s.start_ms))),
        )
    }

    /// One page of `property`'s values in `order`.
    pub fn rows(&self, property: &Property, order: Order, page: Page) -> Vec<Row> {
        let rows = self.by(property).into_iter();
        order.arrange(rows.map(|(value, counters)| Row { value, counters }), page)
    }

    /// Counters per value of `property`. A custom property counts the events that carry it.
    pub fn by(&self, property: &Property) -> BTreeMap<String, Counters> {
        let by = match property {
            Property::Dim(Dimension::Path) => self.group(|e, _| Some(&*e.path), |_| None),
            Property::Dim(Dimension::EventType) => {
                self.group(|e, _| Some(&*e.event_type), |_| None)
            }
            Property::Dim(dim) => self.group(|_, s| Some(s.value(*dim)), |s| Some(s.value(*dim))),
            Property::Prop(key) => {
                self.group(|e, _| e.props.get(key).map(String::as_str), |_| None)
            }
            Property::PropKeys => self.group(|e, _| e.props.keys().map(String::as_str), |_| None),
            // Goals have reports of their own (`super::goals`).
            Property::Goal | Property::GoalRevenue | Property::Funnel => BTreeMap::new(),
        };
        by.into_iter().map(|(k, c)| (k.to_owned(), c)).collect()
    }
}

/// The value a filter on `property` reads for event `e` of visit `session` (a custom property
/// the event does not carry reads as "").
fn value_of<'a>(property: &Property, e: &'a RawEvent, session: &'a Session) -> &'a str {
    match property {
        Property::Dim(Dimension::Path) => &e.path,
        Property::Dim(Dimension::EventType) => &e.event_type,
        Property::Dim(dim) => session.value(*dim),
        Property::Prop(key) => e.props.get(key).map_or("", String::as_str),
        // Refused in filters (`super::filter`), or never parsed.
        Property::PropKeys | Property::Goal | Property::GoalRevenue | Property::Funnel => "",
    }
}
