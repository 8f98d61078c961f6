//! Properties on small hand-built and random worlds, through the library.

use chokepoint::model::load::Source;
use chokepoint::model::{Allocation, Line, LineRationing, Model, Route};
use chokepoint::tick::Simulation;
use chokepoint::world::network::Network;
use proptest::prelude::*;

mod common;
use common::worlds::{firm, world};

fn build(model: &Model, seed: u64) -> Simulation {
    let src = Source::new("small.ron", "");
    chokepoint::model::check::check(model, &src).expect("valid world");
    let net = Network::resolve(model, &src).expect("resolvable world");
    Simulation::new(model, net, seed)
}

/// Steps to the end, checking produced = consumed + Δstock + Δin_transit for every commodity
/// at every tick; returns the largest relative imbalance seen.
fn max_imbalance(sim: &mut Simulation) -> f64 {
    let mut worst = 0.0f64;
    let mut prev = sim.material_totals();
    while !sim.finished() {
        sim.step();
        let now = sim.material_totals();
        for (a, b) in prev.iter().zip(&now) {
            let scale = [b.produced, b.consumed, a.stock, b.stock, a.in_transit, b.in_transit]
                .into_iter()
                .fold(1e-12, f64::max);
            let r = (b.produced - b.consumed - (b.stock - a.stock) - (b.in_transit - a.in_transit)).abs() / scale;
            worst = worst.max(r);
        }
        prev = now;
    }
    worst
}

/// Shortfall per tick of the firm with dense index `f`, from the recorded rows.
fn shortfalls(sim: &mut Simulation, f: usize) -> Vec<f64> {
    let n = sim.network.firms.len();
    let rec = sim.recorder_mut();
    rec.firms.shortfall.iter().skip(f).step_by(n).copied().collect()
}

#[test]
fn an_automaker_short_of_parts_stalls_once_its_cover_is_used_up() {
    // The only parts maker can make a tenth of what the automaker needs. Before the shock it
    // runs in a steady state that assumes it can serve the automaker: the automaker holds 10
    // days of parts on hand and 2 days in transit, the parts maker 10 days of finished parts.
    let firms = vec![
        firm("mine", "AA", "miner", "ore", 100.0, &[], 10.0),
        firm("parts", "AA", "magnet_maker", "part", 1.0, &[("ore", 1.0)], 10.0),
        firm("car", "AA", "automaker", "good", 100.0, &[("part", 0.1)], 10.0),
    ];
    let model = world(&["AA"], firms, vec![], 1, 40, 0.0);
    let mut sim = build(&model, 1);
    let mut sim2 = build(&model, 1);
    assert!(max_imbalance(&mut sim2) <= 1e-9);
    while !sim.finished() {
        sim.step();
    }
    let s = shortfalls(&mut sim, 2);
    let first = s.iter().position(|&x| x > 0.0).expect("the automaker stalls");
    // 10 + 2 + 10 = 22 days of use, stretched by the 10% trickle to about 24 days.
    assert!((22..27).contains(&first), "first shortfall on tick {first}: {s:?}");
    assert!(s[..first].iter().all(|&x| x == 0.0));
    assert!(
        s[first + 5] > 0.8 * 100.0,
        "once stalled it makes only what the trickle allows: {}",
        s[first + 5]
    );
}

