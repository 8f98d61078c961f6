//! Policy (tick step 1): scheduled events take effect and reactive rules fire; the runtime
//! state of export-control regimes and tariffs that licensing and buyers consult.

use crate::calendar::Date;
use crate::firm::{Plant, Production};
use crate::markets::PriceBook;
use crate::model::{Action, Condition, Dist, EndUse, Model};
use crate::network::Network;
use crate::sim::Clock;
use bevy_ecs::prelude::*;
use std::collections::BTreeMap;

/// An export-control regime as it stands now.
#[derive(Debug, Clone)]
pub struct Regime {
    pub id: String,
    pub nation: u16,
    pub active: bool,
    /// Tick the regime was last activated.
    pub activated_tick: u32,
    /// Share of cross-border sales needing a licence, per commodity (0 = not controlled).
    pub coverage: Vec<f64>,
    pub phase_in_days: u32,
    pub review: Dist,
    /// Approval probability per destination nation, civil and defence.
    pub civil: Vec<f64>,
    pub defence: Vec<f64>,
    pub validity_days: u32,
    /// Annual quota per commodity (None = no quota) and what was approved this calendar year.
    pub quota: Vec<Option<f64>>,
    pub approved_this_year: Vec<f64>,
    pub quota_year: i32,
    pub banned: Vec<bool>,
    pub general: Vec<bool>,
    /// Share of uncontrolled shipments held by customs, and for how many calendar days.
    pub inspection: Option<(f64, Dist)>,
}

impl Regime {
    /// Share of a cross-border sale of `commodity` that needs a licence at `tick`.
    pub fn licensed_share(&self, commodity: u16, tick: u32, tick_days: u32) -> f64 {
        if !self.active {
            return 0.0;
        }
        let full = self.coverage[commodity as usize];
        if self.phase_in_days == 0 {
            return full;
        }
        let days = f64::from(tick - self.activated_tick + 1) * f64::from(tick_days);
        full * (days / f64::from(self.phase_in_days)).min(1.0)
    }

    /// Approval probability for a destination and end use.
    pub fn approval(&self, destination: u16, end_use: EndUse) -> f64 {
        match end_use {
            EndUse::Civil => self.civil[destination as usize],
            EndUse::Defence => self.defence[destination as usize],
        }
    }
}

/// A policy change that happened, for `events.arrow`.
#[derive(Debug, Clone)]
pub struct EventRecord {
    pub tick: u32,
    pub nation: u16,
    pub kind: &'static str,
    /// `scheduled` or `rule:<id>`.
    pub source: String,
    pub detail: String,
}

#[derive(Debug, Clone)]
struct RuleState {
    nation: u16,
    when: Condition,
    for_days: u32,
    then: Action,
    cooldown_days: u32,
    id: String,
    note: String,
    /// Consecutive days the condition has held.
    held_days: u32,
    last_fired: Option<u32>,
}

/// Regimes, tariffs, the event calendar and the rules' memory.
#[derive(Resource, Debug, Clone)]
pub struct PolicyState {
    pub regimes: Vec<Regime>,
    /// Tariff rate by `(importer * nations + origin) * commodities + commodity`.
    pub tariffs: Vec<f64>,
    nations: Vec<String>,
    commodities: Vec<String>,
    regions: Vec<String>,
    roles: Vec<String>,
    /// (tick, nation, action, note), sorted by tick, and the next one to apply.
    events: Vec<(u32, u16, Action, String)>,
    next_event: usize,
    rules: Vec<RuleState>,
    /// Everything that happened, in order.
    pub log: Vec<EventRecord>,
}

fn idx(list: &[String], id: &str) -> usize {
    list.iter().position(|x| x == id).unwrap_or_else(|| panic!("checked id `{id}`"))
}

