//! Shipping (tick step 6): goods arrive after their route's lead time; filled orders leave.
//! Trade is booked for customs statistics: exports when goods leave, imports when they arrive.

use crate::world::clock::Clock;
use crate::world::firm::{FirmIndex, Inputs};
use crate::world::invariants::{Invariant, Invariants, ROUNDING, settle_rounding};
use crate::world::orders::Order;
use crate::world::orders::{NO_LICENCE, OrderBook, SupplyLinks};
use crate::world::params::Params;
use crate::world::policy::PolicyState;
use crate::world::prefetch::{AHEAD, prefetch};
use crate::world::prices::PriceBook;
use crate::world::registry::Registry;
use crate::world::rng::{FirmStreams, Purpose, Streams};
use crate::world::shipments::{Shipment, ShipmentQueue, TradeBook};
use bevy_ecs::prelude::*;
use bevy_utils::Parallel;

/// A change to a buyer's input slot that shipping makes today: goods arriving (into its stock,
/// out of its in-transit) or goods sent (into its in-transit). Shipping first lists them in
/// the order the goods move, then applies them buyer by buyer (see [`ShippingScratch`]).
#[derive(Clone, Copy, Debug, Default)]
struct SlotChange {
    quantity: f64,
    buyer: u32,
    slot: u16,
    arrival: bool,
}

/// Shipping's lists, kept from tick to tick so that shipping allocates nothing once they have
/// grown to their working size: the day's slot changes in the order the goods moved, the same
/// grouped by buyer, and the counts that group them.
#[derive(Default)]
pub struct ShippingScratch {
    changes: Vec<SlotChange>,
    by_buyer: Vec<SlotChange>,
    /// After grouping: where each buyer's changes end in `by_buyer` (they start where the
    /// previous buyer's end).
    counts: Vec<u32>,
    /// Each worker's count of rounding errors set to zero.
    clamped: Parallel<u64>,
    /// Each order's plan (aligned with the book), and where the book is cut into parts.
    plans: Vec<Plan>,
    cuts: Vec<usize>,
}

/// How a filled order travels: its transit time and the customs hold before it (0 for none),
/// in ticks.
#[derive(Clone, Copy, Debug, Default)]
struct Plan {
    transit: u32,
    hold: u32,
}

/// Plans the filled orders of `orders` (one supplier's or several whole suppliers', in book
/// order) into `plans`; `streams` are the suppliers' from firm index `first` on. Transit is
/// the link's days plus a uniform draw in ±jitter days from the supplier's shipping stream;
/// where the exporting nation's regime inspects the commodity, that share of orders not under
/// licence is held before it leaves, for a hold drawn from its distribution. Common random
/// numbers: the k-th shipment a supplier sends on a given day draws the same numbers in every
/// scenario, however many it sent on earlier days (see `world::rng`).
#[allow(clippy::too_many_arguments)]
fn plan_shipments(orders: &[Order], plans: &mut [Plan], streams: &mut [Streams], first: usize, policy: &PolicyState, tick: u32, td: u32) {
    for (o, plan) in orders.iter().zip(plans.iter_mut()) {
        if o.filled <= 0.0 {
            continue;
        }
        let st = &mut streams[o.supplier as usize - first];
        let days = if o.jitter_days > 0 {
            let span = 2 * u64::from(o.jitter_days) + 1;
            let draw = ((st.uniform(Purpose::Shipping, tick) * span as f64) as u64).min(span - 1);
            (u64::from(o.days) + draw).saturating_sub(u64::from(o.jitter_days))
        } else {
            u64::from(o.days)
        };
        let ticks = if td == 1 { days } else { days.div_ceil(u64::from(td)) };
        let transit = u32::try_from(ticks.max(1)).unwrap_or(u32::MAX);
        let mut hold = 0;
        let inspection = if o.exporter != o.importer && o.licence == NO_LICENCE {
            policy
                .regime_for(o.exporter, o.commodity)
                .and_then(|r| policy.regimes[r].inspection.as_ref())
        } else {
            None
        };
        if let Some((share, h)) = inspection
            && st.uniform(Purpose::Customs, tick) < *share
        {
            let days = h.quantile(st.uniform(Purpose::Customs, tick)).round().max(1.0) as u32;
            hold = days.div_ceil(td).max(1);
        }
        *plan = Plan { transit, hold };
    }
}

