//! Traders (issue 10 §4d): a stockist that buys when its price's expected gain beats the
//! holding cost and sells down when the price turns, and whose stock carries its buyers
//! through a halt of its supplier.

use chokepoint::model::policy::{Action, Event};
use chokepoint::model::{Model, Route, SupplierShare, Suppliers, Trading};
use chokepoint::tick::Simulation;
use chokepoint::world::prices::PriceBook;
use std::collections::BTreeMap;

mod common;
use common::worlds::{checked_simulation, firm, ore_control, world};

fn listed(shares: &[(&str, f64)]) -> BTreeMap<String, Suppliers> {
    BTreeMap::from([(
        "ore".to_string(),
        Suppliers::Listed(
            shares
                .iter()
                .map(|(f, s)| SupplierShare {
                    firm: f.to_string(),
                    share: *s,
                })
                .collect(),
        ),
    )])
}

/// Mine M in AA (1,000 t of ore a day); in BB, trader T (200 t a day of handling, 10 days of
/// cover, working stock 500 t, `Trading(0.1, 20, 1, 3, 500)`) buying from M, and final
/// producer F (100 units a day, 1 t of ore each, 10 days of cover) buying 90% from M and,
/// with a trader, 10% from T. AA → BB takes 10 days; the run lasts `days`.
fn trader_world(with_trader: bool, days: i32) -> Model {
    let m = firm("m", "AA", "miner", "ore", 1000.0, &[], 10.0);
    let mut f = firm("f", "BB", "automaker", "good", 100.0, &[("ore", 1.0)], 10.0);
    let mut firms = vec![m];
    if with_trader {
        let mut t = firm("t", "BB", "trader", "ore", 200.0, &[("ore", 1.0)], 10.0);
        t.trading = Some(Trading {
            holding_cost_per_year: 0.1,
            trend_days: 20.0,
            gain: 1.0,
            max_multiple: 3.0,
            base_stock: 500.0,
        });
        t.suppliers = listed(&[("m", 1.0)]);
        firms.push(t);
        f.suppliers = listed(&[("m", 0.9), ("t", 0.1)]);
    } else {
        f.suppliers = listed(&[("m", 1.0)]);
    }
    firms.push(f);
    let route = Route {
        from: "AA".into(),
        to: "BB".into(),
        days: 10,
        jitter_days: 0,
        both_ways: false,
    };
    world(&["AA", "BB"], firms, vec![route], 1, days, 0.0)
}

/// Column `col` of the firms table for firm `f`, one value per tick.
fn column(sim: &mut Simulation, f: usize, col: fn(&chokepoint::world::records::FirmRows) -> &Vec<f64>) -> Vec<f64> {
    let n = sim.network.firms.len();
    let rec = sim.recorder_mut();
    col(&rec.firms).iter().skip(f).step_by(n).copied().collect()
}

/// ln of the BB ore price over its reference on day `t` of T8's path: flat to day 29, up
/// 1% a day over days 30–89, down 1% a day over days 90–149.
fn log_price_path(t: u32) -> f64 {
    match t {
        0..=29 => 0.0,
        30..=89 => 0.01 * f64::from(t - 29),
        _ => 0.6 - 0.01 * f64::from(t - 89),
    }
}

#[test]
fn a_trader_buys_on_a_rising_price_and_sells_when_it_turns() {
    let model = trader_world(true, 150);
    let mut sim = checked_simulation(&model);
    let bb = sim.network.regions.iter().position(|r| r == "BB").unwrap();
    let ore = sim.network.commodities.iter().position(|c| c == "ore").unwrap();
    let t = sim.network.firms.iter().position(|f| f == "t").unwrap();
    // The price is written before each day; production and procurement read it, and the
    // markets overwrite it afterwards.
    while !sim.finished() {
        let day = sim.clock().tick;
        {
            let mut book = sim.world.resource_mut::<PriceBook>();
            let cell = bb * book.commodities + ore;
            book.price[cell] = book.reference[ore] * log_price_path(day).exp();
        }
        sim.step_checked().expect("invariants hold");
    }
    let stock = column(&mut sim, t, |r| &r.inventory);
    let plan = column(&mut sim, t, |r| &r.planned);
    assert!(
        stock[89] >= 1.5 * stock[29],
        "T hoards while the price rises 1% a day (well above its holding cost of 0.027% a day): stock {} on day 29, {} on day 89",
        stock[29],
        stock[89]
    );
    let idle = plan[100..150].iter().filter(|&&p| p == 0.0).count();
    assert!(
        idle >= 20,
        "once the price turns T stops taking stock in: plan 0 on only {idle} of days 100-149: {:?}",
        &plan[100..150]
    );
    assert!(
        stock[149] < stock[89],
        "T sells down once the price falls: stock {} on day 89, {} on day 149",
        stock[89],
        stock[149]
    );
}

