//! `chokepoint plot`: an indicator's monthly time series, one line per run (and per nation or
//! commodity with `--by`), or for a sweep one median line with a 90% band (5th–95th
//! percentile over seeds) per scenario and grid point; with `--baseline NAME`, a sweep's
//! paired differences (each run minus the baseline run of the same seed), median and 90% band.
//! SVG or PNG, by the file's extension, with the text in a bundled font (DejaVu Sans).
//!
//! Quantities are rates per day in each month (the month's total over the days of it the run
//! covers), so months of 28 and 31 days compare, in the unit of the good:
//! `output:<good>` and `short:<good>` (units of a final good made, or planned and not made for
//! lack of inputs, by its final producers, whatever their role; `--by nation`), with
//! `vehicle_output` and `vehicles_short` kept as names for `output:vehicle` and
//! `short:vehicle`; `exports` (cross-border shipments of each good, one line per commodity,
//! as goods in different units do not add up) and `exports:<commodity>` (one good; `--by
//! nation` for the exporter); `price:<commodity>` (monthly mean price in each price region,
//! USD per unit of the good).

use crate::analysis::downstream::final_goods;
use crate::model::calendar::Date;
use crate::model::output::FirmRowLevel;
use crate::output::read::{ReadError, RunFolder};
use plotters::prelude::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// How to split a metric into lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum By {
    Nation,
    Commodity,
}

/// A monthly series per key ("" when not split): month index (year * 12 + month - 1) -> value.
pub type Series = BTreeMap<String, BTreeMap<i32, f64>>;

fn month(days: i32) -> i32 {
    let (y, m, _) = Date(days).ymd();
    y * 12 + m as i32 - 1
}

/// Days of each month that the run covers (its manifest's first and last day).
fn covered_days(run: &RunFolder) -> BTreeMap<i32, f64> {
    let day = |k: &str| run.manifest[k].as_str().and_then(Date::parse);
    let mut out = BTreeMap::new();
    if let (Some(first), Some(last)) = (day("start"), day("end")) {
        for d in first.0..=last.0 {
            *out.entry(month(d)).or_insert(0.0) += 1.0;
        }
    }
    out
}

/// Monthly totals as rates per day of the month the run covers.
fn per_day(run: &RunFolder, mut out: Series) -> Series {
    let days = covered_days(run);
    for s in out.values_mut() {
        for (m, v) in s.iter_mut() {
            *v /= days.get(m).copied().unwrap_or(1.0).max(1.0);
        }
    }
    out
}

/// The unit of commodity `c` in the run's model (`?` if it has none such).
fn unit_of(run: &RunFolder, c: &str) -> String {
    run.model
        .commodities
        .iter()
        .find(|x| x.id == c)
        .map_or("?".to_string(), |x| x.unit.clone())
}

/// The y axis's description: what is plotted and in which unit.
pub fn y_description(run: &RunFolder, metric: &str) -> String {
    let good = |m: &str| m.split_once(':').map_or("vehicle", |x| x.1).to_string();
    match metric {
        "vehicle_output" | "vehicles_short" => format!("{metric} (vehicles per day)"),
        m if m.starts_with("output:") => format!("{} made ({} per day)", good(m), unit_of(run, &good(m))),
        m if m.starts_with("short:") => format!("{} short of inputs ({} per day)", good(m), unit_of(run, &good(m))),
        m if m.starts_with("exports:") => format!("exports of {} ({} per day)", good(m), unit_of(run, &good(m))),
        "exports" => {
            // Final goods are consumed where they are made: only the others cross borders.
            let units: std::collections::BTreeSet<String> = run
                .model
                .commodities
                .iter()
                .filter(|c| !c.final_demand)
                .map(|c| c.unit.clone())
                .collect();
            match units.len() {
                1 => format!("exports ({} per day)", units.first().expect("one")),
                _ => "exports (units of each good per day)".to_string(),
            }
        }
        m if m.starts_with("price:") => format!("price of {} (USD per {})", good(m), unit_of(run, &good(m))),
        m => m.to_string(),
    }
}

