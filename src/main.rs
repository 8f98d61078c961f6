//! The `chokepoint` command line.

use chokepoint::run::{RunError, RunOptions, resolve_model, run};
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

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
        /// Worker threads (default: one per core); the output does not depend on it.
        #[arg(long)]
        threads: Option<usize>,
    },
    /// Load and check a model file; print a summary of its world.
    Validate {
        model: PathBuf,
        /// Change a field before checking, as in `run`.
        #[arg(long = "set", value_name = "PATH=VALUE")]
        set: Vec<String>,
    },
    /// Compare runs: headline indicators side by side and differences against the first run.
    Compare {
        /// Run folders; the first is the reference.
        #[arg(required = true, num_args = 2..)]
        runs: Vec<PathBuf>,
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

fn compare(dirs: &[PathBuf], format: Format) -> Result<(), RunError> {
    use chokepoint::compare;
    use chokepoint::run_folder::RunFolder;
    let runs = dirs
        .iter()
        .map(|d| RunFolder::open(d))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| RunError::Usage(e.to_string()))?;
    let goods = compare::controlled_goods(&runs);
    let all = runs
        .iter()
        .map(|r| compare::indicators(r, &goods))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| RunError::Usage(e.to_string()))?;
    let rows = compare::rows(&all);
    match format {
        Format::Table => print!("{}", compare::to_table(&all, &rows)),
        Format::Csv => print!("{}", compare::to_csv(&rows)),
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({"runs": all, "rows": rows})).expect("json")
        ),
    }
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
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
        } => {
            let opts = RunOptions {
                out,
                seed,
                until,
                set,
                force,
                quiet,
                threads,
            };
            run(&model, &opts).map(|(dir, m)| {
                if !quiet {
                    eprintln!("wrote {} ({} ticks, {:.1} s)", dir.display(), m.ticks, m.wall_seconds);
                }
            })
        }
        Command::Validate { model, set } => {
            let opts = RunOptions { set, ..Default::default() };
            resolve_model(&model, &opts).map(|(m, _, net)| print!("{}", chokepoint::summary::summarize(&m, &net)))
        }
        Command::Compare { runs, format } => compare(&runs, format),
        Command::Schema { json } => {
            if json {
                println!("{}", chokepoint::output::tables_json());
            } else {
                print!("{}", chokepoint::output::describe_tables());
            }
            Ok(())
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(match e {
                RunError::Model(_) => 2,
                RunError::Usage(_) => 3,
                RunError::Output(_) => 4,
            })
        }
    }
}
