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

/// The code blocks of README.md in `lang`, as a user would paste them.
fn readme_blocks(lang: &str) -> Vec<String> {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let fence = format!("```{lang}\n");
    let mut blocks = Vec::new();
    let mut rest = readme.as_str();
    while let Some(i) = rest.find(&fence) {
        let body = &rest[i + fence.len()..];
        let end = body.find("```").expect("closed block");
        blocks.push(body[..end].to_string());
        rest = &body[end + 3..];
    }
    blocks
}

/// A folder laid out as the README assumes: runs/baseline, runs/april_2025, runs/sweep.
fn readme_world() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    run_model(
        &root().join("models/baseline.ron"),
        &runs.join("baseline"),
        &["--until", "2025-03-31"],
    );
    run_model(
        &root().join("models/april_2025.ron"),
        &runs.join("april_2025"),
        &["--until", "2025-09-30"],
    );
    let sweep = runs.join("sweep");
    let o = chokepoint(&[
        "sweep",
        "models/baseline.ron",
        "--seeds",
        "2",
        "--grid",
        "calendar.end=2025-02-28",
        "--out",
        sweep.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    dir
}

#[test]
fn the_readme_python_snippets_run_on_real_runs() {
    let blocks = readme_blocks("python");
    assert!(blocks.len() >= 2, "README.md has Python snippets for a run and a sweep");
    let dir = readme_world();
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
        let out = String::from_utf8_lossy(&o.stdout);
        if b.contains("flows.arrow") {
            assert!(out.contains("2025-03-01"), "the snippet prints monthly exports: {out}");
        }
        if b.contains("runs/sweep") {
            assert!(
                out.contains("baseline") && out.contains("shortfall_sum"),
                "the snippet prints per-run totals: {out}"
            );
        }
    }
}

#[test]
fn the_readme_r_snippet_loads_a_run_into_a_data_frame_and_draws_vehicles_lost() {
    let blocks = readme_blocks("r");
    assert_eq!(blocks.len(), 1, "README.md has one R snippet");
    let dir = readme_world();
    let script = dir.path().join("snippet.R");
    // After the snippet, check what it made: a data frame with every automaker nation.
    // And groups.arrow, read the same way, gives the same vehicles lost per nation.
    let check = "\nstopifnot(is.data.frame(cars), nrow(cars) > 0, all(c(\"EU\", \"IN\", \"US\") %in% lost$nation), sum(lost$shortfall) > 0)\n\
        groups <- import(\"pyarrow.feather\")$read_table(\"runs/april_2025/groups.arrow\", columns = list(\"nation\", \"role\", \"firms_stalled\", \"shortfall\"))\n\
        g <- subset(as.data.frame(groups$to_pydict()), role == \"automaker\")\n\
        glost <- aggregate(shortfall ~ nation, data = g, FUN = sum)\n\
        stopifnot(identical(glost$nation, lost$nation), all(abs(glost$shortfall - lost$shortfall) <= 1e-6 * pmax(1, lost$shortfall)), sum(g$firms_stalled) > 0)\n\
        cat(sprintf(\"ok: %d rows, %d nations\\n\", nrow(cars), nrow(lost)))\n";
    std::fs::write(&script, format!("{}{check}", blocks[0])).unwrap();
    let o = Command::new("Rscript")
        .arg(&script)
        .env("RETICULATE_PYTHON", python())
        .current_dir(dir.path())
        .output()
        .expect("Rscript runs (tests/run installs r-base-core, r-cran-reticulate, r-cran-ggplot2)");
    assert!(
        o.status.success(),
        "R snippet failed:\n{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("ok: "),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    let png = std::fs::read(dir.path().join("vehicles_lost.png")).expect("the chart was saved");
    assert!(png.len() > 5000 && png.starts_with(b"\x89PNG"), "a real PNG ({} bytes)", png.len());
}
