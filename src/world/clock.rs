//! The run's calendar: which tick it is and what date that is.

use crate::model::calendar::Date;
use bevy_ecs::prelude::*;

/// The simulated calendar. Systems never read the wall clock: every date is the start date
/// plus whole ticks.
#[derive(Resource, Debug, Clone, Copy)]
pub struct Clock {
    /// Current tick, from 0.
    pub tick: u32,
    /// First day of tick 0.
    pub start: Date,
    /// Days per tick.
    pub tick_days: u32,
    /// Number of ticks in the run.
    pub ticks: u32,
}

impl Clock {
    /// First day of the current tick.
    pub fn date(&self) -> Date {
        let days = u64::from(self.tick) * u64::from(self.tick_days);
        self.start.plus_days(i32::try_from(days).unwrap_or(i32::MAX))
    }
}
