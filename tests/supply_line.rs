//! Buyers under licensing count what awaits a decision at the approval share they have learned
//! (issue 10 §1: a supply line discounted by its expected yield, Sterman ch. 17–18), and apply
//! for their need divided by that share.

use chokepoint::model::{Model, Route, Suppliers};
use chokepoint::world::firm::{FirmIndex, Inputs};
use chokepoint::world::orders::SupplyLinks;
use std::collections::BTreeMap;

mod common;
use common::worlds::{checked_simulation, firm, ore_control, world};

/// Twenty ore mines in AA (75 t/day each, 10 days of cover; many small applications, so that
/// the lottery of single decisions averages out) supply one final producer in BB
/// (100 units/day of `good`, 1 t of ore each, 40 days of cover, so a target stock of 4,000 t),
/// 10 days away. AA's ore needs a licence from the start: `approval` of applications are
/// approved after 20 working days (28 calendar days), licences valid 90 days. The buyer files
/// daily and learns its approval share slowly (5% per decision). `precaution` is
/// `buying.precaution_cover`: 0 isolates the supply line from the buyer's precaution.
fn licensed_world(approval: f64, days: i32, precaution: f64) -> Model {
    let mut firms: Vec<_> = (0..20)
        .map(|k| firm(&format!("mine{k}"), "AA", "miner", "ore", 75.0, &[], 10.0))
        .collect();
    let mut buyer = firm("maker", "BB", "automaker", "good", 100.0, &[("ore", 1.0)], 40.0);
    buyer.suppliers = BTreeMap::from([("ore".to_string(), Suppliers::ByNation(BTreeMap::from([("AA".to_string(), 1.0)])))]);
    firms.push(buyer);
    let route = Route {
        from: "AA".into(),
        to: "BB".into(),
        days: 10,
        jitter_days: 0,
        both_ways: false,
    };
    let mut m = world(&["AA", "BB"], firms, vec![route], 1, days, 0.0);
    m.buying.application_interval_days = 1;
    m.buying.approval_learning = 0.05;
    m.buying.precaution_cover = precaution;
    m.policies.controls.push(ore_control(true, approval, 20.0));
    m
}

/// The buyer's ore stock at the end of every tick, and its learned approval shares (one per
/// link) at the end of the run.
fn buyer_stock(model: &Model) -> (Vec<f64>, Vec<f64>) {
    let (stock, _, approval) = buyer_stock_and_precaution(model);
    (stock, approval)
}

/// As [`buyer_stock`], with the buyer's precaution on its ore at the end of every tick.
fn buyer_stock_and_precaution(model: &Model) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let mut sim = checked_simulation(model);
    let buyer = model.firms.len() as u32 - 1;
    let (mut stock, mut precaution) = (Vec::new(), Vec::new());
    while !sim.finished() {
        sim.step_checked().expect("invariants hold");
        let mut q = sim.world.query::<(&FirmIndex, &Inputs)>();
        let s = &q.iter(&sim.world).find(|(i, _)| i.0 == buyer).unwrap().1.slots[0];
        stock.push(s.stock);
        precaution.push(s.precaution);
    }
    let links = sim.world.resource::<SupplyLinks>();
    (stock, precaution, (0..links.links.len()).map(|l| links.approval(l)).collect())
}

#[test]
fn a_buyer_facing_steady_60pc_approval_keeps_its_stock_near_target() {
    let (stock, approval) = buyer_stock(&licensed_world(0.6, 500, 0.0));
    // Without the discount the stock settles at use x (cover - wait x (1/a - 1)): 100 t/day x
    // (40 - 28 x 2/3) = 2,133 t, 47% short of its target.
    let target = 4000.0;
    let late = &stock[250..];
    let mean = late.iter().sum::<f64>() / late.len() as f64;
    let (lo, hi) = late.iter().fold((f64::MAX, f64::MIN), |(a, b), &x| (a.min(x), b.max(x)));
    assert!(
        (mean / target - 1.0).abs() <= 0.1,
        "days 250-500: mean ore stock {mean:.0} t against a target of {target} t"
    );
    assert!(
        lo >= 0.8 * target && hi <= 1.2 * target,
        "days 250-500: ore stock between {lo:.0} and {hi:.0} t; within 20% of {target} t expected"
    );
    let learned = approval.iter().sum::<f64>() / approval.len() as f64;
    assert!((learned - 0.6).abs() <= 0.05, "learned approval share {learned:.3}, facing 0.6");
}

#[test]
fn with_every_licence_approved_the_buyer_learns_nothing_and_asks_for_its_need() {
    // Approval 1: the learned share stays 1, applications are the need, and the stock settles
    // at its target as a delay alone allows.
    let (stock, precaution, approval) = buyer_stock_and_precaution(&licensed_world(1.0, 300, 0.5));
    assert!(approval.iter().all(|&a| a == 1.0), "{approval:?}");
    // Precaution is on (the default 0.5), and a control in force that refuses nothing gives
    // the buyer no reason to stock up: the target is its plain cover.
    assert!(
        precaution.iter().all(|&h| h == 1.0),
        "precaution moved: {:?}",
        precaution.iter().fold(1.0f64, |a, &b| a.max(b))
    );
    let late = &stock[200..];
    let mean = late.iter().sum::<f64>() / late.len() as f64;
    assert!((mean / 4000.0 - 1.0).abs() <= 0.05, "mean ore stock {mean:.0} t");
}

