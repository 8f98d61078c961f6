//! Fixed facts about every firm by dense index, for systems that handle other firms' orders.

use crate::model::Allocation;
use bevy_ecs::prelude::*;

/// Fixed facts about each firm by dense index (its position in the model file).
#[derive(Resource, Debug, Clone)]
pub struct Registry {
    /// The firm's entity.
    pub entity: Vec<Entity>,
    /// Index of its nation.
    pub nation: Vec<u16>,
    /// Index of its role.
    pub role: Vec<u16>,
    /// Index of the commodity it makes.
    pub output: Vec<u16>,
    /// Price region of each nation (by nation index).
    pub nation_region: Vec<u16>,
    /// Share of each firm's licence applications declared for defence.
    pub defence_share: Vec<f64>,
    /// How each firm shares its output among buyers when short (its own rule or the model's).
    pub allocation: Vec<Allocation>,
    /// Where each firm's input slots start in a list of every firm's slots, in firm order
    /// (one more entry than firms: the last is the number of slots).
    pub slot_from: Vec<u32>,
}