#[test]
fn a_supplier_rations_its_buyers_in_proportion_to_their_orders() {
    // Two identical automakers in two nations share one parts maker that can serve half of them.
    let firms = vec![
        firm("mine", "AA", "miner", "ore", 1000.0, &[], 5.0),
        firm("parts", "AA", "magnet_maker", "part", 10.0, &[("ore", 1.0)], 5.0),
        firm("car_a", "AA", "automaker", "good", 100.0, &[("part", 0.1)], 5.0),
        firm("car_b", "BB", "automaker", "good", 100.0, &[("part", 0.1)], 5.0),
    ];
    let routes = vec![Route {
        from: "AA".into(),
        to: "BB".into(),
        days: 2,
        jitter_days: 0,
        both_ways: true,
    }];
    let mut model = world(&["AA", "BB"], firms, routes, 1, 120, 0.0);
    model.firms[3].initial_stock.insert("part".into(), 0.0);
    model.firms[2].initial_stock.insert("part".into(), 0.0);
    let mut sim = build(&model, 1);
    while !sim.finished() {
        sim.step();
    }
    let rec = sim.recorder_mut();
    let n = 4;
    let made = |f: usize| rec.firms.produced.iter().skip(f).step_by(n).skip(60).sum::<f64>();
    let (a, b) = (made(2), made(3));
    assert!(a > 0.0 && b > 0.0);
    assert!(
        (a / b - 1.0).abs() < 0.05,
        "equal buyers get equal shares in the long run: {a} vs {b}"
    );
    let total_parts_used = (a + b) * 0.1 / 60.0;
    assert!(
        total_parts_used <= 10.0 * (1.0 + 1e-9),
        "never more than capacity: {total_parts_used}"
    );
}

/// A parts maker in AA that can make 12 parts a day for two automakers that each need 10: one
/// at home (car_a, firm 2) and one in BB (car_b, firm 3, holding `b_cover` days of parts).
/// The world starts in the steady state that assumes the maker serves both, each buying 10
/// a day from it.
fn short_supplier(rule: Allocation, b_cover: f64) -> Simulation {
    let mut firms = vec![
        firm("mine", "AA", "miner", "ore", 1000.0, &[], 5.0),
        firm("parts", "AA", "magnet_maker", "part", 12.0, &[("ore", 1.0)], 5.0),
        firm("car_a", "AA", "automaker", "good", 100.0, &[("part", 0.1)], 5.0),
        firm("car_b", "BB", "automaker", "good", 100.0, &[("part", 0.1)], b_cover),
    ];
    firms[1].allocation = Some(rule);
    let routes = vec![Route {
        from: "AA".into(),
        to: "BB".into(),
        days: 2,
        jitter_days: 0,
        both_ways: true,
    }];
    let model = world(&["AA", "BB"], firms, routes, 1, 200, 0.0);
    let mut sim = build(&model, 1);
    while !sim.finished() {
        sim.step();
    }
    sim
}

#[test]
fn home_first_keeps_the_home_buyer_whole_in_a_shortage() {
    let mut sim = short_supplier(Allocation::HomeFirst, 5.0);
    let (a, b) = (shortfalls(&mut sim, 2), shortfalls(&mut sim, 3));
    assert!(a.iter().all(|&x| x == 0.0), "the home buyer is never short: {a:?}");
    assert!(b.iter().any(|&x| x > 0.0), "the foreign buyer gets what is left and is short");
    // Under proportional rationing the same shortage reaches both.
    let mut sim = short_supplier(Allocation::Proportional, 5.0);
    assert!(shortfalls(&mut sim, 2).iter().any(|&x| x > 0.0));
    assert!(shortfalls(&mut sim, 3).iter().any(|&x| x > 0.0));
}

/// Output of firm `f` per tick over the last 50 ticks.
fn late_output(sim: &mut Simulation, f: usize) -> f64 {
    let n = sim.network.firms.len();
    let rec = sim.recorder_mut();
    rec.firms.produced.iter().skip(f).step_by(n).skip(150).sum::<f64>() / 50.0
}

#[test]
fn turn_and_earn_shares_a_shortage_by_past_purchases_not_by_orders() {
    // car_b aims at 60 days of parts, car_a at 5: short, car_b orders far more than car_a.
    // Turn-and-earn shares the 12 parts a day by past purchases (10 and 10 a day): 6 each,
    // so car_a makes 60 cars a day. Proportional rationing rewards car_b's larger orders.
    let mut sim = short_supplier(Allocation::TurnAndEarn, 60.0);
    let a = late_output(&mut sim, 2);
    assert!((a - 60.0).abs() < 0.6, "car_a makes 60 cars a day: {a}");
    let mut sim = short_supplier(Allocation::Proportional, 60.0);
    let a = late_output(&mut sim, 2);
    assert!(a < 45.0, "proportional: car_a makes {a} cars a day");
}

