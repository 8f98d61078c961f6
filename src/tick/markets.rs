//! Markets (tick step 4): suppliers fill orders from stock, rationing when short, and prices
//! move with excess demand in each price region.

use crate::world::clock::Clock;
use crate::world::firm::{Finished, Inputs, Plant};
use crate::world::invariants::{Invariants, ROUNDING};
use crate::world::orders::OrderBook;
use crate::world::params::Params;
use crate::world::prices::PriceBook;
use crate::world::registry::Registry;
use bevy_ecs::prelude::*;

/// How far a price may move from its reference, as a factor either way: a price stays
/// within [reference / 10^6, reference × 10^6]. Without a bound, a price whose reversion is 0
/// grows e^0.5 a tick under steady excess demand and overflows to infinity in about four
/// years of daily ticks; with it, value = quantity × price stays finite within the model
/// file's ranges (price ≤ 10^12 USD, quantities ≤ 10^12 × 366 × 10^6 units).
pub const PRICE_RANGE: f64 = 1e6;

/// Each supplier fills its orders from finished stock. When the orders exceed the stock,
/// every order gets the same share of what is there (proportional rationing), whoever and
/// wherever the buyer is. Suppliers then update their expected sales.
pub fn fill_orders(
    mut book: ResMut<OrderBook>,
    mut firms: Query<(&Plant, &mut Finished)>,
    registry: Res<Registry>,
    clock: Res<Clock>,
    params: Res<Params>,
    mut prices: ResMut<PriceBook>,
    mut inv: ResMut<Invariants>,
) {
    for (_, mut fin) in firms.iter_mut() {
        fin.received = 0.0;
        fin.shipped = 0.0;
    }
    // Demand withheld by licensing counts as ordered and not filled.
    let prices = &mut *prices;
    prices.ordered.copy_from_slice(&prices.withheld);
    prices.withheld.fill(0.0);
    prices.filled.fill(0.0);
    let nc = prices.commodities;
    let orders = &mut book.orders;
    let mut start = 0;
    while start < orders.len() {
        let supplier = orders[start].supplier;
        let mut end = start;
        let mut total = 0.0;
        while end < orders.len() && orders[end].supplier == supplier {
            total += orders[end].quantity;
            end += 1;
        }
        let (_, mut fin) = firms.get_mut(registry.entity[supplier as usize]).expect("supplier entity");
        // A stock a rounding error below zero fills nothing, rather than a negative amount.
        let ratio = if total > fin.stock { fin.stock.max(0.0) / total } else { 1.0 };
        let mut shipped = 0.0;
        for o in &mut orders[start..end] {
            o.filled = o.quantity * ratio;
            shipped += o.filled;
            let cell = registry.firm_region(o.buyer) as usize * nc + o.commodity as usize;
            prices.ordered[cell] += o.quantity;
            prices.filled[cell] += o.filled;
        }
        fin.received = total;
        fin.shipped = shipped;
        fin.stock -= shipped;
        // A rationing supplier ships all it has: what the sum of the shares leaves, above or
        // below zero, is rounding.
        if ratio < 1.0 && fin.stock != 0.0 && fin.stock.abs() <= ROUNDING * fin.peak {
            fin.stock = 0.0;
            inv.clamped += 1;
        }
        start = end;
    }
    let tick_days = f64::from(clock.tick_days);
    let smooth = (tick_days / params.planning.demand_smoothing_days).min(1.0);
    prices.stock.fill(0.0);
    prices.target.fill(0.0);
    for (plant, mut fin) in firms.iter_mut() {
        if plant.final_good {
            continue;
        }
        fin.expected_sales += smooth * (fin.received - fin.expected_sales);
        let c = plant.output as usize;
        prices.stock[c] += fin.stock;
        prices.target[c] += fin.expected_sales * fin.cover_days / tick_days;
    }
}

/// After suppliers have filled orders: each buyer learns, per input, the share of what it
/// ordered that its suppliers filled (regular and licensed orders), smoothed over
/// `buying.fill_memory_days`. An input it ordered nothing of keeps its fill rate.
pub fn learn_fill_rates(
    book: Res<OrderBook>,
    registry: Res<Registry>,
    clock: Res<Clock>,
    params: Res<Params>,
    mut inputs: Query<&mut Inputs>,
) {
    for o in &book.orders {
        let mut buyer = inputs.get_mut(registry.entity[o.buyer as usize]).expect("buyer entity");
        let slot = &mut buyer.slots[o.slot as usize];
        slot.ordered_now += o.quantity;
        slot.filled_now += o.filled;
    }
    let memory = (f64::from(clock.tick_days) / params.buying.fill_memory_days).min(1.0);
    for mut buyer in &mut inputs {
        for s in &mut buyer.slots {
            if s.ordered_now > 0.0 {
                s.fill += memory * (s.filled_now / s.ordered_now - s.fill);
            }
            s.ordered_now = 0.0;
            s.filled_now = 0.0;
        }
    }
}

/// Moves each regional price with excess demand: the unfilled share of the region's orders
/// plus a weight times suppliers' stock gap, and pulls it back toward the reference price.
pub fn adjust_prices(mut prices: ResMut<PriceBook>, clock: Res<Clock>, params: Res<Params>) {
    let dt = f64::from(clock.tick_days);
    let rules = &params.prices;
    let nc = prices.commodities;
    for cell in 0..prices.price.len() {
        let c = cell % nc;
        let unfilled = if prices.ordered[cell] > 0.0 {
            1.0 - prices.filled[cell] / prices.ordered[cell]
        } else {
            0.0
        };
        let gap = if prices.target[c] > 0.0 {
            (prices.target[c] - prices.stock[c]) / prices.target[c]
        } else {
            0.0
        };
        let excess = unfilled + rules.stock_gap_weight * gap.clamp(-1.0, 1.0);
        let log_gap = (prices.price[cell] / prices.reference[c]).ln();
        let step = (rules.speed_per_day * excess - rules.reversion_per_day * log_gap) * dt;
        let reference = prices.reference[c];
        let moved = prices.price[cell] * step.clamp(-0.5, 0.5).exp();
        prices.price[cell] = moved.max(reference / PRICE_RANGE).min(reference * PRICE_RANGE);
    }
}
