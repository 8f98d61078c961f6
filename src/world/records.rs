//! The rows a run has recorded and not yet written: one column vector per output column
//! (filled by `tick/observe.rs`, turned into Arrow batches and written by `output/`).

use crate::model::output::{FirmRowLevel, sampled};
use crate::world::chunks::add_cells;
use crate::world::network::Network;
use bevy_ecs::prelude::*;
use std::collections::BTreeMap;

/// Share of its planned output a firm must lose for lack of inputs for its day to count as a
/// stall (`groups.arrow`'s `firms_stalled`; the downstream indicators' stalls).
pub const STALL_SHARE: f64 = 0.10;

/// Rows the run collects before it writes them as one record batch per table (counted by
/// [`Recorder::pending_rows`]).
pub const BATCH_ROWS: usize = 1 << 16;

/// Rows of `firms.arrow` not yet written.
#[derive(Debug, Default, Clone)]
pub struct FirmRows {
    pub tick: Vec<i32>,
    pub date: Vec<i32>,
    pub firm: Vec<i32>,
    pub nation: Vec<i32>,
    pub role: Vec<i32>,
    pub commodity: Vec<i32>,
    pub produced: Vec<f64>,
    pub planned: Vec<f64>,
    pub capacity: Vec<f64>,
    pub shortfall: Vec<f64>,
    pub inventory: Vec<f64>,
    pub input_cover_days: Vec<Option<f64>>,
    pub orders_received: Vec<f64>,
    pub shipped: Vec<f64>,
}

impl FirmRows {
    /// Makes room for `rows` more rows in every column at once, so that a batch's columns
    /// are allocated once instead of being doubled and copied as they fill.
    pub fn reserve_exact(&mut self, rows: usize) {
        self.tick.reserve_exact(rows);
        self.date.reserve_exact(rows);
        self.firm.reserve_exact(rows);
        self.nation.reserve_exact(rows);
        self.role.reserve_exact(rows);
        self.commodity.reserve_exact(rows);
        self.produced.reserve_exact(rows);
        self.planned.reserve_exact(rows);
        self.capacity.reserve_exact(rows);
        self.shortfall.reserve_exact(rows);
        self.inventory.reserve_exact(rows);
        self.input_cover_days.reserve_exact(rows);
        self.orders_received.reserve_exact(rows);
        self.shipped.reserve_exact(rows);
    }

    /// Appends one row per firm of `firms` (indices in the order their rows go out) at `tick`
    /// and `date`, from the firms' snapshots `snaps` (by firm index) and their nation, role and
    /// output commodity (by firm index). One pass over the firms writes each row's fourteen
    /// values straight into the columns' room (made first if the batch has too little), and
    /// the columns then take the rows: each snapshot is read once, not once a column (14
    /// strided passes over the snapshots took 17 ns a firm-tick at 10^4 firms).
    #[allow(clippy::too_many_arguments)]
    pub fn append<I>(&mut self, tick: i32, date: i32, firms: I, snaps: &[FirmSnapshot], nation: &[u16], role: &[u16], output: &[u16])
    where
        I: ExactSizeIterator<Item = usize>,
    {
        let n = firms.len();
        if self.tick.capacity() - self.tick.len() < n {
            self.reserve_exact(n);
        }
        let FirmRows {
            tick: c_tick,
            date: c_date,
            firm: c_firm,
            nation: c_nation,
            role: c_role,
            commodity: c_commodity,
            produced,
            planned,
            capacity,
            shortfall,
            inventory,
            input_cover_days,
            orders_received,
            shipped,
        } = self;
        // Rows written into every column's room (`reserve_exact` grows all the columns
        // together; a column without room for a row panics at its index, never writes past it).
        let mut written = 0;
        {
            let (t, d, f, na, r, c) = (
                c_tick.spare_capacity_mut(),
                c_date.spare_capacity_mut(),
                c_firm.spare_capacity_mut(),
                c_nation.spare_capacity_mut(),
                c_role.spare_capacity_mut(),
                c_commodity.spare_capacity_mut(),
            );
            let (pr, pl, ca, sh, inv, cov, rec, shp) = (
                produced.spare_capacity_mut(),
                planned.spare_capacity_mut(),
                capacity.spare_capacity_mut(),
                shortfall.spare_capacity_mut(),
                inventory.spare_capacity_mut(),
                input_cover_days.spare_capacity_mut(),
                orders_received.spare_capacity_mut(),
                shipped.spare_capacity_mut(),
            );
            for (k, i) in firms.enumerate() {
                let s = &snaps[i];
                t[k].write(tick);
                d[k].write(date);
                f[k].write(i as i32);
                na[k].write(i32::from(nation[i]));
                r[k].write(i32::from(role[i]));
                c[k].write(i32::from(output[i]));
                pr[k].write(s.produced);
                pl[k].write(s.planned);
                ca[k].write(s.capacity);
                sh[k].write(s.shortfall);
                inv[k].write(s.inventory);
                cov[k].write(s.input_cover_days);
                rec[k].write(s.received);
                shp[k].write(s.shipped);
                written = k + 1;
            }
        }
        // SAFETY: the loop above wrote the first `written` places of every column's room.
        unsafe {
            c_tick.set_len(c_tick.len() + written);
            c_date.set_len(c_date.len() + written);
            c_firm.set_len(c_firm.len() + written);
            c_nation.set_len(c_nation.len() + written);
            c_role.set_len(c_role.len() + written);
            c_commodity.set_len(c_commodity.len() + written);
            produced.set_len(produced.len() + written);
            planned.set_len(planned.len() + written);
            capacity.set_len(capacity.len() + written);
            shortfall.set_len(shortfall.len() + written);
            inventory.set_len(inventory.len() + written);
            input_cover_days.set_len(input_cover_days.len() + written);
            orders_received.set_len(orders_received.len() + written);
            shipped.set_len(shipped.len() + written);
        }
    }
}

