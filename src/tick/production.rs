//! Production (tick step 2): each firm makes min(plan, capacity, what its inputs allow).

use crate::world::clock::Clock;
use crate::world::demand::MarketDemand;
use crate::world::disjoint::Disjoint;
use crate::world::firm::{Finished, FirmIndex, Inputs, LineRule, Lines, Plant, Production, Trading};
use crate::world::orders::{Offer, SupplierBoard};
use crate::world::params::Params;
use crate::world::prices::PriceBook;
use crate::world::rng::{FirmStreams, Purpose, normal_at};
use crate::world::workers::batching;
use bevy_ecs::prelude::*;

/// The most a final-demand producer's plan rises above its capacity when its inputs get
/// cheaper (the factor `(cost / reference cost)^-elasticity` is capped here): ten times. It
/// keeps the plan finite whatever the elasticity and prices (an elasticity of 10^6 once made
/// the factor infinite, and 0 × ∞ a NaN plan). The shipped models stay below 2.
pub const MAX_COST_FACTOR: f64 = 10.0;

/// Moves every nation's shock on by one tick of `tick_days` (the draw of tick `tick`).
fn step_demand(m: &mut MarketDemand, sd: f64, days: f64, tick_days: f64, tick: u32) {
    if sd <= 0.0 {
        return;
    }
    let keep = (-tick_days / days).exp();
    let fresh = (1.0 - keep * keep).sqrt() * sd;
    m.variance = keep * keep * m.variance + fresh * fresh;
    for ((x, f), &key) in m.log_level.iter_mut().zip(m.factor.iter_mut()).zip(m.keys.iter()) {
        *x = keep * *x + fresh * normal_at(key, Purpose::Demand, tick, 0);
        *f = (*x - 0.5 * m.variance).exp();
    }
}

/// What production reads and changes of each firm.
type ProducingFirm<'a> = (
    &'a FirmIndex,
    &'a Plant,
    &'a mut Production,
    &'a mut Finished,
    &'a mut Inputs,
    Option<&'a mut Lines>,
    Option<&'a mut Trading>,
);

/// Plans and makes this tick's output. Final-demand producers plan their capacity, moved by
/// noise and by the cost of their inputs; others plan expected sales plus a share of the
/// gap to their target stock. A trader's target is its usual stock times the multiple it
/// reads from its regional price's trend ([`Trading::read_price`]). Output is limited by the scarcest input; the part of the
/// plan not made for lack of inputs is the shortfall.
///
/// Having made its output, each firm publishes on the supplier board what it can deliver
/// ([`Offer::of`]: its stock plus what it can make tomorrow; Acclimate's sellers publish
/// their possible production, Otto et al. 2017), which its buyers read when they order. It is
/// published here, with the firm's stocks at hand, and nothing changes them before buyers
/// order.
#[allow(clippy::too_many_arguments)]
pub fn produce(
    mut firms: Query<ProducingFirm>,
    clock: Res<Clock>,
    params: Res<Params>,
    prices: Res<PriceBook>,
    streams: Res<FirmStreams>,
    mut market: ResMut<MarketDemand>,
    mut board: ResMut<SupplierBoard>,
) {
    let tick_days = f64::from(clock.tick_days);
    step_demand(
        &mut market,
        params.planning.market_shock_sd,
        params.planning.market_shock_days,
        tick_days,
        clock.tick,
    );
    let market = &market.factor;
    let (streams, tick) = (&streams.firms, clock.tick);
    let smooth = (tick_days / params.planning.demand_smoothing_days).min(1.0);
    let adjust = (tick_days / params.planning.stock_adjust_days).min(1.0);
    let noise = params.planning.final_demand_noise;
    let offers = Disjoint::new(&mut board.offers);
    let offers = &offers;
    // The same work, on one thread or on the compute pool (each firm touches only itself).
    let work = |(idx, plant, mut prod, mut fin, mut inputs, lines, trading): bevy_ecs::query::QueryItem<'_, '_, ProducingFirm>| {
        let planned = if plant.final_good {
            let shock = if noise > 0.0 {
                (1.0 + noise * streams[idx.0 as usize].demand_normal(tick)).max(0.0)
            } else {
                1.0
            };
            let cost_factor = if plant.price_elasticity > 0.0 && plant.reference_input_cost > 0.0 {
                let cost: f64 = inputs
                    .slots
                    .iter()
                    .map(|s| s.per_unit * prices.price(plant.region, s.commodity))
                    .sum();
                (cost / plant.reference_input_cost)
                    .powf(-plant.price_elasticity)
                    .min(MAX_COST_FACTOR)
            } else {
                1.0
            };
            plant.capacity * market[plant.nation as usize] * shock * cost_factor
        } else {
            let target = match trading {
                Some(mut t) => {
                    t.read_price(prices.price(plant.region, plant.output), tick_days);
                    t.stock_target(fin.expected_sales, fin.cover_days, tick_days)
                }
                None => fin.expected_sales * fin.cover_days / tick_days,
            };
            (fin.expected_sales + adjust * (target - fin.stock)).clamp(0.0, plant.capacity)
        };
        let produced = match lines {
            Some(mut lines) if lines.rule != LineRule::Proportional => make_by_lines(planned, &mut inputs, &mut lines),
            lines => {
                let feasible = inputs.slots.iter().map(|s| s.stock / s.per_unit).fold(f64::INFINITY, f64::min);
                let produced = planned.min(feasible).max(0.0);
                for s in inputs.slots.iter_mut() {
                    // Never take more than is there, even by a rounding error: stocks stay exact.
                    s.consumed = (produced * s.per_unit).min(s.stock);
                    s.stock -= s.consumed;
                }
                if let Some(mut lines) = lines {
                    let f = if planned > 0.0 { produced / planned } else { 0.0 };
                    for l in lines.lines.iter_mut() {
                        l.planned = planned * l.share;
                        l.produced = l.planned * f;
                    }
                }
                produced
            }
        };
        if !plant.final_good {
            fin.stock += produced;
            fin.peak = fin.peak.max(fin.stock);
        }
        prod.planned = planned;
        prod.produced = produced;
        prod.shortfall = planned - produced;
        prod.expected_output += smooth * (planned - prod.expected_output);
        // Its day's counters of orders received and goods shipped start at zero (markets
        // count them when it fills).
        fin.received = 0.0;
        fin.shipped = 0.0;
        // SAFETY: a firm's index is its own: no other firm writes its offer.
        unsafe { *offers.get(idx.0 as usize) = Offer::of(plant, &inputs, &fin) };
    };
    if params.parallel {
        firms.par_iter_mut().batching_strategy(batching()).for_each(work);
    } else {
        firms.iter_mut().for_each(work);
    }
}

