//! Procurement (tick step 3): stock-and-supply-line buying, split across suppliers.

use crate::model::Buying;
use crate::model::policy::PRECAUTION_PRICE_FROM;
use crate::world::clock::Clock;
use crate::world::firm::{FirmIndex, Inputs, Plant, Production};
use crate::world::orders::{NO_LICENCE, Order, OrderBook, SupplyLinks};
use crate::world::params::Params;
use crate::world::policy::PolicyState;
use crate::world::prices::PriceBook;
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
/// and from tariffed origins, towards those that deliver. The cover days are multiplied by the
/// input's precaution h, which first moves towards 1 + `buying.precaution_cover` × the
/// scarcity the buyer perceives ([`scarcity`]): up over `precaution_up_days`, down over
/// `precaution_relax_days`.
#[allow(clippy::too_many_arguments)]
pub fn place_orders(
    mut firms: Query<(&FirmIndex, &Plant, &mut Inputs, &Production)>,
    links: Res<SupplyLinks>,
    registry: Res<Registry>,
    policy: Res<PolicyState>,
    prices: Res<PriceBook>,
    clock: Res<Clock>,
    params: Res<Params>,
    mut book: ResMut<OrderBook>,
) {
    book.orders.clear();
    let tick_days = f64::from(clock.tick_days);
    let adjust = (tick_days / params.planning.stock_adjust_days).min(1.0);
    let sensitivity = params.buying.tariff_sensitivity;
    let (tick, td) = (clock.tick, clock.tick_days);
    // Expected share of an order on link `li` that is not refused a licence: 1 − x + x × â
    // for the share x that needs one.
    let delivered = |li: u32, importer: u16, commodity: u16| {
        let exporter = registry.nation[links.links[li as usize].supplier as usize];
        let (_, licensed) = policy.licensed_share(exporter, importer, commodity, tick, td);
        if licensed > 0.0 {
            1.0 - licensed + licensed * links.approval[li as usize]
        } else {
            1.0
        }
    };
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
        l.share * delivered(li, importer, commodity) * landed
    };
    let buying = &params.buying;
    let (up, relax) = (
        (tick_days / buying.precaution_up_days).min(1.0),
        (tick_days / buying.precaution_relax_days).min(1.0),
    );
    for (idx, plant, mut inputs, prod) in &mut firms {
        let cover_ticks = inputs.cover_days / tick_days;
        for (k, s) in inputs.slots.iter_mut().enumerate() {
            let (from, len) = s.links;
            // Precaution: the scarcity the buyer perceives sets how far its cover rises.
            let expected: f64 = (from..from + len)
                .map(|li| links.links[li as usize].share * delivered(li, plant.nation, s.commodity))
                .sum::<f64>()
                * s.fill;
            let seen_coming: f64 = (from..from + len)
                .map(|li| {
                    let exporter = registry.nation[links.links[li as usize].supplier as usize];
                    links.links[li as usize].share * policy.announced_share(exporter, plant.nation, s.commodity)
                })
                .sum();
            let price = prices.price(plant.region, s.commodity) / prices.reference[s.commodity as usize];
            let wanted = 1.0 + buying.precaution_cover * scarcity(buying, expected, price, seen_coming);
            let rate = if wanted > s.precaution { up } else { relax };
            s.precaution += rate * (wanted - s.precaution);
            let use_per_tick = prod.expected_output * s.per_unit;
            let target = use_per_tick * (cover_ticks * s.precaution + s.mean_lead_ticks + s.licence_wait_days / tick_days);
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

/// The scarcity a buyer perceives in an input, 0 to 1 (Sterman & Dogan 2015: buyers stock up
/// when deliveries falter and when they see shortage coming), the largest of three signals:
/// - delivery: `expected` is the share of its orders it expects delivered (smoothed fill rate
///   × the share not refused a licence); below `precaution_fill_below` f, (f − expected) / f;
/// - price: the input's price in its region, `price` × reference, read from 1.1 × reference
///   up to full at `precaution_price_full` (unless that is 0);
/// - announcement: `seen_coming`, the share of its supply an announced control will bring
///   under licence.
///
/// A control merely in force is none of these: until refusals come, a buyer under licence
/// expects its orders delivered and does not stock up.
pub fn scarcity(buying: &Buying, expected: f64, price: f64, seen_coming: f64) -> f64 {
    let ok = buying.precaution_fill_below;
    let delivery = ((ok - expected) / ok).clamp(0.0, 1.0);
    let full = buying.precaution_price_full;
    let price = if full > 0.0 {
        ((price - PRECAUTION_PRICE_FROM) / (full - PRECAUTION_PRICE_FROM)).clamp(0.0, 1.0)
    } else {
        0.0
    };
    delivery.max(price).max(seen_coming.clamp(0.0, 1.0))
}
