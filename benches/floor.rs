//! The floor of a tick (issue 11): the model's core daily work on the same world as the
//! engine, written as plain arrays in firm order with one pass per step, timed at two sizes.
//!
//! The engine's acceptance items at 10^4 and 10^6 firms ask for a tick about five times
//! faster than today's at 10^6 (BENCHMARKS.md). Before the tick's state is laid out again to
//! get there, this program measures how fast a lean version of the same day runs on this
//! machine, on the same network: a target it misses is out of reach of a new layout alone
//! (the work itself, or the machine, would have to change); one it meets by a margin shows
//! the layout to move to.
//!
//! The world is `models/synthetic/baseline_1m.ron` at `FLOOR_FIRMS` firms (the engine's
//! `million` bench spec): the same firms, inputs, links (supplier, share, days, jitter),
//! covers, capacities and steady state. Each day, one pass each, in firm order:
//! 1. production: plan (a final producer its steady output; others their expected sales plus
//!    the finished-stock gap over `stock_adjust_days`, at most capacity), make what the
//!    inputs allow, use them;
//! 2. procurement: per input, expected use plus the gap of stock and supply line to their
//!    targets over `stock_adjust_days`, split over the links by share × learned fill rate,
//!    each order added into its supplier's orders received (the only write out of firm order);
//! 3. filling: each supplier fills its orders from stock, all in proportion when short;
//! 4. shipping and delivery, buyer by buyer: the input's goods due today arrive; each link's
//!    order is filled at its supplier's ratio (the only read out of firm order), its fill rate
//!    learned, its transit drawn (Philox, eight at a time as the engine's, keyed by link and
//!    tick) and its goods put in the input's ring at the tick they are due (rings of one
//!    length in a group, cell-major, as the engine's lanes); cross-border goods are booked;
//! 5. observation: production, stocks and goods in transit summed by (nation, commodity), and
//!    every firm's row (the engine's fourteen columns, `FirmRows`) appended.
//!
//! Left out, because the shipped baseline does not exercise them after the start or they are
//! not per-shipment work: licensing, customs holds, tariffs, supplier search, prices, product
//! lines, traders and demand noise. So this is a floor, not a rival engine: the engine's tick
//! must do at least this much.
//!
//! Under `cargo bench --bench floor` it times `FLOOR_FIRMS` (default 10^4 and 10^6, one after
//! the other; a comma-separated list) on one thread, three worlds each, and prints ns per
//! firm-tick by step, the bytes a tick touches (each counted once, as the engine's
//! `state_bytes`) and the day against its bandwidth bound (those bytes over a STREAM triad's
//! bandwidth on one thread, measured first). Every firm's row is recorded and dropped untimed
//! a batch at a time, as the engine's benchmarks do (`FLOOR_FIRM_ROWS=none`: no rows);
//! `FLOOR_JITTER=off` makes every transit its route's mean days, with no draw (an experiment:
//! the model's routes have jitter), and `FLOOR_DRAWS=splitmix` draws each transit as a
//! SplitMix64 hash of the link's key and the tick instead of Philox (an experiment: what the
//! generator costs). Under `cargo test` it runs a 2,000-firm world for 200 days
//! and checks that material is conserved commodity by commodity (what is held, on hand and on
//! its way, changes by what is made less what is used and consumed) and that the world stays
//! at its steady state's output.

/// As the binary: large arrays on huge pages.
#[global_allocator]
static ALLOC: chokepoint::alloc::HugePages = chokepoint::alloc::HugePages;

use chokepoint::model::load::Source;
use chokepoint::run::{RunOptions, resolve_run};
use chokepoint::world::network::Network;
use chokepoint::world::prefetch::{AHEAD, prefetch};
use chokepoint::world::records::{BATCH_ROWS, FirmRows, FirmSnapshot};
use chokepoint::world::rng::{Batch, Purpose, splitmix};
use std::hint::black_box;
use std::path::Path;
use std::time::Instant;

