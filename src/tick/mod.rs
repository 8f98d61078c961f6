//! The day: one file per economic process, and here the schedule that runs them in order, and
//! the [`Simulation`] that steps a world through its calendar.
//!
//! Each process is a set of bevy_ecs systems that read and write the world's state
//! (`crate::world`) and nothing else: no process calls another's functions or reads another's
//! private state, so the order below is the only coupling between them.

pub mod check;
pub mod licensing;
pub mod markets;
pub mod observe;
pub mod policy;
pub mod procurement;
pub mod production;
pub mod shipping;

use crate::model::Model;
use crate::world::build::{build_world, build_world_releasing};
use crate::world::clock::Clock;
use crate::world::firm::{Finished, InputSlot, Inputs, Plant, Production};
use crate::world::invariants::{Invariants, MaterialTotals, Violation, add_totals};
use crate::world::network::Network;
use crate::world::orders::{Order, OrderBook, SupplyLinks};
use crate::world::params::Params;
use crate::world::records::Recorder;
use crate::world::rng::{FirmStreams, Streams};
use crate::world::shipments::{InTransit, Lane};
use bevy_ecs::prelude::*;
use bevy_ecs::schedule::SingleThreadedExecutor;
use std::mem::size_of;

/// The steps of one tick. Licensing (design brief step 5) runs between procurement and
/// markets, so that controlled orders become applications before suppliers fill anything;
/// shipments under licence are settled right after markets. Adaptation (7) comes with the
/// issue that builds it. `Check` verifies the invariants (only with `--check`) before the
/// tick is recorded.
#[derive(SystemSet, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Step {
    Policy,
    Production,
    Procurement,
    Licensing,
    Markets,
    Shipping,
    Check,
    Observation,
}

/// The story of a day, in order:
/// 1. policy: scheduled events take effect, reactive rules fire;
/// 2. production: plan, then make what capacity and inputs allow;
/// 3. procurement: buyers order towards their target stock and supply line;
/// 5. licensing: controlled orders become applications, due ones are decided, live licences
///    become standing orders;
/// 4. markets: suppliers fill orders (rationing when short), licensed shipments are settled,
///    prices move;
/// 6. shipping: arrivals are delivered, customs holds released, filled orders sent;
/// - check: the invariants, only with `--check`;
/// 8. observation: the day's rows are recorded.
pub fn day() -> Schedule {
    let mut schedule = Schedule::default();
    schedule.set_executor(SingleThreadedExecutor::new());
    for pair in STEPS.windows(2) {
        schedule.configure_sets(pair[0].before(pair[1]));
    }
    for step in STEPS {
        add_step(&mut schedule, step);
    }
    schedule
}

/// The steps in the order the day runs them.
pub const STEPS: [Step; 8] = [
    Step::Policy,
    Step::Production,
    Step::Procurement,
    Step::Licensing,
    Step::Markets,
    Step::Shipping,
    Step::Check,
    Step::Observation,
];

/// Adds the systems of `step` to `schedule`, in their order within the step.
fn add_step(schedule: &mut Schedule, step: Step) {
    match step {
        Step::Policy => schedule.add_systems(policy::apply_policy.in_set(Step::Policy)),
        Step::Production => schedule.add_systems(production::produce.in_set(Step::Production)),
        Step::Procurement => schedule.add_systems(procurement::place_orders.in_set(Step::Procurement)),
        Step::Licensing => schedule.add_systems(licensing::license_trade.in_set(Step::Licensing)),
        Step::Markets => schedule.add_systems(
            (markets::fill_orders, licensing::settle_licences, markets::adjust_prices)
                .chain()
                .in_set(Step::Markets),
        ),
        Step::Shipping => schedule.add_systems(shipping::ship_goods.in_set(Step::Shipping)),
        Step::Check => schedule.add_systems(check::check_tick.in_set(Step::Check).run_if(check::checks_on)),
        Step::Observation => schedule.add_systems(observe::record_tick.in_set(Step::Observation)),
    };
}

