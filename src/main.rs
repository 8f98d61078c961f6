//! The `chokepoint` command line.

use chokepoint::run::{RunError, RunOptions, resolve_run, run};
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// Large arrays on huge pages (see `chokepoint::alloc`).
#[global_allocator]
static ALLOC: chokepoint::alloc::HugePages = chokepoint::alloc::HugePages;

#[derive(Parser)]
#[command(name = "chokepoint", version, about = "Agent-based model of trade wars over critical minerals")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a model file and write its run folder.
    Run {
        /// Model file (.ron).
        model: PathBuf,
        /// Output folder (default runs/<model name>/).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Seed of the run's random streams (default: the model's).
        #[arg(long)]
        seed: Option<u64>,
        /// Stop after this day (YYYY-MM-DD) instead of the model's end.
        #[arg(long)]
        until: Option<String>,
        /// Change a field: PATH=VALUE, e.g. firms.cn_magnet_1.capacity_per_day=500. Repeatable.
        #[arg(long = "set", value_name = "PATH=VALUE")]
        set: Vec<String>,
        /// Replace an existing run folder.
        #[arg(long)]
        force: bool,
        /// No progress bar.
        #[arg(long)]
        quiet: bool,
        /// Worker threads (default: one per core, or one for worlds under 5,000 firms); the output does not depend on it.
        #[arg(long)]
        threads: Option<usize>,
        /// Run even if the estimated output or memory passes the limits `validate` prints.
        #[arg(long)]
        allow_large: bool,
        /// Check every tick: no NaN or infinity, no stock below rounding, material balance, no
        /// licence decided or shipment arriving early. Stops at the first broken invariant (exit 5).
        #[arg(long)]
        check: bool,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Load and check a model file; print a summary of its world.
    Validate {
        model: PathBuf,
        /// Change a field before checking, as in `run`.
        #[arg(long = "set", value_name = "PATH=VALUE")]
        set: Vec<String>,
    },
    /// Run every model x point x seed in parallel, one Hive-style folder per run; each
    /// table of every run also opens as one dataset under DIR/tables/<table>/.
    Sweep(SweepArgs),
    /// Write one table of a finished run as CSV, Parquet or Arrow.
    Export {
        /// Run folder.
        run: PathBuf,
        /// Table: firms, groups, nations, flows, prices, lines, licenses or events.
        #[arg(long)]
        table: String,
        /// csv, parquet or arrow (default: from --out's extension, else csv).
        #[arg(long, value_parser = chokepoint::output::export::ExportFormat::parse)]
        format: Option<chokepoint::output::export::ExportFormat>,
        /// Output file (default: <table>.<format> in the current folder).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Replace an existing output file.
        #[arg(long)]
        force: bool,
    },
    /// Draw an indicator's monthly time series: one line per run, or a median and 90% band
    /// per scenario of a sweep.
    Plot {
        /// Run folders and/or sweep folders.
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
        /// output:<final good> or short:<final good> (units made, or short of inputs, by the
        /// good's final producers; vehicle_output and vehicles_short stand for output:vehicle
        /// and short:vehicle), exports, or price:<commodity>.
        #[arg(long)]
        metric: String,
        /// One line per nation or per commodity.
        #[arg(long, value_enum)]
        by: Option<chokepoint::analysis::plot::By>,
        /// Output file: .svg or .png.
        #[arg(long)]
        out: PathBuf,
        /// For sweep folders: draw each scenario minus this one, paired by seed (median and
        /// 90% band over seeds).
        #[arg(long)]
        baseline: Option<String>,
    },
    /// Compare runs: headline indicators side by side and differences against the first run.
    Compare {
        /// Run folders (the first is the reference), or one sweep folder.
        #[arg(required = true, num_args = 1..)]
        runs: Vec<PathBuf>,
        /// For a sweep folder: the scenario to take paired differences against.
        #[arg(long)]
        baseline: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Print every output table's columns, types, units and meanings.
    Schema {
        /// Print JSON (table -> columns with name, type, nullable, unit, description).
        #[arg(long)]
        json: bool,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Format {
    Table,
    Csv,
    Json,
}

/// What a run writes: flags shared by `run` and `sweep`, each over the model's `output` section.
#[derive(clap::Args, Clone, Copy)]
struct OutputArgs {
    /// Per-firm rows of firms and lines: all (default), every:K (ticks 0, K, 2K, ...),
    /// sample:F (a fixed share F of firms, every tick) or none; over the model's
    /// `output.firm_rows`. groups has per (nation, role, commodity) sums every tick.
    #[arg(long, value_name = "all|every:K|sample:F|none", value_parser = chokepoint::model::output::FirmRowLevel::parse_checked)]
    firm_rows: Option<chokepoint::model::output::FirmRowLevel>,
    /// Table files: arrow (Arrow IPC, <table>.arrow; default) or parquet (<table>.parquet).
    #[arg(long, value_name = "arrow|parquet", value_parser = chokepoint::model::output::TableFormat::parse)]
    format: Option<chokepoint::model::output::TableFormat>,
    /// Column compression: zstd (default), lz4 or none.
    #[arg(long, value_name = "zstd|lz4|none", value_parser = chokepoint::model::output::Compression::parse)]
    compression: Option<chokepoint::model::output::Compression>,
}

/// `chokepoint sweep`'s command line.
#[derive(clap::Args)]
struct SweepArgs {
    /// Model files (.ron).
    #[arg(required = true)]
    models: Vec<PathBuf>,
    /// Seeds of every model and point: N (1 to N), A..B (A to B) or a list A,B,C (default 1).
    #[arg(long, value_parser = chokepoint::sweep::parse_seeds)]
    seeds: Option<Seeds>,
    /// A parameter and its values: PATH=V1,V2,... (repeatable; the plan is their product).
    #[arg(long = "grid", value_name = "PATH=V1,V2,...")]
    grid: Vec<String>,
    /// A file of parameter points (.csv with a header row, or .parquet): one run per row and
    /// seed, its columns model paths (as --set); a `seed` column gives each row its seed.
    #[arg(long, value_name = "FILE")]
    points: Option<PathBuf>,
    /// Change a field of every run: PATH=VALUE, as in `run` (repeatable).
    #[arg(long = "set", value_name = "PATH=VALUE")]
    set: Vec<String>,
    /// Stop every run after this day (YYYY-MM-DD).
    #[arg(long)]
    until: Option<String>,
    /// Keep only these tables of each run (comma-separated, or `none`); the summary is
    /// always written. Default: every table.
    #[arg(long, value_name = "T1,T2,...|none", value_parser = chokepoint::sweep::parse_keep)]
    keep: Option<Tables>,
    /// Runs at once (default: one per core).
    #[arg(long)]
    jobs: Option<usize>,
    /// Sweep folder (default runs/sweep).
    #[arg(long, default_value = "runs/sweep")]
    out: PathBuf,
    /// Run only slice I of N of the plan (for job arrays): I/N.
    #[arg(long)]
    shard: Option<String>,
    /// Skip runs already complete; redo partial ones.
    #[arg(long)]
    resume: bool,
    /// Replace an existing sweep folder.
    #[arg(long)]
    force: bool,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
    /// Sweep even if the plan or its estimated output passes the limits.
    #[arg(long)]
    allow_large: bool,
    /// Check every tick of every run, as `run --check`.
    #[arg(long)]
    check: bool,
    #[command(flatten)]
    output: OutputArgs,
}

/// A parsed `--seeds`: inclusive ranges (an alias, so that clap takes it as one value).
type Seeds = Vec<(u64, u64)>;

/// A parsed `--keep`: table names (an alias, so that clap takes it as one value).
type Tables = Vec<String>;

/// `plot`: reading the inputs is a usage error (3), writing the picture an output error (4).
fn plot_cmd(
    inputs: &[PathBuf],
    metric: &str,
    by: Option<chokepoint::analysis::plot::By>,
    out: &std::path::Path,
    baseline: Option<&str>,
) -> Result<(), RunError> {
    use chokepoint::output::OutputError;
    let lines = chokepoint::analysis::plot::lines(inputs, metric, by, baseline).map_err(RunError::Usage)?;
    let ext = out.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    if ext != "svg" && ext != "png" {
        return Err(RunError::Usage(format!(
            "{}: the plot file must end in .svg or .png",
            out.display()
        )));
    }
    let bytes = chokepoint::analysis::plot::render(&lines, metric, &ext).map_err(|e| {
        RunError::Output(OutputError::Io {
            path: out.to_path_buf(),
            source: std::io::Error::other(e),
        })
    })?;
    chokepoint::output::files::write_file(out, &bytes).map_err(RunError::Output)
}

fn compare(dirs: &[PathBuf], format: Format) -> Result<(), RunError> {
    use chokepoint::analysis::compare;
    use chokepoint::output::read::RunFolder;
    let runs = dirs
        .iter()
        .map(|d| RunFolder::open(d))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| RunError::Usage(e.to_string()))?;
    for w in compare::differences(&runs) {
        eprintln!("warning: {w}");
    }
    let goods = compare::controlled_goods(runs.iter().map(|r| &r.model));
    let all = runs
        .iter()
        .map(|r| compare::indicators(r, &goods))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| RunError::Usage(e.to_string()))?;
    let rows = compare::rows(&all);
    match format {
        Format::Table => emit(&chokepoint::analysis::compare_table::to_table(&all)),
        Format::Csv => emit(&compare::to_csv(&rows)),
        Format::Json => emit(&format!(
            "{}\n",
            serde_json::to_string_pretty(&serde_json::json!({"runs": all, "rows": rows})).expect("json")
        )),
    }
    Ok(())
}

fn compare_sweep(dir: &std::path::Path, baseline: Option<&str>, format: Format) -> Result<(), RunError> {
    use chokepoint::analysis::ensemble;
    let summary = ensemble::read_summary(dir).map_err(RunError::Usage)?;
    if let Some(b) = baseline
        && !summary.runs.iter().any(|r| r.0 == b)
    {
        return Err(RunError::Usage(format!("--baseline {b}: no such scenario in {}", dir.display())));
    }
    let stats = ensemble::ensemble(&summary, baseline);
    match format {
        Format::Table => emit(&ensemble::to_table(&stats, baseline)),
        Format::Csv => emit(&ensemble::to_csv(&stats)),
        Format::Json => emit(&format!("{}\n", serde_json::to_string_pretty(&stats).expect("json"))),
    }
    Ok(())
}

fn sweep_cmd(a: SweepArgs) -> Result<(), RunError> {
    use chokepoint::sweep::{SweepOptions, parse_grid, parse_shard, read_points, sweep};
    let grid = a
        .grid
        .iter()
        .map(|g| parse_grid(g))
        .collect::<Result<Vec<_>, _>>()
        .map_err(RunError::Usage)?;
    let points = a.points.as_deref().map(read_points).transpose().map_err(RunError::Usage)?;
    let shard = a.shard.as_deref().map(parse_shard).transpose().map_err(RunError::Usage)?;
    let max = chokepoint::run::MAX_THREADS;
    if let Some(j) = a.jobs
        && !(1..=max).contains(&j)
    {
        return Err(RunError::Usage(format!("--jobs {j}: expected 1 to {max}")));
    }
    let jobs = a
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let t0 = std::time::Instant::now();
    let done = sweep(&SweepOptions {
        models: a.models,
        seeds: a.seeds.unwrap_or_default(),
        grid,
        points,
        set: a.set,
        until: a.until,
        keep: a.keep,
        jobs,
        out: a.out.clone(),
        shard,
        resume: a.resume,
        force: a.force,
        quiet: a.quiet,
        allow_large: a.allow_large,
        check: a.check,
        firm_rows: a.output.firm_rows,
        format: a.output.format,
        compression: a.output.compression,
    })?;
    if !a.quiet {
        eprintln!(
            "swept {} runs into {} ({:.1} s)",
            done.len(),
            a.out.display(),
            t0.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

/// `export`: a table of a run as CSV, Parquet or Arrow.
fn export_cmd(
    run: &std::path::Path,
    table: &str,
    format: Option<chokepoint::output::export::ExportFormat>,
    out: Option<PathBuf>,
    force: bool,
) -> Result<(), RunError> {
    use chokepoint::output::export::{ExportError, ExportFormat, export};
    let format = format
        .or_else(|| out.as_deref().and_then(ExportFormat::of_path))
        .unwrap_or(ExportFormat::Csv);
    let out = out.unwrap_or_else(|| PathBuf::from(format!("{table}.{}", format.extension())));
    let rows = export(run, table, format, &out, force).map_err(|e| match e {
        ExportError::Output(o) => RunError::Output(o),
        other => RunError::Usage(other.to_string()),
    })?;
    eprintln!("wrote {} ({rows} rows)", out.display());
    Ok(())
}

/// Writes a command's report to stdout. A reader that goes away (`chokepoint compare ... |
/// head`) ends the output quietly instead of panicking on the broken pipe.
fn emit(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|()| out.flush())
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        eprintln!("error: writing to stdout: {e}");
    }
}

fn main() -> ExitCode {
    // A command line clap cannot parse is a usage error: exit 3 (2 is for model files).
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 3 } else { 0 });
        }
    };
    let result: Result<(), RunError> = match cli.command {
        Command::Run {
            model,
            out,
            seed,
            until,
            set,
            force,
            quiet,
            threads,
            allow_large,
            check,
            output,
        } => {
            let opts = RunOptions {
                out,
                seed,
                until,
                set,
                force,
                quiet,
                threads,
                allow_large,
                check,
                firm_rows: output.firm_rows,
                format: output.format,
                compression: output.compression,
            };
            run(&model, &opts).map(|(dir, m)| {
                if !quiet {
                    eprintln!("wrote {} ({} ticks, {:.1} s)", dir.display(), m.ticks, m.wall_seconds);
                }
            })
        }
        Command::Validate { model, set } => {
            let opts = RunOptions { set, ..Default::default() };
            resolve_run(&model, &opts).map(|r| {
                emit(&chokepoint::analysis::summary::summarize_estimated(
                    &r.model,
                    &r.network,
                    r.estimate(),
                ))
            })
        }
        Command::Plot {
            inputs,
            metric,
            by,
            out,
            baseline,
        } => plot_cmd(&inputs, &metric, by, &out, baseline.as_deref()),
        Command::Compare { runs, format, baseline } => {
            if runs.len() == 1 && runs[0].join("sweep.json").exists() {
                compare_sweep(&runs[0], baseline.as_deref(), format)
            } else if runs.len() < 2 {
                Err(RunError::Usage("compare needs two or more run folders, or one sweep folder".into()))
            } else if let Some(b) = baseline {
                Err(RunError::Usage(format!(
                    "--baseline {b} names a scenario of a sweep folder; with run folders the first one given is the baseline"
                )))
            } else {
                compare(&runs, format)
            }
        }
        Command::Sweep(args) => sweep_cmd(args),
        Command::Export {
            run,
            table,
            format,
            out,
            force,
        } => export_cmd(&run, &table, format, out, force),
        Command::Schema { json } => {
            if json {
                emit(&format!("{}\n", chokepoint::output::schema::tables_json()));
            } else {
                emit(&chokepoint::output::schema::describe_tables());
            }
            Ok(())
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
