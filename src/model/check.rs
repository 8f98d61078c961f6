//! Semantic checks of a parsed model: every id resolves, every number is in its range
//! ([`super::limits`]), the commodity graph has no cycle. Each error points at the offending
//! value: checks name it by a path ([`Seg`]) that [`Source::error_in`] follows inside the
//! element (firm, event, route) that holds it, in the file that wrote it.

use super::calendar::Date;
use super::limits::{self, Bounds, MAX_DAYS};
use super::load::{ModelError, Source};
use super::policy::PRECAUTION_PRICE_FROM;
use super::spans::Seg::{self, F, I, Id, K, Key, Route};
use super::{Firm, Model, Suppliers};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// `output.firm_rows`: every K ≥ 1 ticks (at most [`limits::MAX_FIRM_ROWS_EVERY`]), or a
/// sample of a positive share of firms, at most all of them.
fn check_output(model: &Model, src: &Source) -> Result<(), ModelError> {
    match model.output.firm_rows.range_problem() {
        Some(why) => Err(src.error_in(&[F("output"), F("firm_rows")], format!("output: firm_rows: {why}"))),
        None => Ok(()),
    }
}

/// `base` followed by `rest`.
fn at<'a>(base: &[Seg<'a>], rest: &[Seg<'a>]) -> Vec<Seg<'a>> {
    base.iter().chain(rest).copied().collect()
}

/// `v` within `b`, else an error at `path` (`what` prefixes the message, e.g. "firm `x`: ").
fn range(src: &Source, path: &[Seg], what: &str, name: &str, v: f64, b: Bounds, unit: &str) -> Result<(), ModelError> {
    match b.violation(name, v, unit) {
        Some(msg) => Err(src.error_in(path, format!("{what}{msg}"))),
        None => Ok(()),
    }
}

/// Durations in days: `[0, MAX_DAYS]`.
const DAYS: Bounds = Bounds::closed(0.0, MAX_DAYS);
/// Probabilities and shares: `[0, 1]`.
const SHARE: Bounds = Bounds::closed(0.0, 1.0);

/// Where a firm's recipe names `input`: its own recipe, or the first of its lines that does.
fn recipe_key<'a>(f: &'a Firm, input: &'a str) -> Vec<Seg<'a>> {
    let firm = [F("firms"), Id(&f.id)];
    match f.lines.iter().find(|l| l.recipe.contains_key(input)) {
        Some(l) if f.recipe.is_empty() => at(&firm, &[F("lines"), Id(&l.id), F("recipe"), Key(input)]),
        _ => at(&firm, &[F("recipe"), Key(input)]),
    }
}

/// Checks `model` (read from `src`); the first problem found is returned.
pub fn check(model: &Model, src: &Source) -> Result<(), ModelError> {
    if let Some(why) = name_problem(&model.name) {
        return Err(src.error_in(
            &[Seg::F("name")],
            format!(
                "model name `{}` {why} (it names the run folder runs/<name>/)",
                model.name.escape_default()
            ),
        ));
    }
    check_calendar(model, src)?;
    let commodities = unique(
        src,
        &[F("commodities")],
        model.commodities.iter().map(|c| c.id.as_str()),
        "commodity",
    )?;
    let nations = unique(src, &[F("nations")], model.nations.iter().map(|n| n.id.as_str()), "nation")?;
    // Each firm by id, hashed: a `Listed` supplier is found in constant time, not by a scan of
    // every firm (quadratic start-up for big worlds) nor by comparing long ids down a tree (a
    // third of checking 10^6 generated firms).
    let firm_of = firms_by_id(src, &model.firms)?;

    for c in &model.commodities {
        let here = [F("commodities"), Id(&c.id)];
        if c.unit.trim().is_empty() {
            return Err(src.error_in(
                &at(&here, &[F("unit")]),
                format!("commodity `{}`: unit must not be empty (e.g. \"t\")", c.id),
            ));
        }
        range(
            src,
            &at(&here, &[F("price_usd")]),
            &format!("commodity `{}`: ", c.id),
            "price_usd",
            c.price_usd,
            Bounds::above(0.0, limits::MAX_PRICE_USD),
            &format!("USD per {}", c.unit),
        )?;
    }
    for n in &model.nations {
        let ok = n.id == "EU" || n.id == "ROW" || (n.id.len() == 2 && n.id.chars().all(|c| c.is_ascii_uppercase()));
        if !ok {
            return Err(src.error_in(
                &[F("nations"), Id(&n.id), F("id")],
                format!(
                    "nation id `{}` is not an ISO 3166-1 alpha-2 code (two capital letters), `EU` or `ROW`",
                    n.id
                ),
            ));
        }
        if n.price_region.trim().is_empty() {
            return Err(src.error_in(
                &[F("nations"), Id(&n.id), F("price_region")],
                format!("nation `{}`: price_region must not be empty", n.id),
            ));
        }
    }

    let finals: BTreeSet<&str> = model.commodities.iter().filter(|c| c.final_demand).map(|c| c.id.as_str()).collect();
    for f in &model.firms {
        check_firm(model, src, f, &commodities, &nations, &firm_of, &finals)?;
    }
    // Every input must be made by somebody.
    let made: BTreeSet<&str> = model.firms.iter().map(|f| f.output.as_str()).collect();
    for f in &model.firms {
        for input in f.effective_recipe().keys() {
            if !made.contains(input.as_str()) {
                return Err(src.error_in(
                    &recipe_key(f, input),
                    format!("firm `{}` needs `{input}`, but no firm makes `{input}`", f.id),
                ));
            }
        }
    }
    check_cycles(model, src)?;
    if let Some(syn) = &model.synthetic {
        check_synthetic(model, src, syn)?;
    }

    for r in &model.routes.links {
        let here = [F("routes"), F("links"), Route(&r.from, &r.to)];
        known(src, &at(&here, &[F("from")]), &r.from, &nations, "nation")?;
        known(src, &at(&here, &[F("to")]), &r.to, &nations, "nation")?;
        let what = format!("route {} -> {}: ", r.from, r.to);
        range(
            src,
            &at(&here, &[F("days")]),
            &what,
            "days",
            f64::from(r.days),
            Bounds::closed(1.0, MAX_DAYS),
            "days",
        )?;
        if r.jitter_days >= r.days {
            return Err(src.error_in(
                &at(&here, &[F("jitter_days")]),
                format!("{what}jitter_days must be less than days (found {} ± {})", r.days, r.jitter_days),
            ));
        }
    }
    range(
        src,
        &[F("routes"), F("domestic_days")],
        "routes: ",
        "domestic_days",
        f64::from(model.routes.domestic_days),
        Bounds::closed(1.0, MAX_DAYS),
        "days",
    )?;
    check_policies(model, src, &nations, &commodities)?;
    range(
        src,
        &[F("selling"), F("history_days")],
        "selling: ",
        "history_days",
        model.selling.history_days,
        Bounds::closed(1.0, MAX_DAYS),
        "days",
    )?;
    check_output(model, src)?;
    let b = &model.buying;
    for (name, v, bounds) in [
        (
            "tariff_sensitivity",
            b.tariff_sensitivity,
            Bounds::closed(0.0, limits::MAX_TARIFF_SENSITIVITY),
        ),
        ("approval_learning", b.approval_learning, Bounds::above(0.0, 1.0)),
        ("min_expected_approval", b.min_expected_approval, Bounds::above(0.0, 1.0)),
        (
            "licence_wait_memory_days",
            b.licence_wait_memory_days,
            Bounds::closed(1.0, MAX_DAYS),
        ),
        (
            "application_interval_days",
            f64::from(b.application_interval_days),
            Bounds::closed(1.0, MAX_DAYS),
        ),
        ("fill_memory_days", b.fill_memory_days, Bounds::closed(1.0, MAX_DAYS)),
        ("overask_limit", b.overask_limit, Bounds::closed(1.0, 100.0)),
        ("phantom_ordering", b.phantom_ordering, SHARE),
        (
            "precaution_cover",
            b.precaution_cover,
            Bounds::closed(0.0, limits::MAX_PRECAUTION_COVER),
        ),
        ("precaution_fill_below", b.precaution_fill_below, Bounds::above(0.0, 1.0)),
        ("precaution_up_days", b.precaution_up_days, Bounds::closed(1.0, MAX_DAYS)),
        ("precaution_relax_days", b.precaution_relax_days, Bounds::closed(1.0, MAX_DAYS)),
        ("search_below", b.search_below, Bounds::closed(0.0, 1.0)),
        ("qualification_days", b.qualification_days, Bounds::closed(0.0, MAX_DAYS)),
        (
            "search_candidates",
            f64::from(b.search_candidates),
            Bounds::closed(0.0, f64::from(limits::MAX_SEARCH_CANDIDATES)),
        ),
        ("habit_days", b.habit_days, Bounds::closed(1.0, MAX_DAYS)),
        ("fade_below", b.fade_below, Bounds::closed(0.0, 1.0)),
    ] {
        range(src, &[F("buying"), F(name)], "buying: ", name, v, bounds, "")?;
    }
    // 0 leaves prices out of precaution; otherwise full scarcity lies above where it starts.
    if b.precaution_price_full != 0.0 {
        range(
            src,
            &[F("buying"), F("precaution_price_full")],
            "buying: ",
            "precaution_price_full (or 0 to leave prices out)",
            b.precaution_price_full,
            Bounds::above(PRECAUTION_PRICE_FROM, limits::MAX_PRICE_RATIO),
            "",
        )?;
    }
    let p = &model.prices;
    for (name, v, bounds) in [
        (
            "coverage_sensitivity",
            p.coverage_sensitivity,
            Bounds::closed(0.0, limits::MAX_PRICE_RESPONSE),
        ),
        (
            "cost_weight",
            p.cost_weight,
            Bounds::closed(limits::MIN_COST_WEIGHT, limits::MAX_PRICE_RESPONSE),
        ),
        ("adjust_days", p.adjust_days, Bounds::closed(1.0, MAX_DAYS)),
        (
            "cover_tolerance",
            p.cover_tolerance,
            Bounds::closed(0.0, limits::MAX_COVER_TOLERANCE),
        ),
        ("thin_market", p.thin_market, Bounds::closed(0.0, 1.0)),
    ] {
        range(src, &[F("prices"), F(name)], "prices: ", name, v, bounds, "")?;
    }
    let pl = &model.planning;
    for (name, v) in [
        ("demand_smoothing_days", pl.demand_smoothing_days),
        ("stock_adjust_days", pl.stock_adjust_days),
        ("market_shock_days", pl.market_shock_days),
    ] {
        range(
            src,
            &[F("planning"), F(name)],
            "planning: ",
            name,
            v,
            Bounds::closed(1.0, MAX_DAYS),
            "days",
        )?;
    }
    for (name, v) in [
        ("final_demand_noise", pl.final_demand_noise),
        ("market_shock_sd", pl.market_shock_sd),
    ] {
        if !(v.is_finite() && (0.0..0.5).contains(&v)) {
            return Err(src.error_in(
                &[F("planning"), F(name)],
                format!("planning: {name} must be in [0, 0.5), found {v}"),
            ));
        }
    }
    Ok(())
}

/// A `synthetic` section: every number in its range, at least one firm per template, and
/// template ids free of the separator generated ids use.
fn check_synthetic(model: &Model, src: &Source, syn: &super::Synthetic) -> Result<(), ModelError> {
    let here = [F("synthetic")];
    let what = "synthetic: ";
    let templates = model.firms.len() as u64;
    if syn.firms < templates || syn.firms > limits::MAX_SYNTHETIC_FIRMS {
        return Err(src.error_in(
            &at(&here, &[F("firms")]),
            format!(
                "{what}firms must be from {templates} (one per firm of the model, its templates) to {}, found {}",
                limits::MAX_SYNTHETIC_FIRMS,
                syn.firms
            ),
        ));
    }
    for (name, v, bounds) in [
        (
            "size_tail",
            syn.size_tail,
            Bounds::closed(limits::MIN_SIZE_TAIL, limits::MAX_SIZE_TAIL),
        ),
        (
            "suppliers_per_input",
            f64::from(syn.suppliers_per_input),
            Bounds::closed(1.0, f64::from(limits::MAX_SUPPLIERS_PER_INPUT)),
        ),
    ] {
        range(src, &at(&here, &[F(name)]), what, name, v, bounds, "")?;
    }
    if let Some(f) = model.firms.iter().find(|f| f.id.contains(super::SYNTHETIC_ID_SEPARATOR)) {
        return Err(src.error_in(
            &[F("firms"), Id(&f.id), F("id")],
            format!(
                "firm id `{}` contains `{}`, which the ids of generated firms use (`<template>{}<k>`); rename it",
                f.id,
                super::SYNTHETIC_ID_SEPARATOR,
                super::SYNTHETIC_ID_SEPARATOR
            ),
        ));
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn check_firm(
    model: &Model,
    src: &Source,
    f: &Firm,
    commodities: &BTreeSet<&str>,
    nations: &BTreeSet<&str>,
    firm_of: &HashMap<&str, &Firm>,
    finals: &BTreeSet<&str>,
) -> Result<(), ModelError> {
    let firm = [F("firms"), Id(&f.id)];
    let what = format!("firm `{}`: ", f.id);
    known(src, &at(&firm, &[F("nation")]), &f.nation, nations, "nation")?;
    known(src, &at(&firm, &[F("output")]), &f.output, commodities, "commodity")?;
    let snake = !f.role.is_empty()
        && f.role.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && f.role.starts_with(|c: char| c.is_ascii_lowercase());
    if !snake {
        return Err(src.error_in(
            &at(&firm, &[F("role")]),
            format!("{what}role `{}` must be snake_case, e.g. `magnet_maker`", f.role),
        ));
    }
    range(
        src,
        &at(&firm, &[F("capacity_per_day")]),
        &what,
        "capacity_per_day",
        f.capacity_per_day,
        Bounds::closed(0.0, limits::MAX_CAPACITY_PER_DAY),
        "",
    )?;
    for (name, v, bounds, unit) in [
        ("target_cover_days", f.target_cover_days, DAYS, "days"),
        ("output_cover_days", f.output_cover_days, DAYS, "days"),
        (
            "price_elasticity",
            f.price_elasticity,
            Bounds::closed(0.0, limits::MAX_PRICE_ELASTICITY),
            "",
        ),
        ("defence_share", f.defence_share, SHARE, ""),
    ] {
        range(src, &at(&firm, &[F(name)]), &what, name, v, bounds, unit)?;
    }
    if !f.lines.is_empty() {
        if !f.recipe.is_empty() {
            return Err(src.error_in(&at(&firm, &[F("recipe")]), format!("{what}give either a recipe or lines, not both")));
        }
        let ids = unique(src, &at(&firm, &[F("lines")]), f.lines.iter().map(|l| l.id.as_str()), "line")?;
        for l in &f.lines {
            let line = at(&firm, &[F("lines"), Id(&l.id)]);
            range(
                src,
                &at(&line, &[F("share")]),
                &what,
                &format!("share of line `{}`", l.id),
                l.share,
                Bounds::above(0.0, 1.0),
                "",
            )?;
            if l.recipe.is_empty() {
                return Err(src.error_in(&at(&line, &[F("recipe")]), format!("{what}line `{}` has an empty recipe", l.id)));
            }
            check_amounts(src, &at(&line, &[F("recipe")]), &what, &l.recipe)?;
        }
        let total: f64 = f.lines.iter().map(|l| l.share).sum();
        if (total - 1.0).abs() > limits::SHARE_SUM_TOLERANCE {
            return Err(src.error_in(
                &at(&firm, &[F("lines")]),
                format!("{what}line shares must sum to 1, found a sum of {}", limits::fmt_num(total)),
            ));
        }
        if let super::LineRationing::Priority(order) = &f.line_rationing {
            let given: BTreeSet<&str> = order.iter().map(|s| s.as_str()).collect();
            if given != ids || order.len() != ids.len() {
                return Err(src.error_in(
                    &at(&firm, &[F("line_rationing")]),
                    format!(
                        "{what}Priority must list each line once: {}",
                        ids.iter().copied().collect::<Vec<_>>().join(", ")
                    ),
                ));
            }
        }
    } else {
        check_amounts(src, &at(&firm, &[F("recipe")]), &what, &f.recipe)?;
    }
    check_trader(src, f, finals)?;
    let recipe = f.effective_recipe();
    for input in recipe.keys() {
        let key = recipe_key(f, input);
        known(src, &key, input, commodities, "commodity")?;
        if finals.contains(input.as_str()) {
            return Err(src.error_in(&key, format!("{what}`{input}` is a final-demand good and cannot be an input")));
        }
        if *input == f.output && !is_trader(f) {
            return Err(src.error_in(
                &key,
                format!("{what}`{input}` is both its output and an input (a cycle in the commodity graph)"),
            ));
        }
    }
    for (c, &q) in &f.initial_stock {
        let key = at(&firm, &[F("initial_stock"), Key(c)]);
        known(src, &key, c, commodities, "commodity")?;
        if *c != f.output && !recipe.contains_key(c) {
            return Err(src.error_in(
                &key,
                format!("{what}initial_stock of `{c}`, which is neither its output nor in its recipe"),
            ));
        }
        range(
            src,
            &at(&firm, &[F("initial_stock"), K(c)]),
            &what,
            &format!("initial_stock of `{c}`"),
            q,
            Bounds::closed(0.0, limits::MAX_QUANTITY),
            "",
        )?;
    }
    for (input, rule) in &f.suppliers {
        let key = at(&firm, &[F("suppliers"), Key(input)]);
        let val = at(&firm, &[F("suppliers"), K(input)]);
        if !recipe.contains_key(input) {
            return Err(src.error_in(&key, format!("{what}suppliers given for `{input}`, which is not in its recipe")));
        }
        match rule {
            Suppliers::Listed(list) => {
                if list.is_empty() {
                    return Err(src.error_in(&val, format!("{what}Listed suppliers of `{input}` is empty")));
                }
                for (k, s) in list.iter().enumerate() {
                    let entry = at(&val, &[I(0), I(k)]);
                    let Some(&sup) = firm_of.get(s.firm.as_str()) else {
                        let ids: BTreeSet<&str> = firm_of.keys().copied().collect();
                        return known(src, &at(&entry, &[F("firm")]), &s.firm, &ids, "firm");
                    };
                    if sup.output != *input {
                        return Err(src.error_in(
                            &at(&entry, &[F("firm")]),
                            format!(
                                "firm `{}` lists `{}` as a supplier of `{input}`, but `{}` makes `{}`",
                                f.id, s.firm, s.firm, sup.output
                            ),
                        ));
                    }
                    if is_trader(f) && is_trader(sup) {
                        return Err(src.error_in(
                            &at(&entry, &[F("firm")]),
                            format!(
                                "trader `{}` lists trader `{}` as a supplier: a trader buys from producers only",
                                f.id, s.firm
                            ),
                        ));
                    }
                    range(
                        src,
                        &at(&entry, &[F("share")]),
                        &what,
                        &format!("share of supplier `{}`", s.firm),
                        s.share,
                        Bounds::above(0.0, limits::MAX_WEIGHT),
                        "",
                    )?;
                }
            }
            Suppliers::ByNation(shares) => {
                for (n, &w) in shares {
                    let nkey = at(&val, &[I(0), Key(n)]);
                    known(src, &nkey, n, nations, "nation")?;
                    range(
                        src,
                        &at(&val, &[I(0), K(n)]),
                        &what,
                        &format!("share of nation `{n}` for `{input}`"),
                        w,
                        Bounds::above(0.0, limits::MAX_WEIGHT),
                        "",
                    )?;
                    if !model
                        .firms
                        .iter()
                        .any(|s| s.nation == *n && s.output == *input && s.capacity_per_day > 0.0 && !(is_trader(f) && is_trader(s)))
                    {
                        return Err(src.error_in(
                            &nkey,
                            format!("{what}buys `{input}` from nation `{n}`, but no firm there makes `{input}`"),
                        ));
                    }
                }
            }
            Suppliers::ByCapacity { nations: ns, home_share } => {
                for (k, n) in ns.iter().enumerate() {
                    known(src, &at(&val, &[F("nations"), I(k)]), n, nations, "nation")?;
                }
                if let Some(h) = home_share {
                    range(src, &at(&val, &[F("home_share")]), &what, "home_share", *h, SHARE, "")?;
                }
            }
        }
    }
    Ok(())
}

/// A firm with role `trader` and a `trading` section: a stockist (see [`super::Trading`]).
pub fn is_trader(f: &Firm) -> bool {
    f.role == super::TRADER_ROLE && f.trading.is_some()
}

/// A trader's section: given exactly when the role is `trader`, its numbers in range, its
/// output a stockable good and its recipe exactly one unit of that good.
fn check_trader(src: &Source, f: &Firm, finals: &BTreeSet<&str>) -> Result<(), ModelError> {
    let firm = [F("firms"), Id(&f.id)];
    let what = format!("firm `{}`: ", f.id);
    let role = super::TRADER_ROLE;
    let Some(t) = &f.trading else {
        if f.role == role {
            return Err(src.error_in(
                &at(&firm, &[F("role")]),
                format!("{what}role `{role}` needs a `trading` section, e.g. `trading: Some((base_stock: 500))`"),
            ));
        }
        return Ok(());
    };
    if f.role != role {
        return Err(src.error_in(
            &at(&firm, &[F("trading")]),
            format!("{what}a `trading` section is only for firms with role `{role}`, not `{}`", f.role),
        ));
    }
    let tr = at(&firm, &[F("trading")]);
    for (name, v, bounds, unit) in [
        (
            "holding_cost_per_year",
            t.holding_cost_per_year,
            Bounds::above(0.0, limits::MAX_HOLDING_COST_PER_YEAR),
            "share of value",
        ),
        ("trend_days", t.trend_days, Bounds::closed(1.0, MAX_DAYS), "days"),
        ("gain", t.gain, Bounds::closed(0.0, limits::MAX_TRADING_GAIN), ""),
        (
            "max_multiple",
            t.max_multiple,
            Bounds::closed(1.0, limits::MAX_TRADING_MULTIPLE),
            "",
        ),
        ("base_stock", t.base_stock, Bounds::closed(0.0, limits::MAX_QUANTITY), ""),
    ] {
        range(src, &at(&tr, &[F(name)]), &what, &format!("trading.{name}"), v, bounds, unit)?;
    }
    if finals.contains(f.output.as_str()) {
        return Err(src.error_in(
            &at(&firm, &[F("output")]),
            format!(
                "{what}a trader cannot trade `{}`, a final-demand good (it is consumed when made, never stocked)",
                f.output
            ),
        ));
    }
    let exact = f.lines.is_empty() && f.recipe.len() == 1 && f.recipe.get(&f.output) == Some(&1.0);
    if !exact {
        let path = if f.lines.is_empty() {
            at(&firm, &[F("recipe")])
        } else {
            at(&firm, &[F("lines")])
        };
        return Err(src.error_in(
            &path,
            format!(
                "{what}a trader passes goods through: its recipe must be exactly {{\"{}\": 1.0}} (its output), without lines",
                f.output
            ),
        ));
    }
    Ok(())
}

/// Recipe amounts: positive, at most [`limits::MAX_RECIPE`] units per unit of output.
fn check_amounts(src: &Source, map: &[Seg], what: &str, recipe: &BTreeMap<String, f64>) -> Result<(), ModelError> {
    for (input, &q) in recipe {
        range(
            src,
            &at(map, &[K(input)]),
            what,
            &format!("recipe amount of `{input}`"),
            q,
            Bounds::above(0.0, limits::MAX_RECIPE),
            "units per unit of output",
        )?;
    }
    Ok(())
}

fn check_dist(src: &Source, path: &[Seg], what: &str, d: &super::Dist) -> Result<(), ModelError> {
    let ok = d.is_valid()
        && match *d {
            super::Dist::Fixed(x) => x <= MAX_DAYS,
            super::Dist::Uniform { max, .. } | super::Dist::Triangular { max, .. } => max <= MAX_DAYS,
        };
    if ok {
        Ok(())
    } else {
        Err(src.error_in(
            path,
            format!("{what}: {d:?} is not a valid distribution of days (finite, 0 <= min <= mode <= max <= {MAX_DAYS})"),
        ))
    }
}

fn check_policies(model: &Model, src: &Source, nations: &BTreeSet<&str>, commodities: &BTreeSet<&str>) -> Result<(), ModelError> {
    use super::policy::{Action, Condition};
    let pol = &model.policies;
    let controls = unique(
        src,
        &[F("policies"), F("controls")],
        pol.controls.iter().map(|c| c.id.as_str()),
        "export control",
    )?;
    let regions: BTreeSet<&str> = model.nations.iter().map(|n| n.price_region.as_str()).collect();
    let roles: BTreeSet<&str> = model.firms.iter().map(|f| f.role.as_str()).collect();
    let prob = |path: &[Seg], what: &str, v: f64| -> Result<(), ModelError> {
        if v.is_finite() && (0.0..=1.0).contains(&v) {
            Ok(())
        } else {
            Err(src.error_in(
                path,
                format!("{what} must be a probability between 0 and 1, found {}", limits::fmt_num(v)),
            ))
        }
    };
    let whole_days = |path: &[Seg], what: &str, name: &str, v: u32, min: f64, max: f64| {
        range(src, path, what, name, f64::from(v), Bounds::closed(min, max), "days")
    };
    for c in &pol.controls {
        let here = [F("policies"), F("controls"), Id(&c.id)];
        let what = format!("export control `{}`: ", c.id);
        known(src, &at(&here, &[F("nation")]), &c.nation, nations, "nation")?;
        if c.commodities.is_empty() {
            return Err(src.error_in(&at(&here, &[F("commodities")]), format!("{what}lists no commodities")));
        }
        for (k, &share) in &c.commodities {
            known(src, &at(&here, &[F("commodities"), Key(k)]), k, commodities, "commodity")?;
            prob(
                &at(&here, &[F("commodities"), K(k)]),
                &format!("{what}share of `{k}` under licence"),
                share,
            )?;
        }
        whole_days(
            &at(&here, &[F("phase_in_days")]),
            &what,
            "phase_in_days",
            c.phase_in_days,
            0.0,
            MAX_DAYS,
        )?;
        check_dist(
            src,
            &at(&here, &[F("review_working_days")]),
            &format!("{what}review_working_days"),
            &c.review_working_days,
        )?;
        let ap = at(&here, &[F("approval")]);
        prob(&at(&ap, &[F("civil")]), &format!("{what}approval.civil"), c.approval.civil)?;
        prob(&at(&ap, &[F("defence")]), &format!("{what}approval.defence"), c.approval.defence)?;
        for (field, map) in [
            ("civil_by_destination", &c.approval.civil_by_destination),
            ("defence_by_destination", &c.approval.defence_by_destination),
        ] {
            for (n, &p) in map {
                known(src, &at(&ap, &[F(field), Key(n)]), n, nations, "nation")?;
                prob(&at(&ap, &[F(field), K(n)]), &format!("{what}approval for {n}"), p)?;
            }
        }
        for (k, &q) in &c.annual_quota {
            known(src, &at(&here, &[F("annual_quota"), Key(k)]), k, commodities, "commodity")?;
            range(
                src,
                &at(&here, &[F("annual_quota"), K(k)]),
                &what,
                &format!("annual_quota of `{k}`"),
                q,
                Bounds::closed(0.0, limits::MAX_QUANTITY),
                "",
            )?;
        }
        if let super::policy::QuotaRelease::Batches(batches) = &c.quota_release {
            check_batches(src, &at(&here, &[F("quota_release"), I(0)]), &what, batches)?;
        }
        for field in ["banned", "general_licences"] {
            let list = if field == "banned" { &c.banned } else { &c.general_licences };
            for (k, n) in list.iter().enumerate() {
                known(src, &at(&here, &[F(field), I(k)]), n, nations, "nation")?;
            }
        }
        whole_days(
            &at(&here, &[F("validity_days")]),
            &what,
            "validity_days",
            c.validity_days,
            1.0,
            MAX_DAYS,
        )?;
        if let Some(i) = &c.inspection {
            let ins = at(&here, &[F("inspection")]);
            prob(&at(&ins, &[F("share")]), &format!("{what}inspection share"), i.share)?;
            check_dist(
                src,
                &at(&ins, &[F("hold_days")]),
                &format!("{what}inspection hold_days"),
                &i.hold_days,
            )?;
        }
    }
    let rate = |path: &[Seg], what: &str, v: f64| range(src, path, what, "rate", v, Bounds::closed(0.0, limits::MAX_TARIFF_RATE), "");
    for (k, t) in pol.tariffs.iter().enumerate() {
        let here = [F("policies"), F("tariffs"), I(k)];
        known(src, &at(&here, &[F("importer")]), &t.importer, nations, "nation")?;
        known(src, &at(&here, &[F("origin")]), &t.origin, nations, "nation")?;
        known(src, &at(&here, &[F("commodity")]), &t.commodity, commodities, "commodity")?;
        rate(&at(&here, &[F("rate")]), "tariff ", t.rate)?;
    }
    let check_action = |a: &Action, base: &[Seg]| -> Result<(), ModelError> {
        let control = |f: Seg, id: &str| known(src, &at(base, &[f]), id, &controls, "export control");
        let field = |name| at(base, &[F(name)]);
        match a {
            Action::Activate(id) | Action::Deactivate(id) => control(I(0), id),
            Action::SetApproval {
                control: id,
                destination,
                probability,
                ..
            } => {
                control(F("control"), id)?;
                if let Some(d) = destination {
                    known(src, &field("destination"), d, nations, "nation")?;
                }
                prob(&field("probability"), "SetApproval probability", *probability)
            }
            Action::SetReview { control: id, working_days } => {
                control(F("control"), id)?;
                check_dist(src, &field("working_days"), "SetReview working_days", working_days)
            }
            Action::SetQuota {
                control: id,
                commodity,
                quantity,
            } => {
                control(F("control"), id)?;
                known(src, &field("commodity"), commodity, commodities, "commodity")?;
                match quantity {
                    Some(q) => range(
                        src,
                        &field("quantity"),
                        "SetQuota ",
                        "quantity",
                        *q,
                        Bounds::closed(0.0, limits::MAX_QUANTITY),
                        "",
                    ),
                    None => Ok(()),
                }
            }
            Action::SetCoverage {
                control: id,
                commodity,
                share,
            } => {
                control(F("control"), id)?;
                known(src, &field("commodity"), commodity, commodities, "commodity")?;
                prob(&field("share"), "SetCoverage share", *share)
            }
            Action::Ban { control: id, destination }
            | Action::Unban { control: id, destination }
            | Action::GrantGeneral { control: id, destination }
            | Action::RevokeGeneral { control: id, destination } => {
                control(F("control"), id)?;
                known(src, &field("destination"), destination, nations, "nation")
            }
            Action::SetInspection { control: id, inspection } => {
                control(F("control"), id)?;
                if let Some(i) = inspection {
                    let ins = field("inspection");
                    prob(&at(&ins, &[F("share")]), "SetInspection share", i.share)?;
                    check_dist(src, &at(&ins, &[F("hold_days")]), "SetInspection hold_days", &i.hold_days)?;
                }
                Ok(())
            }
            Action::SetTariff {
                importer,
                origin,
                commodity,
                rate: r,
            } => {
                known(src, &field("importer"), importer, nations, "nation")?;
                known(src, &field("origin"), origin, nations, "nation")?;
                known(src, &field("commodity"), commodity, commodities, "commodity")?;
                rate(&field("rate"), "SetTariff ", *r)
            }
        }
    };
    let start = Date::parse(&model.calendar.start).expect("checked");
    for (k, e) in pol.events.iter().enumerate() {
        let here = [F("policies"), F("events"), I(k)];
        let date = at(&here, &[F("date")]);
        let d = Date::parse(&e.date)
            .filter(|d| d.ymd().0 <= limits::MAX_YEAR)
            .ok_or_else(|| src.error_in(&date, format!("event date `{}` is not of the form YYYY-MM-DD", e.date)))?;
        if d < start {
            return Err(src.error_in(&date, format!("event date {d} is before the model's start {start}")));
        }
        if let Some(text) = &e.announced {
            let here_a = at(&here, &[F("announced")]);
            let a = Date::parse(text)
                .filter(|a| a.ymd().0 <= limits::MAX_YEAR)
                .ok_or_else(|| src.error_in(&here_a, format!("announcement date `{text}` is not of the form YYYY-MM-DD")))?;
            if a > d {
                return Err(src.error_in(
                    &here_a,
                    format!("announcement date {a} is after the event's date {d}: a change is announced before it takes effect"),
                ));
            }
            if a < start {
                return Err(src.error_in(&here_a, format!("announcement date {a} is before the model's start {start}")));
            }
            if !matches!(
                e.action,
                Action::Activate(_) | Action::SetCoverage { .. } | Action::Ban { .. } | Action::SetQuota { .. }
            ) {
                return Err(src.error_in(
                    &here_a,
                    format!(
                        "only Activate, SetCoverage, Ban and SetQuota can be announced (tightenings buyers can front-run); this event is {}",
                        e.action.name()
                    ),
                ));
            }
        }
        known(src, &at(&here, &[F("nation")]), &e.nation, nations, "nation")?;
        check_action(&e.action, &at(&here, &[F("action")]))?;
    }
    let rule_ids = unique(src, &[F("policies"), F("rules")], pol.rules.iter().map(|r| r.id.as_str()), "rule")?;
    for r in &pol.rules {
        let here = [F("policies"), F("rules"), Id(&r.id)];
        let what = format!("rule `{}`: ", r.id);
        known(src, &at(&here, &[F("nation")]), &r.nation, nations, "nation")?;
        check_action(&r.then, &at(&here, &[F("then")]))?;
        let span = f64::from(limits::MAX_SPAN_DAYS);
        whole_days(&at(&here, &[F("for_days")]), &what, "for_days", r.for_days, 1.0, span)?;
        whole_days(
            &at(&here, &[F("cooldown_days")]),
            &what,
            "cooldown_days",
            r.cooldown_days,
            0.0,
            span,
        )?;
        let when = at(&here, &[F("when")]);
        let field = |name| at(&when, &[F(name)]);
        match &r.when {
            Condition::OutputLostAbove { nation, role, share } => {
                known(src, &field("nation"), nation, nations, "nation")?;
                known(src, &field("role"), role, &roles, "role")?;
                prob(&field("share"), "OutputLostAbove share", *share)?;
            }
            Condition::TariffAtMost {
                importer,
                origin,
                commodity,
                rate: r,
            } => {
                known(src, &field("importer"), importer, nations, "nation")?;
                known(src, &field("origin"), origin, nations, "nation")?;
                known(src, &field("commodity"), commodity, commodities, "commodity")?;
                rate(&field("rate"), "TariffAtMost ", *r)?;
            }
            Condition::AfterRule { rule } => {
                known(src, &field("rule"), rule, &rule_ids, "rule")?;
            }
            Condition::PriceRatioAbove {
                commodity,
                region,
                over_region,
                ratio,
            } => {
                known(src, &field("commodity"), commodity, commodities, "commodity")?;
                known(src, &field("region"), region, &regions, "price region")?;
                known(src, &field("over_region"), over_region, &regions, "price region")?;
                range(
                    src,
                    &field("ratio"),
                    "PriceRatioAbove ",
                    "ratio",
                    *ratio,
                    Bounds::above(0.0, limits::MAX_PRICE_RATIO),
                    "",
                )?;
            }
        }
    }
    Ok(())
}

/// The batches of a batched quota release (at `list`): real dates of the year in strictly
/// increasing order, each share in (0, 1], the shares summing to 1.
fn check_batches(src: &Source, list: &[Seg], what: &str, batches: &[super::policy::Batch]) -> Result<(), ModelError> {
    if batches.is_empty() {
        return Err(src.error_in(list, format!("{what}quota_release Batches lists no batch")));
    }
    let mut previous: Option<(u32, u32)> = None;
    for (k, b) in batches.iter().enumerate() {
        let here = at(list, &[I(k)]);
        range(
            src,
            &at(&here, &[F("month")]),
            what,
            "quota batch month",
            f64::from(b.month),
            Bounds::closed(1.0, 12.0),
            "",
        )?;
        // The month's length in a leap year: a batch on 29 February comes on 1 March in other years.
        const LONGEST: [u32; 12] = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
        let longest = LONGEST[b.month as usize - 1];
        range(
            src,
            &at(&here, &[F("day")]),
            what,
            "quota batch day",
            f64::from(b.day),
            Bounds::closed(1.0, f64::from(longest)),
            "",
        )?;
        range(
            src,
            &at(&here, &[F("share")]),
            what,
            "quota batch share",
            b.share,
            Bounds::above(0.0, 1.0),
            "",
        )?;
        if previous.is_some_and(|p| p >= (b.month, b.day)) {
            return Err(src.error_in(
                &here,
                format!(
                    "{what}quota batches must be in date order, each after the one before: batch {} (month {}, day {}) is not",
                    k + 1,
                    b.month,
                    b.day
                ),
            ));
        }
        previous = Some((b.month, b.day));
    }
    let total: f64 = batches.iter().map(|b| b.share).sum();
    if (total - 1.0).abs() > limits::SHARE_SUM_TOLERANCE {
        return Err(src.error_in(
            list,
            format!("{what}quota batch shares must sum to 1, found a sum of {}", limits::fmt_num(total)),
        ));
    }
    Ok(())
}

fn check_calendar(model: &Model, src: &Source) -> Result<(), ModelError> {
    let c = &model.calendar;
    let date = |name: &str, text: &str| {
        Date::parse(text).filter(|d| d.ymd().0 <= limits::MAX_YEAR).ok_or_else(|| {
            src.error_in(
                &[F("calendar"), F(name)],
                format!("calendar {name} `{text}` is not a date of the form YYYY-MM-DD (years 0000 to 9999)"),
            )
        })
    };
    let start = date("start", &c.start)?;
    let end = date("end", &c.end)?;
    if end < start {
        return Err(src.error_in(&[F("calendar"), F("end")], format!("calendar end {end} is before start {start}")));
    }
    let span = end.0 - start.0 + 1;
    if span > limits::MAX_SPAN_DAYS {
        return Err(src.error_in(
            &[F("calendar"), F("end")],
            format!(
                "calendar: {start} to {end} is {span} days; a run may cover at most {} days (200 years)",
                limits::MAX_SPAN_DAYS
            ),
        ));
    }
    range(
        src,
        &[F("calendar"), F("tick_days")],
        "calendar: ",
        "tick_days",
        f64::from(c.tick_days),
        Bounds::closed(1.0, f64::from(limits::MAX_TICK_DAYS)),
        "days",
    )
}

/// Ids must be non-empty and unique; an error points at the empty or repeated (second) one.
fn unique<'a>(src: &Source, list: &[Seg], ids: impl Iterator<Item = &'a str>, what: &str) -> Result<BTreeSet<&'a str>, ModelError> {
    let mut set = BTreeSet::new();
    for (k, id) in ids.enumerate() {
        let path = at(list, &[I(k), F("id")]);
        if id.trim().is_empty() {
            return Err(src.error_in(&path, format!("a {what} has an empty id")));
        }
        if !set.insert(id) {
            return Err(src.error_in(&path, format!("{what} id `{id}` is defined twice")));
        }
    }
    Ok(set)
}

/// Every firm by id; an empty or repeated id is an error, as [`unique`] finds them.
fn firms_by_id<'a>(src: &Source, firms: &'a [Firm]) -> Result<HashMap<&'a str, &'a Firm>, ModelError> {
    let mut of = HashMap::with_capacity(firms.len());
    for (k, f) in firms.iter().enumerate() {
        if f.id.trim().is_empty() || of.insert(f.id.as_str(), f).is_some() {
            // The same error, in the same words, as for the other lists of ids.
            unique(src, &[F("firms")], firms[..=k].iter().map(|f| f.id.as_str()), "firm")?;
            unreachable!("firm {k}'s id is empty or repeated");
        }
    }
    Ok(of)
}

