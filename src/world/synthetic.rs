//! A world at firm grain generated from a model's own firms, its templates (the model's
//! `synthetic` section, issue 11): a 10^6-firm world from a 50-firm file.
//!
//! Each template becomes `n` firms `<template>~<k>` (k = 0 the largest) of its nation, role,
//! recipe, lines and rules. Their sizes are Pareto draws normalised to sum to one, and every
//! extensive quantity of the template — `capacity_per_day`, each `initial_stock`, a trader's
//! `base_stock` — is shared out in proportion, the largest firm taking the rounding remainder,
//! so that each sums to the template's to rounding. Intensive ones (recipes, covers,
//! elasticity, defence share, line shares, allocation and trading rules) are copied.
//!
//! Links, per buyer template and input, by interval matching: the template's buyers, in a
//! random order, lay their sizes end to end on [0, 1); the generated firms of the templates it
//! buys from, each template's firms in a random order, lay theirs, scaled by the template's
//! share of the buyer template's orders (its supplier rule as the network resolves it). A
//! buyer buys from every supplier whose interval overlaps its own, in proportion to the
//! overlap (the north-west corner rule of the transportation problem). This is done
//! `suppliers_per_input` times in new random orders, each carrying an equal part of every
//! order, so a small buyer has about that many suppliers, a large buyer more in proportion to
//! its size, and a large supplier customers in proportion to its size (heavy-tailed degrees,
//! as in firm-level production networks: Atalay et al. 2011, PNAS 108(13); Bernard, Moxnes &
//! Saito 2019, JPE 127(2)). Three sets of totals then hold exactly at the steady state, with
//! no fitting: what each buyer orders (its size share of its template's orders), what flows
//! between each pair of templates, so between nations (the model's own), and what each
//! supplier sells (its size share of its template's sales): every generated firm starts at its
//! template's utilisation.
//!
//! A generated firm's suppliers are listed by firm index in the world's `generated` field
//! ([`crate::model::GeneratedSuppliers`]), where a written model would have a `Listed` rule
//! naming each by id: 16 bytes a link instead of about 200 (the ids and a map per firm).
//!
//! All draws are a keyed hash of (generator seed, template id, purpose, counter): the same spec
//! gives the same world, and a template's sizes do not depend on the other templates.

use crate::model::{Firm, GeneratedInput, GeneratedSuppliers, Model, SYNTHETIC_ID_SEPARATOR, Synthetic};
use crate::world::network::Network;
use crate::world::rng::{splitmix as mix, stable_hash as fnv};
use std::collections::BTreeMap;

/// A generated world.
#[derive(Debug, Clone)]
pub struct Expansion {
    /// The model with generated firms (its `synthetic` section removed).
    pub model: Model,
    /// Index in the spec's firms of each generated firm's template.
    pub template: Vec<u32>,
}

/// Counter-based uniform draws for one (seed, template, purpose): draw `i` is a hash of the
/// key and `i`, so no state is kept and draws can be taken in any order.
struct Draws {
    key: u64,
}

impl Draws {
    fn new(seed: u64, template: &str, purpose: &str) -> Draws {
        Draws {
            key: mix(mix(seed) ^ mix(fnv(template)).rotate_left(23) ^ fnv(purpose)),
        }
    }

