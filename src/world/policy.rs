//! Policy state: export-control regimes and tariffs as they stand now, the event calendar, the
//! reactive rules' memory and the log of what happened (the data; events and rules are applied
//! by `tick/policy.rs`).

use crate::model::calendar::Date;
use crate::model::policy::QuotaRelease;
use crate::model::{Action, Condition, Dist, EndUse, Model};
use crate::world::network::Network;
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
    /// Annual quota per commodity (None = no quota), shared among the regime's export links
    /// by their history (`Licensing::quota_share`), and the calendar year its releases count in.
    pub quota: Vec<Option<f64>>,
    pub quota_year: i32,
    /// How the annual quotas are released through the year.
    pub release: QuotaRelease,
    /// Share of this year's quota released before the run began (counted as used: the run
    /// starts with the year's earlier allowances spent); 0 after the first year.
    pub released_before_start: f64,
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

    /// Units of `commodity` that may have been approved this year by `date`: the annual quota
    /// times the share released so far (None = no quota).
    pub fn allowance(&self, commodity: usize, date: Date) -> Option<f64> {
        let (_, m, d) = date.ymd();
        let released = (self.release.released(m, d).min(1.0) - self.released_before_start).max(0.0);
        self.quota[commodity].map(|q| q * released)
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

/// A scheduled change announced before it takes effect.
#[derive(Debug, Clone)]
pub struct Announcement {
    /// Tick of the announcement and of the change.
    pub tick: u32,
    pub effective_tick: u32,
    /// Date the change takes effect, for the log.
    pub effective: Date,
    pub nation: u16,
    pub action: Action,
    pub note: String,
}

/// A tightening announced and not yet in effect: what buyers see coming.
#[derive(Debug, Clone)]
pub struct Announced {
    /// Index of the regime it tightens.
    pub regime: usize,
    /// The one destination it concerns (a ban), or every destination.
    pub destination: Option<u16>,
    /// Share of cross-border sales of each commodity it will bring under licence (beyond what
    /// already needs one, as the regime stood when it was announced).
    pub coverage: Vec<f64>,
    /// Tick it takes effect; buyers see it coming until then.
    pub until_tick: u32,
}

/// A reactive rule and its memory.
#[derive(Debug, Clone)]
pub struct RuleState {
    pub nation: u16,
    pub when: Condition,
    pub for_days: u32,
    pub then: Action,
    pub cooldown_days: u32,
    pub id: String,
    pub note: String,
    /// Consecutive days the condition has held.
    pub held_days: u32,
    pub last_fired: Option<u32>,
    /// Times the rule has fired since the start.
    pub fired: u32,
    /// For an `AfterRule` condition: the index of the rule it follows in
    /// [`PolicyState::rules`], and how many of that rule's firings this rule has answered
    /// (it fires once per firing of its leader).
    pub leader: Option<usize>,
    pub answered: u32,
}

/// Regimes, tariffs, the event calendar and the rules' memory.
#[derive(Resource, Debug, Clone)]
pub struct PolicyState {
    pub regimes: Vec<Regime>,
    /// Tariff rate by `(importer * nations + origin) * commodities + commodity`.
    pub tariffs: Vec<f64>,
    pub nations: Vec<String>,
    pub commodities: Vec<String>,
    pub regions: Vec<String>,
    pub roles: Vec<String>,
    /// (tick, nation, action, note), sorted by tick, and the next one to apply.
    pub events: Vec<(u32, u16, Action, String)>,
    pub next_event: usize,
    /// Announced events, sorted by announcement tick, and the next one to announce.
    pub announcements: Vec<Announcement>,
    pub next_announcement: usize,
    /// Tightenings announced and not yet in effect.
    pub announced: Vec<Announced>,
    pub rules: Vec<RuleState>,
    /// Everything that happened, in order.
    pub log: Vec<EventRecord>,
}

/// Index of a checked id in `list`.
pub fn idx(list: &[String], id: &str) -> usize {
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
                    quota_year: start.ymd().0,
                    released_before_start: c.quota_release.released_before(start),
                    release: c.quota_release.clone(),
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
        let tick_of = |d: Date| ((d.0 - start.0) as u32) / tick_days;
        let mut announcements: Vec<Announcement> = model
            .policies
            .events
            .iter()
            .filter_map(|e| {
                let a = Date::parse(e.announced.as_deref()?).expect("checked date");
                let d = Date::parse(&e.date).expect("checked date");
                Some(Announcement {
                    tick: tick_of(a),
                    effective_tick: tick_of(d),
                    effective: d,
                    nation: idx(&net.nations, &e.nation) as u16,
                    action: e.action.clone(),
                    note: e.note.clone(),
                })
            })
            .collect();
        announcements.sort_by_key(|a| a.tick); // stable: same-day announcements keep file order
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
                fired: 0,
                leader: match &r.when {
                    Condition::AfterRule { rule } => model.policies.rules.iter().position(|l| l.id == *rule),
                    _ => None,
                },
                answered: 0,
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
            announcements,
            next_announcement: 0,
            announced: Vec::new(),
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

    /// The regime that controls `commodity` from `exporter` to `importer` at `tick`, and the
    /// share of a sale that needs its licence (None, 0 when nothing does: same nation, no
    /// active regime, or a general licence for the importer).
    pub fn licensed_share(&self, exporter: u16, importer: u16, commodity: u16, tick: u32, tick_days: u32) -> (Option<usize>, f64) {
        if exporter == importer {
            return (None, 0.0);
        }
        match self.regime_for(exporter, commodity) {
            Some(ri) if !self.regimes[ri].general[importer as usize] => {
                (Some(ri), self.regimes[ri].licensed_share(commodity, tick, tick_days))
            }
            _ => (None, 0.0),
        }
    }

    /// Whether no sale needs a licence today and none is seen coming: no regime is in force
    /// and no tightening is announced, so [`PolicyState::licensed_share`] and
    /// [`PolicyState::announced_share`] are 0 for every trade (callers that ask them link by
    /// link can skip asking).
    pub fn unlicensed(&self) -> bool {
        self.regimes.iter().all(|r| !r.active) && self.announced.is_empty()
    }

    /// Whether no tariff is set on any trade ([`PolicyState::tariff`] is 0 everywhere).
    pub fn untaxed(&self) -> bool {
        self.tariffs.iter().all(|&t| t == 0.0)
    }

    /// The share of cross-border sales of `commodity` from `exporter` to `importer` that an
    /// announced tightening will bring under licence (the largest, if several are announced;
    /// 0 for none, a domestic sale, or an importer with a general licence).
    pub fn announced_share(&self, exporter: u16, importer: u16, commodity: u16) -> f64 {
        if exporter == importer {
            return 0.0;
        }
        self.announced
            .iter()
            .filter(|a| {
                let r = &self.regimes[a.regime];
                r.nation == exporter && !r.general[importer as usize] && a.destination.is_none_or(|d| d == importer)
            })
            .map(|a| a.coverage[commodity as usize])
            .fold(0.0, f64::max)
    }

    /// What buyers see coming from an announced `action`, given the regimes as they stand:
    /// the share of each commodity's sales it will newly bring under licence. `None` for an
    /// action that brings nothing under licence.
    pub fn announced_effect(&self, action: &Action, until_tick: u32) -> Option<Announced> {
        let regime = self.regimes.iter().position(|r| Some(r.id.as_str()) == action.control())?;
        let r = &self.regimes[regime];
        let nc = self.commodities.len();
        let (destination, coverage) = match action {
            // A regime not yet in force brings all it lists under licence.
            Action::Activate(_) if !r.active => (None, r.coverage.clone()),
            // In force: the part of the commodity not yet listed (none if the regime is not in
            // force, which only its activation would change).
            Action::SetCoverage { commodity, share, .. } if r.active => {
                let c = idx(&self.commodities, commodity);
                let mut v = vec![0.0; nc];
                v[c] = (share - r.coverage[c]).max(0.0);
                (None, v)
            }
            // A ban or a quota bites on what the regime lists (to the banned destination).
            Action::Ban { destination, .. } if r.active => (Some(idx(&self.nations, destination) as u16), r.coverage.clone()),
            Action::SetQuota { commodity, .. } if r.active => {
                let c = idx(&self.commodities, commodity);
                let mut v = vec![0.0; nc];
                v[c] = r.coverage[c];
                (None, v)
            }
            _ => return None,
        };
        Some(Announced {
            regime,
            destination,
            coverage,
            until_tick,
        })
    }

    /// Tariff rate on `commodity` from `origin` into `importer`.
    pub fn tariff(&self, importer: u16, origin: u16, commodity: u16) -> f64 {
        self.tariffs[self.cell(importer as usize, origin as usize, commodity as usize)]
    }

    /// Index of (importer, origin, commodity) in `tariffs`.
    pub fn cell(&self, importer: usize, origin: usize, commodity: usize) -> usize {
        (importer * self.nations.len() + origin) * self.commodities.len() + commodity
    }

    /// Index in `tariffs` by ids.
    pub fn tariff_cell(&self, importer: &str, origin: &str, commodity: &str) -> usize {
        self.cell(
            idx(&self.nations, importer),
            idx(&self.nations, origin),
            idx(&self.commodities, commodity),
        )
    }

    /// The regime with id `id` (a checked id).
    pub fn regime(&mut self, id: &str) -> &mut Regime {
        self.regimes.iter_mut().find(|r| r.id == id).expect("checked control id")
    }
}

/// The kinds of `events.arrow`'s `kind`, in a fixed order: every action kind, then
/// `announce`, a change announced before it takes effect. A run's dictionary is the action
/// kinds alone when its model announces nothing (so that such runs' files are as before
/// announcements existed), and all of them otherwise: see [`event_kinds`].
pub const EVENT_KINDS: [&str; 13] = [
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
    "announce",
];

/// Every action kind, in a fixed order.
pub const ACTION_KINDS: &[&str] = EVENT_KINDS.split_at(12).0;

/// The dictionary of `events.arrow`'s `kind` for a run of `model`: fixed for the whole run.
pub fn event_kinds(model: &Model) -> &'static [&'static str] {
    if model.policies.events.iter().any(|e| e.announced.is_some()) {
        &EVENT_KINDS
    } else {
        ACTION_KINDS
    }
}
