//! The invariants of a run (`--check`), through the library: every shipped model keeps them
//! at every tick, and on small worlds each check reports a broken invariant — provoked by
//! corrupting the world between ticks — at the right tick, for the right agent.

use chokepoint::model::load::Source;
use chokepoint::model::policy::{Approval, Dist, ExportControl};
use chokepoint::model::{Model, Route};
use chokepoint::run::{RunOptions, resolve_model};
use chokepoint::tick::Simulation;
use chokepoint::world::firm::{Finished, FirmIndex, Inputs};
use chokepoint::world::invariants::Invariant;
use chokepoint::world::licences::Licensing;
use chokepoint::world::network::Network;
use chokepoint::world::orders::SupplyLinks;
use chokepoint::world::shipments::{InTransit, LANE_RING_MAX, RING_TICKS_MAX, ShipmentQueue};
use std::collections::BTreeMap;
use std::path::Path;

mod common;
use common::worlds::{self, firm};

/// Ore mined in AA, made into parts in AA, parts bought by a carmaker in BB (route 5 days).
fn world(days: i32) -> Model {
    let firms = vec![
        firm("mine", "AA", "miner", "ore", 100.0, &[], 10.0),
        firm("parts", "AA", "refiner", "part", 50.0, &[("ore", 1.0)], 10.0),
        firm("carmaker", "BB", "automaker", "good", 40.0, &[("part", 1.0)], 10.0),
    ];
    let route = Route {
        from: "AA".into(),
        to: "BB".into(),
        days: 5,
        jitter_days: 0,
        both_ways: true,
    };
    worlds::world(&["AA", "BB"], firms, vec![route], 1, days, 0.02)
}

fn with_control(mut m: Model, review: Dist) -> Model {
    m.policies.controls.push(ExportControl {
        id: "aa_parts".into(),
        nation: "AA".into(),
        active: true,
        commodities: [("part".to_string(), 1.0)].into(),
        phase_in_days: 0,
        review_working_days: review,
        approval: Approval {
            civil: 1.0,
            civil_by_destination: BTreeMap::new(),
            defence: 1.0,
            defence_by_destination: BTreeMap::new(),
        },
        validity_days: 90,
        annual_quota: BTreeMap::new(),
        quota_release: Default::default(),
        banned: vec![],
        general_licences: vec![],
        inspection: None,
    });
    m
}

/// The world as a run builds it, without the model-file checks (which cap what some tests
/// here exceed on purpose), with checks on.
fn build(model: &Model) -> Simulation {
    let src = Source::new("small.ron", "");
    let net = Network::resolve(model, &src).expect("resolvable world");
    let mut sim = Simulation::new(model, net, model.seed);
    sim.set_check(true);
    sim
}

/// Steps to the end or to the first violation.
fn run_checked(sim: &mut Simulation) -> Result<(), chokepoint::world::invariants::Violation> {
    while !sim.finished() {
        sim.step_checked()?;
    }
    Ok(())
}

/// Runs `ticks` ticks, then changes the world with `corrupt`, then steps until a violation
/// (at most 40 more ticks); returns it.
fn violation_after(model: &Model, ticks: u32, corrupt: impl FnOnce(&mut Simulation)) -> chokepoint::world::invariants::Violation {
    let mut sim = build(model);
    for _ in 0..ticks {
        sim.step_checked().expect("no violation before the corruption");
    }
    corrupt(&mut sim);
    for _ in 0..40 {
        if let Err(v) = sim.step_checked() {
            return v;
        }
    }
    panic!("the corruption went unreported");
}

/// Applies `f` to the components of the firm with dense index `f_idx`.
fn with_firm(sim: &mut Simulation, f_idx: u32, f: impl FnOnce(&mut Inputs, &mut Finished)) {
    let mut q = sim.world.query::<(&FirmIndex, &mut Inputs, &mut Finished)>();
    for (idx, mut inputs, mut fin) in q.iter_mut(&mut sim.world) {
        if idx.0 == f_idx {
            f(&mut inputs, &mut fin);
            return;
        }
    }
    panic!("no firm {f_idx}");
}