/// The day cut into one schedule per step, in [`STEPS`] order: running them in turn on a
/// world is one tick of [`day`] (then advance the clock, as [`Simulation::step`] does). For
/// benchmarks that time each step.
pub fn day_by_step() -> Vec<(Step, Schedule)> {
    STEPS
        .into_iter()
        .map(|step| {
            let mut schedule = Schedule::default();
            schedule.set_executor(SingleThreadedExecutor::new());
            add_step(&mut schedule, step);
            (step, schedule)
        })
        .collect()
}

/// Bytes of state one tick reads or writes, by kind (see [`Simulation::state_bytes`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StateBytes {
    /// Firms' components and input slots, draw counts and supplier-board entries.
    pub firms: u64,
    /// Supply links and their per-link state.
    pub links: u64,
    /// The day's order book.
    pub orders: u64,
    /// Shipments sent and arriving.
    pub shipments: u64,
    /// Output rows recorded.
    pub rows: u64,
}

impl StateBytes {
    pub fn total(&self) -> u64 {
        self.firms + self.links + self.orders + self.shipments + self.rows
    }
}

/// One run: the ECS world, its schedule and the network it was built from.
pub struct Simulation {
    pub world: World,
    pub schedule: Schedule,
    pub network: Network,
}

impl Simulation {
    /// Builds the world at its start date in the steady state of `network` (see
    /// [`crate::world::build`]) with the day's schedule.
    pub fn new(model: &Model, network: Network, seed: u64) -> Simulation {
        bevy_tasks::ComputeTaskPool::get_or_init(bevy_tasks::TaskPool::default);
        let world = build_world(model, &network, seed);
        Simulation {
            world,
            schedule: day(),
            network,
        }
    }

    /// [`Simulation::new`] for a run that needs the firms' specs no more: it takes them out of
    /// `model` (and the per-firm inputs out of `network`) as soon as the firms are spawned and
    /// gives their memory back before building the rest of the world (see
    /// [`crate::world::build::build_world_releasing`]). What `chokepoint run` does: a
    /// 10^6-firm world then never holds its specs and its state at once.
    pub fn new_releasing(model: &mut Model, mut network: Network, seed: u64) -> Simulation {
        bevy_tasks::ComputeTaskPool::get_or_init(bevy_tasks::TaskPool::default);
        let world = build_world_releasing(model, &mut network, seed);
        Simulation {
            world,
            schedule: day(),
            network,
        }
    }

    /// Runs the per-firm systems on the calling thread only (see [`Params::parallel`]).
    pub fn set_parallel(&mut self, parallel: bool) {
        self.world.resource_mut::<Params>().parallel = parallel;
    }

    /// The calendar.
    pub fn clock(&self) -> Clock {
        *self.world.resource::<Clock>()
    }

    /// True once every tick has run.
    pub fn finished(&self) -> bool {
        let c = self.clock();
        c.tick >= c.ticks
    }

    /// Runs one tick and advances the clock.
    pub fn step(&mut self) {
        self.schedule.run(&mut self.world);
        self.world.resource_mut::<Clock>().tick += 1;
    }

    /// Turns the invariant checks of every tick on or off (`--check`; see
    /// [`crate::world::invariants`]). Turned on, material balance is checked from the current
    /// state on. The run's output does not depend on it.
    pub fn set_check(&mut self, on: bool) {
        let totals = self.material_totals();
        let mut inv = self.world.resource_mut::<Invariants>();
        inv.check = on;
        inv.before = totals;
    }

    /// The first invariant broken so far (only looked for while checks are on); the run
    /// should stop at the tick it names.
    pub fn violation(&self) -> Option<&Violation> {
        self.world.resource::<Invariants>().violation.as_ref()
    }

    /// Runs one tick, then returns the first broken invariant if any (see [`Simulation::step`]
    /// and [`Simulation::violation`]).
    pub fn step_checked(&mut self) -> Result<(), Violation> {
        self.step();
        self.violation().map_or(Ok(()), |v| Err(v.clone()))
    }

