//! Markets (tick step 4): suppliers fill orders from stock, sharing it out by their
//! allocation rule when short, and prices move with excess demand in each price region.

use crate::model::Allocation;
use crate::world::clock::Clock;
use crate::world::firm::{Finished, Plant};
use crate::world::invariants::{Invariants, ROUNDING};
use crate::world::orders::{Order, OrderBook, SupplyLinks};
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

/// One order as a short supplier sees it when it shares out its stock.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Claim {
    /// Units ordered.
    pub quantity: f64,
    /// The buyer's purchase history with this supplier that the order carries, units per
    /// tick: its link's smoothed deliveries, split among the link's orders of this tick in
    /// proportion to their quantities. Used by `TurnAndEarn`.
    pub history: f64,
    /// The buyer is in the supplier's nation. Used by `HomeFirst`.
    pub home: bool,
}

/// Shares a supplier's `stock` (units) among `claims` by `rule`, writing each claim's fill
/// (units) into `out` (same length). When the claims add up to no more than the stock, each
/// is filled whole; otherwise all the stock is shared out (a stock below zero, a rounding
/// error, fills nothing) and no claim gets more than it asked:
/// - `Proportional`: every claim gets the same share, stock / total;
/// - `TurnAndEarn`: claims with a history share the stock in proportion to it, each capped at
///   its quantity, what capped claims leave being shared again among the others
///   (water-filling); claims without a history share what is left in proportion to their
///   quantities;
/// - `HomeFirst`: home claims are served first, in proportion to their quantities if the
///   stock cannot cover them all; the others share the rest in proportion to theirs.
pub fn allocate(stock: f64, claims: &[Claim], rule: Allocation, out: &mut [f64]) {
    let total: f64 = claims.iter().map(|c| c.quantity).sum();
    if total <= stock {
        for (o, c) in out.iter_mut().zip(claims) {
            *o = c.quantity;
        }
        return;
    }
    let stock = stock.max(0.0);
    match rule {
        Allocation::Proportional => {
            let ratio = stock / total;
            for (o, c) in out.iter_mut().zip(claims) {
                *o = c.quantity * ratio;
            }
        }
        Allocation::HomeFirst => {
            let home: f64 = claims.iter().filter(|c| c.home).map(|c| c.quantity).sum();
            let away: f64 = claims.iter().filter(|c| !c.home).map(|c| c.quantity).sum();
            let (home_ratio, away_ratio) = if home >= stock {
                (stock / home, 0.0)
            } else {
                (1.0, ((stock - home) / away).min(1.0))
            };
            for (o, c) in out.iter_mut().zip(claims) {
                *o = c.quantity * if c.home { home_ratio } else { away_ratio };
            }
        }
        Allocation::TurnAndEarn => {
            // Open claims (with a history, not yet filled whole) are marked NaN.
            let mut left = stock;
            for (o, c) in out.iter_mut().zip(claims) {
                *o = if c.history > 0.0 && c.quantity > 0.0 { f64::NAN } else { 0.0 };
            }
            loop {
                let weight: f64 = claims
                    .iter()
                    .zip(out.iter())
                    .filter(|(_, o)| o.is_nan())
                    .map(|(c, _)| c.history)
                    .sum();
                if weight <= 0.0 {
                    break;
                }
                // Claims whose share would reach their quantity are filled whole; the rest
                // is shared again. When none is capped, the open claims share what is left.
                let mut capped = false;
                for (o, c) in out.iter_mut().zip(claims) {
                    if o.is_nan() && left * c.history / weight >= c.quantity {
                        *o = c.quantity;
                        left -= c.quantity;
                        capped = true;
                    }
                }
                if !capped {
                    for (o, c) in out.iter_mut().zip(claims) {
                        if o.is_nan() {
                            *o = left * c.history / weight;
                        }
                    }
                    left = 0.0;
                    break;
                }
            }
            let newcomers: f64 = claims.iter().filter(|c| c.history <= 0.0).map(|c| c.quantity).sum();
            if left > 0.0 && newcomers > 0.0 {
                let ratio = (left / newcomers).min(1.0);
                for (o, c) in out.iter_mut().zip(claims) {
                    if c.history <= 0.0 {
                        *o = c.quantity * ratio;
                    }
                }
            }
        }
    }
}

