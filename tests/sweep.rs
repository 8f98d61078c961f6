//! `chokepoint sweep`: crash-safe resume, shards, the folder as a dataset, and bad input.

mod common;
use common::*;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// Rows of a summary file as sortable strings (one per run), for exact comparison.
fn summary_rows(files: &[std::path::PathBuf]) -> Vec<String> {
    let mut rows = Vec::new();
    for f in files {
        for b in read_table(f) {
            for r in 0..b.num_rows() {
                let cells: Vec<String> = b.columns().iter().map(|c| arrow_cast_value(c.as_ref(), r)).collect();
                rows.push(cells.join("|"));
            }
        }
    }
    rows.sort();
    rows
}

fn arrow_cast_value(a: &dyn arrow_array::Array, r: usize) -> String {
    use arrow_array::{Float64Array, Int64Array, StringArray};
    if a.is_null(r) {
        return "null".into();
    }
    if let Some(s) = a.as_any().downcast_ref::<StringArray>() {
        return s.value(r).to_string();
    }
    if let Some(x) = a.as_any().downcast_ref::<Int64Array>() {
        return x.value(r).to_string();
    }
    let x = a.as_any().downcast_ref::<Float64Array>().expect("string, int64 or float64");
    format!("{:?}", x.value(r).to_bits())
}

fn sweep_args<'a>(out: &'a str, seeds: &'a str) -> Vec<&'a str> {
    vec![
        "sweep",
        "models/baseline.ron",
        "models/april_2025.ron",
        "--seeds",
        seeds,
        "--grid",
        "calendar.end=2025-09-30",
        "--grid",
        "policies.controls.cn_2025_04_rare_earths.approval.civil=0.25,0.6",
        "--out",
        out,
        "--quiet",
    ]
}

fn complete_runs(dir: &Path) -> Vec<String> {
    let mut v = Vec::new();
    fn walk(d: &Path, root: &Path, v: &mut Vec<String>) {
        for e in std::fs::read_dir(d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, root, v);
            } else if p.file_name().unwrap() == "manifest.json" {
                let m: serde_json::Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
                if m["complete"] == true {
                    v.push(p.parent().unwrap().strip_prefix(root).unwrap().display().to_string());
                }
            }
        }
    }
    walk(dir, dir, &mut v);
    v.sort();
    v
}

const TABLES: [&str; 8] = ["firms", "groups", "nations", "flows", "prices", "lines", "licenses", "events"];

/// Every complete run's tables appear in the sweep's per-table folders as the run's own
/// files (hard links), and nothing else does.
fn assert_views_match_runs(dir: &Path) {
    use std::os::unix::fs::MetadataExt;
    let runs = complete_runs(dir);
    for t in TABLES {
        let view = dir.join("tables").join(t);
        let mut entries = Vec::new();
        let mut stack = vec![view.clone()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap().flatten() {
                if e.path().is_dir() {
                    stack.push(e.path());
                } else {
                    entries.push(e.path().strip_prefix(&view).unwrap().display().to_string());
                }
            }
        }
        entries.sort();
        let want: Vec<String> = runs.iter().map(|r| format!("{r}/part-0.arrow")).collect();
        assert_eq!(entries, want, "tables/{t}");
        for r in &runs {
            let (a, b) = (dir.join(r).join(format!("{t}.arrow")), view.join(r).join("part-0.arrow"));
            assert_eq!(std::fs::metadata(a).unwrap().ino(), std::fs::metadata(b).unwrap().ino(), "{r} {t}");
        }
    }
}

