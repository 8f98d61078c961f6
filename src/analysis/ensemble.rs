//! Statistics over a sweep's runs (`chokepoint compare SWEEP_DIR --baseline NAME`): per group
//! (scenario and grid values), the mean and a 90% interval (5th–95th percentile over seeds) of
//! every indicator; and against the baseline scenario, the paired difference (same seed, same
//! grid values where the baseline has them) with its 90% interval, next to the unpaired
//! interval (every run against every baseline run of another seed) for reference.

use crate::analysis::compare::percentile;
use arrow_array::{Array, Float64Array, Int64Array, RecordBatch, StringArray};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;

/// One summary row: scenario (.0), grid values (.1), seed (.2), indicator values (.3).
pub type SummaryRun = (String, Vec<String>, i64, Vec<Option<f64>>);

/// A sweep's summary rows.
pub struct Summary {
    pub params: Vec<String>,
    pub runs: Vec<SummaryRun>,
    pub indicators: Vec<String>,
}

/// Reads `summary.arrow` and any `summary.shard-*.arrow` of a sweep folder.
pub fn read_summary(dir: &Path) -> Result<Summary, String> {
    let plan: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("sweep.json")).map_err(|e| format!("{}: not a sweep folder ({e})", dir.display()))?,
    )
    .map_err(|e| e.to_string())?;
    // The points file's row and columns, then the grid's: the summary's parameter columns
    // (a row of the points file pairs with the same row of the baseline).
    let point = plan["points"].is_object().then(|| "point".to_string());
    let params: Vec<String> = point
        .into_iter()
        .chain(
            plan["points"]["columns"]
                .as_array()
                .into_iter()
                .flatten()
                .chain(plan["grid"].as_array().into_iter().flatten())
                .filter_map(|g| g["column"].as_str().map(String::from)),
        )
        .collect();
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| e.to_string())?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("summary") && n.ends_with(".arrow"))
        })
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(format!("{}: no summary.arrow (is the sweep finished?)", dir.display()));
    }
    let mut out = Summary {
        params: params.clone(),
        runs: Vec::new(),
        indicators: Vec::new(),
    };
    for f in files {
        let reader =
            arrow_ipc::reader::FileReader::try_new(std::fs::File::open(&f).map_err(|e| e.to_string())?, None).map_err(|e| e.to_string())?;
        let schema = reader.schema();
        let inds: Vec<String> = schema
            .fields()
            .iter()
            .filter(|f| f.data_type() == &arrow_schema::DataType::Float64 && !params.contains(f.name()))
            .map(|f| f.name().clone())
            .collect();
        if out.indicators.is_empty() {
            out.indicators = inds.clone();
        } else if out.indicators != inds {
            return Err(format!("{}: its columns differ from the other summaries", f.display()));
        }
        for b in reader {
            let b: RecordBatch = b.map_err(|e| e.to_string())?;
            let s = |name: &str| {
                b.column_by_name(name)
                    .and_then(|c| c.as_any().downcast_ref::<StringArray>().cloned())
                    .ok_or(format!("no column {name}"))
            };
            let scen = s("scenario")?;
            let seed = b
                .column_by_name("seed")
                .and_then(|c| c.as_any().downcast_ref::<Int64Array>().cloned())
                .ok_or("no column seed")?;
            let pcols: Vec<Vec<String>> = params.iter().map(|p| param_values(&b, p)).collect::<Result<_, _>>()?;
            let icols: Vec<Float64Array> = inds
                .iter()
                .map(|i| {
                    b.column_by_name(i)
                        .and_then(|c| c.as_any().downcast_ref::<Float64Array>().cloned())
                        .expect("float column")
                })
                .collect();
            for r in 0..b.num_rows() {
                out.runs.push((
                    scen.value(r).to_string(),
                    pcols.iter().map(|c| c[r].clone()).collect(),
                    seed.value(r),
                    icols.iter().map(|c| if c.is_null(r) { None } else { Some(c.value(r)) }).collect(),
                ));
            }
        }
    }
    Ok(out)
}

/// A parameter column of a summary as text: numbers (float64, null where the model has no such
/// parameter: `none`) or strings.
fn param_values(b: &RecordBatch, name: &str) -> Result<Vec<String>, String> {
    let c = b.column_by_name(name).ok_or(format!("no column {name}"))?;
    if let Some(n) = c.as_any().downcast_ref::<Float64Array>() {
        return Ok((0..n.len())
            .map(|r| if n.is_null(r) { "none".to_string() } else { n.value(r).to_string() })
            .collect());
    }
    if let Some(n) = c.as_any().downcast_ref::<Int64Array>() {
        return Ok(n.values().iter().map(|v| v.to_string()).collect());
    }
    let t = c
        .as_any()
        .downcast_ref::<StringArray>()
        .ok_or(format!("column {name} is neither numbers nor text"))?;
    Ok((0..t.len()).map(|r| t.value(r).to_string()).collect())
}

/// One group's statistics of one indicator.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Stat {
    pub group: String,
    pub indicator: String,
    /// Runs with a value.
    pub n: usize,
    pub mean: Option<f64>,
    pub p5: Option<f64>,
    pub p95: Option<f64>,
    /// Paired difference against the baseline (same seed): mean and 90% interval.
    pub diff_mean: Option<f64>,
    pub diff_p5: Option<f64>,
    pub diff_p95: Option<f64>,
    /// Unpaired difference (different seeds): 90% interval.
    pub unpaired_p5: Option<f64>,
    pub unpaired_p95: Option<f64>,
}

