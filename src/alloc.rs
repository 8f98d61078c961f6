//! Large allocations on 2 MiB pages, where the kernel offers them.
//!
//! A 10^6-firm world keeps its links, orders and shipments in arrays of hundreds of MB that
//! the tick reaches into at random (orders are grouped by supplier, links by buyer). With the
//! usual 4 KiB pages nearly every such access also misses the TLB, and on a virtual machine
//! each miss walks two page tables; the first ticks also take one page fault per 4 KiB of
//! shipments. [`HugePages`] is the system allocator that, on Linux, asks the kernel
//! (`madvise(MADV_HUGEPAGE)`) to back every allocation of [`HUGE_FROM`] bytes or more with
//! transparent huge pages: 512 times fewer pages to map and to fault in. It changes no value
//! the program computes; where transparent huge pages are off (`never`) the advice is ignored.
//!
//! The `chokepoint` binary and the benchmarks install it with `#[global_allocator]`; the
//! library itself does not.

use std::alloc::{GlobalAlloc, Layout, System};

/// Allocations from this size on are advised onto huge pages (smaller ones gain little and
/// would round up to 2 MiB).
pub const HUGE_FROM: usize = 4 << 20;

/// The system allocator, with large allocations advised onto huge pages (see the module).
pub struct HugePages;

// SAFETY: every call is the system allocator's, with the same arguments; the advice only
// changes how the kernel backs memory the allocation owns.
unsafe impl GlobalAlloc for HugePages {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract is passed on unchanged.
        let p = unsafe { System.alloc(layout) };
        advise(p, layout.size());
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as above. Large blocks of the usual alignment come from fresh, untouched
        // zero pages (calloc); over-aligned ones (rare here) are zeroed by writing them, so
        // they are on small pages before the advice and stay there.
        let p = unsafe { System.alloc_zeroed(layout) };
        advise(p, layout.size());
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as above.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        advise(p, new_size);
        p
    }
}

/// Advises the whole 4 KiB pages of `len` bytes from `p` onto huge pages, if `len` is at least
/// [`HUGE_FROM`]. Only pages inside the allocation are named, so no other allocation's memory
/// is touched; the kernel maps huge pages where a 2 MiB-aligned span lies inside.
fn advise(p: *mut u8, len: usize) {
    #[cfg(target_os = "linux")]
    if !p.is_null() && len >= HUGE_FROM {
        const PAGE: usize = 4096;
        let start = (p as usize).next_multiple_of(PAGE);
        let end = (p as usize + len) & !(PAGE - 1);
        if end > start {
            // SAFETY: the range is inside memory this allocation owns; madvise reads and
            // writes nothing of it, and a failure (e.g. no huge page support) changes nothing.
            unsafe { madvise(start as *mut core::ffi::c_void, end - start, MADV_HUGEPAGE) };
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (p, len);
}

#[cfg(target_os = "linux")]
const MADV_HUGEPAGE: core::ffi::c_int = 14;

#[cfg(target_os = "linux")]
unsafe extern "C" {
    fn madvise(addr: *mut core::ffi::c_void, len: usize, advice: core::ffi::c_int) -> core::ffi::c_int;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The number after `key` on its line of the file `path` (a /proc table), if any.
    #[cfg(target_os = "linux")]
    fn proc_number(path: &str, key: &str) -> Option<u64> {
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
        text.lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    }

    /// Kilobytes of anonymous memory this process has on huge pages.
    #[cfg(target_os = "linux")]
    fn huge_kb() -> u64 {
        proc_number("/proc/self/smaps_rollup", "AnonHugePages:").expect("AnonHugePages")
    }

    /// The kernel's count of page faults that wanted a huge page and fell back to small ones
    /// (no free 2 MiB of memory), for all processes.
    #[cfg(target_os = "linux")]
    fn thp_fallbacks() -> u64 {
        proc_number("/proc/vmstat", "thp_fault_fallback ").unwrap_or(0)
    }

    #[test]
    fn a_large_allocation_works_and_lands_on_huge_pages_where_the_kernel_offers_them() {
        // The alignment of the program's arrays (f64, u64 and structs of them), and an
        // over-aligned block, which must work whether or not it gets huge pages.
        one_large_allocation(8, true);
        one_large_allocation(4096, false);
    }

    fn one_large_allocation(align: usize, expect_huge: bool) {
        let len = 64 << 20;
        let layout = Layout::from_size_align(len, align).unwrap();
        // SAFETY: a non-zero layout; the memory is written within bounds and freed once.
        unsafe {
            let p = HugePages.alloc_zeroed(layout);
            assert!(!p.is_null());
            #[cfg(target_os = "linux")]
            let (before, fallbacks) = (huge_kb(), thp_fallbacks());
            for i in (0..len).step_by(4096) {
                assert_eq!(*p.add(i), 0);
                *p.add(i) = 1;
            }
            #[cfg(target_os = "linux")]
            {
                let thp = std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled").unwrap_or_default();
                if expect_huge && !thp.contains("[never]") {
                    // Huge pages, or the kernel wanted them and had no free 2 MiB to give.
                    assert!(
                        huge_kb() > before || thp_fallbacks() > fallbacks,
                        "64 MiB aligned to {align} got no huge pages ({thp})"
                    );
                }
            }
            let q = HugePages.realloc(p, layout, 2 * len);
            assert!(!q.is_null());
            assert_eq!(*q.add(4096), 1, "realloc keeps the contents");
            HugePages.dealloc(q, Layout::from_size_align(2 * len, align).unwrap());
        }
    }
}

/// Gives memory freed inside the allocator's heap back to the system, where the C library
/// can (glibc's `malloc_trim`; elsewhere nothing). Freed small blocks otherwise stay mapped:
/// a 10^6-firm world's specs, freed once its firms are spawned, would stay in the process's
/// memory for the whole run. It changes no value the program computes.
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns wholly free pages of the heap to the kernel; it reads
    // and writes no memory the program owns.
    unsafe {
        malloc_trim(0);
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
unsafe extern "C" {
    fn malloc_trim(pad: usize) -> core::ffi::c_int;
}
