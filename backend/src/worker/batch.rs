//! Storing one batch of events: raw events, rollup deltas, visitor states.
//!
//! [`apply_batch`] is the worker's step between checkpoints: it writes the raw events, writes or
//! holds the rollup deltas (as the states' rollup budget says), and leaves the changed visitor
//! states in [`VisitorStates`] for the next checkpoint to save. [`store_batch`] is the same
//! with everything saved at once, for callers that store one batch at a time (seeding, tests).

use std::collections::{BTreeSet, HashSet};

use beacon_event::Event;

use super::states::{Held, VisitorStates, WorkingSet};
use crate::rollup::goals::SiteGoals;
use crate::rollup::{Bucket, Contributions, Counters, Position, RollupKey, VisitorState, Zone};
use crate::store::{EventStore, InsertOutcome, StateStore, StoreError, StoredEvent};

/// What storing one batch did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchOutcome {
    pub inserted: usize,
    /// Events stored before by another record (client retries).
    pub duplicates: usize,
    pub bots: usize,
}

/// Stores one batch and saves the visitor states it changed: raw events, rollup deltas,
/// visitor states, in that order, each write idempotent by Kafka position (see
/// [`crate::rollup`]). Safe to call again with the same or an overlapping batch after any
/// failure.
pub async fn store_batch<'a, S: EventStore + StateStore>(
    store: &S,
    batch: impl Into<Batch<'a>>,
    retention: time::Duration,
) -> Result<BatchOutcome, StoreError> {
    let mut states = VisitorStates::default();
    let outcome = apply_batch(store, batch, retention, &mut states).await?;
    states.save(store).await?;
    Ok(outcome)
}

/// Events to store, and the goals and funnels of their sites they are counted by. Events alone
/// are counted by none (their days list none, and goal reports read raw events for them).
#[derive(Clone, Copy)]
pub struct Batch<'a> {
    pub events: &'a [(Event, Position)],
    pub goals: &'a SiteGoals,
}

impl<'a> From<&'a [(Event, Position)]> for Batch<'a> {
    fn from(events: &'a [(Event, Position)]) -> Self {
        Self {
            events,
            goals: &NO_GOALS,
        }
    }
}

impl<'a> From<&'a Vec<(Event, Position)>> for Batch<'a> {
    fn from(events: &'a Vec<(Event, Position)>) -> Self {
        events.as_slice().into()
    }
}

impl<'a, const N: usize> From<&'a [(Event, Position); N]> for Batch<'a> {
    fn from(events: &'a [(Event, Position); N]) -> Self {
        events.as_slice().into()
    }
}

static NO_GOALS: SiteGoals = SiteGoals::NONE;

/// Writes one batch's raw events and its rollup deltas (with those held, or holds them within
/// the rollup budget), computing them from the visitor states in `states` (loading those it
/// does not hold) and matching them against their sites' goals; the states it changed go back
/// into `states`, unsaved, only once the writes succeeded.
pub async fn apply_batch<'a, S: EventStore + StateStore>(
    store: &S,
    batch: impl Into<Batch<'a>>,
    retention: time::Duration,
    states: &mut VisitorStates,
) -> Result<BatchOutcome, StoreError> {
    let Batch { events, goals } = batch.into();
    let mut ordered: Vec<&(Event, Position)> = events.iter().collect();
    ordered.sort_by_key(|(_, at)| *at);
    let (bots, humans): (Vec<_>, Vec<_>) = ordered.into_iter().partition(|(e, _)| e.context.bot);
    let fresh = fresh(store, &humans).await?;
    let duplicates = humans.len() - fresh.len();

    let ids: BTreeSet<String> = fresh
        .iter()
        .map(|(e, _)| VisitorState::id(&e.site_id, e.visitor_id.as_str()))
        .collect();
    let ids: Vec<String> = ids.into_iter().collect();
    states
        .learn_horizons(store, events.iter().map(|(_, at)| at.partition))
        .await?;
    let mut working = states.working_set(store, &ids).await?;
    let mut contributions = Contributions::default();
    let to_store = visit(&fresh, goals, &mut working, &mut contributions);
    count_bots(&bots, &mut contributions);
    note_goals(goals, &mut contributions);

    let InsertOutcome {
        inserted,
        duplicates: replayed,
    } = store.insert_events(&to_store, retention).await?;
    tracing::trace!(replayed, "raw events already stored by the same record");
    // Written now with the held ones when the budget is exceeded; otherwise held until the
    // next checkpoint. Either way the states take the batch only once it is all written or
    // held, so a failure here leaves everything as it was before the batch.
    let write = states.rollups_due(contributions.len());
    if write {
        let written = store.apply_rollups(&[&contributions]).await?;
        states.wrote_rollups(written);
    }
    states.absorb(working, contributions, write);
    Ok(BatchOutcome {
        inserted,
        duplicates,
        bots: bots.len(),
    })
}

