//! Shipping (tick step 6): goods arrive after their route's lead time; filled orders leave.
//! Trade is booked for customs statistics: exports when goods leave, imports when they arrive.

use crate::firm::{Inputs, Streams};
use crate::markets::PriceBook;
use crate::procurement::{OrderBook, SupplyLinks};
use crate::rng::uniform;
use crate::sim::{Clock, Registry};
use bevy_ecs::prelude::*;

/// Goods on their way to a buyer.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Shipment {
    pub buyer: u32,
    pub slot: u16,
    pub commodity: u16,
    /// Nation the goods left.
    pub exporter: u16,
    pub quantity: f64,
}

/// Shipments by arrival tick, in a ring of per-tick buckets; the buckets keep their memory,
/// so shipping allocates nothing once the ring has reached its working size.
#[derive(Resource, Debug)]
pub struct ShipmentQueue {
    pub ring: Vec<Vec<Shipment>>,
}

impl ShipmentQueue {
    /// A ring long enough for the longest transit time, in ticks.
    pub fn new(max_lead_ticks: usize) -> ShipmentQueue {
        ShipmentQueue {
            ring: (0..=max_lead_ticks).map(|_| Vec::new()).collect(),
        }
    }

    pub fn push(&mut self, arrival_tick: u32, s: Shipment) {
        let n = self.ring.len();
        self.ring[arrival_tick as usize % n].push(s);
    }
}

/// This tick's trade, per nation and commodity, and per (exporter, importer, commodity).
#[derive(Resource, Debug, Clone)]
pub struct TradeBook {
    pub nations: usize,
    pub commodities: usize,
    /// Units exported, `nation * commodities + commodity`.
    pub exported: Vec<f64>,
    /// Units imported (arrived from abroad).
    pub imported: Vec<f64>,
    /// Units leaving, `(exporter * nations + importer) * commodities + commodity`.
    pub flow_quantity: Vec<f64>,
    /// Their value at the importer's regional price, USD.
    pub flow_value: Vec<f64>,
}

impl TradeBook {
    pub fn new(nations: usize, commodities: usize) -> TradeBook {
        TradeBook {
            nations,
            commodities,
            exported: vec![0.0; nations * commodities],
            imported: vec![0.0; nations * commodities],
            flow_quantity: vec![0.0; nations * nations * commodities],
            flow_value: vec![0.0; nations * nations * commodities],
        }
    }
}

/// Delivers this tick's arrivals into buyers' stocks, then sends off what suppliers filled.
/// Each shipment's transit time is its link's days plus a uniform draw in ±jitter days from
/// the supplier's shipping stream.
#[allow(clippy::too_many_arguments)]
pub fn ship_goods(
    book: Res<OrderBook>,
    links: Res<SupplyLinks>,
    registry: Res<Registry>,
    clock: Res<Clock>,
    prices: Res<PriceBook>,
    mut queue: ResMut<ShipmentQueue>,
    mut trade: ResMut<TradeBook>,
    mut buyers: Query<&mut Inputs>,
    mut streams: Query<&mut Streams>,
) {
    trade.exported.fill(0.0);
    trade.imported.fill(0.0);
    trade.flow_quantity.fill(0.0);
    trade.flow_value.fill(0.0);
    let (nn, nc) = (trade.nations, trade.commodities);

    let n = queue.ring.len();
    let bucket = clock.tick as usize % n;
    let mut arrivals = std::mem::take(&mut queue.ring[bucket]);
    for s in arrivals.drain(..) {
        let mut inputs = buyers.get_mut(registry.entity[s.buyer as usize]).expect("buyer entity");
        let slot = &mut inputs.slots[s.slot as usize];
        slot.stock += s.quantity;
        slot.in_transit -= s.quantity;
        let importer = registry.nation[s.buyer as usize];
        if importer != s.exporter {
            trade.imported[importer as usize * nc + s.commodity as usize] += s.quantity;
        }
    }
    queue.ring[bucket] = arrivals; // keep the bucket's memory

    let tick_days = clock.tick_days;
    for o in book.orders.iter().filter(|o| o.filled > 0.0) {
        let l = &links.links[o.link as usize];
        let days = if l.jitter_days > 0 {
            let mut st = streams.get_mut(registry.entity[o.supplier as usize]).expect("supplier entity");
            let span = 2 * l.jitter_days + 1;
            let draw = ((uniform(&mut st.shipping) * f64::from(span)) as u32).min(span - 1);
            l.days + draw - l.jitter_days
        } else {
            l.days
        };
        let ticks = days.div_ceil(tick_days).max(1);
        let exporter = registry.nation[o.supplier as usize];
        let importer = registry.nation[o.buyer as usize];
        let mut inputs = buyers.get_mut(registry.entity[o.buyer as usize]).expect("buyer entity");
        inputs.slots[o.slot as usize].in_transit += o.filled;
        queue.push(
            clock.tick + ticks,
            Shipment {
                buyer: o.buyer,
                slot: o.slot,
                commodity: o.commodity,
                exporter,
                quantity: o.filled,
            },
        );
        if exporter != importer {
            let c = o.commodity as usize;
            trade.exported[exporter as usize * nc + c] += o.filled;
            let cell = (exporter as usize * nn + importer as usize) * nc + c;
            trade.flow_quantity[cell] += o.filled;
            trade.flow_value[cell] += o.filled * prices.price(registry.nation_region[importer as usize], o.commodity);
        }
    }
}
