//! `chokepoint export`: one table of a finished run as CSV (for spreadsheets and tools without
//! an Arrow or Parquet reader), Parquet (DuckDB, R, Spark) or Arrow IPC. The file is written
//! under a temporary name and renamed, and an existing file is replaced only with `--force`.

use crate::model::calendar::Date;
use crate::model::output::{Compression, Output, TableFormat};
use crate::output::read::{RunFolder, read_file};
use arrow_array::types::Int32Type;
use arrow_array::{
    Array, ArrayRef, BooleanArray, Date32Array, DictionaryArray, Float64Array, Int32Array, Int64Array, RecordBatch, StringArray,
};
use arrow_schema::DataType;
use std::path::{Path, PathBuf};

/// The formats `export` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportFormat {
    /// Comma-separated values with a header row; dates as `YYYY-MM-DD`, missing values empty,
    /// numbers in the shortest form that reads back to the same float64.
    Csv,
    /// A table file in one of the run formats (zstd-compressed).
    Table(TableFormat),
}

impl ExportFormat {
    /// Parses `csv`, `parquet` or `arrow`.
    pub fn parse(s: &str) -> Result<ExportFormat, String> {
        match s {
            "csv" => Ok(ExportFormat::Csv),
            _ => TableFormat::parse(s)
                .map(ExportFormat::Table)
                .map_err(|_| format!("format `{s}`: expected \"csv\", \"parquet\" or \"arrow\"")),
        }
    }

    /// The format a file name's extension asks for, if it is one of ours.
    pub fn of_path(p: &Path) -> Option<ExportFormat> {
        p.extension().and_then(|e| e.to_str()).and_then(|e| ExportFormat::parse(e).ok())
    }

    /// The file extension (without the dot).
    pub fn extension(self) -> &'static str {
        match self {
            ExportFormat::Csv => "csv",
            ExportFormat::Table(f) => f.extension(),
        }
    }
}

