//! `chokepoint sweep`: many runs — every model × grid point × seed — in parallel, each into its
//! own Hive-style folder, with `sweep.json` (the plan) and a summary table (one row per run).
//!
//! Layout: `DIR/scenario=<name>/<param>=<value>/.../seed=<s>/` holds an ordinary run folder.
//! `--shard I/N` runs only the plan items with index ≡ I (mod N) and writes
//! `summary.shard-I-of-N.arrow`; together the shards hold exactly the runs and summary rows of
//! one unsharded sweep (`summary.arrow`). `--resume` skips runs whose manifest says complete and
//! redoes the others. `DIR/tables/<table>/<run folder>/part-0.arrow` holds each complete run's
//! `<table>.arrow` again (a hard link), so that each table of the sweep opens as one dataset.

use crate::analysis::compare::{Indicators, controlled_goods, indicators};
use crate::analysis::downstream::final_goods;
use crate::model::Model;
use crate::model::limits::Estimate;
use crate::output::files::{io_err, write_atomic};
use crate::output::folders::{SWEEP_MARKER, clear_sweep_dir, mark_sweep_dir};
use crate::output::read::{ReadError, RunFolder, is_complete};
use crate::output::sweep_files::{SummaryTable, TABLES_DIR, link_views, unlink_views, write_summary};
use crate::run::{RunError, RunOptions, resolve_model, resolve_run, run};
use rayon::prelude::*;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

/// What to sweep.
#[derive(Debug, Clone, Default)]
pub struct SweepOptions {
    pub models: Vec<PathBuf>,
    /// The seeds of every model and point, as inclusive ranges (`--seeds`); none: seed 1, or
    /// each row's `seed` of a points file.
    pub seeds: Vec<(u64, u64)>,
    /// (PATH, values) for each `--grid PATH=V1,V2,...`.
    pub grid: Vec<(String, Vec<String>)>,
    /// The rows of a points file (`--points`): one point of the plan each (times the grid).
    pub points: Option<Points>,
    /// `--set PATH=VALUE` for every run, before the point's values.
    pub set: Vec<String>,
    /// `--until` for every run.
    pub until: Option<String>,
    /// The tables each run keeps (`--keep`); None keeps all. The summary is always written.
    pub keep: Option<Vec<String>>,
    pub jobs: usize,
    pub out: PathBuf,
    /// (I, N) of `--shard I/N`.
    pub shard: Option<(usize, usize)>,
    pub resume: bool,
    pub force: bool,
    pub quiet: bool,
    /// Accept a plan or runs beyond the limits of [`MAX_PLAN_RUNS`] and the size estimates.
    pub allow_large: bool,
    /// Check every tick of every run (`--check`).
    pub check: bool,
    /// Every run's output level (`--firm-rows`), over the models' `output.firm_rows`.
    pub firm_rows: Option<crate::model::output::FirmRowLevel>,
    /// Every run's table format (`--format`), over the models' `output.format`.
    pub format: Option<crate::model::output::TableFormat>,
    /// Every run's compression (`--compression`), over the models' `output.compression`.
    pub compression: Option<crate::model::output::Compression>,
}

/// A design's parameter points (`--points FILE`): what SALib, the EMA Workbench or a Latin
/// hypercube produce, one row per point.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Points {
    /// The file they were read from.
    pub file: String,
    /// Model paths, one per column (as `--set PATH=VALUE`).
    pub columns: Vec<String>,
    /// Each row's values (as `--set` values: JSON, or a plain string), one per column.
    pub rows: Vec<Vec<String>>,
    /// Each row's seed, from a `seed` column.
    pub seeds: Option<Vec<u64>>,
}

/// Most seeds one `--seeds` range may hold (more runs than any plan accepts).
const MAX_SEEDS: u64 = 1 << 32;

