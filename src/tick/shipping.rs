//! Shipping (tick step 6): goods arrive after their route's lead time; filled orders leave.
//! Trade is booked for customs statistics: exports when goods leave, imports when they arrive.

use crate::world::clock::Clock;
use crate::world::disjoint::Disjoint;
use crate::world::firm::Inputs;
use crate::world::invariants::{Invariant, Invariants, ROUNDING, settle_rounding};
use crate::world::network::Link;
use crate::world::orders::{LinkOwner, LinkTally, Listed, NO_LICENCE, Order, OrderBook, SupplyLinks, Terms};
use crate::world::params::Params;
use crate::world::policy::PolicyState;
use crate::world::prefetch::AHEAD;
use crate::world::prices::PriceBook;
use crate::world::registry::Registry;
use crate::world::rng::{Batch, FirmStreams, Purpose, Streams};
use crate::world::shipments::{
    InTransit, LANE_RING_MAX, Laned, NO_LANE, NO_TICK, SharedRings, Shipment, ShipmentQueue, Stamp, TradeBook, UNSTAGED,
};
use crate::world::trade_index::TradeIndex;
use crate::world::workers::batching;
use bevy_ecs::prelude::*;
use bevy_utils::Parallel;

/// Shipping's lists, kept from tick to tick so that shipping allocates nothing once they have
/// grown to their working size: where the book is cut into parts for sending, and each
/// part's own lists.
#[derive(Default)]
pub struct ShippingScratch {
    cuts: Vec<usize>,
    parts: Vec<Part>,
    /// Each worker's count of rounding errors set to zero in delivery.
    clamped: Parallel<u64>,
}

/// What one part of the book (see [`OrderBook::cut_by_supplier`]) leaves for the serial steps
/// after it, in the book's order: the links it sends on that have no lane yet, and the goods
/// that go in one by one (see [`Sending::send`]): held by customs, with the tick customs
/// release them, or travelling, with their transit in ticks.
#[derive(Default)]
struct Part {
    new_lanes: Vec<u32>,
    /// The transit draws of a window of the part's shipments, made together (see
    /// [`draw_transits`]).
    draws: Batch,
    loose: Vec<(u32, Shipment)>,
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

/// Makes the transit draws of the filled orders of `orders` (a window of one supplier's or
/// several whole suppliers' orders, in book order) on routes with jitter, together in `draws`
/// (see [`Batch`]): the same numbers as one by one, listed in the book's order from the
/// suppliers' shipping streams (`streams`, the suppliers' from firm index `first` on).
/// Common random numbers: the k-th shipment a supplier sends on a given day draws the same
/// numbers in every scenario, however many it sent on earlier days (see `world::rng`).
fn draw_transits(orders: &[Order], terms: Terms<'_>, streams: &mut [Streams], first: usize, tick: u32, draws: &mut Batch) {
    draws.clear();
    for o in orders.iter().filter(|o| o.filled > 0.0) {
        let t = terms.of(o);
        if t.jitter_days > 0 {
            let st = &mut streams[t.supplier as usize - first];
            draws.push(st.key, st.next(Purpose::Shipping, tick));
        }
    }
    draws.draw(Purpose::Shipping, tick);
}

/// Orders per window whose transit draws shipping makes together, then sends (see
/// [`Sending::send`]). (Windows keep the lists short: a whole book's draws and plans took 28
/// bytes a shipment, 126 MB at 10^6 firms.)
const DRAW_WINDOW: usize = 1024;

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

/// What sending reads, in every part of the book (see [`OrderBook::cut_by_supplier`]): the
/// orders' terms, the regimes (customs inspections), which links have a lane, and the links'
/// tallies and staging (each link is one part's, so one thread's).
#[derive(Clone, Copy)]
struct Sending<'a> {
    terms: Terms<'a>,
    policy: &'a PolicyState,
    laned: Laned<'a>,
    tally: &'a Disjoint<'a, LinkTally>,
    staged: &'a Disjoint<'a, u16>,
    customs: Customs<'a>,
    tick: u32,
    td: u32,
}

