//! Visitor states (`visitors`): one typed document per (site, visitor), saved at checkpoints on
//! the condition that nobody saved it since it was loaded.

use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap};

use beacon_event::SiteId;
use mongodb::bson::{self, doc, DateTime, Document};
use serde::{Deserialize, Serialize};

use super::bson::date;
use super::documents::StoredPosition;
use super::{MongoStore, StoreError, VISITORS};
use crate::rollup::visit::Visit;
use crate::rollup::{Position, VisitorState};

/// How long a visitor's state is kept after its last event: visitor ids change daily, so after
/// two days no event can continue the visit. Counted from the save when that is later (see
/// [`StateDocument::saved`]).
const STATE_TTL_MS: i64 = 2 * 24 * 3600 * 1000;

/// A visitor state as MongoDB holds it.
#[derive(Debug, Serialize, Deserialize)]
struct StateDocument<'a> {
    /// Written on insert only: a conditional update replaces the rest.
    #[serde(rename = "_id", default, skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    site: Cow<'a, SiteId>,
    visitor: Cow<'a, str>,
    applied: StoredPosition,
    last_seen: DateTime,
    expire_at: DateTime,
    seen: Cow<'a, BTreeSet<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    visit: Option<Cow<'a, Visit>>,
}

impl<'a> StateDocument<'a> {
    /// The state as a save at `saved_ms` writes it. It expires `STATE_TTL_MS` after its last
    /// event, or after the save if that is later: a worker working through a backlog of events
    /// older than that still needs the state for the rest of their day (expiring it by event
    /// time alone would count those visitors again).
    fn saved(s: &'a VisitorState, saved_ms: i64) -> Self {
        Self {
            id: None,
            site: Cow::Borrowed(&s.site),
            visitor: Cow::Borrowed(&s.visitor),
            applied: StoredPosition::from(s.applied),
            last_seen: DateTime::from_millis(s.last_seen_ms),
            expire_at: DateTime::from_millis(s.last_seen_ms.max(saved_ms) + STATE_TTL_MS),
            seen: Cow::Borrowed(&s.seen),
            visit: s.visit.as_ref().map(Cow::Borrowed),
        }
    }

    fn into_state(self) -> VisitorState {
        VisitorState {
            site: self.site.into_owned(),
            visitor: self.visitor.into_owned(),
            applied: Position::from(self.applied),
            last_seen_ms: self.last_seen.timestamp_millis(),
            seen: self.seen.into_owned(),
            visit: self.visit.map(Cow::into_owned),
        }
    }

    fn to_document(&self) -> Document {
        bson::to_document(self).expect("a visitor state of strings and numbers always serializes")
    }
}

