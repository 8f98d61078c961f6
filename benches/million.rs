//! Start-up and ticks of a 10^6-firm world (issue 11), timed with the clock rather than
//! criterion: one world takes several GB and tens of seconds, too much for criterion's ten
//! samples of each step. Under `cargo bench --bench million` it builds the world three times
//! and prints, per step, the three times and their median; run it under `/usr/bin/time -v` for
//! the peak memory of the process (every world made in it, and the triad's arrays); each
//! world's own peak is printed too (Linux: the peak is reset before each world is made). The
//! world comes from `MILLION_WORLD`:
//! - `spec` (default): `models/synthetic/baseline_1m.ron`, generated from its `synthetic`
//!   section (`world::synthetic`); the `generate` step is load, check and resolve of the spec
//!   plus the expansion. `MILLION_FIRMS` changes the number of firms.
//! - `copies`: the 50-firm baseline copied `MILLION_COPIES` times (default 20,000).
//!
//! `MILLION_FIRM_ROWS` sets the output level (default `all`; `none` as in the 10^6-firm year).
//!
//! Under `cargo test` it builds 5,000 firms from the spec once.
//!
//! Each world steps one untimed tick, then `TICKS` ticks with the systems that pay run on
//! every core and `TICKS` on one thread (as `--threads 1`), alternating; every firm's rows are recorded and dropped after each
//! tick (no file I/O). After the last tick it counts the bytes of state that tick read or
//! wrote ([`Simulation::state_bytes`]), then times each step of the day alone
//! ([`chokepoint::tick::day_by_step`], `TICKS` ticks each way again), and runs a STREAM triad (McCalpin 1995: a[i] = b[i] +
//! s·c[i], 24 bytes per element) on arrays far larger than the caches, on one thread and on
//! every core: the bandwidth bound of a tick is its bytes over the triad's bandwidth.

/// As the binary: large arrays on huge pages.
#[global_allocator]
static ALLOC: chokepoint::alloc::HugePages = chokepoint::alloc::HugePages;

use chokepoint::model::load::Source;
use chokepoint::run::{RunOptions, resolve_run};
use chokepoint::tick::{STEPS, Simulation, StateBytes};
use chokepoint::world::clock::Clock;
use chokepoint::world::network::Network;
use std::path::Path;
use std::time::Instant;

#[path = "support/worlds.rs"]
mod worlds;

#[path = "support/triad.rs"]
mod triad;
use triad::triad;

const TICKS: u32 = 5;

struct Run {
    generate: f64,
    check: f64,
    resolve: f64,
    build: f64,
    /// Seconds per tick, every core / one thread.
    tick: f64,
    tick_1thread: f64,
    /// Seconds per tick of each step of the day (every core, one thread).
    steps: Vec<[f64; 2]>,
    bytes: StateBytes,
    /// The world's own peak resident memory, KiB (`VmHWM`, reset before it is made; Linux).
    peak_kib: Option<u64>,
}

/// Resets the process's peak resident memory to what it holds now (Linux ≥ 4.0: writing 5
/// to `/proc/self/clear_refs`), so that each world's peak is its own, not the highest of the
/// worlds made before it in this process. Returns whether it could.
fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// The peak resident memory since the last [`reset_peak`], KiB (`VmHWM`).
fn peak_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn drop_rows(sim: &mut Simulation) {
    let mut rec = sim.recorder_mut();
    rec.firms = Default::default();
    rec.nations = Default::default();
    rec.flows = Default::default();
    rec.prices = Default::default();
    rec.lines = Default::default();
    rec.groups = Default::default();
}

/// Seconds per tick with the systems that pay on every core and on one thread: one untimed
/// tick (the first lists the links for the order book), then `TICKS` of each, alternating, so
/// both meet the same state (the first ticks still fill shipment buckets for the first time).
/// The tables do not depend on the thread count, so switching changes nothing else.
fn ticks(sim: &mut Simulation) -> (f64, f64) {
    drop_rows(sim);
    sim.step();
    let mut spent = [0.0; 2];
    for k in 0..2 * TICKS {
        let parallel = k % 2 == 0;
        sim.set_parallel(parallel);
        drop_rows(sim);
        let t = Instant::now();
        sim.step();
        spent[usize::from(!parallel)] += t.elapsed().as_secs_f64();
    }
    (spent[0] / f64::from(TICKS), spent[1] / f64::from(TICKS))
}

/// Seconds per tick of each step of the day ([`chokepoint::tick::day_by_step`]), every core
/// and one thread: `TICKS` ticks of each, alternating, after those of [`ticks`].
fn steps(sim: &mut Simulation) -> Vec<[f64; 2]> {
    let mut day = chokepoint::tick::day_by_step();
    let mut spent = vec![[0.0; 2]; day.len()];
    for k in 0..2 * TICKS {
        let parallel = k % 2 == 0;
        sim.set_parallel(parallel);
        drop_rows(sim);
        for ((_, schedule), s) in day.iter_mut().zip(&mut spent) {
            let t = Instant::now();
            schedule.run(&mut sim.world);
            s[usize::from(!parallel)] += t.elapsed().as_secs_f64();
        }
        sim.world.resource_mut::<Clock>().tick += 1;
    }
    spent.iter().map(|s| s.map(|x| x / f64::from(TICKS))).collect()
}

