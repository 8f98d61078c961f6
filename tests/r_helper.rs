//! R/chokepoint.R reads real runs, a Parquet copy of one, a sweep's tables and its summary into R
//! data frames with the documented types (tests/r_helper.R asserts them). Rscript, reticulate and
//! the venv's pyarrow must be installed (tests/run does it); a missing one fails the test.

mod common;
use common::*;
use std::path::Path;
use std::process::Command;

/// Fails, saying what to install, unless Rscript with reticulate and the venv's pyarrow are there.
fn require_r_and_pyarrow() {
    let r = Command::new("Rscript").args(["-e", "library(reticulate)"]).output();
    let r = r.unwrap_or_else(|e| {
        panic!("no Rscript ({e}): install R and reticulate (apt-get install r-base-core r-cran-reticulate), or run tests/run")
    });
    assert!(
        r.status.success(),
        "R has no reticulate: apt-get install r-cran-reticulate (tests/run does it)\n{}",
        String::from_utf8_lossy(&r.stderr)
    );
    require_python_modules(
        &["pyarrow", "numpy"],
        ".venv/bin/pip install -r tests/requirements.txt (tests/run does it)",
    );
}

/// Copies the files of a run folder (it has no subfolders).
fn copy_run(from: &Path, to: &Path) {
    std::fs::create_dir(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

/// Runs `code` with the venv's Python in `dir`.
fn run_python(code: &str, dir: &Path) {
    let o = Command::new(python())
        .args(["-c", code])
        .current_dir(dir)
        .output()
        .expect("python runs");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn the_r_helper_reads_runs_sweeps_and_summaries_into_data_frames() {
    require_r_and_pyarrow();
    let dir = tempfile::tempdir().unwrap();
    let schema = chokepoint(&["schema", "--json"]);
    assert!(schema.status.success());
    let schema_path = dir.path().join("schema.json");
    std::fs::write(&schema_path, &schema.stdout).unwrap();

    // The baseline (no licences, no events) and the April controls (both, some pending).
    let base = dir.path().join("baseline");
    run_model(&root().join("models/baseline.ron"), &base, &["--until", "2025-02-28"]);
    let april = dir.path().join("april_2025");
    run_model(&root().join("models/april_2025.ron"), &april, &["--until", "2025-06-30"]);

    // A copy of April with firms as Parquet and nations as lz4-compressed Arrow IPC.
    let copy = dir.path().join("april_copy");
    copy_run(&april, &copy);
    run_python(
        "import os, pyarrow.feather as f, pyarrow.parquet as pq\n\
         pq.write_table(f.read_table('firms.arrow'), 'firms.parquet', compression='zstd')\n\
         os.remove('firms.arrow')\n\
         f.write_feather(f.read_table('nations.arrow'), 'nations.arrow', compression='lz4')\n",
        &copy,
    );
    // A run that did not finish: its manifest does not say complete.
    let partial = dir.path().join("partial");
    copy_run(&base, &partial);
    let manifest = std::fs::read_to_string(partial.join("manifest.json")).unwrap();
    assert!(manifest.contains("\"complete\": true"), "{manifest}");
    std::fs::write(
        partial.join("manifest.json"),
        manifest.replace("\"complete\": true", "\"complete\": false"),
    )
    .unwrap();

    // 2 models x 2 seeds, the policy at two approval rates (the baseline has none): 6 runs of
    // two months each.
    let sweep = dir.path().join("sweep");
    let o = chokepoint(&[
        "sweep",
        "models/baseline.ron",
        "models/april_2025.ron",
        "--seeds",
        "2",
        "--grid",
        "calendar.end=2025-02-28",
        "--grid",
        "policies.controls.cn_2025_04_rare_earths.approval.civil=0.25,0.6",
        "--out",
        sweep.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    let o = Command::new("Rscript")
        .arg(root().join("tests/r_helper.R"))
        .arg(root())
        .args([&schema_path, &base, &april, &copy, &partial, &sweep])
        .env("RETICULATE_PYTHON", python())
        .current_dir(dir.path())
        .output()
        .expect("Rscript runs");
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "tests/r_helper.R failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(stdout.contains("ok: "), "{stdout}");
}
