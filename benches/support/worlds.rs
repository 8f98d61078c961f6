//! Big worlds for the benchmarks, built in memory.

use chokepoint::model::{Model, SupplierShare, Suppliers};
use chokepoint::run::{RunOptions, resolve_model};
use std::collections::BTreeMap;
use std::path::Path;

/// The shipped baseline copied `k` times: each copy's capacities and starting stocks divided by
/// `k` and its supplier rules resolved to `Listed` links inside the copy (the method of issue
/// 11), so that the world's totals are the baseline's.
pub fn copies(k: usize) -> Model {
    copies_of("models/baseline.ron", k)
}

/// The shipped model at `path` copied `k` times, as [`copies`] copies the baseline: its
/// policies (nation-wide regimes, tariffs and events) apply to every copy.
pub fn copies_of(path: &str, k: usize) -> Model {
    let (base, _, net) = resolve_model(Path::new(path), &RunOptions::default()).expect("model loads");
    let mut m = base.clone();
    m.firms.clear();
    let kf = k as f64;
    for c in 0..k {
        for (i, f) in base.firms.iter().enumerate() {
            let mut g = f.clone();
            g.id = format!("{}_{c}", f.id);
            g.capacity_per_day /= kf;
            g.initial_stock.values_mut().for_each(|q| *q /= kf);
            g.suppliers = net.inputs[i]
                .iter()
                .map(|spec| {
                    let list = spec
                        .links
                        .iter()
                        .map(|l| SupplierShare {
                            firm: format!("{}_{c}", base.firms[l.supplier as usize].id),
                            share: l.share,
                        })
                        .collect();
                    (net.commodities[spec.commodity as usize].clone(), Suppliers::Listed(list))
                })
                .collect::<BTreeMap<_, _>>();
            m.firms.push(g);
        }
    }
    m
}
