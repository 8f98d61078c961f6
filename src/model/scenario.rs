//! Scenario files: `extends: "baseline.ron"` plus only what differs.
//!
//! A scenario names its base (a path relative to the scenario file), a new `name`, and any of:
//! `description`, `seed`; `commodities`, `nations`, `firms` (each replaces the base's element with
//! the same id, or is added); `routes` (replace the lane with the same from/to, or are added);
//! `policies` (controls and rules replace same-id ones or are added; tariffs and events are
//! added); `buying`, `prices`, `planning` (replace the base's); and `set`, a map of
//! `PATH: VALUE` overrides applied last, as with `--set`. A scenario keeps its base's calendar,
//! so that runs compare day by day.

use super::load::{ModelError, Source};
use super::policy::{Buying, Policies};
use super::{Commodity, Firm, Model, Nation, Planning, PriceRules, Route};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What a scenario file may say.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub extends: String,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub seed: Option<u64>,
    #[serde(default)]
    pub commodities: Vec<Commodity>,
    #[serde(default)]
    pub nations: Vec<Nation>,
    #[serde(default)]
    pub firms: Vec<Firm>,
    #[serde(default)]
    pub routes: Vec<Route>,
    #[serde(default)]
    pub policies: Policies,
    #[serde(default)]
    pub buying: Option<Buying>,
    #[serde(default)]
    pub prices: Option<PriceRules>,
    #[serde(default)]
    pub planning: Option<Planning>,
    /// PATH -> VALUE, applied last (VALUE as in `--set`).
    #[serde(default)]
    pub set: BTreeMap<String, String>,
}

/// True if the RON text is a scenario (has a top-level `extends` field).
pub fn is_scenario(text: &str) -> bool {
    text.lines().any(|l| {
        let code = l.split("//").next().unwrap_or("");
        code.trim_start().starts_with("extends:") || code.contains("(extends:")
    })
}

fn merge_by_id<T: Clone>(base: &mut Vec<T>, changes: &[T], id: impl Fn(&T) -> String) {
    for c in changes {
        match base.iter().position(|b| id(b) == id(c)) {
            Some(k) => base[k] = c.clone(),
            None => base.push(c.clone()),
        }
    }
}

/// Applies a scenario to its resolved base model.
pub fn apply(base: Model, sc: &Scenario, src: &Source) -> Result<Model, ModelError> {
    let mut m = base;
    m.name = sc.name.clone();
    if let Some(d) = &sc.description {
        m.description = d.clone();
    }
    if let Some(s) = sc.seed {
        m.seed = s;
    }
    merge_by_id(&mut m.commodities, &sc.commodities, |c| c.id.clone());
    merge_by_id(&mut m.nations, &sc.nations, |n| n.id.clone());
    merge_by_id(&mut m.firms, &sc.firms, |f| f.id.clone());
    merge_by_id(&mut m.routes.links, &sc.routes, |r| format!("{}>{}", r.from, r.to));
    merge_by_id(&mut m.policies.controls, &sc.policies.controls, |c| c.id.clone());
    merge_by_id(&mut m.policies.rules, &sc.policies.rules, |r| r.id.clone());
    m.policies.tariffs.extend(sc.policies.tariffs.iter().cloned());
    m.policies.events.extend(sc.policies.events.iter().cloned());
    if let Some(b) = &sc.buying {
        m.buying = b.clone();
    }
    if let Some(p) = &sc.prices {
        m.prices = p.clone();
    }
    if let Some(p) = &sc.planning {
        m.planning = p.clone();
    }
    for (path, value) in &sc.set {
        if path == "calendar" || path.starts_with("calendar.") {
            return Err(src.error_at(
                "",
                path,
                format!("set `{path}`: a scenario keeps its base's calendar, so that runs compare day by day"),
            ));
        }
        m = super::overrides::apply(&m, &format!("{path}={value}")).map_err(|msg| src.error_at("", path, msg))?;
    }
    Ok(m)
}
