//! `chokepoint compare`: the headline indicators of several runs side by side, and their
//! differences against the first run.
//!
//! Downstream indicators are those of the final producers, whatever their role
//! ([`crate::analysis::downstream`]). "Inside" prices are those of the controlling nation's
//! price region; the outside/inside ratio is the highest price among the other regions over
//! the inside price.

use crate::analysis::downstream::downstream;
pub use crate::analysis::downstream::{Downstream, FinalProducer, STALL_SHARE};
use crate::model::Model;
use crate::model::calendar::Date;
use crate::output::read::{ReadError, RunFolder};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// Licence statistics of a run.
#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct Licences {
    pub applications: usize,
    pub approved: usize,
    pub denied: usize,
    pub pending: usize,
    /// approved / (approved + denied).
    pub approval_share: Option<f64>,
    /// Days from filing to decision, over decided applications (nearest-rank percentiles).
    pub median_review_days: Option<f64>,
    pub p95_review_days: Option<f64>,
}

/// Peak of a commodity's prices.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PricePeak {
    pub peak_price: f64,
    pub peak_region: String,
    pub peak_date: String,
    /// Highest outside/inside price ratio, and when.
    pub peak_ratio: Option<f64>,
    pub peak_ratio_date: Option<String>,
}

/// Everything `compare` reports about one run.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Indicators {
    pub run: String,
    pub model: String,
    pub seed: u64,
    /// Date the first export control took effect, if any.
    pub first_control: Option<String>,
    /// `"commodity:nation"` of every final good -> what its producers made and lost.
    pub downstream: BTreeMap<String, Downstream>,
    /// Firm id of every final producer -> its stalls.
    pub final_producers: BTreeMap<String, FinalProducer>,
    /// (exporter, commodity) -> month (YYYY-MM) -> quantity, for controlled goods of the
    /// controlling nations of any compared run.
    pub controlled_exports: BTreeMap<String, BTreeMap<String, f64>>,
    pub prices: BTreeMap<String, PricePeak>,
    pub licences: Licences,
}

/// The controlling nations and commodities named by any of the models' export controls.
pub fn controlled_goods<'a>(models: impl IntoIterator<Item = &'a Model>) -> BTreeSet<(String, String)> {
    models
        .into_iter()
        .flat_map(|m| {
            m.policies
                .controls
                .iter()
                .flat_map(|c| c.commodities.keys().map(move |k| (c.nation.clone(), k.clone())))
        })
        .collect()
}

fn date_str(d: i32) -> String {
    Date(d).to_string()
}

/// Nearest-rank percentile of sorted values.
pub fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[rank - 1])
}

/// The name that stands for all nations together in downstream keys (`vehicle:world`) and
/// summary columns (lower case, so it does not read as a nation id).
pub const WORLD: &str = "world";

/// `downstream` with a `<good>:world` entry per final good: units made and short and stalled
/// producer-days summed over nations, and the first stall that came soonest after its control
/// (the earliest stall when none is counted from a control).
pub fn with_world(mut downstream: BTreeMap<String, Downstream>) -> BTreeMap<String, Downstream> {
    let mut world: BTreeMap<String, Downstream> = BTreeMap::new();
    for d in downstream.values() {
        let w = world
            .entry(d.commodity.clone())
            .or_insert_with(|| Downstream::nothing_yet(&d.commodity, WORLD, &d.unit));
        w.produced += d.produced;
        w.short += d.short;
        w.stall_days += d.stall_days;
        let sooner = match (d.days_to_first_stall, w.days_to_first_stall) {
            (Some(a), Some(b)) => a < b,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => d.first_stall.is_some() && (w.first_stall.is_none() || d.first_stall < w.first_stall),
        };
        if sooner {
            w.first_stall = d.first_stall.clone();
            w.days_to_first_stall = d.days_to_first_stall;
            w.stall_control = d.stall_control.clone();
            w.stall_control_date = d.stall_control_date.clone();
        }
    }
    for (g, w) in world {
        downstream.insert(format!("{g}:{WORLD}"), w);
    }
    downstream
}