/// The metric's monthly series for one run.
pub fn series(run: &RunFolder, metric: &str, by: Option<By>) -> Result<Series, String> {
    let e = |e: ReadError| e.to_string();
    let mut out: Series = BTreeMap::new();
    match metric {
        m if m.starts_with("output:") || m.starts_with("short:") || m == "vehicle_output" || m == "vehicles_short" => {
            let (column, good) = match m {
                "vehicle_output" => ("produced", "vehicle"),
                "vehicles_short" => ("shortfall", "vehicle"),
                _ => {
                    let (kind, good) = m.split_once(':').expect("output: or short:");
                    (if kind == "output" { "produced" } else { "shortfall" }, good)
                }
            };
            if by == Some(By::Commodity) {
                return Err(format!("{metric} can be split --by nation only"));
            }
            let finals = final_goods(&run.model);
            if !finals.iter().any(|g| g == good) {
                return Err(format!(
                    "{metric}: model {} ({}) has no final good `{good}`; its final goods: {}",
                    run.model.name,
                    run.dir.display(),
                    if finals.is_empty() { "none".to_string() } else { finals.join(", ") }
                ));
            }
            // Thinned firm rows do not add up to the nations' output: read the groups' sums.
            // A sweep's `--keep` may have dropped firms: the groups hold the same sums.
            let table = if run.model.output.firm_rows == FirmRowLevel::All && run.table_path("firms").is_file() {
                "firms"
            } else {
                "groups"
            };
            let t = run.columns(table, &["commodity", "nation", "date", column]).map_err(e)?;
            let (com, nation, date) = (
                t.codes("commodity").map_err(e)?,
                t.codes("nation").map_err(e)?,
                t.i32s("date").map_err(e)?,
            );
            let v = t.f64s(column).map_err(e)?;
            let code = com.code(good);
            for i in 0..com.len() {
                if Some(com.codes[i]) == code {
                    let key = if by == Some(By::Nation) {
                        nation.name(i).to_string()
                    } else {
                        String::new()
                    };
                    *out.entry(key).or_default().entry(month(date[i].unwrap_or(0))).or_default() += v[i];
                }
            }
        }
        m if m == "exports" || m.starts_with("exports:") => {
            let one = m.strip_prefix("exports:");
            if one.is_none() && by == Some(By::Nation) {
                return Err("exports of different goods do not add up: use exports:<commodity> --by nation".into());
            }
            if let Some(c) = one
                && !run.model.commodities.iter().any(|x| x.id == c)
            {
                return Err(format!("{metric}: model {} has no commodity `{c}`", run.model.name));
            }
            let t = run.table("flows").map_err(e)?;
            let (ex, com, date, q) = (
                t.codes("exporter").map_err(e)?,
                t.codes("commodity").map_err(e)?,
                t.i32s("date").map_err(e)?,
                t.f64s("quantity").map_err(e)?,
            );
            for i in 0..ex.len() {
                let key = match (one, by) {
                    (Some(c), _) if com.name(i) != c => continue,
                    (Some(_), Some(By::Nation)) => ex.name(i).to_string(),
                    (Some(_), _) => String::new(),
                    (None, _) => com.name(i).to_string(),
                };
                *out.entry(key).or_default().entry(month(date[i].unwrap_or(0))).or_default() += q[i];
            }
        }
        m if m.starts_with("price:") => {
            let c = &m[6..];
            let t = run.table("prices").map_err(e)?;
            let (region, com, date, p) = (
                t.codes("region").map_err(e)?,
                t.codes("commodity").map_err(e)?,
                t.i32s("date").map_err(e)?,
                t.f64s("price").map_err(e)?,
            );
            let mut n: BTreeMap<(String, i32), f64> = BTreeMap::new();
            for i in 0..region.len() {
                if com.name(i) == c {
                    let mo = month(date[i].unwrap_or(0));
                    *out.entry(region.name(i).to_string()).or_default().entry(mo).or_default() += p[i];
                    *n.entry((region.name(i).to_string(), mo)).or_default() += 1.0;
                }
            }
            for (r, s) in out.iter_mut() {
                for (mo, v) in s.iter_mut() {
                    *v /= n[&(r.clone(), *mo)];
                }
            }
            if out.is_empty() {
                return Err(format!("no prices of `{c}` in {}", run.dir.display()));
            }
        }
        _ => {
            return Err(format!(
                "unknown metric `{metric}`; expected output:<final good>, short:<final good>, exports, exports:<commodity> or price:<commodity> (vehicle_output and vehicles_short stand for output:vehicle and short:vehicle)"
            ));
        }
    }
    // Quantities per day of each month; prices are means already.
    Ok(if metric.starts_with("price:") { out } else { per_day(run, out) })
}

/// A band around a line: (month, low, high).
pub type Band = Vec<(i32, f64, f64)>;

/// One line to draw: its label, points, and an optional band.
pub struct Line {
    pub label: String,
    pub points: Vec<(i32, f64)>,
    pub band: Option<Band>,
}

/// What to draw: the lines and the y axis's description (what, in which unit).
pub struct Plot {
    pub lines: Vec<Line>,
    pub y: String,
}