/// A big supplier in AA (300 t/day) and a small one in BB (30 t/day, selling 24 of them), three
/// final producers in BB (40 units/day each, 1 t of ore a unit, 15 days of cover) buying 80% from
/// AA, 20% from BB. From day 30, AA's ore needs a licence approved 10% of the time after 20
/// working days: the small supplier's poor fill rate alone does not keep orders off it.
fn two_suppliers(days: i32) -> Model {
    let mut firms = vec![
        firm("big", "AA", "miner", "ore", 300.0, &[], 10.0),
        firm("small", "BB", "miner", "ore", 30.0, &[], 10.0),
    ];
    for k in 0..3 {
        let mut f = firm(&format!("maker{k}"), "BB", "automaker", "good", 40.0, &[("ore", 1.0)], 15.0);
        f.suppliers = BTreeMap::from([(
            "ore".to_string(),
            Suppliers::ByNation(BTreeMap::from([("AA".to_string(), 0.8), ("BB".to_string(), 0.2)])),
        )]);
        firms.push(f);
    }
    let route = Route {
        from: "AA".into(),
        to: "BB".into(),
        days: 10,
        jitter_days: 0,
        both_ways: false,
    };
    let mut m = world(&["AA", "BB"], firms, vec![route], 1, days, 0.0);
    m.policies.controls.push(ore_control(false, 0.1, 20.0));
    m.policies.events.push(chokepoint::model::Event {
        date: "2025-01-31".into(),
        nation: "AA".into(),
        action: chokepoint::model::Action::Activate("aa_ore".into()),
        note: String::new(),
        announced: None,
    });
    m
}

#[test]
fn orders_never_pile_on_a_supplier_that_cannot_deliver_while_another_has_room() {
    use chokepoint::world::firm::Finished;
    use chokepoint::world::orders::SupplierBoard;
    let model = two_suppliers(240);
    let mut sim = checked_simulation(&model);
    let mut piled = 0;
    while !sim.finished() {
        sim.step_checked().expect("invariants hold");
        let deliverable: Vec<f64> = sim.world.resource::<SupplierBoard>().offers.iter().map(|o| o.deliverable).collect();
        let mut q = sim.world.query::<(&FirmIndex, &Finished)>();
        let fin: BTreeMap<u32, (f64, f64)> = q.iter(&sim.world).map(|(i, f)| (i.0, (f.received, f.expected_sales))).collect();
        // The big supplier has room: what it can deliver passes what it is asked.
        let big_has_room = deliverable[0] > fin[&0].1;
        if fin[&1].0 > 1.5 * deliverable[1] && big_has_room {
            piled += 1;
        }
    }
    // Without the cap and the fill-rate trust, the small supplier is asked for more than 1.5x
    // what it can deliver on 137 of the 240 days.
    assert!(
        piled <= 10,
        "the small supplier was asked for more than 1.5x what it can deliver on {piled} days"
    );
}

#[test]
fn a_buyer_expecting_refusals_holds_precautionary_cover_on_top_of_its_target() {
    // Precaution 0.5 (the default): with 60% of its applications approved and all its ore
    // under licence, the buyer expects 60% of its orders delivered, below the 90% at which it
    // feels safe: scarcity (0.9 - 0.6) / 0.9 = 1/3, so it aims for 1 + 0.5 / 3 = 1.167 times
    // its cover, 4,667 t instead of 4,000.
    let (stock, precaution, approval) = buyer_stock_and_precaution(&licensed_world(0.6, 500, 0.5));
    let learned = approval.iter().sum::<f64>() / approval.len() as f64;
    let expected_h = 1.0 + 0.5 * (0.9 - learned) / 0.9;
    let late = &precaution[250..];
    let h = late.iter().sum::<f64>() / late.len() as f64;
    assert!(
        (h - expected_h).abs() <= 0.03,
        "days 250-500: mean precaution {h:.3}; {expected_h:.3} expected from a learned approval share of {learned:.3}"
    );
    let mean = stock[250..].iter().sum::<f64>() / 250.0;
    assert!(
        (mean / (4000.0 * expected_h) - 1.0).abs() <= 0.1,
        "days 250-500: mean ore stock {mean:.0} t; {:.0} t expected",
        4000.0 * expected_h
    );
    assert!(mean > 4000.0 * 1.08, "the stock is above the plain target: {mean:.0} t");
}

