//! Semantic checks of a parsed model: every id resolves, every number is in range, the
//! commodity graph has no cycle. Each error points at the offending text where it can.

use super::load::{ModelError, Source};
use super::{Model, Suppliers};
use crate::calendar::Date;
use std::collections::{BTreeMap, BTreeSet};

/// Checks `model` (read from `src`); the first problem found is returned.
pub fn check(model: &Model, src: &Source) -> Result<(), ModelError> {
    if let Some(why) = crate::folders::name_problem(&model.name) {
        return Err(src.error_at(
            "name",
            &model.name,
            format!(
                "model name `{}` {why} (it names the run folder runs/<name>/)",
                model.name.escape_default()
            ),
        ));
    }
    check_calendar(model, src)?;
    let commodities = unique(src, "id", model.commodities.iter().map(|c| c.id.as_str()), "commodity")?;
    let nations = unique(src, "id", model.nations.iter().map(|n| n.id.as_str()), "nation")?;
    let firms = unique(src, "id", model.firms.iter().map(|f| f.id.as_str()), "firm")?;

    for c in &model.commodities {
        if !(c.price_usd.is_finite() && c.price_usd > 0.0) {
            return Err(src.error_at(
                "id",
                &c.id,
                format!(
                    "commodity `{}`: price_usd must be a positive number of USD per {}, found {}",
                    c.id, c.unit, c.price_usd
                ),
            ));
        }
        if c.unit.trim().is_empty() {
            return Err(src.error_at("id", &c.id, format!("commodity `{}`: unit must not be empty (e.g. \"t\")", c.id)));
        }
    }
    for n in &model.nations {
        let ok = n.id == "EU" || n.id == "ROW" || (n.id.len() == 2 && n.id.chars().all(|c| c.is_ascii_uppercase()));
        if !ok {
            return Err(src.error_at(
                "id",
                &n.id,
                format!(
                    "nation id `{}` is not an ISO 3166-1 alpha-2 code (two capital letters), `EU` or `ROW`",
                    n.id
                ),
            ));
        }
        if n.price_region.trim().is_empty() {
            return Err(src.error_at("id", &n.id, format!("nation `{}`: price_region must not be empty", n.id)));
        }
    }

    let finals: BTreeSet<&str> = model.commodities.iter().filter(|c| c.final_demand).map(|c| c.id.as_str()).collect();
    for f in &model.firms {
        known(src, "nation", &f.nation, &nations, "nation")?;
        known(src, "output", &f.output, &commodities, "commodity")?;
        let snake = !f.role.is_empty()
            && f.role.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            && f.role.starts_with(|c: char| c.is_ascii_lowercase());
        if !snake {
            return Err(src.error_at(
                "role",
                &f.role,
                format!("firm `{}`: role `{}` must be snake_case, e.g. `magnet_maker`", f.id, f.role),
            ));
        }
        if !(f.capacity_per_day.is_finite() && f.capacity_per_day >= 0.0) {
            return Err(src.error_at(
                "id",
                &f.id,
                format!(
                    "firm `{}`: capacity_per_day must be a non-negative number, found {}",
                    f.id, f.capacity_per_day
                ),
            ));
        }
        for (name, v) in [
            ("target_cover_days", f.target_cover_days),
            ("output_cover_days", f.output_cover_days),
            ("price_elasticity", f.price_elasticity),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(src.error_at(
                    "id",
                    &f.id,
                    format!("firm `{}`: {name} must be a non-negative number, found {v}", f.id),
                ));
            }
        }
        if !f.lines.is_empty() {
            if !f.recipe.is_empty() {
                return Err(src.error_at("id", &f.id, format!("firm `{}`: give either a recipe or lines, not both", f.id)));
            }
            let ids = unique(src, "id", f.lines.iter().map(|l| l.id.as_str()), "line")?;
            let total: f64 = f.lines.iter().map(|l| l.share).sum();
            if f.lines.iter().any(|l| !(l.share.is_finite() && l.share > 0.0)) || (total - 1.0).abs() > 1e-6 {
                return Err(src.error_at(
                    "id",
                    &f.id,
                    format!("firm `{}`: line shares must be positive and sum to 1, found a sum of {total}", f.id),
                ));
            }
            for l in &f.lines {
                if l.recipe.is_empty() {
                    return Err(src.error_at("id", &l.id, format!("firm `{}`: line `{}` has an empty recipe", f.id, l.id)));
                }
            }
            if let super::LineRationing::Priority(order) = &f.line_rationing {
                let given: BTreeSet<&str> = order.iter().map(|s| s.as_str()).collect();
                if given != ids || order.len() != ids.len() {
                    return Err(src.error_at(
                        "id",
                        &f.id,
                        format!(
                            "firm `{}`: Priority must list each line once: {}",
                            f.id,
                            ids.iter().copied().collect::<Vec<_>>().join(", ")
                        ),
                    ));
                }
            }
        }
        let recipe = f.effective_recipe();
        for (input, &q) in &recipe {
            known(src, "", input, &commodities, "commodity")?;
            if !(q.is_finite() && q > 0.0) {
                return Err(src.error_at(
                    "",
                    input,
                    format!(
                        "firm `{}`: recipe amount of `{input}` must be a positive number of units per unit of output, found {q}",
                        f.id
                    ),
                ));
            }
            if finals.contains(input.as_str()) {
                return Err(src.error_at(
                    "",
                    input,
                    format!("firm `{}`: `{input}` is a final-demand good and cannot be an input", f.id),
                ));
            }
            if *input == f.output {
                return Err(src.error_at(
                    "",
                    input,
                    format!(
                        "firm `{}`: `{input}` is both its output and an input (a cycle in the commodity graph)",
                        f.id
                    ),
                ));
            }
        }
        for (c, &q) in &f.initial_stock {
            known(src, "", c, &commodities, "commodity")?;
            if *c != f.output && !recipe.contains_key(c) {
                return Err(src.error_at(
                    "",
                    c,
                    format!(
                        "firm `{}`: initial_stock of `{c}`, which is neither its output nor in its recipe",
                        f.id
                    ),
                ));
            }
            if !(q.is_finite() && q >= 0.0) {
                return Err(src.error_at(
                    "",
                    c,
                    format!("firm `{}`: initial_stock of `{c}` must be non-negative, found {q}", f.id),
                ));
            }
        }
        for (input, rule) in &f.suppliers {
            if !recipe.contains_key(input) {
                return Err(src.error_at(
                    "",
                    input,
                    format!("firm `{}`: suppliers given for `{input}`, which is not in its recipe", f.id),
                ));
            }
            match rule {
                Suppliers::Listed(list) => {
                    if list.is_empty() {
                        return Err(src.error_at("", input, format!("firm `{}`: Listed suppliers of `{input}` is empty", f.id)));
                    }
                    for s in list {
                        known(src, "firm", &s.firm, &firms, "firm")?;
                        let sup = model.firms.iter().find(|x| x.id == s.firm).expect("known firm");
                        if sup.output != *input {
                            return Err(src.error_at(
                                "firm",
                                &s.firm,
                                format!(
                                    "firm `{}` lists `{}` as a supplier of `{input}`, but `{}` makes `{}`",
                                    f.id, s.firm, s.firm, sup.output
                                ),
                            ));
                        }
                        if !(s.share.is_finite() && s.share > 0.0) {
                            return Err(src.error_at(
                                "firm",
                                &s.firm,
                                format!(
                                    "firm `{}`: share of supplier `{}` must be positive, found {}",
                                    f.id, s.firm, s.share
                                ),
                            ));
                        }
                    }
                }
                Suppliers::ByNation(shares) => {
                    for (n, &w) in shares {
                        known(src, "", n, &nations, "nation")?;
                        if !(w.is_finite() && w > 0.0) {
                            return Err(src.error_at(
                                "",
                                n,
                                format!("firm `{}`: share of nation `{n}` for `{input}` must be positive, found {w}", f.id),
                            ));
                        }
                        if !model
                            .firms
                            .iter()
                            .any(|s| s.nation == *n && s.output == *input && s.capacity_per_day > 0.0)
                        {
                            return Err(src.error_at(
                                "",
                                n,
                                format!(
                                    "firm `{}`: buys `{input}` from nation `{n}`, but no firm there makes `{input}`",
                                    f.id
                                ),
                            ));
                        }
                    }
                }
                Suppliers::ByCapacity { nations: ns, home_share } => {
                    for n in ns {
                        if !nations.contains(n.as_str()) {
                            return Err(unknown(src, "", n, &nations, "nation"));
                        }
                    }
                    if let Some(h) = home_share
                        && !(0.0..=1.0).contains(h)
                    {
                        return Err(src.error_at("", input, format!("firm `{}`: home_share must be between 0 and 1, found {h}", f.id)));
                    }
                }
            }
        }
    }
    // Every input must be made by somebody.
    let made: BTreeSet<&str> = model.firms.iter().map(|f| f.output.as_str()).collect();
    for f in &model.firms {
        for input in f.effective_recipe().keys() {
            if !made.contains(input.as_str()) {
                return Err(src.error_at("", input, format!("firm `{}` needs `{input}`, but no firm makes `{input}`", f.id)));
            }
        }
    }
    check_cycles(model, src)?;

    for r in &model.routes.links {
        known(src, "from", &r.from, &nations, "nation")?;
        known(src, "to", &r.to, &nations, "nation")?;
        if r.days == 0 || r.jitter_days >= r.days {
            return Err(src.error_at(
                "from",
                &r.from,
                format!(
                    "route {} -> {}: days must be at least 1 and jitter_days less than days (found {} ± {})",
                    r.from, r.to, r.days, r.jitter_days
                ),
            ));
        }
    }
    if model.routes.domestic_days == 0 {
        return Err(src.error_at("", "", "routes: domestic_days must be at least 1".into()));
    }
    check_policies(model, src, &nations, &commodities)?;
    let b = &model.buying;
    for (name, v, lo, hi) in [
        ("tariff_sensitivity", b.tariff_sensitivity, 0.0, 100.0),
        ("denial_penalty", b.denial_penalty, 0.0, 1.0),
        ("approval_recovery", b.approval_recovery, 0.0, 1.0),
        ("reliability_floor", b.reliability_floor, 0.0, 1.0),
        ("licence_wait_memory_days", b.licence_wait_memory_days, 1.0, 1e6),
    ] {
        if !(v.is_finite() && (lo..=hi).contains(&v)) {
            return Err(src.error(format!("buying: {name} must be between {lo} and {hi}, found {v}")));
        }
    }
    if b.application_interval_days == 0 {
        return Err(src.error("buying: application_interval_days must be at least 1".into()));
    }
    let p = &model.prices;
    for (name, v) in [
        ("speed_per_day", p.speed_per_day),
        ("reversion_per_day", p.reversion_per_day),
        ("stock_gap_weight", p.stock_gap_weight),
    ] {
        if !(v.is_finite() && (0.0..=1.0).contains(&v)) {
            return Err(src.error(format!("prices: {name} must be between 0 and 1 per day, found {v}")));
        }
    }
    let pl = &model.planning;
    for (name, v) in [
        ("demand_smoothing_days", pl.demand_smoothing_days),
        ("stock_adjust_days", pl.stock_adjust_days),
        ("market_shock_days", pl.market_shock_days),
    ] {
        if !(v.is_finite() && v >= 1.0) {
            return Err(src.error(format!("planning: {name} must be at least 1 day, found {v}")));
        }
    }
    if !(pl.final_demand_noise.is_finite() && (0.0..0.5).contains(&pl.final_demand_noise)) {
        return Err(src.error(format!(
            "planning: final_demand_noise must be in [0, 0.5), found {}",
            pl.final_demand_noise
        )));
    }
    if !(pl.market_shock_sd.is_finite() && (0.0..0.5).contains(&pl.market_shock_sd)) {
        return Err(src.error(format!(
            "planning: market_shock_sd must be in [0, 0.5), found {}",
            pl.market_shock_sd
        )));
    }
    Ok(())
}

