//! Chokepoint: an agent-based model of trade wars over critical minerals.
//!
//! A model file ([`model`]) becomes a supply network ([`network`]) and a bevy_ecs world
//! ([`sim`]) of firms ([`firm`]) that produce ([`production`]), buy ([`procurement`]), sell and
//! price ([`markets`]), and ship ([`shipping`]) day by day; each tick is recorded
//! ([`observe`]) and written as Arrow tables ([`output`]) by a run ([`run`]).

pub mod calendar;
pub mod compare;
pub mod ensemble;
pub mod firm;
pub mod folders;
pub mod invariants;
pub mod licensing;
pub mod markets;
pub mod model;
pub mod network;
pub mod observe;
pub mod output;
pub mod plot;
pub mod policy;
pub mod procurement;
pub mod production;
pub mod rng;
pub mod run;
pub mod run_folder;
pub mod shipping;
pub mod sim;
pub mod summary;
pub mod sweep;
