//! A run's tables open with the real Python readers (pyarrow, polars) with the documented
//! types. The readers must be installed (tests/run does it); a missing reader fails the test.

mod common;
use common::*;
use std::process::Command;

#[test]
fn every_table_opens_in_pyarrow_and_polars_with_the_documented_types() {
    let dir = tempfile::tempdir().unwrap();
    let schema = chokepoint(&["schema", "--json"]);
    assert!(schema.status.success());
    let schema_path = dir.path().join("schema.json");
    std::fs::write(&schema_path, &schema.stdout).unwrap();
    // The baseline (no licences, no events), a policy run (both), and the baseline with
    // thinned firm rows (a sample) and none.
    for (model, until, level) in [
        ("baseline", "2025-06-30", "all"),
        ("april_2025", "2025-09-30", "all"),
        ("baseline", "2025-03-31", "sample:0.2"),
        ("baseline", "2025-03-31", "none"),
    ] {
        let out = dir.path().join(format!("{model}-{level}"));
        run_model(
            &root().join(format!("models/{model}.ron")),
            &out,
            &["--until", until, "--firm-rows", level],
        );
        let o = Command::new(python())
            .arg(root().join("tests/readers.py"))
            .arg(&out)
            .arg(&schema_path)
            .output()
            .expect("python runs");
        assert!(
            o.status.success(),
            "readers.py failed on {model} at {level}:\n{}\n{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        let s = String::from_utf8_lossy(&o.stdout);
        assert!(s.starts_with("ok: 8 tables"), "{s}");
    }
    let licences = read_table(&dir.path().join("april_2025-all/licenses.arrow"));
    assert!(
        licences.iter().map(|b| b.num_rows()).sum::<usize>() > 100,
        "the policy run has licence applications"
    );
}