/// Lines for a list of run folders and sweep folders; with `baseline`, each sweep's paired
/// differences against that scenario.
pub fn lines(inputs: &[PathBuf], metric: &str, by: Option<By>, baseline: Option<&str>) -> Result<Plot, String> {
    let mut out = Vec::new();
    let mut y = None;
    for input in inputs {
        if input.join("sweep.json").exists() {
            let (l, desc) = sweep_lines(input, metric, by, baseline)?;
            out.extend(l);
            y = y.or(desc);
        } else {
            if let Some(b) = baseline {
                return Err(format!(
                    "--baseline {b} names a scenario of a sweep folder, and {} is a run folder",
                    input.display()
                ));
            }
            let run = RunFolder::open(input).map_err(|e| e.to_string())?;
            y = y.or_else(|| Some(y_description(&run, metric)));
            for (key, s) in series(&run, metric, by)? {
                let label = if key.is_empty() {
                    run.label()
                } else {
                    format!("{} {key}", run.label())
                };
                out.push(Line {
                    label,
                    points: s.into_iter().collect(),
                    band: None,
                });
            }
        }
    }
    if out.is_empty() {
        return Err("nothing to plot".into());
    }
    let y = y.unwrap_or_else(|| metric.to_string());
    Ok(Plot {
        lines: out,
        y: if baseline.is_some() {
            format!("{y}, minus the baseline")
        } else {
            y
        },
    })
}

/// One finished run of a sweep's plan: its folder, scenario, seed and parameter values.
struct PlanRun {
    dir: String,
    scenario: String,
    seed: u64,
    params: Vec<(String, String)>,
}

/// The median and 90% band over `values` per month.
fn median_band(months: BTreeMap<i32, Vec<f64>>) -> (Vec<(i32, f64)>, Band) {
    let (mut points, mut band) = (Vec::new(), Vec::new());
    for (m, mut v) in months {
        v.sort_by(f64::total_cmp);
        let q = |p: f64| crate::analysis::compare::percentile(&v, p).unwrap_or(f64::NAN);
        points.push((m, q(0.5)));
        band.push((m, q(0.05), q(0.95)));
    }
    (points, band)
}

fn sweep_lines(dir: &Path, metric: &str, by: Option<By>, baseline: Option<&str>) -> Result<(Vec<Line>, Option<String>), String> {
    let plan: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("sweep.json")).map_err(|e| e.to_string())?).map_err(|e| e.to_string())?;
    let runs: Vec<PlanRun> = plan["runs"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| {
            let d = r["dir"].as_str()?.to_string();
            // A shard not run here, or a run not finished, is left out.
            dir.join(&d).join("manifest.json").exists().then(|| PlanRun {
                dir: d,
                scenario: r["scenario"].as_str().unwrap_or_default().to_string(),
                seed: r["seed"].as_u64().unwrap_or(0),
                params: r["params"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|p| Some((p[0].as_str()?.to_string(), p[1].as_str()?.to_string())))
                    .collect(),
            })
        })
        .collect();
    if let Some(b) = baseline
        && !runs.iter().any(|r| r.scenario == b)
    {
        return Err(format!("--baseline {b}: no such scenario in {}", dir.display()));
    }
    // Group runs by their folder without the seed: scenario and grid point.
    let mut groups: BTreeMap<String, Vec<&PlanRun>> = BTreeMap::new();
    for r in &runs {
        let group = r.dir.rsplit_once("/seed=").map_or(r.dir.as_str(), |x| x.0).replace("scenario=", "");
        groups.entry(group).or_default().push(r);
    }
    let mut cache: BTreeMap<String, Series> = BTreeMap::new();
    let mut series_of = |r: &PlanRun| -> Result<Series, String> {
        if let Some(s) = cache.get(&r.dir) {
            return Ok(s.clone());
        }
        let run = RunFolder::open(&dir.join(&r.dir)).map_err(|e| e.to_string())?;
        let s = series(&run, metric, by)?;
        cache.insert(r.dir.clone(), s.clone());
        Ok(s)
    };
    let y = match runs.first() {
        Some(r) => Some(y_description(
            &RunFolder::open(&dir.join(&r.dir)).map_err(|e| e.to_string())?,
            metric,
        )),
        None => None,
    };
    // The baseline run a run pairs with: the baseline's run of the same seed whose parameter
    // values match the run's wherever the baseline has the parameter.
    let partner = |r: &PlanRun| -> Option<&PlanRun> {
        let b = baseline?;
        runs.iter().find(|x| {
            x.scenario == b && x.seed == r.seed && x.params.iter().zip(&r.params).all(|((_, bv), (_, rv))| bv == "none" || bv == rv)
        })
    };
    let mut out = Vec::new();
    for (g, members) in groups {
        if baseline.is_some_and(|b| members[0].scenario == b) {
            continue;
        }
        // key -> month -> values (or paired differences) over seeds
        let mut vals: BTreeMap<String, BTreeMap<i32, Vec<f64>>> = BTreeMap::new();
        let mut paired = 0;
        for r in &members {
            let s = series_of(r)?;
            let base = match partner(r) {
                Some(p) => Some(series_of(p)?),
                None if baseline.is_some() => continue,
                None => None,
            };
            paired += 1;
            for (key, months) in s {
                for (m, v) in months {
                    let minus = base
                        .as_ref()
                        .map_or(0.0, |b| b.get(&key).and_then(|x| x.get(&m)).copied().unwrap_or(0.0));
                    vals.entry(key.clone()).or_default().entry(m).or_default().push(v - minus);
                }
            }
        }
        for (key, months) in vals {
            let (points, band) = median_band(months);
            let what = match baseline {
                Some(b) => format!("minus {b}, paired: median, 90% band, {paired} seeds"),
                None => format!("median, 90% band, {} runs", members.len()),
            };
            let label = if key.is_empty() {
                format!("{g} ({what})")
            } else {
                format!("{g} {key} ({what})")
            };
            out.push(Line {
                label,
                points,
                band: Some(band),
            });
        }
    }
    Ok((out, y))
}

