//! Policy (tick step 1): scheduled events take effect and reactive rules fire, changing the
//! export-control regimes and tariffs (`world::policy`) that licensing and buyers consult.

use crate::model::{Action, Condition, EndUse};
use crate::world::clock::Clock;
use crate::world::firm::{Plant, Production};
use crate::world::policy::{EventRecord, PolicyState, idx};
use crate::world::prices::PriceBook;
use bevy_ecs::prelude::*;

/// Applies today's scheduled events, then checks each rule against what the nation observes
/// (yesterday's output, today's prices and tariffs) and fires those whose condition has held for
/// their window and whose cooldown has passed.
pub fn apply_policy(mut policy: ResMut<PolicyState>, clock: Res<Clock>, prices: Res<PriceBook>, firms: Query<(&Plant, &Production)>) {
    let tick = clock.tick;
    let p = &mut *policy;
    // Announcements first: a change announced and taken on the same day is seen for no day.
    while p.next_announcement < p.announcements.len() && p.announcements[p.next_announcement].tick <= tick {
        let a = p.announcements[p.next_announcement].clone();
        if let Some(effect) = p.announced_effect(&a.action, a.effective_tick) {
            p.announced.push(effect);
        }
        let what = match a.action.control() {
            Some(c) => format!("{} ({c})", a.action.name()),
            None => a.action.name().to_string(),
        };
        let detail = format!("{what} announced, to take effect on {}", a.effective);
        p.log.push(EventRecord {
            tick,
            nation: a.nation,
            kind: "announce",
            source: "scheduled".into(),
            detail: if a.note.is_empty() {
                detail
            } else {
                format!("{detail} — {}", a.note)
            },
        });
        p.next_announcement += 1;
    }
    while p.next_event < p.events.len() && p.events[p.next_event].0 <= tick {
        let (_, nation, action, note) = p.events[p.next_event].clone();
        let (kind, detail) = apply_action(p, &action, tick);
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
    // What was announced for today has taken effect: buyers no longer see it coming.
    p.announced.retain(|a| a.until_tick > tick);
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
            Condition::AfterRule { .. } => {
                // Edge-triggered: the leader's firings at earlier ticks (one fired today is
                // seen tomorrow, wherever it stands in the list) not yet answered.
                let leader = &p.rules[p.rules[k].leader.expect("checked rule id")];
                let before_today = leader.fired - u32::from(leader.last_fired == Some(tick));
                before_today > p.rules[k].answered
            }
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
            r.fired += 1;
            if r.leader.is_some() {
                r.answered += 1;
            }
            let (then, id, note, nation) = (r.then.clone(), r.id.clone(), r.note.clone(), r.nation);
            let (kind, detail) = apply_action(p, &then, tick);
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

/// Applies an action; returns its kind and a description.
fn apply_action(p: &mut PolicyState, a: &Action, tick: u32) -> (&'static str, String) {
    let n = |s: &PolicyState, id: &str| idx(&s.nations, id);
    let c = |s: &PolicyState, id: &str| idx(&s.commodities, id);
    match a {
        Action::Activate(id) => {
            let r = p.regime(id);
            if !r.active {
                r.active = true;
                r.activated_tick = tick;
            }
            ("activate", format!("export control {id} in force"))
        }
        Action::Deactivate(id) => {
            p.regime(id).active = false;
            ("deactivate", format!("export control {id} lifted"))
        }
        Action::SetApproval {
            control,
            end_use,
            destination,
            probability,
        } => {
            let d = destination.as_ref().map(|d| n(p, d));
            let r = p.regime(control);
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
            p.regime(control).review = working_days.clone();
            ("set_review", format!("{control}: review time {working_days:?} working days"))
        }
        Action::SetQuota {
            control,
            commodity,
            quantity,
        } => {
            let k = c(p, commodity);
            p.regime(control).quota[k] = *quantity;
            ("set_quota", format!("{control}: annual quota of {commodity} {quantity:?}"))
        }
        Action::SetCoverage { control, commodity, share } => {
            let k = c(p, commodity);
            p.regime(control).coverage[k] = *share;
            ("set_coverage", format!("{control}: share of {commodity} under licence {share}"))
        }
        Action::Ban { control, destination } | Action::Unban { control, destination } => {
            let (k, on) = (n(p, destination), matches!(a, Action::Ban { .. }));
            p.regime(control).banned[k] = on;
            (
                if on { "ban" } else { "unban" },
                format!("{control}: {destination} {}", if on { "banned" } else { "no longer banned" }),
            )
        }
        Action::GrantGeneral { control, destination } | Action::RevokeGeneral { control, destination } => {
            let (k, on) = (n(p, destination), matches!(a, Action::GrantGeneral { .. }));
            p.regime(control).general[k] = on;
            (
                if on { "grant_general" } else { "revoke_general" },
                format!(
                    "{control}: general licence for {destination} {}",
                    if on { "granted" } else { "revoked" }
                ),
            )
        }
        Action::SetInspection { control, inspection } => {
            p.regime(control).inspection = inspection.as_ref().map(|i| (i.share, i.hold_days.clone()));
            ("set_inspection", format!("{control}: customs inspection {inspection:?}"))
        }
        Action::SetTariff {
            importer,
            origin,
            commodity,
            rate,
        } => {
            let cell = p.tariff_cell(importer, origin, commodity);
            p.tariffs[cell] = *rate;
            ("set_tariff", format!("{importer} tariff on {commodity} from {origin}: {rate}"))
        }
    }
}
