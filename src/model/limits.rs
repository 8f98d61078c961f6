//! The ranges a model's numbers must keep, and what a run will cost.
//!
//! Every number a model file (or `--set`) accepts has a range chosen so that a run stays
//! finite, bounded in memory and time, and free of NaN; [`super::check`] enforces them before
//! anything is allocated. [`estimate`] predicts a run's output size and peak memory from the
//! model alone, and [`check_limits`] turns an estimate past the limits into a message (the
//! command line asks for `--allow-large` then).

use super::Model;

/// Longest duration in days of anything inside a run: transit times, review and hold times,
/// covers, smoothing and adjustment times, licence validity (3,650 days = 10 years). Real
/// values are days to months; each buyer input keeps a ring cell per tick of transit, so a
/// billion-day route would allocate gigabytes before the first tick.
pub const MAX_DAYS: f64 = 3650.0;
/// [`MAX_DAYS`] as an integer, for fields counted in whole days.
pub const MAX_DAYS_U32: u32 = 3650;
/// Longest tick, days (a year, leap or not).
pub const MAX_TICK_DAYS: u32 = 366;
/// Longest calendar (end − start + 1), days: 200 years. Keeps tick counts and dates far from
/// integer limits and output sizes within reach of [`estimate`].
pub const MAX_SPAN_DAYS: i32 = 73_050;
/// Latest calendar or event year (dates are written `YYYY-MM-DD`).
pub const MAX_YEAR: i32 = 9999;
/// Dearest reference price, USD per unit (1e12: a trillion dollars per unit). With
/// [`MAX_CAPACITY_PER_DAY`] × [`MAX_RECIPE`] units a day, values stay below 1e31 USD a day,
/// far from f64's 1.8e308 even over 200 years and at prices 10^6 times up (the bound a price
/// keeps, `tick::markets::PRICE_RANGE`).
pub const MAX_PRICE_USD: f64 = 1e12;
/// Largest capacity, units of output per day (1e12: a million times world rare-earth output
/// in tonnes, or all vehicles ever made in a day).
pub const MAX_CAPACITY_PER_DAY: f64 = 1e12;
/// Largest recipe amount, units of input per unit of output (1e6).
pub const MAX_RECIPE: f64 = 1e6;
/// Largest stock or quota, units (1e15).
pub const MAX_QUANTITY: f64 = 1e15;
/// Largest supplier weight (`Listed` shares, `ByNation` weights; they are normalised).
pub const MAX_WEIGHT: f64 = 1e12;
/// How far shares that must sum to 1 (product lines, quota batches) may miss it.
pub const SHARE_SUM_TOLERANCE: f64 = 1e-6;
/// Largest tariff rate, as a share of the import value (100 = 10,000%).
pub const MAX_TARIFF_RATE: f64 = 100.0;
/// Largest elasticity of tariff-driven supplier shares, `(1 + tariff)^-sensitivity`.
pub const MAX_TARIFF_SENSITIVITY: f64 = 100.0;
/// Largest `buying.precaution_cover`: at full scarcity a buyer aims for at most 11 times its
/// usual cover.
pub const MAX_PRECAUTION_COVER: f64 = 10.0;
/// Most candidate suppliers kept per input for supplier search (`buying.search_candidates`):
/// each is a link, with its state, for the whole run.
pub const MAX_SEARCH_CANDIDATES: u32 = 64;
/// Largest price elasticity of planned output. The planner multiplies output by
/// `(cost / reference cost)^-elasticity`; input prices stay within 10^±6 of their reference
/// (`tick::markets::PRICE_RANGE`), so the factor stays within 10^±30: finite, never NaN.
pub const MAX_PRICE_ELASTICITY: f64 = 5.0;
/// Largest response of a log price to the log of its stock cover (`prices.coverage_sensitivity`)
/// and largest pull towards its cost anchor (`prices.cost_weight`). A price settles at
/// anchor × cover^(−sensitivity / weight); larger values only push it sooner against its bound.
pub const MAX_PRICE_RESPONSE: f64 = 10.0;
/// Largest cover tolerance of prices (`prices.cover_tolerance`), in log cover: e^5 ≈ 150 times
/// the wanted stock, beyond the range (1/1000 to 1000 times, `tick::markets::MIN_COVER`, `MAX_COVER`) a price responds to at all.
pub const MAX_COVER_TOLERANCE: f64 = 5.0;
/// Smallest pull of a price towards its cost anchor (`prices.cost_weight`): at 0.001 and an
/// adjustment time of 3,650 days a price takes ten thousand years to close e^-1 of its gap, so
/// anything weaker is no anchor at all, and the settled level's exponent
/// (sensitivity ÷ weight ≤ 10^4) stays far from overflow.
pub const MIN_COST_WEIGHT: f64 = 0.001;
/// Largest price ratio a `PriceRatioAbove` condition may test.
pub const MAX_PRICE_RATIO: f64 = 1e6;
/// Largest holding cost of a trader, share of a unit's value per year (10 = 1,000%): the
/// multiple divides by it, so it must stay positive; real costs are 5–20%.
pub const MAX_HOLDING_COST_PER_YEAR: f64 = 10.0;
/// Largest gain of a trader's multiple, in units of its holding cost.
pub const MAX_TRADING_GAIN: f64 = 100.0;
/// Largest multiple of its usual stock a trader may aim for (`trading.max_multiple`): keeps
/// its orders within a hundred times its usual stock.
pub const MAX_TRADING_MULTIPLE: f64 = 100.0;
/// Most firms a `synthetic` section may generate (10^7): at the 8 KiB a firm costs today that
/// is 80 GB, beyond any one machine; real studies need 10^6.
pub const MAX_SYNTHETIC_FIRMS: u64 = 10_000_000;
/// Range of the Pareto shape of generated firm sizes (`synthetic.size_tail`): below 0.5 one
/// firm holds nearly all of its template's capacity; above 10 sizes are nearly equal.
pub const MIN_SIZE_TAIL: f64 = 0.5;
pub const MAX_SIZE_TAIL: f64 = 10.0;
/// Most layers of links of a generated buyer per input (`synthetic.suppliers_per_input`):
/// each is at least one link kept for the whole run, as [`MAX_SEARCH_CANDIDATES`].
pub const MAX_SUPPLIERS_PER_INPUT: u32 = 64;

