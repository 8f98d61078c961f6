//! Downstream indicators: what the final producers of a model made and lost, whatever their
//! role. A final producer is a firm whose output commodity has `final_demand: true` (automakers
//! making vehicles, device makers making gallium devices, ...). Units differ by final good, so
//! totals are kept per (final commodity, nation).
//!
//! A stall is a day on which a final producer loses at least [`STALL_SHARE`] of its planned
//! output for lack of inputs. Days to a stall are counted from the control that caused it: the
//! latest activation, at or before the stall, of an export control whose commodities lie
//! upstream of the producer's output (a control in force at the start counts from the start).
//!
//! Runs with every firm's row every tick (`output.firm_rows: "all"`) are read from
//! `firms.arrow`. Runs whose firm rows are thinned are read from `groups.arrow`, whose sums and
//! counts of stalled firms per (nation, role, commodity) and tick give the same totals, stall
//! days and first stalls; per-firm stalls (`final_producers`) are then reported for the firms
//! that have every tick's row (a `sample:F`'s firms), and for no firm at `every:K` or `none`.

use crate::model::calendar::Date;
use crate::model::output::{FirmRowLevel, sampled};
use crate::model::{Action, Model};
use crate::output::read::{ReadError, RunFolder};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// Share of planned output lost that makes a day a stall (defined with the recorder, which
/// counts stalled firms per group).
pub use crate::world::records::STALL_SHARE;

/// What the final producers of one final good in one nation made and lost over a run.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Downstream {
    pub commodity: String,
    pub nation: String,
    /// Unit of the final good (`vehicle`, `t`, ...): `produced` and `short` are in it.
    pub unit: String,
    /// Units made over the run.
    pub produced: f64,
    /// Planned units not made for lack of inputs.
    pub short: f64,
    /// Stalled producer-days (a day counts once per producer that stalled on it).
    pub stall_days: u32,
    /// First day any of these producers stalled, if any.
    pub first_stall: Option<String>,
    /// Days from the activation of the control that caused the first stall to that stall.
    pub days_to_first_stall: Option<i32>,
    /// That control's id, and the date of its activation the days count from.
    pub stall_control: Option<String>,
    pub stall_control_date: Option<String>,
}

impl Downstream {
    /// A good's totals in a nation before anything is counted: nothing made, short or stalled.
    pub fn nothing_yet(commodity: &str, nation: &str, unit: &str) -> Downstream {
        Downstream {
            commodity: commodity.to_string(),
            nation: nation.to_string(),
            unit: unit.to_string(),
            produced: 0.0,
            short: 0.0,
            stall_days: 0,
            first_stall: None,
            days_to_first_stall: None,
            stall_control: None,
            stall_control_date: None,
        }
    }
}

/// One final producer's stalls over a run.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FinalProducer {
    pub commodity: String,
    pub nation: String,
    pub role: String,
    pub produced: f64,
    pub short: f64,
    pub stall_days: u32,
    pub first_stall: Option<String>,
    pub days_to_first_stall: Option<i32>,
    pub stall_control: Option<String>,
    pub stall_control_date: Option<String>,
}

/// The downstream indicators of one run.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DownstreamIndicators {
    /// `"commodity:nation"` -> totals.
    pub downstream: BTreeMap<String, Downstream>,
    /// Firm id -> its stalls.
    pub final_producers: BTreeMap<String, FinalProducer>,
    /// The first day any export control was in force (the start date if one was in force
    /// at the start).
    pub first_control: Option<i32>,
}

/// One row of `events.arrow`, as far as activations need it.
#[derive(Debug, Clone, PartialEq)]
pub struct EventRow {
    pub tick: i32,
    /// Days since 1970-01-01.
    pub date: i32,
    pub kind: String,
    /// `scheduled`, or `rule:<id>`.
    pub source: String,
}

/// The final commodities of a model, in file order.
pub fn final_goods(model: &Model) -> Vec<String> {
    model.commodities.iter().filter(|c| c.final_demand).map(|c| c.id.clone()).collect()
}