/// Rows of `nations.arrow` (one per nation and commodity per tick).
#[derive(Debug, Default, Clone)]
pub struct NationRows {
    pub tick: Vec<i32>,
    pub date: Vec<i32>,
    pub nation: Vec<i32>,
    pub commodity: Vec<i32>,
    pub produced: Vec<f64>,
    pub consumed: Vec<f64>,
    pub imported: Vec<f64>,
    pub exported: Vec<f64>,
    pub stock: Vec<f64>,
    pub in_transit: Vec<f64>,
}

/// Rows of `flows.arrow` (non-zero cross-border flows only).
#[derive(Debug, Default, Clone)]
pub struct FlowRows {
    pub tick: Vec<i32>,
    pub date: Vec<i32>,
    pub exporter: Vec<i32>,
    pub importer: Vec<i32>,
    pub commodity: Vec<i32>,
    pub quantity: Vec<f64>,
    pub value_usd: Vec<f64>,
    pub tariff_usd: Vec<f64>,
}

/// Rows of `prices.arrow`.
#[derive(Debug, Default, Clone)]
pub struct PriceRows {
    pub tick: Vec<i32>,
    pub date: Vec<i32>,
    pub region: Vec<i32>,
    pub commodity: Vec<i32>,
    pub price_usd: Vec<f64>,
}

/// Rows of `lines.arrow` (firms with product lines only).
#[derive(Debug, Default, Clone)]
pub struct LineRows {
    pub tick: Vec<i32>,
    pub date: Vec<i32>,
    pub firm: Vec<i32>,
    pub line: Vec<i32>,
    pub planned: Vec<f64>,
    pub produced: Vec<f64>,
}

/// Rows of `groups.arrow`: one per (nation, role, output commodity) with firms, per tick.
#[derive(Debug, Default, Clone)]
pub struct GroupRows {
    pub tick: Vec<i32>,
    pub date: Vec<i32>,
    pub nation: Vec<i32>,
    pub role: Vec<i32>,
    pub commodity: Vec<i32>,
    pub firms: Vec<i64>,
    pub produced: Vec<f64>,
    pub planned: Vec<f64>,
    pub capacity: Vec<f64>,
    pub shortfall: Vec<f64>,
    pub inventory: Vec<f64>,
    pub orders_received: Vec<f64>,
    pub shipped: Vec<f64>,
    pub firms_short: Vec<i64>,
    pub firms_stalled: Vec<i64>,
}

/// One group's sums over its firms in one tick (summed in firm-index order).
#[derive(Debug, Default, Clone, Copy)]
pub struct GroupSums {
    pub produced: f64,
    pub planned: f64,
    pub capacity: f64,
    pub shortfall: f64,
    pub inventory: f64,
    pub received: f64,
    pub shipped: f64,
    /// Firms with any shortfall.
    pub short: i64,
    /// Firms that lost at least [`STALL_SHARE`] of a positive plan.
    pub stalled: i64,
}