/// How the runs differ from the first in what they simulate, beyond policy: calendar (first and
/// last day, tick length) and world (firms and nations). Comparing such runs day by day or
/// nation by nation mixes their differences into the policy's effect, so `compare` warns.
pub fn differences(runs: &[RunFolder]) -> Vec<String> {
    let Some(first) = runs.first() else { return Vec::new() };
    let calendar = |r: &RunFolder| {
        (
            r.manifest["start"].as_str().unwrap_or("").to_string(),
            r.manifest["end"].as_str().unwrap_or("").to_string(),
            r.manifest["tick_days"].as_u64().unwrap_or(0),
        )
    };
    let world = |r: &RunFolder| -> (BTreeSet<String>, BTreeSet<String>) {
        (
            r.model
                .firms
                .iter()
                .map(|f| format!("{} ({}, {})", f.id, f.nation, f.role))
                .collect(),
            r.model.nations.iter().map(|n| n.id.clone()).collect(),
        )
    };
    let (c0, w0) = (calendar(first), world(first));
    let mut out = Vec::new();
    for r in &runs[1..] {
        let c = calendar(r);
        if c != c0 {
            out.push(format!(
                "{} covers {} to {} in ticks of {} day(s), {} covers {} to {} in ticks of {}: totals cover different periods",
                r.label(),
                c.0,
                c.1,
                c.2,
                first.label(),
                c0.0,
                c0.1,
                c0.2
            ));
        }
        let w = world(r);
        if w != w0 {
            let only: Vec<&String> =
                w.0.symmetric_difference(&w0.0)
                    .chain(w.1.symmetric_difference(&w0.1))
                    .take(4)
                    .collect();
            out.push(format!(
                "{} and {} simulate different worlds (firms or nations differ: {}{}): differences are not the policy's alone",
                first.label(),
                r.label(),
                only.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", "),
                if only.len() == 4 { ", ..." } else { "" }
            ));
        }
    }
    out
}

/// Computes one run's indicators. `goods` are the controlled (nation, commodity) pairs of all
/// compared runs, so that every run reports the same series.
pub fn indicators(run: &RunFolder, goods: &BTreeSet<(String, String)>) -> Result<Indicators, ReadError> {
    let start = Date::parse(&run.model.calendar.start).map(|d| d.0).unwrap_or(0);
    let down = downstream(run)?;

    let flows = run.columns("flows", &["exporter", "commodity", "date", "quantity"])?;
    let (ex, com, fd, q) = (
        flows.codes("exporter")?,
        flows.codes("commodity")?,
        flows.i32s("date")?,
        flows.f64s("quantity")?,
    );
    // Which (exporter code, commodity code) pairs are controlled goods, and which good.
    let goods_list: Vec<&(String, String)> = goods.iter().collect();
    let ncom = com.names.len();
    let mut good_of = vec![None; ex.names.len() * ncom];
    for (k, (n, c)) in goods_list.iter().enumerate() {
        if let (Some(e), Some(c)) = (ex.code(n), com.code(c)) {
            good_of[e as usize * ncom + c as usize] = Some(k);
        }
    }
    // Per good: month (year * 12 + month - 1) -> quantity.
    let mut monthly: Vec<BTreeMap<i32, f64>> = vec![BTreeMap::new(); goods_list.len()];
    for i in 0..ex.len() {
        if let Some(k) = good_of[ex.codes[i] as usize * ncom + com.codes[i] as usize] {
            let (y, m, _) = Date(fd[i].unwrap_or(start)).ymd();
            *monthly[k].entry(y * 12 + m as i32 - 1).or_default() += q[i];
        }
    }
    let controlled_exports: BTreeMap<String, BTreeMap<String, f64>> = goods_list
        .iter()
        .zip(monthly)
        .map(|((n, c), months)| {
            let months = months
                .into_iter()
                .map(|(ym, v)| (format!("{:04}-{:02}", ym.div_euclid(12), ym.rem_euclid(12) + 1), v))
                .collect();
            (format!("{n}:{c}"), months)
        })
        .collect();

    let prices = run.columns("prices", &["region", "commodity", "date", "price"])?;
    let (region, pcom, pd, price) = (
        prices.codes("region")?,
        prices.codes("commodity")?,
        prices.i32s("date")?,
        prices.f64s("price")?,
    );
    let inside: BTreeSet<String> = goods
        .iter()
        .filter_map(|(n, _)| run.model.nations.iter().find(|x| x.id == *n).map(|x| x.price_region.clone()))
        .collect();
    let inside = inside.into_iter().next().map(|r| region.code(&r));
    // Per commodity code: (peak price, its region code, its date).
    let mut peak: Vec<Option<(f64, u32, i32)>> = vec![None; pcom.names.len()];
    // Per (commodity code, day): the inside price and the highest outside price.
    let first_day = pd.iter().map(|d| d.unwrap_or(start)).min().unwrap_or(start);
    let last_day = pd.iter().map(|d| d.unwrap_or(start)).max().unwrap_or(start);
    let ndays = (last_day - first_day + 1).max(0) as usize;
    let mut by_day: Vec<(Option<f64>, f64)> = if inside.is_some() {
        vec![(None, f64::MIN); pcom.names.len() * ndays]
    } else {
        Vec::new()
    };
    for i in 0..region.len() {
        if price[i].is_nan() {
            continue; // a missing price neither peaks nor sets a ratio
        }
        let d = pd[i].unwrap_or(start);
        let c = pcom.codes[i] as usize;
        if peak[c].is_none_or(|p| price[i] > p.0) {
            peak[c] = Some((price[i], region.codes[i], d));
        }
        if let Some(ins) = inside {
            let cell = &mut by_day[c * ndays + (d - first_day) as usize];
            if Some(region.codes[i]) == ins {
                cell.0 = Some(price[i]);
            } else {
                cell.1 = cell.1.max(price[i]);
            }
        }
    }
    let mut peaks: BTreeMap<String, PricePeak> = BTreeMap::new();
    for (c, p) in peak.iter().enumerate() {
        let Some((peak_price, r, d)) = *p else { continue };
        let mut pp = PricePeak {
            peak_price,
            peak_region: region.names[r as usize].clone(),
            peak_date: date_str(d),
            peak_ratio: None,
            peak_ratio_date: None,
        };
        for (k, &(ins, out)) in by_day.iter().skip(c * ndays).take(ndays).enumerate() {
            if let Some(ins) = ins
                && ins > 0.0
                && out > f64::MIN
            {
                let r = out / ins;
                if pp.peak_ratio.is_none_or(|x| r > x) {
                    pp.peak_ratio = Some(r);
                    pp.peak_ratio_date = Some(date_str(first_day + k as i32));
                }
            }
        }
        peaks.insert(pcom.names[c].clone(), pp);
    }

    let lic = run.columns("licenses", &["outcome", "submitted_date", "decided_date"])?;
    let (outcome, sub, dec) = (lic.codes("outcome")?, lic.i32s("submitted_date")?, lic.i32s("decided_date")?);
    let mut l = Licences {
        applications: outcome.len(),
        ..Default::default()
    };
    let (approved, denied) = (outcome.code("approved"), outcome.code("denied"));
    let mut review: Vec<f64> = Vec::new();
    for i in 0..outcome.len() {
        let o = Some(outcome.codes[i]);
        if o == approved {
            l.approved += 1;
        } else if o == denied {
            l.denied += 1;
        } else {
            l.pending += 1;
        }
        if let (Some(s), Some(d)) = (sub[i], dec[i]) {
            review.push(f64::from(d - s));
        }
    }
    if l.approved + l.denied > 0 {
        l.approval_share = Some(l.approved as f64 / (l.approved + l.denied) as f64);
    }
    review.sort_by(f64::total_cmp);
    l.median_review_days = percentile(&review, 0.5);
    l.p95_review_days = percentile(&review, 0.95);

    Ok(Indicators {
        run: run.label(),
        model: run.model.name.clone(),
        seed: run.model.seed,
        first_control: down.first_control.map(date_str),
        downstream: with_world(down.downstream),
        final_producers: down.final_producers,
        controlled_exports,
        prices: peaks,
        licences: l,
    })
}

