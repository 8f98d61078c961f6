//! Experimental designs from Python, in-process (the `chokepoint` package, no binary):
//! the EMA Workbench with time-series outcomes (examples/ema_inprocess.py) and a SALib
//! Sobol' analysis run as one sweep of a points file (examples/sobol.py).
//!
//! Both need the test Python with the `chokepoint` package, ema_workbench and SALib; a missing
//! package fails the tests (run tests/run).

mod common;
use common::*;
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

const CONTROL: &str = "policies.controls.cn_2025_04_rare_earths";

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Fails, naming them, unless the test Python has the packages these examples import.
fn require_packages() {
    require_python_modules(
        &["chokepoint", "ema_workbench", "SALib", "polars", "numpy"],
        "run tests/run (it installs tests/requirements.txt and ./python into .venv)",
    );
}

/// Runs an example script with the test Python in the repository root, every run checked tick
/// by tick (CHOKEPOINT_CHECK, as for the binary); panics with its output if it fails.
fn run_example(script: &str, args: &[&str]) -> Output {
    require_packages();
    let o = Command::new(python())
        .arg(root().join(script))
        .args(args)
        .current_dir(root())
        .env("CHOKEPOINT_CHECK", "1")
        .output()
        .expect("python runs");
    assert!(
        o.status.success(),
        "{script} failed:\n--- stdout\n{}\n--- stderr\n{}",
        text(&o.stdout),
        text(&o.stderr)
    );
    o
}

/// The JSON of the script's last line of output.
fn last_json(o: &Output) -> Value {
    let out = text(&o.stdout);
    let last = out.lines().last().unwrap_or_default();
    serde_json::from_str(last).unwrap_or_else(|e| panic!("last line is not JSON ({e}): {last}\n--- stdout\n{out}"))
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap_or_else(|| panic!("expected an array: {v}"))
        .iter()
        .map(|x| x.as_f64().unwrap_or_else(|| panic!("expected a number, got {x} in {v}")))
        .collect()
}

fn matrix(v: &Value) -> Vec<Vec<f64>> {
    v.as_array()
        .unwrap_or_else(|| panic!("expected an array: {v}"))
        .iter()
        .map(floats)
        .collect()
}

/// The value of the first line `key: value,` after the control's `id` in a resolved model.ron.
fn control_value(model_ron: &str, key: &str) -> f64 {
    let start = model_ron
        .find(&format!("id: \"{}\"", CONTROL.rsplit('.').next().unwrap()))
        .expect("the control in model.ron");
    let line = model_ron[start..]
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with(&format!("{key}:")))
        .unwrap_or_else(|| panic!("no `{key}:` in the control of model.ron"));
    let value = line[key.len() + 1..].trim().trim_end_matches(',');
    value.parse().unwrap_or_else(|e| panic!("{line}: {e}"))
}

