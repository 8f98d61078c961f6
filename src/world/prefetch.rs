//! A hint to the processor that some memory will be read or written soon.
//!
//! The tick's passes over orders and shipments reach into per-link and per-firm state in an
//! order the memory layout cannot follow (orders are grouped by supplier, links by buyer): at
//! 10^6 firms each such access is a wait on main memory. Naming the element a pass will need
//! some steps ahead lets those waits overlap (issue 11: a tick that streams through memory).

/// How many elements ahead the passes ask for (about the number of cache misses a core keeps
/// in flight).
pub const AHEAD: usize = 16;

/// Asks for the cache line of `slice[index]` to be brought into cache; does nothing when
/// `index` is out of bounds or on processors other than x86-64. Changes no value.
#[inline(always)]
pub fn prefetch<T>(slice: &[T], index: usize) {
    if index < slice.len() {
        prefetch_at(slice.as_ptr().wrapping_add(index));
    }
}

/// Asks for the cache line at `p` to be brought into cache (for views that hold a pointer,
/// not a slice); does nothing on processors other than x86-64. Reads nothing, changes no
/// value, and cannot fault, wherever `p` points.
#[inline(always)]
pub fn prefetch_at<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch reads nothing the program sees and cannot fault.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(p.cast())
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}
