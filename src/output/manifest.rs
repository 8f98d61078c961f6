//! A run folder's own files besides the tables: `model.ron`, the resolved model that ran, and
//! `manifest.json`, what ran and the proof that the folder is complete (written last).

use crate::output::OutputError;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;

/// `manifest.json`: what ran, and proof that the folder is complete (written last).
#[derive(Debug, Serialize)]
pub struct Manifest {
    pub model: String,
    pub seed: u64,
    /// SHA-256 of model.ron, the resolved model.
    pub model_sha256: String,
    pub program: String,
    pub program_version: String,
    pub start: String,
    pub end: String,
    pub tick_days: u32,
    pub ticks: u32,
    pub rows: BTreeMap<String, u64>,
    pub wall_seconds: f64,
    /// True if every tick was checked (`--check`) and every invariant held.
    pub checked: bool,
    /// Rounding-sized negative quantities (within 1e-9 of their scale) set to zero.
    pub clamped: u64,
    /// The output level of `firms.arrow` and `lines.arrow` (`all`, `every:K`, `sample:F`,
    /// `none`; see `chokepoint schema`).
    pub firm_rows: String,
    /// The tables' file format (`arrow`: `<table>.arrow`; `parquet`: `<table>.parquet`).
    pub format: String,
    /// The tables' compression (`zstd`, `lz4` or `none`).
    pub compression: String,
    /// The generator's spec (firms, size and degree tails, seed) when the world was generated
    /// from the model's `synthetic` section; `model.ron` holds the model with that section.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub synthetic: Option<crate::model::Synthetic>,
    pub complete: bool,
}

/// Writes `model.ron` (the resolved model's text) into the run folder `dir`.
pub fn write_model(dir: &Path, resolved: &str) -> Result<(), OutputError> {
    let path = dir.join("model.ron");
    std::fs::write(&path, resolved).map_err(|source| OutputError::Io { path, source })
}

/// Writes `manifest.json` into the run folder `dir`, under a temporary name and renamed: a
/// reader (a sweep being watched, `--resume`) sees no manifest or the whole of it, never a
/// half-written file.
pub fn write_manifest(dir: &Path, manifest: &Manifest) -> Result<(), OutputError> {
    let (tmp, done) = (dir.join("manifest.json.partial"), dir.join("manifest.json"));
    let text = serde_json::to_string_pretty(manifest).expect("manifest serialises");
    std::fs::write(&tmp, text).map_err(|source| OutputError::Io { path: tmp.clone(), source })?;
    std::fs::rename(&tmp, &done).map_err(|source| OutputError::Io { path: done, source })
}