/// Parses `--seeds`: `N` (1 to N), `A..B` (A to B, inclusive), or a comma-separated list of
/// either (`1..10,20`). Seeds are at least 1 and appear once.
pub fn parse_seeds(spec: &str) -> Result<Vec<(u64, u64)>, String> {
    let bad = |why: &str| format!("--seeds `{spec}`: {why}; expected N (seeds 1 to N), A..B or a list A,B,C");
    let num = |t: &str| {
        t.trim()
            .parse::<u64>()
            .map_err(|_| bad(&format!("`{}` is not a whole number", t.trim())))
    };
    let parts: Vec<&str> = spec.split(',').collect();
    let mut ranges = Vec::new();
    for part in &parts {
        let (a, b) = match part.split_once("..") {
            Some((a, b)) => (num(a)?, num(b.trim_start_matches('='))?),
            // A single number alone means 1..=N; in a list it is one seed.
            None if parts.len() == 1 => (1, num(part)?),
            None => {
                let n = num(part)?;
                (n, n)
            }
        };
        if a == 0 || b == 0 {
            return Err(bad("seeds start at 1"));
        }
        if a > b {
            return Err(bad(&format!("{a}..{b} is empty")));
        }
        if b - a >= MAX_SEEDS {
            return Err(bad("more than 2^32 seeds"));
        }
        ranges.push((a, b));
    }
    let mut sorted = ranges.clone();
    sorted.sort();
    if sorted.windows(2).any(|w| w[1].0 <= w[0].1) {
        return Err(bad("a seed appears twice"));
    }
    Ok(ranges)
}

/// Parses `--keep`: table names separated by commas, or `none`.
pub fn parse_keep(spec: &str) -> Result<Vec<String>, String> {
    if spec.trim() == "none" {
        return Ok(Vec::new());
    }
    let known: Vec<&str> = crate::output::schema::tables().iter().map(|t| t.name).collect();
    spec.split(',')
        .map(|t| {
            let t = t.trim();
            if known.contains(&t) {
                Ok(t.to_string())
            } else {
                Err(format!(
                    "--keep: unknown table `{t}`; expected `none` or some of {}",
                    known.join(", ")
                ))
            }
        })
        .collect()
}

/// Reads a points file: CSV with a header row of model paths, or Parquet with one column per
/// path (numbers, strings or booleans). A `seed` column gives each row's seed.
pub fn read_points(path: &Path) -> Result<Points, String> {
    let name = path.display().to_string();
    let (columns, rows) = if path.extension().is_some_and(|e| e == "parquet") {
        points_from_parquet(path)?
    } else {
        points_from_csv(path)?
    };
    if rows.is_empty() {
        return Err(format!(
            "{name}: no rows (a points file has a header row of model paths and one row per point)"
        ));
    }
    if let Some(c) = columns.iter().find(|c| c.trim().is_empty()) {
        return Err(format!("{name}: a column has no name (`{c}`); every column is a model path"));
    }
    let mut seen = BTreeSet::new();
    if let Some(c) = columns.iter().find(|c| !seen.insert(c.as_str())) {
        return Err(format!("{name}: column `{c}` appears twice"));
    }
    let mut points = Points {
        file: name.clone(),
        columns,
        rows,
        seeds: None,
    };
    if let Some(k) = points.columns.iter().position(|c| c == "seed") {
        let mut seeds = Vec::with_capacity(points.rows.len());
        for (r, row) in points.rows.iter_mut().enumerate() {
            let v = row.remove(k);
            match v.trim().parse::<f64>() {
                Ok(s) if s >= 1.0 && s.fract() == 0.0 && s < 2f64.powi(53) => seeds.push(s as u64),
                _ => return Err(format!("{name}: row {}: seed `{v}` is not a whole number of at least 1", r + 1)),
            }
        }
        points.columns.remove(k);
        points.seeds = Some(seeds);
    }
    Ok(points)
}

/// The header and rows of a CSV points file.
fn points_from_csv(path: &Path) -> Result<(Vec<String>, Vec<Vec<String>>), String> {
    let name = path.display().to_string();
    let mut r = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_path(path)
        .map_err(|e| format!("{name}: {e}"))?;
    let columns: Vec<String> = r.headers().map_err(|e| format!("{name}: {e}"))?.iter().map(String::from).collect();
    let mut rows = Vec::new();
    for rec in r.records() {
        let rec = rec.map_err(|e| match e.position() {
            Some(p) => format!("{name}:{}: {e}", p.line()),
            None => format!("{name}: {e}"),
        })?;
        rows.push(rec.iter().map(String::from).collect());
    }
    Ok((columns, rows))
}

