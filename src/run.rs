//! One run from model file to finished run folder: load, override, simulate, write.

use crate::model::calendar::Date;
use crate::model::load::{ModelError, Source};
use crate::model::output::{Compression, FirmRowLevel, TableFormat};
use crate::model::{Model, check, limits, load, overrides};
use crate::output::OutputError;
use crate::output::folders::prepare_run_dir;
use crate::output::manifest::{Manifest, write_manifest, write_model};
use crate::output::writer::RunWriter;
use crate::tick::Simulation;
use crate::world::licences::{APPLICATION_BATCH, Licensing};
use crate::world::network::Network;
use crate::world::policy::{PolicyState, event_kinds};
use crate::world::records::{BATCH_ROWS, Recorder};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// What can stop a run.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{0}")]
    Model(#[from] ModelError),
    #[error("{0}")]
    Output(#[from] OutputError),
    #[error("{0}")]
    Usage(String),
    /// `--check` found a broken invariant: the run stops at that tick.
    #[error("{0} (the run stopped here; its folder has no manifest)")]
    Check(#[from] crate::world::invariants::Violation),
}

impl RunError {
    /// The process exit code: 2 model file, 3 usage (a folder refused included), 4 output, 5 a
    /// broken invariant.
    pub fn exit_code(&self) -> u8 {
        match self {
            RunError::Model(_) => 2,
            RunError::Usage(_) | RunError::Output(OutputError::Refused(_)) => 3,
            RunError::Output(_) => 4,
            RunError::Check(_) => 5,
        }
    }
}

/// True if `CHOKEPOINT_CHECK` asks for `--check` on every run (the tests set it).
pub fn check_from_env() -> bool {
    std::env::var_os("CHOKEPOINT_CHECK").is_some_and(|v| !v.is_empty() && v != "0")
}

/// How to run: overrides of the model and where to write.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    pub out: Option<PathBuf>,
    pub seed: Option<u64>,
    pub until: Option<String>,
    pub set: Vec<String>,
    pub force: bool,
    pub quiet: bool,
    /// Worker threads for systems that run in parallel (default: one per core; 1 runs
    /// everything on the calling thread; without it, so do worlds of fewer than
    /// [`crate::world::params::PARALLEL_FROM_FIRMS`] firms). Results do not depend on it.
    pub threads: Option<usize>,
    /// Run even when the estimated output or memory passes the limits.
    pub allow_large: bool,
    /// Check the invariants every tick (no NaN, no stock below rounding, material balance,
    /// no early licence decision or arrival) and stop at the first broken one.
    pub check: bool,
    /// The output level (`--firm-rows`), over the model's `output.firm_rows`.
    pub firm_rows: Option<FirmRowLevel>,
    /// The tables' file format (`--format`), over the model's `output.format`.
    pub format: Option<TableFormat>,
    /// The tables' compression (`--compression`), over the model's `output.compression`.
    pub compression: Option<Compression>,
}

/// Most worker threads a run accepts (far above any machine's useful count; larger values
/// are a typo, and asking the OS for them fails or exhausts memory).
pub const MAX_THREADS: usize = 256;

/// Loads a model file and applies the run's overrides (`--set`, then `--seed` and `--until`),
/// checking the overridden model before `--until` reads its calendar. The source is kept for
/// error positions. A model with a `synthetic` section comes back generated at firm grain
/// (see [`resolve_run`] for the model as written too).
pub fn resolve_model(path: &Path, opts: &RunOptions) -> Result<(Model, Source, Network), RunError> {
    let r = resolve_run(path, opts)?;
    Ok((r.model, r.src, r.network))
}

/// A model ready to run.
pub struct Resolved {
    /// The model that runs: for a `synthetic` spec, the generated world.
    pub model: Model,
    /// The model as written, with the run's overrides, when it has a `synthetic` section: what
    /// the run folder's `model.ron` records instead of millions of generated firms.
    pub spec: Option<Model>,
    pub src: Source,
    pub network: Network,
}

impl Resolved {
    /// What the run will write and hold ([`limits::estimate`]): a generated world is charged
    /// its spec's text, which is what the run parses and writes, not the world's.
    pub fn estimate(&self) -> limits::Estimate {
        match &self.spec {
            Some(spec) => limits::estimate_generated(&self.model, spec),
            None => limits::estimate(&self.model),
        }
    }
}

/// [`resolve_model`], keeping the `synthetic` spec apart from the world generated from it.
/// The spec is checked (so errors point into its file), resolved, and expanded
/// (`world::synthetic`); the generated world is checked again only with `--check` (or
/// `CHOKEPOINT_CHECK`), as it is valid by construction and its check is not cheap.
pub fn resolve_run(path: &Path, opts: &RunOptions) -> Result<Resolved, RunError> {
    let (model, src, network) = resolve_spec(path, opts)?;
    let Some(syn) = model.synthetic.clone() else {
        return Ok(Resolved {
            model,
            spec: None,
            src,
            network,
        });
    };
    let world = crate::world::synthetic::expand(&model, &network, &syn).model;
    if opts.check || check_from_env() {
        check::check(&world, &src)?;
    }
    let network = Network::resolve(&world, &src)?;
    Ok(Resolved {
        model: world,
        spec: Some(model),
        src,
        network,
    })
}

fn resolve_spec(path: &Path, opts: &RunOptions) -> Result<(Model, Source, Network), RunError> {
    if let Some(n) = opts.threads
        && !(1..=MAX_THREADS).contains(&n)
    {
        return Err(RunError::Usage(format!("--threads {n}: expected 1 to {MAX_THREADS}")));
    }
    // The model is checked once, as it will run (a big world's check is not cheap).
    let (mut model, mut src) = load::load_unchecked(path)?;
    // An error in a value set on the command line says so, instead of pointing at the file's.
    src.note_overrides(&model, &opts.set);
    for a in &opts.set {
        model = overrides::apply(&model, a).map_err(|m| src.error(m))?;
    }
    if let Some(seed) = opts.seed {
        model.seed = seed;
    }
    if let Some(f) = opts.firm_rows {
        model.output.firm_rows = f;
    }
    if let Some(f) = opts.format {
        model.output.format = f;
    }
    if let Some(c) = opts.compression {
        model.output.compression = c;
    }
    let mut until_date = None;
    if let Some(until) = &opts.until {
        let start = Date::parse(&model.calendar.start);
        let d = Date::parse(until).ok_or_else(|| RunError::Usage(format!("--until `{until}` is not a date of the form YYYY-MM-DD")))?;
        if let Some(start) = start
            && d < start
        {
            return Err(RunError::Usage(format!("--until {d} is before the model's start {start}")));
        }
        until_date = Some((d, std::mem::replace(&mut model.calendar.end, d.to_string())));
    }
    if let Err(e) = check::check(&model, &src) {
        // An error that only the --until date makes is the option's, not the file's.
        if let Some((d, end)) = until_date {
            let mut as_written = model.clone();
            as_written.calendar.end = end;
            if check::check(&as_written, &src).is_ok() {
                return Err(RunError::Usage(format!("--until {d}: {}", e.message)));
            }
        }
        return Err(e.into());
    }
    let network = Network::resolve(&model, &src)?;
    Ok((model, src, network))
}

/// Runs a model file into its run folder; returns the folder and the manifest.
pub fn run(path: &Path, opts: &RunOptions) -> Result<(PathBuf, Manifest), RunError> {
    let t0 = Instant::now();
    let resolved = resolve_run(path, opts)?;
    if !opts.allow_large {
        let e = resolved.estimate();
        limits::check_limits(&e, limits::DEFAULT_MAX_OUTPUT_BYTES, limits::DEFAULT_MAX_MEMORY_BYTES).map_err(RunError::Usage)?;
    }
    let Resolved {
        mut model, spec, network, ..
    } = resolved;
    if !opts.quiet {
        for w in crate::model::check::role_warnings(spec.as_ref().unwrap_or(&model)) {
            eprintln!("warning: {w}");
        }
    }
    let dir = opts.out.clone().unwrap_or_else(|| PathBuf::from("runs").join(&model.name));
    prepare_run_dir(&dir, opts.force)?;
    // A generated world is recorded as its spec: the same spec and seed give the same world.
    let written = spec.as_ref().unwrap_or(&model);
    let resolved = ron::ser::to_string_pretty(written, ron::ser::PrettyConfig::default()).expect("a model serialises");
    write_model(&dir, &resolved)?;

    if let Some(n) = opts.threads.filter(|&n| n > 1) {
        bevy_tasks::ComputeTaskPool::get_or_init(|| bevy_tasks::TaskPoolBuilder::new().num_threads(n).build());
    }
    // The world holds its firms and links once they are spawned: the firms' specs and the
    // network's per-firm inputs are not read again, and at 10^6 firms they are gigabytes.
    let seed = model.seed;
    let mut sim = Simulation::new_releasing(&mut model, network, seed);
    // One thread: no compute pool at all.
    // Small worlds run faster on one thread (see `PARALLEL_FROM_FIRMS`), unless asked.
    let firms = sim.world.resource::<crate::world::registry::Registry>().entity.len();
    sim.set_parallel(match opts.threads {
        Some(n) => n > 1,
        None => firms >= crate::world::params::PARALLEL_FROM_FIRMS,
    });
    let checking = opts.check || check_from_env();
    sim.set_check(checking);
    let controls: Vec<String> = model.policies.controls.iter().map(|c| c.id.clone()).collect();
    let mut writer = RunWriter::create(&dir, &sim.network, &controls, event_kinds(&model), &model.output)?;
    let clock = sim.clock();
    let bar = if opts.quiet {
        indicatif::ProgressBar::hidden()
    } else {
        indicatif::ProgressBar::new(u64::from(clock.ticks))
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} ticks {elapsed}")
            .expect("template")
            .progress_chars("=> "),
    );
    bar.set_message(model.name.clone());
    while !sim.finished() {
        sim.step_checked()?;
        bar.inc(1);
        if sim.world.resource::<Recorder>().pending_rows() >= BATCH_ROWS {
            writer.flush(&mut sim.recorder_mut())?;
        }
        // Final applications are written in whole batches as the run goes (a policy world's
        // would otherwise be held to the end); looked for once two batches are held.
        if sim.world.resource::<Licensing>().applications.len() >= 2 * APPLICATION_BATCH {
            writer.write_applications(&mut sim.world.resource_mut::<Licensing>(), false, clock.start, clock.tick_days)?;
        }
    }
    writer.flush(&mut sim.recorder_mut())?;
    bar.finish_and_clear();
    let mut licensing = std::mem::take(&mut *sim.world.resource_mut::<Licensing>());
    writer.write_policy_tables(&mut licensing, sim.world.resource::<PolicyState>(), clock.start, clock.tick_days)?;
    let rows = writer.finish()?;
    // The model check bounds a run to 200 years, so the span fits an i32 of days.
    let span = u64::from(clock.ticks) * u64::from(clock.tick_days);
    let last = clock.start.plus_days(i32::try_from(span).unwrap_or(i32::MAX) - 1);
    let manifest = Manifest {
        model: model.name.clone(),
        seed: model.seed,
        model_sha256: sha256_hex(resolved.as_bytes()),
        program: env!("CARGO_PKG_NAME").to_string(),
        program_version: env!("CARGO_PKG_VERSION").to_string(),
        start: clock.start.to_string(),
        end: last.to_string(),
        tick_days: clock.tick_days,
        ticks: clock.ticks,
        rows,
        wall_seconds: t0.elapsed().as_secs_f64(),
        checked: checking,
        clamped: sim.clamped(),
        firm_rows: model.output.firm_rows.to_string(),
        format: model.output.format.to_string(),
        compression: model.output.compression.to_string(),
        synthetic: spec.and_then(|s| s.synthetic),
        complete: true,
    };
    write_manifest(&dir, &manifest)?;
    Ok((dir, manifest))
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}
