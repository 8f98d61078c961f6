//! Procurement (tick step 3): buyers learn how well each supplier delivered, suppliers publish
//! what they can deliver, and buyers order by the stock-and-supply-line rule, split across
//! their suppliers by what each is expected to deliver and capped by what it can.

use crate::model::policy::PRECAUTION_PRICE_FROM;
use crate::model::{Allocation, Buying};
use crate::world::clock::Clock;
use crate::world::firm::{Finished, FirmIndex, InputSlot, Inputs, Plant, Production};
use crate::world::orders::{BuyerScratch, InputSums, LinkOwner, LinkStatus, Offer, OrderBook, SupplierBoard, SupplyLinks};
use crate::world::params::Params;
use crate::world::policy::PolicyState;
use crate::world::prefetch::prefetch;
use crate::world::prices::PriceBook;
use crate::world::registry::Registry;
use crate::world::workers::batching;
use bevy_ecs::prelude::*;
use bevy_utils::Parallel;
use std::sync::atomic::Ordering;

/// What procurement reads of every firm: as a buyer (its inputs and plan; its precaution
/// changes) and as a supplier (what it holds and can make).
type BuyingFirm<'a> = (&'a FirmIndex, &'a Plant, &'a mut Inputs, &'a Production, &'a Finished);

/// The buyers whose links may change this tick (see `needs_adapting`), found by each worker,
/// then in index order; kept from tick to tick.
#[derive(Default)]
pub struct Adapting {
    local: Parallel<Vec<u32>>,
    which: Vec<u32>,
}

impl Adapting {
    /// The buyers every worker flagged since the last call, in index order (the workers'
    /// lists are emptied).
    fn flagged(&mut self) -> &[u32] {
        self.which.clear();
        for l in self.local.iter_mut() {
            self.which.append(l);
        }
        self.which.sort_unstable();
        &self.which
    }
}

/// A firm as procurement's read-only passes see it.
type BuyingItem<'a> = (&'a FirmIndex, &'a Plant, &'a Inputs, &'a Production, &'a Finished);

