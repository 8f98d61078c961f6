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
    // The buyer keeps producing once it has switched: no shortfall from August. (It learns that
    // CN refuses everything a fifth of the way per weekly decision, and trusts XX only as far
    // as XX fills its orders while XX ramps up, so it is short from mid-April to mid-July.)
    let firms = read_table(&out.join("firms.arrow"));
    let (firm, date, short) = (strs(&firms, "firm"), i32s(&firms, "date"), f64s(&firms, "shortfall"));
    let august = chokepoint::model::calendar::Date::parse("2025-08-01").unwrap().0;
    let late_short: f64 = (0..firm.len())
        .filter(|&i| firm[i] == "yy_car_0" && date[i] >= august)
        .map(|i| short[i])
        .sum();
    assert!(late_short < 1e-9, "after switching the buyer is not short: {late_short}");

    // Without an alternative with capacity, the same buyer stalls: the switch is what saved it.
    let suppliers = r#"Listed([(firm: "cn_parts", share: 0.8), (firm: "xx_parts", share: 0.2)])"#;
    let out = run_text(dir.path(), "no_room", &world(1, 2.5, suppliers, policies, "2025-12-31", 7));
    let firms = read_table(&out.join("firms.arrow"));
    let (firm, date, short) = (strs(&firms, "firm"), i32s(&firms, "date"), f64s(&firms, "shortfall"));
    let late_short: f64 = (0..firm.len())
        .filter(|&i| firm[i] == "yy_car_0" && date[i] >= august)
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

#[test]
fn an_after_rule_fires_once_per_firing_of_its_leader() {
    let dir = tempfile::tempdir().unwrap();
    // The leader's condition always holds: with a 1-day window and a 30-day cooldown it fires
    // on ticks 0, 30, 60 and 90 of the 100 days. Each follower has no cooldown, so only the
    // edge (one answer per firing) keeps it from firing every day after the first firing.
    // One follower is listed before the leader and one after: both see a firing the next tick.
    let policies = r#"(
        rules: [
            (id: "before", nation: "YY", when: AfterRule(rule: "leader"), for_days: 1,
             then: SetTariff(importer: "YY", origin: "CN", commodity: "ore", rate: 0.0), cooldown_days: 0),
            (id: "leader", nation: "CN", when: TariffAtMost(importer: "YY", origin: "CN", commodity: "part", rate: 0.1),
             for_days: 1, then: SetTariff(importer: "CN", origin: "YY", commodity: "ore", rate: 0.0), cooldown_days: 30),
            (id: "after", nation: "YY", when: AfterRule(rule: "leader"), for_days: 1,
             then: SetTariff(importer: "YY", origin: "CN", commodity: "car", rate: 0.0), cooldown_days: 0),
            (id: "slow", nation: "YY", when: AfterRule(rule: "leader"), for_days: 3,
             then: SetTariff(importer: "XX", origin: "CN", commodity: "car", rate: 0.0), cooldown_days: 0),
        ],
    )"#;
    let out = run_text(
        dir.path(),
        "after_rule",
        &world(1, 0.0, r#"ByNation({"CN": 1.0})"#, policies, "2025-04-10", 1),
    );
    let ev = read_table(&out.join("events.arrow"));
    let (tick, source) = (i32s(&ev, "tick"), texts(&ev, "source"));
    let fired = |id: &str| -> Vec<i32> {
        (0..tick.len())
            .filter(|&i| source[i] == format!("rule:{id}"))
            .map(|i| tick[i])
            .collect()
    };
    assert_eq!(fired("leader"), vec![0, 30, 60, 90]);
    assert_eq!(fired("before"), vec![1, 31, 61, 91], "once per firing of the leader");
    assert_eq!(fired("after"), vec![1, 31, 61, 91], "once per firing of the leader");
    // With a 3-day window the answer comes when the pending firing has been seen for 3 days.
    assert_eq!(fired("slow"), vec![3, 33, 63, 93]);
}

/// Approved applications of a run, as (decision date, quantity), in decision order.
fn approvals(out: &Path) -> Vec<(i32, f64)> {
    let lic = read_table(&out.join("licenses.arrow"));
    let (outcome, decided, q) = (strs(&lic, "outcome"), i32s(&lic, "decided_date"), f64s(&lic, "granted"));
    let mut v: Vec<(i32, f64)> = (0..outcome.len())
        .filter(|&i| outcome[i] == "approved")
        .map(|i| (decided[i], q[i]))
        .collect();
    v.sort_by_key(|a| a.0);
    v
}

/// Units approved per (year, month).
fn approved_by_month(approved: &[(i32, f64)]) -> BTreeMap<(i32, u32), f64> {
    let mut m = BTreeMap::new();
    for &(d, q) in approved {
        *m.entry(year_month(d)).or_insert(0.0) += q;
    }
    m
}