/// Longest interval between ticks with per-firm rows (`output.firm_rows: "every:K"`), ticks:
/// the longest calendar in days ([`MAX_SPAN_DAYS`]); a larger K writes tick 0 only, as this does.
pub const MAX_FIRM_ROWS_EVERY: u32 = 73_050;

/// Default limit on a run's estimated output, bytes (2 GiB).
pub const DEFAULT_MAX_OUTPUT_BYTES: u64 = 2 << 30;
/// Default limit on a run's estimated peak memory, bytes (4 GiB).
pub const DEFAULT_MAX_MEMORY_BYTES: u64 = 4 << 30;

/// What a number must be: at least (or above) `min`, at most `max`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bounds {
    pub min: f64,
    /// `min` itself is not allowed (a positive price).
    pub min_open: bool,
    pub max: f64,
}

impl Bounds {
    /// `min ..= max`.
    pub const fn closed(min: f64, max: f64) -> Bounds {
        Bounds { min, min_open: false, max }
    }

    /// `min < v <= max`.
    pub const fn above(min: f64, max: f64) -> Bounds {
        Bounds { min, min_open: true, max }
    }

    /// Why `v` is out of range (`name` is the field as the user knows it, `unit` its unit,
    /// e.g. "USD per t"), or `None` if it is in range. NaN and infinities are never in range.
    pub fn violation(&self, name: &str, v: f64, unit: &str) -> Option<String> {
        let of = if unit.is_empty() { String::new() } else { format!(" of {unit}") };
        let low = if self.min_open { v <= self.min } else { v < self.min };
        if !v.is_finite() {
            Some(format!("{name} must be a finite number{of}, found {}", fmt_num(v)))
        } else if low {
            Some(match (self.min == 0.0, self.min_open) {
                (true, true) => format!("{name} must be a positive number{of}, found {}", fmt_num(v)),
                (true, false) => format!("{name} must be a non-negative number{of}, found {}", fmt_num(v)),
                (false, true) => format!(
                    "{name} must be greater than {}{}, found {}",
                    fmt_num(self.min),
                    suffix(unit),
                    fmt_num(v)
                ),
                (false, false) => format!(
                    "{name} must be at least {}{}, found {}",
                    fmt_num(self.min),
                    suffix(unit),
                    fmt_num(v)
                ),
            })
        } else if v > self.max {
            Some(format!(
                "{name} must be at most {}{}, found {}",
                fmt_num(self.max),
                suffix(unit),
                fmt_num(v)
            ))
        } else {
            None
        }
    }
}

