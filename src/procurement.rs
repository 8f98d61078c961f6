//! Procurement (tick step 3): order-up-to buying, split across suppliers.

use crate::firm::{FirmIndex, Inputs, Plant, Production};
use crate::network::Link;
use crate::policy::PolicyState;
use crate::sim::{Clock, Params, Registry};
use bevy_ecs::prelude::*;

/// Every firm's supplier links, in one flat list; a firm's input slot holds its range.
#[derive(Resource, Debug, Default)]
pub struct SupplyLinks {
    pub links: Vec<Link>,
    /// How much the buyer trusts each link to deliver, in [reliability_floor, 1]: denied
    /// licences lower it, approvals restore it. It scales the link's share of orders.
    pub reliability: Vec<f64>,
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
#[derive(Resource, Debug, Default)]
pub struct OrderBook {
    pub orders: Vec<Order>,
}

/// Each firm orders, for each input, its expected use plus a share of the gap between its
/// target position and its position (the stock-and-supply-line rule of Sterman's *Business
/// Dynamics*, ch. 17). The target position is expected use over its cover days, the mean
/// transit time and the licence wait it has learned to expect; the position is stock on hand,
/// goods in transit and quantities applied for under licence. The share closed per tick is
/// `tick_days / planning.stock_adjust_days`; closing only part of the gap each tick keeps small
/// swings in final demand from growing into large swings upstream (the bullwhip effect of full
/// order-up-to buying). Orders are split across suppliers in proportion to
/// share × reliability × (1 + tariff)^(−tariff_sensitivity), so buyers turn away from suppliers
/// whose licences are refused, and from tariffed origins, towards those that deliver.
pub fn place_orders(
    firms: Query<(&FirmIndex, &Plant, &Inputs, &Production)>,
    links: Res<SupplyLinks>,
    registry: Res<Registry>,
    policy: Res<PolicyState>,
    clock: Res<Clock>,
    params: Res<Params>,
    mut book: ResMut<OrderBook>,
) {
    book.orders.clear();
    let tick_days = f64::from(clock.tick_days);
    let adjust = (tick_days / params.planning.stock_adjust_days).min(1.0);
    let sensitivity = params.buying.tariff_sensitivity;
    let weight = |li: u32, importer: u16, commodity: u16| {
        let l = &links.links[li as usize];
        let exporter = registry.nation[l.supplier as usize];
        let tariff = if exporter == importer {
            0.0
        } else {
            policy.tariff(importer, exporter, commodity)
        };
        let landed: f64 = if tariff > 0.0 && sensitivity > 0.0 {
            (1.0f64 + tariff).powf(-sensitivity)
        } else {
            1.0
        };
        l.share * links.reliability[li as usize] * landed
    };
    for (idx, plant, inputs, prod) in &firms {
        let cover_ticks = inputs.cover_days / tick_days;
        for (k, s) in inputs.slots.iter().enumerate() {
            let use_per_tick = prod.expected_output * s.per_unit;
            let target = use_per_tick * (cover_ticks + s.mean_lead_ticks + s.licence_wait_days / tick_days);
            let gap = use_per_tick + adjust * (target - s.stock - s.in_transit - s.on_order);
            if gap <= 0.0 {
                continue;
            }
            let (from, len) = s.links;
            let total: f64 = (from..from + len).map(|li| weight(li, plant.nation, s.commodity)).sum();
            if total <= 0.0 {
                continue;
            }
            for li in from..from + len {
                let w = weight(li, plant.nation, s.commodity);
                if w <= 0.0 {
                    continue;
                }
                book.orders.push(Order {
                    supplier: links.links[li as usize].supplier,
                    buyer: idx.0,
                    slot: k as u16,
                    commodity: s.commodity,
                    quantity: gap * w / total,
                    filled: 0.0,
                    link: li,
                    licence: NO_LICENCE,
                });
            }
        }
    }
    // A fixed order, whatever the order in which the ECS visited the firms.
    book.orders.sort_unstable_by_key(|o| (o.supplier, o.buyer, o.slot, o.licence));
}
