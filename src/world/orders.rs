//! Orders: every firm's supplier links, and this tick's order book (the data; orders are placed
//! in `tick/procurement.rs`, filled in `tick/markets.rs`, turned into licence applications in
//! `tick/licensing.rs` and shipped in `tick/shipping.rs`).

use crate::world::firm::{Finished, Inputs, Plant};
use crate::world::network::Link;
use crate::world::prefetch::{AHEAD, prefetch};
use crate::world::trade_index::TradeIndex;
use bevy_ecs::prelude::*;
use bevy_utils::Parallel;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

/// Every firm's supplier links, in one flat list; a firm's input slot holds its range.
#[derive(Resource, Debug, Default)]
pub struct SupplyLinks {
    pub links: Vec<Link>,
    /// The approval share the buyer has learned for each link, in
    /// [`min_expected_approval`, 1]: 1 until a licence on the link is decided, then moved a
    /// step towards each decision's outcome (`buying.approval_learning`). It discounts what
    /// awaits a decision in the buyer's supply line and inflates what the buyer applies for.
    /// Empty (every link's 1) until licensing first has work ([`SupplyLinks::for_licensing`]);
    /// read it through [`SupplyLinks::approval`].
    ///
    /// [`min_expected_approval`]: crate::model::Buying::min_expected_approval
    pub approval: Vec<f64>,
    /// Units on each link applied for under licence (filed or batched for filing) and not yet
    /// decided: the part of the buyer's orders on licence that may still be refused. Empty
    /// (every link's 0) until licensing first has work; read it through
    /// [`SupplyLinks::pending`].
    pub pending: Vec<f64>,
    /// Whether each link is a supplier the buyer orders from, a candidate for supplier search
    /// (share 0: no orders), or a candidate being qualified.
    pub status: LinkStatuses,
    /// Each firm's capacity at the start, units per day, by firm index: a supplier qualified
    /// by search enters with its share by capacity among the buyer's suppliers.
    pub supplier_capacity: Vec<f64>,
    /// Where each link's trade state is: the lists below from `owner` to `wanted` are by trade
    /// index, kept only for links that are or have been suppliers (a candidate of supplier
    /// search gets its trade state when it is qualified, [`SupplyLinks::add_supplier`]).
    pub trade: TradeIndex,
    /// Whose input each link supplies, and the nations its goods leave and enter (shipments
    /// on the link carry only its link index).
    pub owner: Vec<LinkOwner>,
    /// The buyer's trust that each link delivers what is asked of it: its fill rate (units
    /// filled ÷ units ordered, licensed standing orders included), exponentially smoothed over
    /// `buying.fill_memory_days`; 1 until the supplier fails to fill.
    pub fill: Vec<f64>,
    /// Units per tick the buyer's orders on each link have reached its supplier, smoothed as
    /// suppliers smooth their orders (`planning.demand_smoothing_days`): the buyer's claim on
    /// the supplier when it cannot serve everyone.
    pub expected: Vec<f64>,
    /// Each link's part of its supplier's spare deliverable: its share of the supplier's sales
    /// at the start (equal parts for a supplier that sold nothing), so that the buyers of a
    /// supplier with room claim that room once between them, not once each.
    pub spare_share: Vec<f64>,
    /// Each link's purchase history: its deliveries (units filled by the supplier) per tick,
    /// exponentially smoothed over `selling.history_days`, starting at the link's steady
    /// flow. A `TurnAndEarn` supplier weighs its buyers by it. Kept only when some firm sells
    /// by `TurnAndEarn` (`track_history`); empty otherwise.
    pub history: Vec<f64>,
    pub track_history: bool,
    /// Units ordered on each link in the last tick and filled (sent), tallied by shipping as
    /// it goes through the book and reset each tick as buyers learn from them; side by side,
    /// as shipping writes both.
    pub tally: Vec<LinkTally>,
    /// Units each link's buyer orders on it today (the bits of an `f64`; 0 for no order),
    /// written by procurement and cleared as the book is built from it
    /// ([`OrderBook::build`]). Only a link's own buyer writes it, so buyers order in
    /// parallel without sharing anything; atomics make that visible to the compiler.
    pub wanted: Vec<AtomicU64>,
    /// Every link grouped by supplier (in link order within a supplier), and where each
    /// supplier's run starts (one more entry than suppliers): made when first needed
    /// ([`SupplyLinks::group_by_supplier`]), empty until then. Links never change supplier.
    pub by_supplier: Vec<u32>,
    pub supplier_from: Vec<u32>,
}

impl SupplyLinks {
    /// The approval share the buyer has learned for link `l` (see `approval`).
    #[inline]
    pub fn approval(&self, l: usize) -> f64 {
        if self.approval.is_empty() { 1.0 } else { self.approval[l] }
    }

