//! Shipping (tick step 6): goods arrive after their route's lead time; filled orders leave.
//! Trade is booked for customs statistics: exports when goods leave, imports when they arrive.

use crate::world::clock::Clock;
use crate::world::disjoint::Disjoint;
use crate::world::firm::Inputs;
use crate::world::invariants::{Invariant, Invariants, ROUNDING, settle_rounding};
use crate::world::orders::LinkTally;
use crate::world::orders::Order;
use crate::world::orders::{NO_LICENCE, OrderBook, SupplyLinks};
use crate::world::params::Params;
use crate::world::policy::PolicyState;
use crate::world::prefetch::AHEAD;
use crate::world::prices::PriceBook;
use crate::world::registry::Registry;
use crate::world::rng::{FirmStreams, Purpose, Streams};
use crate::world::shipments::{InTransit, NO_TICK, SharedRings, Shipment, ShipmentQueue, TradeBook};
use crate::world::workers::batching;
use bevy_ecs::prelude::*;
use bevy_utils::Parallel;

/// Shipping's lists, kept from tick to tick so that shipping allocates nothing once they have
/// grown to their working size: each order's plan (aligned with the book), and where the book
/// is cut into parts for planning.
#[derive(Default)]
pub struct ShippingScratch {
    plans: Vec<Plan>,
    cuts: Vec<usize>,
    parts: Vec<Part>,
    /// Each worker's count of rounding errors set to zero in delivery.
    clamped: Parallel<u64>,
}

/// What one part of the book (see [`OrderBook::cut_by_supplier`]) leaves for the serial steps
/// after it, in the book's order: the links it sends on that have no ring yet, and goods for
/// the queue (due tick and shipment: held by customs, or due beyond their ring's reach).
#[derive(Default)]
struct Part {
    new_rings: Vec<u32>,
    queue: Vec<(u32, Shipment)>,
    /// The part's exports, booked in the book's order (the first part books into the day's
    /// trade directly); `None` until the part is first used.
    exports: Option<TradeBook>,
}

/// Orders per part of the book that shipping plans and sends as one (see [`book_parts`]).
const ORDERS_PER_PART: usize = 1 << 13;
/// The most parts a book is cut into.
const MAX_PARTS: usize = 64;