    /// A uniform draw in [0, 1).
    fn uniform(&self, i: u64) -> f64 {
        (mix(self.key ^ mix(i)) >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}

/// `n` Pareto(α) sizes normalised to sum to 1, largest first.
fn sizes(seed: u64, template: &str, n: usize, alpha: f64) -> Vec<f64> {
    let d = Draws::new(seed, template, "size");
    let mut x: Vec<f64> = (0..n as u64).map(|i| (1.0 - d.uniform(i)).powf(-1.0 / alpha)).collect();
    x.sort_by(|a, b| b.total_cmp(a));
    let total: f64 = x.iter().sum();
    x.iter().map(|v| v / total).collect()
}

/// `total` shared in proportion to `w` (which sums to 1, largest first); the first part takes
/// the remainder so that the parts, summed in order, give `total` to rounding.
fn split(total: f64, w: &[f64]) -> Vec<f64> {
    let mut parts: Vec<f64> = w.iter().map(|x| total * x).collect();
    let rest: f64 = parts[1..].iter().sum();
    parts[0] = (total - rest).max(0.0);
    parts
}

/// `0..n` in a random order (Fisher–Yates with counter-based draws).
fn shuffled(n: usize, d: &Draws, stream: u64) -> Vec<u32> {
    let mut v: Vec<u32> = (0..n as u32).collect();
    for i in (1..n).rev() {
        let j = ((d.uniform((stream << 32) | i as u64) * (i + 1) as f64) as usize).min(i);
        v.swap(i, j);
    }
    v
}

/// Overlaps shorter than this share of the shorter interval are rounding, not links.
const SLIVER: f64 = 1e-12;

/// Expands `spec` (a model with a `synthetic` section, checked) at firm grain; `net` is the
/// spec's own resolved network (its templates' supplier shares).
pub fn expand(spec: &Model, net: &Network, syn: &Synthetic) -> Expansion {
    let t = spec.firms.len();
    let seed = syn.seed;
    // Firms per template: equal shares, the first ones one more.
    let (base, extra) = (syn.firms / t as u64, syn.firms % t as u64);
    let counts: Vec<usize> = (0..t).map(|j| (base + u64::from((j as u64) < extra)) as usize).collect();
    let mut offset = Vec::with_capacity(t + 1);
    offset.push(0usize);
    for &n in &counts {
        offset.push(offset.last().unwrap() + n);
    }
    let total = offset[t];
    let weights: Vec<Vec<f64>> = spec
        .firms
        .iter()
        .zip(&counts)
        .map(|(f, &n)| sizes(seed, &f.id, n, syn.size_tail))
        .collect();

    let mut template = Vec::with_capacity(total);
    let mut firms: Vec<Firm> = Vec::with_capacity(total);
    for (j, tf) in spec.firms.iter().enumerate() {
        // What every generated firm copies: the template without its extensive maps and rules.
        let like = Firm {
            initial_stock: BTreeMap::new(),
            suppliers: BTreeMap::new(),
            ..tf.clone()
        };
        let w = &weights[j];
        let capacity = split(tf.capacity_per_day, w);
        let stocks: BTreeMap<&String, Vec<f64>> = tf.initial_stock.iter().map(|(c, &q)| (c, split(q, w))).collect();
        let base_stock = tf.trading.as_ref().map(|tr| split(tr.base_stock, w));
        for k in 0..counts[j] {
            let mut f = Firm {
                id: format!("{}{SYNTHETIC_ID_SEPARATOR}{k}", tf.id),
                capacity_per_day: capacity[k],
                initial_stock: stocks.iter().map(|(&c, q)| (c.clone(), q[k])).collect(),
                ..like.clone()
            };
            if let (Some(tr), Some(b)) = (f.trading.as_mut(), &base_stock) {
                tr.base_stock = b[k];
            }
            firms.push(f);
            template.push(j as u32);
        }
    }

    // Each generated firm's inputs, firm by firm: its template's, in the same order.
    let mut firm_from = Vec::with_capacity(total + 1);
    firm_from.push(0u32);
    for (j, &n) in counts.iter().enumerate() {
        for _ in 0..n {
            let last = *firm_from.last().expect("starts with 0");
            firm_from.push(last + net.inputs[j].len() as u32);
        }
    }
    let mut inputs = vec![GeneratedInput::default(); *firm_from.last().expect("starts with 0") as usize];
    let mut all: Vec<(u32, f64)> = Vec::new();

    let layers = syn.suppliers_per_input.max(1) as usize;
    let part = 1.0 / layers as f64;
    for (j, tf) in spec.firms.iter().enumerate() {
        for (i, input) in net.inputs[j].iter().enumerate() {
            // The templates this one buys the input from, with their shares (summing to 1).
            let mut by_supplier: BTreeMap<usize, f64> = BTreeMap::new();
            for l in &input.links {
                *by_supplier.entry(l.supplier as usize).or_default() += l.share;
            }
            let commodity = &net.commodities[input.commodity as usize];
            let d = Draws::new(seed, &tf.id, &format!("links/{commodity}"));
            // Per buyer: (generated supplier, share of its orders).
            let mut links: Vec<Vec<(u32, f64)>> = vec![Vec::new(); counts[j]];
            for layer in 0..layers {
                let stream = (layer as u64) << 20;
                let buyers = shuffled(counts[j], &d, stream);
                let mut sellers: Vec<(u32, f64)> = Vec::new();
                for (n, (&s, &share)) in by_supplier.iter().enumerate() {
                    let order = shuffled(counts[s], &d, stream + 1 + n as u64);
                    sellers.extend(
                        order
                            .iter()
                            .map(|&k| ((offset[s] + k as usize) as u32, share * weights[s][k as usize])),
                    );
                }
                // North-west corner: walk both sequences, linking each overlap.
                let (mut bi, mut si) = (0, 0);
                let mut b_left = weights[j][buyers[0] as usize];
                let mut s_left = sellers[0].1;
                while bi < buyers.len() && si < sellers.len() {
                    let b = buyers[bi] as usize;
                    let x = b_left.min(s_left);
                    if x > SLIVER * weights[j][b].min(sellers[si].1) {
                        links[b].push((sellers[si].0, part * x / weights[j][b]));
                    }
                    b_left -= x;
                    s_left -= x;
                    if b_left <= SLIVER * weights[j][b] {
                        bi += 1;
                        if let Some(&nb) = buyers.get(bi) {
                            b_left = weights[j][nb as usize];
                        }
                    }
                    if s_left <= SLIVER * sellers[si].1 {
                        si += 1;
                        if let Some(&(_, w)) = sellers.get(si) {
                            s_left = w;
                        }
                    }
                }
            }
            for (k, mut list) in links.into_iter().enumerate() {
                // The same supplier met in two layers is one link.
                list.sort_by_key(|l| l.0);
                let mut merged: Vec<(u32, f64)> = Vec::with_capacity(list.len());
                for (g, share) in list {
                    match merged.last_mut() {
                        Some(last) if last.0 == g => last.1 += share,
                        _ => merged.push((g, share)),
                    }
                }
                let from = all.len() as u32;
                all.extend(merged);
                inputs[(firm_from[offset[j] + k] as usize) + i] = GeneratedInput {
                    commodity: input.commodity,
                    from,
                    to: all.len() as u32,
                };
            }
        }
    }

    all.shrink_to_fit();
    let model = Model {
        firms,
        synthetic: None,
        generated: Some(std::sync::Arc::new(GeneratedSuppliers {
            firm_from,
            inputs,
            links: all,
        })),
        ..spec.clone()
    };
    Expansion { model, template }
}
