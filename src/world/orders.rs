//! Orders: every firm's supplier links, and this tick's order book (the data; orders are placed
//! in `tick/procurement.rs`, filled in `tick/markets.rs`, turned into licence applications in
//! `tick/licensing.rs` and shipped in `tick/shipping.rs`).

use crate::world::network::Link;
use bevy_ecs::prelude::*;

/// Every firm's supplier links, in one flat list; a firm's input slot holds its range.
#[derive(Resource, Debug, Default)]
pub struct SupplyLinks {
    pub links: Vec<Link>,
    /// How much the buyer trusts each link to deliver, in [reliability_floor, 1]: denied
    /// licences lower it, approvals restore it. It scales the link's share of orders.
    pub reliability: Vec<f64>,
    /// Each link's purchase history: its deliveries (units filled by the supplier) per tick,
    /// exponentially smoothed over `selling.history_days`, starting at the link's steady
    /// flow. A `TurnAndEarn` supplier weighs its buyers by it. Kept up to date only when
    /// some firm sells by `TurnAndEarn` (`track_history`).
    pub history: Vec<f64>,
    pub track_history: bool,
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
