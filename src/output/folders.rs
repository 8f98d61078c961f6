//! Output folders Chokepoint owns: making them, recognising them, and replacing them with
//! `--force` without ever touching a file Chokepoint did not write.
//!
//! The rule: a run folder holds only Chokepoint's files plus a marker file, [`RUN_MARKER`],
//! that names the program; a sweep folder holds its plan, its summaries, run folders in Hive
//! folders and the per-table views, plus [`SWEEP_MARKER`]. `--force` deletes only those files,
//! one by one, after checking that the folder holds nothing else; anything unexpected (a file
//! of the user's, a subfolder, a symbolic link) is an error and nothing is deleted. The current
//! folder, its parents and the user's home are never output folders.

use crate::model::output::TableFormat;
use crate::output::OutputError;
use crate::output::schema::tables;
use crate::output::sweep_files::{TABLES_DIR, view_files};
use std::path::{Component, Path, PathBuf};

/// Marker file in every run folder Chokepoint makes.
pub const RUN_MARKER: &str = ".chokepoint-run";
/// Marker file in every sweep folder Chokepoint makes.
pub const SWEEP_MARKER: &str = ".chokepoint-sweep";
/// The program named inside the markers and the manifests.
const PROGRAM: &str = env!("CARGO_PKG_NAME");

fn io(path: &Path, source: std::io::Error) -> OutputError {
    OutputError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// `path` made absolute and free of `.`/`..`: the longest prefix that exists is resolved by the
/// file system (symbolic links included), the rest, which does not exist yet, lexically.
fn resolved(path: &Path) -> std::io::Result<PathBuf> {
    let abs = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()?.join(path)
    };
    let comps: Vec<Component> = abs.components().collect();
    // Find the longest existing prefix.
    let mut k = comps.len();
    let mut base = loop {
        let prefix: PathBuf = comps[..k].iter().collect();
        if let Ok(c) = prefix.canonicalize() {
            break c;
        }
        if k == 0 {
            break PathBuf::from("/");
        }
        k -= 1;
    };
    for c in &comps[k..] {
        match c {
            Component::ParentDir => {
                base.pop();
            }
            Component::Normal(s) => base.push(s),
            _ => {}
        }
    }
    Ok(base)
}

/// Refuses the folders that must never be output folders: the current folder, any folder
/// above it, the file-system root and the user's home.
pub fn refuse_special(dir: &Path) -> Result<(), OutputError> {
    let target = resolved(dir).map_err(|e| io(dir, e))?;
    let cwd = std::env::current_dir()
        .and_then(|c| c.canonicalize())
        .map_err(|e| io(Path::new("."), e))?;
    let why = if target == cwd {
        Some("is the current folder")
    } else if cwd.starts_with(&target) {
        Some("holds the current folder")
    } else if target.parent().is_none() {
        Some("is the root of the file system")
    } else if std::env::var_os("HOME")
        .map(PathBuf::from)
        .and_then(|h| h.canonicalize().ok())
        .is_some_and(|h| h == target)
    {
        Some("is your home folder")
    } else {
        None
    };
    match why {
        Some(why) => Err(OutputError::Refused(format!(
            "{} {why}; Chokepoint writes each run into a folder of its own, e.g. --out runs/my_run",
            dir.display()
        ))),
        None => Ok(()),
    }
}

/// True if `name` is a file Chokepoint writes in a run folder (the marker included).
fn is_run_file(name: &str) -> bool {
    let base = name.strip_suffix(".partial").unwrap_or(name);
    base == RUN_MARKER
        || base == "manifest.json"
        || base == "model.ron"
        // A sweep's copy of the run's summary row (`sweep::INDICATORS_FILE`).
        || base == "indicators.json"
        || tables().iter().any(|t| TableFormat::ALL.iter().any(|&f| t.file_in(f) == base))
}

/// What a folder holds, entry by entry, as far as `--force` is concerned.
struct Survey {
    /// Chokepoint's own files (relative paths), to delete.
    ours: Vec<PathBuf>,
    /// Chokepoint's own subfolders (relative paths), deepest last.
    dirs: Vec<PathBuf>,
    /// Entries Chokepoint did not write (relative paths).
    foreign: Vec<PathBuf>,
}