#[path = "support/triad.rs"]
mod triad;
use triad::triad;

/// Slots of firms' inputs and their links, in firm order (links in buyer order).
struct World {
    n: usize,
    // Firms.
    capacity: Vec<f64>,
    steady: Vec<f64>,
    final_good: Vec<bool>,
    output: Vec<u16>,
    nation: Vec<u16>,
    out_cover: Vec<f64>,
    in_cover: Vec<f64>,
    fin: Vec<f64>,
    expected_sales: Vec<f64>,
    expected_output: Vec<f64>,
    produced: Vec<f64>,
    received: Vec<f64>,
    received_today: Vec<f64>,
    shipped: Vec<f64>,
    ratio: Vec<f64>,
    slot_from: Vec<u32>,
    // Input slots.
    commodity: Vec<u16>,
    per_unit: Vec<f64>,
    lead: Vec<f64>,
    stock: Vec<f64>,
    in_transit: Vec<f64>,
    link_from: Vec<u32>,
    /// Each input's ring: its group (rings of one length) and its place in the group.
    ring_group: Vec<u16>,
    ring_at: Vec<u32>,
    // Links.
    supplier: Vec<u32>,
    days: Vec<u16>,
    jitter: Vec<u16>,
    share: Vec<f64>,
    fill: Vec<f64>,
    ordered: Vec<f64>,
    key: Vec<u64>,
    /// Cell of the day's cross-border flows (exporter, importer, commodity), or `u32::MAX`.
    flow_cell: Vec<u32>,
    // Goods on their way: each input's ring of per-tick cells, in groups of rings of one
    // length, cell by cell (row `t % len` holds every ring's cell for tick t), so that a
    // day's arrivals are taken in one sweep per group.
    groups: Vec<Rings>,
    /// Transit draws of a window of inputs' links, made together (Philox), unless each is a
    /// SplitMix64 hash of the link's key and the tick (`keyed_hash`).
    draws: Batch,
    keyed_hash: bool,
    flows: Vec<f64>,
    // Observation.
    nc: usize,
    made_by: Vec<f64>,
    held_by: Vec<f64>,
    /// Every firm's row of the day, as the engine records them (`FirmRows`), when `rows`.
    rows: bool,
    firm_rows: FirmRows,
    /// Each firm's snapshot of the day, by firm index, that its row is made from.
    snaps: Vec<FirmSnapshot>,
    planned: Vec<f64>,
    role: Vec<u16>,
    // Rules.
    adjust: f64,
    smooth: f64,
    fill_step: f64,
}

const NO_FLOW: u32 = u32::MAX;

/// Rings of one length, cell-major.
#[derive(Default)]
struct Rings {
    len: u32,
    rings: usize,
    cells: Vec<f64>,
    /// Today's row (the tick modulo the length, set once a day).
    today: u32,
}

impl Rings {
    /// Ring `ring`'s cell `ahead` ticks from today (`ahead` < `len`).
    #[inline]
    fn cell(&mut self, ahead: u32, ring: usize) -> &mut f64 {
        let row = self.today + ahead;
        let row = if row >= self.len { row - self.len } else { row };
        &mut self.cells[row as usize * self.rings + ring]
    }
}

/// Inputs per window whose links' transit draws are made together.
const WINDOW: usize = 256;