fn check_policies(model: &Model, src: &Source, nations: &BTreeSet<&str>, commodities: &BTreeSet<&str>) -> Result<(), ModelError> {
    use super::policy::{Action, Condition, Dist};
    let pol = &model.policies;
    let controls = unique(src, "id", pol.controls.iter().map(|c| c.id.as_str()), "export control")?;
    let regions: BTreeSet<&str> = model.nations.iter().map(|n| n.price_region.as_str()).collect();
    let roles: BTreeSet<&str> = model.firms.iter().map(|f| f.role.as_str()).collect();
    let prob = |what: &str, key: &str, v: f64| -> Result<(), ModelError> {
        if v.is_finite() && (0.0..=1.0).contains(&v) {
            Ok(())
        } else {
            Err(src.error_at("", key, format!("{what} must be a probability between 0 and 1, found {v}")))
        }
    };
    let dist = |what: &str, key: &str, d: &Dist| -> Result<(), ModelError> {
        if d.is_valid() {
            Ok(())
        } else {
            Err(src.error_at(
                "id",
                key,
                format!("{what}: {d:?} is not a valid distribution of days (non-negative, min <= mode <= max)"),
            ))
        }
    };
    for c in &pol.controls {
        known(src, "nation", &c.nation, nations, "nation")?;
        if c.commodities.is_empty() {
            return Err(src.error_at("id", &c.id, format!("export control `{}` lists no commodities", c.id)));
        }
        for (k, &share) in &c.commodities {
            known(src, "", k, commodities, "commodity")?;
            prob(&format!("export control `{}`: share of `{k}` under licence", c.id), k, share)?;
        }
        dist(
            &format!("export control `{}`: review_working_days", c.id),
            &c.id,
            &c.review_working_days,
        )?;
        prob(&format!("export control `{}`: approval.civil", c.id), &c.id, c.approval.civil)?;
        prob(&format!("export control `{}`: approval.defence", c.id), &c.id, c.approval.defence)?;
        for (n, &p) in c.approval.civil_by_destination.iter().chain(&c.approval.defence_by_destination) {
            known(src, "", n, nations, "nation")?;
            prob(&format!("export control `{}`: approval for {n}", c.id), n, p)?;
        }
        for (k, &q) in &c.annual_quota {
            known(src, "", k, commodities, "commodity")?;
            if !(q.is_finite() && q >= 0.0) {
                return Err(src.error_at(
                    "",
                    k,
                    format!("export control `{}`: annual_quota of `{k}` must be non-negative", c.id),
                ));
            }
        }
        for n in c.banned.iter().chain(&c.general_licences) {
            if !nations.contains(n.as_str()) {
                return Err(unknown(src, "", n, nations, "nation"));
            }
        }
        if c.validity_days == 0 {
            return Err(src.error_at("id", &c.id, format!("export control `{}`: validity_days must be at least 1", c.id)));
        }
        if let Some(i) = &c.inspection {
            prob(&format!("export control `{}`: inspection share", c.id), &c.id, i.share)?;
            dist(&format!("export control `{}`: inspection hold_days", c.id), &c.id, &i.hold_days)?;
        }
    }
    for t in &pol.tariffs {
        known(src, "importer", &t.importer, nations, "nation")?;
        known(src, "origin", &t.origin, nations, "nation")?;
        known(src, "commodity", &t.commodity, commodities, "commodity")?;
        if !(t.rate.is_finite() && t.rate >= 0.0) {
            return Err(src.error_at(
                "importer",
                &t.importer,
                format!("tariff rate must be non-negative, found {}", t.rate),
            ));
        }
    }
    let check_action = |a: &Action| -> Result<(), ModelError> {
        let control = |id: &str| known(src, "", id, &controls, "export control");
        match a {
            Action::Activate(id) | Action::Deactivate(id) => control(id),
            Action::SetApproval {
                control: id,
                destination,
                probability,
                ..
            } => {
                control(id)?;
                if let Some(d) = destination {
                    known(src, "destination", d, nations, "nation")?;
                }
                prob("SetApproval probability", id, *probability)
            }
            Action::SetReview { control: id, working_days } => {
                control(id)?;
                dist("SetReview", id, working_days)
            }
            Action::SetQuota {
                control: id,
                commodity,
                quantity,
            } => {
                control(id)?;
                known(src, "commodity", commodity, commodities, "commodity")?;
                match quantity {
                    Some(q) if !(q.is_finite() && *q >= 0.0) => {
                        Err(src.error_at("commodity", commodity, format!("SetQuota quantity must be non-negative, found {q}")))
                    }
                    _ => Ok(()),
                }
            }
            Action::SetCoverage {
                control: id,
                commodity,
                share,
            } => {
                control(id)?;
                known(src, "commodity", commodity, commodities, "commodity")?;
                prob("SetCoverage share", commodity, *share)
            }
            Action::Ban { control: id, destination }
            | Action::Unban { control: id, destination }
            | Action::GrantGeneral { control: id, destination }
            | Action::RevokeGeneral { control: id, destination } => {
                control(id)?;
                known(src, "destination", destination, nations, "nation")
            }
            Action::SetInspection { control: id, inspection } => {
                control(id)?;
                if let Some(i) = inspection {
                    prob("SetInspection share", id, i.share)?;
                    dist("SetInspection hold_days", id, &i.hold_days)?;
                }
                Ok(())
            }
            Action::SetTariff {
                importer,
                origin,
                commodity,
                rate,
            } => {
                known(src, "importer", importer, nations, "nation")?;
                known(src, "origin", origin, nations, "nation")?;
                known(src, "commodity", commodity, commodities, "commodity")?;
                if rate.is_finite() && *rate >= 0.0 {
                    Ok(())
                } else {
                    Err(src.error_at("importer", importer, format!("SetTariff rate must be non-negative, found {rate}")))
                }
            }
        }
    };
    let start = Date::parse(&model.calendar.start).expect("checked");
    for e in &pol.events {
        let d = Date::parse(&e.date)
            .ok_or_else(|| src.error_at("date", &e.date, format!("event date `{}` is not of the form YYYY-MM-DD", e.date)))?;
        if d < start {
            return Err(src.error_at("date", &e.date, format!("event date {d} is before the model's start {start}")));
        }
        known(src, "nation", &e.nation, nations, "nation")?;
        check_action(&e.action)?;
    }
    unique(src, "id", pol.rules.iter().map(|r| r.id.as_str()), "rule")?;
    for r in &pol.rules {
        known(src, "nation", &r.nation, nations, "nation")?;
        check_action(&r.then)?;
        if r.for_days == 0 {
            return Err(src.error_at("id", &r.id, format!("rule `{}`: for_days must be at least 1", r.id)));
        }
        match &r.when {
            Condition::OutputLostAbove { nation, role, share } => {
                known(src, "nation", nation, nations, "nation")?;
                known(src, "role", role, &roles, "role")?;
                prob("OutputLostAbove share", &r.id, *share)?;
            }
            Condition::TariffAtMost {
                importer,
                origin,
                commodity,
                ..
            } => {
                known(src, "importer", importer, nations, "nation")?;
                known(src, "origin", origin, nations, "nation")?;
                known(src, "commodity", commodity, commodities, "commodity")?;
            }
            Condition::AfterRule { rule } => {
                let ids: BTreeSet<&str> = pol.rules.iter().map(|r| r.id.as_str()).collect();
                known(src, "rule", rule, &ids, "rule")?;
            }
            Condition::PriceRatioAbove {
                commodity,
                region,
                over_region,
                ..
            } => {
                known(src, "commodity", commodity, commodities, "commodity")?;
                known(src, "region", region, &regions, "price region")?;
                known(src, "over_region", over_region, &regions, "price region")?;
            }
        }
    }
    Ok(())
}

