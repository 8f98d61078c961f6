//! Policies in the model file: export-control regimes, tariffs, scheduled events and
//! reactive rules. Nations hold them (each names its `nation`).

use crate::model::calendar::Date;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// All policies of a model.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct Policies {
    #[serde(default)]
    pub controls: Vec<ExportControl>,
    #[serde(default)]
    pub tariffs: Vec<Tariff>,
    #[serde(default)]
    pub events: Vec<Event>,
    #[serde(default)]
    pub rules: Vec<Rule>,
}

/// An export-control regime: cross-border sales of listed commodities out of `nation` need a
/// licence. Domestic sales are unaffected.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ExportControl {
    pub id: String,
    /// Controlling nation.
    pub nation: String,
    /// In force at the start date (otherwise an event activates it).
    #[serde(default)]
    pub active: bool,
    /// Controlled commodity -> share of its cross-border sales that needs a licence
    /// (1.0 = all; less when only some grades are listed, e.g. magnets containing Dy/Tb), 0 to 1.
    pub commodities: BTreeMap<String, f64>,
    /// Days from activation over which enforcement grows linearly to full (0 = at once), at
    /// most 3,650.
    #[serde(default)]
    pub phase_in_days: u32,
    /// Review time of an application, in working days (weekends skipped); at most 3,650.
    pub review_working_days: Dist,
    pub approval: Approval,
    /// Days an approved licence stays valid for shipping its quantity, 1 to 3,650.
    pub validity_days: u32,
    /// Commodity -> most that may be approved per calendar year, in its unit (0 to 1e15).
    #[serde(default)]
    pub annual_quota: BTreeMap<String, f64>,
    /// How the annual quotas are released through the year (default `Monthly`).
    #[serde(default)]
    pub quota_release: QuotaRelease,
    /// Destinations to which every application is denied at once.
    #[serde(default)]
    pub banned: Vec<String>,
    /// Destinations covered by a general licence: approved at once.
    #[serde(default)]
    pub general_licences: Vec<String>,
    /// Customs friction on the uncontrolled share of listed commodities.
    #[serde(default)]
    pub inspection: Option<Inspection>,
}

/// How an annual quota is released through the calendar year. What has been released and not
/// yet approved carries over to later releases of the same year; nothing carries into the next
/// year (approvals restart from zero on 1 January).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Default)]
pub enum QuotaRelease {
    /// The whole quota from 1 January (or from the start of the run), first come first served.
    Annual,
    /// One twelfth of the quota on the first day of each month.
    #[default]
    Monthly,
    /// Given shares of the quota released on given days of the year, in date order; the
    /// shares sum to 1.
    Batches(Vec<Batch>),
}

/// One release of a batched quota.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Batch {
    /// Month of the release, 1 to 12.
    pub month: u32,
    /// Day of the month of the release, 1 to the month's length (29 for February); default 1.
    #[serde(default = "first_day")]
    pub day: u32,
    /// Share of the annual quota released, > 0 and at most 1.
    pub share: f64,
}

fn first_day() -> u32 {
    1
}

impl QuotaRelease {
    /// Share of the annual quota released by month `month` (1–12), day `day` of a year,
    /// counting releases on that day.
    pub fn released(&self, month: u32, day: u32) -> f64 {
        match self {
            QuotaRelease::Annual => 1.0,
            QuotaRelease::Monthly => f64::from(month) / 12.0,
            QuotaRelease::Batches(batches) => batches.iter().filter(|b| (b.month, b.day) <= (month, day)).map(|b| b.share).sum(),
        }
    }

