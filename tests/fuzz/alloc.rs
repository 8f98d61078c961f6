//! A counting global allocator for the fuzz test: live and peak heap bytes of the process, and
//! a hard cap that makes any allocation past it fail while a case runs.
//!
//! A failed allocation aborts the process ("memory allocation of N bytes failed"), which is why
//! cases run in a child process: the parent sees the abort and reports the case.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

/// The test binary's allocator: the system allocator plus three counters.
pub struct Counting;

/// Bytes currently allocated.
static LIVE: AtomicUsize = AtomicUsize::new(0);
/// Most bytes allocated at once since the last [`begin_case`].
static PEAK: AtomicUsize = AtomicUsize::new(0);
/// Live bytes past which allocations fail; 0 means no limit.
static LIMIT: AtomicUsize = AtomicUsize::new(0);

/// Hard cap on what one case may allocate above what was live when it began, bytes (1 GiB).
/// It protects the machine; the per-case allowance ([`allowance`]) is checked after the case.
pub const HARD_CAP: usize = 1 << 30;

fn reserve(bytes: usize) -> bool {
    let live = LIVE.fetch_add(bytes, Relaxed).saturating_add(bytes);
    let limit = LIMIT.load(Relaxed);
    if limit != 0 && live > limit {
        LIVE.fetch_sub(bytes, Relaxed);
        return false;
    }
    PEAK.fetch_max(live, Relaxed);
    true
}

fn release(bytes: usize) {
    LIVE.fetch_sub(bytes, Relaxed);
}

// SAFETY: every method forwards to `System` with the caller's layout and only adds counting.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if !reserve(layout.size()) {
            return std::ptr::null_mut();
        }
        // SAFETY: the caller upholds `alloc`'s contract, forwarded unchanged.
        let p = unsafe { System.alloc(layout) };
        if p.is_null() {
            release(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if !reserve(layout.size()) {
            return std::ptr::null_mut();
        }
        // SAFETY: as for `alloc`.
        let p = unsafe { System.alloc_zeroed(layout) };
        if p.is_null() {
            release(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` with `layout` (all allocations pass through here).
        unsafe { System.dealloc(ptr, layout) };
        release(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let old = layout.size();
        if new_size > old && !reserve(new_size - old) {
            return std::ptr::null_mut();
        }
        // SAFETY: as for `dealloc`; `new_size` is the caller's, forwarded unchanged.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if p.is_null() {
            if new_size > old {
                release(new_size - old);
            }
        } else if new_size < old {
            release(old - new_size);
        }
        p
    }
}

/// Starts measuring a case: resets the peak, arms the hard cap; returns the live bytes to pass to
/// [`end_case`].
pub fn begin_case() -> usize {
    let live = LIVE.load(Relaxed);
    PEAK.store(live, Relaxed);
    LIMIT.store(live.saturating_add(HARD_CAP), Relaxed);
    live
}

/// Ends a case: disarms the cap; returns the most bytes the case held at once above `base`.
pub fn end_case(base: usize) -> usize {
    LIMIT.store(0, Relaxed);
    PEAK.load(Relaxed).saturating_sub(base)
}

/// Bytes a case may hold at once (above what was live when it began), given the model it ended
/// with (`None` when the model was refused): the run's own memory estimate
/// (`chokepoint::model::limits::estimate`, the number `validate` prints and `run` checks
/// against its limit) plus [`PARSE_SLACK`] for reading and checking the files, which happens
/// before there is a model to estimate. A refused model may use only the slack.
pub fn allowance(model: Option<&chokepoint::model::Model>) -> usize {
    match model {
        Some(m) => (chokepoint::model::limits::estimate(m).memory_bytes as usize).saturating_add(PARSE_SLACK),
        None => PARSE_SLACK,
    }
}

/// Memory for reading, parsing and checking model files (at most 64 MiB each, by the loader's
/// cap) before a model exists.
pub const PARSE_SLACK: usize = 64 << 20;

/// A finding if a case's peak exceeded its allowance.
pub fn over_allowance(peak: usize, allowed: usize) -> Option<String> {
    (peak > allowed).then(|| format!("held {peak} bytes at once, more than the {allowed} allowed"))
}