/// A number for a message: as written when of ordinary size, in scientific notation when huge
/// or tiny (`1e19`, not twenty digits).
pub fn fmt_num(v: f64) -> String {
    let a = v.abs();
    if !v.is_finite() || a == 0.0 || (1e-4..1e9).contains(&a) || (v.fract() == 0.0 && a < 1e10) {
        format!("{v}")
    } else {
        format!("{v:e}")
    }
}

fn suffix(unit: &str) -> String {
    if unit.is_empty() { String::new() } else { format!(" {unit}") }
}

/// A run's predicted size: an upper bound, within about a factor 2 on the shipped models.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Estimate {
    /// Ticks the run will take.
    pub ticks: u64,
    /// Bytes written to the run folder (all tables, manifest, resolved model).
    pub output_bytes: u64,
    /// Peak resident memory of the process, bytes.
    pub memory_bytes: u64,
}

/// Bytes per row written, an upper bound per table (measured on the shipped models: firms
/// 88, nations 64, flows 44, prices 24, lines 32, licenses 73, groups 100 bytes per row,
/// uncompressed).
const ROW_BYTES: [(&str, u64); 8] = [
    ("firms", 96),
    ("nations", 72),
    ("flows", 48),
    ("prices", 32),
    ("lines", 40),
    ("licenses", 96),
    ("events", 640),
    ("groups", 112),
];
/// Tables a run writes (each has a schema, dictionaries and a footer).
const TABLES: u64 = ROW_BYTES.len() as u64;
/// Rows the run loop buffers before it writes a batch (`run.rs`).
const BATCH_ROWS: u64 = 1 << 16;
/// Memory a run needs whatever its size (program, thread pools, allocator), bytes; the
/// smallest shipped model peaks at 18 MB.
const BASE_MEMORY: u64 = 16 << 20;
/// Memory per buffered output row (column buffers, then the Arrow batch built from them).
const BUFFERED_ROW_BYTES: u64 = 160;
/// Licence applications a batch of `licenses.arrow` holds: a run writes the first this many
/// not yet written once all are final (`world::licences::APPLICATION_BATCH`).
pub const APPLICATION_BATCH_ROWS: u64 = 1 << 16;
/// Memory per licence application held (from filing until written), with the room its list
/// leaves.
const APPLICATION_BYTES: u64 = 256;

/// The most calendar days an application can stay unwritten: its longest review (a week's
/// five working days in seven, and a weekend to start) and the longest validity of a licence
/// that may ship under it, over every control and every review an event or rule may set.
fn held_days(model: &Model) -> u64 {
    use crate::model::policy::{Action, Dist};
    let most = |d: &Dist| match *d {
        Dist::Fixed(x) => x,
        Dist::Uniform { max, .. } | Dist::Triangular { max, .. } => max,
    };
    let p = &model.policies;
    let actions = p.events.iter().map(|e| &e.action).chain(p.rules.iter().map(|r| &r.then));
    let reviews = p
        .controls
        .iter()
        .map(|c| most(&c.review_working_days))
        .chain(actions.filter_map(|a| match a {
            Action::SetReview { working_days, .. } => Some(most(working_days)),
            _ => None,
        }));
    let review = reviews.fold(0.0, f64::max).ceil() as u64;
    let validity = p.controls.iter().map(|c| u64::from(c.validity_days)).max().unwrap_or(0);
    review * 7 / 5 + 3 + validity
}
/// Memory per tick of lead time per lane (a buyer's input from home or from abroad): an
/// 8-byte ring cell (`world::shipments::InTransit`), with room for spare columns.
const LANE_CELL_BYTES: u64 = 12;
/// Memory per tick of lead time per controlled supply line: goods held by customs wait in the
/// queue's buckets as 16-byte records, with room to spare.
const SHIPMENT_BYTES: u64 = 48;
/// Memory per firm (its spec while the world is built, components, input slots, random
/// streams) and per supplier link (about 150 bytes of state, with room to spare).
const FIRM_BYTES: u64 = 4096;
const LINK_BYTES: u64 = 256;
/// The same for a world generated from a `synthetic` section, whose firms' specs are made in
/// memory and given back as the firms are built (`world::build::spawn_firms_releasing`), not
/// parsed from text. Measured at 10^6 generated firms and 10.5 million links (BENCHMARKS.md,
/// "Trade state only for suppliers"): 1.78 GB while the world is generated, 1.94 GB at the
/// peak of a year (the estimate with these: 3.5 GB); a candidate link costs 17 bytes, a
/// supplier's about 135 with its order; a regime in force adds 52 bytes a link (licensing's
/// per-link lists, learned approvals and units awaiting a decision), besides the
/// applications counted apart. These bound that with room to spare.
const GENERATED_FIRM_BYTES: u64 = 1536;
const GENERATED_LINK_BYTES: u64 = 160;

