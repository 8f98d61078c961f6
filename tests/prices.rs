//! Prices are set by a market, not an index (issue 10 §3): each (region, commodity) price moves
//! with the cover of the stocks held in the region and towards a cost anchor (Sterman,
//! *Business Dynamics* ch. 20). A halt has no ceiling but the one its stocks set, a price falls
//! back when the halt ends, a licence delay buyers have planned for is no shortage, and with
//! no shock a shipped world's prices stay near reference.

use chokepoint::model::policy::{Action, Event};
use chokepoint::model::{Model, Route, Suppliers};
use chokepoint::tick::Simulation;
use chokepoint::world::firm::{FirmIndex, Inputs};
use chokepoint::world::prices::PriceBook;
use chokepoint::world::registry::Registry;
use std::collections::BTreeMap;
use std::path::Path;

mod common;
use common::worlds::{checked_simulation, firm, ore_control, world};

/// The only ore commodity index in the small worlds (`ore`, `part`, `good`).
const ORE: u16 = 0;

fn event(date: &str, action: Action) -> Event {
    Event {
        date: date.into(),
        nation: "AA".into(),
        action,
        note: String::new(),
        announced: None,
    }
}

/// Per tick: the ore price in AA's and in BB's region (USD per t), and the buyer's ore stock.
struct Series {
    inside: Vec<f64>,
    outside: Vec<f64>,
    stock: Vec<f64>,
}

fn ore_prices(model: &Model) -> Series {
    let mut sim = checked_simulation(model);
    let buyer = model.firms.len() as u32 - 1;
    let (aa, bb) = {
        let reg = sim.world.resource::<Registry>();
        (reg.nation_region[0], reg.nation_region[1])
    };
    let mut s = Series {
        inside: vec![],
        outside: vec![],
        stock: vec![],
    };
    while !sim.finished() {
        sim.step_checked().expect("invariants hold");
        let book = sim.world.resource::<PriceBook>();
        s.inside.push(book.price(aa, ORE));
        s.outside.push(book.price(bb, ORE));
        let mut q = sim.world.query::<(&FirmIndex, &Inputs)>();
        s.stock
            .push(q.iter(&sim.world).find(|(i, _)| i.0 == buyer).unwrap().1.slots[0].stock);
    }
    s
}

/// A mine in AA (100 t/day, 10 days of cover) is the only source of ore for a final producer
/// in BB (10 units/day, 1 t of ore each, 30 days of cover), 5 days away, and for a smaller one
/// at home (AA, 2 units/day) unless `home_buyer` is false. From 2025-01-11 (day 10) AA bans
/// ore exports to BB; from 2025-09-08 (day 250) the control is lifted.
fn halt_world(home_buyer: bool) -> Model {
    let mine = firm("mine", "AA", "miner", "ore", 100.0, &[], 10.0);
    let from_aa = || BTreeMap::from([("ore".to_string(), Suppliers::ByNation(BTreeMap::from([("AA".to_string(), 1.0)])))]);
    let mut home = firm("home", "AA", "automaker", "good", 2.0, &[("ore", 1.0)], 30.0);
    home.suppliers = from_aa();
    let mut maker = firm("maker", "BB", "automaker", "good", 10.0, &[("ore", 1.0)], 30.0);
    maker.suppliers = from_aa();
    let route = Route {
        from: "AA".into(),
        to: "BB".into(),
        days: 5,
        jitter_days: 0,
        both_ways: false,
    };
    let firms = if home_buyer { vec![mine, home, maker] } else { vec![mine, maker] };
    let mut m = world(&["AA", "BB"], firms, vec![route], 1, 450, 0.0);
    m.policies.controls.push(ore_control(false, 1.0, 5.0));
    let ban = Action::Ban {
        control: "aa_ore".into(),
        destination: "BB".into(),
    };
    m.policies.events.push(event("2025-01-11", Action::Activate("aa_ore".into())));
    m.policies.events.push(event("2025-01-11", ban));
    m.policies.events.push(event("2025-09-08", Action::Deactivate("aa_ore".into())));
    m
}

#[test]
fn a_permanent_halt_has_no_price_ceiling_and_the_price_falls_back_when_it_ends() {
    let m = halt_world(true);
    let s = ore_prices(&m);
    let reference = m.commodities[0].price_usd;

    // The halt empties the buyer's stock, and the outside price rises every day of it: it
    // keeps rising as long as the region's stocks keep falling, and then towards the level an
    // empty region settles at; no form caps it near e times the reference, as the index did.
    assert_eq!(s.stock[249], 0.0, "the buyer's ore is used up by the end of the halt");
    for t in 20..250 {
        assert!(
            s.outside[t] > s.outside[t - 1],
            "day {t}: outside price {} after {}; it rises every day of the halt",
            s.outside[t],
            s.outside[t - 1]
        );
    }
    let peak = s.outside.iter().copied().fold(0.0, f64::max);
    assert!(
        s.outside[249] > 100.0 * reference,
        "outside price {:.0} at the end of the halt, {:.1}× reference: past any ceiling near e×",
        s.outside[249],
        s.outside[249] / reference
    );
    // Inside, the ore that cannot leave piles up at the mine, and the home buyer is offered
    // it: the price falls.
    assert!(
        s.inside[249] < reference,
        "inside price {:.1} at the end of the halt; a glut lowers it",
        s.inside[249]
    );
    // Once the halt ends, stocks refill and the price comes back down.
    let last = *s.outside.last().unwrap();
    assert!(
        last < 2.0 * reference && last < 0.01 * peak,
        "outside price {last:.1} 200 days after the halt (peak {peak:.0}, reference {reference})"
    );
}

