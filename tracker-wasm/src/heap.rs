//! A small global allocator for the tracker's wasm: power-of-two size classes with one free list
//! each, fresh blocks carved from `memory.grow` pages (`src/web/` installs it; its logic is
//! tested on the host against a fake memory).
//!
//! Rust's default wasm allocator (dlmalloc) is about 7 KB of code, more than half of the
//! tracker's whole size budget. The tracker allocates little and repeatedly (the page's strings,
//! one event's fields and JSON, a few vectors), so exact-class reuse without coalescing keeps memory flat: a block
//! freed by one event is the block the next event of similar size gets. wasm32 without the
//! `atomics` feature has a single thread, so plain `Cell`s are enough.

use core::alloc::{GlobalAlloc, Layout};
use core::cell::Cell;
use core::ptr;

/// Smallest block: a free block holds the next-pointer of its list.
const MIN_CLASS: usize = 3; // 8 bytes
/// Size classes up to 2^31 bytes (more than wasm32 memory can hold).
const CLASSES: usize = 32;
/// A wasm memory page.
pub const PAGE: usize = 64 * 1024;

pub struct Allocator {
    /// Head of the free list of each class (0: empty).
    free: [Cell<usize>; CLASSES],
    /// The unused rest of the last pages taken from `grow`.
    next: Cell<usize>,
    end: Cell<usize>,
    /// `memory.grow`: adds `pages` fresh pages and returns the index of the first (its address
    /// divided by [`PAGE`]), or `usize::MAX` when memory cannot grow.
    grow: fn(pages: usize) -> usize,
}

// SAFETY: wasm32-unknown-unknown without `atomics` runs a single thread.
#[cfg(target_arch = "wasm32")]
unsafe impl Sync for Allocator {}

impl Allocator {
    pub const fn new(grow: fn(pages: usize) -> usize) -> Self {
        Self {
            free: [const { Cell::new(0) }; CLASSES],
            next: Cell::new(0),
            end: Cell::new(0),
            grow,
        }
    }

    /// The class of a request: log2 of the block size, a power of two at least as large as the
    /// size and the alignment.
    fn class(layout: &Layout) -> Option<usize> {
        let size = layout.size().max(layout.align()).max(1 << MIN_CLASS);
        let class = size.checked_next_power_of_two()?.trailing_zeros() as usize;
        (class < CLASSES).then_some(class)
    }

    /// A never used block of `size` bytes, aligned to `size` (up to a page); null when memory
    /// cannot grow.
    fn carve(&self, size: usize) -> *mut u8 {
        self.carve_in_place(size)
            .or_else(|| {
                let pages = size.div_ceil(PAGE);
                // `memory.grow` answers usize::MAX when it cannot: the multiplication overflows.
                let start = (self.grow)(pages).checked_mul(PAGE)?;
                self.next.set(start);
                self.end.set(start.checked_add(pages.checked_mul(PAGE)?)?);
                self.carve_in_place(size)
            })
            .unwrap_or(ptr::null_mut())
    }

    /// A block from the rest of the current pages, if it fits.
    fn carve_in_place(&self, size: usize) -> Option<*mut u8> {
        let align = size.min(PAGE);
        let start = self.next.get().checked_add(align - 1)? & !(align - 1);
        let end = start.checked_add(size)?;
        if end > self.end.get() {
            return None;
        }
        self.next.set(end);
        Some(start as *mut u8)
    }
}

