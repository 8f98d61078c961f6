//! The invariant check (between shipping and observation, only with `--check`): every quantity
//! the tables will record is finite, no stock is below zero beyond rounding, prices are positive,
//! and material is conserved (see `world::invariants` for the invariants and what a violation
//! reports).

use crate::world::clock::Clock;
use crate::world::firm::{Finished, Inputs, Lines, Plant, Production};
use crate::world::invariants::{Invariant, Invariants, MaterialTotals, ROUNDING, add_totals};
use crate::world::orders::SupplyLinks;
use crate::world::prices::PriceBook;
use crate::world::registry::Registry;
use crate::world::shipments::{InTransit, NO_LANE, ShipmentQueue, TradeBook};
use bevy_ecs::prelude::*;

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
/// to a relative `ROUNDING`; what each buyer counts in transit for an input is what is on
/// its way to it (`goods_on_their_way`). Firms are visited in index order, so the violation
/// reported is the same whatever the ECS order.
#[allow(clippy::too_many_arguments)]
pub fn check_tick(
    mut inv: ResMut<Invariants>,
    clock: Res<Clock>,
    registry: Res<Registry>,
    prices: Res<PriceBook>,
    trade: Res<TradeBook>,
    links: Res<SupplyLinks>,
    transit: Res<InTransit>,
    queue: Res<ShipmentQueue>,
    firms: Query<CheckedFirm>,
    mut away: Local<Away>,
) {
    let inv = &mut *inv;
    let clock = &*clock;
    if inv.violation.is_some() {
        return;
    }
    inv.now.iter_mut().for_each(|t| *t = MaterialTotals::default());
    goods_on_their_way(&registry, &links, &transit, &queue, clock.tick, &mut away);
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
        for (k, s) in inputs.slots.iter().enumerate() {
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
            // Awaiting a decision: a part of what is on order, never below zero; a learned
            // approval share is a share.
            let (from, len) = s.links;
            let mut pending = 0.0;
            for li in from as usize..(from + len) as usize {
                let (p, a) = (links.pending(li), links.approval(li));
                if !finite(inv, clock, p, |i| i.input(f, s.commodity), "quantity awaiting a licence decision")
                    || !not_below_zero(
                        inv,
                        clock,
                        p,
                        s.scale,
                        |i| i.input(f, s.commodity),
                        "quantity awaiting a licence decision",
                    )
                {
                    return;
                }
                if !(a > 0.0 && a <= 1.0) {
                    let who = inv.input(f, s.commodity);
                    inv.report(
                        clock,
                        Invariant::Finite,
                        || who,
                        || format!("learned approval share is {a}; it is in (0, 1]"),
                    );
                    return;
                }
                pending += p;
            }
            if pending > s.on_order + ROUNDING * s.scale {
                let who = inv.input(f, s.commodity);
                let on_order = s.on_order;
                inv.report(
                    clock,
                    Invariant::NonNegative,
                    || who,
                    || format!("{pending:e} awaits a licence decision, more than the {on_order:e} on order"),
                );
                return;
            }
            // What the buyer counts in transit is what is on its way to it.
            let on_way = away.by_slot[registry.slot_from[f] as usize + k];
            let counted = s.in_transit;
            if (on_way - counted).abs() > ROUNDING * s.scale.max(counted.abs()).max(on_way.abs()) {
                let who = inv.input(f, s.commodity);
                inv.report(
                    clock,
                    Invariant::InTransit,
                    || who,
                    || format!("it counts {counted:e} in transit, but {on_way:e} is on its way to it in its lanes, the queue and the starting pipelines"),
                );
                return;
            }
            // Suppliers' shares sum to 1; candidates for supplier search have none.
            let (mut active, mut idle) = (0.0, 0.0f64);
            for li in from as usize..(from + len) as usize {
                let share = links.links[li].share;
                if links.status.is_active(li) {
                    active += share;
                } else {
                    idle = idle.max(share.abs());
                }
            }
            if (active - 1.0).abs() > 1e-9 || idle != 0.0 {
                let who = inv.input(f, s.commodity);
                inv.report(
                    clock,
                    Invariant::Finite,
                    || who,
                    || format!("its suppliers' shares sum to {active}, and a candidate has share {idle}; they sum to 1 and candidates have none"),
                );
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
    for (what, column) in [("price", &prices.price), ("cost anchor", &prices.anchor)] {
        if let Some((cell, &p)) = column.iter().enumerate().find(|(_, p)| !p.is_finite() || **p <= 0.0) {
            let (g, c) = (cell / nc, cell % nc);
            let who = format!("{what} of `{}` in region `{}`", inv.commodity_ids[c], inv.region_ids[g]);
            inv.report(
                clock,
                if p.is_finite() { Invariant::NonNegative } else { Invariant::Finite },
                || who,
                || format!("{what} is {p} USD per unit; prices are positive and finite"),
            );
            return;
        }
    }
    let flows = [
        (&trade.flow_quantity, "quantity"),
        (&trade.flow_value, "value (USD)"),
        (&trade.flow_tariff, "tariff (USD)"),
        (&trade.exported, "exports"),
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

/// The check's scratch for `goods_on_their_way`, kept from tick to tick.
#[derive(Default)]
pub struct Away {
    /// Units on their way to each input slot (in the list of every firm's slots).
    by_slot: Vec<f64>,
    /// Each lane's input slot.
    lane_slot: Vec<u32>,
}

/// The units on their way to each input, by slot in the list of every firm's slots, after
/// tick `tick`'s shipping: the goods in its lanes' rings, those waiting in the queue (held by
/// customs, or due beyond their ring's reach) and what the starting pipelines longer than
/// their ring will still bring. The buyers count goods in transit as they are sent and as
/// they arrive; the rings and the queue hold them in between, so the two agree
/// (`Invariant::InTransit`).
fn goods_on_their_way(registry: &Registry, links: &SupplyLinks, transit: &InTransit, queue: &ShipmentQueue, tick: u32, away: &mut Away) {
    let slot_of = |link: u32| {
        let o = links.owner(link as usize);
        (registry.slot_from[o.buyer as usize] + u32::from(o.slot)) as usize
    };
    let slots = registry.slot_from.last().copied().unwrap_or(0) as usize;
    away.by_slot.clear();
    away.by_slot.resize(slots, 0.0);
    away.lane_slot.clear();
    away.lane_slot.resize(transit.lanes.len(), u32::MAX);
    for (l, &lane) in transit.lane_of.iter().enumerate() {
        if lane != NO_LANE {
            away.lane_slot[lane as usize] = slot_of(l as u32) as u32;
        }
    }
    for (lane, &slot) in away.lane_slot.iter().enumerate() {
        if slot != u32::MAX {
            away.by_slot[slot as usize] += transit.lane_total(lane as u32);
        }
    }
    for s in queue.shipments() {
        away.by_slot[slot_of(s.link)] += s.quantity;
    }
    // A pipeline's goods due at each tick from its ring's reach to its end go into their cell
    // on that tick; those of the ticks after this one are still to come.
    for p in queue.pipelines() {
        let lane = transit.lane_of[p.shipment.link as usize];
        let reach = if lane == NO_LANE {
            0
        } else {
            u32::from(transit.lanes[lane as usize].len)
        };
        let from = tick.saturating_add(1).max(reach);
        if p.until > from {
            away.by_slot[slot_of(p.shipment.link)] += p.shipment.quantity * f64::from(p.until - from);
        }
    }
}

/// Run condition of [`check_tick`]: checks are on (`--check`).
pub fn checks_on(inv: Res<Invariants>) -> bool {
    inv.check
}
