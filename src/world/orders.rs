//! Orders: every firm's supplier links, and this tick's order book (the data; orders are placed
//! in `tick/procurement.rs`, filled in `tick/markets.rs`, turned into licence applications in
//! `tick/licensing.rs` and shipped in `tick/shipping.rs`).

use crate::world::network::Link;
use bevy_ecs::prelude::*;
use bevy_utils::Parallel;

/// Every firm's supplier links, in one flat list; a firm's input slot holds its range.
#[derive(Resource, Debug, Default)]
pub struct SupplyLinks {
    pub links: Vec<Link>,
    /// Whose input each link supplies (shipments on the link carry only its index).
    pub owner: Vec<LinkOwner>,
    /// The approval share the buyer has learned for each link, in
    /// [`min_expected_approval`, 1]: 1 until a licence on the link is decided, then moved a
    /// step towards each decision's outcome (`buying.approval_learning`). It discounts what
    /// awaits a decision in the buyer's supply line and inflates what the buyer applies for.
    ///
    /// [`min_expected_approval`]: crate::model::Buying::min_expected_approval
    pub approval: Vec<f64>,
    /// Units on each link applied for under licence (filed or batched for filing) and not yet
    /// decided: the part of the buyer's orders on licence that may still be refused.
    pub pending: Vec<f64>,
    /// The buyer's trust that each link delivers what is asked of it: its fill rate (units
    /// filled ÷ units ordered, licensed standing orders included), exponentially smoothed over
    /// `buying.fill_memory_days`; 1 until the supplier fails to fill.
    pub fill: Vec<f64>,
    /// Units per tick the buyer's orders on each link have reached its supplier, smoothed as
    /// suppliers smooth their orders (`planning.demand_smoothing_days`): the buyer's claim on
    /// the supplier when it cannot serve everyone.
    pub expected: Vec<f64>,
    /// Each link's part of its supplier's spare deliverable: its share of the supplier's sales
    /// at the start (equal parts for a supplier that sold nothing), so that the buyers of a
    /// supplier with room claim that room once between them, not once each.
    pub spare_share: Vec<f64>,
    /// Each link's purchase history: its deliveries (units filled by the supplier) per tick,
    /// exponentially smoothed over `selling.history_days`, starting at the link's steady
    /// flow. A `TurnAndEarn` supplier weighs its buyers by it. Kept up to date only when
    /// some firm sells by `TurnAndEarn` (`track_history`).
    pub history: Vec<f64>,
    pub track_history: bool,
    /// Whether each link is a supplier the buyer orders from, a candidate for supplier search
    /// (share 0: no orders), or a candidate being qualified.
    pub status: Vec<LinkStatus>,
    /// Capacity of each link's supplier at the start, units per day: a supplier qualified by
    /// search enters with its share by capacity among the buyer's suppliers.
    pub capacity: Vec<f64>,
    /// Units ordered and filled on each link in the last tick (tallies, reset each tick).
    pub ordered: Vec<f64>,
    pub filled: Vec<f64>,
}

/// Where a link stands in its buyer's supplier search.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkStatus {
    /// A supplier the buyer orders from (its share may still be 0 only if it is a candidate).
    Active,
    /// A producer the buyer could qualify; share 0.
    Candidate,
    /// Being qualified; it becomes `Active` at the start of tick `ready_tick`. Share 0 until then.
    Qualifying { ready_tick: u32 },
}

/// What each supplier can deliver, published to its buyers each tick before they order (by
/// firm index; Acclimate's sellers publish their possible production in the same way): its
/// finished stock after the day's production plus what it can make the next day from its
/// capacity and input stocks, units.
#[derive(Resource, Debug, Default)]
pub struct SupplierBoard {
    pub deliverable: Vec<f64>,
    /// What its buyers' orders have been, smoothed (its expected sales), units per tick: the
    /// claims on its deliverable.
    pub claims: Vec<f64>,
}

/// The buyer, input slot and commodity of a link, and the nations its goods leave and enter
/// (the supplier's and the buyer's), so that shipping reads one record per shipment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LinkOwner {
    pub buyer: u32,
    pub slot: u16,
    pub commodity: u16,
    pub exporter: u16,
    pub importer: u16,
}

/// `Order::licence` of an order not placed under a licence.
pub const NO_LICENCE: u32 = u32::MAX;

