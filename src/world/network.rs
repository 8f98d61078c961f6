//! The supply network: ids turned into dense indices, supplier rules turned into weighted
//! links with lead times, and the steady state the world starts in.

use crate::model::check::is_trader;
use crate::model::load::{ModelError, Source};
use crate::model::{Model, Suppliers};
use std::collections::BTreeMap;

/// One buyer -> supplier link for one input.
#[derive(Clone, Debug, PartialEq)]
pub struct Link {
    /// Dense index of the supplying firm.
    pub supplier: u32,
    /// Mean transit days from supplier to buyer (a checked model's routes take at most
    /// [`crate::model::limits::MAX_DAYS`]; two bytes keep a link in 16 bytes, which at 10^6
    /// firms and 10 million links is 84 MB less than four).
    pub days: u16,
    /// Transit time is uniform in `days ± jitter_days`.
    pub jitter_days: u16,
    /// Share of the buyer's orders of this input that go to this supplier (shares sum to 1).
    pub share: f64,
}

/// A route's days as a link holds them. A checked model's routes take at most
/// [`crate::model::limits::MAX_DAYS`]; longer ones (only in a model built in code and not
/// checked) are held as the longest a link holds, 65,535 days, about 179 years.
pub fn link_days(days: u32) -> u16 {
    u16::try_from(days).unwrap_or(u16::MAX)
}

/// One input of a firm's recipe.
#[derive(Clone, Debug, PartialEq)]
pub struct InputSpec {
    pub commodity: u16,
    /// Units of input per unit of output.
    pub per_unit: f64,
    /// The firm's suppliers of this input.
    pub links: Vec<Link>,
    /// Producers of this input the firm may qualify if its suppliers fail (supplier search),
    /// share 0, in the order it tries them: nations named in its supplier rule first (by rule
    /// weight), then its home nation, then by capacity (descending), then by firm index.
    pub candidates: Vec<Link>,
}

/// Everything the world needs to know about the network, by dense index.
#[derive(Clone, Debug)]
pub struct Network {
    pub commodities: Vec<String>,
    pub units: Vec<String>,
    pub final_demand: Vec<bool>,
    pub nations: Vec<String>,
    pub regions: Vec<String>,
    /// Price region of each nation.
    pub nation_region: Vec<u16>,
    /// Each firm's id, by firm index; shared with the invariants' reports (not copied).
    pub firms: std::sync::Arc<[String]>,
    pub firm_nation: Vec<u16>,
    pub roles: Vec<String>,
    pub firm_role: Vec<u16>,
    pub firm_output: Vec<u16>,
    pub inputs: Vec<Vec<InputSpec>>,
    /// Ids of product lines, across all firms (sorted, unique).
    pub line_ids: Vec<String>,
    /// Output per day of each firm in the steady state at the start date (units per day).
    pub steady_output: Vec<f64>,
    /// Orders per day each firm receives in that steady state (units per day).
    pub steady_sales: Vec<f64>,
    /// Cross-border flows per day in the steady state: (exporter, importer, commodity) -> units.
    pub steady_flows: BTreeMap<(u16, u16, u16), f64>,
}