impl World {
    /// The world of the spec at `firms` firms, at its steady state: stocks at their targets,
    /// every input's ring holding its links' steady flows for the days they take.
    fn new(firms: u64, opts: Options) -> World {
        let Options {
            rows,
            jitter,
            splitmix: keyed_hash,
        } = opts;
        let opts = RunOptions {
            set: vec![format!("synthetic.firms={firms}")],
            ..RunOptions::default()
        };
        let model = resolve_run(Path::new("models/synthetic/baseline_1m.ron"), &opts)
            .expect("spec loads")
            .model;
        let net = Network::resolve(&model, &Source::new("world.ron", "")).expect("resolves");
        let n = net.firms.len();
        let nn = net.nations.len();
        let nc = net.commodities.len();
        let mut w = World {
            n,
            capacity: model.firms.iter().map(|f| f.capacity_per_day).collect(),
            steady: net.steady_output.clone(),
            final_good: net.firm_output.iter().map(|&c| net.final_demand[c as usize]).collect(),
            output: net.firm_output.clone(),
            nation: net.firm_nation.clone(),
            out_cover: model.firms.iter().map(|f| f.output_cover_days).collect(),
            in_cover: model.firms.iter().map(|f| f.target_cover_days).collect(),
            fin: vec![0.0; n],
            expected_sales: net.steady_sales.clone(),
            expected_output: net.steady_output.clone(),
            produced: vec![0.0; n],
            received: vec![0.0; n],
            received_today: vec![0.0; n],
            shipped: vec![0.0; n],
            ratio: vec![1.0; n],
            slot_from: Vec::with_capacity(n + 1),
            commodity: vec![],
            per_unit: vec![],
            lead: vec![],
            stock: vec![],
            in_transit: vec![],
            link_from: vec![0],
            ring_group: vec![],
            ring_at: vec![],
            supplier: vec![],
            days: vec![],
            jitter: vec![],
            share: vec![],
            fill: vec![],
            ordered: vec![],
            key: vec![],
            flow_cell: vec![],
            groups: vec![],
            draws: Batch::default(),
            keyed_hash,
            flows: vec![0.0; nn * nn * nc],
            nc,
            made_by: vec![0.0; nn * nc],
            held_by: vec![0.0; nn * nc],
            rows,
            firm_rows: FirmRows::default(),
            snaps: vec![FirmSnapshot::default(); if rows { n } else { 0 }],
            planned: vec![0.0; n],
            role: net.firm_role.clone(),
            adjust: 1.0 / model.planning.stock_adjust_days,
            smooth: (1.0 / model.planning.demand_smoothing_days).min(1.0),
            fill_step: (1.0 / model.buying.fill_memory_days).min(1.0),
        };
        let mut starts: Vec<Vec<f64>> = vec![];
        for f in 0..n {
            w.slot_from.push(w.commodity.len() as u32);
            if !w.final_good[f] {
                w.fin[f] = w.expected_sales[f] * w.out_cover[f];
            }
            for input in &net.inputs[f] {
                let use_per_day = w.steady[f] * input.per_unit;
                let ring_len = input
                    .links
                    .iter()
                    .map(|l| u32::from(l.days) + u32::from(l.jitter_days) + 2)
                    .max()
                    .unwrap_or(1);
                let g = match w.groups.iter().position(|r| r.len == ring_len) {
                    Some(g) => g,
                    None => {
                        w.groups.push(Rings {
                            len: ring_len,
                            ..Rings::default()
                        });
                        w.groups.len() - 1
                    }
                };
                let ring_at = w.groups[g].rings;
                w.groups[g].rings += 1;
                let mut pipeline = vec![0.0; ring_len as usize];
                let mut lead = 0.0;
                let mut in_transit = 0.0;
                for l in &input.links {
                    let li = w.supplier.len();
                    w.supplier.push(l.supplier);
                    w.days.push(l.days);
                    w.jitter.push(if jitter { l.jitter_days } else { 0 });
                    w.share.push(l.share);
                    w.fill.push(1.0);
                    w.ordered.push(0.0);
                    w.key.push(splitmix(model.seed ^ splitmix(li as u64)));
                    let (ex, im) = (net.firm_nation[l.supplier as usize] as usize, w.nation[f] as usize);
                    w.flow_cell.push(if ex == im {
                        NO_FLOW
                    } else {
                        ((ex * nn + im) * nc + input.commodity as usize) as u32
                    });
                    // The link's steady flow in each cell from today's to the day the goods
                    // sent yesterday arrive.
                    let q = use_per_day * l.share;
                    for d in 0..usize::from(l.days).max(1) {
                        pipeline[d % ring_len as usize] += q;
                        in_transit += q;
                    }
                    lead += l.share * f64::from(l.days);
                }
                w.commodity.push(input.commodity);
                w.per_unit.push(input.per_unit);
                w.lead.push(lead);
                w.stock.push(use_per_day * w.in_cover[f]);
                w.in_transit.push(in_transit);
                w.link_from.push(w.supplier.len() as u32);
                w.ring_group.push(g as u16);
                w.ring_at.push(ring_at as u32);
                starts.push(pipeline);
            }
        }
        w.slot_from.push(w.commodity.len() as u32);
        for r in &mut w.groups {
            r.cells = vec![0.0; r.len as usize * r.rings];
        }
        for (s, pipeline) in starts.into_iter().enumerate() {
            let r = &mut w.groups[w.ring_group[s] as usize];
            for (t, q) in pipeline.into_iter().enumerate() {
                // (Tick 0's row is row 0.)
                *r.cell(t as u32, w.ring_at[s] as usize) = q;
            }
        }
        w
    }