impl MongoStore {
    /// The stored states of these (site, visitor) ids.
    pub async fn load_visitors(
        &self,
        ids: &[String],
    ) -> Result<HashMap<String, VisitorState>, StoreError> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let docs: Vec<Document> = self.find_by_ids(VISITORS, ids, None).await?;
        docs.into_iter()
            .map(|d| {
                let id = d.get_str("_id").unwrap_or_default().to_owned();
                // Treating it as a new visitor would collide with it on every save.
                let state = bson::from_document::<StateDocument>(d).map_err(|e| {
                    StoreError::Corrupt(format!("visitor state {id:?} cannot be read: {e}"))
                })?;
                Ok((id, state.into_state()))
            })
            .collect()
    }

    /// Saves states; each is conditional on the position it was loaded at (`before`).
    pub async fn save_visitors(
        &self,
        states: &[(&VisitorState, Option<Position>)],
    ) -> Result<(), StoreError> {
        // A state never saved before is inserted, not upserted: a plain insert is the store's
        // cheapest write (docs/benchmarks.md, "Visitor states held in memory"), and on a busy
        // site most states of a checkpoint are new visitors. A duplicate key means another
        // worker saved it first: a conflict, as a failed condition is for an update.
        let (new, known): (Vec<_>, Vec<_>) =
            states.iter().partition(|(_, before)| before.is_none());
        let saved_ms = DateTime::now().timestamp_millis();
        let inserts = new
            .iter()
            .map(|(state, _)| {
                let mut document = StateDocument::saved(state, saved_ms);
                document.id = Some(VisitorState::id(&state.site, &state.visitor));
                document.to_document()
            })
            .collect();
        self.write_all(VISITORS, "insert", "documents", inserts)
            .await?;
        let statements = known
            .iter()
            .filter_map(|(state, before)| {
                let applied = bson::to_bson(&StoredPosition::from((*before)?)).ok()?;
                let id = VisitorState::id(&state.site, &state.visitor);
                // The condition is one embedded-document equality (the stored `applied`, same
                // fields, order and types): cheaper to match than two dotted fields
                // (docs/benchmarks.md).
                let q = doc! { "_id": &id, "applied": applied };
                let u = StateDocument::saved(state, saved_ms).to_document();
                Some(doc! { "q": q, "u": u, "upsert": true })
            })
            .collect();
        self.update_all(VISITORS, statements).await
    }

    /// Visitors of `site` whose latest event happened at or after `since`.
    pub async fn active_visitors(
        &self,
        site: &SiteId,
        since: time::OffsetDateTime,
    ) -> Result<u64, StoreError> {
        let since = date(since);
        Ok(self
            .db
            .collection::<Document>(VISITORS)
            .count_documents(doc! { "site": site.as_str(), "last_seen": { "$gte": since } })
            .await?)
    }
}

#[cfg(test)]
mod tests {
    use beacon_event::event::Context;

    use super::*;

    fn state() -> VisitorState {
        VisitorState {
            site: SiteId::parse("site1").unwrap(),
            visitor: "v1".into(),
            applied: Position {
                partition: 2,
                offset: 41,
            },
            last_seen_ms: 1_700_000_000_000,
            seen: ["d:2026-11-25:path:/".to_owned()].into(),
            visit: Some(Visit {
                id: "e1".into(),
                start_ms: 1_699_999_990_000,
                last_ms: 1_700_000_000_000,
                entry: "/".into(),
                exit: "/pricing".into(),
                pageviews: 2,
                events: 3,
                context: Context {
                    browser: "Firefox".into(),
                    ..Context::default()
                },
                funnels: [("funnel:f\u{1f}page:/".to_owned(), 1)].into(),
            }),
        }
    }

    #[test]
    fn a_saved_state_reads_back_as_it_was() {
        let state = state();
        let document = StateDocument::saved(&state, 0).to_document();
        let read: StateDocument = bson::from_document(document).unwrap();
        assert_eq!(read.into_state(), state);
    }

    #[test]
    fn a_save_s_condition_matches_the_stored_position_exactly() {
        // The update's filter compares `applied` whole: same fields, order and BSON types.
        let state = state();
        let document = StateDocument::saved(&state, 0).to_document();
        let condition = bson::to_bson(&StoredPosition::from(state.applied)).unwrap();
        assert_eq!(document.get("applied"), Some(&condition));
        assert_eq!(
            condition,
            bson::Bson::Document(doc! { "p": 2_i32, "o": 41_i64 })
        );
    }

    #[test]
    fn a_state_expires_two_days_after_its_last_event_or_its_save() {
        let state = state();
        let by_event = StateDocument::saved(&state, 0);
        assert_eq!(
            by_event.expire_at.timestamp_millis(),
            state.last_seen_ms + STATE_TTL_MS
        );
        let later = state.last_seen_ms + 5_000;
        let by_save = StateDocument::saved(&state, later);
        assert_eq!(by_save.expire_at.timestamp_millis(), later + STATE_TTL_MS);
        assert!(StateDocument::saved(&state, 0)
            .to_document()
            .get("_id")
            .is_none());
    }
}