/// A quota on CN's parts of 3,000 t a year against a buyer that needs 10 t a day (3,650 t a
/// year): the quota binds. `release` is the control's `quota_release` field, if given.
fn quota_run(dir: &Path, name: &str, release: &str) -> Vec<(i32, f64)> {
    let policies = format!(
        r#"(controls: [(id: "q", nation: "CN", active: true, commodities: {{"part": 1.0}},
        review_working_days: Fixed(5.0), approval: (civil: 1.0, defence: 1.0), validity_days: 60,
        annual_quota: {{"part": 3000.0}}, {release})])"#
    );
    approvals(&run_text(
        dir,
        name,
        &world(1, 0.0, r#"ByNation({"CN": 1.0})"#, &policies, "2026-12-31", 7),
    ))
}

#[test]
fn a_quota_approves_no_more_than_it_has_released_at_each_date() {
    let dir = tempfile::tempdir().unwrap();
    // Monthly (the default): 250 t on the first of each month; what is not approved carries
    // over within the year. An application is granted the part that fits (sums of grants are
    // compared to a relative 1e-12: they add up in another order than the quota's tally).
    let monthly = quota_run(dir.path(), "monthly", "");
    let mut cum = 0.0;
    let mut year = 2025;
    for &(d, q) in &monthly {
        let (y, m) = year_month(d);
        if y != year {
            (year, cum) = (y, 0.0);
        }
        cum += q;
        assert!(
            cum <= 250.0 * f64::from(m) * (1.0 + 1e-12),
            "{y}-{m}: {cum} t approved, only {} t released",
            250 * m
        );
    }
    let by_month = approved_by_month(&monthly);
    for y in [2025, 2026] {
        for m in 1..=12 {
            let got = by_month.get(&(y, m)).copied().unwrap_or(0.0);
            assert!(got > 0.0, "exports every month, {y}-{m}: {got}");
        }
    }
    assert!(by_month[&(2026, 1)] <= 250.0, "no January surge: {}", by_month[&(2026, 1)]);
    // The buyer applies for more than each month's release, so each year approves its quota
    // to within one weekly application (about 70–140 t). (That what a release leaves unused
    // carries over is shown by the batches below.)
    for y in [2025, 2026] {
        let total: f64 = by_month.range((y, 1)..=(y, 12)).map(|(_, q)| q).sum();
        assert!(
            total > 2850.0 && total <= 3000.0 * (1.0 + 1e-12),
            "{y}: {total} t approved of 3,000"
        );
    }

    // Annual: first come, first served; the year's quota is gone before December and comes
    // back whole in January.
    let annual = approved_by_month(&quota_run(dir.path(), "annual", "quota_release: Annual"));
    let year_total = |m: &BTreeMap<(i32, u32), f64>, y: i32| m.range((y, 1)..=(y, 12)).map(|(_, q)| q).sum::<f64>();
    assert!(year_total(&annual, 2025) <= 3000.0 * (1.0 + 1e-12), "{}", year_total(&annual, 2025));
    assert_eq!(
        annual.get(&(2025, 12)).copied().unwrap_or(0.0),
        0.0,
        "the quota is used up by December"
    );
    assert!(
        annual[&(2026, 1)] > 250.0,
        "the January surge the monthly release removes: {}",
        annual[&(2026, 1)]
    );

    // Two batches, half on 1 January and half on 1 July: nothing of the second half before July.
    let batches = quota_run(
        dir.path(),
        "batches",
        "quota_release: Batches([(month: 1, share: 0.5), (month: 7, day: 1, share: 0.5)])",
    );
    let july = chokepoint::model::calendar::Date::parse("2025-07-01").unwrap().0;
    let first_half: f64 = batches.iter().filter(|a| a.0 < july).map(|a| a.1).sum();
    let by_month = approved_by_month(&batches);
    assert!(first_half <= 1500.0 * (1.0 + 1e-12) && first_half > 0.0, "first half: {first_half}");
    assert!(by_month[&(2025, 7)] > 0.0, "the second batch is released in July");
    // The January batch is more than a month's applications: what January leaves unapproved
    // carries over and is approved in the months after, before the second batch.
    assert!(
        (2..=6).filter(|&m| by_month.get(&(2025, m)).is_some_and(|&q| q > 0.0)).count() >= 2,
        "the first batch is used over several months: {by_month:?}"
    );
    assert!(
        year_total(&by_month, 2025) <= 3000.0 * (1.0 + 1e-12),
        "{}",
        year_total(&by_month, 2025)
    );
}