/// One row of the long form used by the CSV output: which section, which run, which keys,
/// the value, and (for numeric indicators) its difference from the first run.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Row {
    pub section: &'static str,
    pub run: String,
    pub key: String,
    pub indicator: &'static str,
    pub value: Option<f64>,
    pub text: Option<String>,
    pub vs_first: Option<f64>,
    pub pct_of_first: Option<f64>,
}

fn push(rows: &mut Vec<Row>, section: &'static str, run: &str, key: &str, indicator: &'static str, value: Option<f64>, first: Option<f64>) {
    let (vs_first, pct) = match (value, first) {
        // A percentage of (nearly) nothing means nothing: none below 1e-9 of the value's unit.
        (Some(v), Some(f)) => (Some(v - f), if f.abs() > 1e-9 { Some(100.0 * (v - f) / f) } else { None }),
        _ => (None, None),
    };
    rows.push(Row {
        section,
        run: run.to_string(),
        key: key.to_string(),
        indicator,
        value,
        text: None,
        vs_first,
        pct_of_first: pct,
    });
}

fn push_text(
    rows: &mut Vec<Row>,
    section: &'static str,
    run: &str,
    key: &str,
    indicator: &'static str,
    text: Option<String>,
    value: Option<f64>,
) {
    rows.push(Row {
        section,
        run: run.to_string(),
        key: key.to_string(),
        indicator,
        value,
        text,
        vs_first: None,
        pct_of_first: None,
    });
}

