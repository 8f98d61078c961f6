//! Licensing state: every licence application of the run, those awaiting a decision, and the
//! live licences (the data; the decisions are made in `tick/licensing.rs`).

use crate::model::EndUse;
use bevy_ecs::prelude::*;
use std::collections::BTreeMap;

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
    /// Its buyer's input slot (by `Registry::slot_from`), whose wants it ships.
    pub slot: u32,
}

/// Every application of the run, the queue of those awaiting decision, and live licences.
#[derive(Resource, Debug, Default)]
pub struct Licensing {
    /// The applications not yet written to `licenses.arrow`, from number `written` on (see
    /// [`Licensing::take_final`]); [`Licensing::app`] finds one by its number.
    pub applications: Vec<Application>,
    /// How many applications were written and dropped from the front of `applications`.
    pub written: u32,
    /// The applications awaiting a decision, by the tick it is due.
    pub due: DueQueue,
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
    /// Each input slot's applications awaiting a decision, oldest first (see
    /// [`PendingBySlot`]): buyers learn from the longest wait so far.
    pub pending: PendingBySlot,
    /// Scratch while live licences become standing orders: what each input slot (by
    /// `Registry::slot_from`) still wants shipped this tick, read from the slot once (NaN
    /// until then), and the slots read (slot, buyer, the buyer's slot). Allocated when first used.
    pub draw_left: Vec<f64>,
    pub drawn: Vec<(u32, u32, u16)>,
}

/// No application (the end of a [`PendingBySlot`] list).
const NO_APP: u32 = u32::MAX;

/// The applications awaiting a decision, by the tick each is due: decided in (tick,
/// application) order. Applications are numbered as they are filed, so each tick's list is in
/// that order as filed; a tick's list is taken whole when it is due, and its memory reused.
#[derive(Debug, Default)]
pub struct DueQueue {
    by_tick: BTreeMap<u32, Vec<u32>>,
    len: usize,
    spare: Vec<Vec<u32>>,
}

impl DueQueue {
    /// Application `id` (numbered after every one queued before) is due at tick `tick`.
    pub fn push(&mut self, tick: u32, id: u32) {
        let spare = &mut self.spare;
        let list = self.by_tick.entry(tick).or_insert_with(|| spare.pop().unwrap_or_default());
        debug_assert!(
            list.last().is_none_or(|&last| last < id),
            "applications are queued in the order they are filed"
        );
        list.push(id);
        self.len += 1;
    }

    /// The applications due at the earliest tick, if it is `tick` or earlier, in the order
    /// they were filed; give the list back with [`DueQueue::give_back`].
    pub fn take_due(&mut self, tick: u32) -> Option<Vec<u32>> {
        let entry = self.by_tick.first_entry()?;
        if *entry.key() > tick {
            return None;
        }
        let list = entry.remove();
        self.len -= list.len();
        Some(list)
    }

    /// A list taken by [`DueQueue::take_due`], for reuse.
    pub fn give_back(&mut self, mut list: Vec<u32>) {
        list.clear();
        self.spare.push(list);
    }

    /// The lowest number awaiting a decision, if any.
    pub fn first_id(&self) -> Option<u32> {
        self.by_tick.values().filter_map(|l| l.first().copied()).min()
    }

    /// Applications awaiting a decision.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// Each input slot's applications awaiting a decision, in the order they were filed (so the
/// first is the one that has waited longest): a list threaded through the applications, with
/// decided ones dropped from the front when the slot is next looked at, and the slots whose
/// list may not be empty. Buyers learning from the waits so far then visit each waiting slot
/// once, not every application awaiting a decision (a policy world's licensing spent a
/// quarter of its time on that pass).
#[derive(Debug, Default)]
pub struct PendingBySlot {
    /// Per slot (by `Registry::slot_from`): its first and last application, or [`NO_APP`].
    first: Vec<u32>,
    last: Vec<u32>,
    /// Per application from number `base` on: the next one of its slot, or [`NO_APP`].
    next: Vec<u32>,
    base: u32,
    /// The slots whose list was not empty when last looked at or added to since.
    waiting: Vec<u32>,
}

impl PendingBySlot {
    /// Application `id` (the next number: every application is added, in order) was filed;
    /// it awaits a decision when `pending`, on slot `slot` of `slots`.
    pub fn add(&mut self, id: u32, slot: usize, slots: usize, pending: bool) {
        debug_assert_eq!(
            self.base as usize + self.next.len(),
            id as usize,
            "every application is added, in order"
        );
        self.next.push(NO_APP);
        if !pending {
            return;
        }
        if self.first.len() != slots {
            self.first = vec![NO_APP; slots];
            self.last = vec![NO_APP; slots];
        }
        if self.first[slot] == NO_APP {
            self.first[slot] = id;
            self.waiting.push(slot as u32);
        } else {
            self.next[(self.last[slot] - self.base) as usize] = id;
        }
        self.last[slot] = id;
    }