/// Each buyer has learned from yesterday's orders when yesterday's goods were delivered
/// (`tick::shipping`): every link's fill rate (filled ÷ ordered), smoothed over
/// `buying.fill_memory_days` (the supplier satisfaction of DisruptSC, Colon et al. 2021, with
/// memory), and its claim on the supplier, the units it ordered on the link, smoothed. Each
/// supplier has published what it can deliver at the end of production (`Offer::of`: its
/// finished stock plus what it can make tomorrow from its capacity and input stocks;
/// Acclimate's sellers publish their possible production, Otto et al. 2017).
///
/// Each firm then orders, for each input, its expected use plus a share of the gap between its
/// target position and its position (the stock-and-supply-line rule of Sterman's *Business
/// Dynamics*, ch. 17). The target position is expected use over its cover days, the mean
/// transit time and the licence wait it has learned to expect; the position is stock on hand,
/// goods in transit, quantities licensed and not yet shipped, and quantities awaiting a licence
/// decision counted at the approval share the buyer has learned for their line (a supply line
/// discounted by its expected yield, ch. 18: what may be refused is not counted as coming).
/// The share closed per tick is `tick_days / planning.stock_adjust_days`; closing only part of
/// the gap each tick keeps small swings in final demand from growing into large swings
/// upstream (the bullwhip effect of full order-up-to buying). The cover days are multiplied by
/// the input's precaution h, which first moves towards 1 + `buying.precaution_cover` × the
/// scarcity the buyer perceives ([`scarcity`]): up over `precaution_up_days`, down over
/// `precaution_relax_days`.
///
/// The order is split across suppliers in proportion to share × fill rate × expected delivered
/// share × (1 + tariff)^(−tariff_sensitivity), where the expected delivered share of a line is
/// 1 − x + x × learned approval for the share x of an order that needs a licence. (Buyers pay
/// their own region's price whoever sells, so a buyer's suppliers differ in cost by the tariff.)
/// No supplier is asked for more than `overask_limit` × what it can deliver to this buyer (its
/// share, by past orders, of its deliverable when it is oversubscribed; its own orders plus its
/// part of the spare otherwise, by its share of the supplier's sales at the start): the rest goes to the buyer's other suppliers with room, in proportion to
/// their weights, and only when none has room is anyone asked for more.
#[allow(clippy::too_many_arguments)]
pub fn place_orders(
    mut firms: Query<BuyingFirm>,
    mut links: ResMut<SupplyLinks>,
    board: Res<SupplierBoard>,
    registry: Res<Registry>,
    policy: Res<PolicyState>,
    prices: Res<PriceBook>,
    clock: Res<Clock>,
    params: Res<Params>,
    mut book: ResMut<OrderBook>,
    mut adapting: Local<Adapting>,
    mut placed: Local<Vec<usize>>,
) {
    // Adapting changes only the buyer's own links and inputs, except on a day when a
    // candidate's qualification completes: the new supplier then takes part of its supplier's
    // spare from that supplier's other buyers (`take_part_of_spare`), which they read when
    // they order. So on other days each buyer is asked whether it needs to adapt
    // (`needs_adapting`) in the pass that orders, from the sums it orders by
    // (`Purchasing::order`): one that need not orders at once, with its inputs and links at
    // hand, and the flagged ones order after they adapt (in index order).
    // On a day when a qualification completes, every buyer is asked first, the flagged adapt,
    // and then all order. Either way each buyer orders on the state it would see if every
    // adaptation came before every order.
    let search = params.buying.search_below > 0.0;
    let (tick, td, below) = (clock.tick, clock.tick_days, params.buying.search_below);
    let adapt_first = search && (params.adapt_first || links.status.any_ready_by(tick));
    let flag_in_pass = search && !adapt_first;
    // On a day when no licence can be needed or seen coming, buyers do not ask the regimes
    // link by link (see `PolicyState::unlicensed`).
    let quiet = policy.unlicensed();
    if adapt_first {
        let (shared, nation) = (&*links, &registry.nation[..]);
        let visit = |(idx, plant, inputs, _, _): BuyingItem<'_>, list: &mut Vec<u32>| {
            if needs_adapting(plant, inputs, shared, nation, &policy, tick, td, below) {
                list.push(idx.0);
            }
        };
        if params.parallel {
            firms
                .par_iter()
                .batching_strategy(batching())
                .for_each_init(|| adapting.local.borrow_local_mut(), |l, firm| visit(firm, l));
        } else {
            let list = &mut *adapting.local.borrow_local_mut();
            firms.iter().for_each(|firm| visit(firm, list));
        }
        let which = adapting.flagged();
        adapt_links(&mut firms, which, &mut links, &registry, &policy, &clock, &params.buying);
    }
    let book = &mut *book;
    // The book is taken in parts of whole suppliers, one per worker (see `OrderBook::build`);
    // buyers count their orders by part. (Not cut finer, as `workers::pieces` cuts: every
    // order looks up its part, and at 10^6 firms 32 parts made ordering slower.)
    let workers = if params.parallel {
        bevy_tasks::ComputeTaskPool::get().thread_num().max(1)
    } else {
        1
    };
    book.cut_list(workers);
    let parts = book.part_from().len() + 1;
    // Each buyer orders on its own (it reads the links, suppliers and prices, and changes only
    // its own inputs and what it wants on its own links), so buyers order in parallel; the
    // book is then built in one order whatever worker placed what (`OrderBook::build`).
    let purchasing = Purchasing::new(&board, &registry, &policy, &prices, &clock, &params, book.part_from(), parts, quiet);
    {
        let shared = &*links;
        let visit = |firm: bevy_ecs::query::QueryItem<'_, '_, BuyingFirm>, scratch: &mut BuyerScratch, list: &mut Vec<u32>| {
            let (idx, plant, inputs, prod, _) = firm;
            if !purchasing.order(shared, plant, inputs, prod, scratch, flag_in_pass) {
                list.push(idx.0);
            }
        };
        if params.parallel {
            let (local, lists) = (&book.local, &adapting.local);
            firms.par_iter_mut().batching_strategy(batching()).for_each_init(
                || (local.borrow_local_mut(), lists.borrow_local_mut()),
                |(scratch, list), firm| visit(firm, scratch, list),
            );
        } else {
            let scratch = &mut *book.local.borrow_local_mut();
            let list = &mut *adapting.local.borrow_local_mut();
            firms.iter_mut().for_each(|firm| visit(firm, scratch, list));
        }
    }
    if flag_in_pass {
        let which = adapting.flagged();
        if !which.is_empty() {
            adapt_links(&mut firms, which, &mut links, &registry, &policy, &clock, &params.buying);
            let scratch = &mut *book.local.borrow_local_mut();
            for &f in which {
                let Ok((_, plant, inputs, prod, _)) = firms.get_mut(registry.entity[f as usize]) else {
                    continue;
                };
                purchasing.order(&links, plant, inputs, prod, scratch, false);
            }
        }
    }
    // A fixed order, whatever the order in which the ECS visited the firms and whichever
    // worker placed them: by supplier, then buyer, then slot.
    placed.clear();
    placed.resize(parts, 0);
    for l in book.local.iter_mut() {
        for (sum, n) in placed.iter_mut().zip(l.placed.iter_mut()) {
            *sum += std::mem::take(n);
        }
    }
    book.build(&mut links, &placed, params.parallel);
}

