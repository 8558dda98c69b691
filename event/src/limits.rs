//! The size limits of an event's fields, in one place: ingestion refuses what breaks them, and
//! the browser tracker cuts or leaves out browser values so that what it sends always fits.

/// Longest `site_id`, in characters (all ASCII).
pub const MAX_SITE_ID_CHARS: usize = 128;
/// Longest `user_id` (and the visitor id derived in its place), in characters.
pub const MAX_USER_ID_CHARS: usize = 256;
/// Longest `path` and `referrer`, in bytes.
pub const MAX_URL_BYTES: usize = 2048;
/// Longest event name, in characters.
pub const MAX_NAME_CHARS: usize = 64;
/// Widest `screen_width`: wider than any real display, small enough to reject garbage.
pub const MAX_SCREEN_WIDTH: u32 = 100_000;
/// Most custom properties on one event.
pub const MAX_PROP_KEYS: usize = 30;
/// Longest property key, in characters.
pub const MAX_PROP_KEY_CHARS: usize = 64;
/// Longest string property value, in bytes.
pub const MAX_PROP_STRING_BYTES: usize = 512;