/// Two buyers of CN's parts, one three times the other's size, under a monthly quota of
/// 2,000 t a year that neither can live with: the small one also wants six times the cover,
/// so it applies for as much as the big one. Each export link is allotted its share of the
/// quota by its orders when the quota first decided (3/4 and 1/4), whoever applies for more
/// or sooner; first come, first served would give the small buyer about half.
#[test]
fn a_quota_is_shared_among_buyers_by_their_history_not_by_who_applies_first_or_most() {
    let dir = tempfile::tempdir().unwrap();
    let policies = r#"(controls: [(id: "q", nation: "CN", active: true, commodities: {"part": 1.0},
        review_working_days: Fixed(5.0), approval: (civil: 1.0, defence: 1.0), validity_days: 60,
        annual_quota: {"part": 2000.0})])"#;
    let small = r#"(id: "yy_car_1", nation: "YY", role: "automaker", output: "car", capacity_per_day: 10.0, recipe: {"part": 1.0}, target_cover_days: 20.0"#;
    let text = world(2, 0.0, r#"ByNation({"CN": 1.0})"#, policies, "2026-12-31", 7);
    assert!(text.contains(small));
    let text = text.replace(
        small,
        r#"(id: "yy_car_1", nation: "YY", role: "automaker", output: "car", capacity_per_day: 3.3333333333333335, recipe: {"part": 1.0}, target_cover_days: 120.0"#,
    );
    let out = run_text(dir.path(), "shared", &text);
    let lic = read_table(&out.join("licenses.arrow"));
    let (buyer, outcome, decided, asked, granted) = (
        strs(&lic, "buyer_firm"),
        strs(&lic, "outcome"),
        i32s(&lic, "decided_date"),
        f64s(&lic, "quantity"),
        f64s(&lic, "granted"),
    );
    for (firm, share) in [("yy_car_0", 0.75), ("yy_car_1", 0.25)] {
        let rows = || (0..buyer.len()).filter(|&i| buyer[i] == firm && outcome[i] != "pending");
        let applied: f64 = rows().map(|i| asked[i]).sum();
        for y in [2025, 2026] {
            let got: f64 = rows().filter(|&i| year_month(decided[i]).0 == y).map(|i| granted[i]).sum();
            let own = 2000.0 * share;
            assert!(
                got <= own * (1.0 + 1e-9) && got >= 0.9 * own,
                "{firm} {y}: {got} t granted, its share of the quota is {own} t"
            );
        }
        assert!(applied > 2.0 * 2000.0 * share, "{firm} asked for more than its share: {applied}");
    }
}

/// A policy world that files more applications than two batches of `licenses.arrow` writes
/// the final ones as the run goes (`Licensing::take_final`): the table still has every
/// application once, numbered in filing order, in whole batches of 65,536; only those filed
/// within a review of the end are still pending (one written early would show pending, filed
/// long before); nothing refused shipped, and nothing shipped beyond what was granted.
#[test]
fn a_policy_world_writes_its_final_applications_as_it_goes_each_once_and_in_order() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let april = std::fs::read_to_string(root().join("models/april_2025.ron")).unwrap();
    let base = root().join("models/synthetic/baseline_5k.ron");
    let text = april
        .replace("extends: \"baseline.ron\"", &format!("extends: {:?}", base.to_str().unwrap()))
        .replace("name: \"april_2025\"", "name: \"april_5k\"");
    let model = dir.join("april_5k.ron");
    std::fs::write(&model, text).unwrap();
    let out = dir.join("run");
    run_model(&model, &out, &["--until", "2025-07-31", "--firm-rows", "none"]);
    let batches = read_table(&out.join("licenses.arrow"));
    let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
    assert!(rows > 3 * 65_536, "enough applications to write some during the run: {rows}");
    for b in &batches[..batches.len() - 1] {
        assert_eq!(b.num_rows(), 65_536, "whole batches but the last");
    }
    let ids: Vec<i64> = batches
        .iter()
        .flat_map(|b| {
            let a = b.column_by_name("id").expect("id");
            let a = a.as_any().downcast_ref::<arrow_array::Int64Array>().expect("int64");
            a.values().to_vec()
        })
        .collect();
    assert!(
        ids.iter().enumerate().all(|(k, &id)| id == k as i64),
        "every application once, in filing order"
    );
    let manifest: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["rows"]["licenses"].as_u64(), Some(rows as u64));
    let (outcome, submitted) = (strs(&batches, "outcome"), i32s(&batches, "submitted_tick"));
    let (granted, shipped) = (f64s(&batches, "granted"), f64s(&batches, "shipped"));
    let last_tick = *submitted.iter().max().unwrap();
    let mut pending = 0;
    for k in 0..rows {
        match outcome[k].as_str() {
            // Reviews take at most 45 working days: 63 calendar days, daily ticks.
            "pending" => {
                pending += 1;
                assert!(
                    last_tick - submitted[k] <= 63,
                    "application {k}, filed at {}, still pending",
                    submitted[k]
                );
            }
            "denied" => assert_eq!((granted[k], shipped[k]), (0.0, 0.0), "application {k}"),
            _ => assert!(
                shipped[k] <= granted[k] * (1.0 + 1e-9),
                "application {k}: {} shipped of {}",
                shipped[k],
                granted[k]
            ),
        }
    }
    assert!(pending > 0 && pending < rows / 2, "{pending} pending of {rows}");
}
