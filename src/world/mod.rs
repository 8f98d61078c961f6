//! The state of a run and how it is built: the firms' components, the resources every process
//! reads and writes (clock, parameters, registry, orders, prices, policy, licences, shipments,
//! demand, recorded rows, invariants), the supply network, random streams, and building it all
//! from a model. This is data; the behaviour that changes it is in `crate::tick`.
//!
//! Nothing here imports `tick`, `output` or `analysis`.

pub mod build;
pub mod chunks;
pub mod clock;
pub mod demand;
pub mod disjoint;
pub mod firm;
pub mod invariants;
pub mod licences;
pub mod network;
pub mod orders;
pub mod params;
pub mod policy;
pub mod prefetch;
pub mod prices;
pub mod records;
pub mod registry;
pub mod rng;
pub mod shipments;
pub mod synthetic;
pub mod trade_index;
pub mod workers;
