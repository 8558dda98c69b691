//! The browser side, compiled for `wasm32` only: the four functions `beacon.js` calls, and the
//! one tracker instance they drive.
//!
//! Only strings and numbers cross the boundary (no JS objects, closures or `Reflect`), and
//! strings only through [`put`]: the generated glue is then one string copy in each direction,
//! and the wasm imports nothing from the page. Nothing here can throw into the page: a panic
//! (none is expected) traps, and the loader calls every export inside `try`.

use alloc::string::String;
use alloc::vec::Vec;
use core::cell::RefCell;

use wasm_bindgen::prelude::*;

use crate::props::PropValue;
use crate::route::Location;
use crate::tracker::{self, Kind, Page, Tracker};

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

/// The crate is `no_std` on wasm32 (see the crate docs): a panic (none is expected: the logic
/// avoids panicking operations) traps, which the loader's
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

static TRACKER: PageGlobal<RefCell<Option<Tracker>>> = PageGlobal(RefCell::new(None));

/// The strings of the next [`start`], [`prop`] or [`track`] call, by slot number (see [`put`]).
static TEXT: PageGlobal<RefCell<[String; 8]>> =
    PageGlobal(RefCell::new([const { String::new() }; 8]));

/// Fractional property numbers with the text JavaScript's `String(n)` made of them (the loader
/// hands both over), for `ClientEvent::write_json`: the wasm needs no float printer and no
/// import.
static FLOATS: PageGlobal<RefCell<Vec<(u64, String)>>> = PageGlobal(RefCell::new(Vec::new()));

/// Takes the string in `slot`, leaving it empty.
fn take(slot: usize) -> String {
    match TEXT.0.try_borrow_mut() {
        Ok(mut text) => text.get_mut(slot).map(core::mem::take).unwrap_or_default(),
        Err(_) => String::new(),
    }
}

/// `String(n)` for a property number the loader handed over; `0` cannot be needed (every
/// fractional number came with its text).
fn float_text(n: f64) -> String {
    let floats = FLOATS.0.try_borrow().ok();
    let found = floats
        .as_ref()
        .and_then(|f| f.iter().find(|(bits, _)| *bits == n.to_bits()));
    found.map_or_else(|| String::from("0"), |(_, text)| text.clone())
}

/// Runs `f` on the tracker, if it is running.
fn with_tracker<T>(f: impl FnOnce(&mut Tracker) -> Option<T>) -> Option<T> {
    f(TRACKER.0.try_borrow_mut().ok()?.as_mut()?)
}

/// Hands over one string for the next call: slot 0 the site id (for [`start`]); 1 the event
/// name, 2 `location.pathname`, 3 `location.search`, 4 `location.hash`, 5 `document.referrer`
/// (for [`track`]); 6 a property key and 7 its string value or `String(number)` (for [`prop`]).
#[wasm_bindgen]
pub fn put(slot: u32, text: &str) {
    if let Ok(mut all) = TEXT.0.try_borrow_mut() {
        if let Some(place) = all.get_mut(slot as usize) {
            place.clear();
            place.push_str(text);
        }
    }
}

/// Starts tracking the site in slot 0 (`data-site`, trimmed; the loader has applied the other
/// options and the opt-outs); `hash` is `data-hash`. False (and nothing is ever tracked) without
/// a valid site id, or when already started.
#[wasm_bindgen]
pub fn start(hash: bool) -> bool {
    let site = take(0);
    let Ok(mut slot) = TRACKER.0.try_borrow_mut() else {
        return false;
    };
    if slot.is_some() {
        return false;
    }
    *slot = Tracker::new(&site, hash);
    slot.is_some()
}

/// One property of the next custom event, its key in slot 6: `kind` 1 a string (slot 7), 2 a
/// number (`number`, and `String(number)` in slot 7), 3 a boolean (`number` 1 or 0), anything
/// else a value that is left out.
#[wasm_bindgen]
pub fn prop(kind: u32, number: f64) {
    let (key, text) = (take(6), take(7));
    let value = match kind {
        1 => PropValue::Str(text),
        2 => {
            if let Ok(mut floats) = FLOATS.0.try_borrow_mut() {
                floats.push((number.to_bits(), text));
            }
            PropValue::Num(number)
        }
        3 => PropValue::Bool(number != 0.0),
        _ => PropValue::Other,
    };
    with_tracker(|t| {
        t.prop(key, value);
        Some(())
    });
}

/// An event: `kind` 0 a navigation, 1 `beacon('pageview')`, 2 `beacon('event', name)` with the
/// properties given by [`prop`]; the page's strings are in slots 1-5 (see [`put`]), and
/// `r0`..`r3` are 128 random bits for the `eid` (`crypto.getRandomValues`). Returns the event's
/// JSON, or nothing.
#[wasm_bindgen]
pub fn track(
    kind: u32,
    screen_width: f64,
    now_ms: f64,
    r0: u32,
    r1: u32,
    r2: u32,
    r3: u32,
) -> Option<String> {
    let name = take(1);
    let page = Page {
        location: Location {
            pathname: take(2),
            search: take(3),
            hash: take(4),
        },
        referrer: take(5),
        screen_width,
        now_ms,
        eid: tracker::eid([r0, r1, r2, r3]),
    };
    let json = with_tracker(|t| t.track(Kind::from_code(kind), &name, &page, float_text));
    if let Ok(mut floats) = FLOATS.0.try_borrow_mut() {
        floats.clear();
    }
    json
}
