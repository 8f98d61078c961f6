//! Output levels (`output.firm_rows`, `--firm-rows`): each level writes the per-firm rows it
//! promises, `groups.arrow` sums the firms exactly at every level, the simulation does not
//! notice the level, and `compare`, `plot` and sweep summaries give a thinned run the full
//! run's figures.

mod common;
use chokepoint::analysis::compare::{controlled_goods, indicators};
use chokepoint::analysis::plot::{By, series};
use chokepoint::model::output::sampled;
use chokepoint::output::read::RunFolder;
use common::*;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// An int64 column of every batch.
fn i64s(batches: &[arrow_array::RecordBatch], name: &str) -> Vec<i64> {
    batches
        .iter()
        .flat_map(|b| {
            let a = b.column_by_name(name).unwrap_or_else(|| panic!("column {name}"));
            let a = a.as_any().downcast_ref::<arrow_array::Int64Array>().expect("int64");
            a.values().to_vec()
        })
        .collect()
}

fn manifest(dir: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

#[test]
fn each_level_writes_the_firm_rows_it_promises_and_the_same_groups() {
    let dir = tempfile::tempdir().unwrap();
    let model = root().join("models/baseline.ron");
    let until = "2025-02-28"; // 59 daily ticks
    let levels = ["all", "every:7", "sample:0.3", "none"];
    for l in levels {
        run_model(&model, &dir.path().join(l), &["--until", until, "--firm-rows", l]);
    }
    let (m, _) = chokepoint::model::load::load(&model).unwrap();
    let ids: Vec<&str> = m.firms.iter().map(|f| f.id.as_str()).collect();
    let ticks = 59;
    let run = |l: &str| dir.path().join(l);
    let firms = |l: &str| read_table(&run(l).join("firms.arrow"));

    // all: every firm, every tick.
    let all = firms("all");
    assert_eq!(strs(&all, "firm").len(), ids.len() * ticks);

    // every:7: every firm on ticks 0, 7, ..., 56 and on no other.
    let every = firms("every:7");
    let ticks_seen: BTreeSet<i32> = i32s(&every, "tick").into_iter().collect();
    assert_eq!(ticks_seen, (0..59).step_by(7).collect());
    assert_eq!(strs(&every, "firm").len(), ids.len() * ticks_seen.len());
    let lines_every: BTreeSet<i32> = i32s(&read_table(&run("every:7").join("lines.arrow")), "tick").into_iter().collect();
    assert_eq!(lines_every, ticks_seen, "product lines are thinned with their firms");

    // sample:0.3: the firms whose ids hash into the sample, every tick, and no others.
    let sample = firms("sample:0.3");
    let want: BTreeSet<&str> = ids.iter().copied().filter(|id| sampled(id, 0.3)).collect();
    assert!(!want.is_empty() && want.len() < ids.len(), "the baseline's sample is a real subset");
    let got: BTreeSet<String> = strs(&sample, "firm").into_iter().collect();
    assert_eq!(got, want.iter().map(|s| s.to_string()).collect());
    assert_eq!(strs(&sample, "firm").len(), want.len() * ticks);
    // Its rows are the full run's rows of those firms.
    let pick = |b: &[arrow_array::RecordBatch], col: &str| -> Vec<f64> {
        let f = strs(b, "firm");
        f64s(b, col)
            .into_iter()
            .zip(f)
            .filter(|(_, f)| want.contains(f.as_str()))
            .map(|(v, _)| v)
            .collect()
    };
    for col in ["produced", "shortfall", "inventory"] {
        assert_eq!(pick(&all, col), f64s(&sample, col), "{col}");
    }

    // none: no per-firm rows at all.
    assert_eq!(strs(&firms("none"), "firm").len(), 0);
    assert_eq!(strs(&read_table(&run("none").join("lines.arrow")), "firm").len(), 0);

    for l in levels {
        let mf = manifest(&run(l));
        assert_eq!(mf["firm_rows"], l);
        assert_eq!(mf["rows"]["firms"], strs(&firms(l), "firm").len() as u64, "{l}");
        // The simulation does not see the level: the same nations, prices and groups, byte for byte.
        for t in ["nations.arrow", "prices.arrow", "flows.arrow", "groups.arrow"] {
            assert_eq!(
                std::fs::read(run("all").join(t)).unwrap(),
                std::fs::read(run(l).join(t)).unwrap(),
                "{l}: {t}"
            );
        }
    }

    // The groups sum the full run's firm rows, per (tick, nation, role, commodity).
    let groups = read_table(&run("all").join("groups.arrow"));
    type Key = (i32, String, String, String);
    let key = |b: &[arrow_array::RecordBatch]| -> Vec<Key> {
        let (t, n, r, c) = (i32s(b, "tick"), strs(b, "nation"), strs(b, "role"), strs(b, "commodity"));
        (0..t.len()).map(|i| (t[i], n[i].clone(), r[i].clone(), c[i].clone())).collect()
    };
    #[derive(Default)]
    struct Sums {
        firms: i64,
        stalled: i64,
        short: i64,
        v: [f64; 7],
    }
    let cols = [
        "produced",
        "planned",
        "capacity",
        "shortfall",
        "inventory",
        "orders_received",
        "shipped",
    ];
    let mut from_firms: BTreeMap<Key, Sums> = BTreeMap::new();
    let fv: Vec<Vec<f64>> = cols.iter().map(|c| f64s(&all, c)).collect();
    for (i, k) in key(&all).into_iter().enumerate() {
        let s = from_firms.entry(k).or_default();
        s.firms += 1;
        let (planned, short) = (fv[1][i], fv[3][i]);
        s.short += i64::from(short > 0.0);
        s.stalled += i64::from(planned > 0.0 && short >= 0.1 * planned);
        for (c, v) in fv.iter().enumerate() {
            s.v[c] += v[i];
        }
    }
    let gk = key(&groups);
    assert_eq!(
        gk.len(),
        from_firms.len(),
        "one group row per (tick, nation, role, commodity) with firms"
    );
    let (gf, gs, gh) = (i64s(&groups, "firms"), i64s(&groups, "firms_stalled"), i64s(&groups, "firms_short"));
    let gv: Vec<Vec<f64>> = cols.iter().map(|c| f64s(&groups, c)).collect();
    for (i, k) in gk.iter().enumerate() {
        let s = &from_firms[k];
        assert_eq!((gf[i], gs[i], gh[i]), (s.firms, s.stalled, s.short), "{k:?}");
        for (c, name) in cols.iter().enumerate() {
            assert!(close(gv[c][i], s.v[c]), "{k:?} {name}: {} vs {}", gv[c][i], s.v[c]);
        }
    }
}

#[test]
fn a_thinned_run_gives_the_full_runs_downstream_indicators_and_plots() {
    let dir = tempfile::tempdir().unwrap();
    let model = root().join("models/april_2025.ron");
    let until = "2025-10-31";
    let levels = ["all", "every:30", "sample:0.4", "none"];
    for l in levels {
        run_model(&model, &dir.path().join(l), &["--until", until, "--firm-rows", l]);
    }
    let open = |l: &str| RunFolder::open(&dir.path().join(l)).unwrap();
    let full_run = open("all");
    let goods = controlled_goods([&full_run.model]);
    let full = indicators(&full_run, &goods).unwrap();
    assert!(
        full.downstream
            .values()
            .any(|d| d.stall_days > 0 && d.days_to_first_stall.is_some()),
        "the scenario has stalls to count"
    );
    let full_plot = series(&full_run, "vehicles_short", Some(By::Nation)).unwrap();
    for l in &levels[1..] {
        let run = open(l);
        let thin = indicators(&run, &goods).unwrap();
        assert_eq!(
            thin.downstream.keys().collect::<Vec<_>>(),
            full.downstream.keys().collect::<Vec<_>>()
        );
        for (k, f) in &full.downstream {
            let t = &thin.downstream[k];
            assert!(close(t.produced, f.produced), "{l} {k}: produced {} vs {}", t.produced, f.produced);
            assert!(close(t.short, f.short), "{l} {k}: short {} vs {}", t.short, f.short);
            assert_eq!(
                (
                    t.stall_days,
                    &t.first_stall,
                    t.days_to_first_stall,
                    &t.stall_control,
                    &t.stall_control_date
                ),
                (
                    f.stall_days,
                    &f.first_stall,
                    f.days_to_first_stall,
                    &f.stall_control,
                    &f.stall_control_date
                ),
                "{l} {k}"
            );
        }
        // Everything else is read from tables the level does not touch.
        assert_eq!(thin.controlled_exports, full.controlled_exports, "{l}");
        assert_eq!(thin.prices, full.prices, "{l}");
        assert_eq!(thin.licences, full.licences, "{l}");
        // Per-firm stalls: exactly the full run's, for the firms with every tick's row.
        let kept: BTreeMap<_, _> = full
            .final_producers
            .iter()
            .filter(|(id, _)| l.starts_with("sample") && sampled(id, 0.4))
            .map(|(id, p)| (id.clone(), p.clone()))
            .collect();
        assert_eq!(thin.final_producers, kept, "{l}");
        // The plot's monthly series.
        let plot = series(&run, "vehicles_short", Some(By::Nation)).unwrap();
        assert_eq!(plot.keys().collect::<Vec<_>>(), full_plot.keys().collect::<Vec<_>>());
        for (n, months) in &full_plot {
            for (m, v) in months {
                assert!(close(plot[n][m], *v), "{l} {n} {m}: {} vs {v}", plot[n][m]);
            }
        }
    }
}

#[test]
fn a_sweep_at_aggregate_level_has_the_full_sweeps_summary_and_a_groups_dataset() {
    let dir = tempfile::tempdir().unwrap();
    let summary = |level: &str| {
        let out = dir.path().join(level);
        let o = chokepoint(&[
            "sweep",
            "models/april_2025.ron",
            "--seeds",
            "2",
            "--grid",
            "calendar.end=2025-07-31",
            "--firm-rows",
            level,
            "--out",
            out.to_str().unwrap(),
            "--quiet",
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        // Every run's groups table is in the sweep's dataset folder.
        let parts = std::fs::read_dir(out.join("tables/groups"))
            .unwrap()
            .flat_map(|e| walk(&e.unwrap().path()))
            .count();
        assert_eq!(parts, 2, "{level}: tables/groups holds both runs");
        read_table(&out.join("summary.arrow"))
    };
    let (full, none) = (summary("all"), summary("none"));
    let schema = full[0].schema();
    assert_eq!(schema, none[0].schema());
    let mut compared = 0;
    for f in schema.fields() {
        if let arrow_schema::DataType::Float64 = f.data_type() {
            let (a, b) = (f64s(&full, f.name()), f64s(&none, f.name()));
            for (x, y) in a.iter().zip(&b) {
                assert!((x.is_nan() && y.is_nan()) || close(*x, *y), "{}: {x} vs {y}", f.name());
            }
            compared += 1;
        }
    }
    assert!(compared > 10, "{compared} indicator columns");
}

/// Files under `p` (or `p` itself).
fn walk(p: &Path) -> Vec<std::path::PathBuf> {
    if p.is_dir() {
        std::fs::read_dir(p).unwrap().flat_map(|e| walk(&e.unwrap().path())).collect()
    } else {
        vec![p.to_path_buf()]
    }
}
