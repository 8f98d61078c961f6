//! Writing one file whole: through a temporary name and a rename, so that a reader never sees
//! half of it, or in one go where it is new.

use crate::output::OutputError;
use std::path::Path;

/// An I/O error on `path`.
pub fn io_err(path: &Path, source: std::io::Error) -> OutputError {
    OutputError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes `bytes` to `path` through a temporary file beside it and a rename, so a reader never
/// sees half a file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), OutputError> {
    let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
    std::fs::write(&tmp, bytes).map_err(|e| io_err(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| io_err(path, e))
}

/// Writes `bytes` to `path` (a picture, an export the user named), replacing what is there.
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<(), OutputError> {
    std::fs::write(path, bytes).map_err(|e| io_err(path, e))
}

/// Removes the file `p` if it is there.
pub fn remove_if_present(p: &Path) -> Result<(), OutputError> {
    match std::fs::remove_file(p) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io_err(p, e)),
        _ => Ok(()),
    }
}