/// Plans every order of the book (see [`plan_shipments`]): in one pass, or cut into one part
/// per worker at suppliers' boundaries, each part with its own suppliers' streams, so every
/// draw is the one a single pass would make.
#[allow(clippy::too_many_arguments)]
fn plan_all(
    orders: &[Order],
    streams: &mut [Streams],
    policy: &PolicyState,
    tick: u32,
    td: u32,
    parallel: bool,
    scratch: &mut ShippingScratch,
) {
    let n = orders.len();
    scratch.plans.clear();
    scratch.plans.resize(n, Plan::default());
    let pool = bevy_tasks::ComputeTaskPool::get();
    let parts = if parallel { pool.thread_num().max(1) } else { 1 };
    if parts == 1 || n < 2 * parts {
        plan_shipments(orders, &mut scratch.plans, streams, 0, policy, tick, td);
        return;
    }
    // Cut points: near n × k / parts, moved forward to the first order of a supplier.
    scratch.cuts.clear();
    scratch.cuts.push(0);
    for k in 1..parts {
        let mut at = (n * k / parts).max(*scratch.cuts.last().expect("a cut"));
        while at < n && at > 0 && orders[at].supplier == orders[at - 1].supplier {
            at += 1;
        }
        scratch.cuts.push(at);
    }
    scratch.cuts.push(n);
    let cuts = &scratch.cuts;
    pool.scope(|s| {
        let mut plans = &mut scratch.plans[..];
        let mut streams = streams;
        let mut first = 0;
        for w in cuts.windows(2) {
            let (from, to) = (w[0], w[1]);
            let (mine, rest) = std::mem::take(&mut plans).split_at_mut(to - from);
            plans = rest;
            // This part's suppliers run up to the next part's first supplier.
            let end = if to < n {
                orders[to].supplier as usize
            } else {
                first + streams.len()
            };
            let (own, others) = std::mem::take(&mut streams).split_at_mut(end - first);
            streams = others;
            let part = &orders[from..to];
            let base = first;
            s.spawn(async move { plan_shipments(part, mine, own, base, policy, tick, td) });
            first = end;
        }
    });
}

impl ShippingScratch {
    /// Groups the changes by buyer with one stable counting pass over firm indices below
    /// `firms`: each buyer's changes keep the order in which the goods moved, so every slot
    /// sees its arrivals (in queue order), then what was sent to it (in the order of the book),
    /// exactly as if they were applied one by one, while the buyers' state is visited in
    /// index order, not in the suppliers' order (the delivery into buyer-contiguous state of
    /// issue 11: a chain of cache misses per shipment becomes one streaming pass).
    fn group_by_buyer(&mut self, firms: usize) {
        self.counts.clear();
        self.counts.resize(firms + 1, 0);
        for (i, c) in self.changes.iter().enumerate() {
            if let Some(next) = self.changes.get(i + AHEAD) {
                prefetch(&self.counts, next.buyer as usize + 1);
            }
            self.counts[c.buyer as usize + 1] += 1;
        }
        for i in 0..firms {
            self.counts[i + 1] += self.counts[i];
        }
        self.by_buyer.clear();
        self.by_buyer.resize(self.changes.len(), SlotChange::default());
        for (i, c) in self.changes.iter().enumerate() {
            if let Some(next) = self.changes.get(i + AHEAD) {
                prefetch(&self.counts, next.buyer as usize);
            }
            let at = &mut self.counts[c.buyer as usize];
            self.by_buyer[*at as usize] = *c;
            *at += 1;
        }
    }

    /// Buyer `b`'s changes, once grouped.
    fn of_buyer(&self, b: usize) -> &[SlotChange] {
        let from = if b == 0 { 0 } else { self.counts[b - 1] as usize };
        &self.by_buyer[from..self.counts[b] as usize]
    }
}

