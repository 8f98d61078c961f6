//! The world and its day: building entities from a model, the ordered schedule of one tick,
//! and stepping through the calendar.

use crate::calendar::Date;
use crate::firm::{Finished, FirmIndex, InputSlot, Inputs, LineRule, LineState, Lines, Plant, Production, Streams};
use crate::invariants::{Invariants, Violation, add_totals, check_tick};
use crate::licensing::{Licensing, license_trade, settle_licences};
use crate::markets::{PriceBook, adjust_prices, fill_orders};
use crate::model::{Buying, LineRationing, Model, Planning, PriceRules};
use crate::network::Network;
use crate::observe::{Recorder, record_tick};
use crate::policy::{PolicyState, apply_policy};
use crate::procurement::{OrderBook, SupplyLinks, place_orders};
use crate::production::{MarketDemand, produce};
use crate::rng::{Purpose, stream};
use crate::shipping::{Pipeline, Shipment, ShipmentQueue, TradeBook, ship_goods};
use bevy_ecs::prelude::*;
use bevy_ecs::schedule::SingleThreadedExecutor;

/// The simulated calendar: which tick it is and what date that is.
#[derive(Resource, Debug, Clone, Copy)]
pub struct Clock {
    /// Current tick, from 0.
    pub tick: u32,
    pub start: Date,
    pub tick_days: u32,
    /// Number of ticks in the run.
    pub ticks: u32,
}

impl Clock {
    /// First day of the current tick.
    pub fn date(&self) -> Date {
        let days = u64::from(self.tick) * u64::from(self.tick_days);
        self.start.plus_days(i32::try_from(days).unwrap_or(i32::MAX))
    }
}

/// Behavioural parameters shared by all firms.
#[derive(Resource, Debug, Clone)]
pub struct Params {
    pub prices: PriceRules,
    pub planning: Planning,
    pub buying: Buying,
    /// Run the per-firm systems on the compute pool (true) or on the calling thread (false,
    /// as in sweeps, where runs are the unit of parallelism). Results are the same.
    pub parallel: bool,
}

/// Fixed facts about each firm by dense index, for systems that handle other firms' orders.
#[derive(Resource, Debug, Clone)]
pub struct Registry {
    pub entity: Vec<Entity>,
    pub nation: Vec<u16>,
    pub role: Vec<u16>,
    pub output: Vec<u16>,
    /// Price region of each nation.
    pub nation_region: Vec<u16>,
    /// Share of each firm's licence applications declared for defence.
    pub defence_share: Vec<f64>,
}

impl Registry {
    /// Price region in which firm `f` buys.
    pub fn firm_region(&self, f: u32) -> u16 {
        self.nation_region[self.nation[f as usize] as usize]
    }
}

/// The steps of one tick. Licensing (design brief step 5) runs between procurement and
/// markets, so that controlled orders become applications before suppliers fill anything;
/// shipments under licence are settled right after markets. Adaptation (7) comes with the
/// issue that builds it. `Check` verifies the invariants (only with `--check`) before the
/// tick is recorded.
#[derive(SystemSet, Debug, Clone, PartialEq, Eq, Hash)]
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

/// World totals of one commodity (see [`Simulation::material_totals`]), in its unit.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct MaterialTotals {
    pub produced: f64,
    pub consumed: f64,
    pub stock: f64,
    pub in_transit: f64,
}

/// One run: the ECS world, its schedule and the network it was built from.
pub struct Simulation {
    pub world: World,
    pub schedule: Schedule,
    pub network: Network,
}