/// What a buyer reads when it orders (see [`place_orders`]), besides the links (which
/// adapting may change between two buyers' orders): the supplier board, policy and prices, and
/// the day's parameters.
struct Purchasing<'a> {
    board: &'a SupplierBoard,
    registry: &'a Registry,
    policy: &'a PolicyState,
    prices: &'a PriceBook,
    buying: &'a Buying,
    /// The first supplier of each part of the book after the first, and the number of parts.
    part_from: &'a [u32],
    parts: usize,
    tick: u32,
    td: u32,
    tick_days: f64,
    /// The share of the gap to the target position closed in a tick.
    adjust: f64,
    /// The steps of precaution up and down in a tick.
    up: f64,
    relax: f64,
    /// No licence can be needed or seen coming today (`PolicyState::unlicensed`): buyers
    /// skip asking the regimes link by link.
    unlicensed: bool,
    /// No tariff is set on any trade: every link's landed-cost term is 1.
    untaxed: bool,
}

impl<'a> Purchasing<'a> {
    #[allow(clippy::too_many_arguments)]
    fn new(
        board: &'a SupplierBoard,
        registry: &'a Registry,
        policy: &'a PolicyState,
        prices: &'a PriceBook,
        clock: &Clock,
        params: &'a Params,
        part_from: &'a [u32],
        parts: usize,
        unlicensed: bool,
    ) -> Purchasing<'a> {
        let tick_days = f64::from(clock.tick_days);
        let buying = &params.buying;
        Purchasing {
            board,
            registry,
            policy,
            prices,
            buying,
            part_from,
            parts,
            tick: clock.tick,
            td: clock.tick_days,
            tick_days,
            adjust: (tick_days / params.planning.stock_adjust_days).min(1.0),
            up: (tick_days / buying.precaution_up_days).min(1.0),
            relax: (tick_days / buying.precaution_relax_days).min(1.0),
            unlicensed,
            untaxed: policy.untaxed(),
        }
    }

    /// A link's landed-cost term in its weight (the weight is base share × fill rate ×
    /// expected delivered share × this), for trade index `t`. Buyers pay their own region's
    /// price whoever sells (as customs values imports), so a buyer's suppliers differ in landed
    /// cost by the tariff only.
    #[inline]
    fn landed(&self, links: &SupplyLinks, t: usize, importer: u16, commodity: u16) -> f64 {
        if self.untaxed {
            return 1.0;
        }
        let exporter = links.owner[t].exporter;
        let tariff = if exporter == importer {
            0.0
        } else {
            self.policy.tariff(importer, exporter, commodity)
        };
        let sensitivity = self.buying.tariff_sensitivity;
        if tariff > 0.0 && sensitivity > 0.0 {
            (1.0f64 + tariff).powf(-sensitivity)
        } else {
            1.0
        }
    }

    /// What the supplier of link `li` (trade index `t`) can deliver to this buyer per tick,
    /// times the overask limit: its share of the supplier's deliverable by the buyer's past
    /// orders when the supplier is oversubscribed, else the buyer's own orders plus its part
    /// of the supplier's spare.
    #[inline]
    fn cap(&self, links: &SupplyLinks, li: u32, t: usize) -> f64 {
        let s = links.links[li as usize].supplier as usize;
        let Offer { deliverable, claims } = self.board.offers[s];
        let own = links.expected[t];
        let fair = if claims >= deliverable && claims > 0.0 {
            deliverable * own / claims
        } else {
            own + (deliverable - claims) * links.spare_share[t]
        };
        self.buying.overask_limit * fair
    }

    /// One buyer orders each of its inputs (see [`place_orders`]): it writes what it wants on
    /// its own links and counts its orders by part of the book in `local`.
    ///
    /// With `ask_adapt`, it first asks whether it needs to adapt its links today (see
    /// [`needs_adapting`]), from the same pass over its links that its orders are split
    /// from, before it changes anything: if it does, it orders nothing and returns false (it
    /// orders once it has adapted). Otherwise it returns true.
    fn order(
        &self,
        links: &SupplyLinks,
        plant: &Plant,
        mut inputs: Mut<'_, Inputs>,
        prod: &Production,
        local: &mut BuyerScratch,
        ask_adapt: bool,
    ) -> bool {
        let (board, policy, buying) = (self.board, self.policy, self.buying);
        let (tick, td, tick_days, adjust) = (self.tick, self.td, self.tick_days, self.adjust);
        let BuyerScratch {
            placed,
            split: entries,
            sums,
            ..
        } = local;
        entries.clear();
        sums.clear();
        for s in &inputs.slots {
            let (from, traded) = (s.links.0, s.traded);
            // One pass over the input's links that are or have been suppliers (sums in link
            // order, each from -0.0 as `sum` does): the share it expects delivered (share ×
            // fill rate × the part not refused a licence), the share it sees coming under an
            // announced control, the share that needs a licence now, and what awaits a
            // decision at the risk of refusal. Each link's share × fill rate × expected
            // delivered share (1 − x + x × â for the share x that needs a licence) is kept in
            // the split scratch as its weight so far.
            let mut sum = InputSums::default();
            for li in from..from + traded {
                let l = li as usize;
                let link = &links.links[l];
                // A link with no share and nothing awaiting a decision (a candidate of supplier
                // search) adds nothing to any sum and gets no order: skip its state.
                if link.share == 0.0 && links.pending(l) == 0.0 {
                    continue;
                }
                // (A link with a share or awaiting a decision is or has been a supplier.)
                let t = s.trade_at(l, &links.trade);
                // The share of its orders that needs a licence now, and the share an announced
                // tightening will bring under licence (both 0 on a day with no regime in force
                // and none announced).
                let (ls, coming) = if self.unlicensed {
                    (0.0, 0.0)
                } else {
                    let exporter = links.owner[t].exporter;
                    let (_, ls) = policy.licensed_share(exporter, plant.nation, s.commodity, tick, td);
                    (ls, policy.announced_share(exporter, plant.nation, s.commodity))
                };
                let delivered = if ls > 0.0 { 1.0 - ls + ls * links.approval(l) } else { 1.0 };
                let weight = link.share * links.fill[t] * delivered;
                entries.push(((li, t as u32), weight, 0.0, 0.0));
                // Its supplier's offer is read when the order is split: ask for it now.
                prefetch(&board.offers, link.supplier as usize);
                sum.expected += weight;
                sum.seen_coming += link.share * coming;
                sum.licensed += link.share * ls;
                sum.at_risk += (1.0 - links.approval(l)) * links.pending(l);
            }
            // Its expected delivered share is the sum `needs_adapting` compares with
            // `search_below`, but for terms of 0 (the links left out have no share): the
            // same answer, without a second pass over the links.
            if ask_adapt
                && input_adapts(
                    links,
                    &self.registry.nation,
                    policy,
                    plant.nation,
                    s,
                    sum.expected,
                    tick,
                    td,
                    buying.search_below,
                )
            {
                return false;
            }
            sum.end = entries.len();
            sums.push(sum);
        }
        let cover_ticks = inputs.cover_days / tick_days;
        let mut first = 0;
        for (s, sum) in inputs.slots.iter_mut().zip(sums.iter()) {
            let split_of_input = &mut entries[first..sum.end];
            first = sum.end;
            // Precaution: the scarcity the buyer perceives sets how far its cover rises.
            let price = self.prices.price(plant.region, s.commodity) / self.prices.reference[s.commodity as usize];
            let wanted = 1.0 + buying.precaution_cover * scarcity(buying, sum.expected, price, sum.seen_coming);
            let rate = if wanted > s.precaution { self.up } else { self.relax };
            s.precaution += rate * (wanted - s.precaution);
            let use_per_tick = prod.expected_output * s.per_unit;
            let near = use_per_tick * (cover_ticks * s.precaution + s.mean_lead_ticks);
            s.draw = (use_per_tick + adjust * (near - s.stock - s.in_transit)).max(0.0);
            // The licence wait it has learned lengthens the supply line only for the part of
            // its supply that needs a licence now: once a control is lifted or a general
            // licence granted, the wait it remembers no longer holds goods on order. What
            // awaits a decision counts at the approval share learned for its line.
            let target = near + use_per_tick * sum.licensed * s.licence_wait_days / tick_days;
            let gap = use_per_tick + adjust * (target - s.stock - s.in_transit - s.on_order + sum.at_risk);
            if gap <= 0.0 {
                continue;
            }
            for e in split_of_input.iter_mut() {
                let (li, t) = e.0;
                e.1 *= self.landed(links, t as usize, plant.nation, s.commodity);
                e.2 = self.cap(links, li, t as usize);
            }
            split(split_of_input, gap);
            for &((li, t), _, _, q) in split_of_input.iter() {
                // Only a positive quantity is an order (not NaN either: a corrupted
                // position must not spread to the supplier; `--check` reports it where
                // it is).
                if q.is_nan() || q <= 0.0 {
                    continue;
                }
                // (The supplier's rationing rule only matters for a link that has not
                // delivered in full: reading it for every order cost a cache miss each
                // at 10^6 firms.)
                let t = t as usize;
                let fill = links.fill[t];
                let q = if buying.phantom_ordering > 0.0 && fill < 1.0 {
                    q * phantom(
                        buying.phantom_ordering,
                        fill,
                        self.registry.allocation[links.links[li as usize].supplier as usize],
                    )
                } else {
                    q
                };
                // One buyer per link: a plain store, whatever worker runs this buyer.
                links.wanted[t].store(q.to_bits(), Ordering::Relaxed);
                if placed.len() < self.parts {
                    placed.resize(self.parts, 0);
                }
                placed[OrderBook::part_of(self.part_from, links.links[li as usize].supplier)] += 1;
            }
        }
        true
    }
}