    /// Units on link `l` awaiting a licence decision (see `pending`).
    #[inline]
    pub fn pending(&self, l: usize) -> f64 {
        if self.pending.is_empty() { 0.0 } else { self.pending[l] }
    }

    /// Gives link `l`, a candidate qualified by search that has never been a supplier, its
    /// trade state as a new supplier: fill rate 1, no smoothed orders, no part of the spare,
    /// nothing tallied or wanted, no purchase history. Returns its trade index.
    pub fn add_supplier(&mut self, l: usize, owner: LinkOwner) -> usize {
        let t = self.trade.add(l);
        self.owner.push(owner);
        self.fill.push(1.0);
        self.expected.push(0.0);
        self.spare_share.push(0.0);
        self.tally.push(LinkTally::default());
        self.wanted.push(AtomicU64::new(0));
        if self.track_history {
            self.history.push(0.0);
        }
        debug_assert_eq!(self.fill.len(), self.trade.len());
        t
    }

    /// Link `l`'s trade index, given it if it has none (see [`SupplyLinks::add_supplier`]);
    /// `owner` says whose it is.
    pub fn trade_of_supplier(&mut self, l: usize, owner: LinkOwner) -> usize {
        match self.trade.of(l) {
            Some(t) => t,
            None => self.add_supplier(l, owner),
        }
    }

    /// Whose input link `l` supplies, and the nations its goods leave and enter; `l` is or
    /// has been a supplier.
    #[inline]
    pub fn owner(&self, l: usize) -> LinkOwner {
        self.owner[self.trade.at(l)]
    }

    /// Allocates every link's learned approval (1) and units awaiting a decision (0) if they
    /// are not yet: licensing calls it before it first writes them. A world where no control
    /// is ever in force never pays their 16 bytes a link.
    pub fn for_licensing(&mut self) {
        if self.approval.len() != self.links.len() {
            self.approval = vec![1.0; self.links.len()];
            self.pending = vec![0.0; self.links.len()];
        }
    }

    /// The capacity at the start of link `l`'s supplier, units per day.
    #[inline]
    pub fn capacity(&self, l: usize) -> f64 {
        self.supplier_capacity[self.links[l].supplier as usize]
    }

    /// Groups the links by supplier (`by_supplier`, `supplier_from`) if they are not yet, by
    /// one counting pass over the links; a run that never needs it (no supplier newly
    /// qualified) never pays its 4 bytes a link. Returns where `supplier`'s links are in
    /// `by_supplier` (every status, in link order).
    pub fn group_by_supplier(&mut self, supplier: u32) -> std::ops::Range<usize> {
        if self.supplier_from.is_empty() {
            let firms = self.links.iter().map(|l| l.supplier as usize + 1).max().unwrap_or(0);
            let mut from = vec![0u32; firms + 1];
            for l in &self.links {
                from[l.supplier as usize + 1] += 1;
            }
            for i in 0..firms {
                from[i + 1] += from[i];
            }
            let mut at = from.clone();
            let mut by = vec![0u32; self.links.len()];
            for (k, l) in self.links.iter().enumerate() {
                let slot = &mut at[l.supplier as usize];
                by[*slot as usize] = k as u32;
                *slot += 1;
            }
            self.by_supplier = by;
            self.supplier_from = from;
        }
        let s = supplier as usize;
        match (self.supplier_from.get(s), self.supplier_from.get(s + 1)) {
            (Some(&a), Some(&b)) => a as usize..b as usize,
            _ => 0..0,
        }
    }
}

/// What a link carried in the last tick, units.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct LinkTally {
    /// Ordered on it (licensed standing orders included).
    pub ordered: f64,
    /// Filled by the supplier and sent.
    pub filled: f64,
}

/// Where each link stands in its buyer's supplier search, one byte a link: the tick at which a
/// link being qualified becomes a supplier is kept aside for the few links being qualified
/// (at 10^6 firms, 10 million links held their status in 84 MB as [`LinkStatus`]; in 10 MB so).
#[derive(Clone, Debug, Default)]
pub struct LinkStatuses {
    kind: Vec<StatusKind>,
    /// `ready_tick` of each link being qualified, by link.
    ready: BTreeMap<u32, u32>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum StatusKind {
    Active,
    Candidate,
    Qualifying,
}

impl LinkStatuses {
    /// Room for `n` links.
    pub fn with_capacity(n: usize) -> LinkStatuses {
        LinkStatuses {
            kind: Vec::with_capacity(n),
            ready: BTreeMap::new(),
        }
    }

    /// How many links have a status.
    pub fn len(&self) -> usize {
        self.kind.len()
    }

    pub fn is_empty(&self) -> bool {
        self.kind.is_empty()
    }

    /// The status of the next link.
    pub fn push(&mut self, status: LinkStatus) {
        self.kind.push(StatusKind::Active);
        self.set(self.kind.len() - 1, status);
    }

