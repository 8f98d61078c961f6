//! Precaution and announcements (issue 10 §4a, §4b): a buyer's target cover rises with the
//! scarcity it perceives — orders going unfilled, refusals it expects, a control announced
//! towards it — and relaxes slowly after (Sterman & Dogan 2015); a control announced before
//! it takes effect is front-run. A control merely in force raises nothing.

use chokepoint::model::policy::{Action, Dist, Event};
use chokepoint::model::{Model, Route, SupplierShare, Suppliers};
use chokepoint::tick::Simulation;
use chokepoint::world::firm::{Finished, FirmIndex, Inputs};
use chokepoint::world::network::Network;
use chokepoint::world::policy::PolicyState;
use std::collections::BTreeMap;

mod common;
use common::worlds::{checked_simulation, firm, ore_control, world};

fn listed(supplier: &str) -> Suppliers {
    Suppliers::Listed(vec![SupplierShare {
        firm: supplier.into(),
        share: 1.0,
    }])
}

fn event(day: i32, action: Action, announced: Option<i32>) -> Event {
    let date = |d: i32| {
        chokepoint::model::calendar::Date::parse("2025-01-01")
            .unwrap()
            .plus_days(d)
            .to_string()
    };
    Event {
        date: date(day),
        announced: announced.map(date),
        nation: "AA".into(),
        action,
        note: String::new(),
    }
}

