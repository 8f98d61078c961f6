//! `chokepoint plot` draws runs and sweeps to SVG and PNG.

mod common;
use common::*;

#[test]
fn plot_draws_one_line_per_run_and_a_band_per_sweep_scenario() {
    let dir = tempfile::tempdir().unwrap();
    let (base, pol) = (dir.path().join("base"), dir.path().join("april"));
    run_model(&root().join("models/baseline.ron"), &base, &["--until", "2025-08-31"]);
    run_model(&root().join("models/april_2025.ron"), &pol, &["--until", "2025-08-31"]);
    let svg = dir.path().join("short.svg");
    let o = chokepoint(&[
        "plot",
        base.to_str().unwrap(),
        pol.to_str().unwrap(),
        "--metric",
        "vehicles_short",
        "--by",
        "nation",
        "--out",
        svg.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(text.starts_with("<svg"));
    // One line per run and nation with automakers: 2 runs x 7 nations, each in the legend.
    let labels: Vec<&str> = text.lines().filter(|l| l.starts_with("april ") || l.starts_with("base ")).collect();
    assert_eq!(labels.len(), 14, "{labels:?}");
    assert!(
        labels.contains(&"april IN") && labels.contains(&"base EU"),
        "legend names run and nation: {labels:?}"
    );

    let sweep = dir.path().join("sweep");
    let o = chokepoint(&[
        "sweep",
        "models/baseline.ron",
        "models/april_2025.ron",
        "--seeds",
        "3",
        "--grid",
        "calendar.end=2025-08-31",
        "--out",
        sweep.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let png = dir.path().join("exports.png");
    let o = chokepoint(&[
        "plot",
        sweep.to_str().unwrap(),
        "--metric",
        "price:ndfeb_magnet",
        "--out",
        png.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let bytes = std::fs::read(&png).unwrap();
    assert!(
        bytes.starts_with(b"\x89PNG") && bytes.len() > 10_000,
        "a real PNG ({} bytes)",
        bytes.len()
    );
    let svg2 = dir.path().join("bands.svg");
    let o = chokepoint(&[
        "plot",
        sweep.to_str().unwrap(),
        "--metric",
        "vehicle_output",
        "--out",
        svg2.to_str().unwrap(),
    ]);
    assert!(o.status.success());
    let text = std::fs::read_to_string(&svg2).unwrap();
    assert_eq!(text.matches("<polygon").count(), 2, "one 90% band per scenario");
    assert!(text.contains("(median, 90% band, 3 runs)"));

    let o = chokepoint(&[
        "plot",
        base.to_str().unwrap(),
        "--metric",
        "nonsense",
        "--out",
        svg.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("unknown metric `nonsense`"));
}

#[test]
fn a_plot_that_cannot_be_written_exits_4_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("base");
    run_model(&root().join("models/baseline.ron"), &base, &["--until", "2025-02-28"]);
    for ext in ["svg", "png"] {
        let out = dir.path().join(format!("no/such/folder/p.{ext}"));
        let o = chokepoint(&[
            "plot",
            base.to_str().unwrap(),
            "--metric",
            "vehicle_output",
            "--out",
            out.to_str().unwrap(),
        ]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(4), "{err}");
        assert!(err.contains(&out.display().to_string()), "names the file: {err}");
        assert!(err.contains("No such file or directory"), "{err}");
        assert!(!err.contains("Os {") && !err.contains("BackendError"), "no debug text: {err}");
    }
    // A name that is neither .svg nor .png is a usage error.
    let o = chokepoint(&["plot", base.to_str().unwrap(), "--metric", "vehicle_output", "--out", "p.txt"]);
    assert_eq!(o.status.code(), Some(3));
}

#[test]
fn plot_draws_any_final_good_and_keeps_the_vehicle_metric_names() {
    let dir = tempfile::tempdir().unwrap();
    let gal = dir.path().join("gal");
    run_model(&root().join("models/gallium_2023_base.ron"), &gal, &["--until", "2022-03-31"]);
    // Device makers' output, one line per nation that makes devices.
    let svg = dir.path().join("devices.svg");
    let o = chokepoint(&[
        "plot",
        gal.to_str().unwrap(),
        "--metric",
        "output:ga_device",
        "--by",
        "nation",
        "--out",
        svg.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = std::fs::read_to_string(&svg).unwrap();
    let labels: Vec<&str> = text.lines().filter(|l| l.starts_with("gal ")).collect();
    assert_eq!(labels, ["gal CN", "gal EU", "gal JP", "gal KR", "gal ROW", "gal US"]);
    // A good the model does not have as a final good is refused, naming the ones it has.
    for metric in ["vehicle_output", "short:ga_refined"] {
        let o = chokepoint(&["plot", gal.to_str().unwrap(), "--metric", metric, "--out", svg.to_str().unwrap()]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{metric}");
        assert!(err.contains("its final goods: ga_device, ge_product"), "{err}");
    }

    // The old vehicle names are the same series as output:vehicle and short:vehicle.
    use chokepoint::analysis::plot::{By, series};
    let base = dir.path().join("base");
    run_model(&root().join("models/april_2025.ron"), &base, &["--until", "2025-07-31"]);
    let run = chokepoint::output::read::RunFolder::open(&base).unwrap();
    for (old, new) in [("vehicle_output", "output:vehicle"), ("vehicles_short", "short:vehicle")] {
        let a = series(&run, old, Some(By::Nation)).unwrap();
        assert_eq!(a.len(), 7, "{old}: a series per nation with automakers");
        assert_eq!(a, series(&run, new, Some(By::Nation)).unwrap(), "{old}");
    }
    let short = series(&run, "short:vehicle", None).unwrap();
    assert!(short[""].values().any(|v| *v > 0.0), "april_2025 loses vehicles by July 2025");
}

#[test]
fn plot_draws_rates_per_day_with_units_and_paired_differences_against_a_baseline() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("base");
    run_model(&root().join("models/baseline.ron"), &base, &["--until", "2025-03-31"]);
    // Monthly totals over the days of each month: February's rate is its total over 28 days.
    let run = chokepoint::output::read::RunFolder::open(&base).unwrap();
    let s = chokepoint::analysis::plot::series(&run, "exports:ndfeb_magnet", None).unwrap();
    let flows = read_table(&base.join("flows.arrow"));
    let (ex, com, date, q) = (
        strs(&flows, "exporter"),
        strs(&flows, "commodity"),
        i32s(&flows, "date"),
        f64s(&flows, "quantity"),
    );
    let feb: f64 = (0..q.len())
        .filter(|&k| com[k] == "ndfeb_magnet" && year_month(date[k]) == (2025, 2) && !ex[k].is_empty())
        .map(|k| q[k])
        .sum();
    let rate = s[""][&(2025 * 12 + 1)];
    assert!((rate - feb / 28.0).abs() <= 1e-9 * feb, "{rate} vs {}", feb / 28.0);
    // Exports of all goods are one line per good; adding them up by nation is refused.
    let svg = dir.path().join("x.svg");
    let o = chokepoint(&[
        "plot",
        base.to_str().unwrap(),
        "--metric",
        "exports",
        "--out",
        svg.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(
        text.contains("exports (t per day)") && text.lines().any(|l| l.trim() == "month"),
        "units and an x label"
    );
    assert!(
        text.contains("base ndfeb_magnet") && text.contains("base re_concentrate"),
        "a line per good"
    );
    let o = chokepoint(&[
        "plot",
        base.to_str().unwrap(),
        "--metric",
        "exports",
        "--by",
        "nation",
        "--out",
        svg.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&o.stderr).contains("use exports:<commodity> --by nation"));
    // A sweep's paired differences against its baseline: the policy minus the same seed's
    // baseline, so the baseline itself is not drawn, and shortfalls only rise.
    let sweep = dir.path().join("sweep");
    let o = chokepoint(&[
        "sweep",
        "models/baseline.ron",
        "models/april_2025.ron",
        "--seeds",
        "3",
        "--until",
        "2025-08-31",
        "--keep",
        "groups",
        "--out",
        sweep.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = chokepoint(&[
        "plot",
        sweep.to_str().unwrap(),
        "--metric",
        "short:vehicle",
        "--baseline",
        "baseline",
        "--out",
        svg.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(
        text.contains("april_2025 (minus baseline, paired: median, 90% band, 3 seeds)"),
        "{text}"
    );
    assert!(!text.contains("\nbaseline ("), "the baseline is the reference, not a line");
    assert!(text.contains("vehicle short of inputs (vehicle per day), minus the baseline"));
    let lines = chokepoint::analysis::plot::lines(std::slice::from_ref(&sweep), "short:vehicle", None, Some("baseline")).unwrap();
    assert_eq!(lines.lines.len(), 1);
    let band = lines.lines[0].band.as_ref().unwrap();
    assert!(
        band.iter().all(|b| b.1 >= -1e-9),
        "no month with fewer vehicles short than the baseline: {band:?}"
    );
    assert!(lines.lines[0].points.iter().any(|p| p.1 > 0.0), "the controls leave vehicles short");
    let o = chokepoint(&[
        "plot",
        base.to_str().unwrap(),
        "--metric",
        "short:vehicle",
        "--baseline",
        "baseline",
        "--out",
        svg.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(3), "--baseline is for sweeps");
}
