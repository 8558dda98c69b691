use std::collections::{BTreeMap, HashMap};

use beacon_event::event::Context;
use beacon_event::{Event, EventType, PagePath, PropValue, Props, SiteId, VisitorId};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::*;

/// The site of every event here.
pub(crate) fn site() -> SiteId {
    SiteId::parse("s").unwrap()
}

/// An event of site `s`; visitor `a` comes from Google. Also used by the worker's batch tests.
pub(crate) fn event(n: u128, visitor: &str, kind: &str, path: &str, at: OffsetDateTime) -> Event {
    let what = (
        site(),
        EventType::parse(kind).unwrap(),
        PagePath::parse(path).unwrap(),
    );
    Event {
        context: Context {
            source: if visitor == "a" {
                "Google".into()
            } else {
                String::new()
            },
            ..Context::default()
        },
        ..Event::new(
            Uuid::from_u128(n),
            what,
            VisitorId::parse(visitor).unwrap(),
            at,
        )
    }
}

/// Applies events in order (positions 0, 1, ...) and sums every delta per document.
fn run(events: &[Event]) -> BTreeMap<String, Counters> {
    run_with(events, &goals::GoalSet::NONE)
}

/// [`run`] with the site's goals and funnels.
fn run_with(events: &[Event], goals: &goals::GoalSet) -> BTreeMap<String, Counters> {
    let mut states: HashMap<String, VisitorState> = HashMap::new();
    let mut out = Contributions::default();
    for (i, e) in events.iter().enumerate() {
        let state = states
            .entry(e.visitor_id.as_str().to_owned())
            .or_insert_with(|| VisitorState::new(&site(), e.visitor_id.as_str()));
        let at = Position {
            partition: 0,
            offset: i as i64,
        };
        state.apply(e, at, goals, &mut out);
    }
    out.keys()
        .map(|k| {
            let (sum, _) = out.pending(k, &BTreeMap::new()).unwrap().unwrap();
            (k.id(), sum)
        })
        .collect()
}

const T0: OffsetDateTime = datetime!(2026-11-25 10:00 UTC);

#[test]
fn a_crafted_clickstream_has_known_visits_bounces_and_durations() {
    let m = |min: i64| T0 + Duration::minutes(min);
    let events = [
        // a: one visit of three pages over 4 minutes, from Google.
        event(1, "a", "page_view", "/", m(0)),
        event(2, "a", "page_view", "/pricing", m(1)),
        event(3, "a", "page_view", "/signup", m(4)),
        // b: a bounce, then (after 40 minutes) a visit with a page and a signup event.
        event(4, "b", "page_view", "/blog", m(0)),
        event(5, "b", "page_view", "/", m(40)),
        event(6, "b", "signup", "/", m(42)),
    ];
    let r = run(&events);
    let total = r["s|2026-11-25|total|"];
    assert_eq!(total.views, 5);
    assert_eq!(total.events, 6);
    assert_eq!(total.visitors, 2);
    assert_eq!(total.visits, 3);
    assert_eq!(total.bounces, 1);
    assert_eq!(total.duration, 4 * 60 + 2 * 60);

    // Entry and exit pages.
    assert_eq!(r["s|2026-11-25|entry_page|/"].visits, 2);
    assert_eq!(r["s|2026-11-25|entry_page|/blog"].visits, 1);
    assert_eq!(r["s|2026-11-25|exit_page|/signup"].visits, 1);
    assert_eq!(r["s|2026-11-25|exit_page|/blog"].visits, 1);
    // The signup event is not a page view: b's second visit exits on "/".
    assert_eq!(r["s|2026-11-25|exit_page|/"].visits, 1);
    // Intermediate exits were moved away, not left behind.
    assert_eq!(r["s|2026-11-25|exit_page|/pricing"], Counters::default());

    // Sources: a's visit from Google; b's two visits direct, b counted once as a visitor.
    let google = r["s|2026-11-25|source|Google"];
    assert_eq!(
        (google.visits, google.visitors, google.views, google.bounces),
        (1, 1, 3, 0)
    );
    let direct = r["s|2026-11-25|source|Direct"];
    assert_eq!(
        (direct.visits, direct.visitors, direct.views, direct.bounces),
        (2, 1, 2, 1)
    );

    // Paths count views and distinct visitors; the custom event is its own event type.
    let home = r["s|2026-11-25|path|/"];
    assert_eq!((home.views, home.events, home.visitors), (2, 3, 2));
    let signup = r["s|2026-11-25|event_type|signup"];
    assert_eq!((signup.events, signup.visitors, signup.views), (1, 1, 0));

    // Hourly totals: all three visits started in the 10:00 hour.
    let hour = format!("s|h{}|total|", T0.unix_timestamp());
    assert_eq!((r[&hour].visits, r[&hour].views), (3, 5));
}

