//! A sweep folder's own files besides its run folders: the per-table views (hard links to each
//! run's tables, one Hive dataset per table) and the summary table (one row per run).

use crate::model::output::TableFormat;
use crate::output::OutputError;
use crate::output::files::{io_err, remove_if_present, write_atomic};
use crate::output::schema::tables;
use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The folder of a sweep that holds one dataset per table: `tables/<table>/<run folder>/part-0.arrow`
/// (or `part-0.parquet`),
/// hard links to the run's own files (named apart from them, so that a glob for `**/firms.arrow`
/// over the sweep still finds each run once). `pyarrow.dataset.dataset(DIR/tables/firms, format="ipc",
/// partitioning="hive")` then opens one table of every run, with the Hive keys as columns.
pub const TABLES_DIR: &str = "tables";

/// Where run `run_dir`'s copy of table `table` in `format` goes in the per-table view of sweep `out`.
fn view_path(out: &Path, run_dir: &str, table: &str, format: TableFormat) -> PathBuf {
    out.join(TABLES_DIR)
        .join(table)
        .join(run_dir)
        .join(format!("part-0.{}", format.extension()))
}

/// The name of every file in the per-table views, in each format: `part-0.arrow`, `part-0.parquet`.
pub fn view_files() -> Vec<String> {
    TableFormat::ALL.iter().map(|f| format!("part-0.{}", f.extension())).collect()
}

/// Removes a run's entries in the per-table views (before the run is done again).
pub fn unlink_views(out: &Path, run_dir: &str) -> Result<(), OutputError> {
    for t in tables() {
        for f in TableFormat::ALL {
            remove_if_present(&view_path(out, run_dir, t.name, f))?;
        }
    }
    Ok(())
}

/// Links a complete run's tables into the per-table views (where the file system has no hard
/// links, a copy, written under a temporary name and renamed so that a view never holds half a
/// file). An entry left by an earlier attempt is replaced; one that already is the run's file
/// is kept. Tables the run folder does not hold (dropped by `sweep --keep`) get no entry.
pub fn link_views(out: &Path, run_dir: &str) -> Result<(), OutputError> {
    for t in tables() {
        for f in TableFormat::ALL {
            let src = out.join(run_dir).join(t.file_in(f));
            let dst = view_path(out, run_dir, t.name, f);
            if !src.is_file() {
                remove_if_present(&dst)?;
                continue;
            }
            if same_file(&src, &dst) {
                continue;
            }
            let parent = dst.parent().expect("a view entry has a folder");
            std::fs::create_dir_all(parent).map_err(|e| io_err(parent, e))?;
            remove_if_present(&dst)?;
            if std::fs::hard_link(&src, &dst).is_err() {
                let tmp = dst.with_extension(format!("tmp.{}", std::process::id()));
                std::fs::copy(&src, &tmp).map_err(|e| io_err(&src, e))?;
                std::fs::rename(&tmp, &dst).map_err(|e| io_err(&dst, e))?;
            }
        }
    }
    Ok(())
}

/// True if `a` and `b` are links to one file.
fn same_file(a: &Path, b: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (std::fs::metadata(a), std::fs::metadata(b)) {
            (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (a, b);
        false
    }
}

/// A sweep's summary table: one row per run, in plan order.
#[derive(Debug, Clone, Default)]
pub struct SummaryTable {
    /// Scenario (model name) of each run.
    pub scenario: Vec<String>,
    /// Each run's folder inside the sweep (`scenario=…/…/seed=…`).
    pub run: Vec<String>,
    pub seed: Vec<i64>,
    /// Each run's row of the points file (`--points`), if the sweep has one.
    pub point: Option<Vec<i64>>,
    /// Each parameter (the points file's columns, then the grid's): its path, its column name
    /// and its value in each run (`none` where the run's model does not have it).
    pub params: Vec<(String, String, Vec<String>)>,
    /// Each indicator column: its name and its value in each run (null: not applicable).
    pub indicators: Vec<(String, Vec<Option<f64>>)>,
}

/// Writes the summary table to `path` as an Arrow IPC file (through a temporary name).
pub fn write_summary(path: &Path, t: &SummaryTable) -> Result<(), OutputError> {
    let mut fields = vec![
        Field::new("scenario", DataType::Utf8, false),
        Field::new("run", DataType::Utf8, false),
        Field::new("seed", DataType::Int64, false),
    ];
    let mut arrays: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(t.scenario.clone())),
        Arc::new(StringArray::from(t.run.clone())),
        Arc::new(Int64Array::from(t.seed.clone())),
    ];
    if let Some(point) = &t.point {
        fields.push(Field::new("point", DataType::Int64, false));
        arrays.push(Arc::new(Int64Array::from(point.clone())));
    }
    for (p, column, v) in &t.params {
        let meta = HashMap::from([("path".to_string(), p.clone())]);
        // Numbers as float64 (null where the model has no such parameter), anything else as text.
        let numbers: Option<Vec<Option<f64>>> = v
            .iter()
            .map(|x| {
                if x == "none" {
                    Some(None)
                } else {
                    x.parse::<f64>().ok().filter(|n| n.is_finite()).map(Some)
                }
            })
            .collect();
        match numbers {
            Some(n) if n.iter().any(Option::is_some) => {
                fields.push(Field::new(column, DataType::Float64, true).with_metadata(meta));
                arrays.push(Arc::new(Float64Array::from(n)));
            }
            _ => {
                fields.push(Field::new(column, DataType::Utf8, false).with_metadata(meta));
                arrays.push(Arc::new(StringArray::from(v.clone())));
            }
        }
    }
    for (c, v) in &t.indicators {
        fields.push(Field::new(c, DataType::Float64, true));
        arrays.push(Arc::new(Float64Array::from(v.clone())));
    }
    let schema = Arc::new(Schema::new_with_metadata(
        fields,
        HashMap::from([(
            "description".to_string(),
            "One row per run of the sweep: scenario, grid values, seed and the indicators of `chokepoint compare`".to_string(),
        )]),
    ));
    let arrow = |source| OutputError::Arrow {
        path: path.to_path_buf(),
        source,
    };
    let batch = RecordBatch::try_new(schema.clone(), arrays).map_err(arrow)?;
    let mut buf = Vec::new();
    {
        let mut w = arrow_ipc::writer::FileWriter::try_new(&mut buf, &schema).map_err(arrow)?;
        w.write(&batch).map_err(arrow)?;
        w.finish().map_err(arrow)?;
    }
    write_atomic(path, &buf)
}
