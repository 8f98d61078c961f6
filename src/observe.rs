//! Observation (tick step 8): this tick's state appended to the output tables' columns.
//! Columns are plain vectors held in the [`Recorder`]; `output` turns them into Arrow batches.

use crate::firm::{Finished, FirmIndex, Inputs, Lines, Plant, Production};
use crate::markets::PriceBook;
use crate::shipping::TradeBook;
use crate::sim::{Clock, Registry};
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
    line_scratch: Vec<(u32, usize, u16, f64, f64)>,
    /// One snapshot per firm, by dense index, so rows come out in a fixed order.
    scratch: Vec<FirmSnapshot>,
}

#[derive(Debug, Default, Clone, Copy)]
struct FirmSnapshot {
    produced: f64,
    planned: f64,
    capacity: f64,
    shortfall: f64,
    inventory: f64,
    input_cover_days: Option<f64>,
    received: f64,
    shipped: f64,
}

impl Recorder {
    /// Rows waiting in the firm table (the largest), to decide when to flush.
    pub fn pending_rows(&self) -> usize {
        self.firms.tick.len() + self.nations.tick.len() + self.lines.tick.len()
    }
}

/// Appends this tick's rows to every table, in a fixed order (firm, nation, region index).
pub fn record_tick(
    firms: Query<(&FirmIndex, &Plant, &Production, &Finished, &Inputs)>,
    lines: Query<(&FirmIndex, &Lines)>,
    registry: Res<Registry>,
    clock: Res<Clock>,
    trade: Res<TradeBook>,
    prices: Res<PriceBook>,
    mut rec: ResMut<Recorder>,
) {
    let rec = &mut *rec;
    let nf = registry.entity.len();
    let (nn, nc) = (trade.nations, trade.commodities);
    rec.scratch.resize(nf, FirmSnapshot::default());
    for t in [
        &mut rec.totals.produced,
        &mut rec.totals.consumed,
        &mut rec.totals.stock,
        &mut rec.totals.in_transit,
    ] {
        t.clear();
        t.resize(nn * nc, 0.0);
    }
    let tick_days = f64::from(clock.tick_days);
    for (idx, plant, prod, fin, inputs) in &firms {
        let n = plant.nation as usize;
        let out = n * nc + plant.output as usize;
        rec.totals.produced[out] += prod.produced;
        if plant.final_good {
            rec.totals.consumed[out] += prod.produced;
        } else {
            rec.totals.stock[out] += fin.stock;
        }
        let mut cover: Option<f64> = None;
        for s in &inputs.slots {
            let cell = n * nc + s.commodity as usize;
            rec.totals.consumed[cell] += s.consumed;
            rec.totals.stock[cell] += s.stock;
            rec.totals.in_transit[cell] += s.in_transit;
            let daily_use = prod.expected_output * s.per_unit / tick_days;
            let days = if daily_use > 0.0 { s.stock / daily_use } else { f64::INFINITY };
            cover = Some(cover.map_or(days, |c: f64| c.min(days)));
        }
        rec.scratch[idx.0 as usize] = FirmSnapshot {
            produced: prod.produced,
            planned: prod.planned,
            capacity: plant.capacity,
            shortfall: prod.shortfall,
            inventory: fin.stock,
            input_cover_days: cover.filter(|c| c.is_finite()),
            received: fin.received,
            shipped: fin.shipped,
        };
    }
    let tick = clock.tick as i32;
    let date = clock.date().0;
    let r = &mut rec.firms;
    for (i, s) in rec.scratch.iter().enumerate() {
        r.tick.push(tick);
        r.date.push(date);
        r.firm.push(i as i32);
        r.nation.push(i32::from(registry.nation[i]));
        r.role.push(i32::from(registry.role[i]));
        r.commodity.push(i32::from(registry.output[i]));
        r.produced.push(s.produced);
        r.planned.push(s.planned);
        r.capacity.push(s.capacity);
        r.shortfall.push(s.shortfall);
        r.inventory.push(s.inventory);
        r.input_cover_days.push(s.input_cover_days);
        r.orders_received.push(s.received);
        r.shipped.push(s.shipped);
    }
    let r = &mut rec.nations;
    for n in 0..nn {
        for c in 0..nc {
            let cell = n * nc + c;
            r.tick.push(tick);
            r.date.push(date);
            r.nation.push(n as i32);
            r.commodity.push(c as i32);
            r.produced.push(rec.totals.produced[cell]);
            r.consumed.push(rec.totals.consumed[cell]);
            r.imported.push(trade.imported[cell]);
            r.exported.push(trade.exported[cell]);
            r.stock.push(rec.totals.stock[cell]);
            r.in_transit.push(rec.totals.in_transit[cell]);
        }
    }
    let r = &mut rec.flows;
    for e in 0..nn {
        for i in 0..nn {
            for c in 0..nc {
                let cell = (e * nn + i) * nc + c;
                if trade.flow_quantity[cell] > 0.0 {
                    r.tick.push(tick);
                    r.date.push(date);
                    r.exporter.push(e as i32);
                    r.importer.push(i as i32);
                    r.commodity.push(c as i32);
                    r.quantity.push(trade.flow_quantity[cell]);
                    r.value_usd.push(trade.flow_value[cell]);
                    r.tariff_usd.push(trade.flow_tariff[cell]);
                }
            }
        }
    }
    rec.line_scratch.clear();
    for (idx, ls) in &lines {
        for (k, l) in ls.lines.iter().enumerate() {
            rec.line_scratch.push((idx.0, k, l.id, l.planned, l.produced));
        }
    }
    rec.line_scratch.sort_unstable_by_key(|x| (x.0, x.1));
    let r = &mut rec.lines;
    for &(f, _, id, planned, produced) in &rec.line_scratch {
        r.tick.push(tick);
        r.date.push(date);
        r.firm.push(f as i32);
        r.line.push(i32::from(id));
        r.planned.push(planned);
        r.produced.push(produced);
    }
    let r = &mut rec.prices;
    let nr = prices.price.len() / nc;
    for g in 0..nr {
        for c in 0..nc {
            r.tick.push(tick);
            r.date.push(date);
            r.region.push(g as i32);
            r.commodity.push(c as i32);
            r.price_usd.push(prices.price[g * nc + c]);
        }
    }
}
