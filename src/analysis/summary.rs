//! `chokepoint validate`: a one-screen summary of a model's world and its starting steady state.

use crate::model::{Model, limits};
use crate::world::network::Network;
use std::collections::BTreeMap;
use std::fmt::Write;

/// The summary text; warnings flag firms whose steady-state output exceeds their capacity.
pub fn summarize(model: &Model, net: &Network) -> String {
    summarize_estimated(model, net, limits::estimate(model))
}

/// [`summarize`] with the run's size estimate `e` (for a generated world, the one that charges
/// its spec's text: `run::Resolved::estimate`).
pub fn summarize_estimated(model: &Model, net: &Network, e: limits::Estimate) -> String {
    let mut s = String::new();
    let start = &model.calendar.start;
    let _ = writeln!(
        s,
        "model `{}`: {} to {}, {} day(s) per tick, seed {}",
        model.name, start, model.calendar.end, model.calendar.tick_days, model.seed
    );
    let _ = writeln!(
        s,
        "{} commodities, {} nations in {} price regions, {} firms, {} routes",
        net.commodities.len(),
        net.nations.len(),
        net.regions.len(),
        net.firms.len(),
        model.routes.links.len()
    );
    let mut by_role: BTreeMap<&str, BTreeMap<&str, usize>> = BTreeMap::new();
    for f in &model.firms {
        *by_role.entry(&f.role).or_default().entry(&f.nation).or_default() += 1;
    }
    let _ = writeln!(s, "\nfirms by role and nation:");
    for (role, ns) in &by_role {
        let list: Vec<String> = ns.iter().map(|(n, k)| format!("{n} {k}")).collect();
        let _ = writeln!(s, "  {role:<22} {}", list.join(", "));
    }
    let _ = writeln!(s, "\nsteady state at the start (per year = per day x 365):");
    let _ = writeln!(
        s,
        "  {:<16} {:>6} {:>14} {:>14} {:>6}  largest producer nations",
        "commodity", "unit", "output/yr", "capacity/yr", "use%"
    );
    for (c, id) in net.commodities.iter().enumerate() {
        // Traders pass goods through and make none.
        let firms: Vec<usize> = (0..net.firms.len())
            .filter(|&f| net.firm_output[f] as usize == c && !crate::model::check::is_trader(&model.firms[f]))
            .collect();
        let out: f64 = firms.iter().map(|&f| net.steady_output[f]).sum::<f64>() * 365.0;
        let cap: f64 = firms.iter().map(|&f| model.firms[f].capacity_per_day).sum::<f64>() * 365.0;
        let mut by_nation: BTreeMap<u16, f64> = BTreeMap::new();
        for &f in &firms {
            *by_nation.entry(net.firm_nation[f]).or_default() += net.steady_output[f] * 365.0;
        }
        let mut top: Vec<(u16, f64)> = by_nation.into_iter().collect();
        top.sort_by(|a, b| b.1.total_cmp(&a.1));
        let tops: Vec<String> = top
            .iter()
            .take(3)
            .filter(|x| x.1 > 0.0)
            .map(|(n, q)| format!("{} {:.0}%", net.nations[*n as usize], 100.0 * q / out.max(1e-300)))
            .collect();
        let util = if cap > 0.0 { 100.0 * out / cap } else { 0.0 };
        let _ = writeln!(
            s,
            "  {id:<16} {:>6} {:>14} {:>14} {:>6}  {}",
            net.units[c],
            quantity(out),
            quantity(cap),
            percent(util / 100.0),
            tops.join(", ")
        );
    }
    let mut exports: BTreeMap<(u16, u16), f64> = BTreeMap::new();
    for (&(e, _, c), &q) in &net.steady_flows {
        *exports.entry((e, c)).or_default() += q * 365.0;
    }
    let _ = writeln!(s, "\nlargest cross-border flows per year:");
    let mut ex: Vec<((u16, u16), f64)> = exports.into_iter().collect();
    ex.sort_by(|a, b| b.1.total_cmp(&a.1));
    for ((e, c), q) in ex.iter().take(8) {
        let _ = writeln!(
            s,
            "  {:<4} exports {:>12} {} of {}",
            net.nations[*e as usize],
            quantity(*q),
            net.units[*c as usize],
            net.commodities[*c as usize]
        );
    }
    let over: Vec<String> = (0..net.firms.len())
        .filter(|&f| net.steady_output[f] > model.firms[f].capacity_per_day * (1.0 + 1e-9))
        .map(|f| {
            let cap = model.firms[f].capacity_per_day;
            let share = if cap > 0.0 {
                format!("{} of capacity", percent(net.steady_output[f] / cap))
            } else {
                "no capacity".to_string()
            };
            format!("{} ({share})", net.firms[f])
        })
        .collect();
    if !over.is_empty() {
        let _ = writeln!(s, "\nwarning: orders at the start exceed capacity at: {}", over.join(", "));
    }
    policies(&mut s, model);
    for w in crate::model::check::role_warnings(model) {
        let _ = writeln!(s, "\nwarning: {w}");
    }
    let _ = writeln!(
        s,
        "\nestimated output {} (uncompressed; zstd files are several times smaller), peak memory {} ({} ticks)",
        limits::fmt_bytes(e.output_bytes),
        limits::fmt_bytes(e.memory_bytes),
        e.ticks
    );
    if let Err(msg) = limits::check_limits(&e, limits::DEFAULT_MAX_OUTPUT_BYTES, limits::DEFAULT_MAX_MEMORY_BYTES) {
        let _ = writeln!(s, "warning: {msg}");
    }
    s
}