fn known(src: &Source, path: &[Seg], id: &str, set: &BTreeSet<&str>, what: &str) -> Result<(), ModelError> {
    if set.contains(id) {
        Ok(())
    } else {
        let mut msg = format!("unknown {what} `{id}`");
        if let Some(near) = nearest(id, set.iter().copied()) {
            msg.push_str(&format!("; did you mean `{near}`?"));
        } else {
            let list: Vec<&str> = set.iter().copied().take(12).collect();
            msg.push_str(&format!("; expected one of: {}", list.join(", ")));
        }
        Err(src.error_in(path, msg))
    }
}

/// Roles that look like typos of another role of the model: a role held by fewer firms than a
/// role within typing distance of it (`automakr` next to 16 `automaker`s). Roles are data, so
/// such a role is valid, but `groups.arrow`, reactive rules (`OutputLostAbove`) and anything
/// that selects firms by role would count its firms apart.
pub fn role_warnings(model: &Model) -> Vec<String> {
    let mut count: BTreeMap<&str, usize> = BTreeMap::new();
    for f in &model.firms {
        *count.entry(f.role.as_str()).or_default() += 1;
    }
    let mut out = Vec::new();
    for (&role, &n) in &count {
        let bigger = count.iter().filter(|&(&r, &m)| r != role && m > n).map(|(&r, _)| r);
        if let Some(near) = nearest(role, bigger) {
            let firms: Vec<&str> = model
                .firms
                .iter()
                .filter(|f| f.role == role)
                .take(3)
                .map(|f| f.id.as_str())
                .collect();
            out.push(format!(
                "role `{role}` ({n} firm(s): {}{}) looks like a typo of `{near}` ({} firms); groups.arrow and rules count its firms apart",
                firms.join(", "),
                if n > firms.len() { ", ..." } else { "" },
                count[near]
            ));
        }
    }
    out
}

