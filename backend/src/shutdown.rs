//! Graceful shutdown, one signal for the whole process.
//!
//! Each service runs until this fires, then stops taking new work and finishes what it holds:
//! ingestion answers in-flight requests and flushes the Kafka producer, the worker stores and
//! commits its current batch. A [`Shutdown`] is cheap to clone, so every task can watch it, and
//! tests trigger it directly instead of sending signals.

use tokio::sync::watch;

/// A broadcast "stop now" flag.
#[derive(Clone, Debug)]
pub struct Shutdown {
    rx: watch::Receiver<bool>,
}

/// The sending side: whoever owns it decides when the process stops.
#[derive(Debug)]
pub struct Trigger {
    tx: watch::Sender<bool>,
}

/// A new flag, not yet raised.
pub fn channel() -> (Trigger, Shutdown) {
    let (tx, rx) = watch::channel(false);
    (Trigger { tx }, Shutdown { rx })
}

impl Trigger {
    /// Raises the flag; every waiting [`Shutdown::wait`] returns.
    pub fn fire(&self) {
        let _ = self.tx.send(true);
    }
}

impl Shutdown {
    /// Resolves once shutdown was requested (immediately if it already was). A dropped trigger
    /// counts as a request, so an orphaned task never runs forever.
    pub async fn wait(&mut self) {
        let _ = self.rx.wait_for(|stop| *stop).await;
    }

    /// True once shutdown was requested.
    pub fn is_requested(&self) -> bool {
        *self.rx.borrow()
    }
}

/// A flag raised by Ctrl-C or SIGTERM, for the binaries.
pub fn on_signals() -> Shutdown {
    let (trigger, shutdown) = channel();
    tokio::spawn(async move {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                    .expect("installing the SIGTERM handler");
            tokio::select! {
                _ = ctrl_c => {}
                _ = term.recv() => {}
            }
        }
        #[cfg(not(unix))]
        let _ = ctrl_c.await;
        tracing::info!("shutdown requested");
        trigger.fire();
    });
    shutdown
}