impl Network {
    /// Resolves ids and supplier rules; a cross-border link without a route is an error.
    pub fn resolve(model: &Model, src: &Source) -> Result<Network, ModelError> {
        let commodities: Vec<String> = model.commodities.iter().map(|c| c.id.clone()).collect();
        let cidx = index(&commodities);
        let nations: Vec<String> = model.nations.iter().map(|n| n.id.clone()).collect();
        let nidx = index(&nations);
        let mut regions: Vec<String> = model.nations.iter().map(|n| n.price_region.clone()).collect();
        regions.sort();
        regions.dedup();
        let ridx = index(&regions);
        // Distinct roles first (a big world has millions of firms and a handful of roles).
        let roles: Vec<String> = model
            .firms
            .iter()
            .map(|f| f.role.as_str())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .map(String::from)
            .collect();
        let roleidx = index(&roles);
        let firms: Vec<String> = model.firms.iter().map(|f| f.id.clone()).collect();
        let fidx = index(&firms);

        let mut routes: BTreeMap<(&str, &str), (u32, u32)> = BTreeMap::new();
        for r in &model.routes.links {
            routes.insert((&r.from, &r.to), (r.days, r.jitter_days));
            if r.both_ways {
                routes.entry((&r.to, &r.from)).or_insert((r.days, r.jitter_days));
            }
        }

        let producers = Producers::of(model);
        let generated = model.generated.as_deref();
        let mut inputs = Vec::with_capacity(model.firms.len());
        for (fi, f) in model.firms.iter().enumerate() {
            let mut specs = Vec::new();
            for (input, &per_unit) in &f.effective_recipe() {
                let default = Suppliers::ByCapacity {
                    nations: vec![],
                    home_share: None,
                };
                let rule = f.suppliers.get(input).unwrap_or(&default);
                // A generated firm's suppliers, by index, take the place of its rule.
                let listed = generated.and_then(|g| g.of(fi, cidx[input.as_str()]));
                // Nations named in the rule, with their weights (see `candidates`).
                let named: Vec<(f64, &str)> = match (listed, rule) {
                    (Some(list), _) => list.iter().map(|&(k, w)| (w, model.firms[k as usize].nation.as_str())).collect(),
                    (None, Suppliers::Listed(list)) => list
                        .iter()
                        .filter_map(|s| fidx.get(s.firm.as_str()).map(|&k| (s.share, model.firms[k].nation.as_str())))
                        .collect(),
                    (None, Suppliers::ByNation(shares)) => shares.iter().map(|(n, &w)| (w, n.as_str())).collect(),
                    (None, Suppliers::ByCapacity { nations, .. }) => nations.iter().map(|n| (1.0, n.as_str())).collect(),
                };
                // A trader buys from producers only, never from a trader (itself included).
                let sells_to_f = |k: usize| !(is_trader(f) && is_trader(&model.firms[k]));
                let mut weighted: Vec<(usize, f64)> = match (listed, rule) {
                    (Some(list), _) => list.iter().map(|&(k, w)| (k as usize, w)).collect(),
                    (None, Suppliers::Listed(list)) => list.iter().map(|s| (fidx[s.firm.as_str()], s.share)).collect(),
                    (None, Suppliers::ByNation(shares)) => {
                        let mut w = Vec::new();
                        for (n, &share) in shares {
                            let ks: Vec<usize> = producers.in_nation(input, n).iter().copied().filter(|&k| sells_to_f(k)).collect();
                            let cap: f64 = ks.iter().map(|&k| model.firms[k].capacity_per_day).sum();
                            w.extend(ks.iter().map(|&k| (k, share * model.firms[k].capacity_per_day / cap)));
                        }
                        w
                    }
                    (None, Suppliers::ByCapacity { nations: ns, home_share }) => {
                        let cands: Vec<usize> = producers
                            .of_good(input)
                            .iter()
                            .copied()
                            .filter(|&k| sells_to_f(k))
                            .filter(|&k| ns.is_empty() || ns.contains(&model.firms[k].nation))
                            .collect();
                        let home: Vec<usize> = cands.iter().copied().filter(|&k| model.firms[k].nation == f.nation).collect();
                        let away: Vec<usize> = cands.iter().copied().filter(|&k| model.firms[k].nation != f.nation).collect();
                        let cap = |ks: &[usize]| ks.iter().map(|&k| model.firms[k].capacity_per_day).sum::<f64>();
                        match home_share {
                            Some(h) if !home.is_empty() && !away.is_empty() => {
                                let (ch, ca) = (cap(&home), cap(&away));
                                home.iter()
                                    .map(|&k| (k, h * model.firms[k].capacity_per_day / ch))
                                    .chain(away.iter().map(|&k| (k, (1.0 - h) * model.firms[k].capacity_per_day / ca)))
                                    .collect()
                            }
                            _ => cands.iter().map(|&k| (k, model.firms[k].capacity_per_day)).collect(),
                        }
                    }
                };
                weighted.retain(|&(_, w)| w > 0.0);
                let total: f64 = weighted.iter().map(|&(_, w)| w).sum();
                if weighted.is_empty() || total <= 0.0 {
                    return Err(src.error_at(
                        "id",
                        &f.id,
                        format!("firm `{}`: no supplier with capacity for `{input}` under its supplier rule", f.id),
                    ));
                }
                let mut links = Vec::with_capacity(weighted.len());
                for (k, w) in weighted {
                    let s = &model.firms[k];
                    let (days, jitter_days) = if s.nation == f.nation {
                        (model.routes.domestic_days, 0)
                    } else {
                        *routes.get(&(s.nation.as_str(), f.nation.as_str())).ok_or_else(|| {
                            src.error_at(
                                "id",
                                &f.id,
                                format!(
                                    "firm `{}` buys `{input}` from `{}` in {}, but there is no route {} -> {} in routes.links",
                                    f.id, s.id, s.nation, s.nation, f.nation
                                ),
                            )
                        })?
                    };
                    links.push(Link {
                        supplier: k as u32,
                        share: w / total,
                        days: link_days(days),
                        jitter_days: link_days(jitter_days),
                    });
                }
                let candidates = candidates(model, f, input, named, &links, &routes, &producers);
                specs.push(InputSpec {
                    commodity: cidx[input.as_str()] as u16,
                    per_unit,
                    links,
                    candidates,
                });
            }
            inputs.push(specs);
        }

        let mut line_ids: Vec<String> = model.firms.iter().flat_map(|f| f.lines.iter().map(|l| l.id.clone())).collect();
        line_ids.sort();
        line_ids.dedup();
        let mut net = Network {
            line_ids,
            units: model.commodities.iter().map(|c| c.unit.clone()).collect(),
            final_demand: model.commodities.iter().map(|c| c.final_demand).collect(),
            nation_region: model.nations.iter().map(|n| ridx[n.price_region.as_str()] as u16).collect(),
            firm_nation: model.firms.iter().map(|f| nidx[f.nation.as_str()] as u16).collect(),
            firm_role: model.firms.iter().map(|f| roleidx[f.role.as_str()] as u16).collect(),
            firm_output: model.firms.iter().map(|f| cidx[f.output.as_str()] as u16).collect(),
            steady_output: vec![0.0; firms.len()],
            steady_sales: vec![0.0; firms.len()],
            steady_flows: BTreeMap::new(),
            commodities,
            nations,
            regions,
            roles,
            firms: firms.into(),
            inputs,
        };
        net.solve_steady_state(model);
        Ok(net)
    }

