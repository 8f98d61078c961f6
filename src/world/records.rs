//! The rows a run has recorded and not yet written: one column vector per output column
//! (filled by `tick/observe.rs`, turned into Arrow batches and written by `output/`).

use bevy_ecs::prelude::*;

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

/// Per-(nation, commodity) totals of one tick, kept for the material-balance check.
#[derive(Debug, Default, Clone)]
pub struct NationTotals {
    pub produced: Vec<f64>,
    pub consumed: Vec<f64>,
    pub stock: Vec<f64>,
    pub in_transit: Vec<f64>,
}

/// Columns waiting to be written, plus per-firm scratch space reused every tick.
#[derive(Resource, Debug, Default)]
pub struct Recorder {
    pub firms: FirmRows,
    pub nations: NationRows,
    pub flows: FlowRows,
    pub prices: PriceRows,
    pub lines: LineRows,
    pub totals: NationTotals,
    /// (firm, line position, line id, planned, produced), sorted each tick; reused.
    pub line_scratch: Vec<(u32, usize, u16, f64, f64)>,
    /// One snapshot per firm, by dense index, so rows come out in a fixed order.
    pub scratch: Vec<FirmSnapshot>,
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
    /// Rows waiting in the firm table (the largest), to decide when to flush.
    pub fn pending_rows(&self) -> usize {
        self.firms.tick.len() + self.nations.tick.len() + self.lines.tick.len()
    }

    /// Bytes held in rows not yet written (column values only).
    pub fn bytes(&self) -> usize {
        fn b<T>(v: &[T]) -> usize {
            std::mem::size_of_val(v)
        }
        let f = &self.firms;
        let n = &self.nations;
        let w = &self.flows;
        let p = &self.prices;
        let l = &self.lines;
        b(&f.tick)
            + b(&f.date)
            + b(&f.firm)
            + b(&f.nation)
            + b(&f.role)
            + b(&f.commodity)
            + b(&f.produced)
            + b(&f.planned)
            + b(&f.capacity)
            + b(&f.shortfall)
            + b(&f.inventory)
            + b(&f.input_cover_days)
            + b(&f.orders_received)
            + b(&f.shipped)
            + b(&n.tick)
            + b(&n.date)
            + b(&n.nation)
            + b(&n.commodity)
            + b(&n.produced)
            + b(&n.consumed)
            + b(&n.imported)
            + b(&n.exported)
            + b(&n.stock)
            + b(&n.in_transit)
            + b(&w.tick)
            + b(&w.date)
            + b(&w.exporter)
            + b(&w.importer)
            + b(&w.commodity)
            + b(&w.quantity)
            + b(&w.value_usd)
            + b(&w.tariff_usd)
            + b(&p.tick)
            + b(&p.date)
            + b(&p.region)
            + b(&p.commodity)
            + b(&p.price_usd)
            + b(&l.tick)
            + b(&l.date)
            + b(&l.firm)
            + b(&l.line)
            + b(&l.planned)
            + b(&l.produced)
    }
}