/// The columns and rows of a Parquet points file, every value as its `--set` text.
fn points_from_parquet(path: &Path) -> Result<(Vec<String>, Vec<Vec<String>>), String> {
    use arrow_array::Array;
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Float32Type, Float64Type, Int32Type, Int64Type};
    use arrow_schema::DataType;
    let name = path.display().to_string();
    let batches = crate::output::read::read_file(path, None).map_err(|e| e.to_string())?;
    let Some(first) = batches.first() else {
        return Ok((Vec::new(), Vec::new()));
    };
    let columns: Vec<String> = first.schema().fields().iter().map(|f| f.name().clone()).collect();
    let mut rows = Vec::new();
    for b in &batches {
        let mut cells: Vec<Vec<String>> = vec![Vec::with_capacity(columns.len()); b.num_rows()];
        for (c, a) in b.columns().iter().enumerate() {
            let text = |i: usize| -> Result<String, String> {
                if a.is_null(i) {
                    return Err(format!("{name}: column `{}` row {}: no value", columns[c], i + 1));
                }
                Ok(match a.data_type() {
                    DataType::Float64 => a.as_primitive::<Float64Type>().value(i).to_string(),
                    DataType::Float32 => a.as_primitive::<Float32Type>().value(i).to_string(),
                    DataType::Int64 => a.as_primitive::<Int64Type>().value(i).to_string(),
                    DataType::Int32 => a.as_primitive::<Int32Type>().value(i).to_string(),
                    DataType::Boolean => a.as_boolean().value(i).to_string(),
                    DataType::Utf8 => a.as_string::<i32>().value(i).to_string(),
                    DataType::LargeUtf8 => a.as_string::<i64>().value(i).to_string(),
                    other => {
                        return Err(format!(
                            "{name}: column `{}` is {other}; expected numbers, strings or booleans",
                            columns[c]
                        ));
                    }
                })
            };
            for (i, row) in cells.iter_mut().enumerate() {
                row.push(text(i)?);
            }
        }
        rows.extend(cells);
    }
    Ok((columns, rows))
}

/// Most runs a sweep plans without `--allow-large`.
pub const MAX_PLAN_RUNS: u64 = 100_000;

/// Most bytes a whole sweep's run folders are estimated to take without `--allow-large` (64 GiB).
pub const MAX_SWEEP_OUTPUT_BYTES: u64 = 64 << 30;

/// A sweep's plan: its runs, and the resolved model of each (model, point) with its size
/// estimate (a generated world's charges its spec's text, as `run`'s does).
pub struct SweepPlan {
    pub items: Vec<PlanItem>,
    pub models: Vec<Model>,
    pub estimates: Vec<Estimate>,
}

/// Refuses a sweep whose runs, one by one or together, pass the size limits: each resolved model
/// (model x grid point) against a run's limits, the total output against
/// [`MAX_SWEEP_OUTPUT_BYTES`], and the memory of `jobs` runs at once against a run's memory limit.
fn check_size(models: &[Model], estimates: &[Estimate], seeds: u64, jobs: usize) -> Result<(), RunError> {
    use crate::model::limits::{DEFAULT_MAX_MEMORY_BYTES, DEFAULT_MAX_OUTPUT_BYTES, check_limits};
    let mut total = Estimate {
        ticks: 0,
        output_bytes: 0,
        memory_bytes: 0,
    };
    for (m, &e) in models.iter().zip(estimates) {
        check_limits(&e, DEFAULT_MAX_OUTPUT_BYTES, DEFAULT_MAX_MEMORY_BYTES)
            .map_err(|msg| RunError::Usage(format!("scenario {}: {msg}", m.name)))?;
        total.ticks = total.ticks.max(e.ticks);
        total.output_bytes = total.output_bytes.saturating_add(e.output_bytes.saturating_mul(seeds));
        total.memory_bytes = total.memory_bytes.max(e.memory_bytes.saturating_mul(jobs as u64));
    }
    check_limits(&total, MAX_SWEEP_OUTPUT_BYTES, DEFAULT_MAX_MEMORY_BYTES)
        .map_err(|msg| RunError::Usage(format!("the sweep as a whole (all runs, {jobs} at once): {msg}")))
}

/// One run of the plan.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PlanItem {
    pub index: usize,
    pub model: String,
    pub scenario: String,
    /// The row of the points file, if the sweep has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub point: Option<usize>,
    /// (PATH, value) for each parameter: the points file's columns, then the grid's.
    pub params: Vec<(String, String)>,
    pub seed: u64,
    /// Folder relative to the sweep folder.
    pub dir: String,
}

