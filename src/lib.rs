//! Chokepoint: an agent-based model of trade wars over critical minerals.
//!
//! The layers, from the bottom:
//! - [`model`] — the model file: schema, loading, checks, scenarios, `--set`, dates;
//! - [`world`] — the state of a run (components and resources: the data) and how it is built
//!   from a model;
//! - [`tick`] — one file per economic process (policy, production, procurement, licensing,
//!   markets, shipping, observation) and the schedule of a day;
//! - [`output`] — table schemas, the Arrow writer, run and sweep folders, reading a run back:
//!   the only layer that writes files;
//! - [`analysis`] — compare, ensemble statistics, plots, the `validate` summary;
//! - [`run`] and [`sweep`] — one run, many runs;
//! - [`alloc`] — the allocator the binary and the benchmarks install (large arrays on huge
//!   pages).

pub mod alloc;
pub mod analysis;
pub mod model;
pub mod output;
pub mod run;
pub mod sweep;
pub mod tick;
pub mod world;
