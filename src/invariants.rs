//! The run's invariants, checked every tick when asked (`--check`): no NaN or infinity in what
//! the tables record, no stock below zero beyond rounding, material conserved, no licence
//! decided before its review time, no shipment arriving before its route allows.
//!
//! Two things live here. [`settle_rounding`] is part of the model and always on: where a
//! subtraction leaves a stock a rounding error below zero, the stock is set to zero and the
//! correction counted in [`Invariants::clamped`]. The checks themselves run only when
//! [`Invariants::check`] is on (the `check_tick` system is skipped otherwise, and the few
//! checks made where an event happens — a licence decided, a shipment arriving — are behind
//! one branch), and they allocate nothing unless they find a violation.

use crate::calendar::Date;
use crate::firm::{Finished, Inputs, Lines, Plant, Production};
use crate::markets::PriceBook;
use crate::shipping::TradeBook;
use crate::sim::{Clock, MaterialTotals, Registry};
use bevy_ecs::prelude::*;
use std::fmt;

/// Relative size of a rounding error: a stock may fall at most `ROUNDING × scale` below zero
/// before that is a bug rather than rounding (scale: the largest quantity the stock has
/// held, see [`crate::firm::InputSlot::scale`] and [`crate::firm::Finished::peak`]). Material
/// balance is checked to the same relative tolerance.
pub const ROUNDING: f64 = 1e-9;

/// Sets `x` to zero where a rounding error has left it within `ROUNDING × scale` of zero
/// below it, and counts the correction; a larger negative is left for the check to report.
#[inline]
pub fn settle_rounding(x: &mut f64, scale: f64, clamped: &mut u64) {
    if *x < 0.0 && *x >= -ROUNDING * scale {
        *x = 0.0;
        *clamped += 1;
    }
}

/// Which invariant a [`Violation`] broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Invariant {
    /// A recorded quantity is NaN or infinite.
    Finite,
    /// A stock, a quantity in transit or on order, or a price is below zero beyond rounding.
    NonNegative,
    /// World production of a commodity differs from consumption plus the change in stocks
    /// and in transit.
    MaterialBalance,
    /// A licence was decided before its review time had passed.
    ReviewTime,
    /// A shipment arrived before its route's lead time had passed.
    LeadTime,
}

/// A broken invariant: when, who, and the numbers.
#[derive(Debug, Clone, PartialEq)]
pub struct Violation {
    pub tick: u32,
    /// First day of the tick.
    pub date: Date,
    pub invariant: Invariant,
    /// The agent or cell concerned, e.g. "firm `car_de`, input `ndfeb_magnet`".
    pub agent: String,
    /// What was found against what was required.
    pub detail: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invariant broken at tick {} ({}): {}: {}",
            self.tick, self.date, self.agent, self.detail
        )
    }
}

impl std::error::Error for Violation {}

/// Switch, tallies and findings of the invariant checks.
#[derive(Resource, Debug, Default)]
pub struct Invariants {
    /// Check every tick (`--check`). Off by default; output does not depend on it.
    pub check: bool,
    /// Number of times a stock, a quantity in transit or on order was a rounding error below
    /// zero and was set to zero (counted whether or not `check` is on).
    pub clamped: u64,
    /// The first violation found; the run should stop there.
    pub violation: Option<Violation>,
    /// Ids by dense index, to name agents in violations.
    pub firm_ids: Vec<String>,
    pub commodity_ids: Vec<String>,
    pub region_ids: Vec<String>,
    /// World totals per commodity at the end of the previous tick, and scratch for this one.
    pub(crate) before: Vec<MaterialTotals>,
    pub(crate) now: Vec<MaterialTotals>,
}

impl Invariants {
    /// Records a violation unless one was already found (the first one stops the run).
    pub fn report(&mut self, clock: &Clock, invariant: Invariant, agent: impl FnOnce() -> String, detail: impl FnOnce() -> String) {
        if self.violation.is_none() {
            self.violation = Some(Violation {
                tick: clock.tick,
                date: clock.date(),
                invariant,
                agent: agent(),
                detail: detail(),
            });
        }
    }

    fn firm(&self, f: usize) -> String {
        format!("firm `{}`", self.firm_ids[f])
    }

    fn input(&self, f: usize, commodity: u16) -> String {
        format!("firm `{}`, input `{}`", self.firm_ids[f], self.commodity_ids[commodity as usize])
    }
}

/// Adds one firm's part of the world totals (the rule of [`crate::sim::Simulation::material_totals`]).
pub(crate) fn add_totals(totals: &mut [MaterialTotals], plant: &Plant, prod: &Production, fin: &Finished, inputs: &Inputs) {
    let t = &mut totals[plant.output as usize];
    t.produced += prod.produced;
    if plant.final_good {
        t.consumed += prod.produced;
    } else {
        t.stock += fin.stock;
    }
    for s in &inputs.slots {
        let t = &mut totals[s.commodity as usize];
        t.consumed += s.consumed;
        t.stock += s.stock;
        t.in_transit += s.in_transit;
    }
}

/// Whether a quantity is finite; if not, reports it.
fn finite(inv: &mut Invariants, clock: &Clock, x: f64, agent: impl FnOnce(&Invariants) -> String, name: &str) -> bool {
    if x.is_finite() {
        return true;
    }
    let who = agent(inv);
    inv.report(clock, Invariant::Finite, || who, || format!("{name} is {x}"));
    false
}

/// Whether a stock is at least `-ROUNDING × scale`; if not, reports it.
fn not_below_zero(inv: &mut Invariants, clock: &Clock, x: f64, scale: f64, agent: impl FnOnce(&Invariants) -> String, name: &str) -> bool {
    if x >= -ROUNDING * scale {
        return true;
    }
    let who = agent(inv);
    inv.report(
        clock,
        Invariant::NonNegative,
        || who,
        || format!("{name} is {x:e}, below zero by more than {ROUNDING:e} × its scale {scale:e}"),
    );
    false
}