/// A Hive-safe key or value: letters, digits, `_`, `-`, `.` kept; anything else becomes `_`.
fn hive(s: &str, keep_dot: bool) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' || (keep_dot && c == '.') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The column name of a grid parameter (its path with dots as `_`).
pub fn param_column(path: &str) -> String {
    hive(path, false)
}

/// Parses `PATH=V1,V2,...`.
pub fn parse_grid(spec: &str) -> Result<(String, Vec<String>), String> {
    let (path, values) = spec
        .split_once('=')
        .ok_or_else(|| format!("--grid `{spec}`: expected PATH=V1,V2,..."))?;
    let values: Vec<String> = values.split(',').map(|v| v.trim().to_string()).filter(|v| !v.is_empty()).collect();
    if path.is_empty() || values.is_empty() {
        return Err(format!("--grid `{spec}`: expected PATH=V1,V2,..."));
    }
    Ok((path.to_string(), values))
}

/// Parses `I/N` with I < N.
pub fn parse_shard(spec: &str) -> Result<(usize, usize), String> {
    let (i, n) = spec
        .split_once('/')
        .ok_or_else(|| format!("--shard `{spec}`: expected I/N, e.g. 0/4"))?;
    let (i, n): (usize, usize) = (
        i.parse().map_err(|_| format!("--shard `{spec}`: I is not a number"))?,
        n.parse().map_err(|_| format!("--shard `{spec}`: N is not a number"))?,
    );
    if n == 0 || i >= n {
        return Err(format!("--shard `{spec}`: need 0 <= I < N"));
    }
    Ok((i, n))
}

/// (PATH, value) pairs: one point of the plan.
type Assignments = Vec<(String, String)>;

/// The seeds of the plan as inclusive ranges: `--seeds`, or seed 1.
fn seed_ranges(opts: &SweepOptions) -> Vec<(u64, u64)> {
    if opts.seeds.is_empty() { vec![(1, 1)] } else { opts.seeds.clone() }
}

/// Every parameter of the plan with its values: the points file's columns (each row's value)
/// and the grid's.
fn parameters(opts: &SweepOptions) -> Vec<(String, Vec<String>)> {
    let mut all = Vec::new();
    if let Some(p) = &opts.points {
        for (k, c) in p.columns.iter().enumerate() {
            all.push((c.clone(), p.rows.iter().map(|r| r[k].clone()).collect()));
        }
    }
    all.extend(opts.grid.iter().cloned());
    all
}

