//! Licensing, supplier switching and reactive rules, on small hand-built worlds run through
//! the real binary.

mod common;
use common::*;
use std::collections::BTreeMap;
use std::path::Path;

/// A small world in RON: a miner and a parts maker in CN (and optionally in XX), and
/// `buyers` final producers in YY. `policies` is inserted as is.
fn world(buyers: usize, xx_capacity: f64, buyer_suppliers: &str, policies: &str, days_end: &str, interval: u32) -> String {
    let mut firms = String::new();
    firms.push_str(r#"(id: "cn_mine", nation: "CN", role: "miner", output: "ore", capacity_per_day: 10000.0, output_cover_days: 10.0),"#);
    firms.push_str(r#"(id: "cn_parts", nation: "CN", role: "refiner", output: "part", capacity_per_day: 5000.0, recipe: {"ore": 1.0}, target_cover_days: 10.0, output_cover_days: 10.0),"#);
    if xx_capacity > 0.0 {
        firms.push_str(
            r#"(id: "xx_mine", nation: "XX", role: "miner", output: "ore", capacity_per_day: 10000.0, output_cover_days: 10.0),"#,
        );
        firms.push_str(&format!(
            r#"(id: "xx_parts", nation: "XX", role: "refiner", output: "part", capacity_per_day: {xx_capacity}, recipe: {{"ore": 1.0}}, target_cover_days: 10.0, output_cover_days: 10.0, suppliers: {{"ore": Listed([(firm: "xx_mine", share: 1.0)])}}),"#
        ));
    }
    for b in 0..buyers {
        firms.push_str(&format!(
            r#"(id: "yy_car_{b}", nation: "YY", role: "automaker", output: "car", capacity_per_day: 10.0, recipe: {{"part": 1.0}}, target_cover_days: 20.0, suppliers: {{"part": {buyer_suppliers}}}),"#
        ));
    }
    format!(
        r#"(name: "small", calendar: (start: "2025-01-01", end: "{days_end}"), seed: 3,
        commodities: [(id: "ore", unit: "t", price_usd: 10.0), (id: "part", unit: "t", price_usd: 100.0), (id: "car", unit: "car", final_demand: true, price_usd: 1000.0)],
        nations: [(id: "CN", price_region: "CN"), (id: "XX", price_region: "W"), (id: "YY", price_region: "W")],
        firms: [{firms}],
        routes: (domestic_days: 2, links: [(from: "CN", to: "YY", days: 10), (from: "XX", to: "YY", days: 10), (from: "CN", to: "XX", days: 5)]),
        prices: (coverage_sensitivity: 0.6, cost_weight: 0.6, adjust_days: 30.0, cover_tolerance: 0.4),
        planning: (demand_smoothing_days: 30.0, stock_adjust_days: 30.0, final_demand_noise: 0.0),
        buying: (tariff_sensitivity: 2.0, approval_learning: 0.2, min_expected_approval: 0.02, licence_wait_memory_days: 30.0, application_interval_days: {interval}),
        policies: {policies},
    )"#
    )
}

fn run_text(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let model = dir.join(format!("{name}.ron"));
    std::fs::write(&model, text).unwrap();
    let out = dir.join(name);
    run_model(&model, &out, &[]);
    out
}

/// Number of working days (Monday–Friday) from `a` to `b` (b after a).
fn working_days_between(a: i32, b: i32) -> u32 {
    ((a + 1)..=b).filter(|d| (d + 3).rem_euclid(7) < 5).count() as u32
}

#[test]
fn approval_share_and_review_times_follow_the_configured_distributions() {
    let dir = tempfile::tempdir().unwrap();
    let policies = r#"(controls: [(id: "c", nation: "CN", active: true, commodities: {"part": 1.0},
        review_working_days: Uniform(min: 10.0, max: 30.0),
        approval: (civil: 0.3, defence: 0.0), validity_days: 60)])"#;
    let text = world(40, 0.0, r#"ByNation({"CN": 1.0})"#, policies, "2026-12-31", 1);
    let out = run_text(dir.path(), "lic", &text);
    let lic = read_table(&out.join("licenses.arrow"));
    let outcome = strs(&lic, "outcome");
    let sub = i32s(&lic, "submitted_date");
    // Decided dates; pending rows (null) are excluded by the outcome.
    let dec = i32s(&lic, "decided_date");
    let decided: Vec<usize> = (0..outcome.len()).filter(|&i| outcome[i] != "pending").collect();
    let n = decided.len() as f64;
    assert!(n > 5000.0, "a large sample: {n}");
    let approved = decided.iter().filter(|&&i| outcome[i] == "approved").count() as f64;
    let share = approved / n;
    let se = (0.3 * 0.7 / n).sqrt();
    assert!((share - 0.3).abs() < 4.0 * se, "approval share {share:.4} vs 0.3 ± {:.4}", 4.0 * se);

    // Review time in working days is ceil(U(10, 30)): 11..=30 equally likely, and 10 never
    // except with probability 0. Check the range, the mean and the quartiles.
    let wd: Vec<f64> = decided.iter().map(|&i| f64::from(working_days_between(sub[i], dec[i]))).collect();
    assert!(
        wd.iter().all(|&d| (10.0..=30.0).contains(&d)),
        "every review within 10–30 working days"
    );
    let mean = wd.iter().sum::<f64>() / n;
    let expected_mean = 20.5; // mean of 11..=30
    let sd = ((1..=20).map(|k| (f64::from(k) + 10.0 - expected_mean).powi(2)).sum::<f64>() / 20.0).sqrt();
    assert!(
        (mean - expected_mean).abs() < 4.0 * sd / n.sqrt(),
        "mean review {mean:.3} working days vs {expected_mean}"
    );
    let below = |x: f64| wd.iter().filter(|&&d| d <= x).count() as f64 / n;
    assert!((below(15.0) - 0.25).abs() < 0.03, "P(review <= 15) = {}", below(15.0));
    assert!((below(25.0) - 0.75).abs() < 0.03, "P(review <= 25) = {}", below(25.0));
    // Every decision falls on a working day.
    assert!(decided.iter().all(|&i| (dec[i] + 3).rem_euclid(7) < 5));
}