/// The closest candidate by edit distance, if it is close enough to be a likely typo.
pub fn nearest<'a>(word: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let lw = word.to_lowercase();
    candidates
        .map(|c| (strsim::levenshtein(&lw, &c.to_lowercase()), c))
        .filter(|(d, c)| *d <= (c.len().max(word.len()) / 3).max(1))
        .min()
        .map(|(_, c)| c)
}

/// Commodity graph: an edge input -> output for every recipe. It must be acyclic.
fn check_cycles(model: &Model, src: &Source) -> Result<(), ModelError> {
    let mut edges: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    let recipes: Vec<BTreeMap<String, f64>> = model.firms.iter().map(|f| f.effective_recipe()).collect();
    for (f, recipe) in model.firms.iter().zip(&recipes) {
        for input in recipe.keys() {
            // A trader's recipe is its own output: a stock passed through, not a cycle.
            if is_trader(f) && *input == f.output {
                continue;
            }
            edges.entry(input.as_str()).or_default().insert(f.output.as_str());
        }
    }
    // Depth-first search with colours; on a back edge, report the cycle.
    let mut state: BTreeMap<&str, u8> = BTreeMap::new();
    let mut stack: Vec<&str> = Vec::new();
    fn visit<'a>(
        n: &'a str,
        edges: &BTreeMap<&'a str, BTreeSet<&'a str>>,
        state: &mut BTreeMap<&'a str, u8>,
        stack: &mut Vec<&'a str>,
    ) -> Option<Vec<&'a str>> {
        state.insert(n, 1);
        stack.push(n);
        for &m in edges.get(n).into_iter().flatten() {
            match state.get(m).copied().unwrap_or(0) {
                1 => {
                    let at = stack.iter().position(|x| *x == m).unwrap_or(0);
                    let mut cyc = stack[at..].to_vec();
                    cyc.push(m);
                    return Some(cyc);
                }
                0 => {
                    if let Some(c) = visit(m, edges, state, stack) {
                        return Some(c);
                    }
                }
                _ => {}
            }
        }
        stack.pop();
        state.insert(n, 2);
        None
    }
    let nodes: Vec<&str> = edges.keys().copied().collect();
    for n in nodes {
        if state.get(n).copied().unwrap_or(0) == 0
            && let Some(cyc) = visit(n, &edges, &mut state, &mut stack)
        {
            let maker = model
                .firms
                .iter()
                .find(|f| f.output == cyc[1] && f.effective_recipe().contains_key(cyc[0]));
            let path = maker.map_or_else(|| vec![F("firms")], |f| recipe_key(f, cyc[0]));
            return Err(src.error_in(
                &path,
                format!(
                    "the commodity graph has a cycle: {} (recipes must lead from raw materials to final goods)",
                    cyc.join(" -> ")
                ),
            ));
        }
    }
    Ok(())
}