/// What the check reads of each firm.
type CheckedFirm<'a> = (&'a Plant, &'a Production, &'a Finished, &'a Inputs, Option<&'a Lines>);

/// The per-tick check (runs only when [`Invariants::check`] is on, after shipping and before
/// observation): every quantity the tables record is finite, no stock is below zero beyond
/// rounding, and for every commodity, world production = consumption + Δstock + Δin transit
/// to a relative `ROUNDING`. Firms are visited in index order, so the violation reported
/// is the same whatever the ECS order.
pub fn check_tick(
    mut inv: ResMut<Invariants>,
    clock: Res<Clock>,
    registry: Res<Registry>,
    prices: Res<PriceBook>,
    trade: Res<TradeBook>,
    firms: Query<CheckedFirm>,
) {
    let inv = &mut *inv;
    let clock = &*clock;
    if inv.violation.is_some() {
        return;
    }
    inv.now.iter_mut().for_each(|t| *t = MaterialTotals::default());
    for (f, &e) in registry.entity.iter().enumerate() {
        let (plant, prod, fin, inputs, lines) = firms.get(e).expect("firm entity");
        let all_finite = [
            (prod.planned, "planned output"),
            (prod.produced, "output"),
            (prod.shortfall, "shortfall"),
            (prod.expected_output, "expected output"),
            (fin.stock, "finished stock"),
            (fin.expected_sales, "expected sales"),
            (fin.received, "orders received"),
            (fin.shipped, "shipments"),
        ]
        .into_iter()
        .all(|(x, name)| finite(inv, clock, x, |i| i.firm(f), name));
        if !all_finite || !not_below_zero(inv, clock, fin.stock, fin.peak, |i| i.firm(f), "finished stock") {
            return;
        }
        for s in &inputs.slots {
            let ok = [
                (s.stock, "stock"),
                (s.in_transit, "in transit"),
                (s.on_order, "on order"),
                (s.consumed, "consumed"),
                (s.licence_wait_days, "expected licence wait"),
            ]
            .into_iter()
            .all(|(x, name)| {
                finite(inv, clock, x, |i| i.input(f, s.commodity), name)
                    && (name == "consumed"
                        || name == "expected licence wait"
                        || not_below_zero(inv, clock, x, s.scale, |i| i.input(f, s.commodity), name))
            });
            if !ok {
                return;
            }
        }
        if let Some(lines) = lines {
            for l in &lines.lines {
                if !finite(inv, clock, l.planned, |i| i.firm(f), "a line's planned output")
                    || !finite(inv, clock, l.produced, |i| i.firm(f), "a line's output")
                {
                    return;
                }
            }
        }
        add_totals(&mut inv.now, plant, prod, fin, inputs);
    }
    let nc = prices.commodities;
    for (cell, &p) in prices.price.iter().enumerate() {
        if !p.is_finite() || p <= 0.0 {
            let (g, c) = (cell / nc, cell % nc);
            let who = format!("price of `{}` in region `{}`", inv.commodity_ids[c], inv.region_ids[g]);
            inv.report(
                clock,
                if p.is_finite() { Invariant::NonNegative } else { Invariant::Finite },
                || who,
                || format!("price is {p} USD per unit; prices are positive and finite"),
            );
            return;
        }
    }
    let flows = [
        (&trade.flow_quantity, "quantity"),
        (&trade.flow_value, "value (USD)"),
        (&trade.flow_tariff, "tariff (USD)"),
        (&trade.exported, "exports"),
        (&trade.imported, "imports"),
    ];
    for (column, name) in flows {
        if let Some((cell, x)) = column.iter().enumerate().find(|(_, x)| !x.is_finite()) {
            let c = cell % trade.commodities;
            let who = format!("trade in `{}` (cell {cell})", inv.commodity_ids[c]);
            inv.report(clock, Invariant::Finite, || who, || format!("{name} is {x}"));
            return;
        }
    }
    for c in 0..inv.now.len() {
        let (a, b) = (inv.before[c], inv.now[c]);
        let scale = [b.produced, b.consumed, a.stock, b.stock, a.in_transit, b.in_transit]
            .into_iter()
            .fold(1e-12, f64::max);
        let gap = b.produced - b.consumed - (b.stock - a.stock) - (b.in_transit - a.in_transit);
        if gap.abs() > ROUNDING * scale {
            let who = format!("commodity `{}`", inv.commodity_ids[c]);
            inv.report(
                clock,
                Invariant::MaterialBalance,
                || who,
                || {
                    format!(
                        "produced {:e} ≠ consumed {:e} + Δstock {:e} + Δin transit {:e} (gap {gap:e}, {:.1e} of the largest term; at most {ROUNDING:e})",
                        b.produced,
                        b.consumed,
                        b.stock - a.stock,
                        b.in_transit - a.in_transit,
                        gap.abs() / scale
                    )
                },
            );
            return;
        }
    }
    std::mem::swap(&mut inv.before, &mut inv.now);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_negatives_are_zeroed_and_counted_larger_ones_are_left() {
        let mut n = 0;
        let mut x = -1e-13;
        settle_rounding(&mut x, 100.0, &mut n);
        assert_eq!((x, n), (0.0, 1));
        let mut y = -1e-6;
        settle_rounding(&mut y, 100.0, &mut n);
        assert_eq!((y, n), (-1e-6, 1), "a negative larger than rounding is a bug, left to be reported");
        let mut z = 2.0;
        settle_rounding(&mut z, 100.0, &mut n);
        assert_eq!((z, n), (2.0, 1));
    }
}
