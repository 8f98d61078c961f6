//! One array written from several threads at once, each thread at its own indices.
//!
//! Sending goods runs on every core (`tick::shipping`): the day's book is cut into parts of
//! whole suppliers, and since each supply link has one supplier, no two parts send on the
//! same link. But a part's links are scattered over the per-link arrays (links are numbered
//! buyer by buyer), so no split of a slice gives each part its own. [`Disjoint`] lends each
//! element to the part that owns it; the caller promises that no two threads use the same
//! index at once, which is what makes it sound.

use std::marker::PhantomData;

/// A mutable slice lent to several threads, each using indices no other uses meanwhile.
pub struct Disjoint<'a, T> {
    ptr: *mut T,
    len: usize,
    _life: PhantomData<&'a mut [T]>,
}

// SAFETY: a `Disjoint` is a `&mut [T]` whose elements are used by one thread each (the
// contract of `get`), so it may go to and be shared by the threads that hold them.
unsafe impl<T: Send> Send for Disjoint<'_, T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for Disjoint<'_, T> {}

impl<'a, T> Disjoint<'a, T> {
    /// Lends `slice` for as long as the `Disjoint` lives.
    pub fn new(slice: &'a mut [T]) -> Disjoint<'a, T> {
        Disjoint {
            ptr: slice.as_mut_ptr(),
            len: slice.len(),
            _life: PhantomData,
        }
    }

    /// Element `i` (panics when out of bounds).
    ///
    /// # Safety
    /// While the reference lives, no other thread reads or writes element `i`.
    #[inline]
    #[allow(clippy::mut_from_ref)] // the point of the type: see the safety contract
    pub unsafe fn get(&self, i: usize) -> &mut T {
        assert!(i < self.len, "index {i} out of {}", self.len);
        // SAFETY: in bounds, and by the caller's promise no other thread uses the element.
        unsafe { &mut *self.ptr.add(i) }
    }

    /// Asks for element `i`'s cache line (see [`crate::world::prefetch`]); reads nothing.
    #[inline(always)]
    pub fn prefetch(&self, i: usize) {
        if i < self.len {
            crate::world::prefetch::prefetch_at(self.ptr.wrapping_add(i));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Disjoint;

    #[test]
    fn threads_write_their_own_scattered_elements() {
        let mut v = vec![0u64; 1000];
        {
            let d = Disjoint::new(&mut v);
            std::thread::scope(|s| {
                for part in 0..4u64 {
                    let d = &d;
                    s.spawn(move || {
                        // Part k owns the indices equal to k modulo 4.
                        for i in (part as usize..1000).step_by(4) {
                            // SAFETY: index i belongs to this part alone.
                            unsafe { *d.get(i) += i as u64 * 10 + part };
                        }
                    });
                }
            });
        }
        assert!(v.iter().enumerate().all(|(i, &x)| x == i as u64 * 10 + (i % 4) as u64));
    }

    #[test]
    #[should_panic(expected = "out of")]
    fn an_index_out_of_bounds_panics() {
        let mut v = vec![0u8; 3];
        let d = Disjoint::new(&mut v);
        // SAFETY: one thread.
        unsafe { *d.get(3) = 1 };
    }
}
