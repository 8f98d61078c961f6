//! Behavioural parameters that every firm shares, as the model file sets them.

use crate::model::{Buying, Planning, PriceRules, Selling};
use bevy_ecs::prelude::*;

/// Behavioural parameters shared by all firms.
#[derive(Resource, Debug, Clone)]
pub struct Params {
    pub prices: PriceRules,
    pub planning: Planning,
    pub buying: Buying,
    pub selling: Selling,
    /// Run the per-firm systems on the compute pool (true) or on the calling thread (false,
    /// as in sweeps, where runs are the unit of parallelism). Results are the same.
    pub parallel: bool,
    /// Every day, ask every buyer whether it must adapt its suppliers, adapt those that must,
    /// and only then let any order, as procurement does on a day when a qualification
    /// completes (false: on other days a buyer that need not adapt orders as soon as it is
    /// asked). Results are the same; tests compare the two.
    pub adapt_first: bool,
}

/// Without `--threads`, worlds with fewer firms run every system on the calling thread:
/// handing work to the pool and joining it costs more than the work saved (on this 2-core
/// machine a 10^3-firm tick took 0.86 ms on 2 threads and 0.59 ms on one; at 10^4, 6.8 and
/// 7.2 ms; BENCHMARKS.md).
pub const PARALLEL_FROM_FIRMS: usize = 5_000;
