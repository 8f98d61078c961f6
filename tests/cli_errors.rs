//! Bad input gets a clear error naming file:line:col and a non-zero exit; nothing is lost.

mod common;
use common::*;
use std::path::Path;

/// Writes `text` as a model file in `dir` and returns its path.
fn write_model(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// 1-based line and column of the first occurrence of `needle` in `text`.
fn pos(text: &str, needle: &str) -> (usize, usize) {
    let at = text.find(needle).expect("needle present");
    let line = text[..at].matches('\n').count() + 1;
    let col = at - text[..at].rfind('\n').map_or(0, |i| i + 1) + 1;
    (line, col)
}

fn baseline_text() -> String {
    std::fs::read_to_string(root().join("models/baseline.ron")).unwrap()
}

fn stderr_of(args: &[&str]) -> (i32, String) {
    let o = chokepoint(args);
    (o.status.code().unwrap_or(-1), String::from_utf8_lossy(&o.stderr).into_owned())
}

#[test]
fn a_typo_in_a_field_name_names_file_line_column_and_the_expected_fields() {
    let dir = tempfile::tempdir().unwrap();
    let text = baseline_text().replacen("capacity_per_day: 481.1", "capacty_per_day: 481.1", 1);
    let p = write_model(dir.path(), "typo.ron", &text);
    let (code, err) = stderr_of(&["validate", p.to_str().unwrap()]);
    assert_ne!(code, 0);
    let (line, col) = pos(&text, "capacty_per_day");
    assert!(
        err.contains(&format!("typo.ron:{line}:{col}")),
        "expected typo.ron:{line}:{col} in: {err}"
    );
    assert!(err.contains("capacty_per_day") && err.contains("capacity_per_day"), "{err}");
}

#[test]
fn an_unknown_nation_names_its_position_and_the_nearest_valid_id() {
    let dir = tempfile::tempdir().unwrap();
    let needle = "(id: \"us_miner_mountain_pass\", nation: \"US\"";
    let text = baseline_text().replacen(needle, "(id: \"us_miner_mountain_pass\", nation: \"USA\"", 1);
    assert_ne!(text, baseline_text());
    let p = write_model(dir.path(), "nation.ron", &text);
    let (code, err) = stderr_of(&[
        "run",
        p.to_str().unwrap(),
        "--out",
        dir.path().join("out").to_str().unwrap(),
        "--quiet",
    ]);
    assert_ne!(code, 0);
    let (line, col) = pos(&text, "\"USA\"");
    assert!(
        err.contains(&format!("nation.ron:{line}:{col}")),
        "expected nation.ron:{line}:{col} in: {err}"
    );
    assert!(err.contains("unknown nation `USA`; did you mean `US`?"), "{err}");
    assert!(!dir.path().join("out").exists(), "a failed load must not create the run folder");
}

#[test]
fn a_missing_file_is_named() {
    let (code, err) = stderr_of(&["validate", "models/no_such_model.ron"]);
    assert_ne!(code, 0);
    assert!(err.contains("models/no_such_model.ron: no such model file"), "{err}");
}

#[test]
fn semantic_errors_are_specific() {
    let dir = tempfile::tempdir().unwrap();
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "negative capacity",
            baseline_text().replacen("capacity_per_day: 481.1", "capacity_per_day: -1.0", 1),
            "capacity_per_day must be a non-negative number, found -1",
        ),
        (
            "input nobody makes",
            baseline_text().replacen("{\"re_concentrate\": 4.0}", "{\"xenotime\": 4.0}", 1),
            "unknown commodity `xenotime`",
        ),
        (
            "unknown supplier firm",
            baseline_text().replacen("firm: \"au_miner_mt_weld\"", "firm: \"au_miner_mt_weldd\"", 1),
            "unknown firm `au_miner_mt_weldd`; did you mean `au_miner_mt_weld`?",
        ),
        (
            "missing route",
            baseline_text().replacen("(from: \"AU\", to: \"MY\", days: 14, jitter_days: 3),", "", 1),
            "there is no route AU -> MY",
        ),
        (
            "cycle",
            baseline_text().replacen(
                "recipe: {\"re_concentrate\": 4.0},   // 45%",
                "recipe: {\"re_concentrate\": 4.0, \"ndfeb_magnet\": 0.1},   // 45%",
                1,
            ),
            "the commodity graph has a cycle",
        ),
    ];
    for (what, text, expected) in cases {
        assert_ne!(text, baseline_text(), "{what}: the edit must apply");
        let p = write_model(dir.path(), "bad.ron", &text);
        let (code, err) = stderr_of(&["validate", p.to_str().unwrap()]);
        assert_ne!(code, 0, "{what}");
        assert!(err.contains(expected), "{what}: expected `{expected}` in: {err}");
        assert!(err.contains("bad.ron:"), "{what}: the file is named: {err}");
    }
}

