//! Speed of sweeps: the same plan (baseline and april_2025 × 8 seeds × 2 approval levels, to
//! 2025-09-30: 24 runs) with one and with two jobs. Issue 4's target: two jobs at least 1.8×
//! as fast as one on two cores (compare the two medians).

use chokepoint::sweep::{SweepOptions, sweep};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use std::path::PathBuf;

fn opts(jobs: usize, out: PathBuf) -> SweepOptions {
    SweepOptions {
        models: vec![PathBuf::from("models/baseline.ron"), PathBuf::from("models/april_2025.ron")],
        seeds: 8,
        grid: vec![
            ("calendar.end".into(), vec!["2025-09-30".into()]),
            (
                "policies.controls.cn_2025_04_rare_earths.approval.civil".into(),
                vec!["0.25".into(), "0.6".into()],
            ),
        ],
        jobs,
        out,
        shard: None,
        resume: false,
        force: false,
        quiet: true,
    }
}

fn benches(c: &mut Criterion) {
    let mut g = c.benchmark_group("sweep_24_runs");
    g.sample_size(10);
    for jobs in [1, 2] {
        let out = std::env::temp_dir().join(format!("chokepoint-bench-sweep-{}-{jobs}", std::process::id()));
        // Removing the previous iteration's folder is setup, not part of the sweep.
        g.bench_function(format!("jobs_{jobs}"), |b| {
            b.iter_batched(
                || {
                    let _ = std::fs::remove_dir_all(&out);
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
