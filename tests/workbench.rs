//! The EMA Workbench drives the binary: Latin-hypercube sampling over three licensing
//! parameters, outcomes read from each sweep's summary.arrow (examples/ema_explore.py).

mod common;
use common::*;
use std::process::Command;

#[test]
fn the_ema_workbench_example_runs_a_latin_hypercube_of_licensing_parameters() {
    let py = python();
    let o = Command::new(py)
        .args([
            root().join("examples/ema_explore.py").to_str().unwrap(),
            "--experiments",
            "6",
            "--until",
            "2025-09-30",
            "--binary",
            env!("CARGO_BIN_EXE_chokepoint"),
        ])
        .current_dir(root())
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{out}\n{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(out.lines().filter(|l| l.starts_with("approval ")).count(), 6, "{out}");
    assert!(out.contains("ok: 6 experiments"), "{out}");
    // The sample spans the ranges: a Latin hypercube puts one value in each sixth of each range.
    let approvals: Vec<f64> = out
        .lines()
        .filter(|l| l.starts_with("approval "))
        .map(|l| l.split_whitespace().nth(1).unwrap().parse().unwrap())
        .collect();
    let mut bins: Vec<usize> = approvals.iter().map(|a| (((a - 0.05) / (0.85 / 6.0)) as usize).min(5)).collect();
    bins.sort();
    assert_eq!(bins, vec![0, 1, 2, 3, 4, 5], "{approvals:?}");
}