#[test]
fn an_existing_run_folder_is_kept_without_force_and_replaced_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let model = root().join("models/baseline.ron");
    run_model(&model, &out, &["--until", "2025-01-10"]);
    let before = std::fs::read(out.join("firms.arrow")).unwrap();
    let (code, err) = stderr_of(&[
        "run",
        model.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--until",
        "2025-01-20",
        "--quiet",
    ]);
    assert_ne!(code, 0);
    assert!(err.contains("already exists; use --force"), "{err}");
    assert_eq!(std::fs::read(out.join("firms.arrow")).unwrap(), before, "nothing was overwritten");
    run_model(&model, &out, &["--until", "2025-01-20", "--force"]);
    let manifest: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["ticks"], 20);
    assert_eq!(manifest["complete"], true);

    // A folder that is not a run folder is never replaced, even with --force.
    let precious = dir.path().join("precious");
    std::fs::create_dir(&precious).unwrap();
    std::fs::write(precious.join("thesis.tex"), "do not delete").unwrap();
    let (code, err) = stderr_of(&[
        "run",
        model.to_str().unwrap(),
        "--out",
        precious.to_str().unwrap(),
        "--force",
        "--quiet",
    ]);
    assert_ne!(code, 0);
    assert!(err.contains("is not a run folder"), "{err}");
    assert!(precious.join("thesis.tex").exists());
}

#[test]
fn set_overrides_reach_fields_and_bad_paths_are_explained() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let model = root().join("models/baseline.ron");
    run_model(
        &model,
        &out,
        &[
            "--until",
            "2025-01-05",
            "--set",
            "firms.us_auto_tesla.capacity_per_day=1000",
            "--seed",
            "7",
        ],
    );
    let resolved = std::fs::read_to_string(out.join("model.ron")).unwrap();
    assert!(resolved.contains("capacity_per_day: 1000.0"), "resolved model shows the override");
    assert!(resolved.contains("seed: 7"));
    assert!(resolved.contains("end: \"2025-01-05\""));
    let firms = read_table(&out.join("firms.arrow"));
    let ids = strs(&firms, "firm");
    let cap = f64s(&firms, "capacity");
    let k = ids.iter().position(|f| f == "us_auto_tesla").unwrap();
    assert_eq!(cap[k], 1000.0);

    let (code, err) = stderr_of(&["validate", "models/baseline.ron", "--set", "firms.no_such_firm.capacity_per_day=1"]);
    assert_ne!(code, 0);
    assert!(err.contains("no element with id `no_such_firm`"), "{err}");
    let (code, err) = stderr_of(&[
        "validate",
        "models/baseline.ron",
        "--set",
        "firms.us_auto_tesla.capacity_per_day=-5",
    ]);
    assert_ne!(code, 0);
    assert!(err.contains("capacity_per_day must be a non-negative number"), "{err}");
}

#[test]
fn validate_and_schema_describe_the_world_and_the_tables() {
    let o = chokepoint(&["validate", "models/baseline.ron"]);
    assert!(o.status.success());
    let s = String::from_utf8_lossy(&o.stdout);
    assert!(s.contains("50 firms"), "{s}");
    assert!(s.contains("ndfeb_magnet"));
    let o = chokepoint(&["schema"]);
    let s = String::from_utf8_lossy(&o.stdout);
    for t in ["firms.arrow", "nations.arrow", "flows.arrow", "prices.arrow"] {
        assert!(s.contains(t), "{t} in schema");
    }
    assert!(s.contains("shortfall") && s.contains("USD per commodity unit"));
}