/// What one run of `model` will write and hold, from the model alone: an upper bound
/// (calibrated against `/usr/bin/time -v` and the run folder's size on the shipped models
/// and a 20-year run; see the tests). Candidate supplier links are counted from each firm's
/// supplier rule, so the bound holds before the network is resolved.
pub fn estimate(model: &Model) -> Estimate {
    estimate_written(model, model)
}

/// [`estimate`] for a world generated from a `synthetic` spec: the run writes (and parses)
/// the spec's text, not the world's; the generated firms are counted per firm.
pub fn estimate_generated(world: &Model, spec: &Model) -> Estimate {
    estimate_written(world, spec)
}

fn estimate_written(model: &Model, written: &Model) -> Estimate {
    use std::collections::BTreeMap;
    let span = super::calendar::Date::parse(&model.calendar.end)
        .zip(super::calendar::Date::parse(&model.calendar.start))
        .map_or(1, |(e, s)| (i64::from(e.0) - i64::from(s.0) + 1).max(1) as u64);
    let tick_days = u64::from(model.calendar.tick_days.max(1));
    let ticks = span.div_ceil(tick_days);
    let n = |x: usize| x as u64;
    let (firms, nations, commodities) = (n(model.firms.len()), n(model.nations.len()), n(model.commodities.len()));
    let regions = n(model
        .nations
        .iter()
        .map(|x| x.price_region.as_str())
        .collect::<std::collections::BTreeSet<_>>()
        .len());
    let lines: u64 = model.firms.iter().map(|f| n(f.lines.len())).sum();

    // Candidate links: (buyer, supplier, commodity) allowed by each buyer's supplier rule.
    let nation_of = |id: &str| model.nations.iter().position(|x| x.id == id);
    let mut makers: std::collections::BTreeMap<&str, Vec<usize>> = std::collections::BTreeMap::new();
    for (k, f) in model.firms.iter().enumerate() {
        makers.entry(f.output.as_str()).or_default().push(k);
    }
    let mut links = 0u64;
    let mut lane_cells = 0u64;
    let mut held_shipments = 0u64;
    let mut flow_cells = std::collections::BTreeSet::new();
    let mut controlled_links = 0u64;
    let max_days = model
        .routes
        .links
        .iter()
        .map(|r| r.days + r.jitter_days)
        .max()
        .unwrap_or(0)
        .max(model.routes.domestic_days);
    let lead_ticks = |a: &str, b: &str| -> u64 {
        let days = if a == b {
            model.routes.domestic_days
        } else {
            model
                .routes
                .links
                .iter()
                .find(|r| (r.from == a && r.to == b) || (r.both_ways && r.from == b && r.to == a))
                .map_or(max_days, |r| r.days + r.jitter_days)
        };
        u64::from(days).div_ceil(tick_days).max(1)
    };
    // Makers per (good, nation) and firms by id, so that each buyer's rule is counted from
    // its nations or its list, not by a scan of every maker (quadratic in big worlds).
    let mut makers_in: BTreeMap<&str, BTreeMap<&str, u64>> = BTreeMap::new();
    for f in &model.firms {
        *makers_in
            .entry(f.output.as_str())
            .or_default()
            .entry(f.nation.as_str())
            .or_default() += 1;
    }
    let firm_of: std::collections::HashMap<&str, &super::Firm> = model.firms.iter().map(|f| (f.id.as_str(), f)).collect();
    let mut leads: BTreeMap<(&str, &str), u64> = BTreeMap::new();
    let no_nations = BTreeMap::new();
    let commodity_of: std::collections::HashMap<&str, usize> =
        model.commodities.iter().enumerate().map(|(k, c)| (c.id.as_str(), k)).collect();
    let generated = model.generated.as_deref();
    for (b, buyer) in model.firms.iter().enumerate() {
        for input in buyer.effective_recipe().keys() {
            // The model's own string for the good (the recipe is a temporary); a good nobody
            // makes has no supplier to count.
            let Some((&input, ms)) = makers.get_key_value(input.as_str()) else {
                continue;
            };
            let all = ms.len();
            let in_nation = makers_in.get(input).unwrap_or(&no_nations);
            // Allowed makers, as (nation, how many).
            // A generated firm's suppliers (by index) take the place of its rule.
            let listed = generated.and_then(|g| commodity_of.get(input).and_then(|&c| g.of(b, c)));
            let allowed: Vec<(&str, u64)> = match (listed, buyer.suppliers.get(input)) {
                (Some(list), _) => {
                    let mut ks: Vec<u32> = list.iter().map(|&(k, _)| k).collect();
                    ks.sort_unstable();
                    ks.dedup();
                    ks.iter().map(|&k| (model.firms[k as usize].nation.as_str(), 1)).collect()
                }
                (None, Some(super::Suppliers::Listed(list))) => {
                    let mut ids: Vec<&str> = list
                        .iter()
                        .map(|x| x.firm.as_str())
                        .filter(|id| firm_of.get(id).is_some_and(|s| s.output == input))
                        .collect();
                    ids.sort_unstable();
                    ids.dedup();
                    ids.iter().map(|id| (firm_of[id].nation.as_str(), 1)).collect()
                }
                (None, Some(super::Suppliers::ByNation(w))) => w
                    .keys()
                    .filter_map(|n| in_nation.get(n.as_str()).map(|&c| (n.as_str(), c)))
                    .collect(),
                (None, Some(super::Suppliers::ByCapacity { nations, .. })) if !nations.is_empty() => {
                    let mut ns: Vec<&str> = nations.iter().map(String::as_str).collect();
                    ns.sort_unstable();
                    ns.dedup();
                    ns.iter().filter_map(|n| in_nation.get(n).map(|&c| (*n, c))).collect()
                }
                _ => in_nation.iter().map(|(&n, &c)| (n, c)).collect(),
            };
            let count: u64 = allowed.iter().map(|a| a.1).sum();
            // Candidate suppliers for the search: at most `search_candidates` more links.
            links += (n(all) - count).min(u64::from(model.buying.search_candidates));
            // The input's two lanes (from home, from abroad), each as long as its longest lead.
            let mut lane_ticks = [0u64; 2];
            for (nation, c) in allowed {
                links += c;
                let lead = *leads
                    .entry((nation, buyer.nation.as_str()))
                    .or_insert_with(|| lead_ticks(nation, &buyer.nation));
                let side = usize::from(nation != buyer.nation);
                lane_ticks[side] = lane_ticks[side].max(lead + 1);
                flow_cells.insert((nation_of(nation), nation_of(&buyer.nation), input));
                if nation != buyer.nation
                    && model
                        .policies
                        .controls
                        .iter()
                        .any(|x| x.nation == nation && x.commodities.contains_key(input))
                {
                    controlled_links += c;
                    held_shipments += c * lead;
                }
            }
            lane_cells += lane_ticks[0] + lane_ticks[1];
        }
    }
    // Applications: at most one per controlled link per application interval (and per tick).
    let interval_ticks = u64::from(model.buying.application_interval_days.max(1)).div_ceil(tick_days).max(1);
    let applications = controlled_links * ticks.div_ceil(interval_ticks);
    // Held in memory: those filed within the longest review plus validity (they are written
    // once final, in whole batches; see `Licensing::take_final` in `world/licences.rs`), and two
    // batches more.
    let held_applications =
        applications.min(controlled_links * held_days(model).div_ceil(tick_days).div_ceil(interval_ticks) + 2 * APPLICATION_BATCH_ROWS);
    let rule_firings: u64 = model
        .policies
        .rules
        .iter()
        .map(|r| ticks / u64::from(r.cooldown_days.max(r.for_days).max(1)).div_ceil(tick_days).max(1) + 1)
        .sum();
    // Per-firm rows (firms and their product lines) at the run's output level.
    use super::output::{FirmRowLevel, sampled};
    let (firm_rows, line_rows) = match model.output.firm_rows {
        FirmRowLevel::All => (firms * ticks, lines * ticks),
        FirmRowLevel::Every(k) => {
            let t = ticks.div_ceil(u64::from(k.max(1)));
            (firms * t, lines * t)
        }
        FirmRowLevel::Sample(share) => {
            let kept = model.firms.iter().filter(|f| sampled(&f.id, share));
            kept.fold((0, 0), |(f, l), x| (f + ticks, l + n(x.lines.len()) * ticks))
        }
        FirmRowLevel::None => (0, 0),
    };
    let groups: std::collections::BTreeSet<(&str, &str, &str)> = model
        .firms
        .iter()
        .map(|f| (f.nation.as_str(), f.role.as_str(), f.output.as_str()))
        .collect();
    let rows = [
        firm_rows,
        nations * commodities * ticks,
        n(flow_cells.len()) * ticks,
        regions * commodities * ticks,
        line_rows,
        applications,
        n(model.policies.events.len()) + rule_firings,
        n(groups.len()) * ticks,
    ];
    let per_tick = [0, 1, 2, 3, 4, 7];
    let per_tick_total = per_tick.iter().map(|&k| rows[k]).sum::<u64>();
    let per_tick_rows = per_tick_total / ticks.max(1);
    let batches = rows.iter().sum::<u64>() / BATCH_ROWS + 1;
    let id_bytes: u64 = model.firms.iter().map(|f| n(f.id.len() + f.role.len()) + 8).sum::<u64>()
        + model.nations.iter().map(|x| n(x.id.len() + x.price_region.len()) + 8).sum::<u64>()
        + model.commodities.iter().map(|c| n(c.id.len()) + 8).sum::<u64>();
    let model_bytes = model_text_bytes(written);
    let output_bytes = rows.iter().zip(ROW_BYTES).map(|(r, (_, b))| r * b).sum::<u64>()
        + TABLES * (16 << 10)     // schema, dictionaries' framing and footer of each table
        + TABLES * id_bytes       // dictionaries, written once per table
        + batches * TABLES * 2048 // per-batch metadata
        + model_bytes
        + 4096; // manifest
    let buffered = (BATCH_ROWS + per_tick_rows).min(per_tick_total + 1);
    let memory_bytes = BASE_MEMORY
        + buffered * BUFFERED_ROW_BYTES
        + held_applications * APPLICATION_BYTES
        + lane_cells * LANE_CELL_BYTES
        + held_shipments * SHIPMENT_BYTES
        + firms * if generated.is_some() { GENERATED_FIRM_BYTES } else { FIRM_BYTES }
        + links * if generated.is_some() { GENERATED_LINK_BYTES } else { LINK_BYTES }
        + 8 * model_bytes;
    Estimate {
        ticks,
        output_bytes,
        memory_bytes,
    }
}

