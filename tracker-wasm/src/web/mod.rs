//! The browser side, compiled for `wasm32` only: the two functions the loader calls, and the one
//! tracker instance they drive.
//!
//! Every call into the tracker goes through [`with_tracker`], which skips the call instead of
//! panicking if the tracker is missing or (it cannot be, but) already borrowed. Values coming from
//! the page (command arguments, property objects) are read before the tracker is borrowed, so
//! nothing the page does can leave tracker state locked.

mod host;
mod js;
mod listen;
mod send;

use alloc::string::String;
use core::cell::RefCell;

use wasm_bindgen::prelude::*;

use crate::config::{Config, Visit};
use crate::props::{self, PropValue};
use crate::tracker::Tracker;
use host::Browser;

/// Rust's default wasm allocator (dlmalloc) alone is about 7 KB; see [`crate::heap`].
#[global_allocator]
static ALLOCATOR: Heap = Heap(crate::heap::Allocator::new(grow));

fn grow(pages: usize) -> usize {
    core::arch::wasm32::memory_grow(0, pages)
}

/// [`crate::heap::Allocator`] that traps when memory is exhausted instead of returning null.
/// A null answer would reach `handle_alloc_error`, whose message ("memory allocation of N bytes
/// failed") is formatted even though our panic handler ignores it, linking `core::fmt`; with
/// this wrapper the compiler sees that allocations never return null and drops that path. The
/// outcome of exhausted memory is the same trap as before.
struct Heap(crate::heap::Allocator);

/// Traps on a null block (see [`Heap`]).
fn non_null(block: *mut u8) -> *mut u8 {
    if block.is_null() {
        core::arch::wasm32::unreachable()
    }
    block
}

// SAFETY: forwards to `heap::Allocator`, which upholds `GlobalAlloc`'s contract.
unsafe impl core::alloc::GlobalAlloc for Heap {
    unsafe fn alloc(&self, layout: core::alloc::Layout) -> *mut u8 {
        non_null(unsafe { self.0.alloc(layout) })
    }

    unsafe fn dealloc(&self, block: *mut u8, layout: core::alloc::Layout) {
        unsafe { self.0.dealloc(block, layout) }
    }

    unsafe fn realloc(
        &self,
        block: *mut u8,
        layout: core::alloc::Layout,
        new_size: usize,
    ) -> *mut u8 {
        non_null(unsafe { self.0.realloc(block, layout, new_size) })
    }
}

/// The crate is `no_std` on wasm32 (see the crate docs): a panic (none is expected: every browser
/// call is fallible and the logic avoids panicking operations) traps, which the loader's
/// `try/catch` absorbs, instead of formatting a message with `core::fmt`.
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}

/// A global for the page's single thread: `thread_local!` would add an access check that panics
/// (with formatted messages) and lazy-initialization code, for no gain on wasm32 without atomics.
pub struct PageGlobal<T>(pub T);

// SAFETY: wasm32-unknown-unknown without the `atomics` feature runs a single thread.
unsafe impl<T> Sync for PageGlobal<T> {}

static TRACKER: PageGlobal<RefCell<Option<Tracker<Browser>>>> = PageGlobal(RefCell::new(None));

/// Runs `f` on the tracker, if it is running.
fn with_tracker(f: impl FnOnce(&mut Tracker<Browser>)) {
    if let Ok(mut slot) = TRACKER.0.try_borrow_mut() {
        if let Some(tracker) = slot.as_mut() {
            f(tracker);
        }
    }
}

/// Starts tracking on the page whose `globalThis` is `global`. `options` holds the snippet's `data-*` attributes under their `dataset`
/// names (`site`, `endpoint`, `hash`, `respectDnt`, `allowLocalhost`, `allowBots`) and the
/// loader's own URL as `src`. Returns false (and tracks nothing) without a valid `data-site`,
/// when the visit opts out, or when already started.
#[wasm_bindgen]
pub fn start(options: &JsValue, global: JsValue) -> bool {
    js::set_global(global);
    let attr = |name: &str| js::string(options, name);
    let src = attr("src").unwrap_or_default();
    let Some(config) = Config::from_attrs(attr, &src) else {
        return false;
    };
    let hostname = js::string(&js::global("location"), "hostname").unwrap_or_default();
    let navigator = js::global("navigator");
    let is_one = |v: Option<String>| matches!(v.as_deref(), Some("1" | "yes"));
    let visit = Visit {
        hostname: &hostname,
        webdriver: js::get(&navigator, "webdriver").is_truthy(),
        opted_out: is_one(js::string(&navigator, "doNotTrack"))
            || is_one(js::global("doNotTrack").as_string())
            || js::get(&navigator, "globalPrivacyControl").is_truthy(),
    };
    if !config.allows(&visit) {
        return false;
    }
    let hash = config.hash;
    let installed = match TRACKER.0.try_borrow_mut() {
        Ok(mut slot) if slot.is_none() => {
            *slot = Some(Tracker::new(Browser::new(), config));
            true
        }
        _ => false,
    };
    if installed {
        listen::install(hash);
        with_tracker(|t| t.start());
    }
    installed
}

/// `beacon('pageview')` and `beacon('event', name, props)`; anything else is ignored.
#[wasm_bindgen]
pub fn command(kind: &JsValue, name: &JsValue, props: &JsValue) {
    match kind.as_string().as_deref() {
        Some("pageview") => with_tracker(|t| t.page_view()),
        Some("event") => {
            let Some(name) = name.as_string() else {
                return;
            };
            let props = read_props(props);
            with_tracker(|t| t.custom(&name, props));
        }
        _ => {}
    }
}

/// The own enumerable properties of an object, as property values.
fn read_props(object: &JsValue) -> Option<beacon_event::Props> {
    let keys = js::keys(object).ok()?;
    let count = js::get(&keys, "length").as_f64().unwrap_or(0.0) as u32;
    let entries = (0..count).filter_map(|i| {
        let key = js::item(&keys, i).as_string()?;
        let value = js::get(object, &key);
        let value = if let Some(s) = value.as_string() {
            PropValue::Str(s)
        } else if let Some(n) = value.as_f64() {
            PropValue::Num(n)
        } else if let Some(b) = value.as_bool() {
            PropValue::Bool(b)
        } else {
            PropValue::Other
        };
        Some((key, value))
    });
    props::build(entries)
}
