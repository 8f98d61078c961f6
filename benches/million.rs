//! Start-up and the first ticks of the baseline copied to 10^6 firms (issue 11), timed with
//! the clock rather than criterion: one world takes about 8 GB and 30 s, too much for
//! criterion's ten samples of each step. Under `cargo bench --bench million` it builds the
//! world three times and prints, per step, the three times and their median; run it under
//! `/usr/bin/time -v` for the peak memory. `MILLION_COPIES` sets the number of copies of the
//! 50-firm baseline (default 20,000: 10^6 firms). Under `cargo test` it runs 20 copies once.

use chokepoint::model::load::Source;
use chokepoint::tick::Simulation;
use chokepoint::world::network::Network;
use std::time::{Duration, Instant};

#[path = "support/worlds.rs"]
mod worlds;

const TICKS: u32 = 5;

/// Seconds taken by check, resolve, build and `TICKS` ticks of one world of `k` copies.
fn once(k: usize) -> [Duration; 4] {
    let model = worlds::copies(k);
    let src = Source::new("copies.ron", "");
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
    [check, resolve, build, t.elapsed()]
}

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let k: usize = if bench {
        std::env::var("MILLION_COPIES").ok().and_then(|v| v.parse().ok()).unwrap_or(20_000)
    } else {
        20
    };
    let runs: Vec<[Duration; 4]> = (0..if bench { 3 } else { 1 }).map(|_| once(k)).collect();
    println!("{} firms, {} run(s):", k * 50, runs.len());
    for (i, step) in ["check", "resolve", "build", "5 ticks"].iter().enumerate() {
        let mut t: Vec<f64> = runs.iter().map(|r| r[i].as_secs_f64()).collect();
        let shown: Vec<String> = t.iter().map(|x| format!("{x:.2}")).collect();
        t.sort_by(f64::total_cmp);
        println!("  {step:8} median {:.2} s  (runs: {} s)", t[t.len() / 2], shown.join(", "));
    }
}