#[test]
fn every_shipped_model_keeps_every_invariant_at_every_tick_with_few_roundings() {
    let mut models: Vec<_> = std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("models"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "ron"))
        .collect();
    models.sort();
    assert!(models.len() >= 7, "{models:?}");
    for path in models {
        let (model, _, network) = resolve_model(&path, &RunOptions::default()).expect("shipped model loads");
        let mut sim = Simulation::new(&model, network, model.seed);
        sim.set_parallel(false);
        sim.set_check(true);
        if let Err(v) = run_checked(&mut sim) {
            panic!("{}: {v}", path.display());
        }
        // Stocks and quantities in transit as the tables record them: never below zero.
        let rec = sim.recorder_mut();
        let lowest = |xs: &[f64]| xs.iter().copied().fold(f64::INFINITY, f64::min);
        for (name, xs) in [
            ("firms.inventory", &rec.firms.inventory),
            ("nations.stock", &rec.nations.stock),
            ("nations.in_transit", &rec.nations.in_transit),
        ] {
            assert!(lowest(xs) >= 0.0, "{}: {name} down to {:e}", path.display(), lowest(xs));
        }
        let ticks = u64::from(sim.clock().ticks);
        let firms = sim.network.firms.len() as u64;
        let clamped = sim.clamped();
        eprintln!(
            "{}: {clamped} roundings set to zero in {ticks} ticks × {firms} firms",
            path.display()
        );
        assert!(
            clamped <= ticks * firms / 10,
            "{}: {clamped} roundings set to zero in {ticks} ticks of {firms} firms",
            path.display()
        );
    }
}

#[test]
fn checking_changes_nothing_in_the_output() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/april_2025.ron");
    let rows = |check: bool| {
        let (model, _, network) = resolve_model(&path, &RunOptions::default()).unwrap();
        let mut sim = Simulation::new(&model, network, model.seed);
        sim.set_parallel(false);
        sim.set_check(check);
        while !sim.finished() {
            sim.step();
        }
        let apps = sim.world.resource::<Licensing>().applications.len();
        let rec = sim.recorder_mut();
        (
            rec.firms.inventory.clone(),
            rec.firms.planned.clone(),
            rec.nations.in_transit.clone(),
            rec.flows.value_usd.clone(),
            rec.prices.price_usd.clone(),
            apps,
        )
    };
    let (on, off) = (rows(true), rows(false));
    assert!(on.5 > 0, "the scenario files licence applications");
    assert!(on == off, "output differs with checks on");
}

#[test]
fn a_nan_stock_is_reported_at_its_tick_with_its_firm_and_input_and_only_when_checking() {
    let v = violation_after(&world(30), 3, |sim| {
        with_firm(sim, 2, |inputs, _| inputs.slots[0].stock = f64::NAN);
    });
    assert_eq!((v.invariant, v.tick), (Invariant::Finite, 3), "{v}");
    assert!(v.agent.contains("carmaker") && v.agent.contains("part"), "{v}");
    assert!(v.to_string().contains("tick 3 (2025-01-04)"), "{v}");

    // Unchecked, the same corruption goes unreported.
    let mut sim = build(&world(30));
    sim.set_check(false);
    sim.step();
    with_firm(&mut sim, 2, |inputs, _| inputs.slots[0].stock = f64::NAN);
    sim.step();
    assert!(sim.violation().is_none());
}

#[test]
fn a_stock_below_zero_beyond_rounding_is_reported_with_the_numbers() {
    // Production adds at most 50 parts a tick: the stock stays far below zero.
    let v = violation_after(&world(30), 4, |sim| {
        with_firm(sim, 1, |_, fin| fin.stock = -1e6);
    });
    assert_eq!((v.invariant, v.tick), (Invariant::NonNegative, 4), "{v}");
    assert!(v.agent.contains("`parts`") && v.detail.contains("finished stock is -9.99"), "{v}");

    let v = violation_after(&world(30), 2, |sim| {
        with_firm(sim, 2, |inputs, _| inputs.slots[0].in_transit -= 1e3);
    });
    assert_eq!((v.invariant, v.tick), (Invariant::NonNegative, 2), "{v}");
    assert!(v.agent.contains("carmaker") && v.detail.contains("in transit"), "{v}");
}

