//! Markets (tick step 4): suppliers fill orders from stock, rationing when short, and prices
//! move in each price region with the cover of the region's stocks and with its producers'
//! costs.

use crate::model::PriceRules;
use crate::world::clock::Clock;
use crate::world::firm::{Finished, Inputs, Plant, Production};
use crate::world::invariants::{Invariants, ROUNDING};
use crate::world::orders::OrderBook;
use crate::world::params::Params;
use crate::world::prices::PriceBook;
use crate::world::registry::Registry;
use bevy_ecs::prelude::*;

/// How far a price may move from its reference, as a factor either way: a price stays
/// within [reference / 10^6, reference × 10^6]. It keeps value = quantity × price finite within
/// the model file's ranges (price ≤ 10^12 USD, quantities ≤ 10^12 × 366 × 10^6 units) whatever
/// the price rules: with a strong response to cover and a weak pull to cost, a region that has
/// run out settles at anchor × 1000^(sensitivity / weight), which can be e^69,000.
pub const PRICE_RANGE: f64 = 1e6;

/// Smallest stock cover (held ÷ wanted) a price responds to: a region that has run out reads
/// as holding a thousandth of what it wants. Only keeps ln(cover) finite; with the shipped
/// rules (sensitivity = weight) an empty region settles at 1,000 × its cost anchor.
pub const MIN_COVER: f64 = 1e-3;
/// Largest stock cover a price responds to: a glut of a thousand times the wanted stock.
pub const MAX_COVER: f64 = 1e3;

/// Each supplier fills its orders from finished stock. When the orders exceed the stock,
/// every order gets the same share of what is there (proportional rationing), whoever and
/// wherever the buyer is. Suppliers then update their expected sales.
pub fn fill_orders(
    mut book: ResMut<OrderBook>,
    mut firms: Query<(&Plant, &mut Finished)>,
    registry: Res<Registry>,
    clock: Res<Clock>,
    params: Res<Params>,
    mut inv: ResMut<Invariants>,
) {
    for (_, mut fin) in firms.iter_mut() {
        fin.received = 0.0;
        fin.shipped = 0.0;
    }
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
    for (plant, mut fin) in firms.iter_mut() {
        if !plant.final_good {
            fin.expected_sales += smooth * (fin.received - fin.expected_sales);
        }
    }
}

/// What the price step reads of each firm.
type MarketFirm<'a> = (&'a Plant, &'a Production, &'a Finished, &'a Inputs);

/// Moves each (region, commodity) price as a commodity market sets it (Sterman, *Business
/// Dynamics*, 2000, ch. 20): with the cover of the stocks held in the region, and towards a
/// cost anchor.
///
/// - Cover: what the region holds — sellers' finished stock, buyers' input stock on hand and
///   on its way to them — against what they want to hold — sellers' expected sales over their
///   output cover, buyers' expected use over their input cover plus their suppliers' mean
///   transit time — perceived (as a log) over the price's adjustment time.
/// - Cost anchor: the reference price moved by the change in the region's producers' unit
///   input cost at the region's prices, in proportion to the inputs' share of the reference
///   price, weighted by their expected output; where the region has no producer, the same
///   over every producer of the good.
///
/// Only stocks move a price: a licence delay that buyers have planned for leaves their stocks,
/// and the price, where they were, and a region whose supply is cut keeps rising for as long
/// as its stocks keep falling. Sums run over firms in firm-index order (the registry's), never
/// in ECS order, so that prices are the same bits whatever the storage order.
pub fn adjust_prices(
    firms: Query<MarketFirm>,
    registry: Res<Registry>,
    mut prices: ResMut<PriceBook>,
    clock: Res<Clock>,
    params: Res<Params>,
) {
    let tick_days = f64::from(clock.tick_days);
    let book = &mut *prices;
    let nc = book.commodities;
    book.held.fill(0.0);
    book.wanted.fill(0.0);
    book.output.fill(0.0);
    book.weighted_cost.fill(0.0);
    for &e in &registry.entity {
        let (plant, prod, fin, inputs) = firms.get(e).expect("firm entity");
        let region = plant.region as usize * nc;
        let out = region + plant.output as usize;
        if !plant.final_good {
            book.held[out] += fin.stock;
            book.wanted[out] += fin.expected_sales * fin.cover_days / tick_days;
        }
        let mut cost = 0.0;
        for s in &inputs.slots {
            let cell = region + s.commodity as usize;
            let use_per_tick = prod.expected_output * s.per_unit;
            book.held[cell] += s.stock + s.in_transit;
            book.wanted[cell] += use_per_tick * (inputs.cover_days / tick_days + s.mean_lead_ticks);
            cost += s.per_unit * book.price[cell];
        }
        let factor = if plant.cost_share > 0.0 {
            1.0 + plant.cost_share * (cost / plant.reference_input_cost - 1.0)
        } else {
            1.0
        };
        book.output[out] += prod.expected_output;
        book.weighted_cost[out] += prod.expected_output * factor;
    }
    let bound = PRICE_RANGE.ln();
    let k = (tick_days / params.prices.adjust_days).min(1.0);
    let regions = book.price.len() / nc;
    for cell in 0..book.price.len() {
        let c = cell % nc;
        let reference = book.reference[c];
        let factor = if book.output[cell] > 0.0 {
            book.weighted_cost[cell] / book.output[cell]
        } else {
            // No producer here: the mean over every region's producers of the good.
            let (mut weighted, mut output) = (0.0, 0.0);
            for r in 0..regions {
                weighted += book.weighted_cost[r * nc + c];
                output += book.output[r * nc + c];
            }
            if output > 0.0 { weighted / output } else { 1.0 }
        };
        let anchor = (reference * factor).clamp(reference / PRICE_RANGE, reference * PRICE_RANGE);
        book.anchor[cell] = anchor;
        let cover = if book.wanted[cell] > 0.0 {
            (book.held[cell] / book.wanted[cell]).clamp(MIN_COVER, MAX_COVER)
        } else {
            1.0
        };
        book.log_cover[cell] += k * (cover.ln() - book.log_cover[cell]);
        let log_gap = price_step(
            (book.price[cell] / reference).ln(),
            (anchor / reference).ln(),
            book.log_cover[cell],
            &params.prices,
            k,
        );
        book.price[cell] = reference * log_gap.clamp(-bound, bound).exp();
    }
}