/// Supplier search, qualification, habit and fade, for the buyers `which` (in index order,
/// links in index order), before they order. For each input of each buyer:
/// - a candidate being qualified whose `ready_tick` has come becomes a supplier, with its share
///   by capacity among the buyer's suppliers (cap / (Σ caps of the suppliers + cap), as
///   `ByCapacity` weighs them); the others' shares are scaled down to make room. Its fill rate
///   and learned approval start at 1, and it takes an equal part of its supplier's spare;
/// - once the buyer has searched for the input, its suppliers' shares move towards their parts
///   of its smoothed orders over `habit_days`, and a supplier whose share falls below
///   `fade_below` goes back to being a candidate (never the last one);
/// - when its expected delivered share (Σ share × fill rate × expected delivered share over its
///   suppliers) is below `search_below` and no candidate is being qualified, it starts to
///   qualify its first candidate not in a nation whose active control covers the input towards
///   the buyer (without a general licence for the buyer's nation): ready after
///   `qualification_days`. Search for new suppliers after failed deliveries follows the
///   supplier-switching of DisruptSC (Colon et al. 2021); the lag is the months automotive part
///   approval takes.
fn adapt_links(
    firms: &mut Query<BuyingFirm>,
    which: &[u32],
    links: &mut SupplyLinks,
    registry: &Registry,
    policy: &PolicyState,
    clock: &Clock,
    buying: &Buying,
) {
    let (tick, td) = (clock.tick, clock.tick_days);
    let tick_days = f64::from(td);
    let lead_ticks = |days: u32| f64::from(days.div_ceil(td).max(1));
    let habit = (tick_days / buying.habit_days).min(1.0);
    let qualify_ticks = (buying.qualification_days / tick_days).ceil() as u32;
    for &f in which {
        let Ok((_, plant, mut inputs, _, _)) = firms.get_mut(registry.entity[f as usize]) else {
            continue;
        };
        let importer = plant.nation;
        for (k, s) in inputs.slots.iter_mut().enumerate() {
            let (from, len) = s.links;
            let range = from as usize..(from + len) as usize;
            let mut changed = false;
            // Qualified candidates become suppliers.
            for li in range.clone() {
                let LinkStatus::Qualifying { ready_tick } = links.status.get(li) else {
                    continue;
                };
                if ready_tick > tick {
                    continue;
                }
                let active_caps: f64 = range
                    .clone()
                    .filter(|&l| links.status.is_active(l))
                    .map(|l| links.capacity(l))
                    .sum();
                let entry = links.capacity(li) / (active_caps + links.capacity(li));
                for l in range.clone() {
                    if links.status.is_active(l) {
                        links.links[l].share *= 1.0 - entry;
                    }
                }
                links.links[li].share = entry;
                links.status.set(li, LinkStatus::Active);
                // A link that was a supplier before keeps its trade state (reset below).
                let owner = LinkOwner {
                    buyer: f,
                    slot: k as u16,
                    commodity: s.commodity,
                    exporter: registry.nation[links.links[li].supplier as usize],
                    importer,
                };
                let t = links.trade_of_supplier(li, owner);
                s.traded = s.traded.max(li as u32 + 1 - from);
                links.fill[t] = 1.0;
                if let Some(a) = links.approval.get_mut(li) {
                    *a = 1.0;
                }
                links.expected[t] = 0.0;
                take_part_of_spare(links, li);
                changed = true;
            }
            // Habit and fade, once the buyer has searched for this input.
            if s.searched {
                let active = |links: &SupplyLinks, l: usize| links.status.is_active(l);
                let expected = |links: &SupplyLinks, l: usize| links.expected[links.trade.at(l)];
                let orders: f64 = range.clone().filter(|&l| active(links, l)).map(|l| expected(links, l)).sum();
                if orders > 0.0 {
                    for l in range.clone() {
                        if active(links, l) {
                            let target = expected(links, l) / orders;
                            links.links[l].share += habit * (target - links.links[l].share);
                        }
                    }
                }
                for l in range.clone() {
                    let count = range.clone().filter(|&m| active(links, m)).count();
                    if count > 1 && active(links, l) && links.links[l].share < buying.fade_below {
                        links.status.set(l, LinkStatus::Candidate);
                        links.links[l].share = 0.0;
                        let t = links.trade.at(l);
                        links.spare_share[t] = 0.0;
                    }
                }
                let total: f64 = range.clone().filter(|&l| active(links, l)).map(|l| links.links[l].share).sum();
                if total > 0.0 {
                    for l in range.clone() {
                        if active(links, l) {
                            links.links[l].share /= total;
                        }
                    }
                }
                changed = true;
            }
            // Search when deliveries fail and no candidate is being qualified.
            let qualifying = range.clone().any(|l| matches!(links.status.get(l), LinkStatus::Qualifying { .. }));
            if !qualifying
                && expected_delivered(links, range.clone(), policy, importer, s.commodity, tick, td) < buying.search_below
                && let Some(l) = eligible_candidate(links, &registry.nation, range.clone(), policy, importer, s.commodity, tick, td)
            {
                links.status.set(
                    l,
                    LinkStatus::Qualifying {
                        ready_tick: tick + qualify_ticks,
                    },
                );
                s.searched = true;
            }
            if changed {
                s.mean_lead_ticks = range
                    .clone()
                    .map(|l| links.links[l].share * lead_ticks(u32::from(links.links[l].days)))
                    .sum();
            }
        }
    }
}