/// Size of the resolved model as written to `model.ron`, bytes (roughly: ids, numbers and
/// field names of every element).
fn model_text_bytes(model: &Model) -> u64 {
    let f: usize = model
        .firms
        .iter()
        .map(|f| 400 + f.id.len() + f.name.len() + 60 * (f.recipe.len() + f.initial_stock.len() + f.suppliers.len() + 4 * f.lines.len()))
        .sum();
    let p = &model.policies;
    (4096
        + model.description.len()
        + f
        + 120 * (model.nations.len() + model.commodities.len() + model.routes.links.len())
        + 600 * (p.controls.len() + p.tariffs.len() + p.events.len() + p.rules.len())) as u64
}

/// An error message if `e` passes either limit (bytes), naming both numbers and the way out.
pub fn check_limits(e: &Estimate, max_output_bytes: u64, max_memory_bytes: u64) -> Result<(), String> {
    let mut over = Vec::new();
    if e.output_bytes > max_output_bytes {
        over.push(format!(
            "its output is estimated at {}, over the limit of {}",
            fmt_bytes(e.output_bytes),
            fmt_bytes(max_output_bytes)
        ));
    }
    if e.memory_bytes > max_memory_bytes {
        over.push(format!(
            "its peak memory is estimated at {}, over the limit of {}",
            fmt_bytes(e.memory_bytes),
            fmt_bytes(max_memory_bytes)
        ));
    }
    if over.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "this run is large: {} ({} ticks); shorten it (--until) or pass --allow-large to run it anyway",
            over.join(", and "),
            e.ticks
        ))
    }
}

/// Bytes for people: `14.2 MB`, `3.1 GB` (powers of 1000).
pub fn fmt_bytes(b: u64) -> String {
    let units = ["bytes", "kB", "MB", "GB", "TB", "PB", "EB"];
    let mut v = b as f64;
    let mut u = 0;
    while v >= 1000.0 && u + 1 < units.len() {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{b} bytes")
    } else {
        format!("{v:.1} {}", units[u])
    }
}
