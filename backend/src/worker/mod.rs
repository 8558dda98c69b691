//! The worker: moves events from Kafka into MongoDB, at least once and idempotently.
//!
//! Each batch goes: decode → poison records to the dead-letter topic → raw events and rollup
//! deltas into MongoDB ([`apply_batch`]), with the visitor states it changed kept in memory
//! (and, under a backlog, its rollup deltas too, written every few batches). Every
//! `WORKER_CHECKPOINT_MS` (or when the topic goes quiet, or at shutdown) a checkpoint writes
//! the held deltas, saves those states and then commits the offsets of everything applied
//! since the previous one. So a crash at any point replays from a point whose states are saved,
//! and the writes' idempotence by position ([`crate::rollup`]) makes the replay exact;
//! `states` says why holding states is safe. When MongoDB or the broker is down the worker
//! retries with backoff and never commits past what it stored: lag grows, nothing is lost, and
//! it drains once the store is back.
//!
//! One file per stage: `consume` runs the loop, [`decode`] turns records into events and
//! dead letters, `dead_letters` sends those, `batch` stores a batch, `window` keeps what
//! was applied since the last `checkpoint`, `lookout` and `starvation` watch the group,
//! `endpoints` answer `/readyz`; every retry waits with [`crate::backoff`].

use std::sync::Arc;

use tokio::net::TcpListener;

use crate::config::Config;
use crate::shutdown::Shutdown;
use crate::store::MongoStore;
use crate::{http, ServiceError};
use endpoints::StoreHealth;
use starvation::{Stuck, Watch};

mod batch;
mod checkpoint;
mod consume;
mod dead_letters;
mod decode;
mod endpoints;
mod goals;
mod lookout;
pub mod rebuild;
pub mod rebuild_cli;
mod starvation;
mod states;
pub mod status;
mod window;

pub use batch::{apply_batch, store_batch, Batch, BatchOutcome};
pub use checkpoint::{reapply, CheckpointPolicy, Holding};
pub use decode::{decode, DeadLetter};
pub use goals::goals_for;
pub use states::VisitorStates;
pub use window::Window;

/// Runs the worker until `shutdown`; the batch in hand is finished and committed first.
/// `listener` serves the worker's health and metrics endpoints.
pub async fn run(
    config: &Config,
    listener: TcpListener,
    shutdown: Shutdown,
) -> Result<(), ServiceError> {
    let store = MongoStore::connect(&config.mongo_url).await?;
    let health = StoreHealth::default();
    let stuck = Stuck::default();
    let endpoints = tokio::spawn(http::serve(
        "worker",
        listener,
        config.max_connections,
        endpoints::router((Arc::new(store.clone()), health.clone(), stuck.clone())),
        shutdown.clone(),
    ));
    let watch = Watch::new(config.worker_starved_after, config.worker_checkpoint, stuck);
    let result = consume::consume(config, &store, &health, watch, shutdown).await;
    if result.is_err() {
        // No shutdown is coming to stop the endpoints: the worker exits on its error.
        endpoints.abort();
        return result;
    }
    endpoints.await.map_err(std::io::Error::other)??;
    result
}