/// The share of a buyer's orders of an input it expects delivered: the sum of share × fill rate
/// × (1 − x + x × learned approval) over the input's links `range` that are suppliers, for the
/// share x that needs a licence from the supplier's nation (`importer` is the buyer's).
fn expected_delivered(
    links: &SupplyLinks,
    range: std::ops::Range<usize>,
    policy: &PolicyState,
    importer: u16,
    commodity: u16,
    tick: u32,
    td: u32,
) -> f64 {
    let quiet = policy.unlicensed();
    range
        .filter(|&l| links.status.is_active(l))
        .map(|l| delivered_share(links, l, policy, importer, commodity, tick, td, quiet))
        .sum()
}

/// Link `l`'s term of [`expected_delivered`]: share × fill rate × (1 − x + x × learned
/// approval), never below 0 (x = 0 without asking the regimes when `unlicensed`, see
/// `PolicyState::unlicensed`).
#[inline]
#[allow(clippy::too_many_arguments)]
fn delivered_share(
    links: &SupplyLinks,
    l: usize,
    policy: &PolicyState,
    importer: u16,
    commodity: u16,
    tick: u32,
    td: u32,
    unlicensed: bool,
) -> f64 {
    let t = links.trade.at(l);
    let x = if unlicensed {
        0.0
    } else {
        let exporter = links.owner[t].exporter;
        policy.licensed_share(exporter, importer, commodity, tick, td).1
    };
    links.links[l].share * links.fill[t] * (1.0 - x + x * links.approval(l))
}

