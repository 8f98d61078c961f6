//! `chokepoint compare` on two hand-built run folders whose indicators are known by hand.

mod common;
use arrow_array::types::Int32Type;
use arrow_array::{ArrayRef, Date32Array, DictionaryArray, Float64Array, Int32Array, Int64Array, RecordBatch, StringArray};
use chokepoint::model::calendar::Date;
use common::*;
use std::path::Path;
use std::sync::Arc;

fn day(s: &str) -> i32 {
    Date::parse(s).unwrap().0
}

fn dict(v: &[&str]) -> ArrayRef {
    Arc::new(v.iter().copied().collect::<DictionaryArray<Int32Type>>())
}

fn nums(v: &[f64]) -> ArrayRef {
    Arc::new(Float64Array::from(v.to_vec()))
}

/// Writes one table of a hand-built run, with the documented schema.
fn write(dir: &Path, name: &str, cols: Vec<ArrayRef>) {
    let table = chokepoint::output::schema::tables().into_iter().find(|t| t.name == name).unwrap();
    let schema = Arc::new(chokepoint::output::schema::table_schema(&table));
    let batch = RecordBatch::try_new(schema.clone(), cols).unwrap_or_else(|e| panic!("{name}: {e}"));
    let f = std::fs::File::create(dir.join(table.file)).unwrap();
    let mut w = arrow_ipc::writer::FileWriter::try_new(f, &schema).unwrap();
    w.write(&batch).unwrap();
    w.finish().unwrap();
}

const MODEL: &str = r#"(name: "NAME", calendar: (start: "2025-01-01", end: "2025-01-04"), seed: 1,
    commodities: [(id: "part", unit: "t", price_usd: 100.0), (id: "car", unit: "car", final_demand: true, price_usd: 1000.0)],
    nations: [(id: "CN", price_region: "CN"), (id: "YY", price_region: "W")],
    firms: [(id: "cn_parts", nation: "CN", role: "refiner", output: "part", capacity_per_day: 100.0),
            (id: "cn_car", nation: "CN", role: "automaker", output: "car", capacity_per_day: 10.0, recipe: {"part": 1.0}),
            (id: "yy_car", nation: "YY", role: "automaker", output: "car", capacity_per_day: 10.0, recipe: {"part": 1.0})],
    routes: (domestic_days: 1, links: [(from: "CN", to: "YY", days: 5)]),
    prices: (coverage_sensitivity: 0.0, cost_weight: 1.0, adjust_days: 1.0, cover_tolerance: 0.0),
    planning: (demand_smoothing_days: 1.0, stock_adjust_days: 1.0, final_demand_noise: 0.0),
    buying: (tariff_sensitivity: 0.0, approval_learning: 0.2, min_expected_approval: 0.1, licence_wait_memory_days: 1.0, application_interval_days: 1),
    policies: POLICIES)"#;

struct Run<'a> {
    yy_produced: [f64; 4],
    cn_to_yy: [f64; 4],
    price_cn: [f64; 4],
    price_w: [f64; 4],
    /// (submitted, decided, outcome)
    licences: &'a [(&'a str, Option<&'a str>, &'a str)],
    activate: Option<&'a str>,
}

