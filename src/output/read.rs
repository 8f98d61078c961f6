//! Reading a finished run folder back: its manifest, resolved model and tables.

use crate::model::Model;
use crate::model::output::TableFormat;
use arrow_array::types::Int32Type;
use arrow_array::{Array, DictionaryArray, Float64Array, Int32Array, Int64Array, RecordBatch, StringArray};
use std::path::{Path, PathBuf};

/// A problem reading a run folder.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct ReadError {
    pub path: PathBuf,
    pub message: String,
}

fn err(path: &Path, message: impl Into<String>) -> ReadError {
    ReadError {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

/// A run folder whose manifest says it is complete.
pub struct RunFolder {
    pub dir: PathBuf,
    pub model: Model,
    pub manifest: serde_json::Value,
}

/// True if `dir` holds a run whose manifest says it is complete.
pub fn is_complete(dir: &Path) -> bool {
    std::fs::read_to_string(dir.join("manifest.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .is_some_and(|v| v["complete"] == serde_json::Value::Bool(true))
}

impl RunFolder {
    /// Opens `dir`; an incomplete or foreign folder is an error.
    pub fn open(dir: &Path) -> Result<RunFolder, ReadError> {
        let mpath = dir.join("manifest.json");
        let text = std::fs::read_to_string(&mpath).map_err(|e| err(&mpath, format!("not a run folder ({e})")))?;
        let manifest: serde_json::Value = serde_json::from_str(&text).map_err(|e| err(&mpath, e.to_string()))?;
        if manifest["complete"] != serde_json::Value::Bool(true) {
            return Err(err(&mpath, "the run is not complete"));
        }
        let rpath = dir.join("model.ron");
        let rtext = std::fs::read_to_string(&rpath).map_err(|e| err(&rpath, e.to_string()))?;
        let model: Model = ron::Options::default()
            .with_default_extension(ron::extensions::Extensions::IMPLICIT_SOME)
            .from_str(&rtext)
            .map_err(|e| err(&rpath, e.to_string()))?;
        Ok(RunFolder {
            dir: dir.to_path_buf(),
            model,
            manifest,
        })
    }

    /// A short label: the folder name.
    pub fn label(&self) -> String {
        self.dir
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| self.dir.display().to_string())
    }

    /// All batches of `<name>.arrow`.
    pub fn table(&self, name: &str) -> Result<Table, ReadError> {
        self.read(name, None)
    }

    /// The named columns of `<name>.arrow` (the others are not decoded).
    pub fn columns(&self, name: &str, columns: &[&str]) -> Result<Table, ReadError> {
        self.read(name, Some(columns))
    }

    /// The file of table `name` in this folder: `<name>.arrow` or `<name>.parquet`, whichever
    /// the run wrote (the `.arrow` path when neither exists, for the error message).
    pub fn table_path(&self, name: &str) -> PathBuf {
        TableFormat::ALL
            .iter()
            .map(|f| self.dir.join(format!("{name}.{}", f.extension())))
            .find(|p| p.is_file())
            .unwrap_or_else(|| self.dir.join(format!("{name}.arrow")))
    }

    fn read(&self, name: &str, columns: Option<&[&str]>) -> Result<Table, ReadError> {
        let path = self.table_path(name);
        let batches = read_file(&path, columns)?;
        Ok(Table { path, batches })
    }
}

/// Every batch of the table file at `path` (Arrow IPC or Parquet, by its extension), with only
/// `columns` decoded when given.
pub fn read_file(path: &Path, columns: Option<&[&str]>) -> Result<Vec<RecordBatch>, ReadError> {
    let f = std::fs::File::open(path).map_err(|e| err(path, e.to_string()))?;
    let index = |schema: &arrow_schema::Schema, columns: &[&str]| {
        columns
            .iter()
            .map(|c| schema.index_of(c).map_err(|_| err(path, format!("no column `{c}`"))))
            .collect::<Result<Vec<usize>, _>>()
    };
    if path.extension().is_some_and(|e| e == "parquet") {
        use parquet::arrow::ProjectionMask;
        use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
        let perr = |e: parquet::errors::ParquetError| err(path, e.to_string());
        let mut builder = ParquetRecordBatchReaderBuilder::try_new(f).map_err(perr)?;
        if let Some(columns) = columns {
            let roots = index(builder.schema(), columns)?;
            let mask = ProjectionMask::roots(builder.parquet_schema(), roots);
            builder = builder.with_projection(mask);
        }
        let reader = builder.build().map_err(perr)?;
        return reader
            .collect::<Result<Vec<RecordBatch>, _>>()
            .map_err(|e| err(path, e.to_string()));
    }
    let mut reader = arrow_ipc::reader::FileReader::try_new(f, None).map_err(|e| err(path, e.to_string()))?;
    if let Some(columns) = columns {
        let projection = index(&reader.schema(), columns)?;
        let f = std::fs::File::open(path).map_err(|e| err(path, e.to_string()))?;
        reader = arrow_ipc::reader::FileReader::try_new(f, Some(projection)).map_err(|e| err(path, e.to_string()))?;
    }
    reader
        .collect::<Result<Vec<RecordBatch>, _>>()
        .map_err(|e| err(path, e.to_string()))
}

/// A dictionary-encoded string column: a code per row and the names the codes stand for.
pub struct Codes {
    pub codes: Vec<u32>,
    pub names: Vec<String>,
}

impl Codes {
    pub fn len(&self) -> usize {
        self.codes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.codes.is_empty()
    }

    /// Row `i`'s string.
    pub fn name(&self, i: usize) -> &str {
        &self.names[self.codes[i] as usize]
    }

    /// The code of `name`, if any row could have it.
    pub fn code(&self, name: &str) -> Option<u32> {
        self.names.iter().position(|n| n == name).map(|k| k as u32)
    }
}

/// One table's batches, with typed column access.
pub struct Table {
    pub path: PathBuf,
    pub batches: Vec<RecordBatch>,
}

impl Table {
    fn column<'a>(&'a self, b: &'a RecordBatch, name: &str) -> Result<&'a dyn Array, ReadError> {
        b.column_by_name(name)
            .map(|c| c.as_ref())
            .ok_or_else(|| err(&self.path, format!("no column `{name}`")))
    }

    /// A float64 column (nulls as NaN).
    pub fn f64s(&self, name: &str) -> Result<Vec<f64>, ReadError> {
        let mut out = Vec::new();
        for b in &self.batches {
            let a = self
                .column(b, name)?
                .as_any()
                .downcast_ref::<Float64Array>()
                .ok_or_else(|| err(&self.path, format!("`{name}` is not float64")))?;
            out.extend((0..a.len()).map(|i| if a.is_null(i) { f64::NAN } else { a.value(i) }));
        }
        Ok(out)
    }

    /// An int32 or date32 column (nulls as None).
    pub fn i32s(&self, name: &str) -> Result<Vec<Option<i32>>, ReadError> {
        let mut out = Vec::new();
        for b in &self.batches {
            let data = self.column(b, name)?.to_data();
            let a = Int32Array::from(
                data.into_builder()
                    .data_type(arrow_schema::DataType::Int32)
                    .build()
                    .map_err(|e| err(&self.path, e.to_string()))?,
            );
            out.extend((0..a.len()).map(|i| if a.is_null(i) { None } else { Some(a.value(i)) }));
        }
        Ok(out)
    }

    /// An int64 column (nulls as 0).
    pub fn i64s(&self, name: &str) -> Result<Vec<i64>, ReadError> {
        let mut out = Vec::new();
        for b in &self.batches {
            let a = self
                .column(b, name)?
                .as_any()
                .downcast_ref::<Int64Array>()
                .ok_or_else(|| err(&self.path, format!("`{name}` is not int64")))?;
            out.extend((0..a.len()).map(|i| if a.is_null(i) { 0 } else { a.value(i) }));
        }
        Ok(out)
    }

    /// A plain (not dictionary-encoded) string column (nulls as "").
    pub fn strings(&self, name: &str) -> Result<Vec<String>, ReadError> {
        let mut out = Vec::new();
        for b in &self.batches {
            let a = self
                .column(b, name)?
                .as_any()
                .downcast_ref::<StringArray>()
                .ok_or_else(|| err(&self.path, format!("`{name}` is not utf8")))?;
            out.extend(a.iter().map(|v| v.unwrap_or("").to_string()));
        }
        Ok(out)
    }

    /// A dictionary-encoded string column as codes, without a string per row. Batches may
    /// carry different dictionaries; their values are merged into one list of names.
    pub fn codes(&self, name: &str) -> Result<Codes, ReadError> {
        let mut out = Codes {
            codes: Vec::with_capacity(self.rows()),
            names: Vec::new(),
        };
        let mut known: std::collections::HashMap<String, u32> = std::collections::HashMap::new();
        let mut remap: Vec<u32> = Vec::new();
        for b in &self.batches {
            let d = self
                .column(b, name)?
                .as_any()
                .downcast_ref::<DictionaryArray<Int32Type>>()
                .ok_or_else(|| err(&self.path, format!("`{name}` is not dictionary<int32, utf8>")))?;
            let values = d
                .values()
                .as_any()
                .downcast_ref::<StringArray>()
                .ok_or_else(|| err(&self.path, format!("`{name}` values are not utf8")))?;
            remap.clear();
            for v in values.iter() {
                let v = v.unwrap_or("");
                let next = out.names.len() as u32;
                let code = *known.entry(v.to_string()).or_insert(next);
                if code == next {
                    out.names.push(v.to_string());
                }
                remap.push(code);
            }
            for &k in d.keys().values().iter() {
                let code = remap
                    .get(k as usize)
                    .ok_or_else(|| err(&self.path, format!("`{name}`: dictionary key {k} out of range")))?;
                out.codes.push(*code);
            }
        }
        Ok(out)
    }

    pub fn rows(&self) -> usize {
        self.batches.iter().map(|b| b.num_rows()).sum()
    }
}
