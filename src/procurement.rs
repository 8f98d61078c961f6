//! Procurement (tick step 3): order-up-to buying, split across suppliers.

use crate::firm::{FirmIndex, Inputs, Production};
use crate::network::Link;
use crate::sim::{Clock, Params};
use bevy_ecs::prelude::*;

/// Every firm's supplier links, in one flat list; a firm's input slot holds its range.
#[derive(Resource, Debug, Default)]
pub struct SupplyLinks {
    pub links: Vec<Link>,
}

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
}

/// This tick's orders; the vector is reused every tick, so ordering allocates nothing once
/// it has grown to its working size.
#[derive(Resource, Debug, Default)]
pub struct OrderBook {
    pub orders: Vec<Order>,
}

/// Each firm orders, for each input, its expected use plus a share of the gap between its
/// target position and its position (the stock-and-supply-line rule of Sterman's *Business
/// Dynamics*, ch. 17). The target position is expected use over its cover days plus the mean
/// transit time; the position is stock on hand plus goods in transit; the share closed per
/// tick is `tick_days / planning.stock_adjust_days`. Orders are split across suppliers by
/// their shares. Closing only part of the gap each tick keeps small swings in final demand
/// from growing into large swings upstream (the bullwhip effect of full order-up-to buying).
pub fn place_orders(
    firms: Query<(&FirmIndex, &Inputs, &Production)>,
    links: Res<SupplyLinks>,
    clock: Res<Clock>,
    params: Res<Params>,
    mut book: ResMut<OrderBook>,
) {
    book.orders.clear();
    let tick_days = f64::from(clock.tick_days);
    let adjust = (tick_days / params.planning.stock_adjust_days).min(1.0);
    for (idx, inputs, prod) in &firms {
        let cover_ticks = inputs.cover_days / tick_days;
        for (k, s) in inputs.slots.iter().enumerate() {
            let use_per_tick = prod.expected_output * s.per_unit;
            let target = use_per_tick * (cover_ticks + s.mean_lead_ticks);
            let gap = use_per_tick + adjust * (target - s.stock - s.in_transit);
            if gap <= 0.0 {
                continue;
            }
            let (from, len) = s.links;
            for li in from..from + len {
                let l = &links.links[li as usize];
                book.orders.push(Order {
                    supplier: l.supplier,
                    buyer: idx.0,
                    slot: k as u16,
                    commodity: s.commodity,
                    quantity: gap * l.share,
                    filled: 0.0,
                    link: li,
                });
            }
        }
    }
    // A fixed order, whatever the order in which the ECS visited the firms.
    book.orders.sort_unstable_by_key(|o| (o.supplier, o.buyer, o.slot));
}
