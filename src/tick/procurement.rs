//! Procurement (tick step 3): stock-and-supply-line buying, split across suppliers.

use crate::world::clock::Clock;
use crate::world::firm::{FirmIndex, Inputs, Plant, Production};
use crate::world::orders::{NO_LICENCE, Order, OrderBook, SupplyLinks};
use crate::world::params::Params;
use crate::world::policy::PolicyState;
use crate::world::registry::Registry;
use bevy_ecs::prelude::*;

/// Each firm orders, for each input, its expected use plus a share of the gap between its
/// target position and its position (the stock-and-supply-line rule of Sterman's *Business
/// Dynamics*, ch. 17). The target position is expected use over its cover days, the mean
/// transit time and the licence wait it has learned to expect; the position is stock on hand,
/// goods in transit, quantities licensed and not yet shipped, and quantities awaiting a licence
/// decision counted at the approval share the buyer has learned for their line (a supply line
/// discounted by its expected yield, ch. 18: what may be refused is not counted as coming).
/// The share closed per tick is `tick_days / planning.stock_adjust_days`; closing only part of
/// the gap each tick keeps small swings in final demand from growing into large swings
/// upstream (the bullwhip effect of full order-up-to buying). Orders are split across
/// suppliers in proportion to share × expected delivered share × (1 + tariff)^(−tariff_sensitivity),
/// where the expected delivered share of a line is 1 − x + x × learned approval for the share
/// x of an order that needs a licence: buyers turn away from lines whose licences are refused,
/// and from tariffed origins, towards those that deliver.
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
    let (tick, td) = (clock.tick, clock.tick_days);
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
        let (_, licensed) = policy.licensed_share(exporter, importer, commodity, tick, td);
        let delivered = if licensed > 0.0 {
            1.0 - licensed + licensed * links.approval[li as usize]
        } else {
            1.0
        };
        l.share * delivered * landed
    };
    for (idx, plant, inputs, prod) in &firms {
        let cover_ticks = inputs.cover_days / tick_days;
        for (k, s) in inputs.slots.iter().enumerate() {
            let use_per_tick = prod.expected_output * s.per_unit;
            let target = use_per_tick * (cover_ticks + s.mean_lead_ticks + s.licence_wait_days / tick_days);
            let (from, len) = s.links;
            // What awaits a decision counts at the approval share learned for its line.
            let at_risk: f64 = (from..from + len)
                .map(|li| (1.0 - links.approval[li as usize]) * links.pending[li as usize])
                .sum();
            let gap = use_per_tick + adjust * (target - s.stock - s.in_transit - s.on_order + at_risk);
            if gap <= 0.0 {
                continue;
            }
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