#[test]
fn material_appearing_from_nowhere_breaks_the_balance_of_its_commodity() {
    let v = violation_after(&world(30), 5, |sim| {
        with_firm(sim, 1, |inputs, _| inputs.slots[0].stock += 5.0);
    });
    assert_eq!((v.invariant, v.tick), (Invariant::MaterialBalance, 5), "{v}");
    assert!(v.agent.contains("`ore`"), "{v}");
}

#[test]
fn a_licence_decided_before_its_review_time_is_reported() {
    // Reviews take 10 working days; the first application (tick 0, Wednesday 1 January) is
    // decided on tick 14 (15 January). Claiming it was drawn 20 working days makes that early.
    let model = with_control(world(40), Dist::Fixed(10.0));
    let v = violation_after(&model, 1, |sim| {
        let mut lic = sim.world.resource_mut::<Licensing>();
        assert_eq!(lic.applications[0].review_working_days, 10);
        lic.applications[0].review_working_days = 20;
    });
    assert_eq!((v.invariant, v.tick), (Invariant::ReviewTime, 14), "{v}");
    assert!(
        v.agent.contains("licence application 0") && v.detail.contains("not before 2025-01-29"),
        "{v}"
    );

    // Unaltered, the same run decides its licences on time.
    let mut sim = build(&model);
    run_checked(&mut sim).expect("licences decided on time");
    assert!(
        sim.world
            .resource::<Licensing>()
            .applications
            .iter()
            .any(|a| a.decided_tick.is_some())
    );
}

#[test]
fn a_shipment_arriving_before_its_route_allows_is_reported() {
    // Parts leave for BB from tick 0 on a 5-day route; if the route is said to take 30 days,
    // the first of them (sent at tick 0, the pipeline aside) arrives too early, at tick 5.
    let v = violation_after(&world(30), 1, |sim| {
        let mut links = sim.world.resource_mut::<SupplyLinks>();
        let k = links.links.iter().position(|l| l.days == 5).expect("the AA -> BB link");
        links.links[k].days = 30;
    });
    assert_eq!((v.invariant, v.tick), (Invariant::LeadTime, 5), "{v}");
    assert!(v.agent.contains("`parts`") && v.agent.contains("`carmaker`"), "{v}");
    assert!(v.detail.contains("5 days") && v.detail.contains("at least 30 days"), "{v}");
}

/// Goods that leave the rings without reaching the buyer (here, the carmaker's lane emptied
/// after five ticks) are goods the buyer still counts in transit: the check reports it on the
/// next tick, though material balances (the buyers' counts move as before).
#[test]
fn goods_lost_from_a_lane_are_reported_against_what_the_buyer_counts_in_transit() {
    let v = violation_after(&world(30), 5, |sim| {
        let links = sim.world.resource::<SupplyLinks>();
        let k = links.links.iter().position(|l| l.days == 5).expect("the AA -> BB link");
        let mut t = sim.world.resource_mut::<InTransit>();
        let lane = t.lane_of[k] as usize;
        let (g, pos, len) = (t.lanes[lane].group as usize, t.lanes[lane].pos, t.lanes[lane].len);
        let group = &mut t.groups[g];
        for ahead in 0..u32::from(len) {
            let c = group.cell(pos, ahead);
            group.cells[c] = 0.0;
        }
    });
    assert_eq!((v.invariant, v.tick), (Invariant::InTransit, 5), "{v}");
    assert!(v.agent.contains("`carmaker`") && v.agent.contains("`part`"), "{v}");
    assert!(v.detail.contains("in transit") && v.detail.contains("on its way"), "{v}");
}