impl PolicyState {
    /// The policies of a checked model, at its start.
    pub fn new(model: &Model, net: &Network, start: Date, tick_days: u32) -> PolicyState {
        let (nn, nc) = (net.nations.len(), net.commodities.len());
        let regimes = model
            .policies
            .controls
            .iter()
            .map(|c| {
                let per_nation = |default: f64, by: &BTreeMap<String, f64>| {
                    let mut v = vec![default; nn];
                    for (n, &p) in by {
                        v[idx(&net.nations, n)] = p;
                    }
                    v
                };
                let flags = |list: &[String]| {
                    let mut v = vec![false; nn];
                    for n in list {
                        v[idx(&net.nations, n)] = true;
                    }
                    v
                };
                let mut coverage = vec![0.0; nc];
                for (k, &s) in &c.commodities {
                    coverage[idx(&net.commodities, k)] = s;
                }
                let mut quota = vec![None; nc];
                for (k, &q) in &c.annual_quota {
                    quota[idx(&net.commodities, k)] = Some(q);
                }
                Regime {
                    id: c.id.clone(),
                    nation: idx(&net.nations, &c.nation) as u16,
                    active: c.active,
                    activated_tick: 0,
                    coverage,
                    phase_in_days: c.phase_in_days,
                    review: c.review_working_days.clone(),
                    civil: per_nation(c.approval.civil, &c.approval.civil_by_destination),
                    defence: per_nation(c.approval.defence, &c.approval.defence_by_destination),
                    validity_days: c.validity_days,
                    quota,
                    approved_this_year: vec![0.0; nc],
                    quota_year: start.ymd().0,
                    banned: flags(&c.banned),
                    general: flags(&c.general_licences),
                    inspection: c.inspection.as_ref().map(|i| (i.share, i.hold_days.clone())),
                }
            })
            .collect();
        let tariffs = vec![0.0; nn * nn * nc];
        let mut events: Vec<(u32, u16, Action, String)> = model
            .policies
            .events
            .iter()
            .map(|e| {
                let d = Date::parse(&e.date).expect("checked date");
                let tick = ((d.0 - start.0) as u32) / tick_days;
                (tick, idx(&net.nations, &e.nation) as u16, e.action.clone(), e.note.clone())
            })
            .collect();
        events.sort_by_key(|e| e.0); // stable: same-day events keep file order
        let rules = model
            .policies
            .rules
            .iter()
            .map(|r| RuleState {
                nation: idx(&net.nations, &r.nation) as u16,
                when: r.when.clone(),
                for_days: r.for_days,
                then: r.then.clone(),
                cooldown_days: r.cooldown_days,
                id: r.id.clone(),
                note: r.note.clone(),
                held_days: 0,
                last_fired: None,
            })
            .collect();
        let mut state = PolicyState {
            regimes,
            tariffs,
            nations: net.nations.clone(),
            commodities: net.commodities.clone(),
            regions: net.regions.clone(),
            roles: net.roles.clone(),
            events,
            next_event: 0,
            rules,
            log: Vec::new(),
        };
        for t in &model.policies.tariffs {
            let cell = state.tariff_cell(&t.importer, &t.origin, &t.commodity);
            state.tariffs[cell] = t.rate;
        }
        state
    }

    /// The active regime of `exporter` that controls `commodity`, if any (the first listed).
    pub fn regime_for(&self, exporter: u16, commodity: u16) -> Option<usize> {
        self.regimes
            .iter()
            .position(|r| r.active && r.nation == exporter && r.coverage[commodity as usize] > 0.0)
    }

    /// Tariff rate on `commodity` from `origin` into `importer`.
    pub fn tariff(&self, importer: u16, origin: u16, commodity: u16) -> f64 {
        self.tariffs[self.cell(importer as usize, origin as usize, commodity as usize)]
    }

    /// Index of (importer, origin, commodity) in `tariffs`.
    fn cell(&self, importer: usize, origin: usize, commodity: usize) -> usize {
        (importer * self.nations.len() + origin) * self.commodities.len() + commodity
    }

    /// Index in `tariffs` by ids.
    fn tariff_cell(&self, importer: &str, origin: &str, commodity: &str) -> usize {
        self.cell(
            idx(&self.nations, importer),
            idx(&self.nations, origin),
            idx(&self.commodities, commodity),
        )
    }

    fn regime(&mut self, id: &str) -> &mut Regime {
        self.regimes.iter_mut().find(|r| r.id == id).expect("checked control id")
    }

    /// Applies an action; returns its kind and a description.
    fn apply(&mut self, a: &Action, tick: u32) -> (&'static str, String) {
        let n = |s: &PolicyState, id: &str| idx(&s.nations, id);
        let c = |s: &PolicyState, id: &str| idx(&s.commodities, id);
        match a {
            Action::Activate(id) => {
                let r = self.regime(id);
                if !r.active {
                    r.active = true;
                    r.activated_tick = tick;
                }
                ("activate", format!("export control {id} in force"))
            }
            Action::Deactivate(id) => {
                self.regime(id).active = false;
                ("deactivate", format!("export control {id} lifted"))
            }
            Action::SetApproval {
                control,
                end_use,
                destination,
                probability,
            } => {
                let d = destination.as_ref().map(|d| n(self, d));
                let r = self.regime(control);
                let v = match end_use {
                    EndUse::Civil => &mut r.civil,
                    EndUse::Defence => &mut r.defence,
                };
                match d {
                    Some(k) => v[k] = *probability,
                    None => v.iter_mut().for_each(|x| *x = *probability),
                }
                let to = destination.as_deref().unwrap_or("all destinations");
                (
                    "set_approval",
                    format!("{control}: {end_use:?} approval probability {probability} for {to}"),
                )
            }
            Action::SetReview { control, working_days } => {
                self.regime(control).review = working_days.clone();
                ("set_review", format!("{control}: review time {working_days:?} working days"))
            }
            Action::SetQuota {
                control,
                commodity,
                quantity,
            } => {
                let k = c(self, commodity);
                self.regime(control).quota[k] = *quantity;
                ("set_quota", format!("{control}: annual quota of {commodity} {quantity:?}"))
            }
            Action::SetCoverage { control, commodity, share } => {
                let k = c(self, commodity);
                self.regime(control).coverage[k] = *share;
                ("set_coverage", format!("{control}: share of {commodity} under licence {share}"))
            }
            Action::Ban { control, destination } | Action::Unban { control, destination } => {
                let (k, on) = (n(self, destination), matches!(a, Action::Ban { .. }));
                self.regime(control).banned[k] = on;
                (
                    if on { "ban" } else { "unban" },
                    format!("{control}: {destination} {}", if on { "banned" } else { "no longer banned" }),
                )
            }
            Action::GrantGeneral { control, destination } | Action::RevokeGeneral { control, destination } => {
                let (k, on) = (n(self, destination), matches!(a, Action::GrantGeneral { .. }));
                self.regime(control).general[k] = on;
                (
                    if on { "grant_general" } else { "revoke_general" },
                    format!(
                        "{control}: general licence for {destination} {}",
                        if on { "granted" } else { "revoked" }
                    ),
                )
            }
            Action::SetInspection { control, inspection } => {
                self.regime(control).inspection = inspection.as_ref().map(|i| (i.share, i.hold_days.clone()));
                ("set_inspection", format!("{control}: customs inspection {inspection:?}"))
            }
            Action::SetTariff {
                importer,
                origin,
                commodity,
                rate,
            } => {
                let cell = self.tariff_cell(importer, origin, commodity);
                self.tariffs[cell] = *rate;
                ("set_tariff", format!("{importer} tariff on {commodity} from {origin}: {rate}"))
            }
        }
    }
}