    /// Calls `visit(slot, oldest)` for every slot with an application still awaiting a decision
    /// (`waits(id)`), with the oldest of them; slots left with none are dropped.
    pub fn oldest(&mut self, waits: impl Fn(u32) -> bool, mut visit: impl FnMut(usize, u32)) {
        let mut kept = 0;
        for r in 0..self.waiting.len() {
            let k = self.waiting[r] as usize;
            let mut id = self.first[k];
            while id != NO_APP && !waits(id) {
                id = self.next[(id - self.base) as usize];
            }
            self.first[k] = id;
            if id == NO_APP {
                self.last[k] = NO_APP;
                continue;
            }
            self.waiting[kept] = k as u32;
            kept += 1;
            visit(k, id);
        }
        self.waiting.truncate(kept);
    }

    /// Forgets the applications numbered below `base`, all decided (`waits` is false for
    /// them), as they are written: they leave the front of their slots' lists first. (A list
    /// is in filing order, so once its decided front is gone, all it holds is from `base` on:
    /// an application still awaiting a decision is never below it.)
    pub fn forget_before(&mut self, base: u32, waits: impl Fn(u32) -> bool) {
        self.oldest(waits, |_, id| {
            debug_assert!(id >= base, "an application awaiting a decision is not written")
        });
        self.next.drain(..(base - self.base) as usize);
        self.base = base;
    }
}

/// Applications are written to `licenses.arrow` in batches of this many rows, in the order they
/// were filed: during the run once a whole batch is final, the rest at its end.
pub const APPLICATION_BATCH: usize = crate::model::limits::APPLICATION_BATCH_ROWS as usize;

impl Licensing {
    /// The application numbered `id` (not yet written).
    #[inline]
    pub fn app(&self, id: u32) -> &Application {
        &self.applications[(id - self.written) as usize]
    }

    /// The application numbered `id` (not yet written), to change.
    #[inline]
    pub fn app_mut(&mut self, id: u32) -> &mut Application {
        &mut self.applications[(id - self.written) as usize]
    }

    /// The number the next application filed gets.
    pub fn next_id(&self) -> u32 {
        self.written + self.applications.len() as u32
    }

    /// How many applications from the first not yet written are final: decided, and no live
    /// licence ships under them any more (their granted and shipped units cannot change).
    pub fn final_run(&self) -> usize {
        let mut end = self.next_id();
        for l in &self.licences {
            end = end.min(l.app);
        }
        if let Some(first) = self.due.first_id() {
            end = end.min(first);
        }
        (end - self.written) as usize
    }

    /// The next whole batch of [`APPLICATION_BATCH`] final applications, if there is one (or,
    /// with `all`, whatever is left, final or not, at the run's end), with the number of its
    /// first; hand it back with [`Licensing::drop_written`] once written.
    pub fn take_final(&self, all: bool) -> Option<(u32, &[Application])> {
        let n = if all {
            self.applications.len().min(APPLICATION_BATCH)
        } else if self.final_run() >= APPLICATION_BATCH {
            APPLICATION_BATCH
        } else {
            0
        };
        (n > 0).then(|| (self.written, &self.applications[..n]))
    }

    /// Drops the first `n` applications, written and final: their memory is no longer held.
    pub fn drop_written(&mut self, n: usize) {
        let written = self.written + n as u32;
        let (apps, first) = (&self.applications, self.written);
        self.pending
            .forget_before(written, |id| id >= written && apps[(id - first) as usize].decided_tick.is_none());
        self.applications.drain(..n);
        self.written = written;
    }

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

#[cfg(test)]
mod tests {
    use super::{APPLICATION_BATCH, Application, DueQueue, Licence, Licensing, Outcome, PendingBySlot};
    use crate::model::EndUse;

    fn application(buyer: u32, decided: bool) -> Application {
        Application {
            regime: 0,
            supplier: 0,
            buyer,
            link: 0,
            slot: 0,
            commodity: 0,
            exporter: 0,
            importer: 1,
            quantity: 1.0,
            granted: 0.0,
            shipped: 0.0,
            end_use: EndUse::Civil,
            submitted_tick: 0,
            review_working_days: 1,
            decide_tick: 1,
            decided_tick: decided.then_some(1),
            outcome: if decided { Outcome::Denied } else { Outcome::Pending },
        }
    }

    /// Files `n` applications on slot 0 of 1, decided unless listed in `pending`.
    fn file(lic: &mut Licensing, n: usize, pending: &[u32]) {
        for _ in 0..n {
            let id = lic.next_id();
            let waits = pending.contains(&id);
            if waits {
                lic.due.push(if id < 10 { 2 } else { 9 }, id);
            }
            lic.pending.add(id, 0, 1, waits);
            lic.applications.push(application(id, !waits));
        }
    }