    /// Bytes of the state a tick reads or writes, each counted once (as the engine's
    /// `state_bytes`): every firm, input and link array, one ring cell taken per input and one
    /// put per link, and, with rows, each firm's snapshot and row.
    fn bytes(&self) -> u64 {
        let (f64s, u16s, u32s) = (size_of::<f64>(), size_of::<u16>(), size_of::<u32>());
        // capacity … planned: 13 numbers; output, nation, role; final_good; slot_from.
        let firm = 13 * f64s + 3 * u16s + size_of::<bool>() + u32s;
        let row = if self.rows {
            6 * size_of::<i32>() + 7 * f64s + size_of::<Option<f64>>() + size_of::<FirmSnapshot>()
        } else {
            0
        };
        // commodity; per_unit, lead, stock, in_transit; link_from; ring_group; ring_at; the
        // cell taken.
        let input = u16s + 4 * f64s + u32s + u16s + u32s + f64s;
        // supplier; days, jitter; share, fill, ordered; key; flow_cell; the cell put.
        let link = u32s + 2 * u16s + 3 * f64s + size_of::<u64>() + u32s + f64s;
        (self.n * (firm + row) + self.commodity.len() * input + self.supplier.len() * link) as u64
    }

    fn produce(&mut self) {
        for f in 0..self.n {
            let plan = if self.final_good[f] {
                self.steady[f]
            } else {
                let target = self.expected_sales[f] * self.out_cover[f];
                (self.expected_sales[f] + (target - self.fin[f]) * self.adjust).clamp(0.0, self.capacity[f])
            };
            let (a, b) = (self.slot_from[f] as usize, self.slot_from[f + 1] as usize);
            let mut made = plan;
            for s in a..b {
                made = made.min(self.stock[s] / self.per_unit[s]);
            }
            for s in a..b {
                self.stock[s] = (self.stock[s] - made * self.per_unit[s]).max(0.0);
            }
            if !self.final_good[f] {
                self.fin[f] += made;
            }
            self.produced[f] = made;
            self.planned[f] = plan;
            self.expected_output[f] += self.smooth * (plan - self.expected_output[f]);
        }
    }

    fn procure(&mut self) {
        for f in 0..self.n {
            let (a, b) = (self.slot_from[f] as usize, self.slot_from[f + 1] as usize);
            for s in a..b {
                let use_per_day = self.expected_output[f] * self.per_unit[s];
                let gap = use_per_day * (self.in_cover[f] + self.lead[s]) - self.stock[s] - self.in_transit[s];
                let want = (use_per_day + gap * self.adjust).max(0.0);
                let (la, lb) = (self.link_from[s] as usize, self.link_from[s + 1] as usize);
                let mut total = 0.0;
                for l in la..lb {
                    total += self.share[l] * self.fill[l];
                }
                let per = if total > 0.0 { want / total } else { 0.0 };
                for l in la..lb {
                    // The suppliers are anywhere in the firm order: ask for their orders
                    // received some links ahead.
                    if let Some(&next) = self.supplier.get(l + AHEAD) {
                        prefetch(&self.received, next as usize);
                    }
                    let q = per * self.share[l] * self.fill[l];
                    self.ordered[l] = q;
                    self.received[self.supplier[l] as usize] += q;
                }
            }
        }
    }