/// The first candidate of an input's links `range` that search may qualify: not in a nation
/// whose active control covers the input towards the buyer's nation `importer` (`nation` is
/// every firm's).
#[allow(clippy::too_many_arguments)]
fn eligible_candidate(
    links: &SupplyLinks,
    nation: &[u16],
    mut range: std::ops::Range<usize>,
    policy: &PolicyState,
    importer: u16,
    commodity: u16,
    tick: u32,
    td: u32,
) -> Option<usize> {
    range.find(|&l| {
        // (A candidate may never have been a supplier: its nation is its supplier's.)
        let exporter = nation[links.links[l].supplier as usize];
        links.status.get(l) == LinkStatus::Candidate && policy.licensed_share(exporter, importer, commodity, tick, td).0.is_none()
    })
}

/// Whether [`adapt_links`] can change anything of a buyer's links this tick: for some input
/// the buyer has searched for it (habit and fade run every tick from then on, and a
/// qualification completes only for an input searched for), or its expected delivered
/// share is below `search_below` and a candidate is eligible (no candidate is being
/// qualified for an input not searched for). It reads only the buyer's own
/// links' status, shares, fill rates and approvals, which no other buyer's adapting changes,
/// so every buyer can be asked at once, before any adapts. `nation` is every firm's.
#[allow(clippy::too_many_arguments)]
fn needs_adapting(
    plant: &Plant,
    inputs: &Inputs,
    links: &SupplyLinks,
    nation: &[u16],
    policy: &PolicyState,
    tick: u32,
    td: u32,
    search_below: f64,
) -> bool {
    inputs.slots.iter().any(|s| {
        let expected = if s.searched {
            0.0
        } else {
            let range = s.links.0 as usize..(s.links.0 + s.links.1) as usize;
            expected_delivered(links, range, policy, plant.nation, s.commodity, tick, td)
        };
        input_adapts(links, nation, policy, plant.nation, s, expected, tick, td, search_below)
    })
}

