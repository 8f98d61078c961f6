//! The STREAM triad (McCalpin 1995: a[i] = b[i] + s·c[i], 24 bytes per element): the memory
//! bandwidth the benchmarks divide a tick's bytes by.

use rayon::prelude::*;
use std::hint::black_box;
use std::time::Instant;

/// Best of five STREAM triads over `n` doubles per array, in bytes per second: on the calling
/// thread, or split across the rayon pool.
pub fn triad(n: usize, parallel: bool) -> f64 {
    let b = vec![1.0f64; n];
    let c = vec![2.0f64; n];
    let mut a = vec![0.0f64; n];
    let s = 3.0;
    let mut best = f64::INFINITY;
    for _ in 0..5 {
        let t = Instant::now();
        if parallel {
            let chunk = n.div_ceil(rayon::current_num_threads()).max(1);
            a.par_chunks_mut(chunk)
                .zip(b.par_chunks(chunk).zip(c.par_chunks(chunk)))
                .for_each(|(a, (b, c))| {
                    for ((a, b), c) in a.iter_mut().zip(b).zip(c) {
                        *a = b + s * c;
                    }
                });
        } else {
            for ((a, b), c) in a.iter_mut().zip(&b).zip(&c) {
                *a = b + s * c;
            }
        }
        best = best.min(t.elapsed().as_secs_f64());
        black_box(&a);
    }
    (3 * 8 * n) as f64 / best
}
