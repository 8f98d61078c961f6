//! Observation (tick step 8): this tick's state appended to the output tables' columns.
//! Columns are plain vectors held in the [`Recorder`]; `output` turns them into Arrow batches.
//! Per-firm rows (`firms`, `lines`) follow the run's output level (`output.firm_rows`): every
//! firm, every K ticks, a fixed sample, or none; the per-group sums (`groups`) and the other
//! tables are recorded every tick at every level.

use crate::model::output::FirmRowLevel;
use crate::world::chunks::{chunked, chunks};
use crate::world::clock::Clock;
use crate::world::firm::{Finished, FirmIndex, Inputs, Lines, Plant, Production, Trading};
use crate::world::params::Params;
use crate::world::prices::PriceBook;
use crate::world::records::{BATCH_ROWS, ChunkSums, FirmSnapshot, GroupSums, Recorder};
use crate::world::registry::Registry;
use crate::world::shipments::TradeBook;
use bevy_ecs::prelude::*;

/// What observation reads of each firm (and whether it is a trader).
type ObservedFirm<'a> = (&'a FirmIndex, &'a Plant, &'a Production, &'a Finished, &'a Inputs, Has<Trading>);

/// Appends this tick's rows to every table, in a fixed order (firm, nation, region index).
#[allow(clippy::too_many_arguments)]
pub fn record_tick(
    firms: Query<ObservedFirm>,
    lines: Query<(&FirmIndex, &Lines)>,
    registry: Res<Registry>,
    clock: Res<Clock>,
    trade: Res<TradeBook>,
    prices: Res<PriceBook>,
    params: Res<Params>,
    mut rec: ResMut<Recorder>,
) {
    let rec = &mut *rec;
    let nf = registry.entity.len();
    let (nn, nc) = (trade.nations, trade.commodities);
    let tick_days = f64::from(clock.tick_days);
    // Which firms get rows this tick: all of them, the sample's, or none.
    let level = rec.grouping.firm_rows;
    let all_rows = level.all_firms_on(clock.tick);
    let sample = matches!(level, FirmRowLevel::Sample(_));
    // Each firm's snapshot is kept for its row only when some firm gets a row this tick:
    // with no firm rows, the 72 bytes a firm (72 MB at 10^6 firms) are never held.
    if all_rows || sample {
        rec.scratch.resize(nf, FirmSnapshot::default());
    } else {
        rec.scratch.clear();
    }
    // Each chunk of firms in index order takes its firms' snapshots and sums them into its
    // own nation totals and group sums (on every core when parallel); the chunks' sums are
    // then added in chunk order, so every sum is the same at any thread count.
    let n_chunks = chunks(nf);
    let groups = rec.grouping.keys.len();
    rec.chunk_sums.resize_with(n_chunks.max(rec.chunk_sums.len()), ChunkSums::default);
    {
        let Recorder {
            scratch,
            chunk_sums,
            grouping,
            ..
        } = rec;
        let (firms, registry, grouping) = (&firms, &*registry, &*grouping);
        chunked(nf, scratch, &mut chunk_sums[..n_chunks], params.parallel, |range, snaps, sums| {
            sums.clear(nn * nc, groups);
            let first = range.start;
            for i in range {
                let (_, plant, prod, fin, inputs, trader) = firms.get(registry.entity[i]).expect("firm entity");
                let row = all_rows || (sample && grouping.in_sample[i]);
                let n = plant.nation as usize;
                let out = n * nc + plant.output as usize;
                let t = &mut sums.totals;
                // A trader's pass-through (its input taken into saleable stock) is neither
                // made nor used in its nation: only its stocks count there.
                let made = if trader { 0.0 } else { prod.produced };
                t.produced[out] += made;
                if plant.final_good {
                    t.consumed[out] += prod.produced;
                } else {
                    t.stock[out] += fin.stock;
                }
                let mut cover: Option<f64> = None;
                for s in &inputs.slots {
                    let cell = n * nc + s.commodity as usize;
                    if !trader {
                        t.consumed[cell] += s.consumed;
                    }
                    t.stock[cell] += s.stock;
                    t.in_transit[cell] += s.in_transit;
                    t.imported[cell] += s.imported;
                    if !row {
                        continue;
                    }
                    let daily_use = prod.expected_output * s.per_unit / tick_days;
                    let days = if daily_use > 0.0 { s.stock / daily_use } else { f64::INFINITY };
                    cover = Some(cover.map_or(days, |c: f64| c.min(days)));
                }
                let snap = FirmSnapshot {
                    produced: prod.produced,
                    planned: prod.planned,
                    capacity: plant.capacity,
                    shortfall: prod.shortfall,
                    inventory: fin.stock,
                    input_cover_days: cover.filter(|c| c.is_finite()),
                    received: fin.received,
                    shipped: fin.shipped,
                };
                sums.groups[grouping.group_of[i] as usize].add(&snap);
                if let Some(s) = snaps.get_mut(i - first) {
                    *s = snap;
                }
            }
        });
    }
    rec.totals.clear(nn * nc);
    rec.group_sums.fill(GroupSums::default());
    for c in &rec.chunk_sums[..n_chunks] {
        rec.totals.add(&c.totals);
        for (sum, part) in rec.group_sums.iter_mut().zip(&c.groups) {
            sum.add_sums(part);
        }
    }
    let tick = clock.tick as i32;
    let date = clock.date().0;
    // A fresh batch (the writer took the last one) gets room for the ticks it will hold
    // before the run writes it (a batch is written once it has `BATCH_ROWS` rows).
    let rows = if all_rows {
        nf
    } else if sample {
        rec.grouping.sample.len()
    } else {
        0
    };
    if rows > 0 && rec.firms.tick.capacity() - rec.firms.tick.len() < rows {
        let ticks = BATCH_ROWS.div_ceil(rows);
        rec.firms.reserve_exact(rows * ticks);
    }
    let (nation, role, output) = (&registry.nation[..], &registry.role[..], &registry.output[..]);
    if all_rows {
        rec.firms.append(tick, date, 0..nf, &rec.scratch, nation, role, output);
    } else if sample {
        let sample = rec.grouping.sample.iter().map(|&i| i as usize);
        rec.firms.append(tick, date, sample, &rec.scratch, nation, role, output);
    }
    let r = &mut rec.groups;
    for (g, sums) in rec.group_sums.iter().enumerate() {
        let (n, role, c) = rec.grouping.keys[g];
        r.tick.push(tick);
        r.date.push(date);
        r.nation.push(i32::from(n));
        r.role.push(i32::from(role));
        r.commodity.push(i32::from(c));
        r.firms.push(rec.grouping.firms[g]);
        r.produced.push(sums.produced);
        r.planned.push(sums.planned);
        r.capacity.push(sums.capacity);
        r.shortfall.push(sums.shortfall);
        r.inventory.push(sums.inventory);
        r.orders_received.push(sums.received);
        r.shipped.push(sums.shipped);
        r.firms_short.push(sums.short);
        r.firms_stalled.push(sums.stalled);
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
            r.imported.push(rec.totals.imported[cell]);
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
    if all_rows || (sample && !rec.grouping.sample.is_empty()) {
        for (idx, ls) in &lines {
            if !all_rows && !rec.grouping.in_sample[idx.0 as usize] {
                continue;
            }
            for (k, l) in ls.lines.iter().enumerate() {
                rec.line_scratch.push((idx.0, k, l.id, l.planned, l.produced));
            }
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
