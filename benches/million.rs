//! Start-up and the first ticks of a 10^6-firm world (issue 11), timed with the clock rather
//! than criterion: one world takes about 8 GB and 30 s, too much for criterion's ten samples of
//! each step. Under `cargo bench --bench million` it builds the world three times and prints,
//! per step, the three times and their median; run it under `/usr/bin/time -v` for the peak
//! memory. The world comes from `MILLION_WORLD`:
//! - `spec` (default): `models/synthetic/baseline_1m.ron`, generated from its `synthetic`
//!   section (`world::synthetic`); the `generate` step is load, check and resolve of the spec
//!   plus the expansion. `MILLION_FIRMS` changes the number of firms.
//! - `copies`: the 50-firm baseline copied `MILLION_COPIES` times (default 20,000).
//!
//! Under `cargo test` it builds 5,000 firms from the spec once.

use chokepoint::model::load::Source;
use chokepoint::run::{RunOptions, resolve_run};
use chokepoint::tick::Simulation;
use chokepoint::world::network::Network;
use std::path::Path;
use std::time::{Duration, Instant};

#[path = "support/worlds.rs"]
mod worlds;

const TICKS: u32 = 5;
const STEPS: [&str; 5] = ["generate", "check", "resolve", "build", "5 ticks"];

/// Seconds taken by generation, check, resolve, build and `TICKS` ticks of one world.
fn once(spec: bool, size: u64) -> [Duration; 5] {
    let t = Instant::now();
    let model = if spec {
        let opts = RunOptions {
            set: vec![format!("synthetic.firms={size}")],
            ..RunOptions::default()
        };
        resolve_run(Path::new("models/synthetic/baseline_1m.ron"), &opts)
            .expect("spec loads")
            .model
    } else {
        worlds::copies(size as usize)
    };
    let generate = t.elapsed();
    let src = Source::new("world.ron", "");
    let t = Instant::now();
    chokepoint::model::check::check(&model, &src).expect("valid");
    let check = t.elapsed();
    let t = Instant::now();
    let net = Network::resolve(&model, &src).expect("resolves");
    let resolve = t.elapsed();
    let t = Instant::now();
    let mut sim = Simulation::new(&model, net, model.seed);
    let build = t.elapsed();
    let t = Instant::now();
    for _ in 0..TICKS {
        sim.step();
    }
    [generate, check, resolve, build, t.elapsed()]
}

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let spec = std::env::var("MILLION_WORLD").map_or(true, |v| v != "copies");
    let env = |name: &str, default: u64| std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default);
    let size = match (bench, spec) {
        (true, true) => env("MILLION_FIRMS", 1_000_000),
        (true, false) => env("MILLION_COPIES", 20_000),
        (false, true) => 5_000,
        (false, false) => 20,
    };
    let runs: Vec<[Duration; 5]> = (0..if bench { 3 } else { 1 }).map(|_| once(spec, size)).collect();
    let firms = if spec { size } else { size * 50 };
    let how = if spec {
        "generated from the spec"
    } else {
        "copies of the baseline"
    };
    println!("{firms} firms ({how}), {} run(s):", runs.len());
    for (i, step) in STEPS.iter().enumerate() {
        let mut t: Vec<f64> = runs.iter().map(|r| r[i].as_secs_f64()).collect();
        let shown: Vec<String> = t.iter().map(|x| format!("{x:.2}")).collect();
        t.sort_by(f64::total_cmp);
        println!("  {step:8} median {:.2} s  (runs: {} s)", t[t.len() / 2], shown.join(", "));
    }
}
