//! Everything a run leaves on disk, and reading it back: the documented table schemas, the
//! Arrow writer, the manifest, run and sweep folders (markers, `--force`, views), and the
//! reader of a finished run folder. Only this layer writes or deletes files.

pub mod export;
pub mod files;
pub mod folders;
pub mod manifest;
pub mod read;
pub mod schema;
pub mod sweep_files;
pub mod writer;

use arrow_schema::ArrowError;
use std::path::PathBuf;

/// What can go wrong while writing a run.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: Arrow: {source}")]
    Arrow { path: PathBuf, source: ArrowError },
    #[error("{path}: Parquet: {source}")]
    Parquet {
        path: PathBuf,
        source: parquet::errors::ParquetError,
    },
    /// A folder Chokepoint will not write into or clear (it is the current folder, home, or
    /// holds files that are not Chokepoint's); nothing was written or deleted.
    #[error("{0}")]
    Refused(String),
}
