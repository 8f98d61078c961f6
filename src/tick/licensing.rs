//! Licensing (tick step 5): cross-border orders of controlled goods become licence
//! applications; applications are decided after their review time; approved licences become
//! standing orders on their supplier, drawn down at the pace the buyer wants its goods, until
//! shipped or expired; refusals go back to the buyer.

use crate::model::calendar::{Date, add_working_days};
use crate::model::{Buying, EndUse};
use crate::world::clock::Clock;
use crate::world::firm::Inputs;
use crate::world::invariants::{Invariant, Invariants, ROUNDING, settle_rounding};
use crate::world::licences::{Application, Licence, Licensing, Outcome};
use crate::world::orders::{Listed, NO_LICENCE, OrderBook, SupplyLinks};
use crate::world::params::Params;
use crate::world::policy::PolicyState;
use crate::world::registry::Registry;
use crate::world::rng::{FirmStreams, Purpose};
use bevy_ecs::prelude::*;

/// Ticks from `today` (at tick `tick`, of `tick_days` days) until a review of `working_days`
/// is over: at least one, and saturating at `u32::MAX` (a decision the run never reaches).
fn review_ticks(today: Date, working_days: u32, tick_days: u32) -> u32 {
    let days = i64::from(add_working_days(today, working_days).0) - i64::from(today.0);
    u32::try_from((days.max(0) as u64).div_ceil(u64::from(tick_days)).max(1)).unwrap_or(u32::MAX)
}

/// Shares a quota of `commodity` among the export links of `nation` by history, as China
/// allocated its rare-earth export quotas to enterprises by their past exports and they
/// served their established customers (WTO panel report *China — Rare Earths*, WT/DS431/R,
/// 2014): each active link from a firm of `nation` to a buyer abroad gets its buyer's
/// smoothed orders on it over those of all such links (equal shares if nobody has ordered).
/// A link that was not exporting then (a supplier qualified later) gets no share.
fn share_quota(shares: &mut [f64], nation: u16, commodity: u16, links: &SupplyLinks, registry: &Registry, inputs: &Query<&mut Inputs>) {
    let mut eligible = Vec::new();
    for (f, &e) in registry.entity.iter().enumerate() {
        if registry.nation[f] == nation {
            continue;
        }
        let buyer = inputs.get(e).expect("buyer");
        for s in buyer.slots.iter().filter(|s| s.commodity == commodity) {
            let (from, len) = s.links;
            eligible.extend(
                (from..from + len)
                    .map(|l| l as usize)
                    .filter(|&l| registry.nation[links.links[l].supplier as usize] == nation && links.status.is_active(l)),
            );
        }
    }
    let expected = |l: usize| links.expected[links.trade.at(l)];
    let total: f64 = eligible.iter().map(|&l| expected(l)).sum();
    for &l in &eligible {
        shares[l] = if total > 0.0 {
            expected(l) / total
        } else {
            1.0 / eligible.len() as f64
        };
    }
}