fn build(dir: &Path, name: &str, r: &Run) {
    std::fs::create_dir_all(dir).unwrap();
    let policies = if r.activate.is_some() {
        r#"(controls: [(id: "c", nation: "CN", commodities: {"part": 1.0}, review_working_days: Fixed(10.0), approval: (civil: 0.5, defence: 0.0), validity_days: 30)],
            events: [(date: "2025-01-02", nation: "CN", action: Activate("c"))])"#
    } else {
        "()"
    };
    std::fs::write(dir.join("model.ron"), MODEL.replace("NAME", name).replace("POLICIES", policies)).unwrap();
    std::fs::write(dir.join("manifest.json"), r#"{"complete": true}"#).unwrap();
    let days: Vec<i32> = ["2025-01-01", "2025-01-02", "2025-01-03", "2025-01-04"]
        .iter()
        .map(|d| day(d))
        .collect();
    // firms: cn_car and yy_car on each of 4 days.
    let mut tick = vec![];
    let mut date = vec![];
    let (mut firm, mut nation, mut produced, mut planned, mut short) = (vec![], vec![], vec![], vec![], vec![]);
    for (t, &d) in days.iter().enumerate() {
        for (f, n, p) in [("cn_car", "CN", 10.0), ("yy_car", "YY", r.yy_produced[t])] {
            tick.push(t as i32);
            date.push(d);
            firm.push(f);
            nation.push(n);
            produced.push(p);
            planned.push(10.0);
            short.push(10.0 - p);
        }
    }
    let n = tick.len();
    let zeros = vec![0.0; n];
    write(
        dir,
        "firms",
        vec![
            Arc::new(Int32Array::from(tick.clone())),
            Arc::new(Date32Array::from(date.clone())),
            dict(&firm),
            dict(&nation),
            dict(&vec!["automaker"; n]),
            dict(&vec!["car"; n]),
            nums(&produced),
            nums(&planned),
            nums(&planned),
            nums(&short),
            nums(&zeros),
            Arc::new(Float64Array::from(vec![Some(5.0); n])),
            nums(&zeros),
            nums(&zeros),
        ],
    );
    write(
        dir,
        "flows",
        vec![
            Arc::new(Int32Array::from(vec![0, 1, 2, 3])),
            Arc::new(Date32Array::from(days.clone())),
            dict(&["CN"; 4]),
            dict(&["YY"; 4]),
            dict(&["part"; 4]),
            nums(&r.cn_to_yy),
            nums(&r.cn_to_yy.map(|q| q * 100.0)),
            nums(&[0.0; 4]),
        ],
    );
    let mut ptick = vec![];
    let mut pdate = vec![];
    let (mut region, mut price) = (vec![], vec![]);
    for (t, &d) in days.iter().enumerate() {
        for (g, p) in [("CN", r.price_cn[t]), ("W", r.price_w[t])] {
            ptick.push(t as i32);
            pdate.push(d);
            region.push(g);
            price.push(p);
        }
    }
    write(
        dir,
        "prices",
        vec![
            Arc::new(Int32Array::from(ptick)),
            Arc::new(Date32Array::from(pdate)),
            dict(&region),
            dict(&["part"; 8]),
            nums(&price),
        ],
    );
    let l = r.licences;
    let k = l.len();
    write(
        dir,
        "licenses",
        vec![
            Arc::new(Int64Array::from_iter_values(0..k as i64)),
            dict(&vec!["c"; k]),
            dict(&vec!["cn_parts"; k]),
            dict(&vec!["yy_car"; k]),
            dict(&vec!["CN"; k]),
            dict(&vec!["YY"; k]),
            dict(&vec!["part"; k]),
            nums(&vec![1.0; k]),
            nums(&l.iter().map(|x| if x.2 == "approved" { 1.0 } else { 0.0 }).collect::<Vec<_>>()),
            nums(&vec![0.0; k]),
            dict(&vec!["civil"; k]),
            Arc::new(Int32Array::from(vec![0; k])),
            Arc::new(Date32Array::from(l.iter().map(|x| day(x.0)).collect::<Vec<_>>())),
            Arc::new(Int32Array::from(l.iter().map(|x| x.1.map(|_| 1)).collect::<Vec<_>>())),
            Arc::new(Date32Array::from(l.iter().map(|x| x.1.map(day)).collect::<Vec<_>>())),
            dict(&l.iter().map(|x| x.2).collect::<Vec<_>>()),
        ],
    );
    let ev: Vec<&str> = r.activate.into_iter().collect();
    let e = ev.len();
    write(
        dir,
        "events",
        vec![
            Arc::new(Int32Array::from(vec![1; e])),
            Arc::new(Date32Array::from(ev.iter().map(|d| day(d)).collect::<Vec<_>>())),
            dict(&vec!["CN"; e]),
            dict(&vec!["activate"; e]),
            Arc::new(StringArray::from(vec!["scheduled"; e])),
            Arc::new(StringArray::from(vec!["export control c in force"; e])),
        ],
    );
}