/// Applies a buyer's slot changes in order. An arrival goes into stock and out of in-transit;
/// when the buyer then has nothing left on the way, what its in-transit still shows is
/// rounding and is set to zero; otherwise a rounding error below zero is. Goods sent go into
/// in-transit.
fn apply(inputs: &mut Inputs, changes: &[SlotChange], clamped: &mut u64) {
    for c in changes {
        let slot = &mut inputs.slots[c.slot as usize];
        if c.arrival {
            slot.stock += c.quantity;
            slot.scale = slot.scale.max(slot.stock);
            slot.in_transit -= c.quantity;
            slot.in_flight = slot.in_flight.saturating_sub(1);
            if slot.in_flight == 0 {
                if slot.in_transit != 0.0 && slot.in_transit.abs() <= ROUNDING * slot.scale {
                    slot.in_transit = 0.0;
                    *clamped += 1;
                }
            } else {
                settle_rounding(&mut slot.in_transit, slot.scale, clamped);
            }
        } else {
            slot.in_transit += c.quantity;
            slot.scale = slot.scale.max(slot.in_transit);
            slot.in_flight += 1;
        }
    }
}

/// Goods arriving at their buyer: booked as imports (from abroad) and listed for delivery.
fn arrive(s: &Shipment, links: &SupplyLinks, trade: &mut TradeBook, changes: &mut Vec<SlotChange>) {
    let o = links.owner[s.link as usize];
    if o.importer != o.exporter {
        trade.imported[o.importer as usize * trade.commodities + o.commodity as usize] += s.quantity;
    }
    changes.push(SlotChange {
        quantity: s.quantity,
        buyer: o.buyer,
        slot: o.slot,
        arrival: true,
    });
}