/// How many parts of whole suppliers shipping cuts a book of `orders` orders into: one per
/// `ORDERS_PER_PART` orders, from 1 to `MAX_PARTS`. It depends on the book alone, never on the
/// thread count, so each part's sums (its exports) are the same however many threads run the
/// parts; a book of fewer than 2 × `ORDERS_PER_PART` orders (every shipped model's) is one
/// part, summed as one pass in the book's order.
fn book_parts(orders: usize) -> usize {
    (orders / ORDERS_PER_PART).clamp(1, MAX_PARTS)
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
fn plan_shipments(
    orders: &[Order],
    plans: &mut [Plan],
    streams: &mut [Streams],
    first: usize,
    policy: &PolicyState,
    transit: &InTransit,
    tick: u32,
    td: u32,
    new_rings: &mut Vec<u32>,
) {
    new_rings.clear();
    for (o, plan) in orders.iter().zip(plans.iter_mut()) {
        if o.filled <= 0.0 {
            continue;
        }
        if !transit.has_ring(o.link as usize) {
            new_rings.push(o.link);
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

/// Plans every order of the book (see [`plan_shipments`]), part by part (see
/// [`OrderBook::cut_by_supplier`]); on every core when `parallel`, each part with its own
/// suppliers' streams, so every draw is the one a single pass would make.
#[allow(clippy::too_many_arguments)]
fn plan_all(
    orders: &[Order],
    streams: &mut [Streams],
    policy: &PolicyState,
    transit: &InTransit,
    tick: u32,
    td: u32,
    scratch: &mut ShippingScratch,
    parallel: bool,
) {
    let n = orders.len();
    scratch.plans.clear();
    scratch.plans.resize(n, Plan::default());
    let cuts = &scratch.cuts;
    let mut plans = &mut scratch.plans[..];
    let mut streams = streams;
    let mut first = 0;
    let mut parts = cuts.windows(2).zip(scratch.parts.iter_mut());
    // Each part's orders, plans, suppliers' streams (up to the next part's first supplier)
    // and list of new rings.
    let jobs = std::iter::from_fn(move || {
        let (w, part) = parts.next()?;
        let (from, to) = (w[0], w[1]);
        let (mine, rest) = std::mem::take(&mut plans).split_at_mut(to - from);
        plans = rest;
        let end = if to < n {
            orders[to].supplier as usize
        } else {
            first + streams.len()
        };
        let (own, others) = std::mem::take(&mut streams).split_at_mut(end - first);
        streams = others;
        let base = first;
        first = end;
        let (orders, new_rings) = (&orders[from..to], &mut part.new_rings);
        Some(move || plan_shipments(orders, mine, own, base, policy, transit, tick, td, new_rings))
    });
    if parallel && cuts.len() > 2 {
        bevy_tasks::ComputeTaskPool::get().scope(|s| {
            for mut job in jobs {
                s.spawn(async move { job() });
            }
        });
    } else {
        jobs.for_each(|mut job| job());
    }
}

/// What booking an export reads: the importer's regional price and the tariff.
#[derive(Clone, Copy)]
struct Customs<'a> {
    prices: &'a PriceBook,
    nation_region: &'a [u16],
    policy: &'a PolicyState,
}

impl Customs<'_> {
    /// Books `quantity` units of `commodity` leaving `exporter` for `importer` into `trade`, at
    /// the importer's regional price, with the importer's tariff on them.
    fn book(&self, trade: &mut TradeBook, exporter: u16, importer: u16, commodity: u16, quantity: f64) {
        let price = self.prices.price(self.nation_region[importer as usize], commodity);
        let tariff = self.policy.tariff(importer, exporter, commodity);
        trade.book_export(exporter, importer, commodity, quantity, price, tariff);
    }
}

/// Sends one part's filled orders (see [`OrderBook::cut_by_supplier`]) as planned: tallies
/// what was ordered and sent on each link, puts goods into their link's cell (each link has
/// its ring by now), books as exports, in the book's order, the goods that leave for another
/// nation, and lists for the queue goods held by customs and goods due beyond their ring's
/// reach. Counts the consignments that take a place of their own (see [`travel`]).
#[allow(clippy::too_many_arguments)]
fn send_part(
    orders: &[Order],
    plans: &[Plan],
    tick: u32,
    rings: &SharedRings,
    tally: &Disjoint<LinkTally>,
    queue: &mut Vec<(u32, Shipment)>,
    exports: &mut TradeBook,
    customs: Customs<'_>,
) {
    queue.clear();
    for (i, o) in orders.iter().enumerate() {
        // Orders are by supplier and links and rings by buyer: ask for the link's tally and
        // ring entry, then the cell, of the orders some steps ahead (a third of a 10^4-firm
        // run waited for these cells; at 10^6 firms, a third of sending waited for the tally).
        if let Some(next) = orders.get(i + 2 * AHEAD) {
            rings.prefetch(next.link as usize);
            tally.prefetch(next.link as usize);
        }
        if let Some(next) = orders.get(i + AHEAD) {
            // SAFETY: that order is this part's, and so is its link (see
            // `OrderBook::cut_by_supplier`).
            unsafe { rings.prefetch_cell(next.link as usize, plans[i + AHEAD].transit) };
        }
        let li = o.link as usize;
        // What was ordered and sent on each link today: what the buyer learns its fill rate
        // and claim from next tick; what was sent also goes into its in-transit at delivery.
        // SAFETY: the link is this part's alone (see `OrderBook::cut_by_supplier`), here and
        // below.
        let t = unsafe { tally.get(li) };
        t.ordered += o.quantity;
        if o.filled <= 0.0 {
            continue;
        }
        t.filled += o.filled;
        let Plan { transit: ahead, hold } = plans[i];
        if hold > 0 {
            queue.push((tick.saturating_add(hold), Shipment::held_by_customs(o.filled, o.link, ahead)));
            unsafe { rings.add_flight(li, 1) };
            continue;
        }
        // Goods leave now: exported when they cross a border.
        if o.exporter != o.importer {
            customs.book(exports, o.exporter, o.importer, o.commodity, o.filled);
        }
        // (Every link sent on has its ring by now.)
        unsafe {
            if travel(rings, o.link, tick, ahead, o.filled, tick, &mut |due, s| queue.push((due, s))) {
                rings.add_flight(li, 1);
            }
        }
    }
}

/// Goods on `link` due `ahead` ticks from `now`, which left at tick `left`: into their cell
/// when the link's ring reaches that far, else to `park` (the tick they are due to enter the
/// ring, and the shipment) for the queue until it does. Returns whether they took a place of
/// their own (an empty cell or a queue entry) rather than joining goods due the same tick: the
/// caller counts consignments on their way from it.
///
/// # Safety
/// No other thread uses link `link` meanwhile, and it has a ring.
unsafe fn travel(
    rings: &SharedRings,
    link: u32,
    now: u32,
    ahead: u32,
    quantity: f64,
    left: u32,
    park: &mut impl FnMut(u32, Shipment),
) -> bool {
    let li = link as usize;
    // SAFETY: the caller's promise, here and below.
    let len = unsafe { rings.len(li) };
    debug_assert!(len > 0, "link {li} has its ring before goods travel on it");
    if ahead < len {
        !unsafe { rings.put(li, ahead, quantity, left) }
    } else {
        park(now.saturating_add(ahead - (len - 1)), Shipment::travelling(quantity, link, left));
        true
    }
}

/// [`travel`] for goods already counted as a consignment on their way (from the queue, or the
/// far end of a starting pipeline): one consignment fewer when they join others. Runs on one
/// thread, with the queue at hand.
fn enter(rings: &SharedRings, queue: &mut ShipmentQueue, link: u32, now: u32, ahead: u32, quantity: f64, left: u32) {
    // SAFETY: one thread; the link has a ring (it carried goods before, or a pipeline).
    unsafe {
        if !travel(rings, link, now, ahead, quantity, left, &mut |due, s| queue.push(now, due, s)) {
            rings.add_flight(link as usize, -1);
        }
    }
}

/// Releases goods held by customs and sends off what suppliers filled, then delivers this
/// tick's arrivals into buyers' stocks. Each shipment's transit time is its link's days plus
/// a uniform draw in ±jitter days from the supplier's shipping stream. Where the exporting
/// nation's regime inspects a commodity, that share of shipments not under licence is held
/// before it leaves. Exports are booked when goods leave; what arrives from abroad is kept as
/// each input's imports of the day (`InputSlot::imported`), which observation sums into the
/// nations' imports.
///
/// Goods travel in their link's ring ([`InTransit`]): sending puts them in the cell of the
/// tick they are due, and delivery is one pass over the buyers in storage order, each reading
/// its own links' cells for today (arrivals, booked as imports in link order), then adding
/// what was sent to it today to its in-transit. Goods leave (and exports are booked, and
/// draws made) in the order of the queue and of the book.
#[allow(clippy::too_many_arguments)]
pub fn ship_goods(
    book: Res<OrderBook>,
    mut links: ResMut<SupplyLinks>,
    registry: Res<Registry>,
    clock: Res<Clock>,
    prices: Res<PriceBook>,
    policy: Res<PolicyState>,
    mut queue: ResMut<ShipmentQueue>,
    mut transit: ResMut<InTransit>,
    mut trade: ResMut<TradeBook>,
    mut inv: ResMut<Invariants>,
    mut buyers: Query<&mut Inputs>,
    mut streams: ResMut<FirmStreams>,
    mut scratch: Local<ShippingScratch>,
    params: Res<Params>,
) {
    trade.exported.fill(0.0);
    trade.flow_quantity.fill(0.0);
    trade.flow_value.fill(0.0);
    trade.flow_tariff.fill(0.0);
    let tick = clock.tick;
    let td = clock.tick_days;

    let inv = &mut *inv;
    let queue = &mut *queue;
    let transit = &mut *transit;
    let trade = &mut *trade;
    let links = &mut *links;
    transit.record_departures(inv.check);
    transit.set_tick(tick);

    // The far ends of starting pipelines longer than their ring: today's goods into today's
    // cell (the ring holds the ticks before).
    let mut pipeline = std::mem::take(&mut queue.pipeline);
    let rings = transit.shared();
    for p in pipeline.iter().filter(|p| p.until > tick) {
        // SAFETY: one thread.
        if tick >= unsafe { rings.len(p.shipment.link as usize) } {
            enter(&rings, queue, p.shipment.link, tick, 0, p.shipment.quantity, NO_TICK);
        }
    }
    pipeline.retain(|p| p.until > tick.saturating_add(1));
    queue.pipeline = pipeline;

    // Goods leaving the queue: released by customs (they leave now, and are booked as exports)
    // or coming within reach of their ring.
    let customs = Customs {
        prices: &prices,
        nation_region: &registry.nation_region,
        policy: &policy,
    };
    let due = queue.take_due(tick);
    for s in &due {
        if s.held() {
            let o = links.owner[s.link as usize];
            customs.book(trade, o.exporter, o.importer, o.commodity, s.quantity);
            enter(&rings, queue, s.link, tick, s.held_transit(), s.quantity, tick);
        } else {
            // SAFETY: one thread.
            let ahead = unsafe { rings.len(s.link as usize) } - 1;
            enter(&rings, queue, s.link, tick, ahead, s.quantity, s.sent_tick().unwrap_or(tick));
        }
    }
    queue.give_back(tick, due);

    // Each filled order's transit and customs hold, planned supplier by supplier, then sent,
    // in parts of whole suppliers whose number depends on the book alone (`book_parts`); on
    // every core when parallel (a supplier's draws and links are its own). Between the two,
    // the links sent on for the first time get their rings, in the book's order. Each part
    // books its exports in the book's order, the first into the day's trade (after the goods
    // released by customs), the others into their own books, added after in part order; goods
    // for the queue enter it after the parts, in the book's order.
    let scratch = &mut *scratch;
    let orders = &book.orders;
    OrderBook::cut_by_supplier(orders, book_parts(orders.len()), &mut scratch.cuts);
    let parts = scratch.cuts.len() - 1;
    if scratch.parts.len() < parts {
        scratch.parts.resize_with(parts, Part::default);
    }
    plan_all(orders, &mut streams.firms, &policy, transit, tick, td, scratch, params.parallel);
    for part in &scratch.parts[..parts] {
        for &li in &part.new_rings {
            let li = li as usize;
            if !transit.has_ring(li) {
                transit.add_ring(li, InTransit::ring_len_of(&links.links[li], td));
            }
        }
    }
    for part in &mut scratch.parts[1..parts] {
        part.exports
            .get_or_insert_with(|| TradeBook::new(trade.nations, trade.commodities))
            .clear();
    }
    {
        let rings = transit.shared();
        let tally = Disjoint::new(&mut links.tally);
        let (rings, tally, plans, cuts) = (&rings, &tally, &scratch.plans, &scratch.cuts);
        let mut day = Some(&mut *trade);
        let jobs = cuts.windows(2).zip(scratch.parts.iter_mut()).map(|(w, part)| {
            let (from, to) = (w[0], w[1]);
            let (orders, plans, queue) = (&orders[from..to], &plans[from..to], &mut part.queue);
            let exports = match day.take() {
                Some(trade) => trade,
                None => part.exports.as_mut().expect("a book for every part after the first"),
            };
            move || send_part(orders, plans, tick, rings, tally, queue, exports, customs)
        });
        if params.parallel && parts > 1 {
            bevy_tasks::ComputeTaskPool::get().scope(|s| {
                for mut job in jobs {
                    s.spawn(async move { job() });
                }
            });
        } else {
            jobs.for_each(|mut job| job());
        }
    }
    for part in &scratch.parts[..parts] {
        for &(due, shipment) in &part.queue {
            queue.push(tick, due, shipment);
        }
    }
    for part in &scratch.parts[1..parts] {
        trade.add_exports(part.exports.as_ref().expect("booked above"));
    }

    // Delivery, buyer by buyer (each reads only its own links, which are laid out by buyer):
    // on every core when parallel, unless the lead times are checked (each arrival may report).
    let mut clamped = 0u64;
    {
        let rings = transit.shared();
        let (rings, shared) = (&rings, &*links);
        if params.parallel && !inv.check {
            let local = &scratch.clamped;
            buyers.par_iter_mut().batching_strategy(batching()).for_each_init(
                || local.borrow_local_mut(),
                |c, mut inputs| deliver(&mut inputs, rings, shared, &mut *c, &mut |_, _, _| {}),
            );
            clamped = scratch.clamped.iter_mut().map(std::mem::take).sum();
        } else {
            let clock = &*clock;
            for mut inputs in buyers.iter_mut() {
                deliver(&mut inputs, rings, shared, &mut clamped, &mut |li, a, left| {
                    check_lead_time(inv, clock, shared, li, a, left)
                });
            }
        }
    }
    inv.clamped += clamped;
}

/// Delivers one buyer's goods: per input, the goods due today on each of its links arrive
/// (into stock, out of in-transit; from abroad, into the input's imports of the day), then
/// what was sent to it today goes into its in-transit and its count of consignments on the
/// way changes by its links' changes. When an input has nothing left on the way, what its
/// in-transit still shows is rounding and is set to zero; otherwise a rounding error below
/// zero is (each counted in `clamped`). `arrived` hears of every arrival whose departure tick
/// was recorded (link, units, tick it left), for the lead-time check.
fn deliver(inputs: &mut Inputs, rings: &SharedRings, links: &SupplyLinks, clamped: &mut u64, arrived: &mut impl FnMut(usize, f64, u32)) {
    for slot in inputs.slots.iter_mut() {
        let (from, len) = slot.links;
        slot.imported = 0.0;
        for li in from as usize..(from + len) as usize {
            // SAFETY: the buyer's links are its own, and only this buyer's delivery uses them
            // (one buyer per worker at a time), here and below.
            if unsafe { rings.len(li) } == 0 {
                continue;
            }
            let (a, left) = unsafe { rings.take(li) };
            if a == 0.0 {
                continue;
            }
            if left != NO_TICK {
                arrived(li, a, left);
            }
            let o = links.owner[li];
            if o.importer != o.exporter {
                slot.imported += a;
            }
            slot.stock += a;
            slot.scale = slot.scale.max(slot.stock);
            slot.in_transit -= a;
            slot.in_flight = slot.in_flight.saturating_sub(1);
            if slot.in_flight == 0 {
                if slot.in_transit != 0.0 && slot.in_transit.abs() <= ROUNDING * slot.scale {
                    slot.in_transit = 0.0;
                    *clamped += 1;
                }
            } else {
                settle_rounding(&mut slot.in_transit, slot.scale, clamped);
            }
        }
        for li in from as usize..(from + len) as usize {
            let flight = unsafe { rings.take_flight(li) };
            if flight != 0 {
                slot.in_flight = slot.in_flight.saturating_add_signed(i64::from(flight));
            }
            let sent = links.tally[li].filled;
            if sent > 0.0 {
                slot.in_transit += sent;
                slot.scale = slot.scale.max(slot.in_transit);
            }
        }
    }
}

/// The lead-time invariant, for goods arriving now on link `link` that left (the supplier, or
/// customs after a hold) at tick `left` at the latest: the days since are at least its route's
/// shortest transit, `days − jitter_days`.
fn check_lead_time(inv: &mut Invariants, clock: &Clock, links: &SupplyLinks, link: usize, quantity: f64, left: u32) {
    let l = &links.links[link];
    let shortest = u64::from(l.days.saturating_sub(l.jitter_days));
    let elapsed = u64::from(clock.tick.saturating_sub(left)) * u64::from(clock.tick_days);
    if clock.tick >= left && elapsed >= shortest {
        return;
    }
    let owner = links.owner[link];
    let who = format!(
        "shipment of {} units of `{}` from firm `{}` to firm `{}`",
        quantity, inv.commodity_ids[owner.commodity as usize], inv.firm_ids[l.supplier as usize], inv.firm_ids[owner.buyer as usize]
    );
    inv.report(
        clock,
        Invariant::LeadTime,
        || who,
        || format!("arrived {elapsed} days after it left at tick {left}; its route takes at least {shortest} days"),
    );
}