    /// Link `l`'s status.
    #[inline]
    pub fn get(&self, l: usize) -> LinkStatus {
        match self.kind[l] {
            StatusKind::Active => LinkStatus::Active,
            StatusKind::Candidate => LinkStatus::Candidate,
            StatusKind::Qualifying => LinkStatus::Qualifying {
                ready_tick: self.ready[&(l as u32)],
            },
        }
    }

    /// Whether link `l` is a supplier the buyer orders from (no look-up aside).
    #[inline]
    pub fn is_active(&self, l: usize) -> bool {
        self.kind[l] == StatusKind::Active
    }

    /// Sets link `l`'s status.
    pub fn set(&mut self, l: usize, status: LinkStatus) {
        self.kind[l] = match status {
            LinkStatus::Active => StatusKind::Active,
            LinkStatus::Candidate => StatusKind::Candidate,
            LinkStatus::Qualifying { .. } => StatusKind::Qualifying,
        };
        match status {
            LinkStatus::Qualifying { ready_tick } => self.ready.insert(l as u32, ready_tick),
            _ => self.ready.remove(&(l as u32)),
        };
    }

    /// Whether some link's qualification is complete by tick `tick` (it becomes a supplier
    /// when its buyer next adapts). Reads only the few links being qualified.
    pub fn any_ready_by(&self, tick: u32) -> bool {
        self.ready.values().any(|&r| r <= tick)
    }

    /// Every link's status, in link order.
    pub fn iter(&self) -> impl Iterator<Item = LinkStatus> + '_ {
        (0..self.kind.len()).map(|l| self.get(l))
    }

    /// Bytes held per link.
    pub const BYTES_PER_LINK: usize = size_of::<StatusKind>();
}

/// Where a link stands in its buyer's supplier search.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkStatus {
    /// A supplier the buyer orders from (its share may still be 0 only if it is a candidate).
    Active,
    /// A producer the buyer could qualify; share 0.
    Candidate,
    /// Being qualified; it becomes `Active` at the start of tick `ready_tick`. Share 0 until then.
    Qualifying { ready_tick: u32 },
}

/// What each supplier can deliver, published to its buyers each tick before they order (by
/// firm index; Acclimate's sellers publish their possible production in the same way): its
/// finished stock after the day's production plus what it can make the next day from its
/// capacity and input stocks, units.
#[derive(Resource, Debug, Default)]
pub struct SupplierBoard {
    /// Each supplier's offer, by firm index.
    pub offers: Vec<Offer>,
}

/// One supplier's offer on the board: what it can deliver and the claims on it, side by side,
/// as a buyer splitting an order reads both (one cache line, where two arrays cost two misses
/// per order at 10^6 firms).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Offer {
    /// Units it can deliver.
    pub deliverable: f64,
    /// What its buyers' orders have been, smoothed (its expected sales), units per tick: the
    /// claims on its deliverable.
    pub claims: f64,
}

impl Offer {
    /// What a supplier can deliver once today's production is done, units: its finished
    /// stock, plus what it can make tomorrow (its capacity, or less if its input stocks allow
    /// less). Orders beyond today's stock are rationed today, but they show the supplier the
    /// demand its spare capacity can meet: a bound on stock alone would hold a supplier with
    /// spare capacity at its old sales. Its claims are its expected sales.
    pub fn of(plant: &Plant, inputs: &Inputs, fin: &Finished) -> Offer {
        let makeable = inputs
            .slots
            .iter()
            .filter(|s| s.per_unit > 0.0)
            .map(|s| s.stock.max(0.0) / s.per_unit)
            .fold(plant.capacity, f64::min);
        Offer {
            deliverable: fin.stock.max(0.0) + makeable,
            claims: fin.expected_sales,
        }
    }
}

/// The buyer, input slot and commodity of a link, and the nations its goods leave and enter
/// (the supplier's and the buyer's), so that shipping reads one record per shipment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LinkOwner {
    pub buyer: u32,
    pub slot: u16,
    pub commodity: u16,
    pub exporter: u16,
    pub importer: u16,
}

/// `Order::licence` of an order not placed under a licence.
pub const NO_LICENCE: u32 = u32::MAX;

/// An order placed this tick. Orders live for one tick: what a supplier cannot fill is
/// cancelled, and the buyer orders again next tick from its lower stock position. What it
/// says besides its quantities is its link's terms in the book ([`OrderBook::terms`]).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Order {
    /// Where its terms are in the book ([`Terms::of`]).
    pub at: u32,
    /// Index of the live licence this order ships under, or [`NO_LICENCE`].
    pub licence: u32,
    /// Units ordered.
    pub quantity: f64,
    /// Units the supplier filled.
    pub filled: f64,
}

