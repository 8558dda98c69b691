//! The goals and funnels a batch is counted by: read from the sites' registrations once per
//! batch, so one added or removed takes effect from the next batch and one batch counts by one
//! set.

use std::collections::BTreeSet;

use beacon_event::Event;

use crate::rollup::goals::{GoalSet, SiteGoals};
use crate::rollup::Position;
use crate::sites::Sites;
use crate::store::{MongoStore, StoreError};

/// The goals and funnels of the sites `events` belong to (one query).
pub async fn goals_for(
    store: &MongoStore,
    events: &[(Event, Position)],
) -> Result<SiteGoals, StoreError> {
    let ids: BTreeSet<&str> = events.iter().map(|(e, _)| e.site_id.as_str()).collect();
    let ids: Vec<&str> = ids.into_iter().collect();
    let registered = Sites::new(store).goals_of(&ids).await?;
    let sets = registered
        .into_iter()
        .map(|s| (s.id, GoalSet::new(&s.goals, &s.funnels)));
    Ok(SiteGoals::new(sets))
}
