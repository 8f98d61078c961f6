//! Shipping (tick step 6): goods arrive after their route's lead time; filled orders leave.
//! Trade is booked for customs statistics: exports when goods leave, imports when they arrive.

use crate::firm::{Inputs, Streams};
use crate::markets::PriceBook;
use crate::policy::PolicyState;
use crate::procurement::{NO_LICENCE, OrderBook, SupplyLinks};
use crate::rng::uniform;
use crate::sim::{Clock, Registry};
use bevy_ecs::prelude::*;

/// Goods on their way to a buyer: either held by customs in the exporting nation (they have
/// not left yet) or travelling (they arrive at `due_tick`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Shipment {
    pub buyer: u32,
    pub slot: u16,
    pub commodity: u16,
    /// Nation the goods leave.
    pub exporter: u16,
    pub quantity: f64,
    /// Tick of arrival, or of release by customs if `held`.
    pub due_tick: u32,
    /// Held by customs; on release it travels for `transit_ticks`.
    pub held: bool,
    pub transit_ticks: u32,
}

/// Shipments by due tick, in a ring of per-tick buckets; the buckets keep their memory, so
/// shipping allocates nothing once the ring has reached its working size. The ring doubles
/// (rarely) when a shipment is due further ahead than it reaches.
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

    /// Queues a shipment due at `s.due_tick`, which is not before `now`.
    pub fn push(&mut self, now: u32, s: Shipment) {
        if (s.due_tick - now) as usize >= self.ring.len() {
            let mut len = self.ring.len();
            while (s.due_tick - now) as usize >= len {
                len *= 2;
            }
            let old = std::mem::take(&mut self.ring);
            self.ring = (0..len).map(|_| Vec::new()).collect();
            for x in old.into_iter().flatten() {
                self.ring[x.due_tick as usize % len].push(x);
            }
        }
        let n = self.ring.len();
        self.ring[s.due_tick as usize % n].push(s);
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
    /// Import tariff due on them, USD.
    pub flow_tariff: Vec<f64>,
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
            flow_tariff: vec![0.0; nations * nations * commodities],
        }
    }
}

impl TradeBook {
    /// Books goods leaving `exporter` for `importer` today.
    fn book_export(&mut self, exporter: u16, importer: u16, commodity: u16, quantity: f64, price: f64, tariff: f64) {
        let (nn, nc) = (self.nations, self.commodities);
        let c = commodity as usize;
        self.exported[exporter as usize * nc + c] += quantity;
        let cell = (exporter as usize * nn + importer as usize) * nc + c;
        self.flow_quantity[cell] += quantity;
        self.flow_value[cell] += quantity * price;
        self.flow_tariff[cell] += quantity * price * tariff;
    }
}

/// Delivers this tick's arrivals into buyers' stocks and releases goods held by customs, then
/// sends off what suppliers filled. Each shipment's transit time is its link's days plus a
/// uniform draw in ±jitter days from the supplier's shipping stream. Where the exporting
/// nation's regime inspects a commodity, that share of shipments not under licence is held
/// before it leaves. Exports are booked when goods leave, imports when they arrive.
#[allow(clippy::too_many_arguments)]
pub fn ship_goods(
    book: Res<OrderBook>,
    links: Res<SupplyLinks>,
    registry: Res<Registry>,
    clock: Res<Clock>,
    prices: Res<PriceBook>,
    policy: Res<PolicyState>,
    mut queue: ResMut<ShipmentQueue>,
    mut trade: ResMut<TradeBook>,
    mut buyers: Query<&mut Inputs>,
    mut streams: Query<&mut Streams>,
) {
    trade.exported.fill(0.0);
    trade.imported.fill(0.0);
    trade.flow_quantity.fill(0.0);
    trade.flow_value.fill(0.0);
    trade.flow_tariff.fill(0.0);
    let nc = trade.commodities;
    let tick = clock.tick;
    let td = clock.tick_days;

    let n = queue.ring.len();
    let bucket = tick as usize % n;
    let mut due = std::mem::take(&mut queue.ring[bucket]);
    for s in due.drain(..) {
        let importer = registry.nation[s.buyer as usize];
        if s.held {
            let price = prices.price(registry.nation_region[importer as usize], s.commodity);
            trade.book_export(
                s.exporter,
                importer,
                s.commodity,
                s.quantity,
                price,
                policy.tariff(importer, s.exporter, s.commodity),
            );
            queue.push(
                tick,
                Shipment {
                    held: false,
                    due_tick: tick + s.transit_ticks,
                    ..s
                },
            );
            continue;
        }
        let mut inputs = buyers.get_mut(registry.entity[s.buyer as usize]).expect("buyer entity");
        let slot = &mut inputs.slots[s.slot as usize];
        slot.stock += s.quantity;
        slot.in_transit -= s.quantity;
        if importer != s.exporter {
            trade.imported[importer as usize * nc + s.commodity as usize] += s.quantity;
        }
    }
    let n = queue.ring.len();
    let bucket = tick as usize % n;
    if queue.ring[bucket].is_empty() {
        queue.ring[bucket] = due; // keep the bucket's memory
    }

    // Common random numbers: each supplier's shipping draws of tick t come from ChaCha stream
    // t of its key, so the k-th shipment a supplier sends on a given day draws the same numbers
    // in every scenario, however many it sent on earlier days.
    for mut st in streams.iter_mut() {
        st.shipping.set_stream(u64::from(tick));
        st.shipping.set_word_pos(0);
    }
    for o in book.orders.iter().filter(|o| o.filled > 0.0) {
        let l = &links.links[o.link as usize];
        let exporter = registry.nation[o.supplier as usize];
        let importer = registry.nation[o.buyer as usize];
        let mut st = streams.get_mut(registry.entity[o.supplier as usize]).expect("supplier entity");
        let days = if l.jitter_days > 0 {
            let span = 2 * l.jitter_days + 1;
            let draw = ((uniform(&mut st.shipping) * f64::from(span)) as u32).min(span - 1);
            l.days + draw - l.jitter_days
        } else {
            l.days
        };
        let transit_ticks = days.div_ceil(td).max(1);
        let mut hold_ticks = 0;
        let inspection = if exporter != importer && o.licence == NO_LICENCE {
            policy
                .regime_for(exporter, o.commodity)
                .and_then(|r| policy.regimes[r].inspection.as_ref())
        } else {
            None
        };
        if let Some((share, hold)) = inspection
            && uniform(&mut st.customs) < *share
        {
            let days = hold.quantile(uniform(&mut st.customs)).round().max(1.0) as u32;
            hold_ticks = days.div_ceil(td).max(1);
        }
        let mut inputs = buyers.get_mut(registry.entity[o.buyer as usize]).expect("buyer entity");
        inputs.slots[o.slot as usize].in_transit += o.filled;
        let s = Shipment {
            buyer: o.buyer,
            slot: o.slot,
            commodity: o.commodity,
            exporter,
            quantity: o.filled,
            due_tick: 0,
            held: false,
            transit_ticks,
        };
        if hold_ticks > 0 {
            queue.push(
                tick,
                Shipment {
                    due_tick: tick + hold_ticks,
                    held: true,
                    ..s
                },
            );
        } else {
            queue.push(
                tick,
                Shipment {
                    due_tick: tick + transit_ticks,
                    ..s
                },
            );
            if exporter != importer {
                let price = prices.price(registry.nation_region[importer as usize], o.commodity);
                trade.book_export(
                    exporter,
                    importer,
                    o.commodity,
                    o.filled,
                    price,
                    policy.tariff(importer, exporter, o.commodity),
                );
            }
        }
    }
}
