//! The outbox's home between pages, `localStorage["beacon:outbox"]`, and the self-exclusion
//! switch's, `localStorage["beacon:ignore"]`.

use crate::delivery::{Storage, Unavailable};

/// The key the outbox is stored under.
pub const OUTBOX_KEY: &str = "beacon:outbox";

/// `window.localStorage`; every failure (disabled storage, a full quota, a sandboxed frame)
/// is an `Err`, after which delivery keeps the outbox in memory.
pub struct LocalStorage;

fn local_storage() -> Result<web_sys::Storage, Unavailable> {
    super::browser::window()
        .ok_or(Unavailable)?
        .local_storage()
        .ok()
        .flatten()
        .ok_or(Unavailable)
}

impl Storage for LocalStorage {
    fn read(&self) -> Result<Option<String>, Unavailable> {
        read(OUTBOX_KEY)
    }

    fn write(&self, text: &str) -> Result<(), Unavailable> {
        write(OUTBOX_KEY, text)
    }
}

/// `localStorage[key]` (the outbox, the self-exclusion switch).
pub fn read(key: &str) -> Result<Option<String>, Unavailable> {
    local_storage()?.get_item(key).map_err(|_| Unavailable)
}

/// Stores `text` under `key`, or removes the key when `text` is empty.
pub fn write(key: &str, text: &str) -> Result<(), Unavailable> {
    let storage = local_storage()?;
    let written = if text.is_empty() {
        storage.remove_item(key)
    } else {
        storage.set_item(key, text)
    };
    written.map_err(|_| Unavailable)
}