/// Output of each line of firm 2 at the first tick, when it has parts for a quarter of the
/// plan of its heavy line.
fn lines_made_under(rule: LineRationing) -> (f64, f64) {
    let mut car = firm("car", "AA", "automaker", "good", 100.0, &[], 0.0);
    // Plan: 50 light cars (1 part each) and 50 heavy cars (4 parts each): 250 parts a day.
    car.lines = vec![
        Line {
            id: "light".into(),
            share: 0.5,
            recipe: [("part".to_string(), 1.0)].into(),
        },
        Line {
            id: "heavy".into(),
            share: 0.5,
            recipe: [("part".to_string(), 4.0)].into(),
        },
    ];
    car.line_rationing = rule;
    car.initial_stock.insert("part".into(), 100.0);
    let firms = vec![
        firm("mine", "AA", "miner", "ore", 1000.0, &[], 5.0),
        firm("parts", "AA", "magnet_maker", "part", 1000.0, &[("ore", 1.0)], 5.0),
        car,
    ];
    let mut sim = build(&world(&["AA"], firms, vec![], 1, 5, 0.0), 1);
    sim.step();
    let rec = sim.recorder_mut();
    let made: Vec<f64> = rec.lines.produced.clone();
    assert_eq!(made.len(), 2);
    (made[0], made[1])
}

#[test]
fn scarce_inputs_are_rationed_across_product_lines_by_the_stated_rule() {
    // 100 parts for a plan that needs 250.
    let (light, heavy) = lines_made_under(LineRationing::Proportional);
    assert!(
        (light - 20.0).abs() < 1e-9 && (heavy - 20.0).abs() < 1e-9,
        "same share of each plan: {light}, {heavy}"
    );
    let (light, heavy) = lines_made_under(LineRationing::MostUnits);
    assert!(
        (light - 50.0).abs() < 1e-9 && (heavy - 12.5).abs() < 1e-9,
        "light line first: {light}, {heavy}"
    );
    let (light, heavy) = lines_made_under(LineRationing::Priority(vec!["heavy".into(), "light".into()]));
    assert!(
        (light - 0.0).abs() < 1e-9 && (heavy - 25.0).abs() < 1e-9,
        "heavy line first: {light}, {heavy}"
    );
}

#[derive(Debug, Clone)]
struct Spec {
    nations: usize,
    miners: Vec<(usize, f64)>,
    makers: Vec<(usize, f64, f64)>,
    finals: Vec<(usize, f64, f64, f64)>,
    cover: f64,
    out_cover: f64,
    days: (u32, u32),
    tick_days: u32,
    noise: f64,
    zero_stock: bool,
    seed: u64,
}

fn spec() -> impl Strategy<Value = Spec> {
    (
        1usize..=3,
        prop::collection::vec((0usize..3, 1.0f64..100.0), 1..=3),
        prop::collection::vec((0usize..3, 0.5f64..50.0, 0.2f64..3.0), 1..=3),
        prop::collection::vec((0usize..3, 1.0f64..80.0, 0.05f64..2.0, 0.0f64..0.5), 1..=3),
        (0.0f64..40.0, 0.0f64..30.0),
        ((1u32..30), (0u32..10)),
        1u32..=3,
        0.0f64..0.3,
        any::<bool>(),
        any::<u64>(),
    )
        .prop_map(
            |(nations, miners, makers, finals, (cover, out_cover), days, tick_days, noise, zero_stock, seed)| Spec {
                nations,
                miners,
                makers,
                finals,
                cover,
                out_cover,
                days,
                tick_days,
                noise,
                zero_stock,
                seed,
            },
        )
}