/// This tick's orders; the vector is reused every tick, so ordering allocates nothing once
/// it has grown to its working size.
#[derive(Resource, Default)]
pub struct OrderBook {
    pub orders: Vec<Order>,
    /// Each worker thread's scratch while buyers order in parallel; reused every tick, so
    /// ordering allocates nothing once grown.
    pub local: Parallel<BuyerScratch>,
    /// Every order's terms: first the links that may carry an order, in the book's order
    /// (see [`OrderBook::build`]), the list's `listed` entries; then the terms of orders added
    /// to the book after it was built (standing orders under licences, [`OrderBook::add`]),
    /// dropped as the book is built. One list, so that finding an order's terms is one
    /// index, not a choice between two lists.
    terms: Vec<Listed>,
    /// How many of `terms` are the list's.
    listed: usize,
    /// Scratch for the listing, reused likewise.
    counts: Vec<u32>,
    /// Where the list is cut into parts of whole suppliers ([`OrderBook::cut_list`]): the
    /// index in the list where each part starts, then the list's length.
    cuts: Vec<usize>,
    /// The first supplier of each part after the first: buyers count their orders by part
    /// ([`OrderBook::part_of`]), so that each part knows where its orders go in the book.
    part_from: Vec<u32>,
    /// How many orders each part takes, the part's first place in the book and how many it
    /// found (scratch of [`OrderBook::build`]).
    taken: Vec<usize>,
    /// Scratch for merging the orders added after the book was built into its order
    /// ([`OrderBook::merge_added`]).
    merged: Vec<Order>,
}

/// A link in the book's list: what an order on it says besides its quantities. An order
/// holds where its terms are, not a copy of them: at 10^6 firms, the 5.7 million orders of a
/// day took 275 MB with their terms copied in, 137 MB without; every pass over the book reads
/// the terms in the same order, as the list holds them.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Listed {
    /// The link's index.
    pub link: u32,
    /// Where its trade state is ([`SupplyLinks::trade`]): read for every order, so kept here
    /// rather than found again from the link each time.
    pub trade: u32,
    pub supplier: u32,
    /// Index of the input slot in the buyer's recipe (the buyer is the link's owner's,
    /// [`SupplyLinks::owner()`]).
    pub slot: u16,
    pub commodity: u16,
    /// The supplier's nation and the buyer's.
    pub exporter: u16,
    pub importer: u16,
    /// The link's transit days and their jitter (see [`Link`]).
    pub days: u16,
    pub jitter_days: u16,
}

/// Every order's terms in today's book: the list's, then those of orders added later.
#[derive(Clone, Copy, Debug)]
pub struct Terms<'a> {
    all: &'a [Listed],
}

impl<'a> Terms<'a> {
    /// The terms of order `o`.
    #[inline]
    pub fn of(&self, o: &Order) -> &'a Listed {
        &self.all[o.at as usize]
    }
}

/// One worker thread's share of procurement: how many links its buyers ordered on (by part of
/// the book), and the scratch for splitting one input's order across its links: ((link, trade
/// index), weight, cap, units).
#[derive(Debug, Default)]
pub struct BuyerScratch {
    /// Orders placed by this worker's buyers, by part of the book ([`OrderBook::part_of`]).
    pub placed: Vec<usize>,
    /// The links of every input of the buyer ordering, input after input.
    pub split: Vec<((u32, u32), f64, f64, f64)>,
    /// What the buyer ordering sums over each input's links, input by input.
    pub sums: Vec<InputSums>,
}

/// What a buyer sums over one input's supplier links as it orders (each sum in link order,
/// from -0.0), and where the input's links end in [`BuyerScratch::split`].
#[derive(Clone, Copy, Debug)]
pub struct InputSums {
    /// The share of its orders it expects delivered: Σ share × fill rate × expected delivered
    /// share.
    pub expected: f64,
    /// The share it sees coming under an announced control.
    pub seen_coming: f64,
    /// The share that needs a licence now.
    pub licensed: f64,
    /// Units awaiting a licence decision, at the risk of refusal it has learned.
    pub at_risk: f64,
    /// One past the input's last link in the split scratch.
    pub end: usize,
}

impl Default for InputSums {
    fn default() -> InputSums {
        InputSums {
            expected: -0.0,
            seen_coming: -0.0,
            licensed: -0.0,
            at_risk: -0.0,
            end: 0,
        }
    }
}

impl std::fmt::Debug for OrderBook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrderBook").field("orders", &self.orders).finish_non_exhaustive()
    }
}