    /// Share of the quota of `start`'s year released before `start`, which a run starting
    /// then counts as already used (its earlier allowances were spent before the run): 0 for a
    /// run starting on 1 January, and for `Annual`, whose run has the whole quota of its first
    /// year.
    pub fn released_before(&self, start: Date) -> f64 {
        let (y, m, d) = start.plus_days(-1).ymd();
        if y != start.ymd().0 || *self == QuotaRelease::Annual {
            return 0.0;
        }
        self.released(m, d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotas_release_their_shares_on_their_dates() {
        let batches = QuotaRelease::Batches(vec![
            Batch {
                month: 1,
                day: 1,
                share: 0.25,
            },
            Batch {
                month: 7,
                day: 15,
                share: 0.75,
            },
        ]);
        assert_eq!(batches.released(1, 1), 0.25);
        assert_eq!(batches.released(7, 14), 0.25);
        assert_eq!(batches.released(7, 15), 1.0);
        assert_eq!(QuotaRelease::Monthly.released(1, 31), 1.0 / 12.0);
        assert_eq!(QuotaRelease::Monthly.released(12, 1), 1.0);
        assert_eq!(QuotaRelease::Annual.released(1, 1), 1.0);
        // A run from 2025-07-15 has used the January batch and the first six months, not the
        // July batch released on its first day; a run from 1 January has used nothing.
        let d = |s: &str| Date::parse(s).unwrap();
        assert_eq!(batches.released_before(d("2025-07-15")), 0.25);
        assert_eq!(QuotaRelease::Monthly.released_before(d("2025-07-15")), 7.0 / 12.0);
        assert_eq!(QuotaRelease::Monthly.released_before(d("2025-07-01")), 6.0 / 12.0);
        assert_eq!(QuotaRelease::Monthly.released_before(d("2025-01-01")), 0.0);
        assert_eq!(QuotaRelease::Annual.released_before(d("2025-07-15")), 0.0);
    }
}

/// Probability that an application is approved, by declared end use and destination.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Approval {
    pub civil: f64,
    #[serde(default)]
    pub civil_by_destination: BTreeMap<String, f64>,
    pub defence: f64,
    #[serde(default)]
    pub defence_by_destination: BTreeMap<String, f64>,
}

/// Customs inspections: a share of shipments is held before it leaves.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Inspection {
    /// Share of (uncontrolled) shipments held, 0 to 1.
    pub share: f64,
    /// Calendar days a held shipment waits (at most 3,650).
    pub hold_days: Dist,
}

/// A distribution of a duration in days: finite, `0 <= min <= mode <= max <= 3650`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub enum Dist {
    Fixed(f64),
    Uniform { min: f64, max: f64 },
    Triangular { min: f64, mode: f64, max: f64 },
}

impl Dist {
    /// Mean of the distribution.
    pub fn mean(&self) -> f64 {
        match *self {
            Dist::Fixed(x) => x,
            Dist::Uniform { min, max } => (min + max) / 2.0,
            Dist::Triangular { min, mode, max } => (min + mode + max) / 3.0,
        }
    }

    /// The value at cumulative probability `u` in [0, 1).
    pub fn quantile(&self, u: f64) -> f64 {
        match *self {
            Dist::Fixed(x) => x,
            Dist::Uniform { min, max } => min + u * (max - min),
            Dist::Triangular { min, mode, max } => {
                if max <= min {
                    return min;
                }
                let f = (mode - min) / (max - min);
                if u < f {
                    min + (u * (max - min) * (mode - min)).sqrt()
                } else {
                    max - ((1.0 - u) * (max - min) * (max - mode)).sqrt()
                }
            }
        }
    }

    /// Whether the parameters make sense (non-negative, ordered).
    pub fn is_valid(&self) -> bool {
        match *self {
            Dist::Fixed(x) => x.is_finite() && x >= 0.0,
            Dist::Uniform { min, max } => min.is_finite() && max.is_finite() && 0.0 <= min && min <= max,
            Dist::Triangular { min, mode, max } => {
                [min, mode, max].iter().all(|v| v.is_finite()) && 0.0 <= min && min <= mode && mode <= max
            }
        }
    }
}

/// An ad valorem import tariff.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Tariff {
    pub importer: String,
    pub origin: String,
    pub commodity: String,
    /// Share of the import value (0.25 = 25%), 0 to 100.
    pub rate: f64,
}

/// A change that takes effect on a date.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Event {
    pub date: String,
    /// Day the change was announced, `YYYY-MM-DD`, no later than `date` and no earlier than
    /// the calendar's start (absent: it comes unannounced). From this day until `date`,
    /// buyers of the goods it brings under licence, from the nation taking it, see it coming
    /// and raise their cover (see [`Buying::precaution_cover`]). Only tightenings that licensing
    /// acts on can be announced: `Activate`, `SetCoverage`, `Ban` and `SetQuota`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "some_date",
        serialize_with = "date_itself"
    )]
    pub announced: Option<String>,
    /// Nation taking the action.
    pub nation: String,
    pub action: Action,
    /// What happened in the world, with its source.
    #[serde(default)]
    pub note: String,
}

/// `announced: "2023-10-20"` reads as `Some("2023-10-20")`: a date is written as itself.
fn some_date<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    String::deserialize(d).map(Some)
}

/// Writes `Some("2023-10-20")` as `"2023-10-20"`, as [`some_date`] reads it (a `None` is
/// skipped before it gets here).
fn date_itself<S: serde::Serializer>(date: &Option<String>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(date.as_deref().unwrap_or_default())
}

/// A reaction: when `when` has held on `for_days` consecutive days, `then` is taken, and not
/// again within `cooldown_days`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub id: String,
    pub nation: String,
    pub when: Condition,
    pub for_days: u32,
    pub then: Action,
    pub cooldown_days: u32,
    #[serde(default)]
    pub note: String,
}