/// Every commodity `good` is made from, directly or further up, and `good` itself: the
/// closure of the commodity graph that the recipes and product lines of all firms draw.
pub fn upstream_of(model: &Model, good: &str) -> BTreeSet<String> {
    let mut inputs: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for f in &model.firms {
        let e = inputs.entry(f.output.as_str()).or_default();
        e.extend(f.recipe.keys().map(String::as_str));
        e.extend(f.lines.iter().flat_map(|l| l.recipe.keys().map(String::as_str)));
    }
    let mut seen: BTreeSet<String> = BTreeSet::from([good.to_string()]);
    let mut todo = vec![good.to_string()];
    while let Some(c) = todo.pop() {
        for i in inputs.get(c.as_str()).into_iter().flatten() {
            if seen.insert(i.to_string()) {
                todo.push(i.to_string());
            }
        }
    }
    seen
}

/// The commodities each export control covers at any time: those of its `commodities` and
/// those a scheduled event or a rule brings under it (`SetCoverage`).
fn covered(model: &Model) -> BTreeMap<&str, BTreeSet<&str>> {
    let mut out: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for c in &model.policies.controls {
        out.entry(c.id.as_str())
            .or_default()
            .extend(c.commodities.keys().map(String::as_str));
    }
    let actions = model
        .policies
        .events
        .iter()
        .map(|e| &e.action)
        .chain(model.policies.rules.iter().map(|r| &r.then));
    for a in actions {
        if let Action::SetCoverage { control, commodity, .. } = a {
            out.entry(control.as_str()).or_default().insert(commodity.as_str());
        }
    }
    out
}

/// The days on which each export control came into force: the start date if it was active
/// at the start, and every `activate` event that found it inactive. Each row of `events` is
/// matched to the model's action that caused it: a `scheduled` row to the model's scheduled
/// events in the order the run applies them (by tick, same-tick events in file order), a
/// `rule:<id>` row to that rule's action. An error says where the events and the model part.
pub fn activations(model: &Model, events: &[EventRow]) -> Result<BTreeMap<String, Vec<i32>>, String> {
    let start = Date::parse(&model.calendar.start)
        .ok_or_else(|| format!("calendar.start `{}` is not a date", model.calendar.start))?
        .0;
    let tick_days = model.calendar.tick_days.max(1) as i32;
    let mut scheduled: Vec<(i32, &Action)> = Vec::new();
    for e in &model.policies.events {
        let d = Date::parse(&e.date)
            .ok_or_else(|| format!("event date `{}` is not a date", e.date))?
            .0;
        scheduled.push(((d - start) / tick_days, &e.action));
    }
    scheduled.sort_by_key(|e| e.0); // stable, as the run sorts them
    let mut scheduled = scheduled.into_iter();
    let mut active: BTreeMap<&str, bool> = model.policies.controls.iter().map(|c| (c.id.as_str(), c.active)).collect();
    let mut out: BTreeMap<String, Vec<i32>> = BTreeMap::new();
    for c in model.policies.controls.iter().filter(|c| c.active) {
        out.entry(c.id.clone()).or_default().push(start);
    }
    // An announcement changes no regime: it is not the scheduled event it announces.
    for row in events.iter().filter(|r| r.kind != "announce") {
        let action = if row.source == "scheduled" {
            match scheduled.next() {
                Some((tick, a)) if tick == row.tick => a,
                _ => {
                    return Err(format!(
                        "events.arrow has a scheduled `{}` on tick {} that model.ron does not schedule then",
                        row.kind, row.tick
                    ));
                }
            }
        } else if let Some(id) = row.source.strip_prefix("rule:") {
            match model.policies.rules.iter().find(|r| r.id == id) {
                Some(r) => &r.then,
                None => return Err(format!("events.arrow names rule `{id}`, which model.ron does not have")),
            }
        } else {
            return Err(format!("events.arrow: unknown source `{}`", row.source));
        };
        match action {
            Action::Activate(id) if row.kind == "activate" => {
                let was = active.entry(id.as_str()).or_insert(false);
                if !*was {
                    *was = true;
                    out.entry(id.clone()).or_default().push(row.date);
                }
            }
            Action::Deactivate(id) if row.kind == "deactivate" => {
                active.insert(id.as_str(), false);
            }
            Action::Activate(_) | Action::Deactivate(_) => {
                return Err(format!(
                    "events.arrow has `{}` on tick {} where model.ron has {action:?}",
                    row.kind, row.tick
                ));
            }
            _ if row.kind == "activate" || row.kind == "deactivate" => {
                return Err(format!(
                    "events.arrow has `{}` on tick {} where model.ron has {action:?}",
                    row.kind, row.tick
                ));
            }
            _ => {}
        }
    }
    Ok(out)
}