/// One miner in AA that can make 30 t/day for three final producers needing 40 t/day each:
/// it rations from the start.
fn short_supplier(rule: chokepoint::model::Allocation, phantom: f64) -> Model {
    let mut firms = vec![firm("mine", "AA", "miner", "ore", 30.0, &[], 10.0)];
    for k in 0..3 {
        firms.push(firm(&format!("maker{k}"), "AA", "automaker", "good", 40.0, &[("ore", 1.0)], 15.0));
    }
    let mut m = world(&["AA"], firms, vec![], 1, 150, 0.0);
    m.selling.allocation = rule;
    m.buying.phantom_ordering = phantom;
    m
}

/// Mean orders the miner received per day over days 30-150.
fn orders_received(model: &Model) -> f64 {
    use chokepoint::world::firm::Finished;
    let mut sim = checked_simulation(model);
    let mut received = Vec::new();
    while !sim.finished() {
        sim.step_checked().expect("invariants hold");
        let mut q = sim.world.query::<(&FirmIndex, &Finished)>();
        received.push(q.iter(&sim.world).find(|(i, _)| i.0 == 0).unwrap().1.received);
    }
    received[30..].iter().sum::<f64>() / (received.len() - 30) as f64
}

#[test]
fn buyers_inflate_orders_at_a_supplier_that_rations_proportionally_but_not_by_past_purchases() {
    use chokepoint::model::Allocation::{Proportional, TurnAndEarn};
    // Lee, Padmanabhan & Whang (1997): proportional rationing invites phantom orders; an
    // allocation by past purchases gives nothing for them, so nobody inflates.
    let (plain, gamed) = (
        orders_received(&short_supplier(Proportional, 0.0)),
        orders_received(&short_supplier(Proportional, 1.0)),
    );
    assert!(
        gamed > 1.5 * plain,
        "phantom orders at a proportional supplier: {gamed:.1} t/day against {plain:.1}"
    );
    let (plain, gamed) = (
        orders_received(&short_supplier(TurnAndEarn, 0.0)),
        orders_received(&short_supplier(TurnAndEarn, 1.0)),
    );
    assert_eq!(gamed, plain, "no phantom orders at a turn-and-earn supplier");
}

fn aa_event(date: &str, action: chokepoint::model::policy::Action) -> chokepoint::model::policy::Event {
    chokepoint::model::policy::Event {
        date: date.into(),
        nation: "AA".into(),
        action,
        note: String::new(),
        announced: None,
    }
}

/// A fifth of applications pass for 200 days, so the buyer learns to ask for about five
/// times its need; then (2025-07-20, day 200) every application passes. The licences it then
/// holds are for several times its need, and it draws them down at the pace it wants its
/// goods: its stock never goes far above its target (4,000 t), as it would if every licence
/// were shipped whole on approval.
#[test]
fn a_licence_approved_for_more_than_the_need_is_drawn_down_at_the_buyers_pace() {
    use chokepoint::model::EndUse;
    use chokepoint::model::policy::Action;
    let mut m = licensed_world(0.2, 500, 0.0);
    m.policies.events.push(aa_event(
        "2025-07-20",
        Action::SetApproval {
            control: "aa_ore".into(),
            end_use: EndUse::Civil,
            destination: None,
            probability: 1.0,
        },
    ));
    let (stock, approval) = buyer_stock(&m);
    let peak = stock[200..].iter().copied().fold(0.0, f64::max);
    assert!(peak <= 1.25 * 4000.0, "ore stock peaks at {peak:.0} t after approvals resume");
    // It does get its goods: the stock is back near its target.
    let late = &stock[400..];
    let mean = late.iter().sum::<f64>() / late.len() as f64;
    assert!((mean / 4000.0 - 1.0).abs() <= 0.1, "days 400-500: mean ore stock {mean:.0} t");
    assert!(approval.iter().all(|&a| a > 0.9), "it relearns that licences pass: {approval:?}");
}

/// Every licence passes after 20 working days (28 calendar days), which the buyer learns to
/// wait for; from 2025-06-30 (day 180) BB holds a general licence. The wait it remembers
/// lengthened its supply line only for goods that needed a licence: with none needed, its
/// stock returns to its target instead of filling the remembered 28 days of wait (2,800 t).
#[test]
fn after_a_general_licence_the_remembered_wait_holds_no_extra_stock() {
    use chokepoint::model::policy::Action;
    let mut m = licensed_world(1.0, 500, 0.0);
    m.policies.events.push(aa_event(
        "2025-06-30",
        Action::GrantGeneral {
            control: "aa_ore".into(),
            destination: "BB".into(),
        },
    ));
    let (stock, _) = buyer_stock(&m);
    let late = &stock[350..];
    let (lo, hi) = late.iter().fold((f64::MAX, f64::MIN), |(a, b), &x| (a.min(x), b.max(x)));
    assert!(
        lo >= 0.9 * 4000.0 && hi <= 1.1 * 4000.0,
        "days 350-500: ore stock between {lo:.0} and {hi:.0} t; its target is 4,000 t"
    );
}
