//! Speed of sweeps: issue 4's plan (april_2025 and baseline × 50 seeds × 2 approval levels,
//! to the models' end: 150 runs, as the baseline has no approval and runs once per seed) with
//! one and with two jobs. The target: two jobs at least 1.8× as fast as one on two cores
//! (compare the two medians). About four minutes.

use chokepoint::sweep::{SweepOptions, sweep};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use std::path::PathBuf;

/// The plan: 50 seeds under `cargo bench`; under `cargo test` (which runs each bench once to
/// see that it works) 2 seeds, so the test suite does not spend half a minute here.
fn opts(jobs: usize, out: PathBuf) -> SweepOptions {
    let full = std::env::args().any(|a| a == "--bench");
    SweepOptions {
        models: vec![PathBuf::from("models/baseline.ron"), PathBuf::from("models/april_2025.ron")],
        seeds: vec![(1, if full { 50 } else { 2 })],
        grid: vec![(
            "policies.controls.cn_2025_04_rare_earths.approval.civil".into(),
            vec!["0.25".into(), "0.6".into()],
        )],
        jobs,
        out,
        quiet: true,
        ..Default::default()
    }
}

fn benches(c: &mut Criterion) {
    let mut g = c.benchmark_group("sweep_150_runs");
    g.sample_size(10).measurement_time(std::time::Duration::from_secs(100));
    for jobs in [1, 2] {
        let out = std::env::temp_dir().join(format!("chokepoint-bench-sweep-{}-{jobs}", std::process::id()));
        // Removing the previous iteration's folder is setup, not part of the sweep; `sync`
        // makes the file system finish that work before the clock starts (otherwise the
        // kernel frees 2 GB of the last sweep's files while the next one runs).
        g.bench_function(format!("jobs_{jobs}"), |b| {
            b.iter_batched(
                || {
                    let _ = std::fs::remove_dir_all(&out);
                    let _ = std::process::Command::new("sync").status();
                },
                |_| sweep(&opts(jobs, out.clone())).expect("sweep"),
                BatchSize::PerIteration,
            )
        });
        let _ = std::fs::remove_dir_all(&out);
    }
    g.finish();
}

criterion_group!(sweeps, benches);
criterion_main!(sweeps);
