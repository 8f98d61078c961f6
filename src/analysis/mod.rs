//! What users ask of finished runs: the indicators of `compare`, statistics over a sweep's
//! runs, plots, and the one-screen summary of `validate`.

pub mod compare;
pub mod compare_table;
pub mod downstream;
pub mod ensemble;
pub mod plot;
pub mod summary;
