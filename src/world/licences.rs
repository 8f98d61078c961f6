//! Licensing state: every licence application of the run, those awaiting a decision, and the
//! live licences (the data; the decisions are made in `tick/licensing.rs`).

use crate::model::EndUse;
use bevy_ecs::prelude::*;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// What became of an application.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Pending,
    Approved,
    Denied,
}

impl Outcome {
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Pending => "pending",
            Outcome::Approved => "approved",
            Outcome::Denied => "denied",
        }
    }
}

/// One licence application (a row of `licenses.arrow`).
#[derive(Clone, Debug)]
pub struct Application {
    pub regime: u16,
    pub supplier: u32,
    pub buyer: u32,
    pub link: u32,
    pub slot: u16,
    pub commodity: u16,
    pub exporter: u16,
    pub importer: u16,
    /// Units applied for.
    pub quantity: f64,
    /// Units approved: the quantity, or the part the link's share of an annual quota had room
    /// for (0 if refused or pending).
    pub granted: f64,
    /// Units shipped under the licence so far.
    pub shipped: f64,
    pub end_use: EndUse,
    pub submitted_tick: u32,
    /// Working days of review drawn for it (0 when refused at once, to a banned destination).
    pub review_working_days: u32,
    pub decide_tick: u32,
    pub decided_tick: Option<u32>,
    pub outcome: Outcome,
}

/// A live licence: what may still ship under an approved application, until when.
#[derive(Clone, Debug)]
pub struct Licence {
    /// Index of its application in [`Licensing::applications`].
    pub app: u32,
    /// Units that may still ship.
    pub remaining: f64,
    pub expires_tick: u32,
}

/// Every application of the run, the queue of those awaiting decision, and live licences.
#[derive(Resource, Debug, Default)]
pub struct Licensing {
    pub applications: Vec<Application>,
    pub due: BinaryHeap<Reverse<(u32, u32)>>,
    pub licences: Vec<Licence>,
    /// Tick of each link's last application.
    pub last_applied: Vec<Option<u32>>,
    /// Controlled quantities a buyer has committed to on each link and not yet filed.
    pub batched: Vec<f64>,
    /// Under a quota, each export link's share of its regime's allowance of the link's
    /// commodity: its share of the regime's exports of that commodity (its buyer's smoothed
    /// orders on it) when the quota first decided an application (0 for other links).
    pub quota_share: Vec<f64>,
    /// Units granted on each link under a quota in the calendar year `quota_year[link]`.
    pub quota_used: Vec<f64>,
    pub quota_year: Vec<i32>,
    /// The (regime, commodity) quotas whose link shares are set.
    pub quota_shared: Vec<(u16, u16)>,
    /// How many links the per-link lists cover once allocated (see [`Licensing::per_link`]).
    links: usize,
    /// Scratch for buyers learning from the waits of applications not yet decided: the
    /// longest wait so far of each input slot (days, by `Registry::slot_from`; 0 for none),
    /// and the slots set this tick (buyer, slot). Allocated when first used.
    pub waited: Vec<f64>,
    pub waiting: Vec<(u32, u16)>,
}

impl Licensing {
    /// Licensing for a world of `links` supply links. The per-link lists stay empty until
    /// licensing first has work (see [`Licensing::per_link`]): a world in which no regime ever
    /// comes into force never pays for them (at 10^6 firms they are 380 MB).
    pub fn new(links: usize) -> Licensing {
        Licensing {
            links,
            ..Default::default()
        }
    }

    /// Allocates the per-link lists (nothing applied, nothing batched, no quota share) if they
    /// are not yet: licensing calls it before it first reads or writes them. Until then an
    /// empty `batched` means nothing is batched on any link.
    pub fn per_link(&mut self) {
        if self.batched.len() == self.links {
            return;
        }
        let n = self.links;
        self.last_applied = vec![None; n];
        self.batched = vec![0.0; n];
        self.quota_share = vec![0.0; n];
        self.quota_used = vec![0.0; n];
        self.quota_year = vec![i32::MIN; n];
    }
}