/// Every run of the sweep, in a fixed order: model, point of the points file, grid point (first
/// parameter slowest), seed. Each model is loaded (and checked) with each point, so a bad value
/// fails before any run. A parameter that a model does not have (e.g. a licensing parameter
/// for a baseline without controls) takes the value `none` for that model, which then runs
/// once per seed (and, for a points file, once per row: each row is still its own point); a
/// parameter that no model has is an error (a typo, most likely). Returns the plan and the
/// resolved model of each (model, point) with its size estimate.
pub fn plan(opts: &SweepOptions) -> Result<SweepPlan, RunError> {
    if opts.points.as_ref().is_some_and(|p| p.seeds.is_some()) && !opts.seeds.is_empty() {
        return Err(RunError::Usage(
            "--seeds and a `seed` column in the points file both give seeds; keep one".into(),
        ));
    }
    let seeds = seed_ranges(opts);
    let per_point: u64 = match opts.points.as_ref().and_then(|p| p.seeds.as_ref()) {
        Some(_) => 1,
        None => seeds.iter().map(|(a, b)| b - a + 1).sum(),
    };
    let rows = opts.points.as_ref().map_or(1, |p| p.rows.len() as u64);
    // The size of the plan, before anything is allocated for it.
    let runs = opts
        .grid
        .iter()
        .try_fold(opts.models.len() as u64 * rows, |n, (_, v)| n.checked_mul(v.len() as u64))
        .and_then(|n| n.checked_mul(per_point));
    match runs {
        Some(n) if n <= MAX_PLAN_RUNS || (opts.allow_large && n <= u64::from(u32::MAX)) => {}
        _ => {
            return Err(RunError::Usage(format!(
                "the sweep plans {} runs (models x points x seeds); more than {MAX_PLAN_RUNS} needs --allow-large{}",
                runs.map_or("more than 2^64".to_string(), |n| n.to_string()),
                if opts.allow_large {
                    ", and at most 2^32 runs are possible"
                } else {
                    ""
                }
            )));
        }
    }
    let params = parameters(opts);
    let base = |set: Vec<String>| RunOptions {
        set: [opts.set.clone(), set].concat(),
        until: opts.until.clone(),
        firm_rows: opts.firm_rows,
        format: opts.format,
        compression: opts.compression,
        ..Default::default()
    };
    let mut applies = vec![false; params.len()];
    let mut items = Vec::new();
    let mut resolved = Vec::new();
    let mut estimates = Vec::new();
    for model in &opts.models {
        // Which of the parameters this model has.
        let mut has = Vec::new();
        for (k, (path, values)) in params.iter().enumerate() {
            match resolve_model(model, &base(vec![format!("{path}={}", values[0])])) {
                Ok(_) => {
                    has.push(true);
                    applies[k] = true;
                }
                Err(RunError::Model(e)) if e.message.contains("no element with id") || e.message.contains("no field") => has.push(false),
                Err(e) => return Err(e),
            }
        }
        let value = |k: usize, v: &str| if has[k] { v.to_string() } else { "none".to_string() };
        // The points file's rows (one point each), each times the grid's product.
        let columns = opts.points.as_ref().map_or(0, |p| p.columns.len());
        let mut points: Vec<(Option<usize>, Assignments)> = match &opts.points {
            Some(p) => p
                .rows
                .iter()
                .enumerate()
                .map(|(r, row)| {
                    (
                        Some(r),
                        row.iter().enumerate().map(|(k, v)| (params[k].0.clone(), value(k, v))).collect(),
                    )
                })
                .collect(),
            None => vec![(None, vec![])],
        };
        for (k, (path, values)) in params.iter().enumerate().skip(columns) {
            let values: Vec<String> = if has[k] { values.clone() } else { vec!["none".to_string()] };
            points = points
                .iter()
                .flat_map(|(r, p)| {
                    values
                        .iter()
                        .map(move |v| (*r, [p.clone(), vec![(path.clone(), v.clone())]].concat()))
                })
                .collect();
        }
        for (row, point) in &points {
            let set: Vec<String> = point.iter().filter(|(_, v)| v != "none").map(|(p, v)| format!("{p}={v}")).collect();
            let r = resolve_run(model, &base(set))?;
            estimates.push(r.estimate());
            let m = r.model;
            resolved.push(m.clone());
            let row_seed = row.and_then(|r| opts.points.as_ref().and_then(|p| p.seeds.as_ref()).map(|s| s[r]));
            let seeds: Vec<(u64, u64)> = match row_seed {
                Some(s) => vec![(s, s)],
                None => seeds.clone(),
            };
            for seed in seeds.iter().flat_map(|&(a, b)| a..=b) {
                let mut dir = format!("scenario={}", hive(&m.name, true));
                if let Some(r) = row {
                    dir.push_str(&format!("/point={r}"));
                }
                for (p, v) in point {
                    dir.push_str(&format!("/{}={}", param_column(p), hive(v, true)));
                }
                dir.push_str(&format!("/seed={seed}"));
                items.push(PlanItem {
                    index: items.len(),
                    model: model.display().to_string(),
                    scenario: m.name.clone(),
                    point: *row,
                    params: point.clone(),
                    seed,
                    dir,
                });
            }
        }
    }
    if let Some(k) = applies.iter().position(|a| !a) {
        let from = if k < opts.points.as_ref().map_or(0, |p| p.columns.len()) {
            format!("column `{}` of {}", params[k].0, opts.points.as_ref().expect("points").file)
        } else {
            format!("--grid {}", params[k].0)
        };
        return Err(RunError::Usage(format!("{from}: no model has this field")));
    }
    let dirs: BTreeSet<&String> = items.iter().map(|i| &i.dir).collect();
    if dirs.len() != items.len() {
        return Err(RunError::Usage(
            "two runs of the sweep would share a folder (two models with the same name?)".into(),
        ));
    }
    Ok(SweepPlan {
        items,
        models: resolved,
        estimates,
    })
}

