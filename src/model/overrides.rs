//! `--set PATH=VALUE`: change any field of a loaded model before it runs.
//!
//! PATH is dot-separated field names; inside a list, a segment is either a 0-based index or
//! the `id` of an element (`firms.cn_magnet_1.capacity_per_day`). VALUE is JSON (`12`,
//! `0.5`, `true`, `[1,2]`, `{"a": 1}`); anything that is not JSON is taken as a string.

use super::Model;
use serde_json::Value;

/// Applies one `PATH=VALUE` assignment; the error says which part of the path failed.
pub fn apply(model: &Model, assignment: &str) -> Result<Model, String> {
    let (path, raw) = assignment
        .split_once('=')
        .ok_or_else(|| format!("--set `{assignment}`: expected PATH=VALUE, e.g. seed=7"))?;
    let value: Value = serde_json::from_str(raw).unwrap_or_else(|_| Value::String(raw.to_string()));
    let mut tree = serde_json::to_value(model).map_err(|e| e.to_string())?;
    let mut node = &mut tree;
    let segments: Vec<&str> = path.split('.').collect();
    for (i, seg) in segments.iter().enumerate() {
        let here = segments[..=i].join(".");
        node = match node {
            Value::Object(map) => {
                if !map.contains_key(*seg) {
                    // A new key is allowed only in maps keyed by data (recipes, stocks, suppliers).
                    let keys: Vec<&String> = map.keys().collect();
                    let data_map = segments[..i]
                        .last()
                        .is_some_and(|p| matches!(*p, "recipe" | "initial_stock" | "suppliers"));
                    if !data_map {
                        let near = super::check::nearest(seg, keys.iter().map(|k| k.as_str()));
                        return Err(format!(
                            "--set {path}: no field `{seg}` at `{here}`{}; fields there: {}",
                            near.map(|n| format!(" (did you mean `{n}`?)")).unwrap_or_default(),
                            keys.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(", ")
                        ));
                    }
                    map.insert(seg.to_string(), Value::Null);
                }
                map.get_mut(*seg).expect("present")
            }
            Value::Array(items) => {
                let idx = match seg.parse::<usize>() {
                    Ok(k) if k < items.len() => k,
                    Ok(k) => {
                        return Err(format!(
                            "--set {path}: index {k} out of range at `{here}` ({} elements)",
                            items.len()
                        ));
                    }
                    Err(_) => items
                        .iter()
                        .position(|it| it.get("id").and_then(Value::as_str) == Some(seg))
                        .ok_or_else(|| {
                            let ids = items.iter().filter_map(|it| it.get("id").and_then(Value::as_str));
                            match super::check::nearest(seg, ids) {
                                Some(n) => format!("--set {path}: no element with id `{seg}` at `{here}`; did you mean `{n}`?"),
                                None => format!("--set {path}: no element with id `{seg}` at `{here}`"),
                            }
                        })?,
                };
                &mut items[idx]
            }
            _ => {
                return Err(format!(
                    "--set {path}: `{}` is a value, not a record or list",
                    segments[..i].join(".")
                ));
            }
        };
    }
    *node = value;
    serde_json::from_value(tree).map_err(|e| format!("--set {path}: {e}"))
}

/// `path` with list indices replaced by the ids of the elements they reach (routes by
/// `FROM>TO`), as error paths are written: `firms.3.capacity_per_day` ->
/// `firms.cn_magnet.capacity_per_day`. Segments that reach nothing are kept as written.
pub fn normalize_path(model: &Model, path: &str) -> String {
    let Ok(tree) = serde_json::to_value(model) else {
        return path.to_string();
    };
    let mut node = Some(&tree);
    let mut out = Vec::new();
    for seg in path.split('.') {
        let mut shown = seg.to_string();
        node = match node {
            Some(Value::Object(map)) => map.get(seg),
            Some(Value::Array(items)) => {
                let item = match seg.parse::<usize>() {
                    Ok(k) => items.get(k),
                    Err(_) => items.iter().find(|it| it.get("id").and_then(Value::as_str) == Some(seg)),
                };
                if let Some(it) = item {
                    if let Some(id) = it.get("id").and_then(Value::as_str) {
                        shown = id.to_string();
                    } else if let (Some(a), Some(b)) = (it.get("from").and_then(Value::as_str), it.get("to").and_then(Value::as_str)) {
                        shown = format!("{a}>{b}");
                    }
                }
                item
            }
            _ => None,
        };
        out.push(shown);
    }
    out.join(".")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::load::{Source, parse};

    fn tiny() -> Model {
        let text = r#"(name: "t", calendar: (start: "2025-01-01", end: "2025-01-10"), seed: 1,
            commodities: [(id: "ore", unit: "t", price_usd: 1.0)], nations: [(id: "CN", price_region: "CN")],
            firms: [(id: "m", nation: "CN", role: "miner", output: "ore", capacity_per_day: 1.0)],
            routes: (domestic_days: 2, links: []),
            prices: (coverage_sensitivity: 0.6, cost_weight: 0.6, adjust_days: 30.0, cover_tolerance: 0.4),
            planning: (demand_smoothing_days: 10.0, stock_adjust_days: 10.0, final_demand_noise: 0.0),
            buying: (tariff_sensitivity: 0.0, approval_learning: 0.2, min_expected_approval: 0.1,
                     licence_wait_memory_days: 30.0, application_interval_days: 1))"#;
        parse(&Source::new("t.ron", text)).unwrap()
    }

    #[test]
    fn sets_fields_by_id_index_and_json() {
        let m = apply(&tiny(), "firms.m.capacity_per_day=2.5").unwrap();
        assert_eq!(m.firms[0].capacity_per_day, 2.5);
        let m = apply(&m, "firms.0.recipe.ore=1").unwrap();
        assert_eq!(m.firms[0].recipe["ore"], 1.0);
        let m = apply(&tiny(), "calendar.end=2025-02-01").unwrap();
        assert_eq!(m.calendar.end, "2025-02-01");
        assert!(
            apply(&tiny(), "firms.x.capacity_per_day=1")
                .unwrap_err()
                .contains("no element with id `x`")
        );
        assert!(apply(&tiny(), "sed=1").unwrap_err().contains("no field `sed`"));
        assert!(
            apply(&tiny(), "sed=1").unwrap_err().contains("did you mean `seed`?"),
            "the nearest field is suggested"
        );
        assert!(
            apply(&tiny(), "firms.n.capacity_per_day=1")
                .unwrap_err()
                .contains("did you mean `m`?"),
            "the nearest id is suggested"
        );
        assert!(apply(&tiny(), "seed=abc").is_err());
    }

    #[test]
    fn paths_are_normalized_to_ids() {
        let m = tiny();
        assert_eq!(normalize_path(&m, "firms.0.capacity_per_day"), "firms.m.capacity_per_day");
        assert_eq!(normalize_path(&m, "firms.m.recipe.ore"), "firms.m.recipe.ore");
        assert_eq!(normalize_path(&m, "seed"), "seed");
        assert_eq!(normalize_path(&m, "firms.9.x"), "firms.9.x");
    }
}