/// A model or run name: letters, digits, `_`, `-` and `.`, starting with a letter or digit, at
/// most 100 characters (so `runs/<name>` is always one folder inside `runs/`). Returns what is
/// wrong with `name`, if anything.
pub fn name_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("must not be empty".into());
    }
    if name.chars().count() > 100 {
        return Some("is longer than 100 characters".into());
    }
    if let Some(c) = name.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))) {
        return Some(format!(
            "contains `{}`; a name may hold only letters, digits, `_`, `-` and `.`",
            c.escape_default()
        ));
    }
    if !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Some("must start with a letter or a digit".into());
    }
    if name.contains("..") {
        return Some("must not contain `..`".into());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::{name_problem, nearest};

    #[test]
    fn suggests_close_names_only() {
        let c = ["US", "CN", "JP", "ROW"];
        assert_eq!(nearest("USA", c.iter().copied()), Some("US"));
        assert_eq!(nearest("row", c.iter().copied()), Some("ROW"));
        assert_eq!(nearest("Germany", c.iter().copied()), None);
    }

    #[test]
    fn names_are_identifiers_that_stay_one_folder_deep() {
        for good in ["baseline", "april_2025", "a-b.c", "2025", "x.y.z"] {
            assert_eq!(name_problem(good), None, "{good}");
        }
        for bad in ["", ".", "..", "../x", "a/b", "/abs", ".hidden", "a..b", "a b", "é", "a\\b", "-x"] {
            assert!(name_problem(bad).is_some(), "{bad:?} should be refused");
        }
        assert!(name_problem(&"a".repeat(101)).is_some());
    }
}
