//! Building a run's world from a checked model and its network, in the steady state of the
//! start date: every firm's stocks at their targets and every supply line's pipeline of
//! shipments full, so that a model with no shock starts and stays on its calibrated flows.
//!
//! The steps, in order: the calendar ([`clock_of`]); one entity per firm with its input slots,
//! product lines and random streams ([`spawn_firms`]); every firm's supplier links
//! ([`link_firms`]); the goods already on their way ([`fill_pipelines`]); and the shared
//! resources ([`insert_resources`]).

use crate::model::calendar::Date;
use crate::model::{Allocation, LineRationing, Model};
use crate::world::clock::Clock;
use crate::world::demand::MarketDemand;
use crate::world::firm::{Finished, FirmIndex, InputSlot, Inputs, LineRule, LineState, Lines, Plant, Production, Trading};
use crate::world::invariants::{Invariants, MaterialTotals};
use crate::world::licences::Licensing;
use crate::world::network::Network;
use crate::world::orders::{LinkOwner, LinkStatus, LinkStatuses, LinkTally, Offer, OrderBook, SupplierBoard, SupplyLinks};
use crate::world::params::Params;
use crate::world::policy::PolicyState;
use crate::world::prices::PriceBook;
use crate::world::records::Recorder;
use crate::world::registry::Registry;
use crate::world::rng::{FirmStreams, Streams};
use crate::world::shipments::{InTransit, NO_LANE, Pipeline, Shipment, ShipmentQueue, Stamp, TradeBook};
use crate::world::trade_index::TradeIndex;
use bevy_ecs::prelude::*;
use std::sync::atomic::AtomicU64;

/// The world of a run at its start date: firms, the goods on their way, and every resource
/// the tick's systems read and write.
pub fn build_world(model: &Model, network: &Network, seed: u64) -> World {
    let clock = clock_of(model);
    let mut world = World::new();
    let spawned = spawn_firms(&mut world, model, network, clock.tick_days);
    let firms = link_firms(spawned, network, clock.tick_days);
    finish_world(world, model, network, seed, clock, firms)
}

/// [`build_world`] for a run that needs the firms' specs no more: before the firms are spawned
/// it drops the specs' supplier rules (resolved into `network`'s links); it gives the specs
/// back to the system as the firms are spawned ([`spawn_firms_releasing`]), the per-firm
/// inputs out of `network` once their links are listed, and the starting pipelines' list once
/// they are on their way, each time giving the memory back to the system
/// ([`crate::alloc::release_free_memory`]) before the next step allocates. A 10^6-firm world's
/// specs and inputs are about 1.3 GB, its links about 0.8 GB; built this way, the specs are
/// never held together with the links, nor whole with the spawned firms.
pub fn build_world_releasing(model: &mut Model, network: &mut Network, seed: u64) -> World {
    let clock = clock_of(model);
    // The supplier rules (and a generated world's suppliers by index) live on as the
    // network's links, and nothing after resolving reads them: in a big written model the
    // rules, every listed supplier's id, would otherwise be held with the spawned firms.
    for spec in &mut model.firms {
        spec.suppliers.clear();
    }
    model.generated = None;
    crate::alloc::release_free_memory();
    let mut world = World::new();
    let spawned = spawn_firms_releasing(&mut world, model, network, clock.tick_days);
    let firms = link_firms(spawned, network, clock.tick_days);
    network.inputs = Vec::new();
    crate::alloc::release_free_memory();
    finish_world(world, model, network, seed, clock, firms)
}

/// The steps after spawning the firms; they read neither the firms' specs in `model` nor the
/// per-firm inputs of `network`.
fn finish_world(mut world: World, model: &Model, network: &Network, seed: u64, clock: Clock, mut firms: SpawnedFirms) -> World {
    let (queue, in_transit) = fill_pipelines(&mut world, &firms, clock.tick_days);
    // The pipelines are on their way now: their list (about 140 MB at 10^6 firms) goes before
    // the links' other lists are made.
    firms.pipelines = Vec::new();
    world.insert_resource(in_transit);
    insert_resources(&mut world, model, network, seed, clock, firms, queue);
    world
}