#[test]
fn a_route_of_a_million_days_keeps_the_goods_on_their_way_small() {
    let mut m = world(5);
    m.routes.links[0].days = 1_000_000;
    let mut sim = build(&m);
    // Rings reach at most LANE_RING_MAX ticks; the part of the long line's starting pipeline
    // beyond its ring stays one entry, not one shipment per day of its lead time.
    let t = sim.world.resource::<InTransit>();
    assert!(t.lanes.iter().all(|r| usize::from(r.len) <= LANE_RING_MAX));
    assert!(t.cells() <= 2 * LANE_RING_MAX * 8, "{} cells", t.cells());
    let q = sim.world.resource::<ShipmentQueue>();
    assert_eq!((q.pipelines().len(), q.len()), (1, 0));
    assert!(q.reach() <= RING_TICKS_MAX, "ring of {} ticks", q.reach());
    run_checked(&mut sim).expect("invariants hold");
    let q = sim.world.resource::<ShipmentQueue>();
    assert!(q.reach() <= RING_TICKS_MAX, "ring of {} ticks", q.reach());
    // Goods sent on the long route wait in the queue, one entry per day sent.
    let ticks = sim.clock().ticks as usize;
    assert!(q.len() <= ticks, "{} shipments queued in {ticks} ticks", q.len());
    assert!(sim.world.resource::<InTransit>().cells() <= 2 * LANE_RING_MAX * 8);
}

#[test]
fn a_review_of_ten_to_the_nineteen_working_days_is_never_reached_and_does_not_hang() {
    let model = with_control(world(31), Dist::Fixed(1e19));
    let mut sim = build(&model);
    run_checked(&mut sim).expect("invariants hold");
    let lic = sim.world.resource::<Licensing>();
    assert!(!lic.applications.is_empty());
    assert!(lic.applications.iter().all(|a| a.decided_tick.is_none()));
}

/// Prices at the edge of their ranges: the strongest response to cover, the weakest pull to
/// cost, the shortest adjustment time and no tolerance.
fn loosest_prices(m: &mut Model) {
    m.prices.coverage_sensitivity = chokepoint::model::limits::MAX_PRICE_RESPONSE;
    m.prices.cost_weight = chokepoint::model::limits::MIN_COST_WEIGHT;
    m.prices.adjust_days = 1.0;
    m.prices.cover_tolerance = 0.0;
}

#[test]
fn extreme_values_within_the_model_caps_give_finite_tables() {
    // Prices of 10^12 USD, capacities of 10^12 a day, recipes of 10^6, an elasticity of 10^6
    // and prices as sensitive to cover and as loose from cost as the model allows: every
    // quantity stays finite and every invariant holds.
    let mut m = world(60);
    for c in m.commodities.iter_mut() {
        c.price_usd = 1e12;
    }
    m.firms[0].capacity_per_day = 1e12;
    m.firms[1].capacity_per_day = 1e12;
    m.firms[1].recipe.insert("ore".into(), 1e6);
    m.firms[2].capacity_per_day = 1e6;
    m.firms[2].price_elasticity = 1e6;
    loosest_prices(&mut m);
    let mut sim = build(&m);
    run_checked(&mut sim).expect("invariants hold");
    let rec = sim.recorder_mut();
    for (name, xs) in [
        ("firms.planned", &rec.firms.planned),
        ("firms.inventory", &rec.firms.inventory),
        ("flows.value_usd", &rec.flows.value_usd),
        ("flows.tariff_usd", &rec.flows.tariff_usd),
        ("prices.price_usd", &rec.prices.price_usd),
    ] {
        assert!(xs.iter().all(|x| x.is_finite()), "{name} has a NaN or infinity");
    }
}

#[test]
fn a_price_under_endless_shortage_with_the_weakest_pull_to_cost_stays_within_its_bound() {
    // Parts for an eighth of the carmaker's plan for four years. With a response to cover
    // 10^4 times the pull to cost, the price would settle at (1/8)^-10^4 of its anchor, far
    // past 10^308, without the bound.
    let mut m = world(1500);
    m.firms[2].capacity_per_day = 400.0;
    loosest_prices(&mut m);
    let mut sim = build(&m);
    run_checked(&mut sim).expect("invariants hold");
    let rec = sim.recorder_mut();
    let highest = rec.prices.price_usd.iter().copied().fold(0.0, f64::max);
    assert!(
        highest.is_finite() && highest <= 100.0 * chokepoint::tick::markets::PRICE_RANGE,
        "{highest}"
    );
    assert!(highest >= 100.0 * 1e5, "the shortage drives the price up to its bound: {highest}");
}