/// `e` carrying these custom properties.
fn with_props(e: Event, props: &[(&str, PropValue)]) -> Event {
    let values = props.iter().map(|(k, v)| ((*k).to_owned(), v.clone()));
    Event {
        props: Some(Props::from_values(values).unwrap()),
        ..e
    }
}

#[test]
fn custom_properties_count_events_views_and_each_visitor_once_per_value() {
    let m = |min: i64| T0 + Duration::minutes(min);
    let pro = ("plan", PropValue::Str("pro".into()));
    let events = [
        with_props(
            event(1, "a", "page_view", "/", m(0)),
            std::slice::from_ref(&pro),
        ),
        with_props(
            event(2, "a", "signup", "/", m(1)),
            &[pro.clone(), ("seats", PropValue::Float(2.5))],
        ),
        with_props(
            event(3, "b", "signup", "/", m(2)),
            &[
                ("plan", PropValue::Str("team".into())),
                ("seats", PropValue::Int(12)),
            ],
        ),
        // A key with the separators of ids and seen keys in it.
        with_props(
            event(4, "b", "signup", "/", m(3)),
            &[("a|b=c", PropValue::Bool(true))],
        ),
        event(5, "c", "page_view", "/", m(4)),
    ];
    let r = run(&events);
    let c = |id: &str| {
        let c = r[id];
        (c.visitors, c.events, c.views)
    };
    assert_eq!(c("s|2026-11-25|props.plan|pro"), (1, 2, 1));
    assert_eq!(c("s|2026-11-25|props.plan|team"), (1, 1, 0));
    assert_eq!(c("s|2026-11-25|props.seats|2.5"), (1, 1, 0));
    assert_eq!(c("s|2026-11-25|props.seats|12"), (1, 1, 0));
    assert_eq!(c("s|2026-11-25|props.a%7Cb%3Dc|true"), (1, 1, 0));
    assert_eq!(c("s|2026-11-25|props|plan"), (2, 3, 1));
    assert_eq!(c("s|2026-11-25|props|seats"), (2, 2, 0));
    assert_eq!(c("s|2026-11-25|props|a|b=c"), (1, 1, 0));
    // Exactly those documents: nothing for the event without properties, no visit counters.
    let props: Vec<&String> = r.keys().filter(|k| k.contains("|props")).collect();
    assert_eq!(props.len(), 8, "{props:?}");
    assert!(r
        .iter()
        .filter(|(k, _)| k.contains("|props"))
        .all(|(_, c)| (c.visits, c.bounces, c.duration) == (0, 0, 0)));
}