/// Whether input `s` of a buyer in nation `importer` makes [`needs_adapting`] true, given its
/// expected delivered share `expected` ([`expected_delivered`]; not read when the buyer has
/// searched for it).
#[allow(clippy::too_many_arguments)]
fn input_adapts(
    links: &SupplyLinks,
    nation: &[u16],
    policy: &PolicyState,
    importer: u16,
    s: &InputSlot,
    expected: f64,
    tick: u32,
    td: u32,
    search_below: f64,
) -> bool {
    // A buyer that has searched for the input adapts every tick (habit and fade, and any
    // qualification it started). One that has not has no link of the input being qualified
    // (`adapt_links` starts a qualification only as it marks the input searched, and nothing
    // unmarks it), so it adapts only to start a search.
    if s.searched {
        return true;
    }
    let range = s.links.0 as usize..(s.links.0 + s.links.1) as usize;
    debug_assert!(
        range.clone().all(|l| !matches!(links.status.get(l), LinkStatus::Qualifying { .. })),
        "an input not searched for has no link being qualified"
    );
    expected < search_below && eligible_candidate(links, nation, range, policy, importer, s.commodity, tick, td).is_some()
}

/// A newly qualified link takes an equal part (1 / its supplier's buyers) of its supplier's
/// spare deliverable; the supplier's other buyers' parts shrink to make room. Only the
/// supplier's own links are visited (a scan of every link for every qualification took
/// minutes in a policy run of 10^6 firms).
fn take_part_of_spare(links: &mut SupplyLinks, li: usize) {
    let range = links.group_by_supplier(links.links[li].supplier);
    let SupplyLinks {
        by_supplier,
        status,
        spare_share,
        trade,
        ..
    } = links;
    let mine = &by_supplier[range];
    let buyers = mine.iter().filter(|&&l| status.is_active(l as usize)).count();
    let part = 1.0 / buyers as f64;
    // (A link with no trade state has no part of the spare to give.)
    for &l in mine {
        if l as usize != li
            && let Some(t) = trade.of(l as usize)
        {
            spare_share[t] *= 1.0 - part;
        }
    }
    spare_share[trade.at(li)] = part;
}