/// Walks `root` without following symbolic links; `allowed(rel, is_dir)` says whether an
/// entry is Chokepoint's. A symbolic link is never Chokepoint's.
fn survey(root: &Path, allowed: &dyn Fn(&[String], bool) -> bool) -> Result<Survey, OutputError> {
    let mut s = Survey {
        ours: Vec::new(),
        dirs: Vec::new(),
        foreign: Vec::new(),
    };
    let mut stack = vec![Vec::<String>::new()];
    while let Some(rel) = stack.pop() {
        let here: PathBuf = rel.iter().fold(root.to_path_buf(), |p, c| p.join(c));
        let mut entries: Vec<_> = std::fs::read_dir(&here)
            .map_err(|e| io(&here, e))?
            .collect::<Result<_, _>>()
            .map_err(|e| io(&here, e))?;
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let name = e.file_name().to_string_lossy().into_owned();
            let mut r = rel.clone();
            r.push(name);
            let ty = e.file_type().map_err(|err| io(&e.path(), err))?;
            let relpath: PathBuf = r.iter().collect();
            if ty.is_dir() && allowed(&r, true) {
                s.dirs.push(relpath);
                stack.push(r);
            } else if ty.is_file() && allowed(&r, false) {
                s.ours.push(relpath);
            } else {
                s.foreign.push(relpath);
            }
        }
    }
    Ok(s)
}

/// The refusal for a folder that holds something Chokepoint did not write.
fn foreign_error(dir: &Path, what: &str, foreign: &[PathBuf]) -> OutputError {
    let shown: Vec<String> = foreign.iter().take(5).map(|p| p.display().to_string()).collect();
    let more = if foreign.len() > 5 {
        format!(" and {} more", foreign.len() - 5)
    } else {
        String::new()
    };
    OutputError::Refused(format!(
        "{} is not a {what} folder written by Chokepoint (it holds {}{more}); refusing to replace it even with --force, and nothing was deleted",
        dir.display(),
        shown.join(", "),
    ))
}

/// True if `dir` carries `marker`, or is a folder of an earlier version of Chokepoint, which
/// wrote no marker: its `manifest_name` file names this program.
fn marked(dir: &Path, marker: &str, manifest_name: &str) -> bool {
    if dir.join(marker).is_file() {
        return true;
    }
    std::fs::read_to_string(dir.join(manifest_name))
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .is_some_and(|v| v["program"] == PROGRAM)
}

/// Deletes the surveyed files and folders of `root` (never `root` itself), the manifest
/// first so that a crash half-way never leaves a folder that looks complete.
fn delete(root: &Path, s: &Survey, first: &str) -> Result<(), OutputError> {
    let mut files: Vec<&PathBuf> = s.ours.iter().collect();
    files.sort_by_key(|p| p.file_name().is_none_or(|n| n != first));
    for f in files {
        if f.as_os_str() == RUN_MARKER || f.as_os_str() == SWEEP_MARKER {
            continue;
        }
        let p = root.join(f);
        std::fs::remove_file(&p).map_err(|e| io(&p, e))?;
    }
    for d in s.dirs.iter().rev() {
        let p = root.join(d);
        std::fs::remove_dir(&p).map_err(|e| io(&p, e))?;
    }
    Ok(())
}

/// Writes a marker file naming the program.
fn write_marker(dir: &Path, marker: &str, kind: &str) -> Result<(), OutputError> {
    let p = dir.join(marker);
    let text = format!(
        "This folder is a {kind} folder written by {PROGRAM} {}. `--force` replaces only the files it wrote here.\n",
        env!("CARGO_PKG_VERSION")
    );
    std::fs::write(&p, text).map_err(|e| io(&p, e))
}

/// Makes `dir` ready to take a run: created if absent; an existing folder needs `force`, and is
/// then emptied of Chokepoint's files only if it holds nothing else.
pub fn prepare_run_dir(dir: &Path, force: bool) -> Result<(), OutputError> {
    refuse_special(dir)?;
    match std::fs::metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
            return write_marker(dir, RUN_MARKER, "run");
        }
        Err(e) => return Err(io(dir, e)),
        Ok(m) if !m.is_dir() => {
            return Err(io(
                dir,
                std::io::Error::new(std::io::ErrorKind::NotADirectory, "exists and is not a folder"),
            ));
        }
        Ok(_) => {}
    }
    if !force {
        return Err(OutputError::Refused(format!(
            "output folder {} already exists; use --force to replace it",
            dir.display()
        )));
    }
    let s = survey(dir, &|rel, is_dir| !is_dir && rel.len() == 1 && is_run_file(&rel[0]))?;
    if !s.foreign.is_empty() {
        return Err(foreign_error(dir, "run", &s.foreign));
    }
    if !s.ours.is_empty() && !marked(dir, RUN_MARKER, "manifest.json") {
        return Err(OutputError::Refused(format!(
            "{} holds files named like a run's but is not a run folder written by Chokepoint (no {RUN_MARKER}); refusing to replace it even with --force",
            dir.display()
        )));
    }
    delete(dir, &s, "manifest.json")?;
    write_marker(dir, RUN_MARKER, "run")
}