/// The calendar at tick 0: the model's start date, days per tick, and the number of ticks
/// that cover its end date.
pub fn clock_of(model: &Model) -> Clock {
    let start = Date::parse(&model.calendar.start).expect("checked start date");
    let end = Date::parse(&model.calendar.end).expect("checked end date");
    let tick_days = model.calendar.tick_days;
    let ticks = ((end.0 - start.0) as u32 + 1).div_ceil(tick_days);
    Clock {
        tick: 0,
        start,
        tick_days,
        ticks,
    }
}

/// What spawning the firms leaves for listing their links ([`link_firms`]).
pub struct Spawned {
    /// Each firm's entity, by dense index.
    pub entities: Vec<Entity>,
    /// Where each firm's input slots start in a list of every firm's slots (see
    /// [`SpawnedFirms::slot_from`]).
    pub slot_from: Vec<u32>,
    /// Each firm's rule for sharing out scarce stock among its buyers.
    pub allocation: Vec<Allocation>,
    /// Each firm's share of output going to defence end uses.
    pub defence_share: Vec<f64>,
    /// Each firm's capacity at the start, units per day.
    pub capacity: Vec<f64>,
}

/// What spawning the firms and listing their links leaves for the later steps.
pub struct SpawnedFirms {
    /// Each firm's entity, by dense index.
    pub entities: Vec<Entity>,
    /// Every firm's supplier links, in one flat list (learned approvals not yet set).
    pub links: SupplyLinks,
    /// The steady flow on each supply line at the start date.
    pub pipelines: Vec<Pipeline>,
    /// Longest lead time of any link, jitter included, in ticks.
    pub max_lead_ticks: u32,
    /// Where each firm's input slots start in a list of every firm's slots, in firm order
    /// (one more entry than firms: the last is the number of slots).
    pub slot_from: Vec<u32>,
    /// Each firm's rule for sharing out scarce stock among its buyers.
    pub allocation: Vec<Allocation>,
    /// Each firm's share of output going to defence end uses.
    pub defence_share: Vec<f64>,
}

/// Spawns one entity per firm: its plant, production at its steady output, finished stock at
/// its target cover, input slots with stocks at their target cover (each with the range its
/// links will have in [`link_firms`]'s list), product lines if it has several. Reads the
/// firms' specs; their links are listed after, from `network` alone.
///
/// Each firm's components are made first, firm by firm, then spawned in one batch per set of
/// components (with or without product lines, a trader or not), each batch in model order,
/// the sets in the order their tables were made when firms were spawned one by one (so
/// systems meet the firms in the same order). A batch reserves its table's room once,
/// exactly: spawned one by one, the tables grew by doubling, and each firm with lines was
/// spawned, then moved to another table (at 10^6 firms, 60 MB more at the peak).
pub fn spawn_firms(world: &mut World, model: &Model, network: &Network, tick_days: u32) -> Spawned {
    let kept = Kept::of(&model.firms, model);
    let made = Made::new(model, network, tick_days, kept.kind.len());
    let mut bundles = Bundles::for_kinds(&kept.kind);
    for (f, spec) in model.firms.iter().enumerate() {
        bundles.push(made.components(spec, f));
    }
    spawn_bundles(world, kept, made.slot_from, bundles)
}