impl Sending<'_> {
    /// How filled order `o` (terms `t`) travels. Transit is the link's days plus a uniform
    /// draw in ±jitter days (the next of `draws`, made by [`draw_transits`]); where the
    /// exporting nation's regime inspects the commodity, that share of orders not under
    /// licence is held before it leaves, for a hold drawn from its distribution, from the
    /// supplier's stream `st`.
    #[inline]
    fn plan(&self, o: &Order, t: &Listed, st: &mut Streams, draws: &Batch, next_draw: &mut usize) -> Plan {
        let (tick, td) = (self.tick, self.td);
        let days = if t.jitter_days > 0 {
            let span = 2 * u64::from(t.jitter_days) + 1;
            let u = draws.get(*next_draw);
            *next_draw += 1;
            let draw = ((u * span as f64) as u64).min(span - 1);
            (u64::from(t.days) + draw).saturating_sub(u64::from(t.jitter_days))
        } else {
            u64::from(t.days)
        };
        let ticks = if td == 1 { days } else { days.div_ceil(u64::from(td)) };
        let transit = u32::try_from(ticks.max(1)).unwrap_or(u32::MAX);
        let mut hold = 0;
        let policy = self.policy;
        let inspection = if t.exporter != t.importer && o.licence == NO_LICENCE {
            policy
                .regime_for(t.exporter, t.commodity)
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
        Plan { transit, hold }
    }

    /// Sends a window of one part's orders: tallies what was ordered and sent on each link,
    /// plans each filled order (see [`Sending::plan`]; `draws` holds the window's transit
    /// draws, `streams` the part's suppliers' from firm index `first` on), stages the goods
    /// that leave now for delivery to put into their lane's cell (see [`InTransit`]), books as
    /// exports, in the book's order, the goods that leave for another nation, and lists, in
    /// the book's order, the links sent on that have no lane yet (`new_lanes`) and what goes
    /// in one by one after the parts (`loose`): goods held by customs (with the tick customs
    /// release them) and goods that cannot be staged (with their transit), because their link
    /// already staged goods due on another tick today or they are due beyond any ring's reach.
    #[allow(clippy::too_many_arguments)]
    fn send(
        &self,
        orders: &[Order],
        streams: &mut [Streams],
        first: usize,
        draws: &Batch,
        new_lanes: &mut Vec<u32>,
        loose: &mut Vec<(u32, Shipment)>,
        exports: &mut TradeBook,
    ) {
        let (terms, tally, staged, tick) = (self.terms, self.tally, self.staged, self.tick);
        let mut next_draw = 0;
        for (i, o) in orders.iter().enumerate() {
            // Orders are by supplier and links by buyer: ask for the link's tally and staging
            // some steps ahead (at 10^6 firms, a third of sending waited for the tally).
            if let Some(next) = orders.get(i + AHEAD) {
                let next = terms.of(next);
                tally.prefetch(next.trade as usize);
                staged.prefetch(next.link as usize);
            }
            let terms = terms.of(o);
            let li = terms.link as usize;
            // What was ordered and sent on each link today: what the buyer learns its fill
            // rate and claim from at delivery; what was sent also goes into its in-transit.
            // SAFETY: the link is this part's alone (see `OrderBook::cut_by_supplier`), here
            // and below.
            let t = unsafe { tally.get(terms.trade as usize) };
            t.ordered += o.quantity;
            if o.filled <= 0.0 {
                continue;
            }
            if !self.laned.has(li) {
                new_lanes.push(terms.link);
            }
            let st = &mut streams[terms.supplier as usize - first];
            let Plan { transit: ahead, hold } = self.plan(o, terms, st, draws, &mut next_draw);
            let before = t.filled;
            t.filled += o.filled;
            // SAFETY: as for the tally.
            let st = unsafe { staged.get(li) };
            if hold == 0 && (ahead as usize) < LANE_RING_MAX && (*st == 0 || u32::from(*st) == ahead) {
                // Staged: everything the link sent today is due on the same tick.
                *st = ahead as u16;
            } else {
                if *st != 0 && *st != UNSTAGED {
                    // What the link staged before goes in one by one too, now that its tally
                    // holds more than it.
                    loose.push((u32::from(*st), Shipment::travelling(before, terms.link, tick)));
                }
                *st = UNSTAGED;
                if hold > 0 {
                    loose.push((tick.saturating_add(hold), Shipment::held_by_customs(o.filled, terms.link, ahead)));
                    continue;
                }
                loose.push((ahead, Shipment::travelling(o.filled, terms.link, tick)));
            }
            // Goods leave now: exported when they cross a border.
            if terms.exporter != terms.importer {
                self.customs
                    .book(exports, terms.exporter, terms.importer, terms.commodity, o.filled);
            }
        }
    }
}