/// Splits `total` units over links (`K` names the link; weight, cap, units) in proportion to their weights,
/// none above its cap: a link whose share would pass its cap gets its cap, and the rest is
/// shared again among the others (water-filling). What no link has room for is then spread
/// over all links with a weight, in proportion to it.
pub fn split<K>(links: &mut [(K, f64, f64, f64)], total: f64) {
    let mut rest = total;
    loop {
        let open = |e: &(K, f64, f64, f64)| e.1 > 0.0 && e.3 < e.2;
        let weights: f64 = links.iter().filter(|e| open(e)).map(|e| e.1).sum();
        if weights <= 0.0 || rest <= 0.0 {
            break;
        }
        let clipped = links.iter().any(|e| open(e) && e.3 + rest * e.1 / weights >= e.2);
        if !clipped {
            for e in links.iter_mut().filter(|e| open(e)) {
                e.3 += rest * e.1 / weights;
            }
            return;
        }
        let share = rest;
        for e in links.iter_mut().filter(|e| open(e)) {
            if e.3 + share * e.1 / weights >= e.2 {
                rest -= e.2 - e.3;
                e.3 = e.2;
            }
        }
    }
    let weights: f64 = links.iter().filter(|e| e.1 > 0.0).map(|e| e.1).sum();
    if rest > 0.0 && weights > 0.0 {
        for e in links.iter_mut().filter(|e| e.1 > 0.0) {
            e.3 += rest * e.1 / weights;
        }
    }
}

/// The factor by which a buyer inflates an order on a link whose fill rate is `fill` (phantom
/// ordering, Lee, Padmanabhan & Whang 1997): 1 + `phantom` × (1/fill − 1), fill read no
/// lower than 0.1, at a supplier that rations in proportion to orders; 1 otherwise.
pub fn phantom(phantom: f64, fill: f64, rule: Allocation) -> f64 {
    if phantom > 0.0 && fill < 1.0 && rule == Allocation::Proportional {
        1.0 + phantom * (1.0 / fill.max(0.1) - 1.0)
    } else {
        1.0
    }
}

/// The scarcity a buyer perceives in an input, 0 to 1 (Sterman & Dogan 2015: buyers stock up
/// when deliveries falter and when they see shortage coming), the largest of three signals:
/// - delivery: `expected` is the share of its orders it expects delivered (smoothed fill rate
///   × the share not refused a licence); below `precaution_fill_below` f, (f − expected) / f;
/// - price: the input's price in its region, `price` × reference, read from 1.1 × reference
///   up to full at `precaution_price_full` (unless that is 0);
/// - announcement: `seen_coming`, the share of its supply an announced control will bring
///   under licence.
///
/// A control merely in force is none of these: until refusals come, a buyer under licence
/// expects its orders delivered and does not stock up.
pub fn scarcity(buying: &Buying, expected: f64, price: f64, seen_coming: f64) -> f64 {
    let ok = buying.precaution_fill_below;
    let delivery = ((ok - expected) / ok).clamp(0.0, 1.0);
    let full = buying.precaution_price_full;
    let price = if full > 0.0 {
        ((price - PRECAUTION_PRICE_FROM) / (full - PRECAUTION_PRICE_FROM)).clamp(0.0, 1.0)
    } else {
        0.0
    };
    delivery.max(price).max(seen_coming.clamp(0.0, 1.0))
}

#[cfg(test)]
mod tests {
    use super::split;

    #[test]
    fn shares_follow_weights_until_a_cap_binds_then_the_rest_goes_to_those_with_room() {
        let mut l = vec![(0, 1.0, 100.0, 0.0), (1, 3.0, 100.0, 0.0)];
        split(&mut l, 40.0);
        assert_eq!((l[0].3, l[1].3), (10.0, 30.0));
        // The heavier link can take only 20: the other takes the rest.
        let mut l = vec![(0, 1.0, 100.0, 0.0), (1, 3.0, 20.0, 0.0)];
        split(&mut l, 40.0);
        assert_eq!((l[0].3, l[1].3), (20.0, 20.0));
        // No room anywhere for the last 10: spread by weight over both.
        let mut l = vec![(0, 1.0, 10.0, 0.0), (1, 3.0, 20.0, 0.0)];
        split(&mut l, 40.0);
        assert_eq!((l[0].3, l[1].3), (12.5, 27.5));
        // A link without weight gets nothing, whatever its room.
        let mut l = vec![(0, 0.0, 100.0, 0.0), (1, 1.0, 5.0, 0.0)];
        split(&mut l, 8.0);
        assert_eq!((l[0].3, l[1].3), (0.0, 8.0));
    }
}
