//! README.md's quickstart works as written: every `sh`, `python` and `r` block, in the order
//! the README shows them, in a fresh folder with a fresh venv and no `runs/`, as a new user
//! pastes them. The folder links to the repository's files (sources, models, python/, R/), so
//! `cargo install --path .` builds this checkout; cargo installs into the folder (not your
//! `~/.cargo`) and shares the repository's `target/`, so only what changed is built.
//!
//! Two kinds of line are not run as written, each for a stated reason:
//! - `tests/run`: it is what runs this test;
//! - `apt-get install -y PKG...`: installing system packages needs root; the test checks with
//!   `dpkg -s` that each one is installed (tests/run installs them) instead.
//!
//! Python blocks run with the README's own `.venv/bin/python`, R blocks with `Rscript`.

mod common;
use common::*;
use std::path::Path;
use std::process::{Command, Output};

/// The fenced code blocks of README.md with their language, in order.
fn blocks() -> Vec<(String, String)> {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let mut out = Vec::new();
    let mut lines = readme.lines();
    while let Some(line) = lines.next() {
        let Some(lang) = line.strip_prefix("```") else { continue };
        let mut body = String::new();
        for l in lines.by_ref() {
            if l.starts_with("```") {
                break;
            }
            body.push_str(l);
            body.push('\n');
        }
        out.push((lang.trim().to_string(), body));
    }
    out
}

/// A fresh folder that looks like a clone of the repository without `runs/`, `.venv` or
/// `target/`: every other top-level entry is a symbolic link to the repository's. It is made
/// anew, empty, at the same place each time (`target/readme-quickstart/`): cargo names a
/// package's build by its folder, so a new folder each time would rebuild the crate for
/// `cargo install` (50 s of a warm run). Removed when the test passes, kept when it fails.
struct FreshClone(std::path::PathBuf);

