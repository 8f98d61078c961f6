//! Supplier search (issue 10 §2b): a buyer whose supplier keeps failing it qualifies a new
//! supplier of the same good, which gets orders only once qualified, and the supplier it no
//! longer uses fades back to a candidate.

use chokepoint::model::policy::{Action, Event};
use chokepoint::model::{Model, Route, SupplierShare, Suppliers};
use chokepoint::world::orders::{LinkStatus, OrderBook, SupplyLinks};
use std::collections::BTreeMap;

mod common;
use common::worlds::{checked_simulation, firm, ore_control, world};

/// T3's world: mine M1 in AA and mine M2 in CC (200 t/day of ore each); final producer F in BB
/// (50 units/day, 1 t of ore each, 20 days of cover) buys only from M1. Routes AA→BB and
/// CC→BB take 10 days. Mine M3 in AA (300 t/day) is F's first candidate (its rule names AA,
/// and M3 is larger), but it is under the same control as M1. A control on ore out of AA is in force from the start and approves
/// everything until day 30, when BB is banned. Search from an expected delivered share of 0.5,
/// qualification 90 days, habit 60 days.
fn search_world(search_below: f64) -> Model {
    let m1 = firm("m1", "AA", "miner", "ore", 200.0, &[], 10.0);
    let m2 = firm("m2", "CC", "miner", "ore", 200.0, &[], 10.0);
    let mut f = firm("f", "BB", "automaker", "good", 50.0, &[("ore", 1.0)], 20.0);
    f.suppliers = BTreeMap::from([(
        "ore".to_string(),
        Suppliers::Listed(vec![SupplierShare {
            firm: "m1".into(),
            share: 1.0,
        }]),
    )]);
    let route = |from: &str| Route {
        from: from.into(),
        to: "BB".into(),
        days: 10,
        jitter_days: 0,
        both_ways: false,
    };
    let m3 = firm("m3", "AA", "miner", "ore", 300.0, &[], 10.0);
    let mut m = world(
        &["AA", "BB", "CC"],
        vec![m1, m2, f, m3],
        vec![route("AA"), route("CC")],
        1,
        450,
        0.0,
    );
    m.buying.search_below = search_below;
    m.buying.qualification_days = 90.0;
    m.buying.habit_days = 60.0;
    m.policies.controls.push(ore_control(true, 1.0, 1.0));
    m.policies.events.push(Event {
        date: "2025-01-31".into(),
        announced: None,
        nation: "AA".into(),
        action: Action::Ban {
            control: "aa_ore".into(),
            destination: "BB".into(),
        },
        note: String::new(),
    });
    m
}

/// Per tick: the status and share of F's links to M1, M2 and M3, and the units ordered from M2.
struct Trace {
    m1: Vec<(LinkStatus, f64)>,
    m2: Vec<(LinkStatus, f64)>,
    m3: Vec<(LinkStatus, f64)>,
    to_m2: Vec<f64>,
}

fn trace(model: &Model) -> Trace {
    let mut sim = checked_simulation(model);
    let mut t = Trace {
        m1: Vec::new(),
        m2: Vec::new(),
        m3: Vec::new(),
        to_m2: Vec::new(),
    };
    while !sim.finished() {
        sim.step_checked().expect("invariants hold");
        let links = sim.world.resource::<SupplyLinks>();
        let of = |supplier: u32| {
            let l = links.links.iter().position(|l| l.supplier == supplier).expect("a link");
            (links.status.get(l), links.links[l].share)
        };
        t.m1.push(of(0));
        t.m2.push(of(1));
        t.m3.push(of(3));
        let book = sim.world.resource::<OrderBook>();
        let terms = book.terms();
        t.to_m2
            .push(book.orders.iter().filter(|o| terms.of(o).supplier == 1).map(|o| o.quantity).sum());
    }
    t
}