/// Declared end use of an application.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub enum EndUse {
    Civil,
    Defence,
}

/// What a nation can do.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub enum Action {
    Activate(String),
    Deactivate(String),
    SetApproval {
        control: String,
        end_use: EndUse,
        destination: Option<String>,
        probability: f64,
    },
    SetReview {
        control: String,
        working_days: Dist,
    },
    SetQuota {
        control: String,
        commodity: String,
        quantity: Option<f64>,
    },
    /// Share of a commodity's cross-border sales that needs a licence (0 lifts it).
    SetCoverage {
        control: String,
        commodity: String,
        share: f64,
    },
    Ban {
        control: String,
        destination: String,
    },
    Unban {
        control: String,
        destination: String,
    },
    GrantGeneral {
        control: String,
        destination: String,
    },
    RevokeGeneral {
        control: String,
        destination: String,
    },
    SetInspection {
        control: String,
        inspection: Option<Inspection>,
    },
    SetTariff {
        importer: String,
        origin: String,
        commodity: String,
        rate: f64,
    },
}

impl Action {
    /// The action's name as a model file writes it (`Activate`, `SetTariff`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            Action::Activate(_) => "Activate",
            Action::Deactivate(_) => "Deactivate",
            Action::SetApproval { .. } => "SetApproval",
            Action::SetReview { .. } => "SetReview",
            Action::SetQuota { .. } => "SetQuota",
            Action::SetCoverage { .. } => "SetCoverage",
            Action::Ban { .. } => "Ban",
            Action::Unban { .. } => "Unban",
            Action::GrantGeneral { .. } => "GrantGeneral",
            Action::RevokeGeneral { .. } => "RevokeGeneral",
            Action::SetInspection { .. } => "SetInspection",
            Action::SetTariff { .. } => "SetTariff",
        }
    }

    /// The export control the action changes, if it changes one.
    pub fn control(&self) -> Option<&str> {
        match self {
            Action::Activate(c) | Action::Deactivate(c) => Some(c),
            Action::SetApproval { control, .. }
            | Action::SetReview { control, .. }
            | Action::SetQuota { control, .. }
            | Action::SetCoverage { control, .. }
            | Action::Ban { control, .. }
            | Action::Unban { control, .. }
            | Action::GrantGeneral { control, .. }
            | Action::RevokeGeneral { control, .. }
            | Action::SetInspection { control, .. } => Some(control),
            Action::SetTariff { .. } => None,
        }
    }
}

/// A condition a nation observes (on the previous tick's state).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub enum Condition {
    /// Firms of `role` in `nation` lost more than `share` of planned output for lack of inputs.
    OutputLostAbove { nation: String, role: String, share: f64 },
    /// The tariff of `importer` on `commodity` from `origin` is at most `rate`.
    TariffAtMost {
        importer: String,
        origin: String,
        commodity: String,
        rate: f64,
    },
    /// The price of `commodity` in `region` exceeds `ratio` times its price in `over_region`.
    PriceRatioAbove {
        commodity: String,
        region: String,
        over_region: String,
        ratio: f64,
    },
    /// The rule `rule` has fired at an earlier tick and this rule has not yet answered that
    /// firing: chains a reaction to a reaction. Edge-triggered: the rule fires once per firing
    /// of `rule` (twice if `rule` fires twice), not on every tick after it.
    AfterRule { rule: String },
}