#[test]
fn goals_count_converting_events_each_visitor_once_a_day_and_revenue_per_currency() {
    let m = |min: i64| T0 + Duration::minutes(min);
    let registered = [
        crate::sites::Goal::page("/blog/*").unwrap(),
        crate::sites::Goal::event("signup").unwrap(),
    ];
    let goals = goals::GoalSet::new(&registered, &[]);
    let paid = |e: Event, amount: &str, currency: &str| Event {
        revenue: Some(beacon_event::Revenue::new(amount, currency).unwrap()),
        ..e
    };
    let events = [
        event(1, "a", "page_view", "/blog/x", m(0)),
        event(2, "a", "page_view", "/blog/y", m(1)),
        event(3, "a", "page_view", "/blog/y/z", m(2)),
        paid(event(4, "a", "signup", "/blog/x", m(3)), "10.5", "EUR"),
        paid(event(5, "b", "signup", "/", m(3)), "2", "EUR"),
        paid(event(6, "b", "signup", "/", m(4)), "3", "USD"),
        event(7, "c", "page_view", "/", m(5)),
    ];
    let r = run_with(&events, &goals);
    let c = |id: &str| {
        let c = r[id];
        (c.visitors, c.events, c.revenue)
    };
    assert_eq!(c("s|2026-11-25|goal|page:/blog/*"), (1, 2, 0));
    assert_eq!(c("s|2026-11-25|goal|event:signup"), (2, 3, 0));
    assert_eq!(
        c("s|2026-11-25|goal_revenue|EUR|event:signup"),
        (0, 2, 12_500_000)
    );
    assert_eq!(
        c("s|2026-11-25|goal_revenue|USD|event:signup"),
        (0, 1, 3_000_000)
    );
    assert_eq!(r.keys().filter(|k| k.contains("|goal")).count(), 4);
    // Without goals, none of those documents.
    assert!(run(&events).keys().all(|k| !k.contains("|goal")));
}

#[test]
fn funnel_steps_count_each_visitor_once_a_day_in_order_within_one_visit() {
    let m = |min: i64| T0 + Duration::minutes(min);
    let steps = vec![
        crate::sites::Goal::page("/").unwrap(),
        crate::sites::Goal::page("/pricing").unwrap(),
        crate::sites::Goal::event("signup").unwrap(),
    ];
    let funnel = crate::sites::Funnel::new("f", steps).unwrap();
    let key = goals::funnel_key(&funnel);
    let set = goals::GoalSet::new(&[], &[funnel]);
    let events = [
        // a: the whole funnel, then again in a second visit (counted once).
        event(1, "a", "page_view", "/", m(0)),
        event(2, "a", "page_view", "/blog", m(1)),
        event(3, "a", "page_view", "/pricing", m(2)),
        event(4, "a", "signup", "/pricing", m(3)),
        event(5, "a", "page_view", "/", m(60)),
        event(6, "a", "page_view", "/pricing", m(61)),
        // b: pricing before home: only the first step.
        event(7, "b", "page_view", "/pricing", m(0)),
        event(8, "b", "page_view", "/", m(1)),
        // c: home, then pricing in another visit: only the first step.
        event(9, "c", "page_view", "/", m(0)),
        event(10, "c", "page_view", "/pricing", m(45)),
    ];
    let r = run_with(&events, &set);
    let step = |k: usize| {
        let id = format!("s|2026-11-25|funnel|{}", goals::funnel_value(k, &key));
        r.get(&id).map_or(0, |c| c.visitors)
    };
    assert_eq!([step(1), step(2), step(3)], [3, 1, 1]);
    assert_eq!(r.keys().filter(|k| k.contains("|funnel|")).count(), 3);
}

#[test]
fn replayed_deltas_are_dropped_by_the_watermark() {
    let mut state = VisitorState::new(&site(), "a");
    let mut out = Contributions::default();
    let at = |offset| Position {
        partition: 2,
        offset,
    };
    state.apply(
        &event(1, "a", "page_view", "/", T0),
        at(10),
        &goals::GoalSet::NONE,
        &mut out,
    );
    state.apply(
        &event(2, "a", "page_view", "/x", T0 + Duration::minutes(1)),
        at(11),
        &goals::GoalSet::NONE,
        &mut out,
    );
    assert!(state.has_applied(at(11)) && !state.has_applied(at(12)));
    let key = RollupKey::total(&site(), Bucket::day_of(T0));
    let (all, marks) = out.pending(&key, &BTreeMap::new()).unwrap().unwrap();
    assert_eq!((all.views, all.visits, all.bounces), (2, 1, 0));
    assert_eq!(marks, BTreeMap::from([(2, 11)]));
    // The document already has offset 10: only the second event's delta is left.
    let (rest, _) = out
        .pending(&key, &BTreeMap::from([(2, 10)]))
        .unwrap()
        .unwrap();
    assert_eq!((rest.views, rest.visits, rest.bounces), (1, 0, -1));
    assert_eq!(out.pending(&key, &BTreeMap::from([(2, 11)])), Ok(None));
}