    /// How many times a stock, an in-transit or an on-order quantity was a rounding error
    /// from zero where it had to be zero, and was set to zero (see
    /// [`crate::world::invariants::settle_rounding`]); counted whether or not checks are on.
    pub fn clamped(&self) -> u64 {
        self.world.resource::<Invariants>().clamped
    }

    /// World totals per commodity, read straight from the firms: what was produced and
    /// consumed in the last tick, and what is in stock and in transit now. Material is
    /// conserved when, for every commodity, produced = consumed + Δstock + Δin_transit.
    pub fn material_totals(&mut self) -> Vec<MaterialTotals> {
        let mut totals = vec![MaterialTotals::default(); self.network.commodities.len()];
        let mut q = self.world.query::<(&Plant, &Production, &Finished, &Inputs)>();
        for (plant, prod, fin, inputs) in q.iter(&self.world) {
            add_totals(&mut totals, plant, prod, fin, inputs);
        }
        totals
    }

    /// The bytes of state the last tick had to read or write, each counted once (issue 11's
    /// bandwidth bound: no tick can take less than these bytes over the memory bandwidth).
    /// Call it right after [`Simulation::step`], with the recorder emptied before the step so
    /// its rows are that tick's.
    pub fn state_bytes(&mut self) -> StateBytes {
        let mut firms = 0;
        let mut q = self.world.query::<(&Plant, &Production, &Finished, &Inputs)>();
        for (_, _, _, inputs) in q.iter(&self.world) {
            firms += size_of::<Plant>() + size_of::<Production>() + size_of::<Finished>() + size_of::<Inputs>();
            firms += inputs.slots.len() * size_of::<InputSlot>();
        }
        let n_firms = self.world.resource::<FirmStreams>().firms.len();
        // Each firm's draw counts and its offer on the supplier board.
        firms += n_firms * (size_of::<Streams>() + size_of::<crate::world::orders::Offer>());
        let links = self.world.resource::<SupplyLinks>();
        // Every link's status (buyers look for qualifications complete) and, once licensing
        // has work, its learned approval and units awaiting a decision; the terms of every link
        // that is or has been a supplier (ordering and delivery stop at the last of an
        // input's, `InputSlot::traded`), and its fill rate, smoothed orders, part of the
        // spare, want and tally (two), and purchase history if kept.
        let licensing = if links.approval.is_empty() { 0 } else { 2 };
        let per_link = licensing * size_of::<f64>() + crate::world::orders::LinkStatuses::BYTES_PER_LINK;
        let per_supplier = size_of::<crate::world::network::Link>() + (6 + usize::from(links.track_history)) * size_of::<f64>();
        let traded = links.trade.len();
        let links = links.links.len() * per_link + traded * per_supplier + links.trade.bytes();
        let book = self.world.resource::<OrderBook>();
        // Each order and its terms in the list (read by every pass over the book).
        let orders = book.orders.len() * (size_of::<Order>() + size_of::<crate::world::orders::Listed>());
        // Each filled order is staged on its link (2 bytes) and put into its lane's cell (8) by
        // delivery, which reads the lane and staging of every link that is or has been a
        // supplier, every lane's entry and today's row of each ring group.
        let sent = book.orders.iter().filter(|o| o.filled > 0.0).count();
        let transit = self.world.resource::<InTransit>();
        let today: usize = transit.groups.iter().map(|g| g.cap as usize).sum();
        let shipments = sent * (size_of::<u16>() + size_of::<f64>())
            + today * size_of::<f64>()
            + traded * (size_of::<u32>() + size_of::<u16>())
            + transit.lanes.len() * size_of::<Lane>();
        let rows = self.world.resource::<Recorder>().bytes();
        StateBytes {
            firms: firms as u64,
            links: links as u64,
            orders: orders as u64,
            shipments: shipments as u64,
            rows: rows as u64,
        }
    }

    /// The recorder with the rows not yet written.
    pub fn recorder_mut(&mut self) -> Mut<'_, Recorder> {
        self.world.resource_mut::<Recorder>()
    }
}
