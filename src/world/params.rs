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
}