impl OrderBook {
    /// Builds today's book from the units buyers want on each link (`links.wanted`, cleared as
    /// it is read), one order per link that has some, in the order of (supplier, buyer,
    /// link): the order in which suppliers fill them, and the book's order whatever worker
    /// placed what (a buyer's links are numbered by its input slots, so this is (supplier,
    /// buyer, slot) too). Grouping orders by supplier through a list of links kept from tick
    /// to tick costs one pass, where sorting the day's orders cost two (issue 11).
    ///
    /// The list holds the links with a share of their buyer's orders, cut into parts of whole
    /// suppliers ([`OrderBook::cut_list`]); `placed` is how many orders the buyers placed in
    /// each part. Each part takes its orders into its own place in the book, on every core
    /// when `parallel`, so the book is the same whatever the parts. When a part comes out
    /// shorter, some link carries an order for the first time (a supplier newly qualified by
    /// search): what was taken goes back, and the list is made again from the links' shares
    /// and wants before the book is built again.
    pub fn build(&mut self, links: &mut SupplyLinks, placed: &[usize], parallel: bool) {
        let total: usize = placed.iter().sum();
        self.terms.truncate(self.listed);
        if placed.len() + 1 == self.cuts.len() {
            if self.take_orders(links, placed, parallel) {
                return;
            }
            // Some link carries an order for the first time: what was taken goes back.
            let mut from = 0;
            for (&found, &n) in self.taken.iter().zip(placed) {
                for o in &self.orders[from..from + found.min(n)] {
                    let t = self.terms[o.at as usize].trade as usize;
                    links.wanted[t].store(o.quantity.to_bits(), Ordering::Relaxed);
                }
                from += n;
            }
        }
        // The book is built again from a new list, in one part.
        self.list(links);
        self.cut_list(1);
        assert!(self.take_orders(links, &[total], false), "every order placed is in the book");
    }

    /// Cuts the list of links into `parts` parts of whole suppliers, about equal in links (fewer
    /// parts when there are fewer suppliers), for [`OrderBook::build`] to take on every core.
    /// Call it before buyers order, and count each order in the part of its supplier
    /// ([`OrderBook::part_of`] with [`OrderBook::part_from`]).
    pub fn cut_list(&mut self, parts: usize) {
        let listed = &self.terms[..self.listed];
        let n = listed.len();
        self.cuts.clear();
        self.part_from.clear();
        self.cuts.push(0);
        for k in 1..parts.max(1) {
            let mut at = (n * k / parts).max(self.cuts[self.cuts.len() - 1]);
            while at < n && at > 0 && listed[at].supplier == listed[at - 1].supplier {
                at += 1;
            }
            if at == 0 || at >= n || at == self.cuts[self.cuts.len() - 1] {
                continue;
            }
            self.cuts.push(at);
            self.part_from.push(listed[at].supplier);
        }
        self.cuts.push(n);
    }

    /// The first supplier of each part after the first (see [`OrderBook::cut_list`]).
    pub fn part_from(&self) -> &[u32] {
        &self.part_from
    }

    /// The part of the book (see [`OrderBook::cut_list`]) that holds the orders to `supplier`;
    /// `part_from` is [`OrderBook::part_from`].
    #[inline]
    pub fn part_of(part_from: &[u32], supplier: u32) -> usize {
        part_from.iter().take_while(|&&s| s <= supplier).count()
    }

    /// Takes the orders of every listed link with units wanted, part by part into its place in
    /// the book (part k's orders after the `placed` of the parts before it), on every core when
    /// `parallel` and there are several parts; clears what it takes. Returns whether every part
    /// found the orders its buyers placed (it finds fewer when an order is on a link not
    /// listed).
    fn take_orders(&mut self, links: &SupplyLinks, placed: &[usize], parallel: bool) -> bool {
        let total: usize = placed.iter().sum();
        // Every place is written below when every part finds its orders; the stale orders
        // resizing keeps are never read otherwise.
        self.orders.resize(total, Order::default());
        self.taken.clear();
        self.taken.resize(placed.len(), 0);
        let wanted = &links.wanted;
        let (listed, cuts) = (&self.terms[..self.listed], &self.cuts);
        if !parallel || placed.len() == 1 {
            let mut rest = &mut self.orders[..];
            for (k, w) in cuts.windows(2).enumerate() {
                let (mine, after) = std::mem::take(&mut rest).split_at_mut(placed[k]);
                rest = after;
                self.taken[k] = take_part(&listed[w[0]..w[1]], w[0], mine, wanted);
            }
        } else {
            bevy_tasks::ComputeTaskPool::get().scope(|s| {
                let mut rest = &mut self.orders[..];
                for ((k, w), taken) in cuts.windows(2).enumerate().zip(self.taken.iter_mut()) {
                    let (mine, after) = std::mem::take(&mut rest).split_at_mut(placed[k]);
                    rest = after;
                    let (listed, from) = (&listed[w[0]..w[1]], w[0]);
                    s.spawn(async move { *taken = take_part(listed, from, mine, wanted) });
                }
            });
        }
        self.taken == placed
    }