impl FreshClone {
    fn new() -> FreshClone {
        let dir = root().join("target/readme-quickstart");
        if dir.exists() {
            std::fs::remove_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        }
        std::fs::create_dir_all(&dir).unwrap();
        for e in std::fs::read_dir(root()).unwrap() {
            let e = e.unwrap();
            let name = e.file_name();
            if [".git", ".venv", "target", "runs"].iter().any(|n| name == *n) {
                continue;
            }
            std::os::unix::fs::symlink(e.path(), dir.join(&name)).unwrap();
        }
        FreshClone(dir)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for FreshClone {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// Runs `cmd` in `dir` with the quickstart's environment: cargo installs into the folder and
/// builds in the repository's target/, and the installed `chokepoint` comes first on PATH.
fn in_clone(dir: &Path, mut cmd: Command) -> Output {
    let bin = dir.join(".cargo-install/bin");
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    cmd.current_dir(dir)
        .env("CARGO_INSTALL_ROOT", dir.join(".cargo-install"))
        .env("CARGO_TARGET_DIR", root().join("target"))
        .env("PATH", path)
        .env_remove("RETICULATE_PYTHON")
        .output()
        .expect("the command starts")
}

/// A shell block with its `tests/run` line dropped and its `apt-get install` lines checked
/// with `dpkg -s` (see the module's comment).
fn shell_script(block: &str) -> String {
    let mut script = String::from("set -euo pipefail\n");
    for line in block.lines() {
        let t = line.trim();
        if t == "tests/run" {
            continue;
        }
        if let Some(pkgs) = t.strip_prefix("apt-get install -y ") {
            for p in pkgs.split_whitespace() {
                script.push_str(&format!(
                    "dpkg -s {p} >/dev/null 2>&1 || {{ echo 'the README installs {p}, which is not installed: run tests/run (it installs R with apt-get)'; exit 1; }}\n"
                ));
            }
            continue;
        }
        script.push_str(line);
        script.push('\n');
    }
    script
}

#[test]
fn the_readme_quickstart_runs_as_written_in_a_fresh_folder() {
    let all = blocks();
    let runnable: Vec<&(String, String)> = all.iter().filter(|(l, _)| ["sh", "python", "r"].contains(&l.as_str())).collect();
    // The quickstart's two commands come first: install-and-run, then every test.
    assert_eq!(
        runnable[0].1.trim(),
        "cargo install --path . && chokepoint run models/baseline.ron",
        "the first command installs and runs the baseline"
    );
    assert_eq!(runnable[1].1.trim(), "tests/run", "the second command runs every test");
    assert!(runnable.iter().any(|(l, _)| l == "r"), "an R block");
    assert!(runnable.iter().filter(|(l, _)| l == "python").count() >= 3, "Python blocks");
    let dir = FreshClone::new();
    let d = dir.path();
    for (k, (lang, body)) in runnable.iter().enumerate() {
        let started = std::time::Instant::now();
        let o = match lang.as_str() {
            "sh" => {
                let mut c = Command::new("bash");
                c.arg("-c").arg(shell_script(body));
                in_clone(d, c)
            }
            "python" => {
                let py = d.join(".venv/bin/python");
                assert!(py.exists(), "block {k}: the README creates .venv before its first Python block");
                let mut c = Command::new(py);
                c.arg("-c").arg(body.as_str());
                in_clone(d, c)
            }
            _ => {
                let script = d.join(format!("block-{k}.R"));
                std::fs::write(&script, body).unwrap();
                let mut c = Command::new("Rscript");
                c.arg(&script);
                in_clone(d, c)
            }
        };
        assert!(
            o.status.success(),
            "README block {k} ({lang}) failed:\n{body}\n--- stdout\n{}\n--- stderr\n{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        // Where the test's time goes (shown with --nocapture, or when it fails).
        eprintln!("README block {k} ({lang}): {:.1} s", started.elapsed().as_secs_f64());
        let out = String::from_utf8_lossy(&o.stdout);
        // What the blocks print is what the README says they print.
        if body.contains("pl.read_ipc(\"runs/baseline/flows.arrow\")") {
            assert!(
                out.contains("2025-03-01") && out.contains("2027-12-01"),
                "monthly exports over three years: {out}"
            );
        }
        if body.contains("chokepoint compare runs/baseline runs/april_2025") {
            assert!(out.contains("vehicle:world"), "the comparison shows world totals: {out}");
        }
        if body.contains("read_run(\"runs/april_2025\"") {
            assert!(
                out.contains("EU") && out.contains("IN") && out.contains("shortfall"),
                "vehicles lost per nation: {out}"
            );
        }
        if body.contains("FROM 'runs/april_2025_parquet/flows.parquet'") {
            assert!(
                out.contains("2025-04-01") && out.contains("tonnes"),
                "monthly tonnes from DuckDB: {out}"
            );
        }
    }
    // What the quickstart made: runs, a plot, a chart from R, the sweep's statistics.
    for run in ["baseline", "april_2025", "april_2025_py", "april_2025_parquet"] {
        let m = std::fs::read_to_string(d.join("runs").join(run).join("manifest.json")).unwrap();
        assert!(m.contains("\"complete\": true"), "{run}");
    }
    let svg = std::fs::read_to_string(d.join("vehicles_short.svg")).unwrap();
    assert!(svg.starts_with("<svg"), "the plot is an SVG");
    let png = std::fs::read(d.join("vehicles_lost.png")).unwrap();
    assert!(png.starts_with(b"\x89PNG") && png.len() > 5000, "R drew a chart");
    let stats = std::fs::read_to_string(d.join("sweep_stats.csv")).unwrap();
    assert!(
        stats.lines().count() > 100 && stats.contains("april_2025"),
        "the sweep's statistics"
    );
    // The installed binary is this checkout's.
    let v = in_clone(d, {
        let mut c = Command::new("chokepoint");
        c.arg("--version");
        c
    });
    assert_eq!(
        String::from_utf8_lossy(&v.stdout).trim(),
        format!("chokepoint {}", env!("CARGO_PKG_VERSION"))
    );
}