    #[test]
    fn applications_are_written_in_whole_batches_once_final_and_keep_their_numbers() {
        let b = APPLICATION_BATCH as u32;
        let mut lic = Licensing::default();
        // A live licence on application 10, and 3 and b + 5 awaiting a decision: only the
        // first three are final, not a whole batch.
        file(&mut lic, 2 * APPLICATION_BATCH + 7, &[3, b + 5]);
        lic.licences.push(Licence {
            app: 10,
            remaining: 1.0,
            expires_tick: 50,
            slot: 0,
        });
        assert_eq!(lic.final_run(), 3);
        assert!(lic.take_final(false).is_none());
        // 3 decided and the licence gone, the first batch is final, the second waits for b + 5.
        let due = lic.due.take_due(2).expect("3 is due");
        assert_eq!(due, vec![3]);
        lic.due.give_back(due);
        lic.app_mut(3).decided_tick = Some(2);
        assert_eq!(lic.final_run(), 10);
        lic.licences.clear();
        assert_eq!(lic.final_run(), APPLICATION_BATCH + 5);
        let (first, apps) = lic.take_final(false).expect("a whole batch");
        assert_eq!((first, apps.len(), apps[3].buyer), (0, APPLICATION_BATCH, 3));
        lic.drop_written(APPLICATION_BATCH);
        assert!(lic.take_final(false).is_none(), "b + 5 awaits a decision");
        assert_eq!((lic.written, lic.next_id(), lic.app(b + 5).buyer), (b, 2 * b + 7, b + 5));
        // The slot's list forgot what was written: its oldest undecided is still found.
        let mut seen: Vec<u32> = Vec::new();
        let (apps, written) = (&lic.applications, lic.written);
        lic.pending
            .oldest(|id| apps[(id - written) as usize].decided_tick.is_none(), |_, id| seen.push(id));
        assert_eq!(seen, vec![b + 5]);
        // At the end, whatever is left goes, final or not, a batch at most at a time.
        let (first, apps) = lic.take_final(true).expect("the rest");
        assert_eq!((first, apps.len()), (b, APPLICATION_BATCH));
        lic.drop_written(APPLICATION_BATCH);
        let (first, apps) = lic.take_final(true).expect("the rest");
        assert_eq!((first, apps.len()), (2 * b, 7));
        lic.drop_written(7);
        assert!(lic.take_final(true).is_none());
        assert_eq!(lic.next_id(), 2 * b + 7);
    }

    #[test]
    fn due_applications_come_out_by_tick_then_as_filed_and_only_once_due() {
        let mut q = DueQueue::default();
        for (tick, id) in [(5, 0), (3, 1), (5, 2), (3, 3), (9, 4)] {
            q.push(tick, id);
        }
        assert_eq!(q.len(), 5);
        assert_eq!(q.take_due(2), None, "nothing due before tick 3");
        let mut out: Vec<u32> = Vec::new();
        while let Some(list) = q.take_due(5) {
            out.extend(&list);
            q.give_back(list);
        }
        assert_eq!(out, vec![1, 3, 0, 2]);
        assert_eq!(q.len(), 1);
        // A list given back is reused, empty.
        q.push(7, 5);
        assert_eq!(q.take_due(8), Some(vec![5]));
        assert_eq!(q.take_due(9), Some(vec![4]));
        assert!(q.is_empty());
    }

    #[test]
    fn each_waiting_slot_is_visited_once_with_its_oldest_undecided_application() {
        let mut p = PendingBySlot::default();
        // Slots 0 and 2 of 3; application 2 was refused at once (never pending).
        for (id, slot, pending) in [(0, 2, true), (1, 0, true), (2, 0, false), (3, 2, true), (4, 0, true)] {
            p.add(id, slot, 3, pending);
        }
        let visits = |p: &mut PendingBySlot, decided: &[u32]| {
            let mut v: Vec<(usize, u32)> = Vec::new();
            p.oldest(|id| !decided.contains(&id), |slot, id| v.push((slot, id)));
            v
        };
        assert_eq!(visits(&mut p, &[]), vec![(2, 0), (0, 1)]);
        // The oldest of slot 2 decided: its next is the oldest now; slot 0's are all decided.
        assert_eq!(visits(&mut p, &[0, 1, 4]), vec![(2, 3)]);
        assert_eq!(visits(&mut p, &[0, 1, 3, 4]), vec![]);
        // A slot whose list emptied starts a new one.
        p.add(5, 0, 3, true);
        assert_eq!(visits(&mut p, &[0, 1, 3, 4]), vec![(0, 5)]);
    }
}