/// Decides due applications, turns controlled orders into applications, and puts live
/// licences on the order book as standing orders.
#[allow(clippy::too_many_arguments)]
pub fn license_trade(
    mut book: ResMut<OrderBook>,
    mut lic: ResMut<Licensing>,
    mut links: ResMut<SupplyLinks>,
    mut policy: ResMut<PolicyState>,
    registry: Res<Registry>,
    clock: Res<Clock>,
    params: Res<Params>,
    mut inv: ResMut<Invariants>,
    mut inputs: Query<&mut Inputs>,
    mut streams: ResMut<FirmStreams>,
) {
    let tick = clock.tick;
    let td = clock.tick_days;
    let today = clock.date();
    let inv = &mut *inv;
    let buying = &params.buying;
    let lic = &mut *lic;
    let policy = &mut *policy;
    let memory = (f64::from(td) / buying.licence_wait_memory_days).min(1.0);
    // With no regime in force, nothing awaiting a decision, no live licence and nothing
    // batched for filing, there is nothing to file or settle: orders stay as procurement
    // placed (and sorted) them, all of positive quantities (never NaN), as the passes below
    // leave them.
    // (Until licensing first has work its per-link lists are empty, and nothing is batched.)
    if lic.due.is_empty() && lic.licences.is_empty() && policy.regimes.iter().all(|r| !r.active) && lic.batched.iter().all(|&b| b == 0.0) {
        debug_assert!(book.orders.iter().all(|o| o.quantity > 0.0), "an order of nothing");
        return;
    }
    lic.per_link();
    links.for_licensing();

    // 1. Decisions due today, in (tick, id) order.
    while let Some(ids) = lic.due.take_due(tick) {
        for &id in &ids {
            let app = &mut lic.applications[(id - lic.written) as usize];
            let u = streams.firms[app.buyer as usize].uniform(Purpose::Licensing, tick);
            let regime = &mut policy.regimes[app.regime as usize];
            let mut approved = !regime.active || u < regime.approval(app.importer, app.end_use);
            let mut granted = if approved { app.quantity } else { 0.0 };
            if approved && regime.active {
                let year = today.ymd().0;
                if year != regime.quota_year {
                    regime.quota_year = year;
                    regime.released_before_start = 0.0;
                }
                // Under a quota, an application is approved for what fits in its link's share of
                // what has been released so far this year (unused releases carry over), and
                // refused if nothing does.
                if let Some(a) = regime.allowance(app.commodity as usize, today) {
                    let key = (app.regime, app.commodity);
                    if !lic.quota_shared.contains(&key) {
                        lic.quota_shared.push(key);
                        share_quota(&mut lic.quota_share, regime.nation, app.commodity, &links, &registry, &inputs);
                    }
                    let l = app.link as usize;
                    if lic.quota_year[l] != year {
                        lic.quota_year[l] = year;
                        lic.quota_used[l] = 0.0;
                    }
                    // Room of a rounding error is no room.
                    let room = a * lic.quota_share[l] - lic.quota_used[l];
                    granted = if room > ROUNDING * a { granted.min(room) } else { 0.0 };
                    approved = granted > 0.0;
                    lic.quota_used[l] += granted;
                }
            }
            app.decided_tick = Some(tick);
            app.granted = granted;
            app.outcome = if approved { Outcome::Approved } else { Outcome::Denied };
            if inv.check {
                check_review_time(inv, &clock, app, id);
            }
            let wait_days = f64::from(tick - app.submitted_tick) * f64::from(td);
            let mut buyer = inputs.get_mut(registry.entity[app.buyer as usize]).expect("buyer");
            let slot = &mut buyer.slots[app.slot as usize];
            slot.licence_wait_days += memory * (wait_days - slot.licence_wait_days);
            decided(
                &mut links,
                app.link,
                app.quantity,
                granted / app.quantity,
                slot.scale,
                buying,
                &mut inv.clamped,
            );
            if approved {
                let validity = regime.validity_days.div_ceil(td);
                lic.licences.push(Licence {
                    app: id,
                    remaining: granted,
                    expires_tick: tick.saturating_add(validity),
                    slot: registry.slot_from[app.buyer as usize] + u32::from(app.slot),
                });
            }
            if granted < app.quantity {
                slot.on_order -= app.quantity - granted;
                settle_rounding(&mut slot.on_order, slot.scale, &mut inv.clamped);
            }
        }
        lic.due.give_back(ids);
    }
    // Buyers still waiting learn from the wait so far: each input from the longest wait of
    // its applications awaiting a decision, its oldest (each input visited once, not once per
    // application).
    let Licensing {
        applications,
        pending,
        written,
        ..
    } = lic;
    let app = |id: u32| &applications[(id - *written) as usize];
    pending.oldest(
        |id| app(id).decided_tick.is_none(),
        |_, id| {
            let app = app(id);
            let days = f64::from(tick - app.submitted_tick) * f64::from(td);
            let mut buyer = inputs.get_mut(registry.entity[app.buyer as usize]).expect("buyer");
            let slot = &mut buyer.slots[app.slot as usize];
            slot.licence_wait_days = slot.licence_wait_days.max(days);
        },
    );

    // 2. Controlled orders become applications, for the quantity needed divided by the
    //    approval share the buyer has learned for the line (what it expects to be refused, it
    //    asks for on top). A buyer files at most one application per link per interval: in
    //    between, the controlled quantities it orders are batched (and already count as on
    //    order, so it does not order them twice).
    let interval = buying.application_interval_days;
    let slots = registry.slot_from.last().copied().unwrap_or(0) as usize;
    for k in 0..book.orders.len() {
        let o = book.orders[k];
        let t = *book.terms().of(&o);
        let (exporter, importer) = (t.exporter, t.importer);
        if o.licence != NO_LICENCE {
            continue;
        }
        let (regime, share) = policy.licensed_share(exporter, importer, t.commodity, tick, td);
        let need = o.quantity * share;
        let (Some(ri), true) = (regime, need > 0.0) else {
            // No longer controlled (lifted, or a general licence): what the buyer had batched
            // for filing on this line will never be filed; it leaves its orders, and the buyer
            // orders it again, freely, from its lower position. (Most orders were never
            // controlled: their line's entry is only read.)
            let batched = lic.batched[t.link as usize];
            if batched != 0.0 {
                lic.batched[t.link as usize] = 0.0;
            }
            if batched > 0.0 {
                let firm = links.owner[t.trade as usize].buyer;
                let mut buyer = inputs.get_mut(registry.entity[firm as usize]).expect("buyer");
                let slot = &mut buyer.slots[t.slot as usize];
                slot.on_order -= batched;
                settle_rounding(&mut slot.on_order, slot.scale, &mut inv.clamped);
                links.pending[t.link as usize] -= batched;
                settle_rounding(&mut links.pending[t.link as usize], slot.scale, &mut inv.clamped);
            }
            continue;
        };
        let firm = links.owner[t.trade as usize].buyer;
        let regime = &policy.regimes[ri];
        book.orders[k].quantity -= need;
        let applied = need / links.approval(t.link as usize);
        lic.batched[t.link as usize] += applied;
        links.pending[t.link as usize] += applied;
        let mut buyer = inputs.get_mut(registry.entity[firm as usize]).expect("buyer");
        let slot = &mut buyer.slots[t.slot as usize];
        slot.on_order += applied;
        slot.scale = slot.scale.max(slot.on_order);
        if lic.last_applied[t.link as usize].is_some_and(|last| u64::from(tick - last) * u64::from(td) < u64::from(interval)) {
            continue;
        }
        lic.last_applied[t.link as usize] = Some(tick);
        let controlled = std::mem::take(&mut lic.batched[t.link as usize]);
        let st = &mut streams.firms[firm as usize];
        let end_use = if st.uniform(Purpose::Licensing, tick) < registry.defence_share[firm as usize] {
            EndUse::Defence
        } else {
            EndUse::Civil
        };
        let review = regime.review.quantile(st.uniform(Purpose::Licensing, tick)).ceil().max(0.0) as u32;
        let id = lic.next_id();
        let mut app = Application {
            regime: ri as u16,
            supplier: t.supplier,
            buyer: firm,
            link: t.link,
            slot: t.slot,
            commodity: t.commodity,
            exporter,
            importer,
            quantity: controlled,
            granted: 0.0,
            shipped: 0.0,
            end_use,
            submitted_tick: tick,
            review_working_days: review,
            decide_tick: tick,
            decided_tick: None,
            outcome: Outcome::Pending,
        };
        if regime.banned[importer as usize] {
            app.review_working_days = 0;
            app.decided_tick = Some(tick);
            app.outcome = Outcome::Denied;
            let mut buyer = inputs.get_mut(registry.entity[firm as usize]).expect("buyer");
            let slot = &mut buyer.slots[t.slot as usize];
            slot.on_order -= controlled;
            settle_rounding(&mut slot.on_order, slot.scale, &mut inv.clamped);
            decided(&mut links, t.link, controlled, 0.0, slot.scale, buying, &mut inv.clamped);
        } else {
            app.decide_tick = tick.saturating_add(review_ticks(today, review, td));
            lic.due.push(app.decide_tick, id);
        }
        let slot = registry.slot_from[firm as usize] as usize + usize::from(t.slot);
        lic.pending.add(id, slot, slots, app.decided_tick.is_none());
        lic.applications.push(app);
    }

    // 3. Live licences are standing orders, drawn down at the pace the buyer wants its goods
    //    (`InputSlot::draw`, shared out over its licences oldest first): a licence for ten
    //    times its need, asked for when it expected one in ten to pass, is not ten times its
    //    need shipped at once. What is not yet drawn stays on order, so the buyer does not
    //    apply for it again. Expired licences give their rest back to the buyer.
    let added = book.orders.len();
    let (apps, written) = (&lic.applications, lic.written);
    lic.licences.retain(|l| {
        if l.expires_tick > tick && l.remaining > 1e-12 {
            return true;
        }
        let a = &apps[(l.app - written) as usize];
        let mut buyer = inputs.get_mut(registry.entity[a.buyer as usize]).expect("buyer");
        let slot = &mut buyer.slots[a.slot as usize];
        slot.on_order -= l.remaining;
        settle_rounding(&mut slot.on_order, slot.scale, &mut inv.clamped);
        false
    });
    // Each slot's wants are read once (the first of its licences met), shared out over its
    // licences in their order, and written back at the end: a policy world holds several
    // live licences a slot, and looking the buyer up for each took a quarter of licensing.
    let Licensing {
        licences,
        applications: apps,
        written,
        draw_left,
        drawn,
        ..
    } = lic;
    if draw_left.len() != slots {
        *draw_left = vec![f64::NAN; slots];
    }
    for (li, l) in licences.iter().enumerate() {
        let k = l.slot as usize;
        if draw_left[k].is_nan() {
            let a = &apps[(l.app - *written) as usize];
            let buyer = inputs.get(registry.entity[a.buyer as usize]).expect("buyer");
            draw_left[k] = buyer.slots[a.slot as usize].draw;
            drawn.push((l.slot, a.buyer, a.slot));
        }
        let quantity = l.remaining.min(draw_left[k]);
        if quantity <= 0.0 {
            continue;
        }
        draw_left[k] -= quantity;
        let a = &apps[(l.app - *written) as usize];
        let (link, trade) = (&links.links[a.link as usize], links.trade.at(a.link as usize));
        let owner = links.owner[trade];
        let terms = Listed {
            link: a.link,
            trade: trade as u32,
            supplier: a.supplier,
            slot: a.slot,
            commodity: a.commodity,
            exporter: owner.exporter,
            importer: owner.importer,
            days: link.days,
            jitter_days: link.jitter_days,
        };
        book.add(terms, quantity, li as u32);
    }
    for (k, b, s) in drawn.drain(..) {
        let mut buyer = inputs.get_mut(registry.entity[b as usize]).expect("buyer");
        buyer.slots[s as usize].draw = std::mem::replace(&mut draw_left[k as usize], f64::NAN);
    }
    let owner = &links.owner;
    book.merge_added(added, |t| owner[t.trade as usize].buyer);
}