/// The records whose event no other record stored (a client's retry is a different record
/// with the same event id), each event once.
async fn fresh<'a>(
    store: &impl EventStore,
    humans: &[&'a (Event, Position)],
) -> Result<Vec<&'a (Event, Position)>, StoreError> {
    let eids: Vec<String> = humans.iter().map(|(e, _)| e.eid.to_string()).collect();
    let stored = store.stored_positions(&eids).await?;
    let mut first_in_batch = HashSet::new();
    Ok(humans
        .iter()
        .zip(&eids)
        .filter(|((_, at), eid)| {
            stored.get(*eid).is_none_or(|origin| origin == at) && first_in_batch.insert(*eid)
        })
        .map(|(pair, _)| *pair)
        .collect())
}

/// Applies each event to its visitor's state, adding its rollup deltas to `contributions`;
/// returns the raw events to store, each with its visit. Events a saved state has seen are
/// skipped: their raw event and deltas are in already.
fn visit(
    fresh: &[&(Event, Position)],
    goals: &SiteGoals,
    working: &mut WorkingSet,
    contributions: &mut Contributions,
) -> Vec<StoredEvent> {
    let mut to_store = Vec::with_capacity(fresh.len());
    for (event, at) in fresh {
        let id = VisitorState::id(&event.site_id, event.visitor_id.as_str());
        let held = working.entry(id).or_insert_with(|| Held {
            state: VisitorState::new(&event.site_id, event.visitor_id.as_str()),
            stored: None,
            dirty: false,
        });
        if held.state.has_applied(*at) {
            continue;
        }
        let goals = goals.of(&event.site_id);
        let visit = held.state.apply(event, *at, goals, contributions);
        held.dirty = true;
        to_store.push(StoredEvent {
            event: event.clone(),
            at: *at,
            visit,
        });
    }
    to_store
}

/// Notes, for each day's site total the batch's events count in, the goals and funnels they
/// were matched against: what the day lists ([`crate::rollup::goals`]).
fn note_goals(goals: &SiteGoals, contributions: &mut Contributions) {
    let totals = contributions.keys().filter(|k| k.is_daily_total());
    let totals: Vec<RollupKey> = totals.cloned().collect();
    for total in totals {
        let keys = goals.of(&total.site).keys();
        contributions.note_goals(total, &keys);
    }
}

/// The site total of `e`'s day, in its site's zone.
fn daily_total(e: &Event) -> RollupKey {
    let zone = Zone::of_event(&e.context.timezone);
    RollupKey::total(&e.site_id, Bucket::day_in(e.timestamp, &zone))
}

/// Bots are only counted, per site and day.
fn count_bots(bots: &[&(Event, Position)], contributions: &mut Contributions) {
    for (event, at) in bots {
        let bots = Counters {
            bots: 1,
            ..Counters::default()
        };
        contributions.add(daily_total(event), *at, bots);
    }
}

#[cfg(test)]
mod tests;