    fn fill_orders(&mut self) {
        for f in 0..self.n {
            let r = self.received[f];
            let sent = r.min(self.fin[f].max(0.0));
            self.ratio[f] = if r > 0.0 { sent / r } else { 1.0 };
            self.fin[f] -= sent;
            self.expected_sales[f] += self.smooth * (r - self.expected_sales[f]);
            self.received_today[f] = r;
            self.shipped[f] = sent;
            self.received[f] = 0.0;
        }
    }

    fn ship_and_deliver(&mut self, tick: u32) {
        self.flows.fill(0.0);
        for r in &mut self.groups {
            r.today = tick % r.len;
        }
        let m = self.commodity.len();
        for from in (0..m).step_by(WINDOW) {
            let to = (from + WINDOW).min(m);
            let (la, lb) = (self.link_from[from] as usize, self.link_from[to] as usize);
            if !self.keyed_hash {
                self.draws.clear();
                for l in la..lb {
                    if self.jitter[l] > 0 && self.ordered[l] > 0.0 {
                        self.draws.push(self.key[l], 0);
                    }
                }
                self.draws.draw(Purpose::Shipping, tick);
            }
            let mut next = 0;
            for s in from..to {
                let (g, ring) = (self.ring_group[s] as usize, self.ring_at[s] as usize);
                let arrived = std::mem::take(self.groups[g].cell(0, ring));
                self.stock[s] += arrived;
                self.in_transit[s] -= arrived;
                let (la, lb) = (self.link_from[s] as usize, self.link_from[s + 1] as usize);
                for l in la..lb {
                    // The suppliers are anywhere in the firm order: ask for their ratios
                    // some links ahead.
                    if let Some(&next) = self.supplier.get(l + AHEAD) {
                        prefetch(&self.ratio, next as usize);
                    }
                    let q = self.ordered[l];
                    if q <= 0.0 {
                        continue;
                    }
                    let ratio = self.ratio[self.supplier[l] as usize];
                    let filled = q * ratio;
                    self.fill[l] += self.fill_step * (ratio - self.fill[l]);
                    let j = u32::from(self.jitter[l]);
                    let days = if j > 0 {
                        let span = 2 * j + 1;
                        let u = if self.keyed_hash {
                            // SplitMix64 of the link's key and the tick, to 53 bits.
                            (splitmix(self.key[l] ^ splitmix(u64::from(tick))) >> 11) as f64 / (1u64 << 53) as f64
                        } else {
                            self.draws.get(next)
                        };
                        next += 1;
                        u32::from(self.days[l]) + ((u * f64::from(span)) as u32).min(span - 1) - j
                    } else {
                        u32::from(self.days[l])
                    };
                    *self.groups[g].cell(days.max(1), ring) += filled;
                    self.in_transit[s] += filled;
                    if self.flow_cell[l] != NO_FLOW {
                        self.flows[self.flow_cell[l] as usize] += filled;
                    }
                }
            }
        }
    }