/// Why an export failed, for the user.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The run folder or table could not be read.
    #[error("{0}")]
    Read(#[from] crate::output::read::ReadError),
    /// A command line that cannot be honoured (an existing file without `--force`, an unknown table).
    #[error("{0}")]
    Usage(String),
    /// The output file could not be written.
    #[error("{0}")]
    Output(#[from] crate::output::OutputError),
}

/// Writes table `table` of the run in `run_dir` to `out` in `format`; returns the rows written.
/// `out` must not exist unless `force`.
pub fn export(run_dir: &Path, table: &str, format: ExportFormat, out: &Path, force: bool) -> Result<u64, ExportError> {
    let run = RunFolder::open(run_dir)?;
    let known: Vec<&str> = crate::output::schema::tables().iter().map(|t| t.name).collect();
    if !known.contains(&table) {
        return Err(ExportError::Usage(format!(
            "unknown table `{table}`; expected one of {}",
            known.join(", ")
        )));
    }
    if out.exists() && !force {
        return Err(ExportError::Usage(format!(
            "{} already exists; use --force to replace it",
            out.display()
        )));
    }
    if out.is_dir() {
        return Err(ExportError::Usage(format!("{} is a folder; give a file name", out.display())));
    }
    let path = run.table_path(table);
    let batches = read_file(&path, None)?;
    let rows = batches.iter().map(|b| b.num_rows() as u64).sum();
    let tmp = temp_name(out);
    let written = match format {
        ExportFormat::Csv => write_csv(&tmp, &batches),
        ExportFormat::Table(f) => write_table(&tmp, &path, &batches, f),
    };
    let done = written.and_then(|()| std::fs::rename(&tmp, out).map_err(|e| crate::output::files::io_err(out, e)));
    if let Err(e) = done {
        let _ = std::fs::remove_file(&tmp);
        return Err(e.into());
    }
    Ok(rows)
}

/// `out` with `.tmp.<pid>` added: where the file is written before its rename.
fn temp_name(out: &Path) -> PathBuf {
    let mut name = out.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(format!(".tmp.{}", std::process::id()));
    out.with_file_name(name)
}

/// Writes `batches` (read from `from`) as one zstd-compressed table file in `format`.
fn write_table(to: &Path, from: &Path, batches: &[RecordBatch], format: TableFormat) -> Result<(), crate::output::OutputError> {
    let schema = match batches.first() {
        Some(b) => b.schema(),
        None => read_schema(from)?,
    };
    let output = Output {
        format,
        compression: Compression::Zstd,
        ..Default::default()
    };
    let mut sink = crate::output::writer::TableSink::open(to, &schema, &output)?;
    for b in batches {
        sink.write(b, to)?;
    }
    sink.finish(to)
}

/// The schema of an empty table file (no batches to take it from).
fn read_schema(from: &Path) -> Result<arrow_schema::SchemaRef, crate::output::OutputError> {
    let io = |e: std::io::Error| crate::output::files::io_err(from, e);
    let f = std::fs::File::open(from).map_err(io)?;
    if from.extension().is_some_and(|e| e == "parquet") {
        let b = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(f).map_err(|source| {
            crate::output::OutputError::Parquet {
                path: from.to_path_buf(),
                source,
            }
        })?;
        return Ok(b.schema().clone());
    }
    let r = arrow_ipc::reader::FileReader::try_new(f, None).map_err(|source| crate::output::OutputError::Arrow {
        path: from.to_path_buf(),
        source,
    })?;
    Ok(r.schema())
}

/// Writes `batches` as CSV with a header row.
fn write_csv(to: &Path, batches: &[RecordBatch]) -> Result<(), crate::output::OutputError> {
    let io = |e: std::io::Error| crate::output::files::io_err(to, e);
    let csv_err = |e: csv::Error| crate::output::files::io_err(to, std::io::Error::other(e));
    let file = std::fs::File::create(to).map_err(io)?;
    let mut w = csv::Writer::from_writer(std::io::BufWriter::new(file));
    let Some(first) = batches.first() else {
        // No rows: an empty file says as much as a header of a table nobody wrote.
        return w.flush().map_err(io);
    };
    let header: Vec<&str> = first.schema_ref().fields().iter().map(|f| f.name().as_str()).collect();
    w.write_record(&header).map_err(csv_err)?;
    let mut record: Vec<String> = vec![String::new(); header.len()];
    for b in batches {
        let columns: Vec<CsvColumn> = b.columns().iter().map(CsvColumn::new).collect();
        for row in 0..b.num_rows() {
            for (cell, col) in record.iter_mut().zip(&columns) {
                cell.clear();
                col.write(row, cell);
            }
            w.write_record(&record).map_err(csv_err)?;
        }
    }
    w.flush().map_err(io)
}

/// A column of a batch, typed for writing cells.
enum CsvColumn<'a> {
    Int32(&'a Int32Array),
    Int64(&'a Int64Array),
    Float64(&'a Float64Array),
    Date32(&'a Date32Array),
    Bool(&'a BooleanArray),
    Text(&'a StringArray),
    Dict(&'a DictionaryArray<Int32Type>, &'a StringArray),
}

impl<'a> CsvColumn<'a> {
    fn new(a: &'a ArrayRef) -> CsvColumn<'a> {
        let any = a.as_any();
        match a.data_type() {
            DataType::Int32 => CsvColumn::Int32(any.downcast_ref().expect("int32")),
            DataType::Int64 => CsvColumn::Int64(any.downcast_ref().expect("int64")),
            DataType::Float64 => CsvColumn::Float64(any.downcast_ref().expect("float64")),
            DataType::Date32 => CsvColumn::Date32(any.downcast_ref().expect("date32")),
            DataType::Boolean => CsvColumn::Bool(any.downcast_ref().expect("bool")),
            DataType::Utf8 => CsvColumn::Text(any.downcast_ref().expect("utf8")),
            DataType::Dictionary(_, _) => {
                let d: &DictionaryArray<Int32Type> = any.downcast_ref().expect("the writer's dictionaries have int32 keys");
                let values = d.values().as_any().downcast_ref().expect("the writer's dictionaries hold strings");
                CsvColumn::Dict(d, values)
            }
            other => unreachable!("no table has a column of type {other}"),
        }
    }

    /// Appends row `i`'s cell to `cell` (nothing for a missing value).
    fn write(&self, i: usize, cell: &mut String) {
        use std::fmt::Write;
        let null = match self {
            CsvColumn::Int32(a) => a.is_null(i),
            CsvColumn::Int64(a) => a.is_null(i),
            CsvColumn::Float64(a) => a.is_null(i),
            CsvColumn::Date32(a) => a.is_null(i),
            CsvColumn::Bool(a) => a.is_null(i),
            CsvColumn::Text(a) => a.is_null(i),
            CsvColumn::Dict(a, _) => a.is_null(i),
        };
        if null {
            return;
        }
        let _ = match self {
            CsvColumn::Int32(a) => write!(cell, "{}", a.value(i)),
            CsvColumn::Int64(a) => write!(cell, "{}", a.value(i)),
            CsvColumn::Float64(a) => write!(cell, "{}", a.value(i)),
            CsvColumn::Date32(a) => write!(cell, "{}", Date(a.value(i))),
            CsvColumn::Bool(a) => write!(cell, "{}", a.value(i)),
            CsvColumn::Text(a) => write!(cell, "{}", a.value(i)),
            CsvColumn::Dict(a, v) => write!(cell, "{}", v.value(a.keys().value(i) as usize)),
        };
    }
}