#[test]
fn compare_reports_the_indicators_of_a_hand_built_pair_of_runs() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("base");
    let b = dir.path().join("policy");
    build(
        &a,
        "base",
        &Run {
            yy_produced: [10.0; 4],
            cn_to_yy: [5.0; 4],
            price_cn: [100.0; 4],
            price_w: [100.0; 4],
            licences: &[],
            activate: None,
        },
    );
    build(
        &b,
        "policy",
        &Run {
            yy_produced: [10.0, 10.0, 5.0, 0.0],
            cn_to_yy: [5.0, 5.0, 0.0, 0.0],
            price_cn: [100.0, 90.0, 80.0, 80.0],
            price_w: [100.0, 150.0, 200.0, 180.0],
            licences: &[
                ("2025-01-02", Some("2025-01-12"), "approved"),
                ("2025-01-02", Some("2025-01-22"), "approved"),
                ("2025-01-02", Some("2025-02-01"), "denied"),
                ("2025-01-03", None, "pending"),
            ],
            activate: Some("2025-01-02"),
        },
    );
    let o = chokepoint(&["compare", a.to_str().unwrap(), b.to_str().unwrap(), "--format", "json"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let p = &v["runs"][1];
    assert_eq!(p["first_control"], "2025-01-02");
    let yy = &p["downstream"]["car:YY"];
    assert_eq!(yy["produced"], 25.0);
    assert_eq!(yy["short"], 15.0);
    assert_eq!(yy["stall_days"], 2);
    assert_eq!(yy["first_stall"], "2025-01-03");
    assert_eq!(yy["days_to_first_stall"], 1);
    assert_eq!(yy["stall_control"], "c");
    assert_eq!(p["final_producers"]["yy_car"]["first_stall"], "2025-01-03");
    assert_eq!(p["final_producers"]["yy_car"]["role"], "automaker");
    assert_eq!(p["downstream"]["car:CN"]["first_stall"], serde_json::Value::Null);
    assert_eq!(p["controlled_exports"]["CN:part"]["2025-01"], 10.0);
    assert_eq!(
        v["runs"][0]["controlled_exports"]["CN:part"]["2025-01"], 20.0,
        "the base reports the same series"
    );
    let part = &p["prices"]["part"];
    assert_eq!(part["peak_price"], 200.0);
    assert_eq!(part["peak_region"], "W");
    assert_eq!(part["peak_date"], "2025-01-03");
    assert_eq!(part["peak_ratio"], 2.5);
    assert_eq!(part["peak_ratio_date"], "2025-01-03");
    let l = &p["licences"];
    assert_eq!(l["applications"], 4);
    assert_eq!(l["pending"], 1);
    assert!((l["approval_share"].as_f64().unwrap() - 2.0 / 3.0).abs() < 1e-12);
    assert_eq!(l["median_review_days"], 20.0);
    assert_eq!(l["p95_review_days"], 30.0);
    // Differences against the first run: 15 cars lost in YY, 37.5% of its 40.
    let rows = v["rows"].as_array().unwrap();
    let lost = rows
        .iter()
        .find(|r| r["run"] == "policy" && r["key"] == "car:YY" && r["indicator"] == "lost_vs_first")
        .unwrap();
    assert_eq!(lost["value"], 15.0);
    assert_eq!(lost["pct_of_first"], 37.5);
    let ex = rows.iter().find(|r| r["run"] == "policy" && r["key"] == "CN:part:2025-01").unwrap();
    assert_eq!(ex["pct_of_first"], -50.0);

    // The same numbers in CSV, and a table for people.
    let o = chokepoint(&["compare", a.to_str().unwrap(), b.to_str().unwrap(), "--format", "csv"]);
    let csv = String::from_utf8_lossy(&o.stdout);
    assert!(
        csv.lines().any(|l| l == "downstream,policy,car:YY,lost_vs_first,15,,,37.5"),
        "{csv}"
    );
    let o = chokepoint(&["compare", a.to_str().unwrap(), b.to_str().unwrap()]);
    let table = String::from_utf8_lossy(&o.stdout);
    assert!(table.contains("2025-01-03 (+1d)"), "{table}");

    // An incomplete run folder is refused.
    std::fs::write(a.join("manifest.json"), r#"{"complete": false}"#).unwrap();
    let o = chokepoint(&["compare", a.to_str().unwrap(), b.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("not complete"));
}

/// Runs `model` (a file of models/) into `dir/<name>` up to `until`, for `compare`.
fn run_shipped(dir: &Path, model: &str, until: Option<&str>) -> std::path::PathBuf {
    let out = dir.join(model);
    let extra: Vec<&str> = until.map(|u| vec!["--until", u]).unwrap_or_default();
    run_model(&root().join(format!("models/{model}.ron")), &out, &extra);
    out
}

fn compare_json(a: &Path, b: &Path) -> serde_json::Value {
    let o = chokepoint(&["compare", a.to_str().unwrap(), b.to_str().unwrap(), "--format", "json"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

#[test]
fn compare_reports_the_device_makers_losses_under_the_gallium_controls() {
    // Device makers are no automakers: their role is `device_maker`, their final good
    // `ga_device` (t of gallium in devices). The controls take effect on 2023-08-01.
    let dir = tempfile::tempdir().unwrap();
    let base = run_shipped(dir.path(), "gallium_2023_base", Some("2024-06-30"));
    let pol = run_shipped(dir.path(), "gallium_2023", Some("2024-06-30"));
    let v = compare_json(&base, &pol);
    let rows = v["rows"].as_array().unwrap();
    let lost = |key: &str| {
        rows.iter()
            .find(|r| r["run"] == "gallium_2023" && r["key"] == key && r["indicator"] == "lost_vs_first")
            .unwrap_or_else(|| panic!("no lost_vs_first row for {key}"))["value"]
            .as_f64()
            .unwrap()
    };
    assert!(lost("ga_device:US") > 0.0, "US device makers lose output");
    let lost_outside_cn: f64 = ["EU", "JP", "KR", "ROW", "US"]
        .iter()
        .map(|n| lost(&format!("ga_device:{n}")))
        .sum();
    assert!(lost_outside_cn > 0.0);
    let us = &v["runs"][1]["downstream"]["ga_device:US"];
    assert_eq!(us["unit"], "t");
    assert!(us["short"].as_f64().unwrap() > 0.0, "{us}");
    // The first stall is counted from the control's activation (not the US ban of 2024-12-03,
    // which comes later, nor the start of the run).
    assert_eq!(us["stall_control"], "cn_ga_ge_2023");
    assert_eq!(us["stall_control_date"], "2023-08-01");
    let first = day(us["first_stall"].as_str().unwrap());
    assert_eq!(us["days_to_first_stall"], first - day("2023-08-01"), "{us}");
    let firm = &v["runs"][1]["final_producers"]["us_ga_devices"];
    assert_eq!(firm["role"], "device_maker");
    assert_eq!(firm["first_stall"], us["first_stall"]);
    // The base run has the same producers and loses nothing.
    assert_eq!(v["runs"][0]["downstream"]["ga_device:US"]["stall_days"], 0);

    // The CSV form says the same.
    let o = chokepoint(&["compare", base.to_str().unwrap(), pol.to_str().unwrap(), "--format", "csv"]);
    let csv = String::from_utf8_lossy(&o.stdout);
    let line = csv
        .lines()
        .find(|l| l.starts_with("downstream,gallium_2023,ga_device:US,lost_vs_first,"))
        .unwrap_or_else(|| panic!("{csv}"));
    let value: f64 = line.split(',').nth(4).unwrap().parse().unwrap();
    assert!(value > 0.0, "{line}");
}

#[test]
fn april_2025_stalls_count_from_the_control_of_2025_04_04_and_its_table_fits_a_screen() {
    let dir = tempfile::tempdir().unwrap();
    let base = run_shipped(dir.path(), "baseline", None);
    let pol = run_shipped(dir.path(), "april_2025", None);
    let v = compare_json(&base, &pol);
    let down = v["runs"][1]["downstream"].as_object().unwrap();
    // Every final good outside CN that stalls counts from the control's activation.
    let mut first_outside: Option<(i32, &str)> = None;
    for (key, d) in down {
        let Some(s) = d["first_stall"].as_str() else { continue };
        if d["nation"] == "CN" {
            continue;
        }
        assert_eq!(d["stall_control_date"], "2025-04-04", "{key}: {d}");
        assert_eq!(d["days_to_first_stall"], day(s) - day("2025-04-04"), "{key}: {d}");
        if first_outside.is_none_or(|f| day(s) < f.0) {
            first_outside = Some((day(s), key));
        }
    }
    let (first, key) = first_outside.expect("a final producer outside CN stalls");
    assert!(first > day("2025-04-04"), "{key} stalls only after the control");
    // Both final goods of the baseline's world are reported, for every nation that makes them
    // and for the world (the sums over nations; the soonest first stall).
    assert_eq!(down.len(), 16, "{:?}", down.keys().collect::<Vec<_>>());
    for good in ["vehicle", "magnet_end_use"] {
        let world = &down[&format!("{good}:world")];
        let nations: Vec<&serde_json::Value> = down
            .iter()
            .filter(|(k, d)| k.starts_with(&format!("{good}:")) && d["nation"] != "world")
            .map(|(_, d)| d)
            .collect();
        let made: f64 = nations.iter().map(|d| d["produced"].as_f64().unwrap()).sum();
        let stall_days: u64 = nations.iter().map(|d| d["stall_days"].as_u64().unwrap()).sum();
        assert!((world["produced"].as_f64().unwrap() - made).abs() <= 1e-6 * made, "{good}: {world}");
        assert_eq!(world["stall_days"].as_u64().unwrap(), stall_days, "{good}: {world}");
        let soonest = nations.iter().filter_map(|d| d["days_to_first_stall"].as_i64()).min();
        assert_eq!(world["days_to_first_stall"].as_i64(), soonest, "{good}: {world}");
    }

    // The table of the 3-year run fits one screen: at most 60 lines of at most 120 characters.
    let o = chokepoint(&["compare", base.to_str().unwrap(), pol.to_str().unwrap()]);
    let table = String::from_utf8_lossy(&o.stdout);
    assert!(table.lines().count() <= 60, "{table}");
    assert!(table.lines().all(|l| l.chars().count() <= 120), "{table}");
    assert!(table.contains("vehicle:IN") && table.contains("magnet_end_use:EU"), "{table}");
}
