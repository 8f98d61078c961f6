//! The shipped baseline: calibration targets, reproducibility and conservation, checked on the
//! real binary's output.

mod common;
use common::*;
use std::collections::BTreeMap;

fn run_baseline(out: &std::path::Path, extra: &[&str]) {
    run_model(&root().join("models/baseline.ron"), out, extra);
}

#[test]
fn baseline_meets_its_calibration_targets() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("baseline");
    run_baseline(&out, &[]);
    let firms = read_table(&out.join("firms.arrow"));
    let (dates, commodity, nation, role) = (
        i32s(&firms, "date"),
        strs(&firms, "commodity"),
        strs(&firms, "nation"),
        strs(&firms, "role"),
    );
    let (produced, planned, shortfall) = (f64s(&firms, "produced"), f64s(&firms, "planned"), f64s(&firms, "shortfall"));
    assert_eq!(
        *dates.iter().min().unwrap(),
        chokepoint::model::calendar::Date::parse("2025-01-01").unwrap().0
    );
    assert_eq!(
        *dates.iter().max().unwrap(),
        chokepoint::model::calendar::Date::parse("2027-12-31").unwrap().0
    );

    // Average daily vehicle output per calendar month stays within ±3% of its mean.
    let mut by_month: BTreeMap<(i32, u32), (f64, std::collections::BTreeSet<i32>)> = BTreeMap::new();
    for i in 0..dates.len() {
        if commodity[i] == "vehicle" {
            let e = by_month.entry(year_month(dates[i])).or_default();
            e.0 += produced[i];
            e.1.insert(dates[i]);
        }
    }
    assert_eq!(by_month.len(), 36);
    let daily: Vec<f64> = by_month.values().map(|(q, days)| q / days.len() as f64).collect();
    let mean = daily.iter().sum::<f64>() / daily.len() as f64;
    for (m, d) in by_month.keys().zip(&daily) {
        assert!((d / mean - 1.0).abs() <= 0.03, "{m:?}: {d:.0} vehicles/day vs mean {mean:.0}");
    }
    // Sanity: the world makes about 89 M vehicles a year (calibration §2).
    assert!((mean * 365.0 / 89e6 - 1.0).abs() < 0.03, "{mean}");

    // No firm is ever short of inputs in the baseline: the shortfall is exactly zero (not a
    // rounding residue).
    assert!(
        shortfall.iter().all(|&x| x == 0.0),
        "largest shortfall {}",
        shortfall.iter().fold(0.0f64, |m, x| m.max(x.abs()))
    );
    // No automaker outside China ever loses 10% of a day's planned output for lack of inputs.
    for i in 0..dates.len() {
        if role[i] == "automaker" && nation[i] != "CN" {
            assert!(
                shortfall[i] < 0.10 * planned[i],
                "automaker row {i} lost {} of {}",
                shortfall[i],
                planned[i]
            );
        }
    }

    // China's magnet exports: 4,850 t/month ±15% (calibration §1).
    let flows = read_table(&out.join("flows.arrow"));
    let (fd, ex, com, q) = (
        i32s(&flows, "date"),
        strs(&flows, "exporter"),
        strs(&flows, "commodity"),
        f64s(&flows, "quantity"),
    );
    let mut exports: BTreeMap<(i32, u32), f64> = BTreeMap::new();
    for i in 0..fd.len() {
        if ex[i] == "CN" && com[i] == "ndfeb_magnet" {
            *exports.entry(year_month(fd[i])).or_default() += q[i];
        }
    }
    assert_eq!(exports.len(), 36);
    for (m, t) in &exports {
        assert!((t / 4850.0 - 1.0).abs() <= 0.15, "{m:?}: China exported {t:.0} t of magnets");
    }
}

#[test]
fn same_model_and_seed_give_identical_files_whatever_the_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    let runs = [
        ("t1", vec!["--threads", "1"]),
        ("t2", vec!["--threads", "2"]),
        ("t4", vec!["--threads", "4"]),
    ];
    for (name, extra) in &runs {
        run_baseline(&dir.path().join(name), extra);
    }
    run_baseline(&dir.path().join("other_seed"), &["--seed", "99"]);
    for table in ["firms.arrow", "nations.arrow", "flows.arrow", "prices.arrow"] {
        let a = std::fs::read(dir.path().join("t1").join(table)).unwrap();
        for (name, _) in &runs[1..] {
            let b = std::fs::read(dir.path().join(name).join(table)).unwrap();
            assert!(a == b, "{table} differs between --threads 1 and {name}");
        }
        let c = std::fs::read(dir.path().join("other_seed").join(table)).unwrap();
        assert!(
            a != c,
            "{table}: another seed must give other numbers (the test would be vacuous otherwise)"
        );
    }
}

/// produced = consumed + Δstock + Δin_transit, relative to the largest term.
fn residual(produced: f64, consumed: f64, d_stock: f64, d_transit: f64, scale: f64) -> f64 {
    (produced - consumed - d_stock - d_transit).abs() / scale.max(1e-12)
}

#[test]
fn material_is_conserved_in_the_written_tables() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("baseline");
    run_baseline(&out, &[]);
    let nations = read_table(&out.join("nations.arrow"));
    let (tick, com) = (i32s(&nations, "tick"), strs(&nations, "commodity"));
    let cols: Vec<Vec<f64>> = ["produced", "consumed", "stock", "in_transit"]
        .iter()
        .map(|c| f64s(&nations, c))
        .collect();
    // World totals per (tick, commodity).
    let mut tot: BTreeMap<(String, i32), [f64; 4]> = BTreeMap::new();
    for i in 0..tick.len() {
        let e = tot.entry((com[i].clone(), tick[i])).or_default();
        for k in 0..4 {
            e[k] += cols[k][i];
        }
    }
    let mut checked = 0;
    for ((c, t), v) in &tot {
        if let Some(prev) = tot.get(&(c.clone(), t - 1)) {
            let scale = v.iter().chain(prev.iter()).fold(0.0f64, |m, x| m.max(x.abs()));
            let r = residual(v[0], v[1], v[2] - prev[2], v[3] - prev[3], scale);
            assert!(r <= 1e-9, "{c} at tick {t}: relative imbalance {r:e}");
            checked += 1;
        }
    }
    assert_eq!(checked, 8 * 1094);
}

#[test]
fn material_is_conserved_at_every_tick_of_the_baseline() {
    let path = root().join("models/baseline.ron");
    let (model, _src, net) = chokepoint::run::resolve_model(&path, &Default::default()).unwrap();
    let mut sim = chokepoint::tick::Simulation::new(&model, net, model.seed);
    let mut prev = sim.material_totals();
    while !sim.finished() {
        sim.step();
        sim.recorder_mut().firms = Default::default(); // keep memory flat; rows are not needed here
        let now = sim.material_totals();
        for (c, (a, b)) in prev.iter().zip(&now).enumerate() {
            let scale = [b.produced, b.consumed, a.stock, b.stock, a.in_transit, b.in_transit]
                .into_iter()
                .fold(0.0f64, f64::max);
            let r = residual(b.produced, b.consumed, b.stock - a.stock, b.in_transit - a.in_transit, scale);
            assert!(
                r <= 1e-9,
                "commodity {c} at tick {}: relative imbalance {r:e}",
                sim.clock().tick - 1
            );
        }
        prev = now;
    }
}
