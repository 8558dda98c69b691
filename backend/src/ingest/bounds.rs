//! What one request to ingestion may carry, and how long it may take to send it.

use std::time::Duration;

/// Largest accepted body: 1 MiB.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// Most events accepted in one request.
pub const MAX_EVENTS: usize = 500;
/// Longest a client may take to send its body: a tracker's batch arrives in milliseconds; a
/// client trickling bytes (slow loris) is cut off instead of holding a task and a connection.
pub const BODY_TIMEOUT: Duration = Duration::from_secs(10);
/// Most eids one receipts lookup may ask about: a tracker's unconfirmed events are a few
/// batches of 10.
pub const MAX_EIDS_ASKED: usize = 200;
/// A receipts lookup's one field, named in its errors.
pub const EIDS: &str = "eids";
