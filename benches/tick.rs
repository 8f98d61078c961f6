//! Speed of the simulation on the shipped baseline (50 firms, daily ticks).
//!
//! - `baseline/tick`: one tick of the world (all systems, rows recorded, no file I/O);
//! - `baseline/3y_simulate`: build the world and run its 1,095 ticks, no file I/O;
//! - `baseline/3y_run`: the whole `chokepoint run`, writing the run folder;
//! - `world/tick/N`: one tick of the baseline copied to N firms (10^3, 10^4; 10^5 under
//!   `cargo bench`), every firm's rows recorded, no file I/O. Divide by N for the time per
//!   firm-tick. `world/tick_1thread/N`: the same on one thread;
//! - `policy/tick_1thread/N`: one tick of `models/april_2025.ron` copied to N firms (10^3,
//!   10^4) on one thread, from 2025-06-01 on, with the licences, applications and customs
//!   holds of the April 2025 controls;
//! - in `baseline/tick`, `world/…` and `policy/…`, one world is ticked from sample to sample
//!   (made again when it finishes), and its first 30 ticks are stepped untimed: what is
//!   timed is stepping, start-up apart, as issue 11 measures it;
//! - `write/flush/10000`: writing 16 ticks of the 10^4-firm world's rows to Arrow files
//!   (criterion reports the throughput in bytes of recorded columns per second);
//! - `output/<level>/N`: observation alone (`record_tick`) on the 10^4-firm world at each
//!   output level (`all`, `every:7`, `sample:0.01`, `none`), with the rows written to Arrow
//!   files every 64 ticks as a run does (the write counted): what recording costs per tick.

/// As the binary: large arrays on huge pages.
#[global_allocator]
static ALLOC: chokepoint::alloc::HugePages = chokepoint::alloc::HugePages;

use chokepoint::model::output::FirmRowLevel;
use chokepoint::output::writer::RunWriter;
use chokepoint::run::{RunOptions, resolve_model, run};
use chokepoint::tick::Simulation;
use chokepoint::tick::observe::record_tick;
use chokepoint::world::clock::Clock;
use chokepoint::world::policy::event_kinds;
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

#[path = "support/worlds.rs"]
mod worlds;

fn baseline() -> (chokepoint::model::Model, chokepoint::world::network::Network) {
    let (m, _, n) = resolve_model(Path::new("models/baseline.ron"), &RunOptions::default()).expect("baseline loads");
    (m, n)
}

fn clear_rows(sim: &mut Simulation) {
    let mut rec = sim.recorder_mut();
    rec.firms = Default::default();
    rec.nations = Default::default();
    rec.flows = Default::default();
    rec.prices = Default::default();
    rec.lines = Default::default();
    rec.groups = Default::default();
}

/// Drops the recorded rows (untimed) once the run would write them as a batch, so the rows
/// are allocated as often as in a run.
fn write_when_due(sim: &mut Simulation) {
    if sim.recorder_mut().pending_rows() >= chokepoint::world::records::BATCH_ROWS {
        clear_rows(sim);
    }
}

/// Ticks a world steps untimed once made, before any is timed: its first ticks give links
/// their lanes and touch its pages for the first time, costs of starting a run, not of
/// stepping it (issue 11 times stepping from two run lengths, start-up apart).
const SETTLE_TICKS: usize = 30;

/// One world ticked for a benchmark, kept from sample to sample: criterion's samples are
/// short (a few ticks each at 10^4 firms), and a world made afresh for each would time
/// mostly its first ticks.
struct Ticking<F: Fn() -> Simulation> {
    new: F,
    sim: Option<Simulation>,
}

impl<F: Fn() -> Simulation> Ticking<F> {
    fn new(new: F) -> Ticking<F> {
        Ticking { new, sim: None }
    }

    /// Times `iters` ticks, each alone, of the world, made by `new` (again whenever it
    /// finishes) and settled for [`SETTLE_TICKS`] untimed: the rows are dropped untimed as a
    /// run would write them.
    fn time(&mut self, iters: u64) -> Duration {
        let mut spent = Duration::ZERO;
        for _ in 0..iters {
            if self.sim.as_ref().is_none_or(Simulation::finished) {
                let mut sim = (self.new)();
                for _ in 0..SETTLE_TICKS {
                    if !sim.finished() {
                        sim.step();
                        write_when_due(&mut sim);
                    }
                }
                self.sim = Some(sim);
            }
            let sim = self.sim.as_mut().expect("made above");
            let t = Instant::now();
            sim.step();
            spent += t.elapsed();
            write_when_due(sim);
        }
        spent
    }
}

