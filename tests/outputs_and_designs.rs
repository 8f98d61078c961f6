//! Outputs every tool reads and experiment designs beyond a grid (issue 12): compressed Arrow
//! and Parquet tables with the same contents, DuckDB on a Parquet table with no extension,
//! `export` to CSV, a sweep over a points file, and the command line's suggestions and warnings.

mod common;
use common::*;
use std::process::Command;

/// Python that reads tables and compares them by value: ids decoded, since a Parquet reader
/// rebuilds each dictionary from the values it stored.
const VALUES: &str = "
import sys, pyarrow as pa, pyarrow.feather as feather, pyarrow.parquet as pq
def values(t):
    cols = [c.cast(c.type.value_type) if pa.types.is_dictionary(c.type) else c for c in t.columns]
    return pa.table(cols, names=t.column_names)
";

/// Runs the venv's Python on `code` with `args`; panics with its output unless it succeeds.
fn py(code: &str, args: &[&str]) -> String {
    let o = Command::new(python()).arg("-c").arg(code).args(args).output().expect("python runs");
    assert!(
        o.status.success(),
        "python failed:\n{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn every_format_and_compression_holds_the_same_tables_and_duckdb_reads_parquet_without_extensions() {
    let dir = tempfile::tempdir().unwrap();
    let model = root().join("models/april_2025.ron");
    let mut sizes = Vec::new();
    for (format, compression) in [("arrow", "none"), ("arrow", "zstd"), ("arrow", "lz4"), ("parquet", "zstd")] {
        let out = dir.path().join(format!("{format}-{compression}"));
        run_model(
            &model,
            &out,
            &["--until", "2025-08-31", "--format", format, "--compression", compression],
        );
        let manifest: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("manifest.json")).unwrap()).unwrap();
        assert_eq!(manifest["format"], format);
        assert_eq!(manifest["compression"], compression);
        let bytes: u64 = std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().metadata().unwrap().len()).sum();
        sizes.push((format, compression, bytes));
    }
    // Compression pays: zstd at least halves the uncompressed Arrow files of this run.
    assert!(sizes[1].2 * 2 < sizes[0].2, "{sizes:?}");
    // Every table, in every form, holds the same rows and values (pyarrow reads all four).
    let check = VALUES.to_string()
        + r#"
base, others = sys.argv[1], sys.argv[2:]
tables = ["firms", "groups", "nations", "flows", "prices", "lines", "licenses", "events"]
for t in tables:
    ref = feather.read_table(f"{base}/{t}.arrow")
    for o in others:
        p = f"{o}/{t}.parquet" if "parquet" in o else f"{o}/{t}.arrow"
        got = pq.read_table(p) if p.endswith(".parquet") else feather.read_table(p)
        assert got.schema.equals(ref.schema, check_metadata=True), (p, got.schema, ref.schema)
        assert values(got).equals(values(ref)), p
print("same")
"#;
    let check = check.as_str();
    let d = |n: &str| dir.path().join(n).to_string_lossy().into_owned();
    let out = py(check, &[&d("arrow-none"), &d("arrow-zstd"), &d("arrow-lz4"), &d("parquet-zstd")]);
    assert_eq!(out.trim(), "same");
    // DuckDB reads the Parquet table as a file, with dates as dates and ids as text.
    let query = r#"
import sys, duckdb
con = duckdb.connect()
# No extension may be loaded or installed for this.
con.execute("SET autoinstall_known_extensions=false; SET autoload_known_extensions=false")
rows = con.execute(f"SELECT typeof(date), typeof(exporter), sum(quantity) FROM '{sys.argv[1]}/flows.parquet' WHERE exporter = 'CN' AND commodity = 'ndfeb_magnet' AND date >= DATE '2025-05-01' AND date < DATE '2025-06-01' GROUP BY ALL").fetchall()
print(rows)
"#;
    let out = py(query, &[&d("parquet-zstd")]);
    assert!(out.starts_with("[('DATE', 'VARCHAR', "), "{out}");
    // May's magnet exports from China, through DuckDB, equal those from the Arrow table.
    let duck: f64 = out.trim().trim_end_matches(")]").rsplit(", ").next().unwrap().parse().unwrap();
    let flows = read_table(&dir.path().join("arrow-zstd/flows.arrow"));
    let (ex, com, date, q) = (
        strs(&flows, "exporter"),
        strs(&flows, "commodity"),
        i32s(&flows, "date"),
        f64s(&flows, "quantity"),
    );
    let mine: f64 = (0..q.len())
        .filter(|&k| ex[k] == "CN" && com[k] == "ndfeb_magnet" && year_month(date[k]) == (2025, 5))
        .map(|k| q[k])
        .sum();
    assert!(mine > 0.0 && (duck - mine).abs() <= 1e-9 * mine, "duckdb {duck}, arrow {mine}");
    // compare reads Parquet runs as it reads Arrow runs.
    let a = chokepoint(&["compare", &d("arrow-none"), &d("parquet-zstd"), "--format", "json"]);
    assert!(a.status.success(), "{}", String::from_utf8_lossy(&a.stderr));
    let v: serde_json::Value = serde_json::from_slice(&a.stdout).unwrap();
    assert_eq!(v["runs"][0]["downstream"], v["runs"][1]["downstream"]);
}