/// [`spawn_firms`] for a build that needs the specs no more (`model.firms` is empty after).
/// A 10^6-firm world's specs take about 1 GB; here they are given back to the system as the
/// firms' components are made, so that they are never held whole together with the firms.
///
/// The components are made on a thread of their own, and the specs dropped on this one,
/// [`RELEASE_EVERY`] at a time, each time followed by [`crate::alloc::release_free_memory`].
/// The C library then puts what the making allocates (every firm's input slots and lines)
/// in that thread's arena, not in the holes the specs leave: the pages the specs held come
/// free whole and go back. (Dropped on the making thread, each spec's blocks would be
/// reused for the next firms' slots, and the pages never freed.)
pub fn spawn_firms_releasing(world: &mut World, model: &mut Model, network: &Network, tick_days: u32) -> Spawned {
    let mut specs = std::mem::take(&mut model.firms);
    let kept = Kept::of(&specs, model);
    let made = Made::new(model, network, tick_days, kept.kind.len());
    let bundles = std::thread::scope(|s| {
        let (send, taken) = std::sync::mpsc::sync_channel::<Vec<crate::model::Firm>>(1);
        let (specs, made, kinds) = (&mut specs, &made, &kept.kind);
        let maker = s.spawn(move || {
            let mut bundles = Bundles::for_kinds(kinds);
            let mut done = Vec::with_capacity(RELEASE_EVERY);
            for (f, spec) in specs.iter_mut().enumerate() {
                let spec = std::mem::replace(spec, no_spec());
                bundles.push(made.components(&spec, f));
                done.push(spec);
                if done.len() == RELEASE_EVERY {
                    let full = std::mem::replace(&mut done, Vec::with_capacity(RELEASE_EVERY));
                    send.send(full).expect("the releasing thread waits");
                }
            }
            send.send(done).expect("the releasing thread waits");
            bundles
        });
        for done in taken {
            drop(done);
            crate::alloc::release_free_memory();
        }
        maker.join().unwrap_or_else(|e| std::panic::resume_unwind(e))
    });
    drop(specs);
    crate::alloc::release_free_memory();
    spawn_bundles(world, kept, made.slot_from, bundles)
}

/// How many specs [`spawn_firms_releasing`] drops at a time.
pub const RELEASE_EVERY: usize = 1 << 16;

/// What is left in place of a spec taken out (it holds no memory).
fn no_spec() -> crate::model::Firm {
    crate::model::Firm {
        id: String::new(),
        name: String::new(),
        nation: String::new(),
        role: String::new(),
        output: String::new(),
        capacity_per_day: 0.0,
        recipe: Default::default(),
        target_cover_days: 0.0,
        output_cover_days: 0.0,
        initial_stock: Default::default(),
        suppliers: Default::default(),
        price_elasticity: 0.0,
        defence_share: 0.0,
        lines: Vec::new(),
        line_rationing: LineRationing::default(),
        allocation: None,
        trading: None,
    }
}

/// What the later steps keep of the firms' specs, and each firm's set of components, by firm.
struct Kept {
    allocation: Vec<Allocation>,
    defence_share: Vec<f64>,
    capacity: Vec<f64>,
    /// (product lines, trading).
    kind: Vec<(bool, bool)>,
}

impl Kept {
    fn of(specs: &[crate::model::Firm], model: &Model) -> Kept {
        Kept {
            allocation: specs.iter().map(|f| f.allocation.unwrap_or(model.selling.allocation)).collect(),
            defence_share: specs.iter().map(|f| f.defence_share).collect(),
            capacity: specs.iter().map(|f| f.capacity_per_day).collect(),
            kind: specs.iter().map(|f| (!f.lines.is_empty(), f.trading.is_some())).collect(),
        }
    }
}

/// What making a firm's components reads besides its spec.
struct Made<'a> {
    network: &'a Network,
    tick_days: u32,
    /// Reference prices by commodity, USD per unit.
    reference: Vec<f64>,
    /// Where each firm's input slots start in a list of every firm's slots, and where its
    /// links start in the list of every link (one more entry than firms).
    slot_from: Vec<u32>,
    link_from: Vec<u32>,
    /// Each firm's first trade index: how many links of the firms before it were suppliers
    /// at the start (they take the first trade indices, in link order).
    trade_from: Vec<u32>,
}