/// Serves a firm's lines one after another from the inputs on hand: in the given priority
/// order, or (most units) starting with the lines that need least of the scarcest input per
/// unit. Returns total output and takes the inputs used from stock.
fn make_by_lines(planned: f64, inputs: &mut Inputs, lines: &mut Lines) -> f64 {
    let lines = &mut *lines;
    for l in lines.lines.iter_mut() {
        l.planned = planned * l.share;
        l.produced = 0.0;
    }
    lines.avail.clear();
    lines.avail.extend(inputs.slots.iter().map(|s| s.stock));
    lines.order.clear();
    match &lines.rule {
        LineRule::Priority(order) => lines.order.extend(order.iter().copied()),
        _ => {
            // The scarcest input: the least stock per unit needed for the whole plan.
            let scarcest = (0..inputs.slots.len())
                .map(|k| {
                    let need: f64 = lines.lines.iter().map(|l| l.planned * l.per_unit[k]).sum();
                    (if need > 0.0 { lines.avail[k] / need } else { f64::INFINITY }, k)
                })
                .min_by(|a, b| a.0.total_cmp(&b.0))
                .map_or(0, |x| x.1);
            lines.order.extend(0..lines.lines.len());
            let ls = &lines.lines;
            lines
                .order
                .sort_by(|&a, &b| ls[a].per_unit[scarcest].total_cmp(&ls[b].per_unit[scarcest]).then(a.cmp(&b)));
        }
    }
    let mut total = 0.0;
    for &li in &lines.order {
        let l = &mut lines.lines[li];
        let can = l
            .per_unit
            .iter()
            .zip(&lines.avail)
            .filter(|(r, _)| **r > 0.0)
            .map(|(r, a)| a / r)
            .fold(f64::INFINITY, f64::min);
        let y = l.planned.min(can).max(0.0);
        for (a, r) in lines.avail.iter_mut().zip(&l.per_unit) {
            *a -= y * r;
        }
        l.produced = y;
        total += y;
    }
    for (s, a) in inputs.slots.iter_mut().zip(&lines.avail) {
        s.consumed = (s.stock - a.max(0.0)).clamp(0.0, s.stock);
        s.stock -= s.consumed;
    }
    // Every line made its plan: the output is the plan, not a sum that may differ from it by
    // a rounding error (which would show as a tiny shortfall).
    if lines.lines.iter().all(|l| l.produced == l.planned) {
        planned
    } else {
        total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn market_shocks_settle_at_their_sd_forget_at_their_rate_and_average_one() {
        let (sd, days) = (0.03, 60.0);
        let mut m = MarketDemand::new(11, &["AA".to_string(), "BB".to_string()]);
        let (n, lag) = (400_000usize, 60usize);
        let mut logs = Vec::with_capacity(n);
        let mut factors = 0.0;
        for t in 0..n {
            step_demand(&mut m, sd, days, 1.0, t as u32);
            logs.push(m.log_level[0]);
            factors += m.factor[0];
        }
        // Settled variance, lag-60 autocorrelation e^-1, and a mean factor of 1.
        assert!((m.variance.sqrt() - sd).abs() < 1e-9);
        let mean = logs.iter().sum::<f64>() / n as f64;
        let var = logs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
        assert!((var.sqrt() / sd - 1.0).abs() < 0.05, "sd {}", var.sqrt());
        let cov = logs.windows(lag + 1).map(|w| (w[0] - mean) * (w[lag] - mean)).sum::<f64>() / (n - lag) as f64;
        assert!((cov / var - (-1.0f64).exp()).abs() < 0.05, "autocorrelation {}", cov / var);
        assert!((factors / n as f64 - 1.0).abs() < 0.005, "mean factor {}", factors / n as f64);
        // Nations draw from their own streams.
        assert_ne!(m.log_level[0], m.log_level[1]);
        // Off: no draws, factor 1.
        let mut off = MarketDemand::new(11, &["AA".to_string()]);
        step_demand(&mut off, 0.0, days, 1.0, 0);
        assert_eq!(off.factor, vec![1.0]);
    }
}