/// For each final good: the activations of the controls upstream of it, as (day, control),
/// sorted by day.
pub fn causes(model: &Model, activations: &BTreeMap<String, Vec<i32>>) -> BTreeMap<String, Vec<(i32, String)>> {
    let covered = covered(model);
    final_goods(model)
        .into_iter()
        .map(|g| {
            let up = upstream_of(model, &g);
            let mut acts: Vec<(i32, String)> = activations
                .iter()
                .filter(|(id, _)| covered.get(id.as_str()).is_some_and(|cs| cs.iter().any(|c| up.contains(*c))))
                .flat_map(|(id, days)| days.iter().map(move |d| (*d, id.clone())))
                .collect();
            acts.sort();
            (g, acts)
        })
        .collect()
}

/// The control that caused a stall on `day`: the latest activation at or before it (ties go
/// to the control whose id sorts first).
pub fn cause(acts: &[(i32, String)], day: i32) -> Option<&(i32, String)> {
    let n = acts.partition_point(|a| a.0 <= day);
    let latest = acts[..n].last()?.0;
    acts[..n].iter().find(|a| a.0 == latest)
}

/// Reads the events table into [`EventRow`]s.
fn event_rows(run: &RunFolder, start: i32) -> Result<Vec<EventRow>, ReadError> {
    let t = run.columns("events", &["tick", "date", "kind", "source"])?;
    let (tick, date, kind, source) = (t.i32s("tick")?, t.i32s("date")?, t.codes("kind")?, t.strings("source")?);
    Ok((0..kind.len())
        .map(|i| EventRow {
            tick: tick[i].unwrap_or(0),
            date: date[i].unwrap_or(start),
            kind: kind.name(i).to_string(),
            source: source[i].clone(),
        })
        .collect())
}

/// Computes the downstream indicators of one run from its model, `firms.arrow` and
/// `events.arrow`.
pub fn downstream(run: &RunFolder) -> Result<DownstreamIndicators, ReadError> {
    let model = &run.model;
    let start = Date::parse(&model.calendar.start).map(|d| d.0).unwrap_or(0);
    let model_err = |message: String| ReadError {
        path: run.dir.join("events.arrow"),
        message,
    };
    let acts = activations(model, &event_rows(run, start)?).map_err(model_err)?;
    let first_control = acts.values().flatten().min().copied();
    let causes = causes(model, &acts);
    let finals: BTreeSet<String> = final_goods(model).into_iter().collect();

    // Which firms have a row every tick, and so a per-firm tally.
    let level = model.output.firm_rows;
    let has_series = |id: &str| match level {
        FirmRowLevel::All => true,
        FirmRowLevel::Sample(share) => sampled(id, share),
        FirmRowLevel::Every(_) | FirmRowLevel::None => false,
    };
    let tally = if matches!(level, FirmRowLevel::All | FirmRowLevel::Sample(_)) {
        firm_tallies(run, &finals, start)?
    } else {
        vec![Tally::default(); model.firms.len()]
    };
    let groups = if level == FirmRowLevel::All {
        None
    } else {
        Some(group_tallies(run, &finals, start)?)
    };

    let mut out = DownstreamIndicators {
        first_control,
        ..Default::default()
    };
    // Totals per (good, nation), in the model's firm order; the first stall is the earliest
    // of the producers'.
    let mut first: BTreeMap<String, Option<i32>> = BTreeMap::new();
    for (f, t) in model.firms.iter().zip(&tally) {
        if !finals.contains(&f.output) {
            continue;
        }
        let cause = |d: Option<i32>| d.and_then(|d| cause(&causes[&f.output], d).map(|c| (d - c.0, c.1.clone(), c.0)));
        let c = cause(t.first_stall);
        if has_series(&f.id) {
            out.final_producers.insert(
                f.id.clone(),
                FinalProducer {
                    commodity: f.output.clone(),
                    nation: f.nation.clone(),
                    role: f.role.clone(),
                    produced: t.produced,
                    short: t.short,
                    stall_days: t.stall_days,
                    first_stall: t.first_stall.map(|d| Date(d).to_string()),
                    days_to_first_stall: c.as_ref().map(|c| c.0),
                    stall_control: c.as_ref().map(|c| c.1.clone()),
                    stall_control_date: c.as_ref().map(|c| Date(c.2).to_string()),
                },
            );
        }
        let key = format!("{}:{}", f.output, f.nation);
        // From the groups, the (good, nation)'s totals at once; from firms, this firm's share.
        let t = match &groups {
            Some(g) => {
                if out.downstream.contains_key(&key) {
                    continue;
                }
                g.get(&(f.output.clone(), f.nation.clone())).copied().unwrap_or_default()
            }
            None => *t,
        };
        let d = out.downstream.entry(key.clone()).or_insert_with(|| {
            let unit = model
                .commodities
                .iter()
                .find(|c| c.id == f.output)
                .map(|c| c.unit.clone())
                .unwrap_or_default();
            Downstream::nothing_yet(&f.output, &f.nation, &unit)
        });
        d.produced += t.produced;
        d.short += t.short;
        d.stall_days += t.stall_days;
        let e = first.entry(key).or_default();
        if let Some(s) = t.first_stall
            && e.is_none_or(|e| s < e)
        {
            *e = Some(s);
            let c = cause(Some(s));
            d.first_stall = Some(Date(s).to_string());
            d.days_to_first_stall = c.as_ref().map(|c| c.0);
            d.stall_control = c.as_ref().map(|c| c.1.clone());
            d.stall_control_date = c.as_ref().map(|c| Date(c.2).to_string());
        }
    }
    Ok(out)
}