    /// Propagates final demand up the supply chain: final producers run at capacity, every
    /// other firm makes what its buyers order (which may exceed its capacity; `validate` warns).
    /// The traders of a good come before its other producers, so that what they buy reaches
    /// their suppliers (a trader never buys from a trader).
    fn solve_steady_state(&mut self, model: &Model) {
        let order = self.commodities_downstream_first();
        let n = self.firms.len();
        let mut demand = vec![0.0; n];
        let traders_first: Vec<usize> = (0..n)
            .filter(|&f| is_trader(&model.firms[f]))
            .chain((0..n).filter(|&f| !is_trader(&model.firms[f])))
            .collect();
        for c in order {
            for &f in &traders_first {
                if self.firm_output[f] as usize != c {
                    continue;
                }
                let y = if self.final_demand[c] {
                    model.firms[f].capacity_per_day
                } else {
                    demand[f]
                };
                self.steady_output[f] = y;
                self.steady_sales[f] = if self.final_demand[c] { 0.0 } else { demand[f] };
                for spec in &self.inputs[f] {
                    for l in &spec.links {
                        let q = y * spec.per_unit * l.share;
                        demand[l.supplier as usize] += q;
                        let (e, i) = (self.firm_nation[l.supplier as usize], self.firm_nation[f]);
                        if e != i {
                            *self.steady_flows.entry((e, i, spec.commodity)).or_insert(0.0) += q;
                        }
                    }
                }
            }
        }
    }

    /// Commodity indices ordered so that every good comes before the goods it is made from.
    /// A trader's input is its own output (checked: only traders have one), which is no step
    /// downstream and is left out.
    pub fn commodities_downstream_first(&self) -> Vec<usize> {
        let nc = self.commodities.len();
        // depth = longest path to a final use; sort by depth ascending.
        let mut uses: Vec<Vec<usize>> = vec![Vec::new(); nc]; // input -> outputs
        for (f, specs) in self.inputs.iter().enumerate() {
            for s in specs {
                if s.commodity == self.firm_output[f] {
                    continue;
                }
                uses[s.commodity as usize].push(self.firm_output[f] as usize);
            }
        }
        let mut depth = vec![usize::MAX; nc];
        fn d(c: usize, uses: &[Vec<usize>], depth: &mut [usize]) -> usize {
            if depth[c] != usize::MAX {
                return depth[c];
            }
            let v = uses[c].iter().map(|&o| d(o, uses, depth) + 1).max().unwrap_or(0);
            depth[c] = v;
            v
        }
        for c in 0..nc {
            d(c, &uses, &mut depth);
        }
        let mut order: Vec<usize> = (0..nc).collect();
        order.sort_by_key(|&c| (depth[c], c));
        order
    }
}

/// The producers of each good with capacity, found once for the whole network so that no
/// buyer's supplier rule or search scans every firm (which made start-up quadratic in the
/// number of firms). Every list holds firm indices.
struct Producers<'a> {
    /// Per good, in firm-index order (the order sums over suppliers run in).
    by_index: BTreeMap<&'a str, Vec<usize>>,
    /// Per good and nation, in firm-index order.
    in_nation: BTreeMap<&'a str, BTreeMap<&'a str, Vec<usize>>>,
    /// Per good and per (good, nation), largest capacity first (ties by index): the order in
    /// which supplier search tries them.
    ranked: BTreeMap<&'a str, Vec<usize>>,
    ranked_in: BTreeMap<&'a str, BTreeMap<&'a str, Vec<usize>>>,
}

