//! Loads of a range's raw events, shared by the reports that ask for the same range at once.
//!
//! The stats page asks for its goals, its funnel and the custom property keys together, and
//! each is counted from the same raw events, whose load takes seconds on a busy site-day
//! (docs/benchmarks.md). A request that finds a load of its (site, range) in flight waits for
//! that one instead of starting its own. Nothing is kept once a load is done: the next request
//! reads afresh, so an answer is never older than the load it joined.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::OnceCell;

use super::range_events::RangeEvents;
use super::StoreError;

/// A site's events in `[from, until)`, instants in milliseconds.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct LoadKey {
    pub site: String,
    pub from_ms: i64,
    pub until_ms: i64,
}

type Load = Arc<OnceCell<Arc<RangeEvents>>>;

#[derive(Default)]
pub(super) struct SharedLoads {
    in_flight: Mutex<HashMap<LoadKey, Load>>,
}

impl SharedLoads {
    /// The events of `key`: from the load in flight for it, or from `load`, run here. A load
    /// that fails or is dropped (its request went away) leaves the others to run their own.
    pub async fn get<F, Fut>(&self, key: LoadKey, load: F) -> Result<Arc<RangeEvents>, StoreError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<RangeEvents, StoreError>>,
    {
        // The guard holds this request's only share of the load, so that its count tells
        // whether anybody else waits on it.
        let waiting = Waiting {
            cell: self.lock().entry(key.clone()).or_default().clone(),
            loads: self,
            key,
        };
        let events = waiting
            .cell
            .get_or_try_init(|| async { load().await.map(Arc::new) })
            .await
            .cloned();
        drop(waiting);
        events
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<LoadKey, Load>> {
        // The map is consistent after any panic (one insert or remove): keep using it.
        self.in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// One request's interest in a load, however it ends: answered, failed, or dropped with its
/// request (a browser that went away).
struct Waiting<'a> {
    loads: &'a SharedLoads,
    key: LoadKey,
    cell: Load,
}

impl Drop for Waiting<'_> {
    /// A finished load, or an unfinished one nobody else waits for, leaves the map: later
    /// requests load afresh, and abandoned ranges leave nothing behind. Decided and released
    /// under the lock, where every other request takes and counts its share.
    fn drop(&mut self) {
        let mut in_flight = self.loads.lock();
        let cell = std::mem::take(&mut self.cell);
        let ours = in_flight
            .get(&self.key)
            .is_some_and(|c| Arc::ptr_eq(c, &cell));
        // The map's share and this one: nobody else waits.
        let alone = Arc::strong_count(&cell) <= 2;
        if ours && (cell.initialized() || alone) {
            in_flight.remove(&self.key);
        }
        drop(cell);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::store::RawEvent;

    fn key(site: &str) -> LoadKey {
        LoadKey {
            site: site.into(),
            from_ms: 0,
            until_ms: 86_400_000,
        }
    }

    /// A load that counts its runs and takes `ms` to answer.
    async fn counted(runs: &AtomicUsize, ms: u64) -> Result<RangeEvents, StoreError> {
        runs.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
        Ok(RangeEvents::from_vec(vec![RawEvent::viewing("/a")]))
    }

    #[tokio::test]
    async fn requests_for_the_same_range_at_once_share_one_load() {
        let loads = SharedLoads::default();
        let runs = AtomicUsize::new(0);
        let (a, b, c) = tokio::join!(
            loads.get(key("s"), || counted(&runs, 50)),
            loads.get(key("s"), || counted(&runs, 50)),
            loads.get(key("other"), || counted(&runs, 50)),
        );
        assert_eq!(runs.load(Ordering::SeqCst), 2, "one load per range");
        assert!(Arc::ptr_eq(&a.unwrap(), &b.unwrap()));
        assert_eq!(&*c.unwrap().to_vec()[0].path, "/a");
        assert!(loads.lock().is_empty(), "nothing kept once done");

        // A later request reads afresh.
        loads.get(key("s"), || counted(&runs, 0)).await.unwrap();
        assert_eq!(runs.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn a_load_whose_request_went_away_leaves_nothing_behind() {
        let loads = SharedLoads::default();
        let runs = AtomicUsize::new(0);
        let slow = loads.get(key("s"), || counted(&runs, 10_000));
        let gone = tokio::time::timeout(std::time::Duration::from_millis(20), slow).await;
        assert!(gone.is_err(), "the request was dropped mid-load");
        assert!(loads.lock().is_empty());
        loads.get(key("s"), || counted(&runs, 0)).await.unwrap();
        assert_eq!(
            runs.load(Ordering::SeqCst),
            2,
            "the next request loads afresh"
        );
    }

    #[tokio::test]
    async fn a_failed_load_leaves_the_waiting_requests_to_load_their_own() {
        let loads = SharedLoads::default();
        let runs = AtomicUsize::new(0);
        let failing = || async {
            tokio::time::sleep(std::time::Duration::from_millis(30)).await;
            Err(StoreError::Corrupt("down".into()))
        };
        let (failed, waited) = tokio::join!(
            loads.get(key("s"), failing),
            loads.get(key("s"), || counted(&runs, 0)),
        );
        assert!(failed.is_err());
        assert_eq!(waited.unwrap().len(), 1);
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        assert!(loads.lock().is_empty());
    }
}
