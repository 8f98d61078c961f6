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
use crate::output::files::{io_err, write_atomic};
use crate::output::folders::{SWEEP_MARKER, clear_sweep_dir, mark_sweep_dir};
use crate::output::read::{ReadError, RunFolder, is_complete};
use crate::output::sweep_files::{SummaryTable, TABLES_DIR, link_views, unlink_views, write_summary};
use crate::run::{RunError, RunOptions, resolve_model, run};
use rayon::prelude::*;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

/// What to sweep.
#[derive(Debug, Clone, Default)]
pub struct SweepOptions {
    pub models: Vec<PathBuf>,
    /// Seeds 1..=seeds.
    pub seeds: u64,
    /// (PATH, values) for each `--grid PATH=V1,V2,...`.
    pub grid: Vec<(String, Vec<String>)>,
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
}

/// Most runs a sweep plans without `--allow-large`.
pub const MAX_PLAN_RUNS: u64 = 100_000;

/// Most bytes a whole sweep's run folders are estimated to take without `--allow-large` (64 GiB).
pub const MAX_SWEEP_OUTPUT_BYTES: u64 = 64 << 30;

/// Refuses a sweep whose runs, one by one or together, pass the size limits: each resolved model
/// (model x grid point) against a run's limits, the total output against
/// [`MAX_SWEEP_OUTPUT_BYTES`], and the memory of `jobs` runs at once against a run's memory limit.
fn check_size(models: &[Model], seeds: u64, jobs: usize) -> Result<(), RunError> {
    use crate::model::limits::{DEFAULT_MAX_MEMORY_BYTES, DEFAULT_MAX_OUTPUT_BYTES, Estimate, check_limits, estimate};
    let mut total = Estimate {
        ticks: 0,
        output_bytes: 0,
        memory_bytes: 0,
    };
    for m in models {
        let e = estimate(m);
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
    /// (PATH, value) for each grid parameter.
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

/// Every run of the sweep, in a fixed order: model, grid point (first parameter slowest), seed.
/// Each model is loaded (and checked) with each grid point, so a bad value fails before any run.
/// A grid parameter that a model does not have (e.g. a licensing parameter for a baseline
/// without controls) takes the value `none` for that model, which then runs once per seed; a
/// parameter that no model has is an error (a typo, most likely). Returns the plan and the
/// resolved model of each (model, grid point).
pub fn plan(opts: &SweepOptions) -> Result<(Vec<PlanItem>, Vec<Model>), RunError> {
    // The size of the plan, before anything is allocated for it.
    let runs = opts
        .grid
        .iter()
        .try_fold(opts.models.len() as u64, |n, (_, v)| n.checked_mul(v.len() as u64))
        .and_then(|n| n.checked_mul(opts.seeds));
    match runs {
        Some(n) if n <= MAX_PLAN_RUNS || (opts.allow_large && n <= u64::from(u32::MAX)) => {}
        _ => {
            return Err(RunError::Usage(format!(
                "the sweep plans {} runs (models x grid points x seeds); more than {MAX_PLAN_RUNS} needs --allow-large{}",
                runs.map_or("more than 2^64".to_string(), |n| n.to_string()),
                if opts.allow_large {
                    ", and at most 2^32 runs are possible"
                } else {
                    ""
                }
            )));
        }
    }
    let mut applies = vec![false; opts.grid.len()];
    let mut items = Vec::new();
    let mut resolved = Vec::new();
    for model in &opts.models {
        // Which of the grid's parameters this model has.
        let mut has = Vec::new();
        for (k, (path, values)) in opts.grid.iter().enumerate() {
            let probe = RunOptions {
                set: vec![format!("{path}={}", values[0])],
                ..Default::default()
            };
            match resolve_model(model, &probe) {
                Ok(_) => {
                    has.push(true);
                    applies[k] = true;
                }
                Err(RunError::Model(e)) if e.message.contains("no element with id") || e.message.contains("no field") => has.push(false),
                Err(e) => return Err(e),
            }
        }
        let mut points: Vec<Vec<(String, String)>> = vec![vec![]];
        for ((path, values), &h) in opts.grid.iter().zip(&has) {
            let values: Vec<String> = if h { values.clone() } else { vec!["none".to_string()] };
            points = points
                .iter()
                .flat_map(|p| values.iter().map(move |v| [p.clone(), vec![(path.clone(), v.clone())]].concat()))
                .collect();
        }
        for point in &points {
            let set: Vec<String> = point.iter().filter(|(_, v)| v != "none").map(|(p, v)| format!("{p}={v}")).collect();
            let (m, _, _) = resolve_model(
                model,
                &RunOptions {
                    set,
                    firm_rows: opts.firm_rows,
                    ..Default::default()
                },
            )?;
            resolved.push(m.clone());
            for seed in 1..=opts.seeds {
                let mut dir = format!("scenario={}", hive(&m.name, true));
                for (p, v) in point {
                    dir.push_str(&format!("/{}={}", param_column(p), hive(v, true)));
                }
                dir.push_str(&format!("/seed={seed}"));
                items.push(PlanItem {
                    index: items.len(),
                    model: model.display().to_string(),
                    scenario: m.name.clone(),
                    params: point.clone(),
                    seed,
                    dir,
                });
            }
        }
    }
    if let Some(k) = applies.iter().position(|a| !a) {
        return Err(RunError::Usage(format!("--grid {}: no model has this field", opts.grid[k].0)));
    }
    let dirs: BTreeSet<&String> = items.iter().map(|i| &i.dir).collect();
    if dirs.len() != items.len() {
        return Err(RunError::Usage(
            "two runs of the sweep would share a folder (two models with the same name?)".into(),
        ));
    }
    Ok((items, resolved))
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
    let (items, models) = plan(opts)?;
    if !opts.allow_large {
        check_size(&models, opts.seeds, opts.jobs.clamp(1, items.len().max(1)))?;
    }
    let out = &opts.out;
    let plan_json = serde_json::json!({
        "program": env!("CARGO_PKG_NAME"),
        "program_version": env!("CARGO_PKG_VERSION"),
        "models": opts.models.iter().map(|m| m.display().to_string()).collect::<Vec<_>>(),
        "grid": opts.grid.iter().map(|(p, v)| serde_json::json!({"path": p, "column": param_column(p), "values": v})).collect::<Vec<_>>(),
        "seeds": opts.seeds,
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
                        set: assignments(it),
                        quiet: true,
                        threads: Some(1),
                        force: true,
                        allow_large: opts.allow_large,
                        check: opts.check,
                        firm_rows: opts.firm_rows,
                        ..Default::default()
                    };
                    run(Path::new(&it.model), &run_opts)?;
                }
                link_views(out, &it.dir)?;
                let row = summary_row(&dir, &goods, &cols)?;
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

/// The name that stands for all nations together in the summary's downstream columns
/// (lower case, so it does not read as a nation id).
pub const WORLD: &str = "world";

/// One run's indicator values, in summary-column order.
type Row = Vec<Option<f64>>;

/// Controlled (nation, commodity) pairs.
type Goods = BTreeSet<(String, String)>;

fn summary_row(dir: &Path, goods: &Goods, cols: &[String]) -> Result<Row, RunError> {
    let read = |e: ReadError| RunError::Usage(e.to_string());
    let run = RunFolder::open(dir).map_err(read)?;
    let ind = flatten(&indicators(&run, goods).map_err(read)?);
    Ok(cols.iter().map(|c| ind.get(c).copied().flatten()).collect())
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
    // Per final good: each nation, and all nations together (summed; the fewest days from a
    // control to a stall).
    let mut world: BTreeMap<&str, (f64, f64, f64, Option<i32>)> = BTreeMap::new();
    for d in ind.downstream.values() {
        let (g, n) = (&d.commodity, &d.nation);
        m.insert(format!("output__{g}__{n}"), Some(d.produced));
        m.insert(format!("short__{g}__{n}"), Some(d.short));
        m.insert(format!("stall_days__{g}__{n}"), Some(f64::from(d.stall_days)));
        m.insert(format!("days_to_first_stall__{g}__{n}"), d.days_to_first_stall.map(f64::from));
        let w = world.entry(g.as_str()).or_default();
        w.0 += d.produced;
        w.1 += d.short;
        w.2 += f64::from(d.stall_days);
        w.3 = match (w.3, d.days_to_first_stall) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
    for (g, (produced, short, stall_days, first)) in world {
        m.insert(format!("output__{g}__{WORLD}"), Some(produced));
        m.insert(format!("short__{g}__{WORLD}"), Some(short));
        m.insert(format!("stall_days__{g}__{WORLD}"), Some(stall_days));
        m.insert(format!("days_to_first_stall__{g}__{WORLD}"), first.map(f64::from));
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