/// How buyers react to prices, tariffs and licensing.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Buying {
    /// Elasticity of a supplier's share to its landed-cost factor (1 + tariff), 0 to 100 (buyers
    /// pay their own region's price whoever sells, so the tariff is what sets suppliers apart).
    pub tariff_sensitivity: f64,
    /// How fast a buyer learns the approval share of a supply line under licence: each decision
    /// on the line moves the learned share this part of the way to its outcome (1 approved,
    /// 0 refused); above 0, at most 1. The learned share discounts the quantities awaiting a
    /// decision in the buyer's supply line, inflates what it applies for (need ÷ share) and
    /// weighs the line in the split of orders.
    pub approval_learning: f64,
    /// Lowest approval share a buyer expects of a line, above 0, at most 1: it applies for at
    /// most 1 / this times its need.
    pub min_expected_approval: f64,
    /// Mean age in days of the smoothing of observed licence waits, which buyers add to their
    /// cover; 1 to 3,650.
    pub licence_wait_memory_days: f64,
    /// A buyer files at most one application per supplier per this many days (1 to 3,650).
    pub application_interval_days: u32,
    /// Mean age in days of the smoothing of each link's fill rate (filled ÷ ordered), the
    /// buyer's trust that the link delivers; 1 to 3,650.
    #[serde(default = "default_fill_memory_days")]
    pub fill_memory_days: f64,
    /// The most a buyer asks of a supplier per tick, as a multiple of what the supplier can
    /// deliver to it: its share (by past orders) of the supplier's published deliverable when
    /// the supplier is oversubscribed, or its own orders plus its part of the spare (by its
    /// share of the supplier's sales at the start) otherwise. The rest
    /// goes to the buyer's other suppliers with room, and only when none has room is any
    /// supplier asked for more. 1 to 100.
    #[serde(default = "default_overask_limit")]
    pub overask_limit: f64,
    /// Phantom ordering (the "shortage game" of Lee, Padmanabhan & Whang 1997): at a supplier
    /// that rations in proportion to orders, a buyer whose orders on the link are filled at
    /// rate f < 1 inflates them by 1 + this × (1/f − 1) (f read no lower than 0.1), hoping
    /// for a larger share. 0 (the default) turns it off; 0 to 1. Suppliers that allocate by
    /// past purchases or home first are not gamed.
    #[serde(default)]
    pub phantom_ordering: f64,
    /// Precaution (Sterman & Dogan 2015): at full perceived scarcity a buyer's target cover is
    /// (1 + this) times its `target_cover_days`; in between it grows in proportion to the
    /// scarcity it perceives (0 to 1; see the other `precaution_*` fields). 0 to 10; 0 turns
    /// precaution off.
    #[serde(default = "default_precaution_cover")]
    pub precaution_cover: f64,
    /// The expected delivered share of an input (its smoothed fill rate × the share of its
    /// orders not expected to be refused a licence) below which a buyer perceives scarcity;
    /// scarcity from delivery is (this − expected share) / this. Above 0, at most 1.
    #[serde(default = "default_precaution_fill_below")]
    pub precaution_fill_below: f64,
    /// Price of an input, as a multiple of its reference, at which scarcity from price is full
    /// (it starts at 1.1 times the reference); above 1.1, at most 1,000,000, or 0 to leave
    /// prices out of precaution.
    #[serde(default)]
    pub precaution_price_full: f64,
    /// Days over which a buyer's precaution rises towards what its perceived scarcity calls
    /// for (a first-order adjustment), 1 to 3,650.
    #[serde(default = "default_precaution_up_days")]
    pub precaution_up_days: f64,
    /// Days over which it relaxes once scarcity eases, 1 to 3,650 (slower than it rises).
    #[serde(default = "default_precaution_relax_days")]
    pub precaution_relax_days: f64,
    /// Supplier search: when the expected delivered share of an input (Σ over its active links
    /// of share × fill rate × expected delivered share) falls below this, the buyer starts to
    /// qualify a new supplier of it (one at a time). 0 to 1; 0 (the default) turns search off.
    #[serde(default)]
    pub search_below: f64,
    /// Days a new supplier takes to qualify before it gets orders (automotive part approval
    /// takes months), 0 to 3,650.
    #[serde(default = "default_qualification_days")]
    pub qualification_days: f64,
    /// Candidate suppliers kept per input for the search (producers of the good not linked at
    /// the start, reachable by a route or at home), 0 to 64.
    #[serde(default = "default_search_candidates")]
    pub search_candidates: u32,
    /// Once a buyer has searched for an input, the shares of its suppliers follow where its
    /// orders went (smoothed) over this many days, 1 to 3,650.
    #[serde(default = "default_habit_days")]
    pub habit_days: f64,
    /// A supplier whose share falls below this is dropped (back to a candidate), unless it is
    /// the buyer's last one; 0 to 1.
    #[serde(default = "default_fade_below")]
    pub fade_below: f64,
}

fn default_qualification_days() -> f64 {
    180.0
}

fn default_search_candidates() -> u32 {
    4
}

fn default_habit_days() -> f64 {
    365.0
}

fn default_fade_below() -> f64 {
    0.02
}

/// The price, as a multiple of its reference, at which a buyer starts to read scarcity in an
/// input's price: below it, price moves are noise (see [`Buying::precaution_price_full`]).
pub const PRECAUTION_PRICE_FROM: f64 = 1.1;

fn default_precaution_cover() -> f64 {
    0.5
}

fn default_precaution_fill_below() -> f64 {
    0.9
}

fn default_precaution_up_days() -> f64 {
    14.0
}

fn default_precaution_relax_days() -> f64 {
    180.0
}

fn default_fill_memory_days() -> f64 {
    30.0
}

fn default_overask_limit() -> f64 {
    1.0
}