#[test]
fn a_failing_buyer_qualifies_a_new_supplier_after_the_lag_and_the_dead_link_fades() {
    let t = trace(&search_world(0.5));
    assert_eq!(t.m2[0], (LinkStatus::Candidate, 0.0), "M2 starts as a candidate");
    let started =
        t.m2.iter()
            .position(|s| matches!(s.0, LinkStatus::Qualifying { .. }))
            .expect("F starts to qualify M2");
    assert!(started > 30, "no search before the ban (day 30): started on day {started}");
    assert_eq!(
        t.m2[started].0,
        LinkStatus::Qualifying {
            ready_tick: started as u32 + 90
        }
    );
    let active = t.m2.iter().position(|s| s.0 == LinkStatus::Active).expect("M2 qualifies");
    assert_eq!(active, started + 90, "M2 is a supplier exactly 90 days after the search began");
    assert!(t.to_m2[..active].iter().all(|&q| q == 0.0), "no order to M2 before it qualifies");
    assert!(
        t.to_m2[active..active + 3].iter().any(|&q| q > 0.0),
        "orders go to M2 within 2 ticks: {:?}",
        &t.to_m2[active..active + 3]
    );
    let faded = t.m1.iter().position(|s| s.0 == LinkStatus::Candidate).expect("M1 fades");
    assert!(
        faded > active && faded <= active + 4 * 60,
        "M1 fades after M2 qualifies and within 4 habit periods: day {faded}, M2 on day {active}"
    );
    // One habit step (1/60 of the way towards its part of the orders, about 0) before it fades,
    // its share was below 0.02 × 60/59.
    let before = t.m1[faded - 1].1;
    assert!(before < 0.02 * 60.0 / 59.0, "M1's share the day before it fades: {before}");
    assert_eq!(t.m1[faded].1, 0.0);
    assert!(
        t.m3.iter().all(|s| *s == (LinkStatus::Candidate, 0.0)),
        "M3, first in line but under the same control as M1, is never qualified"
    );
    let (status, share) = *t.m2.last().unwrap();
    assert_eq!((status, share), (LinkStatus::Active, 1.0), "F ends buying all its ore from M2");
}

#[test]
fn without_search_the_buyer_never_orders_from_a_producer_it_has_no_link_to() {
    let t = trace(&search_world(0.0));
    assert!(t.m2.iter().all(|s| *s == (LinkStatus::Candidate, 0.0)));
    assert!(t.to_m2.iter().all(|&q| q == 0.0));
    assert!(t.m1.iter().all(|s| *s == (LinkStatus::Active, 1.0)));
}

/// A buyer's goods from abroad share one lane (one ring of per-tick cells per input and side of
/// the border), whoever sends them. A supplier qualified on a longer route lengthens that lane
/// while the old supplier's goods are on their way in it: they arrive when due, every tick's
/// invariants hold (lead times included), and what the rings hold is what buyers count in
/// transit, tick by tick.
#[test]
fn a_supplier_qualified_on_a_longer_route_lengthens_the_lane_and_no_goods_are_lost() {
    use chokepoint::world::firm::Inputs;
    use chokepoint::world::shipments::{InTransit, ShipmentQueue};
    let mut m = search_world(0.5);
    // M2's route from CC takes 30 days, M1's 10. No ban: 40% of applications are approved,
    // so M1's goods keep coming while F searches and qualifies M2.
    m.routes.links[1].days = 30;
    m.policies.events.clear();
    m.policies.controls[0] = ore_control(true, 0.4, 1.0);
    let mut sim = checked_simulation(&m);
    {
        // M2 starts as a candidate: it has no trade state until it is qualified.
        let links = sim.world.resource::<SupplyLinks>();
        let l2 = links.links.iter().position(|l| l.supplier == 1).expect("a link");
        assert_eq!(links.trade.of(l2), None, "a candidate carries no trade state");
    }
    let mut lengthened = None;
    let mut carried_when_lengthened = 0.0;
    let mut tick = 0;
    while !sim.finished() {
        let before = sim.world.resource::<InTransit>().total();
        sim.step_checked().expect("invariants hold");
        let links = sim.world.resource::<SupplyLinks>();
        let link = |s: u32| links.links.iter().position(|l| l.supplier == s).expect("a link");
        let (l1, l2) = (link(0), link(1));
        let t = sim.world.resource::<InTransit>();
        if t.has_lane(l2) {
            let trade = links.trade.of(l2).expect("a qualified supplier has trade state");
            assert_eq!(trade, links.trade.len() - 1, "taken after the suppliers at the start");
            let nation = &sim.world.resource::<chokepoint::world::registry::Registry>().nation;
            let o = links.owner[trade];
            assert_eq!(
                (o.exporter, o.importer),
                (nation[1], nation[2]),
                "from M2's nation (CC) to F's (BB)"
            );
            assert_eq!(t.lane_of[l1], t.lane_of[l2], "tick {tick}: M1 and M2 are both abroad: one lane");
            assert_eq!(t.reach_of(l2), 31, "tick {tick}: the lane reaches M2's 30 days");
            if lengthened.is_none() {
                lengthened = Some(tick);
                carried_when_lengthened = before;
            }
        } else {
            assert_eq!(t.reach_of(l1), 11, "tick {tick}: the lane reaches M1's 10 days");
        }
        assert!(sim.world.resource::<ShipmentQueue>().is_empty(), "nothing waits beyond a ring");
        let rings = t.total();
        let counted: f64 = sim
            .world
            .query::<&Inputs>()
            .iter(&sim.world)
            .flat_map(|i| i.slots.iter())
            .map(|s| s.in_transit)
            .sum();
        assert!(
            (rings - counted).abs() <= 1e-9 * counted.max(1.0),
            "tick {tick}: rings hold {rings}, buyers count {counted}"
        );
        tick += 1;
    }
    let at = lengthened.expect("M2 qualifies and ships");
    assert!(
        carried_when_lengthened > 0.0,
        "M1's goods were on their way when the lane lengthened (tick {at})"
    );
}