fn stats(v: &mut [f64]) -> (Option<f64>, Option<f64>, Option<f64>) {
    if v.is_empty() {
        return (None, None, None);
    }
    v.sort_by(f64::total_cmp);
    (
        Some(v.iter().sum::<f64>() / v.len() as f64),
        percentile(v, 0.05),
        percentile(v, 0.95),
    )
}

/// Statistics per group and indicator; differences against `baseline` when given.
pub fn ensemble(s: &Summary, baseline: Option<&str>) -> Vec<Stat> {
    let label = |scen: &str, ps: &[String]| {
        let mut l = scen.to_string();
        for (p, v) in s.params.iter().zip(ps) {
            if v != "none" {
                l.push_str(&format!(" {p}={v}"));
            }
        }
        l
    };
    let mut groups: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (k, r) in s.runs.iter().enumerate() {
        groups.entry(label(&r.0, &r.1)).or_default().push(k);
    }
    // Does run b (baseline) pair with run a: same seed, and same grid values where b has one.
    let matches = |a: usize, b: usize| {
        let (ra, rb) = (&s.runs[a], &s.runs[b]);
        ra.1.iter().zip(&rb.1).all(|(x, y)| y == "none" || x == y)
    };
    let base_runs: Vec<usize> = baseline
        .map(|b| (0..s.runs.len()).filter(|&k| s.runs[k].0 == b).collect())
        .unwrap_or_default();
    let mut out = Vec::new();
    for (g, members) in &groups {
        for (i, ind) in s.indicators.iter().enumerate() {
            let mut vals: Vec<f64> = members.iter().filter_map(|&k| s.runs[k].3[i]).collect();
            let n = vals.len();
            let (mean, p5, p95) = stats(&mut vals);
            let mut st = Stat {
                group: g.clone(),
                indicator: ind.clone(),
                n,
                mean,
                p5,
                p95,
                diff_mean: None,
                diff_p5: None,
                diff_p95: None,
                unpaired_p5: None,
                unpaired_p95: None,
            };
            let is_base = members.iter().all(|k| base_runs.contains(k));
            if !base_runs.is_empty() && !is_base {
                let mut paired = Vec::new();
                let mut unpaired = Vec::new();
                for &a in members {
                    for &b in &base_runs {
                        if !matches(a, b) {
                            continue;
                        }
                        if let (Some(x), Some(y)) = (s.runs[a].3[i], s.runs[b].3[i]) {
                            if s.runs[a].2 == s.runs[b].2 {
                                paired.push(x - y);
                            } else {
                                unpaired.push(x - y);
                            }
                        }
                    }
                }
                let (m, lo, hi) = stats(&mut paired);
                (st.diff_mean, st.diff_p5, st.diff_p95) = (m, lo, hi);
                let (_, lo, hi) = stats(&mut unpaired);
                (st.unpaired_p5, st.unpaired_p95) = (lo, hi);
            }
            out.push(st);
        }
    }
    out
}

/// CSV of the statistics.
pub fn to_csv(stats: &[Stat]) -> String {
    let o = |v: Option<f64>| v.map(|x| x.to_string()).unwrap_or_default();
    let mut s = String::from("group,indicator,n,mean,p5,p95,diff_mean,diff_p5,diff_p95,unpaired_p5,unpaired_p95\n");
    for t in stats {
        s.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{},{}\n",
            t.group,
            t.indicator,
            t.n,
            o(t.mean),
            o(t.p5),
            o(t.p95),
            o(t.diff_mean),
            o(t.diff_p5),
            o(t.diff_p95),
            o(t.unpaired_p5),
            o(t.unpaired_p95)
        ));
    }
    s
}

/// A readable table: one line per group and indicator with a value.
pub fn to_table(stats: &[Stat], baseline: Option<&str>) -> String {
    use comfy_table::{CellAlignment, ContentArrangement, Table, presets};
    // Counts (days, applications) and large quantities as whole numbers.
    let f = |v: Option<f64>| match v {
        None => "-".to_string(),
        Some(x) if x.abs() >= 100.0 || x.fract() == 0.0 => format!("{x:.0}"),
        Some(x) => format!("{x:.3}"),
    };
    let diff = format!("paired diff vs {}", baseline.unwrap_or("-"));
    let mut s = String::new();
    let mut groups: Vec<&str> = stats.iter().map(|t| t.group.as_str()).collect();
    groups.dedup();
    for g in groups {
        let rows: Vec<&Stat> = stats.iter().filter(|t| t.group == g && t.n > 0).collect();
        let Some(first) = rows.first() else { continue };
        s.push_str(&format!("\n{g} ({} runs)\n", first.n));
        let mut t = Table::new();
        t.load_preset(presets::NOTHING)
            .set_content_arrangement(ContentArrangement::Dynamic)
            .set_header(["indicator", "mean", "90% interval", diff.as_str(), "its 90% interval"]);
        for r in rows {
            let paired = |v: Option<f64>| if r.diff_mean.is_some() { f(v) } else { "-".into() };
            t.add_row([
                r.indicator.clone(),
                f(r.mean),
                format!("[{}, {}]", f(r.p5), f(r.p95)),
                paired(r.diff_mean),
                if r.diff_mean.is_some() {
                    format!("[{}, {}]", f(r.diff_p5), f(r.diff_p95))
                } else {
                    "-".into()
                },
            ]);
        }
        for c in 1..5 {
            if let Some(col) = t.column_mut(c) {
                col.set_cell_alignment(CellAlignment::Right);
            }
        }
        s.push_str(&t.to_string());
        s.push('\n');
    }
    s
}