    /// Lists the links with a share or units wanted by supplier, in link order within a
    /// supplier (one stable counting pass over the links, which are numbered buyer by buyer).
    fn list(&mut self, links: &mut SupplyLinks) {
        let firms = links.links.iter().map(|l| l.supplier as usize + 1).max().unwrap_or(0);
        // (A link without trade state has no share and wants nothing.)
        let listed = |l: usize, links: &mut SupplyLinks| {
            links.links[l].share > 0.0 || links.trade.of(l).is_some_and(|t| *links.wanted[t].get_mut() != 0)
        };
        self.counts.clear();
        self.counts.resize(firms + 1, 0);
        let mut n = 0;
        for l in 0..links.links.len() {
            if listed(l, links) {
                self.counts[links.links[l].supplier as usize + 1] += 1;
                n += 1;
            }
        }
        for i in 0..firms {
            self.counts[i + 1] += self.counts[i];
        }
        self.terms.clear();
        self.terms.resize(n, Listed::default());
        self.listed = n;
        for l in 0..links.links.len() {
            if listed(l, links) {
                let (supplier, t) = (links.links[l].supplier, links.trade.at(l));
                let o = links.owner[t];
                let at = &mut self.counts[supplier as usize];
                self.terms[*at as usize] = Listed {
                    link: l as u32,
                    trade: t as u32,
                    supplier,
                    slot: o.slot,
                    commodity: o.commodity,
                    exporter: o.exporter,
                    importer: o.importer,
                    days: links.links[l].days,
                    jitter_days: links.links[l].jitter_days,
                };
                *at += 1;
            }
        }
    }

    /// Cuts the book's `orders` into `parts` runs of whole suppliers, near equal in orders, for
    /// passes that run on every core: `cuts` gets the first order of each part, then the
    /// book's length. A supplier's orders are in one part, and so are its links' (a link has
    /// one supplier): parts never share a supplier or a link.
    pub fn cut_by_supplier(orders: &[Order], terms: Terms<'_>, parts: usize, cuts: &mut Vec<usize>) {
        let n = orders.len();
        let supplier = |k: usize| terms.of(&orders[k]).supplier;
        cuts.clear();
        cuts.push(0);
        for k in 1..parts {
            let mut at = (n * k / parts).max(*cuts.last().expect("a cut"));
            while at < n && at > 0 && supplier(at) == supplier(at - 1) {
                at += 1;
            }
            cuts.push(at);
        }
        cuts.push(n);
    }

    /// The links listed for the book (see [`OrderBook::build`]).
    pub fn listed_links(&self) -> usize {
        self.listed
    }

    /// Every order's terms ([`Terms::of`]).
    pub fn terms(&self) -> Terms<'_> {
        Terms { all: &self.terms }
    }

    /// The orders to change, with every order's terms.
    pub fn orders_and_terms(&mut self) -> (&mut Vec<Order>, Terms<'_>) {
        (&mut self.orders, Terms { all: &self.terms })
    }

    /// How many orders were added to today's book after it was built (standing orders under
    /// licences, [`OrderBook::add`]): the only orders that can ship under a licence, so a book
    /// with none has nothing to settle against licences.
    pub fn added_orders(&self) -> usize {
        self.terms.len() - self.listed
    }

    /// Adds an order of `quantity` under live licence `licence` on a link with these terms,
    /// after the book was built (a standing order under a licence).
    pub fn add(&mut self, terms: Listed, quantity: f64, licence: u32) {
        self.orders.push(Order {
            at: self.terms.len() as u32,
            licence,
            quantity,
            filled: 0.0,
        });
        self.terms.push(terms);
    }

    /// Drops the orders left with nothing and puts the orders added since the book was built
    /// (from index `added` on: standing orders under licences, [`OrderBook::add`]) in their
    /// places, so that the book is in the order of (supplier, buyer, slot, licence), with the
    /// orders under no licence ([`NO_LICENCE`]) last of their slot's. `buyer` is a link's
    /// buyer, from its terms. The orders built keep their order, which is already that
    /// (see [`OrderBook::build`]); only the added ones are sorted, then the two runs are
    /// merged: one pass over the book, where sorting it all took a third of a policy
    /// world's licensing.
    pub fn merge_added(&mut self, added: usize, buyer: impl Fn(&Listed) -> u32) {
        let terms = Terms { all: &self.terms };
        let key = |o: &Order| {
            let t = terms.of(o);
            (t.supplier, buyer(t), t.slot, o.licence)
        };
        let orders = &mut self.orders;
        let added = added.min(orders.len());
        let keep = |orders: &mut Vec<Order>, range: std::ops::Range<usize>, mut to: usize| {
            for k in range {
                if orders[k].quantity > 0.0 {
                    orders[to] = orders[k];
                    to += 1;
                }
            }
            to
        };
        let first_added = keep(orders, 0..added, 0);
        let kept = keep(orders, added..orders.len(), first_added);
        orders.truncate(kept);
        if first_added == kept {
            return;
        }
        let (built, new) = orders.split_at_mut(first_added);
        debug_assert!(built.windows(2).all(|w| key(&w[0]) <= key(&w[1])), "the book was built in order");
        new.sort_unstable_by_key(key);
        let merged = &mut self.merged;
        merged.clear();
        merged.reserve(built.len() + new.len());
        let (mut i, mut j) = (0, 0);
        while i < built.len() && j < new.len() {
            if key(&new[j]) < key(&built[i]) {
                merged.push(new[j]);
                j += 1;
            } else {
                merged.push(built[i]);
                i += 1;
            }
        }
        merged.extend_from_slice(&built[i..]);
        merged.extend_from_slice(&new[j..]);
        std::mem::swap(orders, merged);
    }
}