impl<'a> Made<'a> {
    fn new(model: &Model, network: &'a Network, tick_days: u32, firms: usize) -> Made<'a> {
        let mut slot_from = Vec::with_capacity(firms + 1);
        let mut link_from = Vec::with_capacity(firms + 1);
        let mut trade_from = Vec::with_capacity(firms + 1);
        slot_from.push(0u32);
        link_from.push(0u32);
        trade_from.push(0u32);
        for inputs in &network.inputs {
            let links: usize = inputs.iter().map(|i| i.links.len() + i.candidates.len()).sum();
            let suppliers: usize = inputs.iter().map(|i| i.links.len()).sum();
            slot_from.push(slot_from[slot_from.len() - 1] + inputs.len() as u32);
            link_from.push(link_from[link_from.len() - 1] + links as u32);
            trade_from.push(trade_from[trade_from.len() - 1] + suppliers as u32);
        }
        Made {
            network,
            tick_days,
            reference: model.commodities.iter().map(|c| c.price_usd).collect(),
            slot_from,
            link_from,
            trade_from,
        }
    }

    fn components(&self, spec: &crate::model::Firm, f: usize) -> (FirmComponents, Option<Lines>, Option<Trading>) {
        firm_components(
            spec,
            f,
            self.network,
            (self.link_from[f], self.trade_from[f]),
            &self.reference,
            self.tick_days,
        )
    }
}

/// Every firm's components, by set of components, each set in model order.
struct Bundles {
    plain: Vec<FirmComponents>,
    lines: Vec<(FirmComponents, Lines)>,
    trading: Vec<(FirmComponents, Trading)>,
    both: Vec<(FirmComponents, Lines, Trading)>,
}

impl Bundles {
    /// Room for every firm of `kinds` ((lines, trading) by firm), exactly.
    fn for_kinds(kinds: &[(bool, bool)]) -> Bundles {
        let count = |k: (bool, bool)| kinds.iter().filter(|&&x| x == k).count();
        Bundles {
            plain: Vec::with_capacity(count((false, false))),
            lines: Vec::with_capacity(count((true, false))),
            trading: Vec::with_capacity(count((false, true))),
            both: Vec::with_capacity(count((true, true))),
        }
    }