/// A decision on `quantity` applied for on `link`, of which the share `granted` was approved
/// (1 approved, 0 refused, in between where a quota left room for part): it no longer awaits
/// a decision, and the buyer's learned approval share of the link moves `approval_learning` of
/// the way to that share, never below `min_expected_approval`. `scale` is the buyer's slot's
/// scale, for rounding.
fn decided(links: &mut SupplyLinks, link: u32, quantity: f64, granted: f64, scale: f64, buying: &Buying, clamped: &mut u64) {
    let l = link as usize;
    links.pending[l] -= quantity;
    settle_rounding(&mut links.pending[l], scale, clamped);
    let outcome = granted;
    let a = &mut links.approval[l];
    *a = (*a + buying.approval_learning * (outcome - *a)).max(buying.min_expected_approval);
}

/// After suppliers have filled orders: what was shipped under a licence leaves the licence
/// and the buyer's orders-on-licence. Only standing orders added to the book under live
/// licences ship under one: a day without them skips the pass over the book (8 ns a
/// firm-tick at 10^6 firms with no control in force).
pub fn settle_licences(
    book: Res<OrderBook>,
    mut lic: ResMut<Licensing>,
    registry: Res<Registry>,
    mut inv: ResMut<Invariants>,
    mut inputs: Query<&mut Inputs>,
) {
    if book.added_orders() == 0 {
        return;
    }
    let lic = &mut *lic;
    let terms = book.terms();
    for o in book.orders.iter().filter(|o| o.licence != NO_LICENCE && o.filled > 0.0) {
        let t = terms.of(o);
        let l = &mut lic.licences[o.licence as usize];
        l.remaining -= o.filled;
        let app = &mut lic.applications[(l.app - lic.written) as usize];
        app.shipped += o.filled;
        let mut buyer = inputs.get_mut(registry.entity[app.buyer as usize]).expect("buyer");
        let slot = &mut buyer.slots[t.slot as usize];
        slot.on_order -= o.filled;
        settle_rounding(&mut slot.on_order, slot.scale, &mut inv.clamped);
    }
}

