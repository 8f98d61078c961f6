//! Production (tick step 2): each firm makes min(plan, capacity, what its inputs allow).

use crate::firm::{Finished, Inputs, Plant, Production, Streams};
use crate::markets::PriceBook;
use crate::rng::standard_normal;
use crate::sim::{Clock, Params};
use bevy_ecs::prelude::*;

/// Plans and makes this tick's output. Final-demand producers plan their capacity, moved by
/// noise and by the cost of their inputs; others plan expected sales plus a share of the
/// gap to their target stock. Output is limited by the scarcest input; the part of the
/// plan not made for lack of inputs is the shortfall.
pub fn produce(
    mut firms: Query<(&Plant, &mut Production, &mut Finished, &mut Inputs, &mut Streams)>,
    clock: Res<Clock>,
    params: Res<Params>,
    prices: Res<PriceBook>,
) {
    let tick_days = f64::from(clock.tick_days);
    let smooth = (tick_days / params.planning.demand_smoothing_days).min(1.0);
    let adjust = (tick_days / params.planning.stock_adjust_days).min(1.0);
    let noise = params.planning.final_demand_noise;
    firms
        .par_iter_mut()
        .for_each(|(plant, mut prod, mut fin, mut inputs, mut streams)| {
            let planned = if plant.final_good {
                let shock = if noise > 0.0 {
                    (1.0 + noise * standard_normal(&mut streams.demand)).max(0.0)
                } else {
                    1.0
                };
                let cost_factor = if plant.price_elasticity > 0.0 && plant.reference_input_cost > 0.0 {
                    let cost: f64 = inputs
                        .slots
                        .iter()
                        .map(|s| s.per_unit * prices.price(plant.region, s.commodity))
                        .sum();
                    (cost / plant.reference_input_cost).powf(-plant.price_elasticity)
                } else {
                    1.0
                };
                plant.capacity * shock * cost_factor
            } else {
                let target = fin.expected_sales * fin.cover_days / tick_days;
                (fin.expected_sales + adjust * (target - fin.stock)).clamp(0.0, plant.capacity)
            };
            let feasible = inputs.slots.iter().map(|s| s.stock / s.per_unit).fold(f64::INFINITY, f64::min);
            let produced = planned.min(feasible).max(0.0);
            for s in inputs.slots.iter_mut() {
                // Never take more than is there, even by a rounding error: stocks stay exact.
                s.consumed = (produced * s.per_unit).min(s.stock);
                s.stock -= s.consumed;
            }
            if !plant.final_good {
                fin.stock += produced;
            }
            prod.planned = planned;
            prod.produced = produced;
            prod.shortfall = planned - produced;
            prod.expected_output += smooth * (planned - prod.expected_output);
        });
}
