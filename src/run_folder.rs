//! Reading a finished run folder back: its manifest, resolved model and tables.

use crate::model::Model;
use arrow_array::types::Int32Type;
use arrow_array::{Array, DictionaryArray, Float64Array, Int32Array, RecordBatch, StringArray};
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
        let path = self.dir.join(format!("{name}.arrow"));
        let f = std::fs::File::open(&path).map_err(|e| err(&path, e.to_string()))?;
        let reader = arrow_ipc::reader::FileReader::try_new(f, None).map_err(|e| err(&path, e.to_string()))?;
        let batches = reader
            .collect::<Result<Vec<RecordBatch>, _>>()
            .map_err(|e| err(&path, e.to_string()))?;
        Ok(Table { path, batches })
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

    /// A dictionary-encoded string column, decoded.
    pub fn strs(&self, name: &str) -> Result<Vec<String>, ReadError> {
        let mut out = Vec::new();
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
            out.extend(d.keys().values().iter().map(|&k| values.value(k as usize).to_string()));
        }
        Ok(out)
    }

    pub fn rows(&self) -> usize {
        self.batches.iter().map(|b| b.num_rows()).sum()
    }
}