/// What a final producer, or a (good, nation)'s final producers together, made and lost.
#[derive(Clone, Copy, Default)]
struct Tally {
    produced: f64,
    short: f64,
    stall_days: u32,
    first_stall: Option<i32>,
}

/// Each final producer's tally (by model index) from `firms.arrow`; firms without rows
/// keep an empty one.
fn firm_tallies(run: &RunFolder, finals: &BTreeSet<String>, start: i32) -> Result<Vec<Tally>, ReadError> {
    let model = &run.model;
    // Work on dictionary codes, not strings: a run has hundreds of thousands of rows.
    let firms = run.columns("firms", &["firm", "date", "produced", "planned", "shortfall"])?;
    let (firm, date) = (firms.codes("firm")?, firms.i32s("date")?);
    let (produced, planned, short) = (firms.f64s("produced")?, firms.f64s("planned")?, firms.f64s("shortfall")?);
    // Firm code -> index in the model of a final producer.
    let index: std::collections::HashMap<&str, usize> = model
        .firms
        .iter()
        .enumerate()
        .filter(|(_, f)| finals.contains(&f.output))
        .map(|(k, f)| (f.id.as_str(), k))
        .collect();
    // A generated world's model.ron holds its templates: a generated firm `<template>~<k>`
    // counts towards its template.
    let synthetic = model.synthetic.is_some();
    let template_of = |n: &str| -> Option<usize> {
        let id = match n.rsplit_once(crate::model::SYNTHETIC_ID_SEPARATOR) {
            Some((t, _)) if synthetic => t,
            _ => n,
        };
        index.get(id).copied()
    };
    let producer_of: Vec<Option<usize>> = firm.names.iter().map(|n| template_of(n)).collect();
    let mut tally: Vec<Tally> = vec![Tally::default(); model.firms.len()];
    // In a generated world a template stalls on a day when its generated firms together
    // fall short: (template, date) -> (planned, short).
    let mut days: BTreeMap<(usize, i32), (f64, f64)> = BTreeMap::new();
    for i in 0..firm.len() {
        let Some(p) = producer_of[firm.codes[i] as usize] else { continue };
        let t = &mut tally[p];
        t.produced += produced[i];
        t.short += short[i];
        if synthetic {
            let e = days.entry((p, date[i].unwrap_or(start))).or_insert((0.0, 0.0));
            e.0 += planned[i];
            e.1 += short[i];
            continue;
        }
        if planned[i] > 0.0 && short[i] >= STALL_SHARE * planned[i] {
            t.stall_days += 1;
            let d = date[i].unwrap_or(start);
            if t.first_stall.is_none_or(|f| d < f) {
                t.first_stall = Some(d);
            }
        }
    }
    for (&(p, d), &(planned, short)) in &days {
        let t = &mut tally[p];
        if planned > 0.0 && short >= STALL_SHARE * planned {
            t.stall_days += 1;
            if t.first_stall.is_none_or(|f| d < f) {
                t.first_stall = Some(d);
            }
        }
    }
    Ok(tally)
}