/// The comparison in long form, runs in the order given, the first being the reference.
pub fn rows(all: &[Indicators]) -> Vec<Row> {
    let mut rows = Vec::new();
    let first = &all[0];
    for ind in all {
        let keys: BTreeSet<&String> = first.downstream.keys().chain(ind.downstream.keys()).collect();
        for k in keys {
            let v = ind.downstream.get(k);
            let f = first.downstream.get(k);
            let produced = v.map(|v| v.produced);
            push(&mut rows, "downstream", &ind.run, k, "produced", produced, f.map(|f| f.produced));
            // Units lost against the first run: its output minus this run's.
            let lost = match (f, v) {
                (Some(f), Some(v)) => Some(f.produced - v.produced),
                _ => None,
            };
            rows.push(Row {
                section: "downstream",
                run: ind.run.clone(),
                key: k.clone(),
                indicator: "lost_vs_first",
                value: lost,
                text: None,
                vs_first: None,
                pct_of_first: match (lost, f) {
                    (Some(l), Some(f)) if f.produced > 0.0 => Some(100.0 * l / f.produced),
                    _ => None,
                },
            });
            push(
                &mut rows,
                "downstream",
                &ind.run,
                k,
                "short_of_inputs",
                v.map(|v| v.short),
                f.map(|f| f.short),
            );
            push(
                &mut rows,
                "downstream",
                &ind.run,
                k,
                "stall_days",
                v.map(|v| f64::from(v.stall_days)),
                f.map(|f| f64::from(f.stall_days)),
            );
            push_text(
                &mut rows,
                "downstream",
                &ind.run,
                k,
                "first_stall",
                v.and_then(|v| v.first_stall.clone()),
                v.and_then(|v| v.days_to_first_stall).map(f64::from),
            );
        }
        for (firm, p) in &ind.final_producers {
            let f = first.final_producers.get(firm);
            push(
                &mut rows,
                "final_producers",
                &ind.run,
                firm,
                "stall_days",
                Some(f64::from(p.stall_days)),
                f.map(|f| f64::from(f.stall_days)),
            );
            push_text(
                &mut rows,
                "final_producers",
                &ind.run,
                firm,
                "first_stall",
                p.first_stall.clone(),
                p.days_to_first_stall.map(f64::from),
            );
        }
        for (good, months) in &ind.controlled_exports {
            let fm = first.controlled_exports.get(good);
            // Months with no exports in one run still get a row (0), so series line up.
            let all: BTreeSet<&String> = months.keys().chain(fm.into_iter().flat_map(|f| f.keys())).collect();
            for m in all {
                let q = months.get(m).copied().unwrap_or(0.0);
                let f = fm.map(|fm| fm.get(m).copied().unwrap_or(0.0));
                push(
                    &mut rows,
                    "controlled_exports",
                    &ind.run,
                    &format!("{good}:{m}"),
                    "quantity",
                    Some(q),
                    f,
                );
            }
        }
        for (c, p) in &ind.prices {
            let fp = first.prices.get(c);
            push(
                &mut rows,
                "prices",
                &ind.run,
                c,
                "peak_price",
                Some(p.peak_price),
                fp.map(|f| f.peak_price),
            );
            push(
                &mut rows,
                "prices",
                &ind.run,
                c,
                "peak_outside_inside_ratio",
                p.peak_ratio,
                fp.and_then(|f| f.peak_ratio),
            );
        }
        let l = &ind.licences;
        let fl = &first.licences;
        push(
            &mut rows,
            "licences",
            &ind.run,
            "all",
            "applications",
            Some(l.applications as f64),
            Some(fl.applications as f64),
        );
        push(
            &mut rows,
            "licences",
            &ind.run,
            "all",
            "approval_share",
            l.approval_share,
            fl.approval_share,
        );
        push(
            &mut rows,
            "licences",
            &ind.run,
            "all",
            "median_review_days",
            l.median_review_days,
            fl.median_review_days,
        );
        push(
            &mut rows,
            "licences",
            &ind.run,
            "all",
            "p95_review_days",
            l.p95_review_days,
            fl.p95_review_days,
        );
    }
    rows
}

/// CSV of [`rows`].
pub fn to_csv(rows: &[Row]) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let opt = |v: Option<f64>| v.map(|x| format!("{x}")).unwrap_or_default();
    let _ = w.write_record(["section", "run", "key", "indicator", "value", "text", "vs_first", "pct_of_first"]);
    for r in rows {
        let _ = w.write_record([
            r.section.to_string(),
            r.run.clone(),
            r.key.clone(),
            r.indicator.to_string(),
            opt(r.value),
            r.text.clone().unwrap_or_default(),
            opt(r.vs_first),
            opt(r.pct_of_first),
        ]);
    }
    String::from_utf8(w.into_inner().expect("writing to memory")).expect("utf-8 in, utf-8 out")
}