/// Picture size in pixels.
const SIZE: (u32, u32) = (1000, 600);

/// Draws `lines` as a picture in the format `ext` names (`svg` or `png`) and returns its bytes
/// (`output` writes them).
pub fn render(plot: &Plot, metric: &str, ext: &str) -> Result<Vec<u8>, String> {
    register_font()?;
    match ext.to_ascii_lowercase().as_str() {
        "svg" => {
            let mut text = String::new();
            draw_on(SVGBackend::with_string(&mut text, SIZE).into_drawing_area(), plot, metric)?;
            Ok(text.into_bytes())
        }
        "png" => {
            let mut rgb = vec![0u8; SIZE.0 as usize * SIZE.1 as usize * 3];
            draw_on(BitMapBackend::with_buffer(&mut rgb, SIZE).into_drawing_area(), plot, metric)?;
            let image = image::RgbImage::from_raw(SIZE.0, SIZE.1, rgb).ok_or("picture buffer of the wrong size")?;
            let mut png = std::io::Cursor::new(Vec::new());
            image.write_to(&mut png, image::ImageOutputFormat::Png).map_err(|e| e.to_string())?;
            Ok(png.into_inner())
        }
        other => Err(format!("a plot is drawn as .svg or .png, not `.{other}`")),
    }
}

/// Tick labels for an axis from 0 to `top` with about ten ticks, readable at a glance: one
/// unit (G, M, k or none) for the whole axis, and as many decimals as the tick step needs
/// (2.5 M, 480 k, 0.5).
fn axis_labels(top: f64) -> impl Fn(f64) -> String {
    let (unit, suffix) = match top.abs() {
        t if t >= 1e9 => (1e9, " G"),
        t if t >= 1e6 => (1e6, " M"),
        t if t >= 1e4 => (1e3, " k"),
        _ => (1.0, ""),
    };
    let step = (top / unit / 10.0).max(f64::MIN_POSITIVE);
    let decimals = (-step.log10().floor()).clamp(0.0, 6.0) as usize;
    move |v| format!("{:.*}{suffix}", decimals, v / unit)
}

/// Text of axes and legend, 14 px.
const TEXT: (&str, u32) = ("sans-serif", 14);

/// DejaVu Sans (src/analysis/fonts/, with its licence): plots need no system font library.
const FONT: &[u8] = include_bytes!("fonts/DejaVuSans.ttf");

/// Makes the bundled font plotters' `sans-serif` (once per process).
fn register_font() -> Result<(), String> {
    static DONE: std::sync::OnceLock<Result<(), String>> = std::sync::OnceLock::new();
    DONE.get_or_init(|| {
        plotters::style::register_font("sans-serif", FontStyle::Normal, FONT).map_err(|_| "the bundled font does not load".to_string())
    })
    .clone()
}

