//! Start-up cost of big worlds: checking the model, resolving its network and building the
//! simulation, at 10^3, 10^4 and 10^5 firms.
//!
//! A world of K × 50 firms is the shipped baseline copied K times, each copy's capacities and
//! starting stocks divided by K and its supplier rules resolved to `Listed` links inside the
//! copy (the method of issue 11), so that its totals are the baseline's.
//!
//! - `startup/check/N`: `model::check::check`;
//! - `startup/resolve/N`: `Network::resolve` (supplier rules, search candidates, steady state);
//! - `startup/build/N`: `Simulation::new` from the resolved network.
//!
//! Under `cargo test` (no `--bench`) only 10^3 and 10^4 firms run, once each; the environment
//! variable `STARTUP_MAX_FIRMS` leaves out bigger worlds (to time an older, slower build).

use chokepoint::model::load::Source;
use chokepoint::tick::Simulation;
use chokepoint::world::network::Network;
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use std::time::Duration;

#[path = "support/worlds.rs"]
mod worlds;
use worlds::copies;

fn benches(c: &mut Criterion) {
    let full = std::env::args().any(|a| a == "--bench");
    let max = std::env::var("STARTUP_MAX_FIRMS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(usize::MAX);
    let sizes: Vec<usize> = if full { vec![20, 200, 2000] } else { vec![20, 200] }
        .into_iter()
        .filter(|k| k * 50 <= max)
        .collect();
    let mut g = c.benchmark_group("startup");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(5));
    for k in sizes {
        let model = copies(k);
        let n = model.firms.len();
        let src = Source::new("copies.ron", "");
        g.bench_with_input(BenchmarkId::new("check", n), &model, |b, m| {
            b.iter(|| chokepoint::model::check::check(black_box(m), &src).expect("valid"))
        });
        g.bench_with_input(BenchmarkId::new("resolve", n), &model, |b, m| {
            b.iter(|| Network::resolve(black_box(m), &src).expect("resolves"))
        });
        let net = Network::resolve(&model, &src).expect("resolves");
        g.bench_with_input(BenchmarkId::new("build", n), &model, |b, m| {
            b.iter(|| black_box(Simulation::new(m, net.clone(), m.seed).clock().tick))
        });
    }
}

criterion_group!(startup, benches);
criterion_main!(startup);
