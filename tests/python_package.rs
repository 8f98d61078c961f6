//! The Python package (`python/`, `import chokepoint`) runs the same engine as the binary, in
//! process: the same tables byte for byte, the same errors with the same exit codes; its
//! loaders give typed frames with units; and examples/quickstart.ipynb runs headless.
//!
//! The package must be installed in the test Python, built from the current sources (tests/run
//! installs ./python into .venv); a missing or stale package fails these tests, as does a
//! missing Jupyter.

mod common;
use common::*;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::SystemTime;

const INSTALL: &str = "run tests/run, which installs ./python into .venv \
     (by hand: `CARGO_TARGET_DIR=target .venv/bin/pip install ./python` at the repository root)";

/// Runs `script` with the test Python (`python -c script args...`) in the repository root, with
/// every run checked tick by tick as the binary's are.
fn py<S: AsRef<OsStr>>(script: &str, args: &[S]) -> Output {
    Command::new(python())
        .arg("-c")
        .arg(script)
        .args(args)
        .current_dir(root())
        .env("CHOKEPOINT_CHECK", "1")
        .output()
        .expect("python runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Panics unless `o` succeeded, with what `what` printed.
fn assert_ok(o: &Output, what: &str) {
    assert!(
        o.status.success(),
        "{what} failed:\n--- stdout\n{}\n--- stderr\n{}",
        text(&o.stdout),
        text(&o.stderr)
    );
}

/// The newest file under `path` (a file or a folder, recursively) and its modification time.
fn newest(path: &Path) -> Option<(SystemTime, PathBuf)> {
    let meta = std::fs::metadata(path).ok()?;
    if meta.is_file() {
        return Some((meta.modified().ok()?, path.to_path_buf()));
    }
    let mut best: Option<(SystemTime, PathBuf)> = None;
    for entry in std::fs::read_dir(path).ok()?.flatten() {
        let name = entry.file_name();
        // The binary's own source is not the library's; caches and builds are not sources.
        if name == "__pycache__" || name == "target" || entry.path() == root().join("src/main.rs") {
            continue;
        }
        if let Some(found) = newest(&entry.path())
            && best.as_ref().is_none_or(|b| found.0 > b.0)
        {
            best = Some(found);
        }
    }
    best
}

/// Checks that `import chokepoint` works in the test Python and that the installed package is
/// no older than the engine's and the package's sources (a stale build would run another
/// engine than the binary under test).
fn require_package() {
    let o = py::<&str>("import chokepoint._chokepoint as m; print(m.__file__)", &[]);
    assert!(
        o.status.success(),
        "the `chokepoint` Python package is not installed in {}: {INSTALL}\n{}",
        python().display(),
        text(&o.stderr)
    );
    let module = PathBuf::from(text(&o.stdout).trim());
    let built = std::fs::metadata(&module)
        .and_then(|m| m.modified())
        .expect("the extension module exists");
    for source in ["src", "Cargo.toml", "python/src", "python/chokepoint", "python/Cargo.toml"] {
        if let Some((t, file)) = newest(&root().join(source)) {
            assert!(
                t <= built,
                "the installed `chokepoint` package ({}) is older than {}: reinstall it, {INSTALL}",
                module.display(),
                file.display()
            );
        }
    }
}

/// Every file of a run folder, by name.
fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// A manifest without its wall-clock time (the only thing two identical runs differ in).
fn manifest(dir: &Path) -> serde_json::Value {
    let mut m: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    m.as_object_mut().unwrap().remove("wall_seconds");
    m
}

#[test]
fn a_run_from_python_writes_the_binarys_files_byte_for_byte() {
    require_package();
    let dir = tempfile::tempdir().unwrap();
    let model = root().join("models/baseline.ron");
    let cli = dir.path().join("cli");
    run_model(&model, &cli, &["--until", "2025-03-31"]);
    let out = dir.path().join("py");
    let o = py(
        "import sys, chokepoint\n\
         p = chokepoint.run(sys.argv[1], out=sys.argv[2], until='2025-03-31')\n\
         assert type(p).__name__.endswith('Path') and p.is_absolute(), repr(p)\n\
         print(p)",
        &[model.as_os_str(), out.as_os_str()],
    );
    assert_ok(&o, "chokepoint.run");
    assert_eq!(PathBuf::from(text(&o.stdout).trim()), out, "run() returns the run folder");
    let names = files(&cli);
    assert_eq!(files(&out), names, "the same files");
    let tables: Vec<&String> = names.iter().filter(|n| n.ends_with(".arrow") || n.ends_with(".parquet")).collect();
    assert_eq!(tables.len(), 8, "eight tables: {names:?}");
    for name in tables.into_iter().chain(names.iter().filter(|n| *n == "model.ron")) {
        let (a, b) = (std::fs::read(cli.join(name)).unwrap(), std::fs::read(out.join(name)).unwrap());
        assert!(a == b, "{name} differs between the binary's run and the package's");
    }
    assert_eq!(manifest(&cli), manifest(&out), "the manifests agree but for wall_seconds");
}

#[test]
fn a_sweep_from_python_writes_the_binarys_plan_and_summary() {
    require_package();
    let dir = tempfile::tempdir().unwrap();
    let (cli, out) = (dir.path().join("cli"), dir.path().join("py"));
    let o = chokepoint(&[
        "sweep",
        "models/baseline.ron",
        "--seeds",
        "2",
        "--grid",
        "calendar.end=2025-02-28",
        "--grid",
        "planning.final_demand_noise=0,0.05",
        "--jobs",
        "2",
        "--out",
        cli.to_str().unwrap(),
        "--quiet",
    ]);
    assert_ok(&o, "chokepoint sweep");
    let o = py(
        "import sys, chokepoint, polars as pl, pandas as pd\n\
         p = chokepoint.sweep('models/baseline.ron', 2, grid={'calendar.end': ['2025-02-28'], 'planning.final_demand_noise': [0, 0.05]}, jobs=2, out=sys.argv[1])\n\
         df = chokepoint.load_sweep(p, 'groups')\n\
         s = df.schema\n\
         assert df.columns[:4] == ['scenario', 'calendar_end', 'planning_final_demand_noise', 'seed'], df.columns\n\
         assert s['scenario'] == pl.Categorical and s['seed'] == pl.Int64 and s['date'] == pl.Date, s\n\
         assert s['planning_final_demand_noise'] == pl.Float64 and s['nation'] == pl.Categorical, s\n\
         runs = df.select('planning_final_demand_noise', 'seed').unique()\n\
         assert runs.height == 4 and sorted(runs['planning_final_demand_noise'].unique()) == [0.0, 0.05], runs\n\
         summary = chokepoint.load_summary(p, backend='pandas')\n\
         assert len(summary) == 4 and str(summary['scenario'].dtype) == 'category', summary\n\
         assert summary['planning_final_demand_noise'].dtype == 'float64', summary.dtypes\n\
         assert chokepoint.units(p, 'groups')['shortfall'] == 'output units per tick'\n\
         print('ok')",
        &[out.as_os_str()],
    );
    assert_ok(&o, "chokepoint.sweep and load_sweep");
    for name in ["sweep.json", "summary.arrow"] {
        let (a, b) = (std::fs::read(cli.join(name)).unwrap(), std::fs::read(out.join(name)).unwrap());
        assert!(a == b, "{name} differs between the binary's sweep and the package's");
    }
}

#[test]
fn load_run_gives_dates_categorical_ids_and_units_in_polars_and_pandas() {
    require_package();
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("april");
    run_model(&root().join("models/april_2025.ron"), &run, &["--until", "2025-06-30"]);
    let schema = chokepoint(&["schema", "--json"]);
    assert_ok(&schema, "chokepoint schema --json");
    let schema_path = dir.path().join("schema.json");
    std::fs::write(&schema_path, &schema.stdout).unwrap();
    let o = py(
        "import json, sys, chokepoint, polars as pl, pandas as pd\n\
         run, tables = sys.argv[1], json.load(open(sys.argv[2]))\n\
         for t in tables:\n\
         \x20   documented = {c['name']: c for c in t['columns']}\n\
         \x20   units = {n: c['unit'] for n, c in documented.items()}\n\
         \x20   df = chokepoint.load_run(run, t['name'])\n\
         \x20   pdf = chokepoint.load_run(run, t['name'], backend='pandas')\n\
         \x20   assert df.columns == list(documented) == list(pdf.columns), (t['name'], df.columns)\n\
         \x20   assert df.height == len(pdf) and (df.height > 0 or t['name'] in ('lines', 'events')), t['name']\n\
         \x20   assert chokepoint.units(run, t['name']) == units, t['name']\n\
         \x20   assert pdf.attrs['units'] == units, (t['name'], pdf.attrs)\n\
         \x20   for name, c in documented.items():\n\
         \x20       if c['type'].startswith('date32'):\n\
         \x20           assert df.schema[name] == pl.Date, (name, df.schema[name])\n\
         \x20           assert pd.api.types.is_datetime64_any_dtype(pdf[name]), (name, pdf[name].dtype)\n\
         \x20       if c['type'].startswith('dictionary'):\n\
         \x20           assert df.schema[name] == pl.Categorical, (name, df.schema[name])\n\
         \x20           assert isinstance(pdf[name].dtype, pd.CategoricalDtype), (name, pdf[name].dtype)\n\
         flows = chokepoint.load_run(run, 'flows')\n\
         cn = flows.filter((pl.col('exporter') == 'CN') & (pl.col('commodity') == 'ndfeb_magnet'))\n\
         assert cn.height > 0 and cn['quantity'].sum() > 0\n\
         print('ok')",
        &[run.as_os_str(), schema_path.as_os_str()],
    );
    assert_ok(&o, "load_run");
    assert_eq!(text(&o.stdout).trim(), "ok");
}

#[test]
fn engine_errors_raise_chokepoint_error_with_the_binarys_exit_code_and_message() {
    require_package();
    let dir = tempfile::tempdir().unwrap();
    let existing = dir.path().join("existing");
    std::fs::create_dir(&existing).unwrap();
    let existing = existing.to_str().unwrap();
    // (the binary's arguments, the same call from Python)
    let cases: [(Vec<&str>, String); 3] = [
        (
            vec!["run", "models/no_such_model.ron"],
            "chokepoint.run('models/no_such_model.ron')".into(),
        ),
        (
            vec![
                "run",
                "models/baseline.ron",
                "--set",
                "planning.final_demand_noise=x",
                "--out",
                existing,
            ],
            format!("chokepoint.run('models/baseline.ron', set={{'planning.final_demand_noise': 'x'}}, out={existing:?})"),
        ),
        (
            vec!["run", "models/baseline.ron", "--until", "2025-01-31", "--out", existing],
            format!("chokepoint.run('models/baseline.ron', until='2025-01-31', out={existing:?})"),
        ),
    ];
    for (args, call) in cases {
        let cli = chokepoint(&args);
        let code = cli.status.code().expect("an exit code");
        assert!(code >= 2, "{args:?} fails");
        let message = text(&cli.stderr).trim().trim_start_matches("error: ").to_string();
        let o = py::<&str>(
            &format!(
                "import chokepoint\n\
                 try:\n\
                 \x20   {call}\n\
                 except chokepoint.ChokepointError as e:\n\
                 \x20   assert isinstance(e, Exception)\n\
                 \x20   print(e.exit_code)\n\
                 \x20   print(e)\n\
                 else:\n\
                 \x20   raise SystemExit('no error')"
            ),
            &[],
        );
        assert_ok(&o, call.as_str());
        let out = text(&o.stdout);
        let (got_code, got_message) = out.split_once('\n').unwrap();
        assert_eq!(got_code, code.to_string(), "{call}: exit code");
        assert_eq!(got_message.trim(), message, "{call}: message");
    }
    // The missing model: exit code 2, and the message names the file.
    let o = chokepoint(&["run", "models/no_such_model.ron"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("no_such_model.ron"), "{}", text(&o.stderr));
}

#[test]
fn the_quickstart_notebook_runs_headless() {
    require_package();
    require_python_modules(
        &["nbconvert", "nbclient", "ipykernel", "matplotlib"],
        &format!("Jupyter and matplotlib are needed: {INSTALL}"),
    );
    let dir = tempfile::tempdir().unwrap();
    let executed = dir.path().join("quickstart.out.ipynb");
    let runs = dir.path().join("runs");
    let o = Command::new(python())
        .args(["-m", "jupyter", "nbconvert", "--to", "notebook", "--execute", "--output"])
        .arg(&executed)
        .arg("quickstart.ipynb")
        .current_dir(root().join("examples"))
        .env("CHOKEPOINT_QUICKSTART_OUT", &runs)
        .env("CHOKEPOINT_CHECK", "1")
        .output()
        .expect("python runs");
    assert_ok(&o, "jupyter nbconvert --execute examples/quickstart.ipynb");
    let nb: serde_json::Value = serde_json::from_slice(&std::fs::read(&executed).unwrap()).unwrap();
    let printed: String = nb["cells"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["outputs"].as_array().cloned().unwrap_or_default())
        .filter(|o| o["output_type"] == "stream")
        .map(|o| match &o["text"] {
            serde_json::Value::Array(lines) => lines.iter().filter_map(|l| l.as_str()).collect::<String>(),
            t => t.as_str().unwrap_or_default().to_string(),
        })
        .collect();
    assert!(
        printed.contains("fewer NdFeB magnets") && printed.contains("vehicles short of inputs in 2025"),
        "the notebook prints its comparison: {printed}"
    );
    for run in ["baseline", "april_2025"] {
        assert!(runs.join(run).join("manifest.json").is_file(), "the notebook ran {run}");
    }
    let png = std::fs::read(runs.join("quickstart.png")).expect("the notebook saved its plot");
    assert!(png.len() > 5000 && png.starts_with(b"\x89PNG"), "a real PNG ({} bytes)", png.len());
}

/// The ```python blocks of python/README.md, as a user would paste them.
fn package_readme_blocks() -> Vec<String> {
    let readme = std::fs::read_to_string(root().join("python/README.md")).unwrap();
    let mut blocks = Vec::new();
    let mut rest = readme.as_str();
    while let Some(i) = rest.find("```python\n") {
        let body = &rest[i + "```python\n".len()..];
        let end = body.find("```").expect("closed block");
        blocks.push(body[..end].to_string());
        rest = &body[end + 3..];
    }
    blocks
}

#[test]
fn the_package_readme_snippets_run_as_written() {
    require_package();
    let blocks = package_readme_blocks();
    assert!(blocks.len() >= 3, "python/README.md shows a run, a sweep and an error");
    // A folder laid out as the repository root for the snippets (models/), whose runs/ is the
    // test's own.
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(root().join("models"), dir.path().join("models")).unwrap();
    for b in blocks {
        let o = Command::new(python())
            .arg("-c")
            .arg(&b)
            .current_dir(dir.path())
            .env("CHOKEPOINT_CHECK", "1")
            .output()
            .expect("python runs");
        assert_ok(&o, &format!("python/README.md snippet\n{b}"));
        let out = text(&o.stdout);
        if b.contains("chokepoint.run(\"models/april_2025.ron\"") {
            assert!(out.contains("2025-04-01") && out.contains("commodity units per tick"), "{out}");
        }
        if b.contains("no_such_model") {
            assert!(out.starts_with("2 ") && out.contains("no_such_model.ron"), "{out}");
        }
        if b.contains("chokepoint.sweep(") {
            assert!(out.contains("april_2025") && out.contains("short__vehicle__world"), "{out}");
        }
    }
}

#[test]
fn sweep_seeds_from_python_are_the_seeds_listed() {
    require_package();
    let dir = tempfile::tempdir().unwrap();
    // A list of one seed is that seed, not seeds 1 to N; a range is its seeds.
    let script = r#"
import sys, chokepoint
for name, seeds in [("list", [20250101]), ("range", range(3, 5))]:
    out = chokepoint.sweep("models/baseline.ron", seeds, out=f"{sys.argv[1]}/{name}", until="2025-01-15")
    print(name, sorted(int(s) for s in chokepoint.load_summary(out)["seed"].to_list()))
"#;
    let o = py(script, &[dir.path()]);
    assert_ok(&o, "chokepoint.sweep with seeds");
    let out = text(&o.stdout);
    assert!(out.contains("list [20250101]"), "{out}");
    assert!(out.contains("range [3, 4]"), "{out}");
}
