//! Scenario files: `extends: "baseline.ron"` plus only what differs.
//!
//! A scenario names its base (a path relative to the scenario file), a new `name`, and any of:
//! `description`, `seed`; `commodities`, `nations`, `firms` (each replaces the base's element with
//! the same id, or is added); `routes` (replace the lane with the same from/to, or are added);
//! `policies` (controls and rules replace same-id ones or are added; tariffs and events are
//! added); `buying`, `prices`, `planning`, `selling`, `output`, `synthetic` (replace the base's); and
//! `set`, a map of
//! `PATH: VALUE` overrides applied last, as with `--set`. A scenario keeps its base's calendar,
//! so that runs compare day by day.

use super::load::{ModelError, Source};
use super::policy::{Buying, Policies};
use super::spans::Seg;
use super::{Commodity, Firm, Model, Nation, Planning, PriceRules, Route, Selling, Synthetic};
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
    #[serde(default)]
    pub selling: Option<Selling>,
    /// What the scenario's runs write per firm (replaces the base's `output`).
    #[serde(default)]
    pub output: Option<super::output::Output>,
    /// Generate a world at firm grain from the (base's) firms; replaces the base's.
    #[serde(default)]
    pub synthetic: Option<Synthetic>,
    /// PATH -> VALUE, applied last (VALUE as in `--set`).
    #[serde(default)]
    pub set: BTreeMap<String, String>,
}

/// True if the RON text is a scenario: its top-level record has an `extends` field. Decided
/// on the structure of the text (strings and comments skipped), so a description that
/// mentions `(extends:` does not make a model a scenario. Text that cannot be scanned (a
/// syntax error) is a scenario if its first field is `extends`, so that RON's error about the
/// syntax is reported against the right schema.
pub fn is_scenario(text: &str) -> bool {
    match super::spans::scan(text) {
        Ok(tree) => tree.field("extends").is_some(),
        Err(_) => super::spans::first_field(text).as_deref() == Some("extends"),
    }
}

fn merge_by_id<T: Clone>(base: &mut Vec<T>, changes: &[T], id: impl Fn(&T) -> String) {
    for c in changes {
        match base.iter().position(|b| id(b) == id(c)) {
            Some(k) => base[k] = c.clone(),
            None => base.push(c.clone()),
        }
    }
}

/// The first id given twice in one of the scenario's own lists: (list, index of the second).
fn repeated_id(sc: &Scenario) -> Option<(&'static str, Option<&'static str>, usize, String)> {
    fn first_repeat<'a>(ids: impl Iterator<Item = &'a str>) -> Option<(usize, String)> {
        let mut seen = std::collections::BTreeSet::new();
        ids.enumerate().find(|(_, id)| !seen.insert(*id)).map(|(k, id)| (k, id.to_string()))
    }
    let lists = [
        ("commodities", None, first_repeat(sc.commodities.iter().map(|c| c.id.as_str()))),
        ("nations", None, first_repeat(sc.nations.iter().map(|n| n.id.as_str()))),
        ("firms", None, first_repeat(sc.firms.iter().map(|f| f.id.as_str()))),
        (
            "policies",
            Some("controls"),
            first_repeat(sc.policies.controls.iter().map(|c| c.id.as_str())),
        ),
        (
            "policies",
            Some("rules"),
            first_repeat(sc.policies.rules.iter().map(|r| r.id.as_str())),
        ),
    ];
    lists.into_iter().find_map(|(l, sub, r)| r.map(|(k, id)| (l, sub, k, id)))
}

/// Applies a scenario to its resolved base model. Returns the model and the scenario's `set`
/// entries as paths with ids, each with the byte offset of its key in the scenario file (so
/// that a later check failing on a value a `set` gave points at that entry).
pub fn apply(base: Model, sc: &Scenario, src: &Source) -> Result<(Model, Vec<(String, usize)>), ModelError> {
    if let Some((list, sub, k, id)) = repeated_id(sc) {
        let mut path = vec![Seg::F(list)];
        path.extend(sub.map(Seg::F));
        path.extend([Seg::I(k), Seg::F("id")]);
        return Err(src.error_in(
            &path,
            format!("id `{id}` is given twice in this scenario's {}", sub.unwrap_or(list)),
        ));
    }
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
    if let Some(s) = &sc.selling {
        m.selling = s.clone();
    }
    if let Some(o) = &sc.output {
        m.output = o.clone();
    }
    if let Some(s) = &sc.synthetic {
        m.synthetic = Some(s.clone());
    }
    let mut sets = Vec::new();
    for (path, value) in &sc.set {
        let at = [Seg::F("set"), Seg::Key(path)];
        if path == "calendar" || path.starts_with("calendar.") {
            return Err(src.error_in(
                &at,
                format!("set `{path}`: a scenario keeps its base's calendar, so that runs compare day by day"),
            ));
        }
        let normalized = super::overrides::normalize_path(&m, path);
        m = super::overrides::apply(&m, &format!("{path}={value}")).map_err(|msg| src.error_in(&at, msg))?;
        let offset = src
            .tree
            .as_ref()
            .and_then(|t| t.step(Seg::F("set")))
            .and_then(|s| s.step(Seg::Key(path)));
        if let Some(n) = offset {
            sets.push((normalized, n.start));
        }
    }
    Ok((m, sets))
}