fn check_calendar(model: &Model, src: &Source) -> Result<(), ModelError> {
    let c = &model.calendar;
    let start = Date::parse(&c.start).ok_or_else(|| {
        src.error_at(
            "start",
            &c.start,
            format!("calendar start `{}` is not a date of the form YYYY-MM-DD", c.start),
        )
    })?;
    let end = Date::parse(&c.end).ok_or_else(|| {
        src.error_at(
            "end",
            &c.end,
            format!("calendar end `{}` is not a date of the form YYYY-MM-DD", c.end),
        )
    })?;
    if end < start {
        return Err(src.error_at("end", &c.end, format!("calendar end {end} is before start {start}")));
    }
    if c.tick_days == 0 {
        return Err(src.error("calendar: tick_days must be at least 1".into()));
    }
    Ok(())
}

fn unique<'a>(src: &Source, key: &str, ids: impl Iterator<Item = &'a str>, what: &str) -> Result<BTreeSet<&'a str>, ModelError> {
    let mut set = BTreeSet::new();
    for id in ids {
        if id.is_empty() {
            return Err(src.error(format!("a {what} has an empty id")));
        }
        if !set.insert(id) {
            return Err(src.error_at(key, id, format!("{what} id `{id}` is defined twice")));
        }
    }
    Ok(set)
}

