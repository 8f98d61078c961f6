//! A run's tables open with the real Python readers (pyarrow, polars) with the documented
//! types. The readers must be installed (tests/run does it); a missing reader fails the test.

mod common;
use common::*;
use std::path::PathBuf;
use std::process::Command;

/// The Python that has pyarrow and polars: $CHOKEPOINT_PYTHON, else the project's .venv.
fn python() -> PathBuf {
    if let Ok(p) = std::env::var("CHOKEPOINT_PYTHON") {
        return PathBuf::from(p);
    }
    let venv = root().join(".venv/bin/python");
    assert!(
        venv.exists(),
        "no Python with the readers: run tests/run (it creates .venv with pyarrow and polars) or set CHOKEPOINT_PYTHON"
    );
    venv
}

#[test]
fn every_table_opens_in_pyarrow_and_polars_with_the_documented_types() {
    let dir = tempfile::tempdir().unwrap();
    let schema = chokepoint(&["schema", "--json"]);
    assert!(schema.status.success());
    let schema_path = dir.path().join("schema.json");
    std::fs::write(&schema_path, &schema.stdout).unwrap();
    // The baseline (no licences, no events) and a policy run (both).
    for (model, until) in [("baseline", "2025-06-30"), ("april_2025", "2025-09-30")] {
        let out = dir.path().join(model);
        run_model(&root().join(format!("models/{model}.ron")), &out, &["--until", until]);
        let o = Command::new(python())
            .arg(root().join("tests/readers.py"))
            .arg(&out)
            .arg(&schema_path)
            .output()
            .expect("python runs");
        assert!(
            o.status.success(),
            "readers.py failed on {model}:\n{}\n{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        let s = String::from_utf8_lossy(&o.stdout);
        assert!(s.starts_with("ok: 7 tables"), "{s}");
    }
    let licences = read_table(&dir.path().join("april_2025/licenses.arrow"));
    assert!(
        licences.iter().map(|b| b.num_rows()).sum::<usize>() > 100,
        "the policy run has licence applications"
    );
}

/// The Python code blocks of README.md, as a user would paste them.
fn readme_python_blocks() -> Vec<String> {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let mut blocks = Vec::new();
    let mut rest = readme.as_str();
    while let Some(i) = rest.find("```python\n") {
        let body = &rest[i + 10..];
        let end = body.find("```").expect("closed block");
        blocks.push(body[..end].to_string());
        rest = &body[end + 3..];
    }
    blocks
}

#[test]
fn the_readme_python_snippet_runs_on_a_real_run() {
    let blocks = readme_python_blocks();
    assert!(!blocks.is_empty(), "README.md has a Python snippet");
    let dir = tempfile::tempdir().unwrap();
    run_model(
        &root().join("models/baseline.ron"),
        &dir.path().join("runs/baseline"),
        &["--until", "2025-03-31"],
    );
    for b in blocks {
        let o = Command::new(python())
            .arg("-c")
            .arg(&b)
            .current_dir(dir.path())
            .output()
            .expect("python runs");
        assert!(
            o.status.success(),
            "README snippet failed:\n{b}\n{}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(
            String::from_utf8_lossy(&o.stdout).contains("2025-03-01"),
            "the snippet prints monthly exports"
        );
    }
}