fn random_world(s: &Spec) -> Model {
    let names = ["AA", "BB", "CC"];
    let nation = |k: usize| names[k % s.nations];
    let mut firms = Vec::new();
    for (i, (n, cap)) in s.miners.iter().enumerate() {
        firms.push(firm(&format!("m{i}"), nation(*n), "miner", "ore", *cap, &[], s.cover));
    }
    for (i, (n, cap, r)) in s.makers.iter().enumerate() {
        firms.push(firm(&format!("p{i}"), nation(*n), "refiner", "part", *cap, &[("ore", *r)], s.cover));
    }
    for (i, (n, cap, r1, r2)) in s.finals.iter().enumerate() {
        let mut recipe = vec![("part", *r1)];
        if *r2 > 0.25 {
            recipe.push(("ore", *r2));
        }
        let mut f = firm(&format!("f{i}"), nation(*n), "automaker", "good", *cap, &recipe, s.cover);
        // Some final producers have two product lines, under each rationing rule in turn.
        if (s.seed as usize + i).is_multiple_of(2) {
            f.recipe.clear();
            f.lines = vec![
                Line {
                    id: "light".into(),
                    share: 0.4,
                    recipe: [("part".to_string(), *r1)].into(),
                },
                Line {
                    id: "heavy".into(),
                    share: 0.6,
                    recipe: [("part".to_string(), 3.0 * r1), ("ore".to_string(), *r2)].into(),
                },
            ];
            f.line_rationing = match (s.seed as usize / 2 + i) % 3 {
                0 => LineRationing::Proportional,
                1 => LineRationing::MostUnits,
                _ => LineRationing::Priority(vec!["heavy".into(), "light".into()]),
            };
        }
        firms.push(f);
    }
    for f in firms.iter_mut() {
        f.output_cover_days = s.out_cover;
        if s.zero_stock {
            for c in f.recipe.keys().cloned().collect::<Vec<_>>() {
                f.initial_stock.insert(c, 0.0);
            }
        }
    }
    let mut routes = Vec::new();
    for a in 0..s.nations {
        for b in a + 1..s.nations {
            let jitter = s.days.1.min(s.days.0.saturating_sub(1));
            routes.push(Route {
                from: names[a].into(),
                to: names[b].into(),
                days: s.days.0,
                jitter_days: jitter,
                both_ways: true,
            });
        }
    }
    world(&names[..s.nations], firms, routes, s.tick_days, 90, s.noise)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Whatever the world — short or ample capacity, empty or full stocks, noise, long ticks,
    /// rationing — no material appears or disappears.
    #[test]
    fn material_is_conserved_in_random_small_worlds(s in spec()) {
        let model = random_world(&s);
        let mut sim = build(&model, s.seed);
        let worst = max_imbalance(&mut sim);
        prop_assert!(worst <= 1e-9, "relative imbalance {worst:e}");
    }
}