/// The output level of the worlds: `MILLION_FIRM_ROWS` (`all`, the default, or another level
/// of `--firm-rows`, e.g. `none` as in the 10^6-firm year).
fn firm_rows() -> chokepoint::model::output::FirmRowLevel {
    let level = std::env::var("MILLION_FIRM_ROWS").unwrap_or_else(|_| "all".into());
    chokepoint::model::output::FirmRowLevel::parse(&level).expect("MILLION_FIRM_ROWS is an output level")
}

fn once(spec: bool, size: u64) -> Run {
    // What the worlds before this one freed goes back first, so that its peak is its own.
    chokepoint::alloc::release_free_memory();
    let reset = reset_peak();
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
    let mut model = model;
    model.output.firm_rows = firm_rows();
    let generate = t.elapsed().as_secs_f64();
    let src = Source::new("world.ron", "");
    let t = Instant::now();
    chokepoint::model::check::check(&model, &src).expect("valid");
    let check = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let net = Network::resolve(&model, &src).expect("resolves");
    let resolve = t.elapsed().as_secs_f64();
    let t = Instant::now();
    // As a run builds it: the firms' specs are released once the firms are spawned.
    let seed = model.seed;
    let mut sim = Simulation::new_releasing(&mut model, net, seed);
    let build = t.elapsed().as_secs_f64();
    let (tick, tick_1thread) = ticks(&mut sim);
    let bytes = sim.state_bytes();
    let steps = steps(&mut sim);
    let peak_kib = if reset { peak_kib() } else { None };
    Run {
        generate,
        check,
        resolve,
        build,
        tick,
        tick_1thread,
        steps,
        bytes,
        peak_kib,
    }
}

fn median(mut t: Vec<f64>) -> f64 {
    t.sort_by(f64::total_cmp);
    t[t.len() / 2]
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
    let runs: Vec<Run> = (0..if bench { 3 } else { 1 }).map(|_| once(spec, size)).collect();
    let n = if spec { size } else { size * 50 };
    let firms = n as f64;
    let how = if spec {
        "generated from the spec"
    } else {
        "copies of the baseline"
    };
    println!("{n} firms ({how}), firm rows `{}`, {} run(s):", firm_rows(), runs.len());
    type Step = (&'static str, fn(&Run) -> f64);
    let steps: [Step; 6] = [
        ("generate", |r| r.generate),
        ("check", |r| r.check),
        ("resolve", |r| r.resolve),
        ("build", |r| r.build),
        ("tick, every core", |r| r.tick),
        ("tick, 1 thread", |r| r.tick_1thread),
    ];
    for (name, get) in steps {
        let t: Vec<f64> = runs.iter().map(get).collect();
        let shown: Vec<String> = t.iter().map(|x| format!("{x:.3}")).collect();
        println!("  {name:17} median {:.3} s  (runs: {} s)", median(t), shown.join(", "));
    }
    let tick = median(runs.iter().map(|r| r.tick).collect());
    let tick1 = median(runs.iter().map(|r| r.tick_1thread).collect());
    println!(
        "  per firm-tick: {:.0} ns every core, {:.0} ns on 1 thread; parallel speed-up {:.2}x",
        tick / firms * 1e9,
        tick1 / firms * 1e9,
        tick1 / tick
    );
    println!("  by step, ms a tick (median of the runs; every core / 1 thread):");
    for (i, step) in STEPS.iter().enumerate() {
        let at = |k: usize| median(runs.iter().map(|r| r.steps[i][k]).collect()) * 1e3;
        println!("    {:12} {:9.3} / {:9.3}", format!("{step:?}"), at(0), at(1));
    }
    let peaks: Vec<u64> = runs.iter().filter_map(|r| r.peak_kib).collect();
    if peaks.len() == runs.len() {
        // GB as KiB ÷ 10^6, as in BENCHMARKS.md: KiB per firm at 10^6 firms.
        let shown: Vec<String> = peaks.iter().map(|&p| format!("{:.2}", p as f64 / 1e6)).collect();
        let mid = median(peaks.iter().map(|&p| p as f64).collect());
        println!(
            "  peak of each world (VmHWM from its making to its last step): median {:.2} GB, {:.0} B per firm  (runs: {} GB)",
            mid / 1e6,
            mid * 1024.0 / firms,
            shown.join(", ")
        );
    }
    let b = runs[runs.len() / 2].bytes;
    println!(
        "  state touched by a tick: {:.1} MB (firms {:.1}, links {:.1}, orders {:.1}, shipments {:.1}, rows {:.1}), {:.0} B per firm",
        b.total() as f64 / 1e6,
        b.firms as f64 / 1e6,
        b.links as f64 / 1e6,
        b.orders as f64 / 1e6,
        b.shipments as f64 / 1e6,
        b.rows as f64 / 1e6,
        b.total() as f64 / firms
    );
    // Arrays of 2^25 doubles (256 MB each) outrun any cache; 2^16 under `cargo test`.
    let n = if bench { 1 << 25 } else { 1 << 16 };
    // The worlds' freed memory goes back first, so that the process's peak is a world's or
    // the triad's, not both.
    chokepoint::alloc::release_free_memory();
    let (bw1, bw) = (triad(n, false), triad(n, true));
    println!(
        "  STREAM triad: {:.1} GB/s on 1 thread, {:.1} GB/s on every core",
        bw1 / 1e9,
        bw / 1e9
    );
    let bound1 = b.total() as f64 / bw1;
    let bound = b.total() as f64 / bw;
    println!(
        "  bandwidth bound: {:.1} ms a tick on 1 thread (tick is {:.1}x it), {:.1} ms on every core (tick is {:.1}x it)",
        bound1 * 1e3,
        tick1 / bound1,
        bound * 1e3,
        tick / bound
    );
}