/// Monthly imports of `part` into YY by exporter.
fn imports_by_month(out: &Path) -> BTreeMap<(String, (i32, u32)), f64> {
    let flows = read_table(&out.join("flows.arrow"));
    let (ex, im, com, d, q) = (
        strs(&flows, "exporter"),
        strs(&flows, "importer"),
        strs(&flows, "commodity"),
        i32s(&flows, "date"),
        f64s(&flows, "quantity"),
    );
    let mut m = BTreeMap::new();
    for i in 0..ex.len() {
        if im[i] == "YY" && com[i] == "part" {
            *m.entry((ex[i].clone(), year_month(d[i]))).or_insert(0.0) += q[i];
        }
    }
    m
}

#[test]
fn a_buyer_denied_licences_switches_to_an_uncontrolled_supplier_with_capacity() {
    let dir = tempfile::tempdir().unwrap();
    // CN stops approving anything from 2025-03-03; XX has spare capacity (40/day against a
    // buyer that needs 10/day and buys 80% from CN).
    let policies = r#"(controls: [(id: "c", nation: "CN", commodities: {"part": 1.0},
        review_working_days: Fixed(10.0), approval: (civil: 0.0, defence: 0.0), validity_days: 60)],
        events: [(date: "2025-03-03", nation: "CN", action: Activate("c"))])"#;
    let suppliers = r#"Listed([(firm: "cn_parts", share: 0.8), (firm: "xx_parts", share: 0.2)])"#;
    let out = run_text(dir.path(), "switch", &world(1, 40.0, suppliers, policies, "2025-12-31", 7));
    let m = imports_by_month(&out);
    let get = |n: &str, ym: (i32, u32)| m.get(&(n.to_string(), ym)).copied().unwrap_or(0.0);
    // Before: about 80/20.
    assert!((get("CN", (2025, 2)) / (get("CN", (2025, 2)) + get("XX", (2025, 2))) - 0.8).abs() < 0.05);
    // After: nothing from CN, and XX supplies what the buyer uses (10/day).
    assert_eq!(get("CN", (2025, 7)), 0.0);
    assert!(
        get("XX", (2025, 7)) > 0.9 * 31.0 * 10.0,
        "XX supplies the buyer: {}",
        get("XX", (2025, 7))
    );
    let lic = read_table(&out.join("licenses.arrow"));
    assert!(strs(&lic, "outcome").iter().all(|o| o != "approved"));
    assert!(strs(&lic, "outcome").iter().filter(|o| *o == "denied").count() >= 1);
    // The buyer keeps producing once it has switched: no shortfall after June. (It learns that
    // CN refuses everything a fifth of the way per weekly decision, so it is short from
    // mid-April to the first days of June.)
    let firms = read_table(&out.join("firms.arrow"));
    let (firm, date, short) = (strs(&firms, "firm"), i32s(&firms, "date"), f64s(&firms, "shortfall"));
    let july = chokepoint::model::calendar::Date::parse("2025-07-01").unwrap().0;
    let late_short: f64 = (0..firm.len())
        .filter(|&i| firm[i] == "yy_car_0" && date[i] >= july)
        .map(|i| short[i])
        .sum();
    assert!(late_short < 1e-9, "after switching the buyer is not short: {late_short}");

    // Without an alternative with capacity, the same buyer stalls: the switch is what saved it.
    let suppliers = r#"Listed([(firm: "cn_parts", share: 0.8), (firm: "xx_parts", share: 0.2)])"#;
    let out = run_text(dir.path(), "no_room", &world(1, 2.5, suppliers, policies, "2025-12-31", 7));
    let firms = read_table(&out.join("firms.arrow"));
    let (firm, date, short) = (strs(&firms, "firm"), i32s(&firms, "date"), f64s(&firms, "shortfall"));
    let late_short: f64 = (0..firm.len())
        .filter(|&i| firm[i] == "yy_car_0" && date[i] >= july)
        .map(|i| short[i])
        .sum();
    assert!(
        late_short > 100.0,
        "with no spare capacity elsewhere the buyer is short: {late_short}"
    );
}

