//! Helpers shared by the integration tests: run the real binary, read its Arrow files.
#![allow(dead_code)]

pub mod worlds;

use arrow_array::types::Int32Type;
use arrow_array::{Array, DictionaryArray, Float64Array, Int32Array, RecordBatch, StringArray};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The crate root (where models/ lives).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The `chokepoint` binary built for this test run, with `--check` on for every run
/// (`CHOKEPOINT_CHECK=1`): every tick of every test run is checked for broken invariants.
pub fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_chokepoint"));
    c.env("CHOKEPOINT_CHECK", "1");
    c
}

/// Runs the binary with `args`; returns its output (it may have failed).
pub fn chokepoint(args: &[&str]) -> Output {
    bin().args(args).current_dir(root()).output().expect("binary runs")
}

/// Runs a model into `out` and panics with the binary's stderr if it fails.
pub fn run_model(model: &Path, out: &Path, extra: &[&str]) {
    let mut args = vec!["run", model.to_str().unwrap(), "--out", out.to_str().unwrap(), "--quiet"];
    args.extend_from_slice(extra);
    let o = chokepoint(&args);
    assert!(o.status.success(), "run failed: {}", String::from_utf8_lossy(&o.stderr));
}

/// All batches of an Arrow IPC file.
pub fn read_table(path: &Path) -> Vec<RecordBatch> {
    let f = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let reader = arrow_ipc::reader::FileReader::try_new(f, None).expect("valid Arrow IPC file");
    reader.map(|b| b.expect("batch")).collect()
}

/// A float64 column of every batch, concatenated.
pub fn f64s(batches: &[RecordBatch], name: &str) -> Vec<f64> {
    batches
        .iter()
        .flat_map(|b| {
            let a = b.column_by_name(name).unwrap_or_else(|| panic!("column {name}"));
            let a = a.as_any().downcast_ref::<Float64Array>().expect("float64");
            (0..a.len())
                .map(|i| if a.is_null(i) { f64::NAN } else { a.value(i) })
                .collect::<Vec<_>>()
        })
        .collect()
}

/// An int32 (or date32, read as days) column.
pub fn i32s(batches: &[RecordBatch], name: &str) -> Vec<i32> {
    batches
        .iter()
        .flat_map(|b| {
            let a = b.column_by_name(name).unwrap_or_else(|| panic!("column {name}"));
            let data = a.to_data();
            let a = Int32Array::from(data.into_builder().data_type(arrow_schema::DataType::Int32).build().unwrap());
            a.values().to_vec()
        })
        .collect()
}

/// A dictionary-encoded string column, decoded.
pub fn strs(batches: &[RecordBatch], name: &str) -> Vec<String> {
    batches
        .iter()
        .flat_map(|b| {
            let a = b.column_by_name(name).unwrap_or_else(|| panic!("column {name}"));
            let d = a
                .as_any()
                .downcast_ref::<DictionaryArray<Int32Type>>()
                .expect("dictionary<int32, utf8>");
            let values = d.values().as_any().downcast_ref::<StringArray>().expect("utf8 values");
            d.keys()
                .values()
                .iter()
                .map(|&k| values.value(k as usize).to_string())
                .collect::<Vec<_>>()
        })
        .collect()
}

/// (year, month) of a date32 value.
pub fn year_month(days: i32) -> (i32, u32) {
    let (y, m, _) = chokepoint::model::calendar::Date(days).ymd();
    (y, m)
}

/// A plain utf8 column.
pub fn texts(batches: &[RecordBatch], name: &str) -> Vec<String> {
    batches
        .iter()
        .flat_map(|b| {
            let a = b.column_by_name(name).unwrap_or_else(|| panic!("column {name}"));
            let a = a.as_any().downcast_ref::<StringArray>().expect("utf8");
            (0..a.len()).map(|i| a.value(i).to_string()).collect::<Vec<_>>()
        })
        .collect()
}

/// The Python with the test packages: $CHOKEPOINT_PYTHON, else the project's .venv (which
/// tests/run creates). A missing interpreter fails the test that needs it.
pub fn python() -> PathBuf {
    if let Ok(p) = std::env::var("CHOKEPOINT_PYTHON") {
        return PathBuf::from(p);
    }
    let venv = root().join(".venv/bin/python");
    assert!(
        venv.exists(),
        "no Python with the test packages: run tests/run (it creates .venv) or set CHOKEPOINT_PYTHON"
    );
    venv
}

/// Fails, naming the missing ones and `hint`, unless the test Python can find every module in
/// `modules`. Looked up, not imported: importing SALib or the EMA Workbench takes a second or
/// more, and a module that is there but broken fails the test that uses it anyway.
#[allow(dead_code)]
pub fn require_python_modules(modules: &[&str], hint: &str) {
    let list: Vec<String> = modules.iter().map(|m| format!("{m:?}")).collect();
    let check = format!(
        "import importlib.util, sys\n\
         missing = [m for m in [{}] if importlib.util.find_spec(m) is None]\n\
         print(', '.join(missing))\n\
         sys.exit(1 if missing else 0)\n",
        list.join(", ")
    );
    let py = python();
    let o = std::process::Command::new(&py).args(["-c", &check]).output().expect("python runs");
    assert!(
        o.status.success(),
        "{} lacks Python modules these tests need: {}{}\n{hint}",
        py.display(),
        String::from_utf8_lossy(&o.stdout).trim(),
        String::from_utf8_lossy(&o.stderr).trim()
    );
}
