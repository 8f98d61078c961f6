//! `chokepoint._chokepoint`: the engine's runs and sweeps, called in-process from Python.
//!
//! This module is the thin layer between Python and the library: it takes arguments already
//! normalised by `chokepoint/__init__.py` (paths, `PATH=VALUE` strings, grid values as strings),
//! builds [`RunOptions`] or [`SweepOptions`], and runs [`chokepoint::run::run`] or
//! [`chokepoint::sweep::sweep`] with the GIL released. Every error of the engine comes back as
//! `chokepoint.ChokepointError` with the engine's message and the exit code the command line
//! would have given (`exit_code`).

use chokepoint::model::output::{Compression, FirmRowLevel, TableFormat};
use chokepoint::run::{MAX_THREADS, RunError, RunOptions};
use chokepoint::sweep::{SweepOptions, parse_keep, parse_seeds, parse_shard, read_points};
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use std::path::PathBuf;

pyo3::create_exception!(
    chokepoint,
    ChokepointError,
    PyException,
    "An error of the Chokepoint engine: a model-file error (exit_code 2), a usage error or a refused output folder (3), an output error (4) or a broken invariant under check (5). The message is the engine's, as the command line prints it."
);

/// The exit code of a usage error (a bad argument, an output folder that is refused).
const USAGE: u8 = 3;

/// A `ChokepointError` with `message` and `exit_code` set.
fn error(py: Python<'_>, message: String, exit_code: u8) -> PyErr {
    let err = ChokepointError::new_err(message);
    // Setting an attribute on a fresh exception instance cannot fail short of memory exhaustion,
    // and then the error without it is still the right one to raise.
    let _ = err.value(py).setattr("exit_code", exit_code);
    err
}

/// The engine's error as a `ChokepointError`.
fn run_error(py: Python<'_>, e: &RunError) -> PyErr {
    error(py, e.to_string(), e.exit_code())
}

/// `firm_rows`, `format` and `compression` as the command line parses them (usage errors).
fn output_options(
    py: Python<'_>,
    firm_rows: Option<&str>,
    format: Option<&str>,
    compression: Option<&str>,
) -> PyResult<(Option<FirmRowLevel>, Option<TableFormat>, Option<Compression>)> {
    let usage = |what: &str, m: String| error(py, format!("{what}: {m}"), USAGE);
    Ok((
        firm_rows
            .map(FirmRowLevel::parse_checked)
            .transpose()
            .map_err(|m| usage("firm_rows", m))?,
        format.map(TableFormat::parse).transpose().map_err(|m| usage("format", m))?,
        compression
            .map(Compression::parse)
            .transpose()
            .map_err(|m| usage("compression", m))?,
    ))
}

/// Runs one model file into its run folder; returns the folder (`runs/<model name>` under the
/// current directory when `out` is None, as the command line does).
#[pyfunction]
#[pyo3(signature = (model, out=None, seed=None, set=Vec::new(), until=None, force=false, threads=None, firm_rows=None, format=None, compression=None, check=false, allow_large=false))]
// Every field is named, and `..Default::default()` still covers fields the engine adds later.
#[allow(clippy::too_many_arguments, clippy::needless_update)]
fn run(
    py: Python<'_>,
    model: PathBuf,
    out: Option<PathBuf>,
    seed: Option<u64>,
    set: Vec<String>,
    until: Option<String>,
    force: bool,
    threads: Option<usize>,
    firm_rows: Option<&str>,
    format: Option<&str>,
    compression: Option<&str>,
    check: bool,
    allow_large: bool,
) -> PyResult<PathBuf> {
    let (firm_rows, format, compression) = output_options(py, firm_rows, format, compression)?;
    let opts = RunOptions {
        out,
        seed,
        until,
        set,
        force,
        quiet: true,
        threads,
        allow_large,
        check,
        firm_rows,
        format,
        compression,
        ..Default::default()
    };
    let result = py.detach(move || chokepoint::run::run(&model, &opts));
    match result {
        Ok((dir, _manifest)) => Ok(dir),
        Err(e) => Err(run_error(py, &e)),
    }
}

/// Runs every model x point x seed into the sweep folder `out`; returns how many runs this call
/// ran or found complete. `seeds` and `keep` are as `--seeds` and `--keep` take them; `grid`
/// holds (PATH, values) pairs, values as `--set` takes them.
#[pyfunction]
#[pyo3(signature = (models, out, seeds=None, grid=Vec::new(), points=None, set=Vec::new(), until=None, keep=None, jobs=None, force=false, firm_rows=None, format=None, compression=None, shard=None, resume=false, check=false, allow_large=false))]
#[allow(clippy::too_many_arguments, clippy::needless_update)]
fn sweep(
    py: Python<'_>,
    models: Vec<PathBuf>,
    out: PathBuf,
    seeds: Option<&str>,
    grid: Vec<(String, Vec<String>)>,
    points: Option<PathBuf>,
    set: Vec<String>,
    until: Option<String>,
    keep: Option<&str>,
    jobs: Option<usize>,
    force: bool,
    firm_rows: Option<&str>,
    format: Option<&str>,
    compression: Option<&str>,
    shard: Option<&str>,
    resume: bool,
    check: bool,
    allow_large: bool,
) -> PyResult<usize> {
    // The checks and parsing the command line does before it calls the library.
    let usage = |m: String| error(py, m, USAGE);
    if models.is_empty() {
        return Err(usage("sweep needs at least one model file".into()));
    }
    if let Some((path, _)) = grid.iter().find(|(p, v)| p.is_empty() || v.is_empty()) {
        return Err(usage(format!("grid `{path}`: expected a path and at least one value")));
    }
    if let Some(j) = jobs
        && !(1..=MAX_THREADS).contains(&j)
    {
        return Err(usage(format!("jobs {j}: expected 1 to {MAX_THREADS}")));
    }
    let seeds = seeds.map(parse_seeds).transpose().map_err(usage)?.unwrap_or_default();
    let keep = keep.map(parse_keep).transpose().map_err(usage)?;
    let shard = shard.map(parse_shard).transpose().map_err(usage)?;
    let points = points.as_deref().map(read_points).transpose().map_err(usage)?;
    let (firm_rows, format, compression) = output_options(py, firm_rows, format, compression)?;
    let opts = SweepOptions {
        models,
        seeds,
        grid,
        points,
        set,
        until,
        keep,
        jobs: jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
        out,
        shard,
        resume,
        force,
        quiet: true,
        allow_large,
        check,
        firm_rows,
        format,
        compression,
        ..Default::default()
    };
    let result = py.detach(move || chokepoint::sweep::sweep(&opts));
    match result {
        Ok(done) => Ok(done.len()),
        Err(e) => Err(run_error(py, &e)),
    }
}

/// Every output table's columns with type, unit and meaning, as `chokepoint schema --json`
/// prints them.
#[pyfunction]
fn schema_json() -> String {
    chokepoint::output::schema::tables_json()
}

/// The engine of Chokepoint, in-process (use the functions of `chokepoint`, which wrap these).
#[pymodule]
mod _chokepoint {
    #[pymodule_export]
    use super::{ChokepointError, run, schema_json, sweep};
}