    fn push(&mut self, (c, lines, trading): (FirmComponents, Option<Lines>, Option<Trading>)) {
        match (lines, trading) {
            (None, None) => self.plain.push(c),
            (Some(l), None) => self.lines.push((c, l)),
            (None, Some(t)) => self.trading.push((c, t)),
            (Some(l), Some(t)) => self.both.push((c, l, t)),
        }
    }
}

/// Spawns the firms' components, one batch per set (see [`spawn_firms`]).
fn spawn_bundles(world: &mut World, kept: Kept, slot_from: Vec<u32>, bundles: Bundles) -> Spawned {
    let kind = &kept.kind;
    let n = kind.len();
    let mut kinds: Vec<(bool, bool)> = vec![(false, false)];
    for &k in kind {
        // (Spawned one by one, a firm with lines and trading passed through the table of
        // firms with lines: that table came first.)
        for k in [(k.0, false), k] {
            if !kinds.contains(&k) {
                kinds.push(k);
            }
        }
    }
    let Bundles {
        mut plain,
        mut lines,
        mut trading,
        mut both,
    } = bundles;
    let mut entities = vec![Entity::PLACEHOLDER; n];
    for k in kinds {
        // Each batch's components are dropped once spawned (`take`), before the next's.
        let spawned: Vec<Entity> = match k {
            (false, false) => world.spawn_batch(std::mem::take(&mut plain)).collect(),
            (true, false) => world.spawn_batch(std::mem::take(&mut lines)).collect(),
            (false, true) => world.spawn_batch(std::mem::take(&mut trading)).collect(),
            (true, true) => world.spawn_batch(std::mem::take(&mut both)).collect(),
        };
        for (f, e) in (0..n).filter(|&f| kind[f] == k).zip(spawned) {
            entities[f] = e;
        }
    }
    Spawned {
        entities,
        slot_from,
        allocation: kept.allocation,
        defence_share: kept.defence_share,
        capacity: kept.capacity,
    }
}

/// The components every firm has.
type FirmComponents = (FirmIndex, Plant, Production, Finished, Inputs);

/// Firm `f`'s components, its product lines if it has several, and its trading state if it
/// is a trader; its links start at `first.0` in the list of every link, and its suppliers'
/// trade indices at `first.1`.
fn firm_components(
    spec: &crate::model::Firm,
    f: usize,
    network: &Network,
    first: (u32, u32),
    reference: &[f64],
    tick_days: u32,
) -> (FirmComponents, Option<Lines>, Option<Trading>) {
    let td = f64::from(tick_days);
    let lead_ticks = |days: u32| days.div_ceil(tick_days).max(1);
    let y = network.steady_output[f] * td; // units per tick
    let sales = network.steady_sales[f] * td;
    let (mut next_link, mut next_trade) = first;
    let mut slots = Vec::with_capacity(network.inputs[f].len());
    for input in &network.inputs[f] {
        let (from, trade_from) = (next_link, next_trade);
        next_link += (input.links.len() + input.candidates.len()) as u32;
        next_trade += input.links.len() as u32;
        let mean_lead = input
            .links
            .iter()
            .fold(0.0, |m, l| m + l.share * f64::from(lead_ticks(u32::from(l.days))));
        let use_per_tick = y * input.per_unit;
        let cid = &network.commodities[input.commodity as usize];
        let stock = spec
            .initial_stock
            .get(cid)
            .copied()
            .unwrap_or(use_per_tick * spec.target_cover_days / td);
        slots.push(InputSlot {
            commodity: input.commodity,
            per_unit: input.per_unit,
            stock,
            in_transit: 0.0,
            on_order: 0.0,
            licence_wait_days: 0.0,
            links: (from, (input.links.len() + input.candidates.len()) as u32),
            traded: input.links.len() as u32,
            trade_from,
            suppliers_at_start: input.links.len() as u32,
            searched: false,
            mean_lead_ticks: mean_lead,
            consumed: 0.0,
            scale: stock,
            in_flight: 0,
            precaution: 1.0,
            draw: 0.0,
            imported: 0.0,
        });
    }
    let out = network.firm_output[f];
    let final_good = network.final_demand[out as usize];
    let region = network.nation_region[network.firm_nation[f] as usize];
    let out_id = &network.commodities[out as usize];
    // A trader starts with its working stock on top of its sales cover (multiple 1).
    let base_stock = spec.trading.as_ref().map_or(0.0, |t| t.base_stock);
    let finished_stock = if final_good {
        0.0
    } else {
        spec.initial_stock
            .get(out_id)
            .copied()
            .unwrap_or(sales * spec.output_cover_days / td + base_stock)
    };
    let reference_input_cost: f64 = slots.iter().map(|s| s.per_unit * reference[s.commodity as usize]).sum();
    let cost_share = (reference_input_cost / reference[out as usize]).min(1.0);
    let lines = product_lines(spec, network, &slots, y);
    let components = (
        FirmIndex(f as u32),
        Plant {
            capacity: spec.capacity_per_day * td,
            output: out,
            final_good,
            nation: network.firm_nation[f],
            role: network.firm_role[f],
            region,
            price_elasticity: spec.price_elasticity,
            reference_input_cost,
            cost_share,
        },
        Production {
            planned: y,
            produced: y,
            shortfall: 0.0,
            expected_output: y,
        },
        Finished {
            stock: finished_stock,
            peak: finished_stock,
            cover_days: spec.output_cover_days,
            expected_sales: sales,
            received: sales,
            shipped: sales,
        },
        Inputs {
            slots,
            cover_days: spec.target_cover_days,
        },
    );
    let trading = spec.trading.as_ref().map(|t| Trading {
        holding_cost_per_day: t.holding_cost_per_year / 365.0,
        trend_days: t.trend_days,
        gain: t.gain,
        max_multiple: t.max_multiple,
        base_stock: t.base_stock,
        log_avg: reference[out as usize].ln(),
        multiple: 1.0,
    });
    (components, lines, trading)
}

/// Lists every firm's supplier links, firm by firm and input by input in model order (the
/// ranges [`spawn_firms`] gave the input slots): its suppliers, then its candidates for
/// supplier search; and each supplying link's starting pipeline, one shipment arriving at each
/// of the first ticks of its lead time. Reads `network` only.
pub fn link_firms(spawned: Spawned, network: &Network, tick_days: u32) -> SpawnedFirms {
    let td = f64::from(tick_days);
    let lead_ticks = |days: u32| days.div_ceil(tick_days).max(1);
    // Every list at its final length from the start: grown by doubling, a 10^6-firm world's
    // links would hold up to twice their room, and both copies while each grows.
    let (mut active, mut candidates) = (0usize, 0usize);
    for input in network.inputs.iter().flatten() {
        active += input.links.len();
        candidates += input.candidates.len();
    }
    let n = active + candidates;
    // Purchase histories are kept only when some supplier shares scarce stock by them.
    let track_history = spawned.allocation.contains(&Allocation::TurnAndEarn);
    let mut links = SupplyLinks {
        links: Vec::with_capacity(n),
        owner: Vec::with_capacity(active),
        expected: Vec::with_capacity(active),
        history: Vec::with_capacity(if track_history { active } else { 0 }),
        track_history,
        status: LinkStatuses::with_capacity(n),
        trade: TradeIndex::with_capacity(n),
        supplier_capacity: spawned.capacity,
        ..SupplyLinks::default()
    };
    let mut pipelines: Vec<Pipeline> = Vec::with_capacity(active);
    let mut max_lead = 1u32;
    for (f, inputs) in network.inputs.iter().enumerate() {
        let y = network.steady_output[f] * td; // units per tick
        for (k, input) in inputs.iter().enumerate() {
            debug_assert!(spawned.slot_from[f] as usize + k < spawned.slot_from[f + 1] as usize);
            let owner = LinkOwner {
                buyer: f as u32,
                slot: k as u16,
                commodity: input.commodity,
                exporter: 0,
                importer: network.firm_nation[f],
            };
            for l in &input.links {
                let lt = lead_ticks(u32::from(l.days));
                max_lead = max_lead.max(lead_ticks(u32::from(l.days) + u32::from(l.jitter_days)));
                // Goods sent on the ticks before the start are on their way: one shipment
                // arrives at each of the first `lt` ticks.
                let flow = y * input.per_unit * l.share;
                if flow > 0.0 {
                    pipelines.push(Pipeline {
                        shipment: Shipment::travelling(flow, links.links.len() as u32, 0),
                        until: lt,
                    });
                }
                if track_history {
                    links.history.push(flow);
                }
                links.owner.push(LinkOwner {
                    exporter: network.firm_nation[l.supplier as usize],
                    ..owner
                });
                links.links.push(l.clone());
                links.expected.push(flow.max(0.0));
                links.status.push(LinkStatus::Active);
                links.trade.push(true);
            }
            // Candidates for supplier search: no share, no flow, no pipeline, no trade state.
            for l in &input.candidates {
                links.links.push(l.clone());
                links.status.push(LinkStatus::Candidate);
                links.trade.push(false);
            }
        }
    }
    SpawnedFirms {
        entities: spawned.entities,
        links,
        pipelines,
        max_lead_ticks: max_lead,
        slot_from: spawned.slot_from,
        allocation: spawned.allocation,
        defence_share: spawned.defence_share,
    }
}

/// A firm's product lines (none if the model gives it one output only), each planned at its
/// share of the steady output `y` (units per tick), with its recipe by input slot and the
/// firm's rule for sharing scarce inputs among them.
fn product_lines(spec: &crate::model::Firm, network: &Network, slots: &[InputSlot], y: f64) -> Option<Lines> {
    (!spec.lines.is_empty()).then(|| Lines {
        lines: spec
            .lines
            .iter()
            .map(|l| LineState {
                id: network.line_ids.iter().position(|x| *x == l.id).expect("line id") as u16,
                share: l.share,
                per_unit: slots
                    .iter()
                    .map(|s| l.recipe.get(&network.commodities[s.commodity as usize]).copied().unwrap_or(0.0))
                    .collect(),
                planned: y * l.share,
                produced: y * l.share,
            })
            .collect(),
        rule: match &spec.line_rationing {
            LineRationing::Proportional => LineRule::Proportional,
            LineRationing::MostUnits => LineRule::MostUnits,
            LineRationing::Priority(order) => LineRule::Priority(
                order
                    .iter()
                    .map(|id| spec.lines.iter().position(|l| l.id == *id).expect("checked"))
                    .collect(),
            ),
        },
        order: Vec::with_capacity(spec.lines.len()),
        avail: Vec::with_capacity(slots.len()),
    })
}

/// Puts the starting pipelines on their way and counts what they carry as in transit to each
/// buyer: every supplying link gets its lane (see [`InTransit`]), one per input of a buyer
/// from home and one from abroad, whose ring reaches as far as its longest route; each of the
/// first ticks of a link's lead time holds one tick's shipment. The part of a pipeline beyond
/// its ring's reach (a route longer than [`crate::world::shipments::LANE_RING_MAX`] ticks)
/// stays in the queue's list of starting pipelines, which puts each tick's goods into their
/// cell when that tick comes.
pub fn fill_pipelines(world: &mut World, firms: &SpawnedFirms, tick_days: u32) -> (ShipmentQueue, InTransit) {
    let links = &firms.links;
    let owner = |l: usize| links.owner(l);
    let n = links.links.len();
    // The lanes, input by input (the links of one input are adjacent, and so are its
    // suppliers' trade states), each as long as the longest ring of its supplying links.
    let mut lane_of = vec![NO_LANE; n];
    let mut lens: Vec<u16> = Vec::new();
    let mut suppliers = links.trade.iter().peekable();
    while let Some(&(_, t)) = suppliers.peek() {
        let first = links.owner[t];
        let mut lane = [NO_LANE; 2];
        while let Some(&(li, t)) = suppliers.peek() {
            let o = links.owner[t];
            if o.buyer != first.buyer || o.slot != first.slot {
                break;
            }
            suppliers.next();
            if !links.status.is_active(li) {
                continue;
            }
            let side = usize::from(o.importer != o.exporter);
            let len = InTransit::ring_len_of(&links.links[li], tick_days);
            if lane[side] == NO_LANE {
                lane[side] = lens.len() as u32;
                lens.push(len);
            } else {
                let l = &mut lens[lane[side] as usize];
                *l = (*l).max(len);
            }
            lane_of[li] = lane[side];
        }
    }
    let mut rings = InTransit::with_lanes(&lens, lane_of);
    let mut queue = ShipmentQueue::new(firms.max_lead_ticks as usize);
    // How many of each pipeline's first ticks its ring reaches.
    let near: Vec<u32> = firms
        .pipelines
        .iter()
        .map(|p| p.until.min(rings.reach_of(p.shipment.link as usize)))
        .collect();
    // Goods in the pipeline count as in transit to their buyers, added arrival by arrival
    // (the order fixes the rounding of the sums, and so the output's bytes), and go into their
    // cells row by row (the cells of one tick are adjacent in a ring group). This takes time in
    // proportion to the lead times, but no memory.
    let slot_from = &firms.slot_from;
    let mut transit = vec![0.0; slot_from.last().copied().unwrap_or(0) as usize];
    let longest = firms.pipelines.iter().map(|p| p.until).max().unwrap_or(0);
    let cells = rings.shared();
    for arrival in 0..longest {
        for (p, &near) in firms.pipelines.iter().zip(&near).filter(|(p, _)| p.until > arrival) {
            let o = owner(p.shipment.link as usize);
            transit[slot_from[o.buyer as usize] as usize + o.slot as usize] += p.shipment.quantity;
            if arrival < near {
                let lane = cells.lane_of(p.shipment.link as usize);
                // SAFETY: one thread.
                unsafe { cells.put(lane, arrival, p.shipment.quantity, Stamp::NONE) };
            }
        }
    }
    // Consignments on their way to each input: its lanes' cells that hold goods, and each
    // tick of a pipeline beyond its ring's reach.
    let mut flights = vec![0u64; transit.len()];
    let mut counted = vec![false; rings.lanes.len()];
    for (li, &lane) in rings.lane_of.iter().enumerate() {
        if lane == NO_LANE || std::mem::replace(&mut counted[lane as usize], true) {
            continue;
        }
        let (r, o) = (rings.lanes[lane as usize], owner(li));
        let g = &rings.groups[usize::from(r.group)];
        let held = (0..u32::from(r.len)).filter(|&a| g.cells[g.cell(r.pos, a)] != 0.0).count();
        flights[slot_from[o.buyer as usize] as usize + o.slot as usize] += held as u64;
    }
    for (p, &near) in firms.pipelines.iter().zip(&near) {
        if p.until > near {
            queue.add_pipeline(*p);
            let o = owner(p.shipment.link as usize);
            flights[slot_from[o.buyer as usize] as usize + o.slot as usize] += u64::from(p.until - near);
        }
    }
    for (f, w) in slot_from.windows(2).enumerate() {
        let mut inputs = world.get_mut::<Inputs>(firms.entities[f]).expect("firm");
        let (from, to) = (w[0] as usize, w[1] as usize);
        for ((s, &x), &flight) in inputs.slots.iter_mut().zip(&transit[from..to]).zip(&flights[from..to]) {
            s.in_transit = x;
            s.scale = s.scale.max(x);
            s.in_flight = flight;
        }
    }
    (queue, rings)
}

/// Inserts the resources: calendar, shared parameters, the firm registry, policy and licensing
/// state, supply links, order book, shipment queue, trade book, prices at their references,
/// the recorder, the nations' demand shocks and the invariants' memory.
pub fn insert_resources(
    world: &mut World,
    model: &Model,
    network: &Network,
    seed: u64,
    clock: Clock,
    firms: SpawnedFirms,
    queue: ShipmentQueue,
) {
    let nn = network.nations.len();
    let nc = network.commodities.len();
    let reference: Vec<f64> = model.commodities.iter().map(|c| c.price_usd).collect();
    let SpawnedFirms {
        entities,
        mut links,
        allocation,
        defence_share,
        slot_from,
        ..
    } = firms;
    world.insert_resource(clock);
    world.insert_resource(Params {
        prices: model.prices.clone(),
        planning: model.planning.clone(),
        buying: model.buying.clone(),
        selling: model.selling.clone(),
        parallel: true,
        adapt_first: false,
    });
    world.insert_resource(Registry {
        entity: entities,
        nation: network.firm_nation.clone(),
        role: network.firm_role.clone(),
        output: network.firm_output.clone(),
        nation_region: network.nation_region.clone(),
        defence_share,
        allocation,
        slot_from,
    });
    world.insert_resource(PolicyState::new(model, network, clock.start, clock.tick_days));
    world.insert_resource(Licensing::new(links.links.len()));
    // Trade state for the suppliers at the start (see `SupplyLinks::trade`).
    let traded = links.trade.len();
    links.fill = vec![1.0; traded];
    links.spare_share = spare_shares(&links, network.firms.len());
    links.tally = vec![LinkTally::default(); traded];
    links.wanted = (0..traded).map(|_| AtomicU64::new(0)).collect();
    world.insert_resource(SupplierBoard {
        offers: vec![Offer::default(); network.firms.len()],
    });
    world.insert_resource(links);
    world.insert_resource(OrderBook::default());
    world.insert_resource(queue);
    world.insert_resource(TradeBook::new(nn, nc));
    world.insert_resource(PriceBook::new(network.regions.len(), reference));
    world.insert_resource(Recorder::new(model.output.firm_rows, network));
    world.insert_resource(MarketDemand::new(seed, &network.nations));
    world.insert_resource(FirmStreams {
        firms: network.firms.iter().map(|id| Streams::new(seed, id)).collect(),
    });
    world.insert_resource(Invariants {
        // The network's names, shared (at 10^6 firms a copy is 56 MB).
        firm_ids: network.firms.clone(),
        commodity_ids: network.commodities.clone(),
        region_ids: network.regions.clone(),
        now: vec![MaterialTotals::default(); nc],
        ..Default::default()
    });
}

/// Each supplier link's share of its supplier's starting sales (equal shares for a supplier
/// that sold nothing), summed in link order; by trade index. Candidates have no sales and
/// no trade state: they are not counted among a supplier's buyers.
fn spare_shares(links: &SupplyLinks, firms: usize) -> Vec<f64> {
    let (mut sales, mut count) = (vec![0.0; firms], vec![0u32; firms]);
    for (l, t) in links.trade.iter() {
        let s = links.links[l].supplier as usize;
        sales[s] += links.expected[t];
        count[s] += 1;
    }
    let mut shares = vec![0.0; links.trade.len()];
    for (l, t) in links.trade.iter() {
        let s = links.links[l].supplier as usize;
        shares[t] = if sales[s] > 0.0 {
            links.expected[t] / sales[s]
        } else {
            1.0 / f64::from(count[s])
        };
    }
    shares
}