    fn observe(&mut self, tick: u32) {
        self.made_by.fill(0.0);
        self.held_by.fill(0.0);
        let nc = self.nc;
        for f in 0..self.n {
            let cell = self.nation[f] as usize * nc;
            self.made_by[cell + self.output[f] as usize] += self.produced[f];
            self.held_by[cell + self.output[f] as usize] += self.fin[f];
            let mut cover = f64::INFINITY;
            for s in self.slot_from[f] as usize..self.slot_from[f + 1] as usize {
                self.held_by[cell + self.commodity[s] as usize] += self.stock[s] + self.in_transit[s];
                let daily_use = self.expected_output[f] * self.per_unit[s];
                if daily_use > 0.0 {
                    cover = cover.min(self.stock[s] / daily_use);
                }
            }
            if self.rows {
                self.snaps[f] = FirmSnapshot {
                    produced: self.produced[f],
                    planned: self.planned[f],
                    capacity: self.capacity[f],
                    shortfall: self.planned[f] - self.produced[f],
                    inventory: self.fin[f],
                    input_cover_days: cover.is_finite().then_some(cover),
                    received: self.received_today[f],
                    shipped: self.shipped[f],
                };
            }
        }
        // As the engine's observation: every firm's snapshot, then its row, in one pass.
        if self.rows {
            let t = tick as i32;
            self.firm_rows
                .append(t, t, 0..self.n, &self.snaps, &self.nation, &self.role, &self.output);
        }
    }

    /// Drops the recorded rows once a batch's worth is there, as the run would write them
    /// (untimed, and the columns made again, as the engine's `tick` benchmarks do).
    fn write_when_due(&mut self) {
        if self.firm_rows.tick.len() >= BATCH_ROWS {
            self.firm_rows = FirmRows::default();
        }
    }

    /// One day; seconds spent in each of the five steps are added to `spent`.
    fn day(&mut self, tick: u32, spent: &mut [f64; 5]) {
        let t = Instant::now();
        self.produce();
        let t1 = Instant::now();
        self.procure();
        let t2 = Instant::now();
        self.fill_orders();
        let t3 = Instant::now();
        self.ship_and_deliver(tick);
        let t4 = Instant::now();
        self.observe(tick);
        let t5 = Instant::now();
        for (s, (a, b)) in spent.iter_mut().zip([(t, t1), (t1, t2), (t2, t3), (t3, t4), (t4, t5)]) {
            *s += (b - a).as_secs_f64();
        }
    }

    /// Every commodity's units held: finished stock, input stock on hand and on its way.
    fn held(&self) -> Vec<f64> {
        let mut h = vec![0.0; self.nc];
        for f in 0..self.n {
            h[self.output[f] as usize] += self.fin[f];
            for s in self.slot_from[f] as usize..self.slot_from[f + 1] as usize {
                h[self.commodity[s] as usize] += self.stock[s] + self.in_transit[s];
            }
        }
        h
    }
}

/// What a floor world records and how it draws (see the module).
#[derive(Clone, Copy)]
struct Options {
    /// Every firm's row recorded (as the 10^4 acceptance item asks); `FLOOR_FIRM_ROWS=none`: none.
    rows: bool,
    /// Transit with the routes' jitter; `FLOOR_JITTER=off`: every transit its mean days, no
    /// draw (an experiment: what the jitter costs).
    jitter: bool,
    /// Each transit draw a SplitMix64 hash of the link's key and the tick instead of Philox
    /// (`FLOOR_DRAWS=splitmix`; an experiment: what the engine's generator costs).
    splitmix: bool,
}

impl Options {
    fn from_env() -> Options {
        let var = |name: &str| std::env::var(name).unwrap_or_default();
        Options {
            rows: var("FLOOR_FIRM_ROWS") != "none",
            jitter: var("FLOOR_JITTER") != "off",
            splitmix: var("FLOOR_DRAWS") == "splitmix",
        }
    }
}

const STEPS: [&str; 5] = ["production", "procurement", "filling", "shipping", "observation"];

fn median(mut t: Vec<f64>) -> f64 {
    t.sort_by(f64::total_cmp);
    t[t.len() / 2]
}

/// Times `ticks` days after `warm` untimed ones on a world of `firms` firms: ns per firm-tick
/// of each step and of the day.
fn timed(firms: u64, opts: Options, warm: u32, ticks: u32) -> ([f64; 5], f64, u64, [usize; 3]) {
    let mut w = World::new(firms, opts);
    let mut spent = [0.0; 5];
    for t in 0..warm {
        w.day(t, &mut spent);
        w.write_when_due();
    }
    let mut spent = [0.0; 5];
    for t in warm..warm + ticks {
        w.day(t, &mut spent);
        w.write_when_due();
    }
    black_box(&w);
    let per = (f64::from(ticks) * w.n as f64) / 1e9;
    (
        spent.map(|s| s / per),
        spent.iter().sum::<f64>() / per,
        w.bytes(),
        [w.n, w.commodity.len(), w.supplier.len()],
    )
}