#[test]
fn export_writes_a_table_as_csv_and_parquet_and_never_overwrites_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    run_model(&root().join("models/baseline.ron"), &run, &["--until", "2025-01-31"]);
    let csv = dir.path().join("flows.csv");
    let o = chokepoint(&["export", run.to_str().unwrap(), "--table", "flows", "--out", csv.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = std::fs::read_to_string(&csv).unwrap();
    let flows = read_table(&run.join("flows.arrow"));
    let rows: usize = flows.iter().map(|b| b.num_rows()).sum();
    assert_eq!(text.lines().count(), rows + 1, "a header and one line per row");
    assert!(
        text.starts_with("tick,date,exporter,importer,commodity,quantity,value,tariff\n"),
        "{}",
        &text[..80]
    );
    assert!(text.lines().nth(1).unwrap().starts_with("0,2025-01-01,"), "dates as YYYY-MM-DD");
    // Quantities read back to the same float64 values.
    let q = f64s(&flows, "quantity");
    let back: Vec<f64> = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(5).unwrap().parse().unwrap())
        .collect();
    assert_eq!(back, q);
    // Again without --force: refused, the file untouched.
    std::fs::write(&csv, "mine").unwrap();
    let o = chokepoint(&["export", run.to_str().unwrap(), "--table", "flows", "--out", csv.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&o.stderr).contains("use --force"));
    assert_eq!(std::fs::read_to_string(&csv).unwrap(), "mine");
    // Parquet, chosen by the file's extension, reads back equal in pyarrow.
    let pq = dir.path().join("flows.parquet");
    let o = chokepoint(&["export", run.to_str().unwrap(), "--table", "flows", "--out", pq.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let same = VALUES.to_string() + "print(values(pq.read_table(sys.argv[1])).equals(values(feather.read_table(sys.argv[2]))))";
    let same = same.as_str();
    assert_eq!(
        py(same, &[pq.to_str().unwrap(), run.join("flows.arrow").to_str().unwrap()]).trim(),
        "True"
    );
    // An unknown table names the tables there are.
    let o = chokepoint(&["export", run.to_str().unwrap(), "--table", "flowz"]);
    assert_eq!(o.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&o.stderr).contains("expected one of firms, groups"));
}

#[test]
fn a_sweep_over_a_20_row_points_file_runs_once_per_row_with_typed_values() {
    let dir = tempfile::tempdir().unwrap();
    let approval = "policies.controls.cn_2025_04_rare_earths.approval.civil";
    let cover = "buying.precaution_cover";
    // A design as SALib or a Latin hypercube writes it: one row per point.
    let mut csv = format!("{approval},{cover}\n");
    for k in 0..20 {
        csv.push_str(&format!("{},{}\n", 0.05 + 0.045 * k as f64, [0.0, 0.5][k % 2]));
    }
    let points = dir.path().join("points.csv");
    std::fs::write(&points, csv).unwrap();
    let out = dir.path().join("sweep");
    let model = root().join("models/april_2025.ron");
    // The sweep, once plainly and once more with `--resume`.
    let sweep = |extra: &[&str]| {
        let args = [
            &["sweep", model.to_str().unwrap(), "--points", points.to_str().unwrap()][..],
            &[
                "--until",
                "2025-07-31",
                "--keep",
                "flows",
                "--out",
                out.to_str().unwrap(),
                "--quiet",
            ],
            extra,
        ]
        .concat();
        chokepoint(&args)
    };
    let o = sweep(&[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let code = r#"
import sys, json, pyarrow.feather as feather, pyarrow.dataset as ds, pyarrow as pa
d = sys.argv[1]
s = feather.read_table(f"{d}/summary.arrow")
assert s.num_rows == 20, s.num_rows
a, c = "policies_controls_cn_2025_04_rare_earths_approval_civil", "buying_precaution_cover"
assert s.schema.field(a).type == pa.float64() and s.schema.field(c).type == pa.float64(), s.schema
assert s.schema.field("point").type == pa.int64()
rows = s.to_pylist()
assert [r["point"] for r in rows] == list(range(20))
assert all(r["seed"] == 1 for r in rows)
assert all(abs(r[a] - (0.05 + 0.045 * r["point"])) < 1e-12 for r in rows), [r[a] for r in rows]
# Each run ran its row's values (its model.ron says so), until the date asked for.
for r in rows:
    m = open(f"{d}/{r['run']}/model.ron").read()
    assert "2025-07-31" in m
# --keep flows: only flows stays, and it opens as one dataset with the point columns.
flows = ds.dataset(f"{d}/tables/flows", format="ipc", partitioning="hive").to_table()
assert set(flows["point"].to_pylist()) == set(range(20))
import glob
assert not glob.glob(f"{d}/**/firms.arrow", recursive=True)
# Lower approval, more vehicles short: the design's answer has the right sign.
lo = [r["short__vehicle__world"] for r in rows if r[a] < 0.3]
hi = [r["short__vehicle__world"] for r in rows if r[a] > 0.7]
assert sum(lo) / len(lo) > sum(hi) / len(hi), (lo, hi)
print(json.dumps(json.load(open(f"{d}/sweep.json"))["points"]))
"#;
    let plan = py(code, &[out.to_str().unwrap()]);
    assert!(plan.contains("\"rows\": 20"), "{plan}");
    // `compare` groups the runs by point; its table is one block per point, aligned columns
    // no wider than a terminal.
    let o = chokepoint(&["compare", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let table = String::from_utf8_lossy(&o.stdout);
    assert_eq!(table.matches(" (1 runs)\n").count(), 20, "a block per point");
    let rows: Vec<&str> = table.lines().filter(|l| l.starts_with(' ')).collect();
    assert!(rows.iter().all(|l| l.trim_end().chars().count() <= 120), "{table}");
    let mean_at = rows[0].find("mean").unwrap() + 4;
    assert!(
        rows.iter()
            .skip(1)
            .take(10)
            .all(|l| l[..mean_at].ends_with(|c: char| c.is_ascii_digit() || c == '-')),
        "the means are right-aligned under their heading:\n{table}"
    );
    // --resume redoes nothing and needs no dropped table: the same summary, byte for byte.
    let before = std::fs::read(out.join("summary.arrow")).unwrap();
    let o = sweep(&["--resume"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(std::fs::read(out.join("summary.arrow")).unwrap(), before);
}

#[test]
fn seeds_take_counts_ranges_and_lists() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("s");
    let o = chokepoint(&[
        "sweep",
        root().join("models/baseline.ron").to_str().unwrap(),
        "--seeds",
        "3..4,9",
        "--set",
        "calendar.end=2025-01-20",
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut seeds: Vec<String> = std::fs::read_dir(out.join("scenario=baseline"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    seeds.sort();
    assert_eq!(seeds, ["seed=3", "seed=4", "seed=9"]);
    let o = chokepoint(&["sweep", "m.ron", "--seeds", "5,5"]);
    assert_eq!(o.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&o.stderr).contains("a seed appears twice"));
}

#[test]
fn the_command_line_suggests_names_and_warns_about_likely_typos() {
    let base = root().join("models/baseline.ron");
    let base = base.to_str().unwrap();
    let o = chokepoint(&["validate", base, "--set", "firms.us_auto_tesl.target_cover_days=45"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("did you mean `us_auto_tesla`?"));
    let o = chokepoint(&["validate", base, "--set", "planing.final_demand_noise=0"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("did you mean `planning`?"));
    // A misspelt role is data, so it runs, but validate says what it looks like.
    let o = chokepoint(&["validate", base, "--set", "firms.us_auto_tesla.role=automakr"]);
    assert!(o.status.success());
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("role `automakr` (1 firm(s): us_auto_tesla) looks like a typo of `automaker`"),
        "{text}"
    );
    // validate on a scenario lists its policies.
    let o = chokepoint(&["validate", root().join("models/october_2025.ron").to_str().unwrap()]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("policies: 1 export control(s)"), "{text}");
    assert!(
        text.contains("  event 2025-04-04 CN: Activate(\"cn_2025_04_rare_earths\")"),
        "{text}"
    );
    assert!(text.contains("  rule cn_eases_for_eu (CN): when OutputLostAbove("), "{text}");
}

#[test]
fn compare_quotes_its_csv_refuses_a_baseline_for_run_folders_and_warns_about_different_worlds() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("base,line");
    let b = dir.path().join("jp");
    run_model(&root().join("models/baseline.ron"), &a, &["--until", "2025-02-28"]);
    run_model(&root().join("models/japan_2010_base.ron"), &b, &["--until", "2009-02-28"]);
    let o = chokepoint(&["compare", a.to_str().unwrap(), b.to_str().unwrap(), "--format", "csv"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let csv = String::from_utf8_lossy(&o.stdout);
    assert!(csv.lines().nth(1).unwrap().contains(",\"base,line\","), "{csv}");
    let warn = String::from_utf8_lossy(&o.stderr);
    assert!(warn.contains("covers 2009-01-01 to 2009-02-28"), "{warn}");
    assert!(warn.contains("simulate different worlds"), "{warn}");
    let o = chokepoint(&["compare", a.to_str().unwrap(), b.to_str().unwrap(), "--baseline", "base"]);
    assert_eq!(o.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&o.stderr).contains("with run folders the first one given is the baseline"));
}