/// The stamp of goods on `link` that left at tick `left` (see [`Stamp`]), while departures
/// are recorded; [`Stamp::NONE`] otherwise.
fn stamp(recording: bool, links: &[Link], link: u32, left: u32, td: u32) -> Stamp {
    if !recording || left == NO_TICK {
        return Stamp::NONE;
    }
    let l = &links[link as usize];
    Stamp {
        left,
        link,
        earliest_day: u64::from(left) * u64::from(td) + u64::from(l.days.saturating_sub(l.jitter_days)),
    }
}

/// Goods `s` (travelling on a link that has a lane) due `ahead` ticks from `now`: into their
/// lane's cell when its ring reaches that far, else into the queue until they arrive.
/// `counted` says whether they are already counted as a consignment on their way (they come
/// from the queue or a starting pipeline): then they are one fewer when they join goods due
/// the same tick; if not, they are one more when they take a place of their own. Runs on one
/// thread, with the queue at hand.
fn enter(rings: &SharedRings, queue: &mut ShipmentQueue, now: u32, ahead: u32, s: Shipment, stamp: Stamp, counted: bool) {
    let lane = rings.lane_of(s.link as usize);
    debug_assert_ne!(lane, NO_LANE, "link {} has its lane before goods travel on it", s.link);
    // SAFETY: one thread.
    unsafe {
        if ahead < rings.len(lane) {
            let joined = rings.put(lane, ahead, s.quantity, stamp);
            match (joined, counted) {
                (true, true) => rings.add_flight(lane, -1),
                (false, false) => rings.add_flight(lane, 1),
                _ => {}
            }
        } else {
            queue.push(now, now.saturating_add(ahead), s);
            if !counted {
                rings.add_flight(lane, 1);
            }
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
/// Goods travel in their lane's ring ([`InTransit`]): sending stages each link's goods, and
/// delivery is one pass over the buyers in storage order, each taking its own lanes' cells
/// for today (arrivals, booked as imports when from abroad), then adding what was sent to it
/// today to its in-transit and putting it into its cells (`Staging`).
/// Goods leave (and exports are booked, and draws made) in the order of the queue and of the
/// book.
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
    let recording = transit.recording();

    // The far ends of starting pipelines longer than their ring: today's goods into today's
    // cell (the ring holds the ticks before).
    let mut pipeline = std::mem::take(&mut queue.pipeline);
    {
        let rings = transit.shared();
        for p in pipeline.iter().filter(|p| p.until > tick) {
            // SAFETY: one thread.
            if tick >= unsafe { rings.len(rings.lane_of(p.shipment.link as usize)) } {
                enter(&rings, queue, tick, 0, p.shipment, Stamp::NONE, true);
            }
        }
    }
    pipeline.retain(|p| p.until > tick.saturating_add(1));
    queue.pipeline = pipeline;

    // Goods leaving the queue: released by customs (they leave now, and are booked as exports)
    // or arriving.
    let customs = Customs {
        prices: &prices,
        nation_region: &registry.nation_region,
        policy: &policy,
    };
    let due = queue.take_due(tick);
    {
        let rings = transit.shared();
        for &s in &due {
            if s.held() {
                let o = links.owner(s.link as usize);
                customs.book(trade, o.exporter, o.importer, o.commodity, s.quantity);
                let leaving = Shipment::travelling(s.quantity, s.link, tick);
                let st = stamp(recording, &links.links, s.link, tick, td);
                enter(&rings, queue, tick, s.held_transit(), leaving, st, true);
            } else {
                let st = stamp(recording, &links.links, s.link, s.sent_tick().unwrap_or(NO_TICK), td);
                enter(&rings, queue, tick, 0, s, st, true);
            }
        }
    }
    queue.give_back(tick, due);

    // Each filled order's transit and customs hold, planned as it is sent, a window of the
    // book at a time (the window's transit draws made together first), in parts of whole
    // suppliers whose number depends on the book alone (`book_parts`); on every core when
    // parallel (a supplier's draws and links are its own). After the parts, the links sent
    // on for the first time get their lanes, in the book's order. Each part books its exports
    // in the book's order, the first into the day's trade (after the goods released by
    // customs), the others into their own books, added after in part order; what goes in one
    // by one goes in after the parts, in the book's order.
    let scratch = &mut *scratch;
    let (orders, terms) = (&book.orders, book.terms());
    OrderBook::cut_by_supplier(orders, terms, book_parts(orders.len()), &mut scratch.cuts);
    let parts = scratch.cuts.len() - 1;
    if scratch.parts.len() < parts {
        scratch.parts.resize_with(parts, Part::default);
    }
    for part in &mut scratch.parts[1..parts] {
        part.exports
            .get_or_insert_with(|| TradeBook::new(trade.nations, trade.commodities))
            .clear();
    }
    {
        let (laned, staged) = transit.sending();
        let tally = Disjoint::new(&mut links.tally);
        let sending = Sending {
            terms,
            policy: &policy,
            laned,
            tally: &tally,
            staged: &staged,
            customs,
            tick,
            td,
        };
        let n = orders.len();
        let mut streams = &mut streams.firms[..];
        let mut first = 0;
        let mut day = Some(&mut *trade);
        // Each part's orders, its suppliers' streams (up to the next part's first supplier),
        // its lists and its exports.
        let jobs = scratch.cuts.windows(2).zip(scratch.parts.iter_mut()).map(|(w, part)| {
            let (from, to) = (w[0], w[1]);
            let end = if to < n {
                terms.of(&orders[to]).supplier as usize
            } else {
                first + streams.len()
            };
            let (own, others) = std::mem::take(&mut streams).split_at_mut(end - first);
            streams = others;
            let base = first;
            first = end;
            let exports = match day.take() {
                Some(trade) => trade,
                None => part.exports.as_mut().expect("a book for every part after the first"),
            };
            let Part {
                new_lanes, draws, loose, ..
            } = part;
            let orders = &orders[from..to];
            move || {
                new_lanes.clear();
                loose.clear();
                for window in orders.chunks(DRAW_WINDOW) {
                    draw_transits(window, terms, own, base, tick, draws);
                    sending.send(window, own, base, draws, new_lanes, loose, exports);
                }
            }
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
    // The links sent on for the first time get their lanes, in the book's order.
    for part in &scratch.parts[..parts] {
        for &li in &part.new_lanes {
            let li = li as usize;
            if !transit.has_lane(li) {
                let owner = |k: usize| links.trade.of(k).map(|t| links.owner[t]);
                transit.give_lane(li, InTransit::ring_len_of(&links.links[li], td), owner);
            }
        }
    }
    {
        let rings = transit.shared();
        for part in &scratch.parts[..parts] {
            for &(when, s) in &part.loose {
                if s.held() {
                    queue.push(tick, when, s);
                    // SAFETY: one thread.
                    unsafe { rings.add_flight(rings.lane_of(s.link as usize), 1) };
                } else {
                    let st = stamp(recording, &links.links, s.link, tick, td);
                    enter(&rings, queue, tick, when, s, st, false);
                }
            }
        }
    }
    for part in &scratch.parts[1..parts] {
        trade.add_exports(part.exports.as_ref().expect("booked above"));
    }

    // Delivery, buyer by buyer (each reads only its own links and lanes, which are laid out
    // by buyer): on every core when parallel, unless the lead times are checked (each arrival
    // may report).
    let mut clamped = 0u64;
    {
        let rings = transit.shared();
        let rings = &rings;
        let tick_days = f64::from(td);
        let SupplyLinks {
            links: ls,
            trade,
            owner,
            tally,
            fill,
            expected,
            ..
        } = links;
        let (ls, trade, owner) = (&ls[..], &*trade, &owner[..]);
        let learning = Learning {
            trade,
            owner,
            tally: Disjoint::new(tally),
            fill: Disjoint::new(fill),
            expected: Disjoint::new(expected),
            fill_step: (tick_days / params.buying.fill_memory_days).min(1.0),
            claim_step: (tick_days / params.planning.demand_smoothing_days).min(1.0),
        };
        let learning = &learning;
        let staging = Staging {
            routes: ls,
            recording,
            tick,
            td,
        };
        let staging = &staging;
        if params.parallel && !inv.check {
            let local = &scratch.clamped;
            buyers.par_iter_mut().batching_strategy(batching()).for_each_init(
                || local.borrow_local_mut(),
                // SAFETY: a buyer's links are its own, and only this buyer's delivery uses
                // them (one buyer per worker at a time).
                |c, mut inputs| unsafe { deliver(&mut inputs, rings, learning, staging, &mut *c, &mut |_, _| {}) },
            );
            clamped = scratch.clamped.iter_mut().map(std::mem::take).sum();
        } else {
            let clock = &*clock;
            for mut inputs in buyers.iter_mut() {
                // SAFETY: one thread.
                unsafe {
                    deliver(&mut inputs, rings, learning, staging, &mut clamped, &mut |st, a| {
                        check_lead_time(inv, clock, ls, trade, owner, st, a)
                    })
                };
            }
        }
    }
    inv.clamped += clamped;
}

/// What delivery learns from each link's tally of the day, as its buyer takes in what was
/// sent on it: the link's fill rate (filled ÷ ordered) moves towards the day's, smoothed by
/// `fill_step` = tick / `buying.fill_memory_days` (the supplier satisfaction of DisruptSC,
/// Colon et al. 2021, with memory), and the units ordered on it are smoothed into the buyer's
/// claim on the supplier by `claim_step` = tick / `planning.demand_smoothing_days`. A link
/// nobody ordered on keeps its fill rate, and its claim fades. Buyers order with both the next
/// day (`tick::procurement`). The tally, by trade index, is then cleared for the next day.
struct Learning<'a> {
    trade: &'a TradeIndex,
    owner: &'a [LinkOwner],
    tally: Disjoint<'a, LinkTally>,
    fill: Disjoint<'a, f64>,
    expected: Disjoint<'a, f64>,
    fill_step: f64,
    claim_step: f64,
}

impl Learning<'_> {
    /// Learns from trade index `t`'s tally and clears it; returns what was sent on it today.
    ///
    /// # Safety
    /// No other thread uses trade index `t` meanwhile.
    #[inline]
    unsafe fn learn(&self, t: usize) -> f64 {
        // SAFETY: the caller's promise.
        let (tally, fill, expected) = unsafe { (self.tally.get(t), self.fill.get(t), self.expected.get(t)) };
        if tally.ordered > 0.0 {
            let rate = (tally.filled / tally.ordered).min(1.0);
            *fill += self.fill_step * (rate - *fill);
        }
        *expected += self.claim_step * (tally.ordered - *expected);
        std::mem::take(tally).filled
    }
}

/// Where the goods each link sent today go: sending staged them (see [`InTransit::staged`]),
/// and delivery puts them into their lane's cell for the tick they are due as their buyer
/// takes in the day's goods, stamped (while departures are recorded) with the routes'
/// shortest transits, `td` days a tick.
struct Staging<'a> {
    routes: &'a [Link],
    recording: bool,
    tick: u32,
    td: u32,
}

impl Staging<'_> {
    /// Puts link `li`'s staged goods, `quantity` units (its tally's `filled`), into their
    /// cell, and clears the staging; goods into an empty cell are one more consignment on
    /// the lane's way. A link whose goods went in one by one ([`UNSTAGED`]) has only its
    /// staging cleared.
    ///
    /// # Safety
    /// No other thread uses link `li` or its lane meanwhile.
    #[inline]
    unsafe fn put(&self, rings: &SharedRings, li: usize, quantity: f64) {
        // SAFETY: the caller's promise, here and below.
        let ahead = unsafe { rings.take_staged(li) };
        if ahead == 0 || ahead == UNSTAGED {
            return;
        }
        let lane = rings.lane_of(li);
        let st = stamp(self.recording, self.routes, li as u32, self.tick, self.td);
        // (No branch on what the cell held: the cell is often not in cache yet, and a guess
        // at it would hold up the buyer's next links.)
        unsafe {
            let joined = rings.put(lane, u32::from(ahead), quantity, st);
            rings.add_flight(lane, i32::from(!joined));
        }
    }
}

/// Delivers one buyer's goods: per input, the goods due today in each of its lanes arrive
/// (into stock, out of in-transit; from abroad, into the input's imports of the day). Then
/// what was sent to it today on each link goes into its in-transit, and into the link's
/// lane's cell for the tick it is due (see [`Staging`]; goods sent today are due at the
/// earliest tomorrow, so never in the cell just emptied). Last, its count of consignments on
/// the way changes by its lanes' changes (goods into an empty cell, here or earlier in the
/// tick). When an input has nothing left on the way, what its in-transit still shows is
/// rounding and is set to zero; otherwise a rounding error below zero is (each counted in
/// `clamped`). `arrived` hears of every arrival whose departure was recorded (its stamp and
/// units), for the lead-time check.
///
/// Having taken in what was sent on each of its links today, the buyer learns from the
/// link's tally of the day (see [`Learning`]), which it then clears. A lane's goods go into
/// its cells in link order, as the buyer's links are laid out, so the cells' sums do not
/// depend on which worker delivers to which buyer.
///
/// # Safety
/// No other thread uses this buyer's links meanwhile.
unsafe fn deliver(
    inputs: &mut Inputs,
    rings: &SharedRings,
    learning: &Learning<'_>,
    staging: &Staging<'_>,
    clamped: &mut u64,
    arrived: &mut impl FnMut(Stamp, f64),
) {
    // The cells the buyer's goods of today go into are a dozen rows apart: ask for them all
    // before its arrivals are taken.
    for slot in &inputs.slots {
        let from = slot.links.0;
        for li in from as usize..(from + slot.traded) as usize {
            // SAFETY: the caller's promise (the links and lanes are this buyer's).
            let ahead = unsafe { rings.staged(li) };
            if ahead != 0 && ahead != UNSTAGED {
                rings.prefetch(unsafe { rings.cell(rings.lane_of(li), u32::from(ahead)) });
            }
        }
    }
    for slot in inputs.slots.iter_mut() {
        // Its links that are or have been suppliers: the others carry nothing.
        let from = slot.links.0;
        let range = from as usize..(from + slot.traded) as usize;
        slot.imported = 0.0;
        // The input's lanes (at most one from home and one from abroad), in link order.
        let mut lanes = [(NO_LANE, false); 2];
        for li in range.clone() {
            let lane = rings.lane_of(li);
            if lane == NO_LANE || lanes.iter().any(|&(l, _)| l == lane) {
                continue;
            }
            let o = learning.owner[slot.trade_at(li, learning.trade)];
            let free = lanes.iter().position(|&(l, _)| l == NO_LANE);
            let free = free.expect("an input has at most two lanes, from home and from abroad");
            lanes[free] = (lane, o.importer != o.exporter);
        }
        for &(lane, abroad) in lanes.iter().filter(|(l, _)| *l != NO_LANE) {
            // SAFETY: the buyer's links and lanes are its own, and only this buyer's delivery
            // uses them (one buyer per worker at a time), here and below.
            let (a, st) = unsafe { rings.take(lane) };
            if a == 0.0 {
                continue;
            }
            if st.left != NO_TICK {
                arrived(st, a);
            }
            if abroad {
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
        for li in range {
            let Some(t) = slot.trade_of(li, learning.trade) else {
                continue;
            };
            // SAFETY: the caller's promise (the link is this buyer's).
            let quantity = unsafe { learning.learn(t) };
            if quantity > 0.0 {
                slot.in_transit += quantity;
                slot.scale = slot.scale.max(slot.in_transit);
            }
            // Every link's staging is cleared, whatever its tally says (a corrupted quantity
            // must not leave goods staged for tomorrow's sending to find).
            unsafe { staging.put(rings, li, quantity) };
        }
        for &(lane, _) in lanes.iter().filter(|(l, _)| *l != NO_LANE) {
            let flight = unsafe { rings.take_flight(lane) };
            if flight != 0 {
                slot.in_flight = slot.in_flight.saturating_add_signed(i64::from(flight));
            }
        }
    }
}

/// The lead-time invariant, for goods arriving now that carry stamp `st`: the days since
/// they left (the supplier, or customs after a hold) are at least their route's shortest
/// transit, `days − jitter_days`. Of a cell's goods, the stamp kept is the one whose route
/// allows the latest arrival, so every consignment in the cell is checked by it.
fn check_lead_time(inv: &mut Invariants, clock: &Clock, links: &[Link], trade: &TradeIndex, owner: &[LinkOwner], st: Stamp, quantity: f64) {
    let (link, left) = (st.link as usize, st.left);
    let l = &links[link];
    let shortest = u64::from(l.days.saturating_sub(l.jitter_days));
    let elapsed = u64::from(clock.tick.saturating_sub(left)) * u64::from(clock.tick_days);
    if clock.tick >= left && elapsed >= shortest {
        return;
    }
    let owner = owner[trade.at(link)];
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