/// Delivers this tick's arrivals into buyers' stocks and releases goods held by customs, then
/// sends off what suppliers filled. Each shipment's transit time is its link's days plus a
/// uniform draw in ±jitter days from the supplier's shipping stream. Where the exporting
/// nation's regime inspects a commodity, that share of shipments not under licence is held
/// before it leaves. Exports are booked when goods leave, imports when they arrive.
///
/// Goods move (and trade is booked, and draws are made) in the order of the queue and of the
/// book; the buyers' input slots are then updated buyer by buyer, each slot's changes in
/// that same order (see [`ShippingScratch::group_by_buyer`]).
#[allow(clippy::too_many_arguments)]
pub fn ship_goods(
    book: Res<OrderBook>,
    links: Res<SupplyLinks>,
    registry: Res<Registry>,
    clock: Res<Clock>,
    prices: Res<PriceBook>,
    policy: Res<PolicyState>,
    mut queue: ResMut<ShipmentQueue>,
    mut trade: ResMut<TradeBook>,
    mut inv: ResMut<Invariants>,
    mut buyers: Query<(&FirmIndex, &mut Inputs)>,
    mut streams: ResMut<FirmStreams>,
    mut scratch: Local<ShippingScratch>,
    params: Res<Params>,
) {
    trade.exported.fill(0.0);
    trade.imported.fill(0.0);
    trade.flow_quantity.fill(0.0);
    trade.flow_value.fill(0.0);
    trade.flow_tariff.fill(0.0);
    let tick = clock.tick;
    let td = clock.tick_days;

    let inv = &mut *inv;
    let queue = &mut *queue;
    let trade = &mut *trade;
    let scratch = &mut *scratch;
    scratch.changes.clear();

    // The starting pipelines deliver first (they were queued before anything else).
    let mut pipeline = std::mem::take(&mut queue.pipeline);
    for p in pipeline.iter().filter(|p| p.until > tick) {
        arrive(&p.shipment, &links, trade, &mut scratch.changes);
    }
    pipeline.retain(|p| p.until > tick.saturating_add(1));
    queue.pipeline = pipeline;

    let due = queue.take_due(tick);
    for i in 0..due.len() {
        if let Some(next) = due.get(i + AHEAD) {
            prefetch(&links.owner, next.link as usize);
        }
        // The bucket itself was written a transit time ago: read ahead of the processor's
        // own prefetcher, which stops at every 4 KiB page.
        prefetch(&due, i + 4 * AHEAD);
        let s = due[i];
        if s.held() {
            let o = links.owner[s.link as usize];
            let price = prices.price(registry.nation_region[o.importer as usize], o.commodity);
            trade.book_export(
                o.exporter,
                o.importer,
                o.commodity,
                s.quantity,
                price,
                policy.tariff(o.importer, o.exporter, o.commodity),
            );
            queue.push(
                tick,
                tick.saturating_add(s.held_transit()),
                Shipment::travelling(s.quantity, s.link, tick),
            );
            continue;
        }
        if inv.check {
            check_lead_time(inv, &clock, &links, &s);
        }
        arrive(&s, &links, trade, &mut scratch.changes);
    }
    queue.give_back(tick, due);

    // Each filled order's transit and customs hold, planned supplier by supplier (on every
    // core when parallel: a supplier's draws are its own, see `plan_shipments`), then sent in
    // the order of the book.
    plan_all(&book.orders, &mut streams.firms, &policy, tick, td, params.parallel, scratch);
    for (i, o) in book.orders.iter().enumerate() {
        if o.filled <= 0.0 {
            continue;
        }
        let (exporter, importer) = (o.exporter, o.importer);
        let Plan {
            transit: transit_ticks,
            hold: hold_ticks,
        } = scratch.plans[i];
        scratch.changes.push(SlotChange {
            quantity: o.filled,
            buyer: o.buyer,
            slot: o.slot,
            arrival: false,
        });
        if hold_ticks > 0 {
            queue.push(
                tick,
                tick.saturating_add(hold_ticks),
                Shipment::held_by_customs(o.filled, o.link, transit_ticks),
            );
        } else {
            queue.push(
                tick,
                tick.saturating_add(transit_ticks),
                Shipment::travelling(o.filled, o.link, tick),
            );
            if exporter != importer {
                let price = prices.price(registry.nation_region[importer as usize], o.commodity);
                trade.book_export(
                    exporter,
                    importer,
                    o.commodity,
                    o.filled,
                    price,
                    policy.tariff(importer, exporter, o.commodity),
                );
            }
        }
    }

    // The buyers' side: each firm applies its own changes, in the order the goods moved.
    // Firms are visited in the order they are stored (no lookup per shipment), on every core
    // when that pays: no two firms share a slot, and what else they count is a whole number.
    scratch.group_by_buyer(registry.entity.len());
    let shared: &ShippingScratch = scratch;
    let deliver = |(idx, mut inputs): (&FirmIndex, Mut<Inputs>), clamped: &mut u64| {
        let changes = shared.of_buyer(idx.0 as usize);
        if !changes.is_empty() {
            apply(&mut inputs, changes, clamped);
        }
    };
    if params.parallel {
        buyers
            .par_iter_mut()
            .for_each_init(|| shared.clamped.borrow_local_mut(), |c, firm| deliver(firm, c));
    } else {
        let c = &mut *shared.clamped.borrow_local_mut();
        buyers.iter_mut().for_each(|firm| deliver(firm, c));
    }
    inv.clamped += scratch.clamped.iter_mut().map(std::mem::take).sum::<u64>();
}

/// The lead-time invariant, for a shipment arriving now: the days since it left (the supplier,
/// or customs after a hold) are at least its route's shortest transit, `days − jitter_days`.
fn check_lead_time(inv: &mut Invariants, clock: &Clock, links: &SupplyLinks, s: &Shipment) {
    let l = &links.links[s.link as usize];
    let shortest = u64::from(l.days.saturating_sub(l.jitter_days));
    let sent = s.sent_tick().unwrap_or(clock.tick);
    let elapsed = u64::from(clock.tick.saturating_sub(sent)) * u64::from(clock.tick_days);
    if clock.tick >= sent && elapsed >= shortest {
        return;
    }
    let who = format!(
        "shipment of {} units of `{}` from firm `{}` to firm `{}`",
        s.quantity,
        inv.commodity_ids[links.owner[s.link as usize].commodity as usize],
        inv.firm_ids[l.supplier as usize],
        inv.firm_ids[links.owner[s.link as usize].buyer as usize]
    );
    inv.report(
        clock,
        Invariant::LeadTime,
        || who,
        || {
            format!(
                "arrived {elapsed} days after it left at tick {}; its route takes at least {shortest} days",
                sent
            )
        },
    );
}