/// The model's policies: export controls, tariffs, dated events and reactive rules, each on
/// one line (actions and conditions as they are written in a model file).
fn policies(s: &mut String, model: &Model) {
    let p = &model.policies;
    if p.controls.is_empty() && p.tariffs.is_empty() && p.events.is_empty() && p.rules.is_empty() {
        let _ = writeln!(s, "\npolicies: none");
        return;
    }
    let _ = writeln!(
        s,
        "\npolicies: {} export control(s), {} tariff(s), {} event(s), {} rule(s)",
        p.controls.len(),
        p.tariffs.len(),
        p.events.len(),
        p.rules.len()
    );
    for c in &p.controls {
        let goods: Vec<String> = c.commodities.iter().map(|(g, share)| format!("{g} {}", percent(*share))).collect();
        let _ = writeln!(
            s,
            "  control {} ({}, {} at the start): {}; review {:.0} working days on average, approval civil {} defence {}, valid {} days",
            c.id,
            c.nation,
            if c.active { "in force" } else { "not in force" },
            goods.join(", "),
            c.review_working_days.mean(),
            c.approval.civil,
            c.approval.defence,
            c.validity_days
        );
    }
    for t in &p.tariffs {
        let _ = writeln!(
            s,
            "  tariff {} on {} from {}: {}",
            t.importer,
            t.commodity,
            t.origin,
            percent(t.rate)
        );
    }
    for e in &p.events {
        let announced = e.announced.as_ref().map(|a| format!(" (announced {a})")).unwrap_or_default();
        let _ = writeln!(s, "  event {}{announced} {}: {}", e.date, e.nation, ron(&e.action));
    }
    for r in &p.rules {
        let _ = writeln!(
            s,
            "  rule {} ({}): when {} for {} days, then {}; cooldown {} days",
            r.id,
            r.nation,
            ron(&r.when),
            r.for_days,
            ron(&r.then),
            r.cooldown_days
        );
    }
}

/// A model value written back as RON on one line, as in a model file.
fn ron<T: serde::Serialize>(v: &T) -> String {
    ron::to_string(v).unwrap_or_else(|e| format!("<{e}>"))
}

/// A quantity in whole units, in scientific notation once it is longer than 12 digits.
fn quantity(q: f64) -> String {
    if q.is_finite() && q.abs() < 1e12 {
        format!("{q:.0}")
    } else {
        format!("{q:.3e}")
    }
}

/// A ratio as a percentage people can read: `250%`, `3.4e5%` for absurd ones.
fn percent(ratio: f64) -> String {
    let p = 100.0 * ratio;
    if p.is_finite() && p < 1e6 {
        format!("{p:.0}%")
    } else {
        format!("{p:.1e}%")
    }
}