/// Every action kind, in a fixed order (the dictionary of `events.arrow`'s `kind`).
pub const ACTION_KINDS: [&str; 12] = [
    "activate",
    "deactivate",
    "set_approval",
    "set_review",
    "set_quota",
    "set_coverage",
    "ban",
    "unban",
    "grant_general",
    "revoke_general",
    "set_inspection",
    "set_tariff",
];

/// Applies today's scheduled events, then checks each rule against what the nation observes
/// (yesterday's output, today's prices and tariffs) and fires those whose condition has held for
/// their window and whose cooldown has passed.
pub fn apply_policy(mut policy: ResMut<PolicyState>, clock: Res<Clock>, prices: Res<PriceBook>, firms: Query<(&Plant, &Production)>) {
    let tick = clock.tick;
    let p = &mut *policy;
    while p.next_event < p.events.len() && p.events[p.next_event].0 <= tick {
        let (_, nation, action, note) = p.events[p.next_event].clone();
        let (kind, detail) = p.apply(&action, tick);
        let detail = if note.is_empty() { detail } else { format!("{detail} — {note}") };
        p.log.push(EventRecord {
            tick,
            nation,
            kind,
            source: "scheduled".into(),
            detail,
        });
        p.next_event += 1;
    }
    for k in 0..p.rules.len() {
        let holds = match &p.rules[k].when {
            Condition::OutputLostAbove { nation, role, share } => {
                if tick == 0 {
                    false
                } else {
                    let (n, r) = (idx(&p.nations, nation) as u16, idx(&p.roles, role) as u16);
                    let (mut lost, mut planned) = (0.0, 0.0);
                    for (plant, prod) in &firms {
                        if plant.nation == n && plant.role == r {
                            lost += prod.shortfall;
                            planned += prod.planned;
                        }
                    }
                    planned > 0.0 && lost / planned > *share
                }
            }
            Condition::TariffAtMost {
                importer,
                origin,
                commodity,
                rate,
            } => {
                let (i, o, c) = (
                    idx(&p.nations, importer) as u16,
                    idx(&p.nations, origin) as u16,
                    idx(&p.commodities, commodity) as u16,
                );
                p.tariff(i, o, c) <= *rate
            }
            Condition::AfterRule { rule } => p.rules.iter().any(|r| r.id == *rule && r.last_fired.is_some_and(|t| t < tick)),
            Condition::PriceRatioAbove {
                commodity,
                region,
                over_region,
                ratio,
            } => {
                let c = idx(&p.commodities, commodity) as u16;
                let (a, b) = (idx(&p.regions, region) as u16, idx(&p.regions, over_region) as u16);
                prices.price(a, c) > ratio * prices.price(b, c)
            }
        };
        let r = &mut p.rules[k];
        r.held_days = if holds { r.held_days.saturating_add(clock.tick_days) } else { 0 };
        let cooled = r
            .last_fired
            .is_none_or(|t| u64::from(tick - t) * u64::from(clock.tick_days) >= u64::from(r.cooldown_days));
        if r.held_days >= r.for_days && cooled {
            r.last_fired = Some(tick);
            let (then, id, note, nation) = (r.then.clone(), r.id.clone(), r.note.clone(), r.nation);
            let (kind, detail) = p.apply(&then, tick);
            let detail = if note.is_empty() { detail } else { format!("{detail} — {note}") };
            p.log.push(EventRecord {
                tick,
                nation,
                kind,
                source: format!("rule:{id}"),
                detail,
            });
        }
    }
}