#[test]
fn a_reactive_rule_fires_when_its_condition_has_held_for_its_window_and_not_within_its_cooldown() {
    let dir = tempfile::tempdir().unwrap();
    // The condition (YY's tariff on CN parts at most 10%) is false until tick 10, true 10–39,
    // false 40–44, true from 45. Window 5 days, cooldown 20 days.
    let policies = r#"(
        tariffs: [(importer: "YY", origin: "CN", commodity: "part", rate: 0.5)],
        events: [
            (date: "2025-01-11", nation: "YY", action: SetTariff(importer: "YY", origin: "CN", commodity: "part", rate: 0.0)),
            (date: "2025-02-10", nation: "YY", action: SetTariff(importer: "YY", origin: "CN", commodity: "part", rate: 0.5)),
            (date: "2025-02-15", nation: "YY", action: SetTariff(importer: "YY", origin: "CN", commodity: "part", rate: 0.0)),
        ],
        rules: [(id: "reward", nation: "CN", when: TariffAtMost(importer: "YY", origin: "CN", commodity: "part", rate: 0.1),
                 for_days: 5, then: SetTariff(importer: "CN", origin: "YY", commodity: "ore", rate: 0.0), cooldown_days: 20)],
    )"#;
    let out = run_text(
        dir.path(),
        "rule",
        &world(1, 0.0, r#"ByNation({"CN": 1.0})"#, policies, "2025-04-10", 1),
    );
    let ev = read_table(&out.join("events.arrow"));
    let (tick, source) = (i32s(&ev, "tick"), texts(&ev, "source"));
    let fired: Vec<i32> = (0..tick.len()).filter(|&i| source[i] == "rule:reward").map(|i| tick[i]).collect();
    assert_eq!(fired, vec![14, 34, 54, 74, 94]);
    let scheduled: Vec<i32> = (0..tick.len()).filter(|&i| source[i] == "scheduled").map(|i| tick[i]).collect();
    assert_eq!(scheduled, vec![10, 40, 45]);
}