/// Month by month (January to August 2025) sums of `value` over the rows of a run's table
/// that pass `keep`.
fn monthly(run: &Path, table: &str, value: &str, keep: impl Fn(usize) -> bool) -> Vec<f64> {
    let batches = read_table(&run.join(format!("{table}.arrow")));
    let dates = i32s(&batches, "date");
    let values = f64s(&batches, value);
    let mut sums = vec![0.0; 8];
    for (i, (&d, &v)) in dates.iter().zip(&values).enumerate() {
        let (y, m) = year_month(d);
        assert!(y == 2025 && m <= 8, "{}: a row of {y}-{m:02}", run.display());
        if keep(i) {
            sums[m as usize - 1] += v;
        }
    }
    sums
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

#[test]
fn the_ema_workbench_runs_the_engine_in_process_with_time_series_outcomes() {
    let tmp = tempfile::tempdir().unwrap();
    let out_dir = tmp.path().join("ema");
    let o = run_example(
        "examples/ema_inprocess.py",
        &["--n", "6", "--until", "2025-08-31", "--out", out_dir.to_str().unwrap()],
    );
    let stdout = text(&o.stdout);
    let r = last_json(&o);
    assert_eq!(r["experiments"], 6, "{stdout}");

    // The experiments table: 6 rows of a Latin hypercube within the uncertainties' ranges.
    let approval = floats(&r["parameters"]["approval"]);
    let validity = floats(&r["parameters"]["validity"]);
    let inspection = floats(&r["parameters"]["inspection"]);
    assert_eq!((approval.len(), validity.len(), inspection.len()), (6, 6, 6), "{stdout}");
    assert!(approval.iter().all(|a| (0.05..=0.9).contains(a)), "{approval:?}");
    assert!(
        validity.iter().all(|v| (30.0..=360.0).contains(v) && v.fract() == 0.0),
        "{validity:?}"
    );
    assert!(inspection.iter().all(|s| (0.0..=0.9).contains(s)), "{inspection:?}");
    let mut bins: Vec<usize> = approval.iter().map(|a| (((a - 0.05) / (0.85 / 6.0)) as usize).min(5)).collect();
    bins.sort();
    assert_eq!(
        bins,
        vec![0, 1, 2, 3, 4, 5],
        "one approval rate in each sixth of its range: {approval:?}"
    );

    // Time-series outcomes: one row per experiment, one column per month, January to August.
    let months: Vec<&str> = r["months"].as_array().unwrap().iter().map(|m| m.as_str().unwrap()).collect();
    assert_eq!(
        months,
        [
            "2025-01", "2025-02", "2025-03", "2025-04", "2025-05", "2025-06", "2025-07", "2025-08"
        ]
    );
    for k in ["TIME", "cn_magnet_exports", "vehicles_short"] {
        assert_eq!(r["shapes"][k], serde_json::json!([6, 8]), "shape of {k}: {stdout}");
    }
    let short = matrix(&r["vehicles_short"]);
    let magnets = matrix(&r["cn_magnet_exports"]);
    let total = floats(&r["vehicles_short_total"]);
    assert_eq!((short.len(), magnets.len(), total.len()), (6, 6, 6));
    for ts in short.iter().chain(&magnets) {
        assert_eq!(ts.len(), 8);
        assert!(ts.iter().all(|x| x.is_finite() && *x >= 0.0), "{ts:?}");
    }
    assert!(
        short.iter().flatten().any(|&x| x > 0.0),
        "no vehicle short in any experiment: {short:?}"
    );
    assert!(magnets.iter().all(|ts| ts.iter().sum::<f64>() > 0.0), "{magnets:?}");
    for (ts, t) in short.iter().zip(&total) {
        assert!(
            close(ts.iter().sum(), *t),
            "monthly vehicles short {ts:?} do not add up to the total {t}"
        );
    }
    // The controls start on 2025-04-04: before that every experiment is the same run (same seed,
    // the same draws), afterwards the parameters make them differ.
    for e in 1..6 {
        assert_eq!(short[e][..3], short[0][..3], "January to March differ");
        assert_eq!(magnets[e][..3], magnets[0][..3], "January to March differ");
    }
    assert!(
        magnets.iter().any(|ts| ts[3..] != magnets[0][3..]),
        "the parameters change nothing: {magnets:?}"
    );

    // Each experiment ran in its own folder with its own values, and the outcomes are that
    // run's tables.
    let scenarios: Vec<&str> = r["scenarios"].as_array().unwrap().iter().map(|s| s.as_str().unwrap()).collect();
    assert_eq!(scenarios.len(), 6);
    for (i, s) in scenarios.iter().enumerate() {
        let run = out_dir.join(format!("experiment-{s}"));
        let manifest: Value = serde_json::from_str(&std::fs::read_to_string(run.join("manifest.json")).unwrap()).unwrap();
        assert_eq!(manifest["complete"], true, "{}", run.display());
        assert_eq!(manifest["end"], "2025-08-31", "{}", run.display());
        let model = std::fs::read_to_string(run.join("model.ron")).unwrap();
        assert_eq!(control_value(&model, "civil"), approval[i], "{}: approval", run.display());
        assert_eq!(control_value(&model, "validity_days"), validity[i], "{}: validity", run.display());
        assert_eq!(control_value(&model, "share"), inspection[i], "{}: inspection share", run.display());

        let groups = read_table(&run.join("groups.arrow"));
        let commodity = strs(&groups, "commodity");
        let want = monthly(&run, "groups", "shortfall", |k| commodity[k] == "vehicle");
        let flows = read_table(&run.join("flows.arrow"));
        let (exporter, good) = (strs(&flows, "exporter"), strs(&flows, "commodity"));
        let want_magnets = monthly(&run, "flows", "quantity", |k| exporter[k] == "CN" && good[k] == "ndfeb_magnet");
        for m in 0..8 {
            assert!(
                close(short[i][m], want[m]),
                "{}: vehicles short in {}: {} != {}",
                run.display(),
                months[m],
                short[i][m],
                want[m]
            );
            assert!(
                close(magnets[i][m], want_magnets[m]),
                "{}: CN magnet exports in {}: {} != {}",
                run.display(),
                months[m],
                magnets[i][m],
                want_magnets[m]
            );
        }
    }

    // Fewer approvals, more vehicles short: the three lowest approval rates lose more on
    // average than the three highest.
    let mut order: Vec<usize> = (0..6).collect();
    order.sort_by(|&a, &b| approval[a].total_cmp(&approval[b]));
    let mean = |idx: &[usize]| idx.iter().map(|&i| total[i]).sum::<f64>() / idx.len() as f64;
    let (low, high) = (mean(&order[..3]), mean(&order[3..]));
    assert!(
        low > high,
        "low approval: {low} vehicles short on average, high approval: {high}\n{stdout}"
    );
    assert!(r["spearman_approval_short"].as_f64().unwrap() < 0.0, "{stdout}");
}

#[test]
fn a_sobol_analysis_of_a_points_sweep_finds_the_approval_rate_most_influential() {
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path().join("sobol");
    let o = run_example(
        "examples/sobol.py",
        &["--n", "4", "--until", "2025-08-31", "--out", work.to_str().unwrap()],
    );
    let stdout = text(&o.stdout);
    let r = last_json(&o);

    // Saltelli's scheme with second-order indices: N * (2D + 2) runs.
    let names: Vec<&str> = r["parameters"].as_array().unwrap().iter().map(|p| p.as_str().unwrap()).collect();
    let d = names.len();
    assert_eq!(d, 3, "{stdout}");
    let runs = 4 * (2 * d + 2);
    assert_eq!(r["runs"], runs, "{stdout}");
    assert_eq!(r["summary_rows"], runs, "{stdout}");

    // The points file: a header of model paths and one row per run.
    let points = std::fs::read_to_string(work.join("points.csv")).unwrap();
    let mut lines = points.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(header.len(), d);
    assert!(header.iter().all(|h| h.starts_with(CONTROL)), "{header:?}");
    assert_eq!(header[0], format!("{CONTROL}.approval.civil"));
    let rows: Vec<Vec<f64>> = lines.map(|l| l.split(',').map(|x| x.parse().unwrap()).collect()).collect();
    assert_eq!(rows.len(), runs);

    // The sweep's summary: one row per point, each run with its point's values.
    let summary = read_table(&work.join("sweep/summary.arrow"));
    let point: Vec<i64> = summary
        .iter()
        .flat_map(|b| {
            let a = b.column_by_name("point").expect("column point");
            a.as_any()
                .downcast_ref::<arrow_array::Int64Array>()
                .expect("int64 point")
                .values()
                .to_vec()
        })
        .collect();
    let mut sorted = point.clone();
    sorted.sort();
    assert_eq!(sorted, (0..runs as i64).collect::<Vec<_>>(), "one summary row per point");
    let approval = f64s(&summary, &format!("{CONTROL}.approval.civil").replace('.', "_"));
    for (p, a) in point.iter().zip(&approval) {
        assert_eq!(*a, rows[*p as usize][0], "point {p}: approval");
    }
    let short = f64s(&summary, "short__vehicle__world");
    assert!(short.iter().all(|x| x.is_finite() && *x >= 0.0), "{short:?}");
    let (min, max) = short.iter().fold((f64::MAX, f64::MIN), |(lo, hi), &x| (lo.min(x), hi.max(x)));
    assert!(max > min, "the outcome does not vary: {short:?}");
    assert!(
        close(r["outcome_min"].as_f64().unwrap(), min) && close(r["outcome_max"].as_f64().unwrap(), max),
        "{stdout}"
    );

    // The indices and their confidence intervals are finite (null in the JSON if not).
    for k in ["S1", "S1_conf", "ST", "ST_conf"] {
        let v = r[k].as_array().unwrap_or_else(|| panic!("{k}: {stdout}"));
        assert_eq!(v.len(), d, "{k}");
        assert!(
            v.iter().all(|x| x.as_f64().is_some_and(f64::is_finite)),
            "{k} not finite: {v:?}\n{stdout}"
        );
    }
    // The civil approval rate (0.05-0.9) drives the vehicles lost more than the phase-in (20-50
    // days) or the inspection share (0-0.9): with N = 128 (1,024 runs) its total index is 0.83,
    // against 0.29 and 0.004, and it is the largest at N = 4 for every sample seed from 1 to 12.
    let st = floats(&r["ST"]);
    let top = (0..d).max_by(|&a, &b| st[a].total_cmp(&st[b])).unwrap();
    assert_eq!(names[top], "approval", "total indices {names:?} {st:?}\n{stdout}");
}