#[test]
fn each_firm_receives_the_days_orders_on_it_and_a_seller_learns_its_expected_sales_from_them() {
    // April 2025 (controls, licensed orders, rationing, supplier search): after every tick
    // each firm's orders received are the sum of the day's orders on it, in the book's order
    // (0 for a firm nobody ordered from that day), and a seller's expected sales have moved
    // from the day before towards them by tick / `demand_smoothing_days`; a final producer's
    // (which sells to no firm) stay where they were.
    let path = common::root().join("models/april_2025.ron");
    let (model, _, net) = chokepoint::run::resolve_model(&path, &Default::default()).expect("shipped model loads");
    let n = model.firms.len();
    let smooth = (f64::from(model.calendar.tick_days) / model.planning.demand_smoothing_days).min(1.0);
    let mut sim = Simulation::new(&model, net, model.seed);
    let state = |sim: &mut Simulation| {
        let mut q = sim.world.query::<(
            &chokepoint::world::firm::FirmIndex,
            &chokepoint::world::firm::Plant,
            &chokepoint::world::firm::Finished,
        )>();
        let mut s = vec![(false, 0.0, 0.0); n];
        for (i, plant, fin) in q.iter(&sim.world) {
            s[i.0 as usize] = (plant.final_good, fin.received, fin.expected_sales);
        }
        s
    };
    let mut before = state(&mut sim);
    // Firm-days on which a firm that had orders the day before had none.
    let mut stopped = 0;
    while !sim.finished() {
        sim.step();
        let mut received = vec![0.0f64; n];
        {
            let book = sim.world.resource::<chokepoint::world::orders::OrderBook>();
            let terms = book.terms();
            for o in &book.orders {
                received[terms.of(o).supplier as usize] += o.quantity;
            }
        }
        let now = state(&mut sim);
        for (i, (&(final_good, got, sales), &(_, got_before, sales_before))) in now.iter().zip(&before).enumerate() {
            let tick = sim.clock().tick;
            assert_eq!(
                got.to_bits(),
                received[i].to_bits(),
                "firm {i} at tick {tick}: received {got}, ordered {}",
                received[i]
            );
            let learned = if final_good {
                sales_before
            } else {
                sales_before + smooth * (got - sales_before)
            };
            assert_eq!(
                sales.to_bits(),
                learned.to_bits(),
                "firm {i} at tick {tick}: expected sales {sales}, not {learned}"
            );
            if got == 0.0 && got_before > 0.0 {
                stopped += 1;
            }
        }
        before = now;
    }
    assert!(stopped > 0, "no firm went a day without orders after a day with some");
}

/// Each input's consignments on their way to it, counted from where the goods are: its
/// lanes' cells that hold goods, the queue's shipments on its links (held by customs or due
/// beyond their ring) and the ticks of its starting pipelines beyond their ring's reach not
/// yet entered, after tick `tick` ran; by firm index, then input.
fn consignments_on_their_way(sim: &mut Simulation, tick: u32) -> Vec<Vec<u64>> {
    use chokepoint::world::firm::{FirmIndex, Inputs};
    use chokepoint::world::shipments::{InTransit, NO_LANE, ShipmentQueue};
    let mut q = sim.world.query::<(&FirmIndex, &Inputs)>();
    let mut count: Vec<Vec<u64>> = vec![Vec::new(); sim.network.firms.len()];
    for (i, inputs) in q.iter(&sim.world) {
        count[i.0 as usize] = vec![0; inputs.slots.len()];
    }
    let links = sim.world.resource::<chokepoint::world::orders::SupplyLinks>();
    let rings = sim.world.resource::<InTransit>();
    let queue = sim.world.resource::<ShipmentQueue>();
    let mut add = |link: usize, n: u64| {
        let o = links.owner(link);
        count[o.buyer as usize][o.slot as usize] += n;
    };
    let mut seen = vec![false; rings.lanes.len()];
    for (li, &lane) in rings.lane_of.iter().enumerate() {
        if lane == NO_LANE || std::mem::replace(&mut seen[lane as usize], true) {
            continue;
        }
        let r = rings.lanes[lane as usize];
        let g = &rings.groups[usize::from(r.group)];
        let held = (0..u32::from(r.len)).filter(|&a| g.cells[g.cell(r.pos, a)] != 0.0).count();
        add(li, held as u64);
    }
    for s in queue.shipments() {
        add(s.link as usize, 1);
    }
    for p in queue.pipelines() {
        let link = p.shipment.link as usize;
        let from = rings.reach_of(link).max(tick + 1);
        add(link, u64::from(p.until.saturating_sub(from)));
    }
    count
}