/// True if `name` is `file` or the temporary file a sweep writes it through
/// (`sweep::write_atomic` and the views replace the extension by `tmp.<pid>`).
fn atomic_form_of(name: &str, file: &str) -> bool {
    let stem = Path::new(file).file_stem().and_then(|s| s.to_str()).unwrap_or(file);
    name == file || name.strip_prefix(stem).is_some_and(|rest| rest.starts_with(".tmp."))
}

/// True if `rel` (path components below a sweep folder) is something a sweep writes.
fn is_sweep_entry(rel: &[String], is_dir: bool, view_files: &[String]) -> bool {
    let hive = |n: &String| n.contains('=') && !n.starts_with('=');
    match rel {
        [] => false,
        [one] if !is_dir => {
            one == SWEEP_MARKER
                || atomic_form_of(one, "sweep.json")
                || (one.starts_with("summary") && (one.ends_with(".arrow") || one.contains(".tmp.")))
        }
        [first, ..] if first.starts_with("scenario=") => {
            let (last, dirs) = rel.split_last().expect("not empty");
            if is_dir {
                rel.iter().all(hive)
            } else {
                dirs.iter().all(hive) && is_run_file(last)
            }
        }
        [first, table, rest @ ..] if first == TABLES_DIR => {
            let known = tables().iter().any(|t| t.name == table);
            if !known {
                return false;
            }
            if is_dir {
                rest.iter().all(hive)
            } else {
                match rest.split_last() {
                    Some((last, dirs)) => !dirs.is_empty() && dirs.iter().all(hive) && view_files.iter().any(|v| atomic_form_of(last, v)),
                    None => false,
                }
            }
        }
        [first] if is_dir => first == TABLES_DIR,
        [first, table] if is_dir && first == TABLES_DIR => tables().iter().any(|t| t.name == table),
        _ => false,
    }
}

/// Empties an existing sweep folder for `sweep --force`: only if it is a sweep folder written by
/// Chokepoint and holds nothing else. The folder itself stays.
pub fn clear_sweep_dir(dir: &Path) -> Result<(), OutputError> {
    refuse_special(dir)?;
    let views = view_files();
    let s = survey(dir, &|rel, is_dir| is_sweep_entry(rel, is_dir, &views))?;
    if !s.foreign.is_empty() {
        return Err(foreign_error(dir, "sweep", &s.foreign));
    }
    if !marked(dir, SWEEP_MARKER, "sweep.json") {
        return Err(OutputError::Refused(format!(
            "{} is not a sweep folder written by Chokepoint (no {SWEEP_MARKER}); refusing to replace it even with --force",
            dir.display()
        )));
    }
    delete(dir, &s, "sweep.json")
}

/// Creates a sweep folder (or takes an existing one, whose contents the caller has checked)
/// and marks it as Chokepoint's.
pub fn mark_sweep_dir(dir: &Path) -> Result<(), OutputError> {
    refuse_special(dir)?;
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    if dir.join(SWEEP_MARKER).is_file() {
        return Ok(());
    }
    write_marker(dir, SWEEP_MARKER, "sweep")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sweep_entries_are_recognised_by_their_place() {
        let v = |s: &str| s.split('/').map(String::from).collect::<Vec<_>>();
        let views = view_files();
        let ok = |s: &str, d: bool| is_sweep_entry(&v(s), d, &views);
        assert!(ok("sweep.json", false));
        assert!(ok("sweep.tmp.4242", false));
        assert!(ok("tables/firms/scenario=a/seed=1/part-0.tmp.4242", false));
        assert!(!ok("sweep.json.bak", false));
        assert!(ok("summary.arrow", false));
        assert!(ok("scenario=a/seed=1", true));
        assert!(ok("scenario=a/seed=1/firms.arrow", false));
        assert!(ok("scenario=a/x=0.5/seed=1/.chokepoint-run", false));
        assert!(ok("tables/firms/scenario=a/seed=1/part-0.arrow", false));
        assert!(ok("tables/firms", true));
        assert!(!ok("data", true));
        assert!(!ok("data/obs.csv", false));
        assert!(!ok("notes.txt", false));
        assert!(!ok("scenario=a/seed=1/notes.txt", false));
        assert!(!ok("scenario=a/data", true));
        assert!(!ok("tables/mine", true));
        assert!(!ok("tables/firms/scenario=a/seed=1/other.arrow", false));
    }
}