impl GroupSums {
    /// Adds one firm's snapshot.
    pub fn add(&mut self, s: &FirmSnapshot) {
        self.produced += s.produced;
        self.planned += s.planned;
        self.capacity += s.capacity;
        self.shortfall += s.shortfall;
        self.inventory += s.inventory;
        self.received += s.received;
        self.shipped += s.shipped;
        self.short += i64::from(s.shortfall > 0.0);
        self.stalled += i64::from(s.planned > 0.0 && s.shortfall >= STALL_SHARE * s.planned);
    }

    /// Adds another group sum (of the same group's other firms).
    pub fn add_sums(&mut self, o: &GroupSums) {
        self.produced += o.produced;
        self.planned += o.planned;
        self.capacity += o.capacity;
        self.shortfall += o.shortfall;
        self.inventory += o.inventory;
        self.received += o.received;
        self.shipped += o.shipped;
        self.short += o.short;
        self.stalled += o.stalled;
    }
}

/// The groups firms are summed into, and which firms get rows at the run's output level;
/// fixed for the run.
#[derive(Debug, Default, Clone)]
pub struct Grouping {
    /// The run's output level (`output.firm_rows`).
    pub firm_rows: FirmRowLevel,
    /// Firms in the sample (`sample:F`), by dense index, ascending; empty at other levels.
    pub sample: Vec<u32>,
    /// Whether each firm is in the sample, by dense index (empty unless `sample:F`).
    pub in_sample: Vec<bool>,
    /// Each firm's group.
    pub group_of: Vec<u32>,
    /// Each group's (nation, role, commodity) indices, sorted.
    pub keys: Vec<(u16, u16, u16)>,
    /// Firms in each group.
    pub firms: Vec<i64>,
}

impl Grouping {
    /// The groups of `network`'s firms (one per (nation, role, output) that has firms, in that
    /// order of indices) and the sample of `firm_rows`.
    pub fn new(firm_rows: FirmRowLevel, network: &Network) -> Grouping {
        let key = |i: usize| (network.firm_nation[i], network.firm_role[i], network.firm_output[i]);
        let n = network.firms.len();
        let mut index: BTreeMap<(u16, u16, u16), u32> = (0..n).map(|i| (key(i), 0)).collect();
        for (k, v) in index.values_mut().enumerate() {
            *v = k as u32;
        }
        let group_of: Vec<u32> = (0..n).map(|i| index[&key(i)]).collect();
        let mut firms = vec![0i64; index.len()];
        for &g in &group_of {
            firms[g as usize] += 1;
        }
        let in_sample: Vec<bool> = match firm_rows {
            FirmRowLevel::Sample(share) => network.firms.iter().map(|id| sampled(id, share)).collect(),
            _ => Vec::new(),
        };
        Grouping {
            firm_rows,
            sample: (0..in_sample.len() as u32).filter(|&i| in_sample[i as usize]).collect(),
            in_sample,
            group_of,
            keys: index.into_keys().collect(),
            firms,
        }
    }
}

/// Per-(nation, commodity) totals of one tick, kept for the material-balance check.
#[derive(Debug, Default, Clone)]
pub struct NationTotals {
    pub produced: Vec<f64>,
    pub consumed: Vec<f64>,
    pub stock: Vec<f64>,
    pub in_transit: Vec<f64>,
    /// What arrived from abroad today (the inputs' imports of the day).
    pub imported: Vec<f64>,
}

impl NationTotals {
    /// Every total set to 0 for `cells` (nation, commodity) cells.
    pub fn clear(&mut self, cells: usize) {
        for t in [
            &mut self.produced,
            &mut self.consumed,
            &mut self.stock,
            &mut self.in_transit,
            &mut self.imported,
        ] {
            t.clear();
            t.resize(cells, 0.0);
        }
    }

    /// Adds `other`'s totals, cell by cell.
    pub fn add(&mut self, other: &NationTotals) {
        for (t, o) in [
            (&mut self.produced, &other.produced),
            (&mut self.consumed, &other.consumed),
            (&mut self.stock, &other.stock),
            (&mut self.in_transit, &other.in_transit),
            (&mut self.imported, &other.imported),
        ] {
            add_cells(t, o);
        }
    }
}

/// One chunk of firms' sums in a tick (see [`crate::world::chunks`]): its nation totals and
/// group sums, added into the tick's in chunk order.
#[derive(Debug, Default, Clone)]
pub struct ChunkSums {
    pub totals: NationTotals,
    pub groups: Vec<GroupSums>,
}