fn benches(c: &mut Criterion) {
    let (model, net) = baseline();
    let mut g = c.benchmark_group("baseline");
    g.bench_function("tick", |b| {
        let mut ticking = Ticking::new(|| Simulation::new(&model, net.clone(), model.seed));
        b.iter_custom(|iters| ticking.time(iters))
    });
    g.sample_size(20);
    g.bench_function("3y_simulate", |b| {
        b.iter(|| {
            let mut sim = Simulation::new(&model, net.clone(), model.seed);
            while !sim.finished() {
                sim.step();
            }
            black_box(sim.material_totals())
        })
    });
    let dir = std::env::temp_dir().join(format!("chokepoint-bench-{}", std::process::id()));
    g.bench_function("3y_run", |b| {
        b.iter(|| {
            let opts = RunOptions {
                out: Some(dir.clone()),
                force: true,
                quiet: true,
                ..Default::default()
            };
            black_box(run(Path::new("models/baseline.ron"), &opts).expect("run"))
        })
    });
    g.finish();
    let _ = std::fs::remove_dir_all(&dir);

    let full = std::env::args().any(|a| a == "--bench");
    let sizes: &[usize] = if full { &[20, 200, 2000] } else { &[20, 200] };
    let mut g = c.benchmark_group("world");
    g.sample_size(10);
    for &k in sizes {
        let src = chokepoint::model::load::Source::new("copies.ron", "");
        let model = worlds::copies(k);
        let net = chokepoint::world::network::Network::resolve(&model, &src).expect("resolves");
        let n = model.firms.len();
        // `tick`: the default (systems that pay run on every core); `tick_1thread`: all on
        // the calling thread, as `--threads 1`.
        for (name, parallel) in [("tick", true), ("tick_1thread", false)] {
            g.bench_with_input(BenchmarkId::new(name, n), &model, |b, m| {
                let mut ticking = Ticking::new(|| {
                    let mut sim = Simulation::new(m, net.clone(), m.seed);
                    sim.set_parallel(parallel);
                    sim
                });
                b.iter_custom(|iters| ticking.time(iters))
            });
        }
    }
    g.finish();

    // `policy/tick_1thread/N`: the April 2025 controls copied to N firms, on one thread, from
    // 2025-06-01 on (the world is stepped there untimed, then settled): licensing has
    // applications awaiting decisions and live licences to draw.
    let mut g = c.benchmark_group("policy");
    g.sample_size(10);
    for k in [20, 200] {
        let src = chokepoint::model::load::Source::new("copies.ron", "");
        let model = worlds::copies_of("models/april_2025.ron", k);
        let net = chokepoint::world::network::Network::resolve(&model, &src).expect("resolves");
        let june = chokepoint::model::calendar::Date::parse("2025-06-01").expect("a date");
        let new = || {
            let mut sim = Simulation::new(&model, net.clone(), model.seed);
            sim.set_parallel(false);
            while sim.clock().date() < june {
                sim.step();
                write_when_due(&mut sim);
            }
            sim
        };
        g.bench_function(BenchmarkId::new("tick_1thread", model.firms.len()), |b| {
            let mut ticking = Ticking::new(new);
            b.iter_custom(|iters| ticking.time(iters))
        });
    }
    g.finish();

    // `write/flush/N`: writing 16 ticks of rows of the 10^4-firm world (every table) as one
    // Arrow IPC batch per table to files in a temporary folder; the throughput is the
    // recorded column bytes over the median time.
    let mut g = c.benchmark_group("write");
    g.sample_size(10);
    let k = 200;
    let model = worlds::copies(k);
    let src = chokepoint::model::load::Source::new("copies.ron", "");
    let net = chokepoint::world::network::Network::resolve(&model, &src).expect("resolves");
    let dir = std::env::temp_dir().join(format!("chokepoint-flush-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp folder");
    let mut sim = Simulation::new(&model, net.clone(), model.seed);
    for _ in 0..16 {
        sim.step();
    }
    let bytes = sim.recorder_mut().bytes() as u64;
    clear_rows(&mut sim);
    g.throughput(criterion::Throughput::Bytes(bytes));
    g.bench_function(BenchmarkId::new("flush", model.firms.len()), |b| {
        b.iter_custom(|iters| {
            let kinds = chokepoint::world::policy::event_kinds(&model);
            let mut writer = chokepoint::output::writer::RunWriter::create(&dir, &net, &[], kinds, &model.output).expect("writer");
            let mut spent = Duration::ZERO;
            for _ in 0..iters {
                if sim.finished() {
                    sim = Simulation::new(&model, net.clone(), model.seed);
                }
                for _ in 0..16 {
                    sim.step();
                }
                let mut rec = sim.recorder_mut();
                let t = Instant::now();
                writer.flush(&mut rec).expect("flush");
                spent += t.elapsed();
            }
            writer.finish().expect("finish");
            spent
        })
    });
    g.finish();
    let _ = std::fs::remove_dir_all(&dir);

    let mut g = c.benchmark_group("output");
    g.sample_size(20);
    let src = chokepoint::model::load::Source::new("copies.ron", "");
    let mut model = worlds::copies(200);
    let net = chokepoint::world::network::Network::resolve(&model, &src).expect("resolves");
    let n = model.firms.len();
    let dir = std::env::temp_dir().join(format!("chokepoint-bench-output-{}", std::process::id()));
    for level in ["all", "every:7", "sample:0.01", "none"] {
        model.output.firm_rows = FirmRowLevel::parse(level).expect("a level");
        // The world after a few ticks; observation then runs alone, on tick numbers going round.
        let mut sim = Simulation::new(&model, net.clone(), model.seed);
        for _ in 0..8 {
            sim.step();
        }
        clear_rows(&mut sim);
        let record = sim.world.register_system(record_tick);
        let open = |sim: &Simulation| {
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).expect("temporary folder");
            RunWriter::create(&dir, &sim.network, &[], event_kinds(&model), &model.output).expect("writer")
        };
        let mut writer = open(&sim);
        let mut tick = 0u32;
        g.bench_function(BenchmarkId::new(level, n), |b| {
            b.iter_custom(|iters| {
                let mut spent = Duration::ZERO;
                for _ in 0..iters {
                    tick = (tick + 1) % 1024;
                    sim.world.resource_mut::<Clock>().tick = tick;
                    let t = Instant::now();
                    sim.world.run_system(record).expect("observation runs");
                    if tick.is_multiple_of(64) {
                        writer.flush(&mut sim.recorder_mut()).expect("written");
                    }
                    spent += t.elapsed();
                    // At most 1,024 ticks of files on disk: start them again (not timed).
                    if tick == 0 {
                        std::mem::replace(&mut writer, open(&sim)).finish().expect("closed");
                    }
                }
                spent
            })
        });
        drop(writer);
    }
    g.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(tick, benches);
criterion_main!(tick);