impl<'a> Producers<'a> {
    fn of(model: &'a Model) -> Producers<'a> {
        let mut p = Producers {
            by_index: BTreeMap::new(),
            in_nation: BTreeMap::new(),
            ranked: BTreeMap::new(),
            ranked_in: BTreeMap::new(),
        };
        for (k, f) in model.firms.iter().enumerate() {
            if f.capacity_per_day > 0.0 {
                p.by_index.entry(f.output.as_str()).or_default().push(k);
                p.in_nation
                    .entry(f.output.as_str())
                    .or_default()
                    .entry(f.nation.as_str())
                    .or_default()
                    .push(k);
            }
        }
        let by_capacity = |ks: &Vec<usize>| -> Vec<usize> {
            let mut ks = ks.clone();
            ks.sort_by(|&a, &b| {
                model.firms[b]
                    .capacity_per_day
                    .total_cmp(&model.firms[a].capacity_per_day)
                    .then(a.cmp(&b))
            });
            ks
        };
        p.ranked = p.by_index.iter().map(|(&c, ks)| (c, by_capacity(ks))).collect();
        p.ranked_in = p
            .in_nation
            .iter()
            .map(|(&c, by)| (c, by.iter().map(|(&n, ks)| (n, by_capacity(ks))).collect()))
            .collect();
        p
    }

    fn of_good(&self, good: &str) -> &[usize] {
        self.by_index.get(good).map_or(&[], |v| v)
    }

    fn in_nation(&self, good: &str, nation: &str) -> &[usize] {
        self.in_nation.get(good).and_then(|by| by.get(nation)).map_or(&[], |v| v)
    }

    fn ranked_in(&self, good: &str, nation: &str) -> &[usize] {
        self.ranked_in.get(good).and_then(|by| by.get(nation)).map_or(&[], |v| v)
    }
}

/// The candidates for supplier search of `buyer`'s input `input` (see [`InputSpec::candidates`]):
/// producers with capacity, not linked, at home or with a route to the buyer, at most
/// `buying.search_candidates`: first those of the nations the rule names (heaviest first, ties
/// by name), then those at home, then all others, each group largest capacity first (ties by
/// firm index). It stops as soon as it has enough, so that a big world's buyers do not each
/// sort every producer of their input.
#[allow(clippy::too_many_arguments)]
fn candidates<'a>(
    model: &'a Model,
    buyer: &'a crate::model::Firm,
    input: &str,
    mut named: Vec<(f64, &'a str)>,
    links: &[Link],
    routes: &BTreeMap<(&str, &str), (u32, u32)>,
    producers: &Producers,
) -> Vec<Link> {
    let want = model.buying.search_candidates as usize;
    let mut found = Vec::new();
    if want == 0 {
        return found;
    }
    // Nations named in the rule (`named`: each listed supplier's nation with its share, each
    // nation of `ByNation` with its weight, each of `ByCapacity`'s with 1), heaviest first
    // (ties by name), each once (at its first place).
    named.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(b.1)));
    let mut first: Vec<&str> = Vec::new();
    for (_, n) in named {
        if !first.contains(&n) {
            first.push(n);
        }
    }
    if !first.contains(&buyer.nation.as_str()) {
        first.push(buyer.nation.as_str());
    }
    let take = |k: usize, found: &mut Vec<Link>| {
        let s = &model.firms[k];
        if links.iter().any(|l| l.supplier as usize == k) || (is_trader(buyer) && is_trader(s)) {
            return;
        }
        let lead = if s.nation == buyer.nation {
            Some((model.routes.domestic_days, 0))
        } else {
            routes.get(&(s.nation.as_str(), buyer.nation.as_str())).copied()
        };
        if let Some((days, jitter_days)) = lead {
            found.push(Link {
                supplier: k as u32,
                share: 0.0,
                days: link_days(days),
                jitter_days: link_days(jitter_days),
            });
        }
    };
    for &n in &first {
        for &k in producers.ranked_in(input, n) {
            if found.len() == want {
                return found;
            }
            take(k, &mut found);
        }
    }
    for &k in producers.ranked.get(input).map_or(&[][..], |v| v) {
        if found.len() == want {
            return found;
        }
        if !first.contains(&model.firms[k].nation.as_str()) {
            take(k, &mut found);
        }
    }
    found
}

/// Each id's position: hashed, as a big world's firm ids share long prefixes
/// (`cn_magnet_ningbo~…`) that an ordered map compares again at every level.
fn index(ids: &[String]) -> std::collections::HashMap<&str, usize> {
    ids.iter().enumerate().map(|(i, s)| (s.as_str(), i)).collect()
}