#[test]
fn a_sweep_killed_part_way_and_resumed_gives_the_same_summary_as_an_uninterrupted_one() {
    let dir = tempfile::tempdir().unwrap();
    let whole = dir.path().join("whole");
    let o = chokepoint(&sweep_args(whole.to_str().unwrap(), "6"));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(complete_runs(&whole).len(), 18);

    // Kill -9 a second sweep once a few runs are complete and before it has finished.
    let killed = dir.path().join("killed");
    let mut child = bin()
        .args(sweep_args(killed.to_str().unwrap(), "6"))
        .args(["--jobs", "1"])
        .current_dir(root())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    while complete_runs_if_any(&killed) < 3 && t0.elapsed() < Duration::from_secs(120) {
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL on Unix
    child.wait().unwrap();
    let done = complete_runs(&killed).len();
    assert!(
        (3..18).contains(&done),
        "the sweep was interrupted part-way ({done} of 18 runs complete)"
    );
    assert!(!killed.join("summary.arrow").exists());

    let mut args = sweep_args(killed.to_str().unwrap(), "6");
    args.push("--resume");
    let o = chokepoint(&args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(complete_runs(&killed), complete_runs(&whole));
    assert_views_match_runs(&killed);
    let a = summary_rows(&[whole.join("summary.arrow")]);
    let b = summary_rows(&[killed.join("summary.arrow")]);
    assert_eq!(a.len(), 18);
    assert_eq!(a, b, "same rows, bit for bit");
    // Resumed runs wrote the same bytes as uninterrupted ones.
    for run in complete_runs(&whole) {
        assert_eq!(
            std::fs::read(whole.join(&run).join("firms.arrow")).unwrap(),
            std::fs::read(killed.join(&run).join("firms.arrow")).unwrap(),
            "{run}"
        );
    }
}

fn complete_runs_if_any(dir: &Path) -> usize {
    if dir.exists() { complete_runs(dir).len() } else { 0 }
}

#[test]
fn shards_together_hold_exactly_the_runs_and_rows_of_one_sweep() {
    let dir = tempfile::tempdir().unwrap();
    let whole = dir.path().join("whole");
    let sharded = dir.path().join("sharded");
    let o = chokepoint(&sweep_args(whole.to_str().unwrap(), "4"));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for i in 0..3 {
        let shard = format!("{i}/3");
        let mut args = sweep_args(sharded.to_str().unwrap(), "4");
        args.extend(["--shard", &shard]);
        let o = chokepoint(&args);
        assert!(o.status.success(), "shard {shard}: {}", String::from_utf8_lossy(&o.stderr));
    }
    assert_eq!(complete_runs(&sharded), complete_runs(&whole));
    assert_views_match_runs(&sharded);
    let shards: Vec<_> = (0..3).map(|i| sharded.join(format!("summary.shard-{i}-of-3.arrow"))).collect();
    let per_shard: Vec<usize> = shards.iter().map(|s| summary_rows(std::slice::from_ref(s)).len()).collect();
    assert!(per_shard.iter().all(|&n| n > 0), "{per_shard:?}");
    assert_eq!(summary_rows(&shards), summary_rows(&[whole.join("summary.arrow")]));
    assert_eq!(
        std::fs::read(sharded.join("sweep.json")).unwrap(),
        std::fs::read(whole.join("sweep.json")).unwrap()
    );
}

#[test]
fn a_sweep_folder_opens_as_one_dataset_in_pyarrow_polars_and_duckdb() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sw");
    let o = chokepoint(&sweep_args(out.to_str().unwrap(), "2"));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let py = python();
    let o = Command::new(py)
        .arg(root().join("tests/sweep_readers.py"))
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(String::from_utf8_lossy(&o.stdout).starts_with("ok: 6 runs"));

    // compare on the sweep: paired differences against the baseline.
    let o = chokepoint(&["compare", out.to_str().unwrap(), "--baseline", "baseline", "--format", "json"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stats: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let row = stats
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["indicator"] == "short__vehicle__IN" && s["group"].as_str().unwrap().contains("approval_civil=0.25"))
        .unwrap();
    assert_eq!(row["n"], 2);
    assert!(
        row["diff_mean"].as_f64().unwrap() > 0.0,
        "april loses vehicles in India against the baseline"
    );
}

#[test]
fn bad_sweeps_are_refused_before_any_run() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sw");
    let o = chokepoint(&[
        "sweep",
        "models/baseline.ron",
        "--seeds",
        "2",
        "--grid",
        "firms.no_such.capacity_per_day=1,2",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("no model has this field"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(!out.exists());
    let o = chokepoint(&[
        "sweep",
        "models/baseline.ron",
        "--seeds",
        "1",
        "--grid",
        "calendar.end=2025-01-20",
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(o.status.success());
    let o = chokepoint(&[
        "sweep",
        "models/baseline.ron",
        "--seeds",
        "1",
        "--grid",
        "calendar.end=2025-01-20",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("use --resume"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let o = chokepoint(&[
        "sweep",
        "models/baseline.ron",
        "--seeds",
        "1",
        "--shard",
        "3/3",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("need 0 <= I < N"));
}

#[test]
fn a_dask_cluster_runs_the_shards_of_one_sweep() {
    let dir = tempfile::tempdir().unwrap();
    let (whole, dask) = (dir.path().join("whole"), dir.path().join("dask"));
    let o = chokepoint(&sweep_args(whole.to_str().unwrap(), "3"));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let py = python();
    let mut args: Vec<String> = vec![
        root().join("examples/dask_sweep.py").display().to_string(),
        "--shards".into(),
        "4".into(),
        "--binary".into(),
        env!("CARGO_BIN_EXE_chokepoint").into(),
        "--".into(),
    ];
    args.extend(
        sweep_args(dask.to_str().unwrap(), "3")
            .into_iter()
            .skip(1)
            .filter(|a| *a != "--quiet")
            .map(String::from),
    );
    let o = Command::new(py).args(&args).current_dir(root()).output().unwrap();
    assert!(
        o.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(String::from_utf8_lossy(&o.stdout).contains("ok: 4 shards"));
    assert_eq!(complete_runs(&dask), complete_runs(&whole));
    let shards: Vec<_> = (0..4).map(|i| dask.join(format!("summary.shard-{i}-of-4.arrow"))).collect();
    assert_eq!(summary_rows(&shards), summary_rows(&[whole.join("summary.arrow")]));
}

#[test]
fn common_random_numbers_narrow_the_interval_of_vehicles_lost() {
    // A policy and its baseline run with the same seed share their demand shocks, so the
    // per-seed (paired) difference in vehicles produced is surer than the difference between
    // runs of different seeds (unpaired). The nations the controls hit, and the world, over
    // 2025 (the controls' first months; the summary is all the test reads).
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("crn");
    let o = chokepoint(&[
        "sweep",
        "models/baseline.ron",
        "models/april_2025.ron",
        "--seeds",
        "20",
        "--until",
        "2025-12-31",
        "--keep",
        "none",
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = chokepoint(&["compare", out.to_str().unwrap(), "--baseline", "baseline", "--format", "json"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stats: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    for nation in ["EU", "IN", "KR", "ROW", "US", "world"] {
        let indicator = format!("output__vehicle__{nation}");
        let row = stats
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["indicator"] == indicator.as_str() && s["group"] == "april_2025")
            .unwrap();
        let f = |k: &str| row[k].as_f64().unwrap();
        let (paired, unpaired) = (f("diff_p95") - f("diff_p5"), f("unpaired_p95") - f("unpaired_p5"));
        assert!(f("diff_mean") < 0.0, "{nation}: april_2025 makes fewer vehicles than the baseline");
        assert!(
            paired < unpaired,
            "{nation}: paired 90% width {paired:.0} is not narrower than unpaired {unpaired:.0}"
        );
    }
}