fn known(src: &Source, key: &str, id: &str, set: &BTreeSet<&str>, what: &str) -> Result<(), ModelError> {
    if set.contains(id) {
        Ok(())
    } else {
        Err(unknown(src, key, id, set, what))
    }
}

fn unknown(src: &Source, key: &str, id: &str, set: &BTreeSet<&str>, what: &str) -> ModelError {
    let mut msg = format!("unknown {what} `{id}`");
    if let Some(near) = nearest(id, set.iter().copied()) {
        msg.push_str(&format!("; did you mean `{near}`?"));
    } else {
        let list: Vec<&str> = set.iter().copied().take(12).collect();
        msg.push_str(&format!("; expected one of: {}", list.join(", ")));
    }
    src.error_at(key, id, msg)
}

/// The closest candidate by edit distance, if it is close enough to be a likely typo.
pub fn nearest<'a>(word: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let lw = word.to_lowercase();
    candidates
        .map(|c| (edit_distance(&lw, &c.to_lowercase()), c))
        .filter(|(d, c)| *d <= (c.len().max(word.len()) / 3).max(1))
        .min()
        .map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb)).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Commodity graph: an edge input -> output for every recipe. It must be acyclic.
fn check_cycles(model: &Model, src: &Source) -> Result<(), ModelError> {
    let mut edges: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    let recipes: Vec<BTreeMap<String, f64>> = model.firms.iter().map(|f| f.effective_recipe()).collect();
    for (f, recipe) in model.firms.iter().zip(&recipes) {
        for input in recipe.keys() {
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
                .find(|f| f.output == cyc[1] && f.effective_recipe().contains_key(cyc[0]))
                .map(|f| f.id.as_str())
                .unwrap_or("");
            return Err(src.error_at(
                "id",
                maker,
                format!(
                    "the commodity graph has a cycle: {} (recipes must lead from raw materials to final goods)",
                    cyc.join(" -> ")
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::nearest;

    #[test]
    fn suggests_close_names_only() {
        let c = ["US", "CN", "JP", "ROW"];
        assert_eq!(nearest("USA", c.iter().copied()), Some("US"));
        assert_eq!(nearest("row", c.iter().copied()), Some("ROW"));
        assert_eq!(nearest("Germany", c.iter().copied()), None);
    }
}