/// The `--set` assignments of a plan item (parameters valued `none` do not apply).
pub fn assignments(it: &PlanItem) -> Vec<String> {
    it.params
        .iter()
        .filter(|(_, v)| v != "none")
        .map(|(p, v)| format!("{p}={v}"))
        .collect()
}

/// True if everything in `dir` is part of a sweep being written (run folders, shard summaries,
/// temporary files).
fn sweep_in_progress(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries.flatten().all(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            n.starts_with("scenario=") || n.starts_with("summary") || n == TABLES_DIR || n.contains(".tmp.") || n == SWEEP_MARKER
        })
    })
}

/// Runs the sweep; returns the plan items run or found complete in this shard.
pub fn sweep(opts: &SweepOptions) -> Result<Vec<PlanItem>, RunError> {
    let SweepPlan { items, models, estimates } = plan(opts)?;
    if !opts.allow_large {
        // Runs per resolved model: its seeds (one per row when the points file gives them).
        let per_model = (items.len() / models.len().max(1)) as u64;
        check_size(&models, &estimates, per_model, opts.jobs.clamp(1, items.len().max(1)))?;
    }
    let out = &opts.out;
    let plan_json = serde_json::json!({
        "program": env!("CARGO_PKG_NAME"),
        "program_version": env!("CARGO_PKG_VERSION"),
        "models": opts.models.iter().map(|m| m.display().to_string()).collect::<Vec<_>>(),
        "grid": opts.grid.iter().map(|(p, v)| serde_json::json!({"path": p, "column": param_column(p), "values": v})).collect::<Vec<_>>(),
        "points": opts.points.as_ref().map(|p| serde_json::json!({
            "file": p.file,
            "columns": p.columns.iter().map(|c| serde_json::json!({"path": c, "column": param_column(c)})).collect::<Vec<_>>(),
            "rows": p.rows.len(),
        })),
        "seeds": seed_ranges(opts).iter().map(|&(a, b)| if a == b { a.to_string() } else { format!("{a}..{b}") }).collect::<Vec<_>>(),
        "set": opts.set,
        "until": opts.until,
        "keep": opts.keep,
        "format": opts.format.map(|f| f.to_string()),
        "compression": opts.compression.map(|c| c.to_string()),
        "runs": items,
    });
    let plan_text = serde_json::to_string_pretty(&plan_json).expect("json");
    let non_empty = out.exists()
        && std::fs::read_dir(out)
            .map_err(|e| RunError::Output(io_err(out, e)))?
            .next()
            .is_some();
    if non_empty {
        let existing = std::fs::read_to_string(out.join("sweep.json")).ok();
        let joining = opts.shard.is_some() || opts.resume;
        match existing {
            // Another shard started a moment ago and has not renamed its sweep.json yet.
            None if joining && sweep_in_progress(out) => {}
            None => {
                return Err(RunError::Usage(format!(
                    "{} exists and is not a sweep folder; refusing to write into it",
                    out.display()
                )));
            }
            // Shards of one sweep share its folder, and a resumed sweep continues its plan.
            Some(p) if joining && p == plan_text => {}
            Some(_) if joining && !opts.force => {
                return Err(RunError::Usage(format!(
                    "{} holds a different sweep (its sweep.json differs); use another folder or --force",
                    out.display()
                )));
            }
            Some(_) if opts.force => clear_sweep_dir(out)?,
            Some(_) => {
                return Err(RunError::Usage(format!(
                    "sweep folder {} already exists; use --resume to finish it or --force to replace it",
                    out.display()
                )));
            }
        }
    }
    mark_sweep_dir(out)?;
    write_atomic(&out.join("sweep.json"), plan_text.as_bytes())?;

    let mine: Vec<&PlanItem> = items
        .iter()
        .filter(|it| opts.shard.is_none_or(|(i, n)| it.index % n == i))
        .collect();
    // Columns come from the whole plan, not from results, so every shard's summary agrees.
    let goods = controlled_goods(&models);
    let cols = indicator_columns(&models, &goods);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.jobs.clamp(1, mine.len().max(1)))
        .build()
        .map_err(|e| RunError::Usage(e.to_string()))?;
    let bar = if opts.quiet {
        indicatif::ProgressBar::hidden()
    } else {
        indicatif::ProgressBar::new(mine.len() as u64)
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template("sweep [{bar:40}] {pos}/{len} runs {elapsed} eta {eta}")
            .expect("template")
            .progress_chars("=> "),
    );
    // Each worker runs its plan item (unless --resume finds it complete) and reads back the
    // run's indicators: only that row stays in memory. One run per rayon job: rayon otherwise
    // hands each worker long stretches of the plan that cannot be split once started, and
    // runs differ in length (april_2025 takes 0.09 s, the baseline 0.07 s), so one worker sat
    // idle for the last 1.3 s of a 5.8 s sweep.
    let rows: Vec<Result<Row, RunError>> = pool.install(|| {
        mine.par_iter()
            .with_max_len(1)
            .map(|it| {
                let dir = out.join(&it.dir);
                if !(opts.resume && is_complete(&dir)) {
                    unlink_views(out, &it.dir)?;
                    // A partial run from an interrupted sweep is started again: `force`
                    // replaces it, and only if it holds nothing but a run's files.
                    let run_opts = RunOptions {
                        out: Some(dir.clone()),
                        seed: Some(it.seed),
                        set: [opts.set.clone(), assignments(it)].concat(),
                        until: opts.until.clone(),
                        quiet: true,
                        threads: Some(1),
                        force: true,
                        allow_large: opts.allow_large,
                        check: opts.check,
                        firm_rows: opts.firm_rows,
                        format: opts.format,
                        compression: opts.compression,
                    };
                    run(Path::new(&it.model), &run_opts)?;
                }
                let row = summary_row(&dir, &goods, &cols)?;
                if let Some(keep) = &opts.keep {
                    drop_tables(&dir, keep)?;
                }
                link_views(out, &it.dir)?;
                bar.inc(1);
                Ok(row)
            })
            .collect()
    });
    bar.finish_and_clear();
    let rows: Vec<Row> = rows.into_iter().collect::<Result<_, _>>()?;
    let summary_name = match opts.shard {
        None => "summary.arrow".to_string(),
        Some((i, n)) => format!("summary.shard-{i}-of-{n}.arrow"),
    };
    write_summary(&out.join(summary_name), &summary_table(&items, &mine, &cols, rows))?;
    Ok(mine.into_iter().cloned().collect())
}

