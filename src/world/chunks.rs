//! Sums over every firm that come out the same at any thread count.
//!
//! A float sum depends on the order of its terms. Summing firms on several cores therefore
//! cuts them into fixed chunks of [`FIRMS_PER_CHUNK`] firms in index order, whatever the
//! number of threads: each chunk sums its firms in order into its own accumulator, and the
//! chunks' sums are then added in chunk order ([`chunked`]). A world of one chunk (every
//! shipped model) sums exactly as one pass in index order would.

use std::ops::Range;

/// Firms in a chunk of a fixed-order sum: large enough that a chunk's work dwarfs handing it
/// to a thread, small enough that a 10^5-firm world has chunks for every core.
pub const FIRMS_PER_CHUNK: usize = 1 << 14;

/// How many chunks `n` firms make (at least one).
pub fn chunks(n: usize) -> usize {
    n.div_ceil(FIRMS_PER_CHUNK).max(1)
}

/// Runs `each(firms, out, acc)` for every chunk of the firm indices `0..n`, with the chunk's
/// part of `out` (one entry per firm, or nothing when `out` is empty) and the chunk's own
/// accumulator `accs[k]`; on every core when `parallel`, else in chunk order on the calling
/// thread. `accs` must hold [`chunks`]`(n)` accumulators; the caller adds them up in order.
pub fn chunked<T: Send, A: Send>(
    n: usize,
    out: &mut [T],
    accs: &mut [A],
    parallel: bool,
    each: impl Fn(Range<usize>, &mut [T], &mut A) + Sync,
) {
    assert_eq!(accs.len(), chunks(n), "one accumulator per chunk");
    assert!(out.is_empty() || out.len() == n, "one entry per firm, or none");
    let range = |k: usize| k * FIRMS_PER_CHUNK..((k + 1) * FIRMS_PER_CHUNK).min(n);
    let with_out = !out.is_empty();
    let mut rest = out;
    let mut part = |k: usize| {
        let len = if with_out { range(k).len() } else { 0 };
        let (mine, after) = std::mem::take(&mut rest).split_at_mut(len);
        rest = after;
        mine
    };
    if !parallel || accs.len() == 1 {
        for (k, acc) in accs.iter_mut().enumerate() {
            each(range(k), part(k), acc);
        }
        return;
    }
    let each = &each;
    bevy_tasks::ComputeTaskPool::get().scope(|s| {
        for (k, acc) in accs.iter_mut().enumerate() {
            let (firms, mine) = (range(k), part(k));
            s.spawn(async move { each(firms, mine, acc) });
        }
    });
}

/// Adds a chunk's (or a part's) sums `part` into `total`, cell by cell; callers add the chunks
/// in chunk order.
pub fn add_cells(total: &mut [f64], part: &[f64]) {
    debug_assert_eq!(total.len(), part.len(), "sums of the same cells");
    for (t, p) in total.iter_mut().zip(part) {
        *t += p;
    }
}

#[cfg(test)]
mod tests {
    use super::{FIRMS_PER_CHUNK, chunked, chunks};

    /// Terms whose sum depends on their order.
    fn term(i: usize) -> f64 {
        1.0 / (1.0 + i as f64) * if i.is_multiple_of(3) { 1e8 } else { 1.0 }
    }

    fn sum(n: usize, parallel: bool) -> (f64, Vec<usize>) {
        let mut accs = vec![0.0; chunks(n)];
        let mut out = vec![0; n];
        chunked(n, &mut out, &mut accs, parallel, |firms, out, acc| {
            for (i, o) in firms.zip(out.iter_mut()) {
                *acc += term(i);
                *o = i;
            }
        });
        (accs.iter().fold(0.0, |t, a| t + a), out)
    }

    #[test]
    fn chunked_sums_are_the_same_on_one_core_and_on_all() {
        bevy_tasks::ComputeTaskPool::get_or_init(bevy_tasks::TaskPool::default);
        let n = 3 * FIRMS_PER_CHUNK + 17;
        let (one, out) = sum(n, false);
        let (all, out_all) = sum(n, true);
        assert_eq!(one.to_bits(), all.to_bits());
        assert_eq!(out, (0..n).collect::<Vec<_>>(), "each firm's entry is its own");
        assert_eq!(out, out_all);
    }

    #[test]
    fn one_chunk_sums_as_one_pass_in_index_order() {
        let n = FIRMS_PER_CHUNK - 5;
        let plain = (0..n).fold(0.0, |t, i| t + term(i));
        assert_eq!(sum(n, false).0.to_bits(), plain.to_bits());
        assert_eq!(chunks(0), 1);
        let mut accs = vec![0u32; 1];
        chunked(0, &mut [] as &mut [u8], &mut accs, true, |firms, _, acc| *acc += firms.len() as u32);
        assert_eq!(accs, vec![0]);
    }
}