/// Per tick, in firm index order: each firm's finished shipments, and each firm's first input
/// slot's (stock, precaution, fill rate), for a run of `model`.
struct Trace {
    shipped: Vec<Vec<f64>>,
    slot: Vec<Vec<(f64, f64, f64)>>,
    log: Vec<(u32, &'static str)>,
}

fn trace(model: &Model) -> Trace {
    let mut sim = checked_simulation(model);
    let n = model.firms.len();
    let mut t = Trace {
        shipped: Vec::new(),
        slot: Vec::new(),
        log: Vec::new(),
    };
    while !sim.finished() {
        sim.step_checked().expect("invariants hold");
        let mut shipped = vec![0.0; n];
        let mut slot = vec![(0.0, 1.0, 1.0); n];
        // A slot's fill rate: its links' fill rates weighted by their base shares.
        let (fills, shares): (Vec<f64>, Vec<f64>) = {
            let l = sim.world.resource::<chokepoint::world::orders::SupplyLinks>();
            // By link: a link without trade state (a candidate) has a share of 0.
            let fill = (0..l.links.len()).map(|k| l.trade.of(k).map_or(1.0, |t| l.fill[t])).collect();
            (fill, l.links.iter().map(|k| k.share).collect())
        };
        let mut q = sim.world.query::<(&FirmIndex, &Finished, &Inputs)>();
        for (i, fin, inputs) in q.iter(&sim.world) {
            shipped[i.0 as usize] = fin.shipped;
            if let Some(s) = inputs.slots.first() {
                let (from, len) = (s.links.0 as usize, s.links.1 as usize);
                let fill = (from..from + len).map(|l| shares[l] * fills[l]).sum::<f64>();
                slot[i.0 as usize] = (s.stock, s.precaution, fill);
            }
        }
        t.shipped.push(shipped);
        t.slot.push(slot);
    }
    t.log = sim.world.resource::<PolicyState>().log.iter().map(|e| (e.tick, e.kind)).collect();
    t
}

/// T6's world: mine M in AA (300 t/day of ore, 10 days of cover) sells only to final producer
/// F in BB (100 units/day, 1 t of ore each, 20 days of cover: a target of 2,000 t), 10 days
/// away, without noise. A control on all ore out of AA comes into force on day 100 with 30%
/// approval; with `announced`, it is announced on day 60.
fn front_run_world(announced: bool) -> Model {
    let mine = firm("mine", "AA", "miner", "ore", 300.0, &[], 10.0);
    let mut maker = firm("maker", "BB", "automaker", "good", 100.0, &[("ore", 1.0)], 20.0);
    maker.suppliers = BTreeMap::from([("ore".to_string(), listed("mine"))]);
    let route = Route {
        from: "AA".into(),
        to: "BB".into(),
        days: 10,
        jitter_days: 0,
        both_ways: false,
    };
    let mut m = world(&["AA", "BB"], vec![mine, maker], vec![route], 1, 160, 0.0);
    m.buying.precaution_cover = 0.5;
    m.policies.controls.push(ore_control(false, 0.3, 20.0));
    m.policies
        .events
        .push(event(100, Action::Activate("aa_ore".into()), announced.then_some(60)));
    m
}

#[test]
fn buyers_front_run_an_announced_control() {
    let (with, without) = (trace(&front_run_world(true)), trace(&front_run_world(false)));
    let (mine, maker) = (0, 1);
    // Nothing differs before the announcement.
    assert_eq!(with.shipped[..60], without.shipped[..60], "identical until day 60");
    // Between the announcement and the control, the buyer's precaution rises towards 1.5 at
    // 1/14 of the gap a day: 1 + 0.5 (1 - e^(-40/14)) = 1.47 by day 99.
    let (stock, h, _) = with.slot[99][maker];
    assert!(h > 1.45 && h < 1.5, "precaution on day 99: {h:.3}");
    assert!(stock >= 1.3 * 2000.0, "ore stock on day 99: {stock:.0} t, at least 2,600 expected");
    // ... and it buys ahead: the mine's exports (all its sales go to BB) rise.
    let exports = |t: &Trace| t.shipped[60..100].iter().map(|s| s[mine]).sum::<f64>();
    let (a, b) = (exports(&with), exports(&without));
    assert!(a >= 1.10 * b, "exports in days 60-99: {a:.0} t announced, {b:.0} t unannounced");
    // Unannounced, nothing moves before the control: the stock is at its target, precaution 1.
    let (stock, h, _) = without.slot[99][maker];
    assert_eq!(h, 1.0, "no precaution without an announcement");
    assert!(
        (stock / 2000.0 - 1.0).abs() <= 0.05,
        "ore stock on day 99 unannounced: {stock:.0} t"
    );
    // From its date, the control no longer counts as announced: no rise comes from it.
    // (Refusals come only after 20 working days, so precaution relaxes until then.)
    let h100 = with.slot[100][maker].1;
    let h120 = with.slot[120][maker].1;
    assert!(
        h120 < h100,
        "precaution relaxes once the control is in force: {h100:.3} -> {h120:.3}"
    );
    // The announcement is logged on its day, the activation on its own.
    assert!(
        with.log.contains(&(60, "announce")) && with.log.contains(&(100, "activate")),
        "{:?}",
        with.log
    );
    assert!(!without.log.iter().any(|e| e.1 == "announce"), "{:?}", without.log);
}

/// A control merely in force, refusing nothing, leaves precaution at exactly 1: buyers stock
/// up on what they see, not on a control's existence (April 2025 was not announced).
#[test]
fn a_control_in_force_that_refuses_nothing_raises_no_precaution() {
    let mut m = front_run_world(false);
    m.policies.controls[0] = ore_control(false, 1.0, 20.0);
    m.policies.controls[0].active = true;
    m.policies.events.clear();
    let t = trace(&m);
    assert!(t.slot.iter().all(|s| s[1].1 == 1.0), "precaution moved");
}

/// Mine M in AA sells ore to parts maker S in BB (5 days of cover), which sells parts to final
/// producer F in BB (40 units/day, 20 days of cover). AA bans ore to BB from day 20 to day 120:
/// S runs dry and rations F, whose own supplier is at home (no licence, no refusal).
fn rationed_world() -> Model {
    let mine = firm("mine", "AA", "miner", "ore", 300.0, &[], 10.0);
    let mut parts = firm("parts", "BB", "refiner", "part", 100.0, &[("ore", 1.0)], 5.0);
    parts.suppliers = BTreeMap::from([("ore".to_string(), listed("mine"))]);
    let mut maker = firm("maker", "BB", "automaker", "good", 40.0, &[("part", 1.0)], 20.0);
    maker.suppliers = BTreeMap::from([("part".to_string(), listed("parts"))]);
    let route = Route {
        from: "AA".into(),
        to: "BB".into(),
        days: 10,
        jitter_days: 0,
        both_ways: false,
    };
    let mut m = world(&["AA", "BB"], vec![mine, parts, maker], vec![route], 1, 400, 0.0);
    let mut control = ore_control(false, 1.0, 20.0);
    control.active = true;
    control.review_working_days = Dist::Fixed(1.0);
    m.policies.controls.push(control);
    let ban = |day, on: bool| {
        let (control, destination) = ("aa_ore".to_string(), "BB".to_string());
        let action = if on {
            Action::Ban { control, destination }
        } else {
            Action::Unban { control, destination }
        };
        event(day, action, None)
    };
    m.policies.events.extend([ban(20, true), ban(120, false)]);
    m
}

#[test]
fn a_buyer_whose_orders_go_unfilled_raises_its_cover_and_relaxes_slowly_after() {
    let t = trace(&rationed_world());
    let maker = 2;
    let h: Vec<f64> = t.slot.iter().map(|s| s[maker].1).collect();
    let fill: Vec<f64> = t.slot.iter().map(|s| s[maker].2).collect();
    assert!(h[..20].iter().all(|&x| x == 1.0), "no precaution before the ban");
    // Its supplier runs dry: its fill rate falls and its precaution rises towards 1.5.
    let low = fill[20..120].iter().fold(1.0f64, |a, &b| a.min(b));
    assert!(low < 0.5, "the maker's fill rate falls under the ban: lowest {low:.2}");
    let peak = h.iter().fold(1.0f64, |a, &b| a.max(b));
    assert!(peak > 1.4, "precaution peaks at {peak:.3}");
    // Once its supplier delivers again, precaution relaxes over about 180 days, not 14:
    // 100 days after the peak more than half its rise remains.
    let at = h.iter().position(|&x| x == peak).unwrap();
    assert!(fill[at + 100] > 0.95, "fill rate back: {:.3}", fill[at + 100]);
    assert!(
        h[at + 100] - 1.0 > 0.5 * (peak - 1.0),
        "precaution {:.3} 100 days after its peak {peak:.3}",
        h[at + 100]
    );
    assert!(h[399] < h[at + 100], "and it keeps relaxing");
}

/// The shipped base models (no shock) keep every buyer's precaution at exactly 1 on every
/// tick, so that precaution leaves their output byte for byte as it was.
#[test]
fn no_buyer_in_a_shipped_base_model_stocks_up() {
    for name in ["baseline.ron", "japan_2010_base.ron", "gallium_2023_base.ron"] {
        let (model, src) = chokepoint::model::load::load(&common::root().join("models").join(name)).expect("loads");
        let net = Network::resolve(&model, &src).expect("resolves");
        let mut sim = Simulation::new(&model, net, model.seed);
        while !sim.finished() {
            sim.step();
            let mut q = sim.world.query::<&Inputs>();
            for inputs in q.iter(&sim.world) {
                for s in &inputs.slots {
                    assert!(
                        s.precaution == 1.0,
                        "{name}: precaution {} on tick {}",
                        s.precaution,
                        sim.clock().tick
                    );
                }
            }
        }
    }
}