/// Each supplier fills its orders from finished stock. When the orders exceed the stock, it
/// ships all it has, shared out by its allocation rule ([`allocate`]). Suppliers then update
/// their expected sales, and links their purchase history (if a supplier uses it).
#[allow(clippy::too_many_arguments)]
pub fn fill_orders(
    mut book: ResMut<OrderBook>,
    mut links: ResMut<SupplyLinks>,
    mut firms: Query<(&Plant, &mut Finished)>,
    registry: Res<Registry>,
    clock: Res<Clock>,
    params: Res<Params>,
    mut prices: ResMut<PriceBook>,
    mut inv: ResMut<Invariants>,
    mut scratch: Local<(Vec<Claim>, Vec<f64>)>,
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
    let (claims, fills) = &mut *scratch;
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
        let rationed = total > fin.stock;
        if rationed {
            claims_of(&orders[start..end], supplier, &links.history, &registry, claims);
            fills.clear();
            fills.resize(claims.len(), 0.0);
            allocate(fin.stock, claims, registry.allocation[supplier as usize], fills);
        }
        let mut shipped = 0.0;
        for (k, o) in orders[start..end].iter_mut().enumerate() {
            o.filled = if rationed { fills[k] } else { o.quantity };
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
        if rationed && fin.stock != 0.0 && fin.stock.abs() <= ROUNDING * fin.peak {
            fin.stock = 0.0;
            inv.clamped += 1;
        }
        start = end;
    }
    if links.track_history {
        // h ← h + w × (filled − h), with w = tick / history_days.
        let w = (f64::from(clock.tick_days) / params.selling.history_days).min(1.0);
        for h in links.history.iter_mut() {
            *h -= w * *h;
        }
        for o in orders.iter() {
            links.history[o.link as usize] += w * o.filled;
        }
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

/// The claims of one supplier's orders (sorted by buyer, slot and licence, so a link's
/// orders are adjacent): each order carries its link's history in proportion to its quantity.
fn claims_of(orders: &[Order], supplier: u32, history: &[f64], registry: &Registry, claims: &mut Vec<Claim>) {
    claims.clear();
    let home = registry.nation[supplier as usize];
    let mut k = 0;
    while k < orders.len() {
        let link = orders[k].link;
        let mut end = k;
        let mut on_link = 0.0;
        while end < orders.len() && orders[end].link == link {
            on_link += orders[end].quantity;
            end += 1;
        }
        for o in &orders[k..end] {
            claims.push(Claim {
                quantity: o.quantity,
                history: if on_link > 0.0 {
                    history[link as usize] * o.quantity / on_link
                } else {
                    0.0
                },
                home: registry.nation[o.buyer as usize] == home,
            });
        }
        k = end;
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A home buyer with a history of 30 a tick and a foreign buyer with 10.
    fn claims(a: f64, b: f64) -> [Claim; 2] {
        [
            Claim {
                quantity: a,
                history: 30.0,
                home: true,
            },
            Claim {
                quantity: b,
                history: 10.0,
                home: false,
            },
        ]
    }

    fn fills(stock: f64, c: &[Claim], rule: Allocation) -> Vec<f64> {
        let mut out = vec![-1.0; c.len()];
        allocate(stock, c, rule, &mut out);
        out
    }

    #[test]
    fn allocation_rules_give_exact_shares() {
        let c = claims(50.0, 50.0);
        assert_eq!(fills(60.0, &c, Allocation::Proportional), [30.0, 30.0], "60 in proportion to 50:50");
        assert_eq!(fills(60.0, &c, Allocation::TurnAndEarn), [45.0, 15.0], "60 in proportion to 30:10");
        assert_eq!(fills(60.0, &c, Allocation::HomeFirst), [50.0, 10.0], "the home buyer whole first");
        // Home orders alone beyond the stock: shared among them, nothing abroad.
        let mut three = c.to_vec();
        three.push(Claim {
            quantity: 30.0,
            history: 0.0,
            home: true,
        });
        assert_eq!(fills(60.0, &three, Allocation::HomeFirst), [37.5, 0.0, 22.5]);
    }

    #[test]
    fn turn_and_earn_caps_a_heavy_customer_and_shares_its_rest_again() {
        // A's history share (45) is more than it orders: it gets its 20, B the other 40.
        assert_eq!(fills(60.0, &claims(20.0, 50.0), Allocation::TurnAndEarn), [20.0, 40.0]);
    }

    #[test]
    fn under_turn_and_earn_a_new_customer_gets_only_the_leftover() {
        let newcomer = Claim {
            quantity: 50.0,
            history: 0.0,
            home: true,
        };
        let regular = Claim {
            quantity: 50.0,
            history: 30.0,
            home: false,
        };
        assert_eq!(fills(60.0, &[newcomer, regular], Allocation::TurnAndEarn), [10.0, 50.0]);
        assert_eq!(fills(40.0, &[newcomer, regular], Allocation::TurnAndEarn), [0.0, 40.0]);
        // With no history anywhere, it is proportional.
        assert_eq!(fills(60.0, &[newcomer, newcomer], Allocation::TurnAndEarn), [30.0, 30.0]);
    }

    #[test]
    fn with_enough_stock_every_rule_fills_every_order_and_without_stock_none() {
        for rule in [Allocation::Proportional, Allocation::TurnAndEarn, Allocation::HomeFirst] {
            assert_eq!(fills(100.0, &claims(50.0, 50.0), rule), [50.0, 50.0], "{rule:?}");
            assert_eq!(fills(-1e-12, &claims(50.0, 50.0), rule), [0.0, 0.0], "{rule:?}");
        }
    }
}