/// T's world with a control on ore out of AA in force from the start, approving everything
/// (review 1 working day), until BB is banned on day 60: M's ore stops for T and F alike.
fn halt_world(with_trader: bool) -> Model {
    let mut m = trader_world(with_trader, 200);
    m.policies.controls.push(ore_control(true, 1.0, 1.0));
    m.policies.events.push(Event {
        date: "2025-03-02".into(),
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

/// F's shortfall per tick, and T's stock (finished, then ore on hand) on the day of the ban.
fn halt_run(with_trader: bool) -> (Vec<f64>, f64) {
    let model = halt_world(with_trader);
    let mut sim = checked_simulation(&model);
    let mut held = 0.0;
    while !sim.finished() {
        if sim.clock().tick == 60 && with_trader {
            let mut q = sim.world.query::<(
                &chokepoint::world::firm::FirmIndex,
                &chokepoint::world::firm::Finished,
                &chokepoint::world::firm::Inputs,
            )>();
            for (i, fin, inputs) in q.iter(&sim.world) {
                if i.0 == 1 {
                    held = fin.stock + inputs.slots[0].stock + inputs.slots[0].in_transit;
                }
            }
        }
        sim.step_checked().expect("invariants hold");
    }
    let f = sim.network.firms.iter().position(|x| x == "f").unwrap();
    (column(&mut sim, f, |r| &r.shortfall), held)
}

#[test]
fn a_traders_stock_carries_its_buyers_through_a_halt_of_its_supplier() {
    let (without, _) = halt_run(false);
    let (with, held) = halt_run(true);
    let first = |s: &[f64]| s.iter().position(|&x| x > 1e-9).expect("F stalls once the ore stops");
    let (first_without, first_with) = (first(&without), first(&with));
    let (lost_without, lost_with): (f64, f64) = (without.iter().sum(), with.iter().sum());
    assert!(first_without > 60, "no stall before the ban: day {first_without}");
    // Without T, F has 10 days on hand and 10 in transit when the ore stops: it stalls by
    // about day 80.
    assert!(first_without <= 85, "F without a trader stalls by day 85: day {first_without}");
    // T's stock on the ban day (finished, on hand and on its way: about 500 t working stock
    // plus its covers) goes to F, its only buyer, one unit of ore a unit of output.
    assert!(held >= 600.0, "T holds at least its working stock and cover at the ban: {held}");
    assert!(
        first_with >= first_without + 2,
        "T's stock delays F's stall: day {first_with} with T, {first_without} without"
    );
    assert!(
        lost_with <= lost_without - 0.8 * held,
        "F makes at least 80% of T's stock more goods: lost {lost_with} with T (holding {held}), {lost_without} without"
    );
}

/// What the BB ore market saw each day of T8's world and price path, with the trader's
/// `max_multiple`.
struct Market {
    /// Units the region wants to hold.
    wanted: Vec<f64>,
    /// Its perceived log cover (held ÷ wanted).
    log_cover: Vec<f64>,
    /// The price the market set, over the price written that morning.
    moved: Vec<f64>,
}

fn market(max_multiple: f64) -> Market {
    let mut model = trader_world(true, 90);
    let t = model.firms.iter_mut().find(|f| f.id == "t").unwrap();
    t.trading.as_mut().unwrap().max_multiple = max_multiple;
    let mut sim = checked_simulation(&model);
    let bb = sim.network.regions.iter().position(|r| r == "BB").unwrap();
    let ore = sim.network.commodities.iter().position(|c| c == "ore").unwrap();
    let mut m = Market {
        wanted: Vec::new(),
        log_cover: Vec::new(),
        moved: Vec::new(),
    };
    while !sim.finished() {
        let day = sim.clock().tick;
        let morning = {
            let mut book = sim.world.resource_mut::<PriceBook>();
            let cell = bb * book.commodities + ore;
            book.price[cell] = book.reference[ore] * log_price_path(day).exp();
            book.price[cell]
        };
        sim.step_checked().expect("invariants hold");
        let book = sim.world.resource::<PriceBook>();
        let cell = bb * book.commodities + ore;
        m.wanted.push(book.wanted[cell]);
        m.log_cover.push(book.log_cover[cell]);
        m.moved.push(book.price[cell] / morning);
    }
    m
}

#[test]
fn a_hoarding_trader_raises_the_price_it_reads() {
    // The trader's stock target (m × its usual stock) is part of what its region wants to
    // hold: while it builds up to three times its stock, the region's cover falls short and
    // the market moves the price up from the path written each morning more than when the
    // trader is held to its usual stock (max_multiple 1).
    let hoarding = market(3.0);
    let usual = market(1.0);
    assert_eq!(hoarding.moved[..30], usual.moved[..30], "the same until the price starts to rise");
    // T's target rises from 600 t to 1,800 t.
    assert!(
        hoarding.wanted[89] >= usual.wanted[89] + 1000.0,
        "the region wants T's hoard: {} t against {} t",
        hoarding.wanted[89],
        usual.wanted[89]
    );
    let low = |v: &[f64]| v[30..90].iter().copied().fold(f64::MAX, f64::min);

    assert!(
        low(&hoarding.log_cover) < low(&usual.log_cover) - 0.1,
        "hoarding leaves the region short of its wanted stock: log cover down to {} against {}",
        low(&hoarding.log_cover),
        low(&usual.log_cover)
    );
    let up = (30..90).filter(|&d| hoarding.moved[d] > usual.moved[d]).count();
    assert!(up >= 30, "the market moves the price up more on only {up} of days 30-89");
}
