//! Final demand: each nation's persistent demand shock (the data; it moves each tick in
//! `tick/production.rs`).

use crate::world::rng::agent_key;
use bevy_ecs::prelude::*;

/// Each nation's persistent demand shock. The log of the shock follows a first-order
/// autoregression that forgets e^-1 of itself every `market_shock_days` and settles at a
/// standard deviation of `market_shock_sd`. It starts at 0 (the model's calibrated present is
/// known; uncertainty grows with the horizon) and is scaled so that its mean is 1 at every
/// tick. Each nation draws from its own stream, one draw per tick whatever the scenario, so
/// runs with the same seed share their demand shocks.
#[derive(Resource, Debug)]
pub struct MarketDemand {
    /// Log of each nation's shock.
    pub log_level: Vec<f64>,
    /// Variance of the log shock at this tick (the same for every nation).
    pub variance: f64,
    /// Each nation's factor on planned final output this tick.
    pub factor: Vec<f64>,
    /// Each nation's key for its draws (see [`crate::world::rng`]).
    pub keys: Vec<u64>,
}

impl MarketDemand {
    /// Every nation's shock at its start: 0 in logs, a factor of 1.
    pub fn new(seed: u64, nation_ids: &[String]) -> MarketDemand {
        MarketDemand {
            log_level: vec![0.0; nation_ids.len()],
            variance: 0.0,
            factor: vec![1.0; nation_ids.len()],
            keys: nation_ids.iter().map(|n| agent_key(seed, &format!("nation/{n}"))).collect(),
        }
    }
}