/// Each (final good, nation)'s tally from `groups.arrow`: sums over its roles and ticks, its
/// stalled firms counted per day, and the first day with any.
fn group_tallies(run: &RunFolder, finals: &BTreeSet<String>, start: i32) -> Result<BTreeMap<(String, String), Tally>, ReadError> {
    let g = run.columns("groups", &["date", "nation", "commodity", "produced", "shortfall", "firms_stalled"])?;
    let (date, nation, com) = (g.i32s("date")?, g.codes("nation")?, g.codes("commodity")?);
    let (produced, short, stalled) = (g.f64s("produced")?, g.f64s("shortfall")?, g.i64s("firms_stalled")?);
    // Commodity code -> the final good it is, if it is one.
    let is_final: Vec<bool> = com.names.iter().map(|n| finals.contains(n)).collect();
    let mut out: BTreeMap<(String, String), Tally> = BTreeMap::new();
    for i in 0..com.len() {
        if !is_final[com.codes[i] as usize] {
            continue;
        }
        let key = (com.name(i).to_string(), nation.name(i).to_string());
        let t = out.entry(key).or_default();
        t.produced += produced[i];
        t.short += short[i];
        if stalled[i] > 0 {
            t.stall_days += u32::try_from(stalled[i]).unwrap_or(u32::MAX);
            let d = date[i].unwrap_or(start);
            if t.first_stall.is_none_or(|f| d < f) {
                t.first_stall = Some(d);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small world on the shipped baseline's rules: ore -> part -> car (through a product
    /// line), gas -> lamp; ore_ctl in force at the start, lifted and re-activated; gas_ctl
    /// activated on 03-01; `late` never activated, but a rule brings gas under it.
    fn model() -> Model {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models/baseline.ron");
        let mut m = crate::model::load::load(&path).unwrap().0;
        let opts = ron::Options::default().with_default_extension(ron::extensions::Extensions::IMPLICIT_SOME);
        m.calendar.start = "2025-01-01".into();
        m.calendar.tick_days = 1;
        m.commodities = opts
            .from_str(
                r#"[(id: "ore", unit: "t", price_usd: 1.0), (id: "part", unit: "t", price_usd: 1.0),
                    (id: "gas", unit: "t", price_usd: 1.0),
                    (id: "car", unit: "car", final_demand: true, price_usd: 1.0),
                    (id: "lamp", unit: "t", final_demand: true, price_usd: 1.0)]"#,
            )
            .unwrap();
        m.firms = opts
            .from_str(
                r#"[(id: "mine", nation: "CN", role: "miner", output: "ore", capacity_per_day: 1.0),
                    (id: "parts", nation: "CN", role: "refiner", output: "part", capacity_per_day: 1.0, recipe: {"ore": 1.0}),
                    (id: "gasco", nation: "CN", role: "refiner", output: "gas", capacity_per_day: 1.0),
                    (id: "cars", nation: "CN", role: "automaker", output: "car", capacity_per_day: 1.0,
                     lines: [(id: "ev", share: 1.0, recipe: {"part": 1.0})]),
                    (id: "lamps", nation: "CN", role: "lamp_maker", output: "lamp", capacity_per_day: 1.0, recipe: {"gas": 1.0})]"#,
            )
            .unwrap();
        let ctrl = |id: &str, c: &str, active: bool| {
            format!(
                r#"(id: "{id}", nation: "CN", active: {active}, commodities: {{"{c}": 1.0}}, review_working_days: Fixed(1.0), approval: (civil: 1.0, defence: 1.0), validity_days: 30)"#
            )
        };
        let policies = format!(
            r#"(controls: [{}, {}, {}],
                events: [(date: "2025-03-01", nation: "CN", action: Activate("gas_ctl")),
                         (date: "2025-02-01", nation: "CN", action: Deactivate("ore_ctl")),
                         (date: "2025-02-10", nation: "CN", action: Activate("ore_ctl")),
                         (date: "2025-02-20", nation: "CN", action: Activate("ore_ctl"))],
                rules: [(id: "r", nation: "CN", when: TariffAtMost(importer: "CN", origin: "CN", commodity: "ore", rate: 1.0),
                         for_days: 1, then: SetCoverage(control: "late", commodity: "gas", share: 1.0), cooldown_days: 1)])"#,
            ctrl("ore_ctl", "ore", true),
            ctrl("gas_ctl", "gas", false),
            ctrl("late", "lamp", false)
        );
        m.policies = opts.from_str(&policies).unwrap();
        m
    }

    fn day(s: &str) -> i32 {
        Date::parse(s).unwrap().0
    }

    fn row(date: &str, kind: &str, source: &str) -> EventRow {
        EventRow {
            tick: day(date) - day("2025-01-01"),
            date: day(date),
            kind: kind.into(),
            source: source.into(),
        }
    }

    /// The events table of the model above: scheduled events in date order, and one
    /// `set_coverage` of the rule.
    fn rows() -> Vec<EventRow> {
        vec![
            row("2025-02-01", "deactivate", "scheduled"),
            row("2025-02-10", "activate", "scheduled"),
            row("2025-02-15", "set_coverage", "rule:r"),
            row("2025-02-20", "activate", "scheduled"),
            row("2025-03-01", "activate", "scheduled"),
        ]
    }

    #[test]
    fn the_upstream_closure_follows_recipes_and_product_lines() {
        let m = model();
        assert_eq!(upstream_of(&m, "car"), ["car", "ore", "part"].map(String::from).into());
        assert_eq!(upstream_of(&m, "lamp"), ["gas", "lamp"].map(String::from).into());
        // A control covers what a rule brings under it as well as its own list.
        assert_eq!(covered(&m)["late"], ["gas", "lamp"].into());
    }

    #[test]
    fn a_control_comes_into_force_at_the_start_and_when_activated_while_lifted() {
        let a = activations(&model(), &rows()).unwrap();
        // ore_ctl: in force at the start, lifted on 02-01, in force again on 02-10; the
        // activation of 02-20 finds it in force and changes nothing.
        assert_eq!(a["ore_ctl"], vec![day("2025-01-01"), day("2025-02-10")]);
        assert_eq!(a["gas_ctl"], vec![day("2025-03-01")]);
        assert!(!a.contains_key("late"));
    }

    #[test]
    fn days_to_a_stall_count_from_the_latest_upstream_activation_before_it() {
        let m = model();
        let c = causes(&m, &activations(&m, &rows()).unwrap());
        // Cars are made from ore: only ore_ctl counts, not gas_ctl's later activation.
        assert_eq!(cause(&c["car"], day("2025-01-20")), Some(&(day("2025-01-01"), "ore_ctl".into())));
        assert_eq!(cause(&c["car"], day("2025-02-10")), Some(&(day("2025-02-10"), "ore_ctl".into())));
        assert_eq!(cause(&c["car"], day("2025-06-01")), Some(&(day("2025-02-10"), "ore_ctl".into())));
        // Lamps are made from gas: nothing caused a stall before gas_ctl came into force.
        assert_eq!(cause(&c["lamp"], day("2025-02-28")), None);
        assert_eq!(cause(&c["lamp"], day("2025-03-05")), Some(&(day("2025-03-01"), "gas_ctl".into())));
    }

    #[test]
    fn events_that_the_model_does_not_explain_are_an_error() {
        let mut r = rows();
        r[1].tick += 1;
        assert!(activations(&model(), &r).unwrap_err().contains("does not schedule"));
        let mut r = rows();
        r[1].kind = "set_tariff".into();
        assert!(activations(&model(), &r).unwrap_err().contains("Activate"));
        let mut r = rows();
        r[2].source = "rule:nope".into();
        assert!(activations(&model(), &r).unwrap_err().contains("nope"));
    }
}