/// Colours that readers with any common colour-vision deficiency tell apart: Okabe and Ito's
/// eight (Okabe & Ito 2008, "Color Universal Design"), black last, then Paul Tol's muted
/// scheme for plots with more lines (Tol 2021, "Colour schemes", SRON/EPS/TN/09-002). Lines
/// past the 17th repeat them.
const PALETTE: [(u8, u8, u8); 17] = [
    (0, 114, 178),   // blue
    (213, 94, 0),    // vermillion
    (0, 158, 115),   // bluish green
    (204, 121, 167), // reddish purple
    (230, 159, 0),   // orange
    (86, 180, 233),  // sky blue
    (240, 228, 66),  // yellow
    (0, 0, 0),       // black
    (51, 34, 136),   // Tol indigo
    (136, 204, 238), // Tol cyan
    (68, 170, 153),  // Tol teal
    (17, 119, 51),   // Tol green
    (153, 153, 51),  // Tol olive
    (221, 204, 119), // Tol sand
    (204, 102, 119), // Tol rose
    (136, 34, 85),   // Tol wine
    (170, 68, 153),  // Tol purple
];

/// The colour of line `k`.
fn colour(k: usize) -> RGBAColor {
    let (r, g, b) = PALETTE[k % PALETTE.len()];
    RGBColor(r, g, b).to_rgba()
}

fn draw_on<DB: DrawingBackend>(root: DrawingArea<DB, plotters::coord::Shift>, plot: &Plot, metric: &str) -> Result<(), String> {
    let lines = &plot.lines;
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    root.fill(&WHITE).map_err(err)?;
    let xs = lines.iter().flat_map(|l| l.points.iter().map(|p| p.0));
    let (x0, x1) = (xs.clone().min().unwrap_or(0), xs.max().unwrap_or(1).max(1));
    let ys = lines
        .iter()
        .flat_map(|l| l.points.iter().map(|p| p.1).chain(l.band.iter().flatten().flat_map(|b| [b.1, b.2])))
        .filter(|v| v.is_finite());
    // An axis of all zeros still gets a range to draw on; differences may go below zero.
    let (lo, hi) = ys.fold((0.0f64, 0.0f64), |(a, b), v| (a.min(v), b.max(v)));
    let y1 = (hi * 1.05).max(if lo < 0.0 { 0.0 } else { 1.0 });
    let y0 = lo * 1.05;
    let y_label = axis_labels(y1.max(-y0));
    let mut chart = ChartBuilder::on(&root)
        .caption(metric, ("sans-serif", 24))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(90)
        .build_cartesian_2d(x0..(x1 + 1).max(x0 + 1), y0..y1.max(y0 + 1e-9))
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_label_formatter(&|m| format!("{:04}-{:02}", m.div_euclid(12), m.rem_euclid(12) + 1))
        .x_labels(12)
        .y_label_formatter(&|v| y_label(*v))
        .label_style(TEXT)
        .axis_desc_style(TEXT)
        .x_desc("month")
        .y_desc(plot.y.as_str())
        .draw()
        .map_err(err)?;
    for (k, l) in lines.iter().enumerate() {
        let color = colour(k);
        if let Some(band) = &l.band {
            let upper: Vec<(i32, f64)> = band.iter().map(|b| (b.0, b.2)).collect();
            let lower: Vec<(i32, f64)> = band.iter().rev().map(|b| (b.0, b.1)).collect();
            chart
                .draw_series(std::iter::once(Polygon::new([upper, lower].concat(), color.mix(0.2))))
                .map_err(err)?;
        }
        chart
            .draw_series(LineSeries::new(l.points.iter().copied(), color.stroke_width(2)))
            .map_err(err)?
            .label(l.label.clone())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .label_font(TEXT)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(err)?;
    root.present().map_err(err)
}

#[cfg(test)]
mod tests {
    use super::axis_labels;

    #[test]
    fn tick_labels_share_a_unit_and_enough_decimals() {
        let f = axis_labels(2_800_000.0);
        assert_eq!(
            (f(0.0), f(500_000.0), f(2_500_000.0)),
            ("0.0 M".into(), "0.5 M".into(), "2.5 M".into())
        );
        let f = axis_labels(1_300_000.0);
        assert_eq!(f(1_100_000.0), "1.1 M");
        let f = axis_labels(110_000.0);
        assert_eq!((f(20_000.0), f(100_000.0)), ("20 k".into(), "100 k".into()));
        let f = axis_labels(16.0);
        assert_eq!((f(0.0), f(5.0), f(15.0)), ("0".into(), "5".into(), "15".into()));
        let f = axis_labels(1.0);
        assert_eq!((f(0.0), f(0.5)), ("0.0".into(), "0.5".into()));
        let f = axis_labels(1.2e9);
        assert_eq!(f(1e9), "1.0 G");
    }
}
