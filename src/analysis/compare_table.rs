//! The table form of `chokepoint compare`, for people: one block per section, a row per key
//! and a group of columns per run, so that a policy run against its base fits on one screen.
//! The CSV and JSON forms carry every number; the table shows the headline ones.

use crate::analysis::compare::{Indicators, STALL_SHARE};
use crate::model::calendar::Date;
use std::collections::{BTreeMap, BTreeSet};

/// A block of the table: a title, groups of columns (a heading over named sub-columns) and
/// rows of a label and one cell per sub-column. Columns are as wide as their widest cell.
struct Block {
    title: String,
    label: &'static str,
    groups: Vec<(String, Vec<String>)>,
    rows: Vec<(String, Vec<String>)>,
}

impl Block {
    fn render(&self) -> String {
        let subs: Vec<&String> = self.groups.iter().flat_map(|g| &g.1).collect();
        let lw = self.rows.iter().map(|r| r.0.len()).chain([self.label.len()]).max().unwrap_or(0);
        let mut w: Vec<usize> = subs
            .iter()
            .enumerate()
            .map(|(k, s)| self.rows.iter().map(|r| r.1[k].len()).chain([s.len()]).max().unwrap_or(0))
            .collect();
        // A group heading longer than its columns widens its last column.
        let mut k0 = 0;
        for (name, cols) in &self.groups {
            let span = w[k0..k0 + cols.len()].iter().sum::<usize>() + 2 * cols.len().saturating_sub(1);
            if name.len() > span {
                w[k0 + cols.len() - 1] += name.len() - span;
            }
            k0 += cols.len();
        }
        let line = |label: &str, cells: &[String]| {
            let mut s = format!("  {label:<lw$}");
            let mut k = 0;
            for (_, cols) in &self.groups {
                s.push(' ');
                for _ in cols {
                    s.push_str(&format!("  {:>width$}", cells[k], width = w[k]));
                    k += 1;
                }
            }
            s.trim_end().to_string() + "\n"
        };
        let mut s = format!("\n{}\n", self.title);
        // The group headings, each left-aligned over its columns.
        let mut head = format!("  {:<lw$}", self.label);
        let mut k = 0;
        for (name, cols) in &self.groups {
            let span: usize = w[k..k + cols.len()].iter().sum::<usize>() + 2 * cols.len().saturating_sub(1);
            head.push_str(&format!("   {name:<span$}"));
            k += cols.len();
        }
        s.push_str(head.trim_end());
        s.push('\n');
        if subs.iter().any(|x| !x.is_empty()) {
            let names: Vec<String> = subs.iter().map(|x| x.to_string()).collect();
            s.push_str(&line("", &names));
        }
        for (label, cells) in &self.rows {
            s.push_str(&line(label, cells));
        }
        s
    }
}

fn fmt_num(v: Option<f64>) -> String {
    match v {
        None => "-".into(),
        // Counts (applications, days) and large quantities as whole numbers.
        Some(x) if x.abs() >= 100.0 || x.fract() == 0.0 => format!("{x:.0}"),
        Some(x) => format!("{x:.3}"),
    }
}

/// A value, followed for runs after the first by its change against the first run's.
fn with_change(v: Option<f64>, first: Option<f64>, is_first: bool) -> String {
    match (v, first) {
        (Some(v), Some(f)) if !is_first && f.abs() > 1e-9 => format!("{} ({:+.1}%)", fmt_num(Some(v)), 100.0 * (v - f) / f),
        _ => fmt_num(v),
    }
}

