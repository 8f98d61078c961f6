//! `chokepoint plot`: an indicator's monthly time series, one line per run (and per nation or
//! commodity with `--by`), or for a sweep one median line with a 90% band (5th–95th
//! percentile over seeds) per scenario and grid point. SVG or PNG, by the file's extension.
//!
//! Metrics: `output:<good>` and `short:<good>` (units of a final good made, or planned and not
//! made for lack of inputs, per month by its final producers, whatever their role; `--by
//! nation`), with `vehicle_output` and `vehicles_short` kept as names for `output:vehicle` and
//! `short:vehicle`; `exports` (cross-border shipments, units per month; `--by nation` for the
//! exporter or `--by commodity`), `price:<commodity>` (monthly mean price in each price region,
//! USD).

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
            let table = if run.model.output.firm_rows == FirmRowLevel::All {
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
        "exports" => {
            let t = run.table("flows").map_err(e)?;
            let (ex, com, date, q) = (
                t.codes("exporter").map_err(e)?,
                t.codes("commodity").map_err(e)?,
                t.i32s("date").map_err(e)?,
                t.f64s("quantity").map_err(e)?,
            );
            for i in 0..ex.len() {
                let key = match by {
                    Some(By::Nation) => ex.name(i).to_string(),
                    Some(By::Commodity) => com.name(i).to_string(),
                    None => String::new(),
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
                "unknown metric `{metric}`; expected output:<final good>, short:<final good>, exports or price:<commodity> (vehicle_output and vehicles_short stand for output:vehicle and short:vehicle)"
            ));
        }
    }
    Ok(out)
}

/// One line to draw: its label, points, and an optional band.
pub struct Line {
    pub label: String,
    pub points: Vec<(i32, f64)>,
    pub band: Option<Vec<(i32, f64, f64)>>,
}

/// Lines for a list of run folders and sweep folders.
pub fn lines(inputs: &[PathBuf], metric: &str, by: Option<By>) -> Result<Vec<Line>, String> {
    let mut out = Vec::new();
    for input in inputs {
        if input.join("sweep.json").exists() {
            out.extend(sweep_lines(input, metric, by)?);
        } else {
            let run = RunFolder::open(input).map_err(|e| e.to_string())?;
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
    Ok(out)
}

fn sweep_lines(dir: &Path, metric: &str, by: Option<By>) -> Result<Vec<Line>, String> {
    let plan: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("sweep.json")).map_err(|e| e.to_string())?).map_err(|e| e.to_string())?;
    // Group runs by their folder without the seed: scenario and grid point.
    let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in plan["runs"].as_array().into_iter().flatten() {
        let d = r["dir"].as_str().unwrap_or_default();
        if !dir.join(d).join("manifest.json").exists() {
            continue; // a shard not run here, or a run not finished
        }
        let group = d.rsplit_once("/seed=").map_or(d, |x| x.0).replace("scenario=", "");
        groups.entry(group).or_default().push(d.to_string());
    }
    let mut out = Vec::new();
    for (g, runs) in groups {
        // key -> month -> values over seeds
        let mut vals: BTreeMap<String, BTreeMap<i32, Vec<f64>>> = BTreeMap::new();
        for r in &runs {
            let run = RunFolder::open(&dir.join(r)).map_err(|e| e.to_string())?;
            for (key, s) in series(&run, metric, by)? {
                for (m, v) in s {
                    vals.entry(key.clone()).or_default().entry(m).or_default().push(v);
                }
            }
        }
        for (key, months) in vals {
            let mut points = Vec::new();
            let mut band = Vec::new();
            for (m, mut v) in months {
                v.sort_by(f64::total_cmp);
                let q = |p: f64| crate::analysis::compare::percentile(&v, p).unwrap_or(f64::NAN);
                points.push((m, q(0.5)));
                band.push((m, q(0.05), q(0.95)));
            }
            let label = if key.is_empty() {
                format!("{g} (median, 90% band, {} runs)", runs.len())
            } else {
                format!("{g} {key} (median, 90%)")
            };
            out.push(Line {
                label,
                points,
                band: Some(band),
            });
        }
    }
    Ok(out)
}

/// Picture size in pixels.
const SIZE: (u32, u32) = (1000, 600);

/// Draws `lines` as a picture in the format `ext` names (`svg` or `png`) and returns its bytes
/// (`output` writes them).
pub fn render(lines: &[Line], metric: &str, ext: &str) -> Result<Vec<u8>, String> {
    match ext.to_ascii_lowercase().as_str() {
        "svg" => {
            let mut text = String::new();
            draw_on(SVGBackend::with_string(&mut text, SIZE).into_drawing_area(), lines, metric)?;
            Ok(text.into_bytes())
        }
        "png" => {
            let mut rgb = vec![0u8; SIZE.0 as usize * SIZE.1 as usize * 3];
            draw_on(BitMapBackend::with_buffer(&mut rgb, SIZE).into_drawing_area(), lines, metric)?;
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

/// Text of axes and legend. 14 px: the bitmap backend's glyph rasteriser (plotters 0.3.7 with
/// font-kit) cuts glyphs that reach left of their origin, such as DejaVu Sans' `J` and `j`,
/// at some sizes (11-13 px draw `JP` as `,P`); at 14 px they come out whole.
const TEXT: (&str, u32) = ("sans-serif", 14);

fn draw_on<DB: DrawingBackend>(root: DrawingArea<DB, plotters::coord::Shift>, lines: &[Line], metric: &str) -> Result<(), String> {
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    root.fill(&WHITE).map_err(err)?;
    let xs = lines.iter().flat_map(|l| l.points.iter().map(|p| p.0));
    let (x0, x1) = (xs.clone().min().unwrap_or(0), xs.max().unwrap_or(1).max(1));
    let ys = lines
        .iter()
        .flat_map(|l| l.points.iter().map(|p| p.1).chain(l.band.iter().flatten().flat_map(|b| [b.1, b.2])))
        .filter(|v| v.is_finite());
    // An axis of all zeros still gets a range to draw on.
    let y1 = (ys.fold(0.0f64, f64::max) * 1.05).max(1.0);
    let y_label = axis_labels(y1);
    let mut chart = ChartBuilder::on(&root)
        .caption(metric, ("sans-serif", 24))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(90)
        .build_cartesian_2d(x0..(x1 + 1).max(x0 + 1), 0.0..y1.max(1e-9))
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_label_formatter(&|m| format!("{:04}-{:02}", m.div_euclid(12), m.rem_euclid(12) + 1))
        .x_labels(12)
        .y_label_formatter(&|v| y_label(*v))
        .label_style(TEXT)
        .axis_desc_style(TEXT)
        .y_desc(metric)
        .draw()
        .map_err(err)?;
    for (k, l) in lines.iter().enumerate() {
        let color = Palette99::pick(k).to_rgba();
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