impl Simulation {
    /// Builds the world at its start date in the steady state of `network`: stocks at their
    /// targets and every supply line's pipeline full.
    pub fn new(model: &Model, network: Network, seed: u64) -> Simulation {
        bevy_tasks::ComputeTaskPool::get_or_init(bevy_tasks::TaskPool::default);
        let start = Date::parse(&model.calendar.start).expect("checked start date");
        let end = Date::parse(&model.calendar.end).expect("checked end date");
        let tick_days = model.calendar.tick_days;
        let ticks = ((end.0 - start.0) as u32 + 1).div_ceil(tick_days);
        let td = f64::from(tick_days);
        let lead_ticks = |days: u32| days.div_ceil(tick_days).max(1);

        let mut world = World::new();
        let mut links = SupplyLinks::default();
        let mut pipelines: Vec<Pipeline> = Vec::new();
        let mut max_lead = 1u32;
        let mut entities = Vec::with_capacity(model.firms.len());
        let reference: Vec<f64> = model.commodities.iter().map(|c| c.price_usd).collect();

        for (f, spec) in model.firms.iter().enumerate() {
            let y = network.steady_output[f] * td; // units per tick
            let sales = network.steady_sales[f] * td;
            let mut slots = Vec::with_capacity(network.inputs[f].len());
            for (k, input) in network.inputs[f].iter().enumerate() {
                let from = links.links.len() as u32;
                let mut mean_lead = 0.0;
                for l in &input.links {
                    let lt = lead_ticks(l.days);
                    max_lead = max_lead.max(lead_ticks(l.days.saturating_add(l.jitter_days)));
                    mean_lead += l.share * f64::from(lt);
                    // Goods sent on the ticks before the start are on their way: one shipment
                    // arrives at each of the first `lt` ticks.
                    let flow = y * input.per_unit * l.share;
                    if flow > 0.0 {
                        pipelines.push(Pipeline {
                            shipment: Shipment {
                                buyer: f as u32,
                                slot: k as u16,
                                commodity: input.commodity,
                                exporter: network.firm_nation[l.supplier as usize],
                                quantity: flow,
                                due_tick: 0,
                                held: false,
                                transit_ticks: lt,
                                link: links.links.len() as u32,
                                sent_tick: 0,
                            },
                            until: lt,
                        });
                    }
                    links.links.push(l.clone());
                }
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
                    links: (from, input.links.len() as u32),
                    mean_lead_ticks: mean_lead,
                    consumed: 0.0,
                    scale: stock,
                    in_flight: 0,
                });
            }
            let out = network.firm_output[f];
            let final_good = network.final_demand[out as usize];
            let region = network.nation_region[network.firm_nation[f] as usize];
            let out_id = &network.commodities[out as usize];
            let finished_stock = if final_good {
                0.0
            } else {
                spec.initial_stock
                    .get(out_id)
                    .copied()
                    .unwrap_or(sales * spec.output_cover_days / td)
            };
            let reference_input_cost = slots.iter().map(|s| s.per_unit * reference[s.commodity as usize]).sum();
            let lines = (!spec.lines.is_empty()).then(|| Lines {
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
            });
            let e = world
                .spawn((
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
                    Streams {
                        demand: stream(seed, &spec.id, Purpose::Demand),
                        shipping: stream(seed, &spec.id, Purpose::Shipping),
                        customs: stream(seed, &spec.id, Purpose::Customs),
                        licensing: stream(seed, &spec.id, Purpose::Licensing),
                    },
                ))
                .id();
            if let Some(lines) = lines {
                world.entity_mut(e).insert(lines);
            }
            entities.push(e);
        }

        // Goods in the pipeline count as in transit to their buyers, added arrival by arrival
        // (the order fixes the rounding of the sums, and so the output's bytes). This takes
        // time in proportion to the lead times, but no memory.
        let mut transit: Vec<Vec<f64>> = network.inputs.iter().map(|i| vec![0.0; i.len()]).collect();
        let longest = pipelines.iter().map(|p| p.until).max().unwrap_or(0);
        for arrival in 0..longest {
            for p in pipelines.iter().filter(|p| p.until > arrival) {
                transit[p.shipment.buyer as usize][p.shipment.slot as usize] += p.shipment.quantity;
            }
        }
        let mut queue = ShipmentQueue::new(max_lead as usize);
        for p in pipelines {
            let mut inputs = world.get_mut::<Inputs>(entities[p.shipment.buyer as usize]).expect("buyer");
            inputs.slots[p.shipment.slot as usize].in_flight += u64::from(p.until);
            queue.add_pipeline(p);
        }
        for (f, t) in transit.iter().enumerate() {
            let mut inputs = world.get_mut::<Inputs>(entities[f]).expect("firm");
            for (s, &x) in inputs.slots.iter_mut().zip(t) {
                s.in_transit = x;
                s.scale = s.scale.max(x);
            }
        }

        let nn = network.nations.len();
        let nc = network.commodities.len();
        world.insert_resource(Clock {
            tick: 0,
            start,
            tick_days,
            ticks,
        });
        world.insert_resource(Params {
            prices: model.prices.clone(),
            planning: model.planning.clone(),
            buying: model.buying.clone(),
            parallel: true,
        });
        world.insert_resource(Registry {
            entity: entities,
            nation: network.firm_nation.clone(),
            role: network.firm_role.clone(),
            output: network.firm_output.clone(),
            nation_region: network.nation_region.clone(),
            defence_share: model.firms.iter().map(|f| f.defence_share).collect(),
        });
        world.insert_resource(PolicyState::new(model, &network, start, tick_days));
        world.insert_resource(Licensing::new(links.links.len()));
        links.reliability = vec![1.0; links.links.len()];
        world.insert_resource(links);
        world.insert_resource(OrderBook::default());
        world.insert_resource(queue);
        world.insert_resource(TradeBook::new(nn, nc));
        world.insert_resource(PriceBook::new(network.regions.len(), reference));
        world.insert_resource(Recorder::default());
        world.insert_resource(MarketDemand::new(seed, &network.nations));
        world.insert_resource(Invariants {
            firm_ids: network.firms.clone(),
            commodity_ids: network.commodities.clone(),
            region_ids: network.regions.clone(),
            now: vec![MaterialTotals::default(); nc],
            ..Default::default()
        });

        let mut schedule = Schedule::default();
        schedule.set_executor(SingleThreadedExecutor::new());
        schedule.configure_sets(
            (
                Step::Policy,
                Step::Production,
                Step::Procurement,
                Step::Licensing,
                Step::Markets,
                Step::Shipping,
                Step::Check,
                Step::Observation,
            )
                .chain(),
        );
        schedule.add_systems((
            apply_policy.in_set(Step::Policy),
            produce.in_set(Step::Production),
            place_orders.in_set(Step::Procurement),
            license_trade.in_set(Step::Licensing),
            (fill_orders, settle_licences, adjust_prices).chain().in_set(Step::Markets),
            ship_goods.in_set(Step::Shipping),
            check_tick.in_set(Step::Check).run_if(checks_on),
            record_tick.in_set(Step::Observation),
        ));
        Simulation { world, schedule, network }
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
    /// [`crate::invariants`]). Turned on, material balance is checked from the current state
    /// on. The run's output does not depend on it.
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
    /// [`crate::invariants::settle_rounding`]); counted whether or not checks are on.
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

    /// The recorder with the rows not yet written.
    pub fn recorder_mut(&mut self) -> Mut<'_, Recorder> {
        self.world.resource_mut::<Recorder>()
    }
}

/// Run condition of the `check_tick` system.
fn checks_on(inv: Res<Invariants>) -> bool {
    inv.check
}