/// Takes the orders of one part of the list into `out`, in list order: every link with units
/// wanted, its want cleared. Returns how many it found; finding more than `out` holds, it
/// leaves the rest untaken and returns `out.len() + 1`.
fn take_part(listed: &[Listed], from: usize, out: &mut [Order], wanted: &[AtomicU64]) -> usize {
    let mut n = 0;
    for (i, e) in listed.iter().enumerate() {
        if let Some(next) = listed.get(i + AHEAD) {
            prefetch(wanted, next.trade as usize);
        }
        let t = e.trade as usize;
        // A link is in one part only: its buyer wrote it before the book is built, and only
        // this part reads and clears it.
        let bits = wanted[t].load(Ordering::Relaxed);
        if bits == 0 {
            continue;
        }
        let Some(slot) = out.get_mut(n) else {
            return n + 1;
        };
        wanted[t].store(0, Ordering::Relaxed);
        *slot = Order {
            at: (from + i) as u32,
            licence: NO_LICENCE,
            quantity: f64::from_bits(bits),
            filled: 0.0,
        };
        n += 1;
    }
    n
}

#[cfg(test)]
mod tests {
    use super::{LinkOwner, OrderBook, SupplyLinks};
    use crate::world::network::Link;
    use std::sync::atomic::{AtomicU64, Ordering};

    /// Links numbered buyer by buyer, as the world builds them: (buyer, slot, supplier, share).
    fn links(spec: &[(u32, u16, u32, f64)]) -> SupplyLinks {
        let mut links = SupplyLinks::default();
        for &(buyer, slot, supplier, share) in spec {
            links.links.push(Link {
                supplier,
                share,
                days: 1,
                jitter_days: 0,
            });
            links.owner.push(LinkOwner {
                buyer,
                slot,
                commodity: slot,
                exporter: 0,
                importer: 0,
            });
            links.wanted.push(AtomicU64::new(0));
            links.trade.push(true);
        }
        links
    }

    fn want(links: &SupplyLinks, link: usize, q: f64) {
        links.wanted[link].store(q.to_bits(), Ordering::Relaxed);
    }

    #[test]
    fn an_order_is_24_bytes_and_its_terms_in_the_list_24() {
        // At 10^6 firms a day's 5.7 million orders and the list's entries are read by every
        // pass over the book: 4 bytes more in either is 23 MB more of the run's peak.
        assert_eq!((size_of::<super::Order>(), size_of::<super::Listed>()), (24, 24));
    }

    #[test]
    fn links_grouped_by_supplier_are_each_suppliers_own_in_link_order() {
        let mut l = links(&[(0, 0, 2, 0.5), (0, 0, 1, 0.5), (1, 0, 2, 1.0), (2, 0, 0, 1.0), (2, 1, 2, 1.0)]);
        assert!(l.by_supplier.is_empty(), "not made until asked for");
        let r = l.group_by_supplier(2);
        assert_eq!(l.by_supplier[r].to_vec(), vec![0, 2, 4]);
        let r = l.group_by_supplier(1);
        assert_eq!(l.by_supplier[r].to_vec(), vec![1]);
        let r = l.group_by_supplier(0);
        assert_eq!(l.by_supplier[r].to_vec(), vec![3]);
        assert!(l.group_by_supplier(9).is_empty(), "a firm that supplies nobody");
        assert_eq!(l.by_supplier.len(), 5, "every link once");
    }