pub use crate::analysis::compare::WORLD;

/// One run's indicator values, in summary-column order.
type Row = Vec<Option<f64>>;

/// Controlled (nation, commodity) pairs.
type Goods = BTreeSet<(String, String)>;

/// A run's indicators as named values: read from its `indicators.json` if a sweep wrote one
/// (it does before `--keep` drops tables, so `--resume` needs no tables), else computed from
/// the tables and written there.
fn summary_row(dir: &Path, goods: &Goods, cols: &[String]) -> Result<Row, RunError> {
    let path = dir.join(INDICATORS_FILE);
    let kept: Option<BTreeMap<String, Option<f64>>> = std::fs::read_to_string(&path).ok().and_then(|t| serde_json::from_str(&t).ok());
    let ind: BTreeMap<String, Option<f64>> = match kept {
        Some(k) => k,
        None => {
            let read = |e: ReadError| RunError::Usage(e.to_string());
            let run = RunFolder::open(dir).map_err(read)?;
            let ind: BTreeMap<String, Option<f64>> = flatten(&indicators(&run, goods).map_err(read)?).into_iter().collect();
            // Not atomic: a half-written file does not parse, and the row is computed again.
            crate::output::files::write_file(&path, serde_json::to_string(&ind).expect("json").as_bytes())?;
            ind
        }
    };
    Ok(cols.iter().map(|c| ind.get(c).copied().flatten()).collect())
}

/// The file in each run folder of a sweep that keeps the run's summary row (the indicators of
/// `compare`, by summary column).
pub const INDICATORS_FILE: &str = "indicators.json";

/// Deletes the tables of the run folder `dir` that `keep` does not name (`--keep`).
fn drop_tables(dir: &Path, keep: &[String]) -> Result<(), RunError> {
    use crate::model::output::TableFormat;
    for t in crate::output::schema::tables() {
        if keep.iter().any(|k| k == t.name) {
            continue;
        }
        for f in TableFormat::ALL {
            crate::output::files::remove_if_present(&dir.join(t.file_in(f)))?;
        }
    }
    Ok(())
}