#[test]
fn each_input_counts_the_consignments_on_their_way_to_it() {
    // April 2025 (customs holds under the inspections, jittered routes, new suppliers'
    // lanes): after every tick, each input's count of consignments on their way is the
    // number of places its goods wait in, on one thread and on every core. Delivery keeps
    // the count from each lane's changes of the day; the count decides when a rounding error
    // left in in-transit is set to zero.
    let path = common::root().join("models/april_2025.ron");
    let (model, _, net) = chokepoint::run::resolve_model(&path, &Default::default()).expect("shipped model loads");
    for parallel in [false, true] {
        let mut sim = Simulation::new(&model, net.clone(), model.seed);
        sim.set_parallel(parallel);
        let (mut held, mut most) = (0, 0);
        while !sim.finished() {
            let tick = sim.clock().tick;
            sim.step();
            let counted = consignments_on_their_way(&mut sim, tick);
            held += sim.world.resource::<chokepoint::world::shipments::ShipmentQueue>().len();
            let mut q = sim
                .world
                .query::<(&chokepoint::world::firm::FirmIndex, &chokepoint::world::firm::Inputs)>();
            for (i, inputs) in q.iter(&sim.world) {
                for (k, s) in inputs.slots.iter().enumerate() {
                    let c = counted[i.0 as usize][k];
                    assert_eq!(
                        s.in_flight, c,
                        "firm {} input {k} after tick {tick} (parallel: {parallel}): counts {} consignments, {c} on their way",
                        i.0, s.in_flight
                    );
                    most = most.max(c);
                }
            }
        }
        assert!(held > 0, "no goods waited in the queue");
        assert!(most > 1, "no input had more than one consignment on its way");
    }
}

/// Units ordered from each firm on the first day (firm index → units).
fn first_orders(model: &Model) -> Vec<f64> {
    let mut sim = build(model, 1);
    sim.step();
    let book = sim.world.resource::<chokepoint::world::orders::OrderBook>();
    let terms = book.terms();
    let mut to = vec![0.0; model.firms.len()];
    for o in &book.orders {
        to[terms.of(o).supplier as usize] += o.quantity;
    }
    to
}

#[test]
fn a_tariff_moves_a_buyers_orders_to_its_untaxed_supplier_by_the_landed_cost_term() {
    // An automaker in BB buys ore half from a mine in AA and half from one in CC. With BB's
    // tariff of 100% on ore from AA, the AA link's weight is multiplied by (1 + 1)^-2 = 1/4
    // (tariff sensitivity 2): the split of the day's order goes from 1:1 to 1:4. Both mines
    // have room for all of it, so no cap moves it.
    use chokepoint::model::policy::Tariff;
    use chokepoint::model::{SupplierShare, Suppliers};
    let mut car = firm("car", "BB", "automaker", "good", 50.0, &[("ore", 1.0)], 10.0);
    let share = |m: &str| SupplierShare {
        firm: m.into(),
        share: 0.5,
    };
    car.suppliers = [("ore".to_string(), Suppliers::Listed(vec![share("aa_mine"), share("cc_mine")]))].into();
    let firms = vec![
        firm("aa_mine", "AA", "miner", "ore", 200.0, &[], 10.0),
        firm("cc_mine", "CC", "miner", "ore", 200.0, &[], 10.0),
        car,
    ];
    let route = |from: &str| Route {
        from: from.into(),
        to: "BB".into(),
        days: 5,
        jitter_days: 0,
        both_ways: false,
    };
    let mut model = world(&["AA", "BB", "CC"], firms, vec![route("AA"), route("CC")], 1, 10, 0.0);
    let free = first_orders(&model);
    assert!(free[0] > 0.0, "the car maker orders ore on day one: {free:?}");
    assert_eq!(free[0], free[1], "no tariff: equal shares get equal orders");
    model.policies.tariffs.push(Tariff {
        importer: "BB".into(),
        origin: "AA".into(),
        commodity: "ore".into(),
        rate: 1.0,
    });
    let taxed = first_orders(&model);
    let ratio = taxed[0] / taxed[1];
    assert!(
        (ratio - 0.25).abs() < 1e-12,
        "orders from AA against CC under the tariff: {taxed:?}, ratio {ratio}"
    );
    let (before, after) = (free[0] + free[1], taxed[0] + taxed[1]);
    assert!(
        (after / before - 1.0).abs() < 1e-12,
        "the tariff moves the order, not its size: {before} then {after}"
    );
}