/// The review-time invariant, for an application decided now: its decision date is no
/// earlier than its submission date plus the working days of review drawn for it.
fn check_review_time(inv: &mut Invariants, clock: &Clock, app: &Application, id: u32) {
    let submitted = clock
        .start
        .plus_days(i32::try_from(u64::from(app.submitted_tick) * u64::from(clock.tick_days)).unwrap_or(i32::MAX));
    let earliest = add_working_days(submitted, app.review_working_days);
    let decided = clock.date();
    if decided >= earliest {
        return;
    }
    let who = format!(
        "licence application {id} (`{}` from firm `{}` to firm `{}`)",
        inv.commodity_ids[app.commodity as usize], inv.firm_ids[app.supplier as usize], inv.firm_ids[app.buyer as usize]
    );
    inv.report(
        clock,
        Invariant::ReviewTime,
        || who,
        || {
            format!(
                "decided on {decided}, submitted on {submitted} for {} working days of review: not before {earliest}",
                app.review_working_days
            )
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_review_of_ten_to_the_nineteen_days_is_a_decision_never_reached_not_a_hang() {
        let d = Date::parse("2025-04-04").unwrap();
        assert_eq!(add_working_days(d, 1_000_000_000).0 - d.0, 1_400_000_000, "whole weeks");
        assert_eq!(add_working_days(d, u32::MAX), Date(i32::MAX), "beyond the calendar: its last day");
        assert_eq!(review_ticks(d, u32::MAX, 1), (i32::MAX - d.0) as u32);
        assert_eq!(review_ticks(d, 0, 7), 1, "a decision takes at least one tick");
        assert_eq!(review_ticks(d, 1, 1), 3, "Friday + 1 working day is Monday");
    }
}