/// The summary's indicator columns, fixed by the plan (not by results), so that every shard's
/// summary has the same schema.
fn indicator_columns(models: &[Model], goods: &Goods) -> Vec<String> {
    // Final good -> nations of its producers, over all the plan's models.
    let mut finals: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut commodities: BTreeSet<String> = BTreeSet::new();
    for m in models {
        for g in final_goods(m) {
            let nations = finals.entry(g.clone()).or_default();
            nations.extend(m.firms.iter().filter(|f| f.output == g).map(|f| f.nation.clone()));
        }
        commodities.extend(m.commodities.iter().map(|c| c.id.clone()));
    }
    let mut cols = Vec::new();
    for (g, nations) in &finals {
        for n in nations.iter().map(String::as_str).chain([WORLD]) {
            for k in DOWNSTREAM_COLUMNS {
                cols.push(format!("{k}__{g}__{n}"));
            }
        }
    }
    for (n, c) in goods {
        cols.push(format!("controlled_exports__{n}__{c}"));
    }
    for c in &commodities {
        cols.push(format!("peak_price__{c}"));
        cols.push(format!("peak_ratio__{c}"));
    }
    for k in ["licence_applications", "approval_share", "median_review_days", "p95_review_days"] {
        cols.push(k.to_string());
    }
    cols
}

/// The summary's columns per final good and nation (`{name}__{good}__{nation}`): units made,
/// units short of inputs, stalled producer-days, and days from the control that caused the
/// first stall to that stall.
pub const DOWNSTREAM_COLUMNS: [&str; 4] = ["output", "short", "stall_days", "days_to_first_stall"];

/// One run's indicators as named values (None = not applicable, e.g. never stalled).
pub fn flatten(ind: &Indicators) -> HashMap<String, Option<f64>> {
    let mut m = HashMap::new();
    // Per final good: each nation, and all nations together (`compare::with_world`).
    for d in ind.downstream.values() {
        let (g, n) = (&d.commodity, &d.nation);
        m.insert(format!("output__{g}__{n}"), Some(d.produced));
        m.insert(format!("short__{g}__{n}"), Some(d.short));
        m.insert(format!("stall_days__{g}__{n}"), Some(f64::from(d.stall_days)));
        m.insert(format!("days_to_first_stall__{g}__{n}"), d.days_to_first_stall.map(f64::from));
    }
    for (good, months) in &ind.controlled_exports {
        let (n, c) = good.split_once(':').expect("nation:commodity");
        m.insert(format!("controlled_exports__{n}__{c}"), Some(months.values().sum()));
    }
    for (c, p) in &ind.prices {
        m.insert(format!("peak_price__{c}"), Some(p.peak_price));
        m.insert(format!("peak_ratio__{c}"), p.peak_ratio);
    }
    let l = &ind.licences;
    m.insert("licence_applications".into(), Some(l.applications as f64));
    m.insert("approval_share".into(), l.approval_share);
    m.insert("median_review_days".into(), l.median_review_days);
    m.insert("p95_review_days".into(), l.p95_review_days);
    m
}

/// The summary rows of `mine` (one per run) with the grid columns of the whole plan.
fn summary_table(all: &[PlanItem], mine: &[&PlanItem], cols: &[String], rows: Vec<Row>) -> SummaryTable {
    let params: Vec<String> = all
        .first()
        .map(|it| it.params.iter().map(|(p, _)| p.clone()).collect())
        .unwrap_or_default();
    SummaryTable {
        scenario: mine.iter().map(|it| it.scenario.clone()).collect(),
        run: mine.iter().map(|it| it.dir.clone()).collect(),
        seed: mine.iter().map(|it| it.seed as i64).collect(),
        point: all
            .first()
            .is_some_and(|it| it.point.is_some())
            .then(|| mine.iter().map(|it| it.point.map_or(-1, |p| p as i64)).collect()),
        params: params
            .iter()
            .enumerate()
            .map(|(k, p)| (p.clone(), param_column(p), mine.iter().map(|it| it.params[k].1.clone()).collect()))
            .collect(),
        indicators: cols
            .iter()
            .enumerate()
            .map(|(k, c)| (c.clone(), rows.iter().map(|r| r[k]).collect()))
            .collect(),
    }
}