/// One step of a price, in logs relative to its reference: `ln p + k × (−s × g(c) + w ×
/// (ln anchor − ln p))` for a perceived log cover `c`, written as a move of min(1, k·w) of
/// the way to the settled level `ln anchor − (s / w) g(c)`; it is the same step whenever
/// k·w ≤ 1 (every shipped model: 0.02) and never overshoots when a long tick makes k·w larger.
/// `g(c) = c³ / (c² + t²)`, with `t` the cover tolerance, reads swings of cover within about
/// ±t (the ones firms' own ordering makes) as small and a shortage or glut well beyond them
/// as itself: g(c) → c − t²/c as |c| grows, so a region that has run out still settles at
/// about anchor × 1000^(s/w). It is monotone and odd; t = 0 gives g(c) = c.
pub fn price_step(log_price: f64, log_anchor: f64, log_cover: f64, rules: &PriceRules, k: f64) -> f64 {
    let t = rules.cover_tolerance;
    let felt = if t > 0.0 {
        log_cover * log_cover * log_cover / (log_cover * log_cover + t * t)
    } else {
        log_cover
    };
    let settled = log_anchor - rules.coverage_sensitivity / rules.cost_weight * felt;
    log_price + (k * rules.cost_weight).min(1.0) * (settled - log_price)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The level a price settles at, relative to its anchor, after a thousand daily steps at
    /// a fixed perceived cover.
    fn settled(cover: f64, rules: &PriceRules) -> f64 {
        let k = 1.0 / rules.adjust_days;
        let mut log_price = 0.0;
        for _ in 0..1000 {
            log_price = price_step(log_price, 0.0, cover.ln(), rules, k);
        }
        log_price.exp()
    }

    #[test]
    fn a_price_settles_where_price_times_stock_is_cost_times_wanted_stock() {
        // Sensitivity = weight and no tolerance: half the wanted stock doubles the price, a
        // tenth multiplies it by ten, twice the wanted stock halves it.
        let linear = PriceRules {
            cover_tolerance: 0.0,
            ..PriceRules::default()
        };
        for (cover, level) in [(0.5, 2.0), (0.1, 10.0), (2.0, 0.5), (1.0, 1.0)] {
            let p = settled(cover, &linear);
            assert!(
                (p / level - 1.0).abs() <= 0.01,
                "cover {cover}: settled at {p:.4}, expected {level}"
            );
        }
        // The shipped tolerance damps ordinary swings of cover and leaves a real shortage
        // nearly in full: ±10% of cover moves the price under 1.5%, a tenth of the wanted
        // stock still settles above 8 times the anchor.
        let shipped = PriceRules::default();
        for cover in [0.9, 1.1] {
            let p = settled(cover, &shipped);
            assert!((p - 1.0).abs() < 0.015, "cover {cover}: settled at {p:.4}");
        }
        let p = settled(0.1, &shipped);
        assert!(p > 8.0 && p < 10.0, "a tenth of the wanted stock: settled at {p:.2}");
    }

    #[test]
    fn a_long_tick_moves_a_price_to_its_settled_level_without_overshooting_it() {
        // k·w = 10 (a 30-day tick with weight 10, adjustment over 3 days): one step lands on
        // the settled level instead of jumping nine times past it.
        let rules = PriceRules {
            coverage_sensitivity: 10.0,
            cost_weight: 10.0,
            adjust_days: 3.0,
            cover_tolerance: 0.0,
        };
        let step = price_step(0.0, 0.2, 0.5f64.ln(), &rules, 1.0);
        assert!((step - (0.2 - 0.5f64.ln())).abs() < 1e-12, "{step}");
    }
}
