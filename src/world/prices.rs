//! Prices per price region and commodity, and this tick's market tallies (the data; prices
//! move in `tick/markets.rs`).

use bevy_ecs::prelude::*;

/// Prices per (price region, commodity), USD per unit, and this tick's market tallies.
#[derive(Resource, Debug, Clone)]
pub struct PriceBook {
    pub commodities: usize,
    /// Current price, indexed `region * commodities + commodity`.
    pub price: Vec<f64>,
    /// Reference price per commodity.
    pub reference: Vec<f64>,
    /// Units ordered this tick by buyers in the region.
    pub ordered: Vec<f64>,
    /// Units of those orders filled.
    pub filled: Vec<f64>,
    /// Units ordered this tick that export licensing withheld from suppliers: demand the
    /// region's buyers did not get, which counts as unfilled.
    pub withheld: Vec<f64>,
    /// Suppliers' finished stock and its target, per commodity, after this tick's sales.
    pub stock: Vec<f64>,
    pub target: Vec<f64>,
}

impl PriceBook {
    pub fn new(regions: usize, reference: Vec<f64>) -> PriceBook {
        let n = reference.len();
        let price = (0..regions).flat_map(|_| reference.iter().copied()).collect();
        PriceBook {
            commodities: n,
            price,
            ordered: vec![0.0; regions * n],
            withheld: vec![0.0; regions * n],
            filled: vec![0.0; regions * n],
            stock: vec![0.0; n],
            target: vec![0.0; n],
            reference,
        }
    }

    /// Price in `region` of `commodity`, USD per unit.
    pub fn price(&self, region: u16, commodity: u16) -> f64 {
        self.price[region as usize * self.commodities + commodity as usize]
    }
}
