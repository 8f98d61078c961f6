//! The run's invariants, checked every tick when asked (`--check`): no NaN or infinity in what
//! the tables record, no stock below zero beyond rounding, material conserved, no licence
//! decided before its review time, no shipment arriving before its route allows.
//!
//! Two things live here. [`settle_rounding`] is part of the model and always on: where a
//! subtraction leaves a stock a rounding error below zero, the stock is set to zero and the
//! correction counted in [`Invariants::clamped`]. The checks themselves run only when
//! [`Invariants::check`] is on (the `check_tick` system of `tick/check.rs` is skipped otherwise, and the few
//! checks made where an event happens — a licence decided, a shipment arriving — are behind
//! one branch), and they allocate nothing unless they find a violation.

use crate::model::calendar::Date;
use crate::world::clock::Clock;
use crate::world::firm::{Finished, Inputs, Plant, Production};
use bevy_ecs::prelude::*;
use std::fmt;

/// Relative size of a rounding error: a stock may fall at most `ROUNDING × scale` below zero
/// before that is a bug rather than rounding (scale: the largest quantity the stock has
/// held, see [`crate::world::firm::InputSlot::scale`] and [`crate::world::firm::Finished::peak`]). Material
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
    /// What a buyer counts in transit for an input differs from the goods on their way to it:
    /// in its lanes' rings, waiting in the queue (held by customs, or due beyond a ring's
    /// reach) and in the far ends of starting pipelines.
    InTransit,
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
    pub firm_ids: std::sync::Arc<[String]>,
    pub commodity_ids: Vec<String>,
    pub region_ids: Vec<String>,
    /// World totals per commodity at the end of the previous tick, and scratch for this one.
    pub before: Vec<MaterialTotals>,
    pub now: Vec<MaterialTotals>,
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

    /// Names firm `f` in a violation.
    pub fn firm(&self, f: usize) -> String {
        format!("firm `{}`", self.firm_ids[f])
    }

    /// Names firm `f`'s input of `commodity` in a violation.
    pub fn input(&self, f: usize, commodity: u16) -> String {
        format!("firm `{}`, input `{}`", self.firm_ids[f], self.commodity_ids[commodity as usize])
    }
}

/// World totals of one commodity, in its unit: produced and consumed in the last tick, in stock
/// and in transit now. Material is conserved when, for every commodity, produced = consumed +
/// Δstock + Δin_transit.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct MaterialTotals {
    pub produced: f64,
    pub consumed: f64,
    pub stock: f64,
    pub in_transit: f64,
}

/// Adds one firm's part of the world totals (final goods are consumed when made; everything
/// else is in a stock, in transit or consumed as an input).
pub fn add_totals(totals: &mut [MaterialTotals], plant: &Plant, prod: &Production, fin: &Finished, inputs: &Inputs) {
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