    #[test]
    fn the_book_is_in_the_order_of_supplier_buyer_and_slot_and_takes_every_order_once() {
        // Buyers 0, 1 and 2; suppliers 7, 8 and 9; link 5 is a candidate (no share).
        let mut links = links(&[
            (0, 0, 9, 0.5),
            (0, 0, 8, 0.5),
            (0, 1, 7, 1.0),
            (1, 0, 8, 1.0),
            (2, 0, 9, 1.0),
            (2, 0, 7, 0.0),
        ]);
        let mut book = OrderBook::default();
        for (l, q) in [(0, 1.0), (1, 2.0), (2, 3.0), (3, 4.0), (4, 5.0)] {
            want(&links, l, q);
        }
        book.build(&mut links, &[5], false);
        let t = book.terms();
        let got: Vec<_> = book
            .orders
            .iter()
            .map(|o| {
                (
                    t.of(o).supplier,
                    links.owner(t.of(o).link as usize).buyer,
                    t.of(o).slot,
                    t.of(o).link,
                    o.quantity,
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (7, 0, 1, 2, 3.0),
                (8, 0, 0, 1, 2.0),
                (8, 1, 0, 3, 4.0),
                (9, 0, 0, 0, 1.0),
                (9, 2, 0, 4, 5.0)
            ]
        );
        assert_eq!(book.listed_links(), 5, "the candidate is not listed");
        assert!(links.wanted.iter().all(|w| w.load(Ordering::Relaxed) == 0), "wants are taken");

        // A link without orders today gets none; the candidate, qualified, gets its first
        // order: the list is made again and the book keeps its order.
        want(&links, 0, 1.5);
        want(&links, 5, 6.0);
        want(&links, 4, 2.5);
        book.build(&mut links, &[3], false);
        let t = book.terms();
        let got: Vec<_> = book
            .orders
            .iter()
            .map(|o| (t.of(o).supplier, links.owner(t.of(o).link as usize).buyer, t.of(o).link, o.quantity))
            .collect();
        assert_eq!(got, vec![(7, 2, 5, 6.0), (9, 0, 0, 1.5), (9, 2, 4, 2.5)]);
        assert_eq!(book.listed_links(), 6);

        // No orders: an empty book.
        book.build(&mut links, &[0], false);
        assert!(book.orders.is_empty());
    }

    #[test]
    fn a_book_taken_in_parts_on_every_core_is_the_book_taken_whole() {
        bevy_tasks::ComputeTaskPool::get_or_init(bevy_tasks::TaskPool::default);
        // Suppliers 7, 8 and 9 with 2, 2 and 3 links.
        let spec = [
            (0, 0, 9, 0.5),
            (0, 0, 8, 0.5),
            (0, 1, 7, 1.0),
            (1, 0, 8, 1.0),
            (2, 0, 9, 0.5),
            (2, 0, 7, 0.5),
            (3, 0, 9, 1.0),
        ];
        let wants = [(0, 1.0), (1, 2.0), (2, 3.0), (4, 5.0), (5, 6.0), (6, 7.0)];
        let mut whole = (links(&spec), OrderBook::default());
        let mut cut = (links(&spec), OrderBook::default());
        for (links, book) in [&mut whole, &mut cut] {
            book.build(links, &[0], false);
            assert_eq!(book.listed_links(), 7);
        }
        // Three parts, cut between suppliers: 7 | 8 | 9.
        cut.1.cut_list(3);
        assert_eq!(cut.1.part_from(), &[8, 9]);
        assert_eq!(cut.1.cuts, vec![0, 2, 4, 7]);
        assert_eq!([7, 8, 9].map(|s| OrderBook::part_of(cut.1.part_from(), s)), [0, 1, 2]);
        // Two parts: no supplier is split, so the cut moves to the end of supplier 8's links.
        cut.1.cut_list(2);
        assert_eq!(cut.1.part_from(), &[9]);
        for (l, q) in wants {
            want(&whole.0, l, q);
            want(&cut.0, l, q);
        }
        whole.1.build(&mut whole.0, &[6], false);
        // Supplier 7 and 8 have 2 + 1 orders, supplier 9 has 3.
        cut.1.build(&mut cut.0, &[3, 3], true);
        assert_eq!(whole.1.orders, cut.1.orders);
        assert_eq!(whole.1.terms, cut.1.terms, "orders point at the same terms");
        assert_eq!(cut.1.cuts, vec![0, 4, 7], "the cut held: no list made again");
        assert!(cut.0.wanted.iter().all(|w| w.load(Ordering::Relaxed) == 0), "wants are taken");

        // A part that finds fewer orders than were placed in it (link 3 lost its share and
        // left the list, but gets an order): what was taken goes back and the book is made
        // from a new list, the same as one made whole.
        for (links, book) in [&mut whole, &mut cut] {
            links.links[3].share = 0.0;
            book.build(links, &[0], false);
            book.cut_list(2);
        }
        assert_eq!(cut.1.listed_links(), 6);
        for (l, q) in [(0, 1.0), (3, 4.0), (6, 7.0)] {
            want(&whole.0, l, q);
            want(&cut.0, l, q);
        }
        whole.1.build(&mut whole.0, &[3], false);
        cut.1.build(&mut cut.0, &[1, 2], true);
        assert_eq!(whole.1.orders, cut.1.orders);
        assert_eq!(whole.1.terms, cut.1.terms, "orders point at the same terms");
        assert_eq!(cut.1.orders.len(), 3);
        assert!(cut.0.wanted.iter().all(|w| w.load(Ordering::Relaxed) == 0), "wants are taken");
    }
}