/// The same halt with no buyer of ore in AA: AA is a region of sellers only, and the ore
/// piling up at its mine is a glut nobody there bids on, so AA's ore price keeps its cost
/// (`prices.thin_market`); with the thin market turned off it falls as if it had buyers.
#[test]
fn a_region_of_sellers_only_has_no_market_of_its_own_and_keeps_its_cost() {
    let m = halt_world(false);
    let reference = m.commodities[0].price_usd;
    let s = ore_prices(&m);
    let glut = ore_prices(&{
        let mut m = m.clone();
        m.prices.thin_market = 0.0;
        m
    });
    assert!(
        s.stock[249] == 0.0 && s.outside[249] > 100.0 * reference,
        "BB still runs out and its price soars"
    );
    for (t, &p) in s.inside.iter().enumerate() {
        assert!(
            (p / reference - 1.0).abs() < 1e-9,
            "day {t}: AA's ore price {p} moved from its cost {reference} with no buyer in AA"
        );
    }
    assert!(
        glut.inside[249] < 0.5 * reference,
        "without the thin market AA's glut reads as a fall to {:.2}",
        glut.inside[249]
    );
}

/// Twenty ore mines in AA (75 t/day each) supply a final producer in BB (100 units/day, 1 t of
/// ore each, 40 days of cover), 10 days away. AA's ore needs a licence from the start; every
/// application is approved, after 20 working days (28 calendar days).
#[test]
fn a_licence_delay_with_full_approval_leaves_outside_prices_at_reference() {
    let mut firms: Vec<_> = (0..20)
        .map(|k| firm(&format!("mine{k}"), "AA", "miner", "ore", 75.0, &[], 10.0))
        .collect();
    let mut maker = firm("maker", "BB", "automaker", "good", 100.0, &[("ore", 1.0)], 40.0);
    maker.suppliers = BTreeMap::from([("ore".to_string(), Suppliers::ByNation(BTreeMap::from([("AA".to_string(), 1.0)])))]);
    firms.push(maker);
    let route = Route {
        from: "AA".into(),
        to: "BB".into(),
        days: 10,
        jitter_days: 0,
        both_ways: false,
    };
    let mut m = world(&["AA", "BB"], firms, vec![route], 1, 400, 0.0);
    m.buying.application_interval_days = 1;
    m.buying.approval_learning = 0.05;
    m.policies.controls.push(ore_control(true, 1.0, 20.0));
    let s = ore_prices(&m);
    let reference = m.commodities[0].price_usd;
    // The first wait, before the buyer has learned it, is a real shortage: the price rises.
    let early = s.outside[..100].iter().copied().fold(0.0, f64::max);
    assert!(
        early > 1.1 * reference,
        "outside price peaks at {early:.1} while the first licences are awaited"
    );
    // Once the pipeline, licences awaited included, is full, stocks are where buyers want
    // them, and so is the price: the withheld orders are no excess demand.
    for (t, &p) in s.outside.iter().enumerate().skip(200) {
        assert!(
            (p / reference - 1.0).abs() <= 0.1,
            "day {t}: outside ore price {p:.1}, {:.1}% from reference",
            100.0 * (p / reference - 1.0)
        );
    }
}

/// Every shipped model that is not a scenario of another (`extends`), run with its own seed
/// to its horizon: with no shock, stock swings come from noise and ordering alone, and no
/// price leaves 5% of its reference.
#[test]
fn with_no_shock_every_shipped_base_model_keeps_its_prices_within_5pc_of_reference() {
    let models = Path::new(env!("CARGO_MANIFEST_DIR")).join("models");
    let mut bases: Vec<_> = std::fs::read_dir(&models)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "ron"))
        .filter(|p| !std::fs::read_to_string(p).unwrap().contains("extends:"))
        .collect();
    bases.sort();
    assert!(bases.len() >= 3, "shipped base models: {bases:?}");
    for path in bases {
        let (model, _src, net) = chokepoint::run::resolve_model(&path, &Default::default()).unwrap();
        let mut sim = Simulation::new(&model, net, model.seed);
        let mut worst = (0.0f64, 0, 0usize);
        while !sim.finished() {
            sim.step();
            let mut rec = sim.recorder_mut(); // rows are not needed here: keep memory flat
            rec.firms = Default::default();
            rec.nations = Default::default();
            rec.flows = Default::default();
            rec.prices = Default::default();
            rec.lines = Default::default();
            let book = sim.world.resource::<PriceBook>();
            for (cell, &p) in book.price.iter().enumerate() {
                let gap = (p / book.reference[cell % book.commodities] - 1.0).abs();
                if gap > worst.0 {
                    worst = (gap, sim.clock().tick, cell);
                }
            }
        }
        assert!(
            worst.0 <= 0.05,
            "{}: a price {:.1}% from its reference at tick {} (cell {})",
            path.display(),
            100.0 * worst.0,
            worst.1,
            worst.2
        );
    }
}