#[test]
fn held_deltas_and_a_new_batch_add_up_as_one_set() {
    let at = |offset| Position {
        partition: 0,
        offset,
    };
    let mut state = VisitorState::new(&site(), "a");
    let (mut held, mut batch, mut together) = (
        Contributions::default(),
        Contributions::default(),
        Contributions::default(),
    );
    let events: Vec<_> = (0..4u128)
        .map(|i| {
            let path = format!("/p{i}");
            event(
                i + 1,
                "a",
                "page_view",
                &path,
                T0 + Duration::minutes(i as i64),
            )
        })
        .collect();
    let mut copy = state.clone();
    for (i, e) in events.iter().enumerate() {
        let out = if i < 2 { &mut held } else { &mut batch };
        state.apply(e, at(i as i64), &goals::GoalSet::NONE, out);
        copy.apply(e, at(i as i64), &goals::GoalSet::NONE, &mut together);
    }
    let (held_len, batch_len) = (held.len(), batch.len());
    assert!(held_len > 0 && batch_len > 0);
    let key = RollupKey::total(&site(), Bucket::day_of(T0));
    // Written together, or after merging: the sum of both, whatever the watermark says.
    for wm in [
        BTreeMap::new(),
        BTreeMap::from([(0, 0)]),
        BTreeMap::from([(0, 2)]),
    ] {
        let expected = together.pending(&key, &wm);
        assert_eq!(
            Contributions::pending_in(&[&held, &batch], &key, &wm),
            expected
        );
    }
    held.merge(batch);
    assert_eq!(held.len(), held_len + batch_len);
    assert_eq!(
        held.pending(&key, &BTreeMap::from([(0, 1)])),
        together.pending(&key, &BTreeMap::from([(0, 1)]))
    );
    assert_eq!(held.pending(&key, &BTreeMap::from([(0, 3)])), Ok(None));
}

#[test]
fn deltas_past_the_horizon_are_summed_into_runs_that_replay_all_or_nothing() {
    let key = RollupKey::total(&site(), Bucket::day_of(T0));
    let views = |n| Counters {
        views: n,
        ..Counters::default()
    };
    let mut out = Contributions::default();
    for offset in [5, 6, 10, 11, 12] {
        let at = Position {
            partition: 1,
            offset,
        };
        out.add(key.clone(), at, views(1));
    }
    // Nothing is summed while the horizon is unknown, and never at or below it.
    out.compact(|_| None);
    assert_eq!(out.len(), 5);
    out.compact(|_| Some(9));
    assert_eq!(out.len(), 3, "5 and 6 stay apart, 10..=12 become one run");
    let wm = |o| BTreeMap::from([(1, o)]);
    let sum = |r: Result<Pending, Straddle>| r.map(|p| p.map(|(c, m)| (c.views, m[&1])));
    assert_eq!(sum(out.pending(&key, &BTreeMap::new())), Ok(Some((5, 12))));
    assert_eq!(sum(out.pending(&key, &wm(5))), Ok(Some((4, 12))));
    assert_eq!(sum(out.pending(&key, &wm(9))), Ok(Some((3, 12))));
    assert_eq!(sum(out.pending(&key, &wm(12))), Ok(None));
    // A watermark inside the run: another writer added part of it.
    assert_eq!(out.pending(&key, &wm(10)), Err(Straddle));
    assert_eq!(out.pending(&key, &wm(11)), Err(Straddle));
    // Other partitions' deltas are never summed with these.
    let other = Position {
        partition: 2,
        offset: 13,
    };
    out.add(key.clone(), other, views(1));
    out.compact(|_| Some(9));
    assert_eq!(out.len(), 4);
    assert_eq!(out.last_offsets(), BTreeMap::from([(1, 12), (2, 13)]));
}