/// Every order of a tick (its place in the book's list of links and its quantity's bits), every
/// input's (stock, precaution, draw) bits in firm order, and how many links are suppliers.
fn day_state(sim: &mut chokepoint::tick::Simulation) -> (Vec<(u32, u64)>, Vec<[u64; 3]>, usize) {
    let orders = sim
        .world
        .resource::<OrderBook>()
        .orders
        .iter()
        .map(|o| (o.at, o.quantity.to_bits()))
        .collect();
    let mut slots = Vec::new();
    let mut q = sim
        .world
        .query::<(&chokepoint::world::firm::FirmIndex, &chokepoint::world::firm::Inputs)>();
    let mut firms: Vec<_> = q.iter(&sim.world).map(|(i, inputs)| (i.0, inputs.slots.clone())).collect();
    firms.sort_by_key(|f| f.0);
    for (_, s) in firms {
        slots.extend(s.iter().map(|s| [s.stock.to_bits(), s.precaution.to_bits(), s.draw.to_bits()]));
    }
    let links = sim.world.resource::<SupplyLinks>();
    let active = links.status.iter().filter(|s| *s == LinkStatus::Active).count();
    (orders, slots, active)
}

#[test]
fn buyers_order_the_same_whether_asked_to_adapt_in_the_ordering_pass_or_all_adapting_first() {
    // The April 2025 controls over the shipped baseline: buyers shut out of Chinese supply
    // search, qualify and drop suppliers over the run. On most days a buyer that need not
    // adapt orders as soon as it is asked; with `adapt_first` every buyer adapts before any
    // orders. Each tick's book and every input must be the same, bit for bit, on one thread
    // and on two.
    let path = common::root().join("models/april_2025.ron");
    let (model, _, net) = chokepoint::run::resolve_model(&path, &Default::default()).expect("shipped model loads");
    let mut fused = chokepoint::tick::Simulation::new(&model, net.clone(), model.seed);
    let mut first = chokepoint::tick::Simulation::new(&model, net.clone(), model.seed);
    let mut parallel = chokepoint::tick::Simulation::new(&model, net, model.seed);
    fused.set_parallel(false);
    first.set_parallel(false);
    first.world.resource_mut::<chokepoint::world::params::Params>().adapt_first = true;
    let (mut days, mut qualified, mut before) = (0, 0, None);
    while !fused.finished() {
        fused.step();
        first.step();
        parallel.step();
        let a = day_state(&mut fused);
        // (Compared without printing the days' states, thousands of numbers.)
        assert!(a == day_state(&mut first), "day {days}: adapting first orders otherwise");
        assert!(a == day_state(&mut parallel), "day {days}: two threads order otherwise");
        if before.is_some_and(|b| a.2 > b) {
            qualified += 1;
        }
        // Every input finds its links' trade state as the index does, suppliers at the start
        // (from the input) and suppliers qualified since (from the index) alike.
        let inputs: Vec<_> = fused
            .world
            .query::<&chokepoint::world::firm::Inputs>()
            .iter(&fused.world)
            .cloned()
            .collect();
        let links = fused.world.resource::<SupplyLinks>();
        // And only an input searched for has a link being qualified (whether to adapt is
        // asked without looking for one otherwise).
        for s in inputs.iter().flat_map(|i| &i.slots) {
            for l in s.links.0 as usize..(s.links.0 + s.links.1) as usize {
                assert_eq!(s.trade_of(l, &links.trade), links.trade.of(l), "day {days}: link {l}");
                let qualifying = matches!(links.status.get(l), LinkStatus::Qualifying { .. });
                assert!(
                    s.searched || !qualifying,
                    "day {days}: link {l} qualifies for an input not searched for"
                );
            }
        }
        before = Some(a.2);
        days += 1;
    }
    // The comparison covers days on which suppliers were qualified (and so other buyers'
    // terms changed) as well as the quiet days.
    assert!(qualified > 0, "no supplier was qualified in {days} days");
}
