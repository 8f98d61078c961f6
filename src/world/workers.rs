//! How work is cut for every core: into more pieces than there are threads.
//!
//! Two things leave a core idle when a pass is cut into one piece per thread of the compute
//! pool. The thread that opens a scope runs tasks too, so a scope has one more thread than
//! the pool's `thread_num()`, and on a machine with as many pool threads as cores the pieces
//! share the cores unevenly. And pieces of equal length are not equal work: the firms of a
//! generated world are spawned role by role, so one half of the firms may do most of the
//! ordering. Cut into several pieces per thread, a thread that finishes early takes the next
//! piece (measured at 10^6 firms on 2 cores, BENCHMARKS.md: the buyers' ordering pass went
//! from 1.14× to 1.44× faster than on one thread, the whole tick from 1.57× to 1.69×).
//!
//! Where a pass's result could depend on how it is cut (a float sum), it is cut by the data
//! alone, never by these (see [`crate::world::chunks`]); these cuts only share out work whose
//! result is the same however it is cut.

use bevy_ecs::batching::BatchingStrategy;

/// Pieces of work per thread of the compute pool.
pub const PIECES_PER_THREAD: usize = 16;

/// The fewest items (firms, links or orders) in a piece: below this, handing a piece to a
/// thread costs more than it saves.
pub const MIN_PIECE: usize = 2048;

/// How many pieces to cut `items` items into: 1 unless `parallel`; otherwise
/// [`PIECES_PER_THREAD`] per pool thread, fewer when that would make pieces smaller than
/// [`MIN_PIECE`].
pub fn pieces(parallel: bool, items: usize) -> usize {
    if !parallel {
        return 1;
    }
    let threads = bevy_tasks::ComputeTaskPool::get().thread_num().max(1);
    (items / MIN_PIECE).clamp(1, threads * PIECES_PER_THREAD)
}

/// The batching of a parallel query over firms: [`PIECES_PER_THREAD`] batches per thread of
/// the largest table, none smaller than [`MIN_PIECE`] firms.
pub fn batching() -> BatchingStrategy {
    BatchingStrategy::new()
        .min_batch_size(MIN_PIECE)
        .batches_per_thread(PIECES_PER_THREAD)
}

#[cfg(test)]
mod tests {
    use super::{MIN_PIECE, PIECES_PER_THREAD, pieces};

    #[test]
    fn work_is_cut_into_pieces_of_at_least_min_piece_and_at_most_so_many_per_thread() {
        bevy_tasks::ComputeTaskPool::get_or_init(bevy_tasks::TaskPool::default);
        let threads = bevy_tasks::ComputeTaskPool::get().thread_num().max(1);
        // On one thread, or too little work to share: one piece.
        assert_eq!(pieces(false, 100 * MIN_PIECE), 1);
        assert_eq!(pieces(true, 0), 1);
        assert_eq!(pieces(true, MIN_PIECE - 1), 1);
        // No piece below the minimum, and no more than the threads can use.
        assert_eq!(pieces(true, 3 * MIN_PIECE + 5), 3.min(threads * PIECES_PER_THREAD));
        assert_eq!(pieces(true, usize::MAX / 2), threads * PIECES_PER_THREAD);
    }
}
