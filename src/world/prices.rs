//! Prices per price region and commodity, and what set them this tick (the data; prices move
//! in `tick/markets.rs`).

use bevy_ecs::prelude::*;

/// Prices per (price region, commodity), USD per unit, with the stocks and the cost anchor
/// that moved them this tick. Every vector but `reference` is indexed
/// `region * commodities + commodity`.
#[derive(Resource, Debug, Clone)]
pub struct PriceBook {
    pub commodities: usize,
    /// Current price, USD per unit.
    pub price: Vec<f64>,
    /// Reference price per commodity, USD per unit: the starting price everywhere.
    pub reference: Vec<f64>,
    /// Units of the commodity held in the region at the end of this tick's trade: sellers'
    /// finished stock, buyers' input stock on hand and what is on its way to them.
    pub held: Vec<f64>,
    /// Units the region's sellers and buyers want to hold: sellers' expected sales over their
    /// output cover (traders: their stock target), buyers' expected use over their input cover and their suppliers' mean
    /// transit time.
    pub wanted: Vec<f64>,
    /// The part of `wanted` that the region's buyers want (input stocks), and the same at the
    /// first tick (the steady state; empty until then): how much of its normal market is
    /// still there to bid.
    pub buyers: Vec<f64>,
    pub normal_buyers: Vec<f64>,
    /// Cost anchor, USD per unit: the reference price moved by the change in the region's
    /// producers' unit input cost, in proportion to the inputs' share of the reference price.
    pub anchor: Vec<f64>,
    /// Scratch for the anchor: the region's producers' expected output (units per tick), and
    /// the same weighted by each producer's cost factor (anchor ÷ reference).
    pub output: Vec<f64>,
    pub weighted_cost: Vec<f64>,
    /// Perceived log cover, ln(held ÷ wanted) smoothed over the price's adjustment time
    /// (`prices.adjust_days`); 0 at the start (cover as wanted).
    pub log_cover: Vec<f64>,
}

impl PriceBook {
    /// Every region at the reference prices, with its stocks and anchor not yet measured.
    pub fn new(regions: usize, reference: Vec<f64>) -> PriceBook {
        let n = reference.len();
        let price: Vec<f64> = (0..regions).flat_map(|_| reference.iter().copied()).collect();
        PriceBook {
            commodities: n,
            anchor: price.clone(),
            price,
            held: vec![0.0; regions * n],
            wanted: vec![0.0; regions * n],
            buyers: vec![0.0; regions * n],
            normal_buyers: Vec::new(),
            output: vec![0.0; regions * n],
            weighted_cost: vec![0.0; regions * n],
            log_cover: vec![0.0; regions * n],
            reference,
        }
    }

    /// Price in `region` of `commodity`, USD per unit.
    pub fn price(&self, region: u16, commodity: u16) -> f64 {
        self.price[region as usize * self.commodities + commodity as usize]
    }
}