/// A human-readable table of the runs' indicators, the first run being the reference.
pub fn to_table(all: &[Indicators]) -> String {
    let runs: Vec<&str> = all.iter().map(|i| i.run.as_str()).collect();
    let first = &all[0];
    let mut s = format!("runs: {} (differences are against {})\n", runs.join(", "), runs[0]);
    for ind in all {
        s.push_str(&format!(
            "  {}: model {}, seed {}, first control {}\n",
            ind.run,
            ind.model,
            ind.seed,
            ind.first_control.as_deref().unwrap_or("none")
        ));
    }

    let keys: BTreeSet<&String> = all.iter().flat_map(|i| i.downstream.keys()).collect();
    if !keys.is_empty() {
        let rows = keys
            .iter()
            .map(|k| {
                let f = first.downstream.get(*k);
                let cells = all
                    .iter()
                    .enumerate()
                    .flat_map(|(r, ind)| {
                        let d = ind.downstream.get(*k);
                        let first_stall = match d.and_then(|d| d.first_stall.as_ref().map(|t| (t, d.days_to_first_stall))) {
                            Some((t, Some(n))) => format!("{t} (+{n}d)"),
                            Some((t, None)) => t.clone(),
                            None if d.is_some() => "never".into(),
                            None => "-".into(),
                        };
                        [
                            with_change(d.map(|d| d.produced), f.map(|f| f.produced), r == 0),
                            d.map_or("-".into(), |d| d.stall_days.to_string()),
                            first_stall,
                        ]
                    })
                    .collect();
                (k.to_string(), cells)
            })
            .collect();
        s.push_str(
            &Block {
                title: format!(
                    "downstream: final goods made, stalled producer-days (>= {:.0}% of plan lost), first stall (+days since its control)",
                    100.0 * STALL_SHARE
                ),
                label: "good:nation",
                groups: runs
                    .iter()
                    .map(|r| (r.to_string(), vec!["made".into(), "stall days".into(), "first stall".into()]))
                    .collect(),
                rows,
            }
            .render(),
        );
    }

    let goods: BTreeSet<&String> = all.iter().flat_map(|i| i.controlled_exports.keys()).collect();
    if !goods.is_empty() {
        // Monthly in the year of the first control of any run, yearly otherwise.
        let year = all
            .iter()
            .filter_map(|i| i.first_control.as_deref().and_then(Date::parse))
            .map(|d| d.ymd().0)
            .min();
        let period = |month: &str| {
            let y: i32 = month[..4].parse().unwrap_or(0);
            if Some(y) == year {
                month.to_string()
            } else {
                month[..4].to_string()
            }
        };
        // good -> run -> period -> quantity
        let mut q: BTreeMap<&String, Vec<BTreeMap<String, f64>>> = BTreeMap::new();
        let mut periods: BTreeSet<String> = BTreeSet::new();
        for g in &goods {
            let per_run = all
                .iter()
                .map(|ind| {
                    let mut m: BTreeMap<String, f64> = BTreeMap::new();
                    for (month, v) in ind.controlled_exports.get(*g).into_iter().flatten() {
                        let p = period(month);
                        periods.insert(p.clone());
                        *m.entry(p).or_default() += v;
                    }
                    m
                })
                .collect();
            q.insert(g, per_run);
        }
        let rows = periods
            .iter()
            .map(|p| {
                let cells = goods
                    .iter()
                    .flat_map(|g| {
                        let per_run = &q[g];
                        let f = per_run[0].get(p).copied().unwrap_or(0.0);
                        (0..all.len())
                            .map(|r| with_change(Some(per_run[r].get(p).copied().unwrap_or(0.0)), Some(f), r == 0))
                            .collect::<Vec<_>>()
                    })
                    .collect();
                (p.clone(), cells)
            })
            .collect();
        s.push_str(
            &Block {
                title: "controlled exports (units; monthly in the year of the first control, yearly otherwise)".into(),
                label: "period",
                groups: goods
                    .iter()
                    .map(|g| (g.to_string(), runs.iter().map(|r| r.to_string()).collect()))
                    .collect(),
                rows,
            }
            .render(),
        );
    }

    let commodities: BTreeSet<&String> = all.iter().flat_map(|i| i.prices.keys()).collect();
    if !commodities.is_empty() {
        let rows = commodities
            .iter()
            .map(|c| {
                let f = first.prices.get(*c);
                let cells = all
                    .iter()
                    .enumerate()
                    .flat_map(|(r, ind)| {
                        let p = ind.prices.get(*c);
                        [
                            with_change(p.map(|p| p.peak_price), f.map(|f| f.peak_price), r == 0),
                            fmt_num(p.and_then(|p| p.peak_ratio)),
                        ]
                    })
                    .collect();
                (c.to_string(), cells)
            })
            .collect();
        s.push_str(
            &Block {
                title: "prices: peak price (USD per unit) and peak outside/inside price ratio".into(),
                label: "commodity",
                groups: runs
                    .iter()
                    .map(|r| (r.to_string(), vec!["peak price".into(), "peak ratio".into()]))
                    .collect(),
                rows,
            }
            .render(),
        );
    }

    /// A licence statistic: its name and how to read it off a run.
    type Statistic = (&'static str, fn(&Indicators) -> String);
    let lic: [Statistic; 4] = [
        ("applications", |i| i.licences.applications.to_string()),
        ("approval share", |i| fmt_num(i.licences.approval_share)),
        ("median review days", |i| fmt_num(i.licences.median_review_days)),
        ("p95 review days", |i| fmt_num(i.licences.p95_review_days)),
    ];
    s.push_str(
        &Block {
            title: "licences".into(),
            label: "",
            groups: runs.iter().map(|r| (r.to_string(), vec![String::new()])).collect(),
            rows: lic
                .iter()
                .map(|(name, get)| (name.to_string(), all.iter().map(get).collect()))
                .collect(),
        }
        .render(),
    );
    s
}