/// An order placed this tick. Orders live for one tick: what a supplier cannot fill is
/// cancelled, and the buyer orders again next tick from its lower stock position.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Order {
    pub supplier: u32,
    pub buyer: u32,
    /// Index of the input slot in the buyer's recipe.
    pub slot: u16,
    pub commodity: u16,
    /// Units ordered.
    pub quantity: f64,
    /// Units the supplier filled.
    pub filled: f64,
    /// Index of the link (for its lead time).
    pub link: u32,
    /// Index of the live licence this order ships under, or [`NO_LICENCE`].
    pub licence: u32,
}

/// This tick's orders; the vector is reused every tick, so ordering allocates nothing once
/// it has grown to its working size.
#[derive(Resource, Default)]
pub struct OrderBook {
    pub orders: Vec<Order>,
    /// Each worker thread's orders and scratch while buyers order in parallel; reused every
    /// tick, so ordering allocates nothing once grown.
    pub local: Parallel<BuyerScratch>,
    /// Scratch for [`OrderBook::sort_by_supplier`], reused likewise.
    sorted: Vec<Order>,
    counts: Vec<u32>,
}

/// One worker thread's share of procurement: the orders its buyers placed, in the order they
/// placed them, and the scratch for splitting one input's order across its links: (link,
/// weight, cap, units).
#[derive(Debug, Default)]
pub struct BuyerScratch {
    pub orders: Vec<Order>,
    pub split: Vec<(u32, f64, f64, f64)>,
}

impl std::fmt::Debug for OrderBook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrderBook").field("orders", &self.orders).finish_non_exhaustive()
    }
}

impl OrderBook {
    /// Moves every worker's orders into `orders` (in no particular order: sort them after).
    pub fn gather(&mut self) {
        for local in self.local.iter_mut() {
            self.orders.append(&mut local.orders);
        }
    }

    /// Sorts the orders by (supplier, buyer), each buyer's orders to one supplier staying in
    /// the order it placed them: two stable counting passes (by buyer, then by supplier) over
    /// firm indices below `firms`, so the cost grows with orders + firms, not orders × log
    /// orders. Where no buyer places two orders with one supplier (as procurement orders: one
    /// per link, and a supplier makes one good) this is the order of (supplier, buyer, slot).
    pub fn sort_by_supplier(&mut self, firms: usize) {
        if self.orders.is_empty() {
            return;
        }
        for by_supplier in [false, true] {
            let key = |o: &Order| (if by_supplier { o.supplier } else { o.buyer }) as usize;
            self.counts.clear();
            self.counts.resize(firms + 1, 0);
            for o in &self.orders {
                self.counts[key(o) + 1] += 1;
            }
            for i in 0..firms {
                self.counts[i + 1] += self.counts[i];
            }
            self.sorted.clear();
            self.sorted.resize(self.orders.len(), self.orders[0]);
            for o in &self.orders {
                let at = &mut self.counts[key(o)];
                self.sorted[*at as usize] = *o;
                *at += 1;
            }
            std::mem::swap(&mut self.orders, &mut self.sorted);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{NO_LICENCE, Order, OrderBook};

    #[test]
    fn counting_sort_gives_the_order_of_supplier_buyer_and_slot() {
        // Orders as procurement places them: buyers in any order, each buyer's slots in
        // order, one order per (buyer, supplier).
        let mut book = OrderBook::default();
        let mut expected = Vec::new();
        let mut x = 12345u64;
        for buyer in [7u32, 2, 9, 0, 5, 3] {
            for slot in 0..3u16 {
                for _ in 0..2 {
                    x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    let supplier = 10 + u32::from(slot) * 10 + (x >> 60) as u32 % 10;
                    if book.orders.iter().any(|o: &Order| o.buyer == buyer && o.supplier == supplier) {
                        continue;
                    }
                    let o = Order {
                        supplier,
                        buyer,
                        slot,
                        commodity: slot,
                        quantity: (x >> 40) as f64,
                        filled: 0.0,
                        link: 0,
                        licence: NO_LICENCE,
                    };
                    book.orders.push(o);
                    expected.push(o);
                }
            }
        }
        expected.sort_unstable_by_key(|o| (o.supplier, o.buyer, o.slot, o.licence));
        book.sort_by_supplier(40);
        assert_eq!(book.orders, expected);
        // Sorting again changes nothing, and an empty book is left alone.
        book.sort_by_supplier(40);
        assert_eq!(book.orders, expected);
        let mut empty = OrderBook::default();
        empty.sort_by_supplier(40);
        assert!(empty.orders.is_empty());
    }
}