/// Material conserved and the steady state held, on a small world (`cargo test`).
fn check() {
    let mut w = World::new(
        2_000,
        Options {
            rows: true,
            jitter: true,
            splitmix: false,
        },
    );
    let before = w.held();
    let (mut made, mut used, mut consumed) = (vec![0.0; w.nc], vec![0.0; w.nc], vec![0.0; w.nc]);
    let mut spent = [0.0; 5];
    let steady: f64 = w.steady.iter().sum();
    for t in 0..200 {
        w.day(t, &mut spent);
        w.write_when_due();
        for f in 0..w.n {
            let c = w.output[f] as usize;
            made[c] += w.produced[f];
            if w.final_good[f] {
                consumed[c] += w.produced[f];
            }
            for s in w.slot_from[f] as usize..w.slot_from[f + 1] as usize {
                used[w.commodity[s] as usize] += w.produced[f] * w.per_unit[s];
            }
        }
        let out: f64 = w.produced.iter().sum();
        assert!((out / steady - 1.0).abs() < 0.02, "day {t}: output {out} against steady {steady}");
    }
    let after = w.held();
    for c in 0..w.nc {
        let expect = before[c] + made[c] - consumed[c] - used[c];
        let scale = before[c].abs().max(made[c]).max(1.0);
        assert!(
            (after[c] - expect).abs() <= 1e-9 * scale,
            "commodity {c}: held {} against {expect}",
            after[c]
        );
    }
    println!("floor: 2,000 firms, 200 days: material conserved, output within 2% of steady");
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        check();
        return;
    }
    let sizes: Vec<u64> = match std::env::var("FLOOR_FIRMS") {
        Ok(v) => v.split(',').map(|s| s.parse().expect("FLOOR_FIRMS: numbers")).collect(),
        Err(_) => vec![10_000, 1_000_000],
    };
    let opts = Options::from_env();
    let Options { rows, jitter, splitmix } = opts;
    // The bandwidth of this core on arrays of 2^25 doubles (256 MB each), far beyond any cache.
    let bandwidth = triad(1 << 25, false);
    println!("STREAM triad on one thread: {:.1} GB/s", bandwidth / 1e9);
    for firms in sizes {
        let (warm, ticks) = if firms >= 100_000 { (5, 25) } else { (30, 300) };
        let runs: Vec<_> = (0..3).map(|_| timed(firms, opts, warm, ticks)).collect();
        let (_, _, bytes, [n, inputs, links]) = runs[0];
        let bound = bytes as f64 / bandwidth / n as f64 * 1e9;
        let day: Vec<f64> = runs.iter().map(|r| r.1).collect();
        println!(
            "{n} firms, one thread, {ticks} days after {warm}, firm rows {}{}{}: {:.1} ns a firm-tick (runs {}); {:.0} B a firm touched",
            if rows { "all" } else { "none" },
            if jitter { "" } else { ", no transit jitter" },
            if splitmix { ", SplitMix64 draws" } else { "" },
            median(day.clone()),
            day.iter().map(|d| format!("{d:.1}")).collect::<Vec<_>>().join(", "),
            bytes as f64 / n as f64
        );
        println!(
            "  {:.2} inputs and {:.2} links a firm; bandwidth bound {:.1} ns a firm-tick (the day is {:.1}x it)",
            inputs as f64 / n as f64,
            links as f64 / n as f64,
            bound,
            median(day) / bound
        );
        for (k, step) in STEPS.iter().enumerate() {
            println!("  {step:12} {:.1} ns", median(runs.iter().map(|r| r.0[k]).collect()));
        }
    }
}