unsafe impl GlobalAlloc for Allocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let Some(class) = Self::class(&layout) else {
            return ptr::null_mut();
        };
        let Some(head) = self.free.get(class) else {
            return ptr::null_mut();
        };
        let block = head.get();
        if block != 0 {
            // SAFETY: a free block of this class starts with the address of the next one.
            head.set(unsafe { *(block as *const usize) });
            return block as *mut u8;
        }
        self.carve(1 << class)
    }

    unsafe fn dealloc(&self, block: *mut u8, layout: Layout) {
        if let Some(head) = Self::class(&layout).and_then(|class| self.free.get(class)) {
            // SAFETY: the block is ours, at least 8 bytes and aligned, and no longer in use.
            unsafe { *(block as *mut usize) = head.get() };
            head.set(block as usize);
        }
    }

    unsafe fn realloc(&self, block: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `GlobalAlloc::realloc` guarantees a valid layout for `new_size`.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        if Self::class(&layout) == Self::class(&new_layout) {
            return block;
        }
        // SAFETY: as in `GlobalAlloc::realloc`'s default implementation.
        unsafe {
            let new_block = self.alloc(new_layout);
            if !new_block.is_null() {
                ptr::copy_nonoverlapping(block, new_block, layout.size().min(new_size));
                self.dealloc(block, layout);
            }
            new_block
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    const ARENA_PAGES: usize = 8;

    thread_local! {
        /// This test thread's fake wasm memory: first page index, pages handed out.
        static ARENA: Cell<(usize, usize)> = const { Cell::new((0, 0)) };
    }

    fn grow(pages: usize) -> usize {
        ARENA.with(|arena| {
            let (first, used) = arena.get();
            if first == 0 {
                let layout = Layout::from_size_align(ARENA_PAGES * PAGE, PAGE).unwrap();
                // SAFETY: non-zero size; leaked on purpose, the allocator's blocks live in it.
                let base = unsafe { std::alloc::alloc_zeroed(layout) } as usize;
                assert_ne!(base, 0);
                arena.set((base / PAGE, 0));
                return grow(pages);
            }
            if used + pages > ARENA_PAGES {
                return usize::MAX;
            }
            arena.set((first, used + pages));
            first + used
        })
    }

    fn layout(size: usize, align: usize) -> Layout {
        Layout::from_size_align(size, align).unwrap()
    }

    #[test]
    fn freed_blocks_are_reused_by_their_size_class() {
        let heap = Allocator::new(grow);
        unsafe {
            let a = heap.alloc(layout(20, 4));
            let b = heap.alloc(layout(20, 4));
            assert!(!a.is_null() && !b.is_null() && a != b);
            a.write_bytes(0xaa, 20);
            heap.dealloc(a, layout(20, 4));
            assert_eq!(heap.alloc(layout(30, 1)), a, "same 32-byte class");
            assert_ne!(
                heap.alloc(layout(40, 1)),
                a,
                "a 64-byte class block is another one"
            );
        }
    }

    #[test]
    fn blocks_are_aligned() {
        let heap = Allocator::new(grow);
        unsafe {
            for (size, align) in [(1, 1), (3, 2), (1, 16), (100, 8), (24, 64), (5000, 4096)] {
                let p = heap.alloc(layout(size, align)) as usize;
                assert_ne!(p, 0);
                assert_eq!(p % align, 0, "{size} bytes aligned to {align}");
            }
        }
    }

    #[test]
    fn realloc_keeps_the_block_within_its_class_and_copies_across() {
        let heap = Allocator::new(grow);
        unsafe {
            let p = heap.alloc(layout(10, 1));
            p.copy_from(b"0123456789".as_ptr(), 10);
            assert_eq!(heap.realloc(p, layout(10, 1), 16), p);
            let q = heap.realloc(p, layout(16, 1), 100);
            assert_ne!(q, p);
            assert_eq!(std::slice::from_raw_parts(q, 10), b"0123456789");
            assert_eq!(heap.alloc(layout(16, 1)), p, "the old block was freed");
        }
    }

    #[test]
    fn large_blocks_take_whole_pages_and_exhaustion_is_null() {
        let heap = Allocator::new(grow);
        unsafe {
            let big = heap.alloc(layout(3 * PAGE, 1));
            assert!(!big.is_null());
            big.write_bytes(1, 3 * PAGE);
            // 4 pages (the class rounds up to a power of two) of 8 are used: 8 more cannot fit.
            assert!(heap.alloc(layout(5 * PAGE, 1)).is_null());
            assert!(!heap.alloc(layout(64, 8)).is_null(), "small ones still can");
        }
    }
}
