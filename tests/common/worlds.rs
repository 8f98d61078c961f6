//! Small hand-built worlds for tests through the library: two or three nations, a few firms,
//! known capacities and routes, so that a test's expected answer can be worked out by hand.
#![allow(dead_code)]

use chokepoint::model::load::Source;
use chokepoint::model::policy::{Approval, Dist, ExportControl};
use chokepoint::model::{
    Buying, Calendar, Commodity, Firm, LineRationing, Model, Nation, Planning, Policies, PriceRules, Route, Routes, Selling,
};
use chokepoint::tick::Simulation;
use chokepoint::world::network::Network;
use std::collections::BTreeMap;

/// A commodity priced at 100 USD per unit (tonnes, or units for a final good).
pub fn commodity(id: &str, final_demand: bool) -> Commodity {
    Commodity {
        id: id.into(),
        unit: if final_demand { "unit".into() } else { "t".into() },
        final_demand,
        price_usd: 100.0,
    }
}

pub fn firm(id: &str, nation: &str, role: &str, output: &str, capacity: f64, recipe: &[(&str, f64)], cover: f64) -> Firm {
    Firm {
        id: id.into(),
        name: String::new(),
        nation: nation.into(),
        role: role.into(),
        output: output.into(),
        capacity_per_day: capacity,
        recipe: recipe.iter().map(|(c, q)| (c.to_string(), *q)).collect(),
        target_cover_days: cover,
        output_cover_days: cover,
        initial_stock: BTreeMap::new(),
        suppliers: BTreeMap::new(),
        price_elasticity: 0.0,
        defence_share: 0.0,
        lines: vec![],
        line_rationing: LineRationing::Proportional,
        allocation: None,
        trading: None,
    }
}

pub fn world(nations: &[&str], firms: Vec<Firm>, routes: Vec<Route>, tick_days: u32, days: i32, noise: f64) -> Model {
    let end = chokepoint::model::calendar::Date::parse("2025-01-01").unwrap().plus_days(days - 1);
    Model {
        name: "small".into(),
        description: String::new(),
        calendar: Calendar {
            start: "2025-01-01".into(),
            tick_days,
            end: end.to_string(),
        },
        seed: 1,
        commodities: vec![commodity("ore", false), commodity("part", false), commodity("good", true)],
        nations: nations
            .iter()
            .map(|n| Nation {
                id: n.to_string(),
                name: String::new(),
                price_region: n.to_string(),
            })
            .collect(),
        firms,
        routes: Routes {
            domestic_days: 2,
            links: routes,
        },
        prices: PriceRules::default(),
        planning: Planning {
            demand_smoothing_days: 10.0,
            stock_adjust_days: 10.0,
            final_demand_noise: noise,
            market_shock_sd: noise,
            market_shock_days: 30.0,
        },
        buying: Buying {
            tariff_sensitivity: 2.0,
            approval_learning: 0.2,
            min_expected_approval: 0.1,
            licence_wait_memory_days: 30.0,
            application_interval_days: 7,
            fill_memory_days: 30.0,
            overask_limit: 1.0,
            phantom_ordering: 0.0,
            // The engine's defaults (`buying` in a model file that leaves them out).
            precaution_cover: 0.5,
            precaution_fill_below: 0.9,
            precaution_price_full: 0.0,
            precaution_up_days: 14.0,
            precaution_relax_days: 180.0,
            search_below: 0.0,
            qualification_days: 180.0,
            search_candidates: 4,
            habit_days: 365.0,
            fade_below: 0.02,
        },
        policies: Policies::default(),
        selling: Selling::default(),
        output: Default::default(),
        synthetic: None,
        generated: None,
    }
}

/// AA's export control on ore: all of it under licence (no phase-in), `approval` of
/// applications approved (civil and defence) after `review_days` working days, licences valid
/// 90 days; in force from the start if `active`.
pub fn ore_control(active: bool, approval: f64, review_days: f64) -> ExportControl {
    ExportControl {
        id: "aa_ore".into(),
        nation: "AA".into(),
        active,
        commodities: [("ore".to_string(), 1.0)].into(),
        phase_in_days: 0,
        review_working_days: Dist::Fixed(review_days),
        approval: Approval {
            civil: approval,
            civil_by_destination: BTreeMap::new(),
            defence: approval,
            defence_by_destination: BTreeMap::new(),
        },
        validity_days: 90,
        annual_quota: BTreeMap::new(),
        quota_release: Default::default(),
        banned: vec![],
        general_licences: vec![],
        inspection: None,
    }
}

/// `model` checked and resolved as `chokepoint run` does, built as a simulation that checks
/// its invariants every tick (`step_checked` reports the first violation).
pub fn checked_simulation(model: &Model) -> Simulation {
    let src = Source::new("small.ron", "");
    chokepoint::model::check::check(model, &src).expect("valid world");
    let net = Network::resolve(model, &src).expect("resolvable world");
    let mut sim = Simulation::new(model, net, model.seed);
    sim.set_check(true);
    sim
}