impl ChunkSums {
    /// Every sum set to 0 for `cells` (nation, commodity) cells and `groups` groups.
    pub fn clear(&mut self, cells: usize, groups: usize) {
        self.totals.clear(cells);
        self.groups.clear();
        self.groups.resize(groups, GroupSums::default());
    }
}

/// Columns waiting to be written, plus per-firm scratch space reused every tick.
#[derive(Resource, Debug, Default)]
pub struct Recorder {
    pub firms: FirmRows,
    pub nations: NationRows,
    pub flows: FlowRows,
    pub prices: PriceRows,
    pub lines: LineRows,
    pub groups: GroupRows,
    pub totals: NationTotals,
    /// Groups and the sample, fixed for the run.
    pub grouping: Grouping,
    /// This tick's sums per group; reused.
    pub group_sums: Vec<GroupSums>,
    /// (firm, line position, line id, planned, produced), sorted each tick; reused.
    pub line_scratch: Vec<(u32, usize, u16, f64, f64)>,
    /// One snapshot per firm, by dense index, so rows come out in a fixed order.
    pub scratch: Vec<FirmSnapshot>,
    /// Each chunk of firms' sums this tick (see [`crate::world::chunks`]), reused.
    pub chunk_sums: Vec<ChunkSums>,
}

/// One firm's row of this tick, before rows are appended in firm order.
#[derive(Debug, Default, Clone, Copy)]
pub struct FirmSnapshot {
    pub produced: f64,
    pub planned: f64,
    pub capacity: f64,
    pub shortfall: f64,
    pub inventory: f64,
    pub input_cover_days: Option<f64>,
    pub received: f64,
    pub shipped: f64,
}

impl Recorder {
    /// An empty recorder for `network`'s firms at the output level `firm_rows`.
    pub fn new(firm_rows: FirmRowLevel, network: &Network) -> Recorder {
        let grouping = Grouping::new(firm_rows, network);
        Recorder {
            group_sums: vec![GroupSums::default(); grouping.keys.len()],
            grouping,
            ..Recorder::default()
        }
    }

    /// Rows waiting in the per-tick tables, to decide when to flush. With every firm's row
    /// every tick, group rows (never more than firm rows) are left out, so batches of the
    /// other tables break where they always did and their files keep their bytes.
    pub fn pending_rows(&self) -> usize {
        let groups = if self.grouping.firm_rows == FirmRowLevel::All {
            0
        } else {
            self.groups.tick.len()
        };
        self.firms.tick.len() + self.nations.tick.len() + self.lines.tick.len() + groups
    }

    /// Bytes held in rows not yet written (column values only).
    pub fn bytes(&self) -> usize {
        use std::mem::size_of_val as b;
        let (f, n, w, p, l, g) = (&self.firms, &self.nations, &self.flows, &self.prices, &self.lines, &self.groups);
        let ints = [
            &f.tick,
            &f.date,
            &f.firm,
            &f.nation,
            &f.role,
            &f.commodity,
            &n.tick,
            &n.date,
            &n.nation,
            &n.commodity,
            &w.tick,
            &w.date,
            &w.exporter,
            &w.importer,
            &w.commodity,
            &p.tick,
            &p.date,
            &p.region,
            &p.commodity,
            &l.tick,
            &l.date,
            &l.firm,
            &l.line,
            &g.tick,
            &g.date,
            &g.nation,
            &g.role,
            &g.commodity,
        ];
        let floats = [
            &f.produced,
            &f.planned,
            &f.capacity,
            &f.shortfall,
            &f.inventory,
            &f.orders_received,
            &f.shipped,
            &n.produced,
            &n.consumed,
            &n.imported,
            &n.exported,
            &n.stock,
            &n.in_transit,
            &w.quantity,
            &w.value_usd,
            &w.tariff_usd,
            &p.price_usd,
            &l.planned,
            &l.produced,
            &g.produced,
            &g.planned,
            &g.capacity,
            &g.shortfall,
            &g.inventory,
            &g.orders_received,
            &g.shipped,
        ];
        let counts = [&g.firms, &g.firms_short, &g.firms_stalled];
        ints.iter().map(|v| b(v.as_slice())).sum::<usize>()
            + floats.iter().map(|v| b(v.as_slice())).sum::<usize>()
            + counts.iter().map(|v| b(v.as_slice())).sum::<usize>()
            + b(f.input_cover_days.as_slice())
    }
}
