//! The worker's `/healthz` and `/readyz` (its `/metrics` are served next to them by
//! [`crate::http::serve`]).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use axum::Router;

use super::starvation::Stuck;
use crate::http;
use crate::store::MongoStore;

/// Whether the worker's latest attempt to store a batch failed. A MongoDB that answers pings
/// can still refuse every write (a full cache, a rejected document, lost permissions), and the
/// worker then stalls just as surely as if it were down: `/readyz` reports both.
#[derive(Clone, Default)]
pub struct StoreHealth(Arc<AtomicBool>);

impl StoreHealth {
    pub fn record<T, E>(&self, attempt: &Result<T, E>) {
        self.0.store(attempt.is_err(), Ordering::Relaxed);
    }

    pub fn failing(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// What `/readyz` looks at.
pub type Ready = (Arc<MongoStore>, StoreHealth, Stuck);

/// `/readyz`: MongoDB answers pings, the last batch could be stored, and no partition waits
/// with nobody consuming it.
async fn readyz(State((store, health, stuck)): State<Ready>) -> Response {
    if health.failing() {
        return http::readiness(false, "mongodb writes");
    }
    if let Some(reason) = stuck.reason() {
        // Up, but consuming nothing while events wait: "numbers froze" must not look healthy.
        return http::readiness(false, &reason.describe());
    }
    http::readiness(store.ping().await, "mongodb")
}

pub fn router(ready: Ready) -> Router {
    Router::new()
        .route("/healthz", get(http::healthz))
        .route("/readyz", get(readyz))
        .with_state(ready)
}
