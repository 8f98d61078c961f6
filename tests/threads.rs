//! Every table is byte-identical whatever the thread count, for the runs where the parallel
//! passes have the most to split: the policy models (licensing, customs inspection and its
//! draws, supplier search) and a generated world of 5,000 firms (issue 11: buyers order,
//! search, receive goods and plan shipments on every core, cut at firms' or suppliers'
//! boundaries). `tests/baseline.rs` checks the baseline the same way.

mod common;
use common::*;
use std::path::Path;

/// Runs `model` at 1 and 2 threads (with `extra`) and asserts every table is the same bytes.
fn same_at_one_and_two_threads(model: &str, extra: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    for t in ["1", "2"] {
        let mut args = vec!["--threads", t];
        args.extend_from_slice(extra);
        run_model(&root().join(model), &dir.path().join(t), &args);
    }
    let mut tables: Vec<String> = std::fs::read_dir(dir.path().join("1"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".arrow"))
        .collect();
    tables.sort();
    assert!(tables.len() >= 7, "{model}: tables {tables:?}");
    for table in &tables {
        let read = |t: &str| std::fs::read(dir.path().join(t).join(table)).unwrap();
        assert!(read("1") == read("2"), "{model}: {table} differs between --threads 1 and 2");
    }
    assert!(Path::new(&dir.path().join("1/firms.arrow")).exists());
}

#[test]
fn policy_runs_are_identical_at_one_and_two_threads() {
    same_at_one_and_two_threads("models/april_2025.ron", &["--until", "2025-09-30"]);
    same_at_one_and_two_threads("models/gallium_2023.ron", &["--until", "2024-03-31"]);
}

#[test]
fn a_generated_world_is_identical_at_one_and_two_threads() {
    same_at_one_and_two_threads("models/synthetic/baseline_5k.ron", &["--until", "2025-03-15"]);
}
