//! Goods on their way: each supply link's ring of per-tick cells ([`InTransit`]), the queue
//! of goods held by customs or due beyond a ring's reach ([`ShipmentQueue`]), and this tick's
//! trade as customs statistics book it (the data; goods are sent and delivered in
//! `tick/shipping.rs`).

use crate::world::chunks::add_cells;
use crate::world::disjoint::Disjoint;
use crate::world::prefetch::prefetch;
use bevy_ecs::prelude::*;
use std::collections::BTreeMap;

/// Goods in the [`ShipmentQueue`]: either held by customs in the exporting nation (they have
/// not left yet) or travelling, due beyond their lane's ring (they wait until they arrive).
/// 16 bytes: the buyer, its input slot, the commodity and the exporting nation are the link's ([`crate::world::orders::SupplyLinks::owner()`] and the
/// supplier's nation), and the tick it is due (to arrive, or to be released by customs) is
/// where it waits in the [`ShipmentQueue`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Shipment {
    pub quantity: f64,
    /// Index of the supply link it travels on.
    pub link: u32,
    /// Travelling: the tick it left (the supplier, or customs after a hold). Held by customs:
    /// [`HELD`] | the ticks it travels once released (≥ 1).
    stamp: u32,
}

/// The bit of [`Shipment`]'s stamp that marks goods held by customs; the other 31 bits hold a
/// tick or a number of ticks (a run's ticks stay far below 2^31: 5.9 million years of days).
const HELD: u32 = 1 << 31;

impl Shipment {
    /// Goods that left at tick `sent_tick` and are travelling.
    pub fn travelling(quantity: f64, link: u32, sent_tick: u32) -> Shipment {
        Shipment {
            quantity,
            link,
            stamp: sent_tick.min(HELD - 1),
        }
    }

    /// Goods held by customs that travel `transit_ticks` (at least 1) once released.
    pub fn held_by_customs(quantity: f64, link: u32, transit_ticks: u32) -> Shipment {
        Shipment {
            quantity,
            link,
            stamp: HELD | transit_ticks.clamp(1, HELD - 1),
        }
    }

    /// Held by customs (it has not left yet).
    pub fn held(&self) -> bool {
        self.stamp & HELD != 0
    }

    /// The tick travelling goods left (the supplier, or customs after a hold); `None` while
    /// held.
    pub fn sent_tick(&self) -> Option<u32> {
        (!self.held()).then_some(self.stamp)
    }

    /// The ticks goods held by customs travel once released; 0 for travelling goods.
    pub fn held_transit(&self) -> u32 {
        if self.held() { self.stamp & !HELD } else { 0 }
    }
}

/// The steady flow on one supply line at the start date: one shipment was sent on each of
/// the `until` ticks before the start, so one arrives at each tick `0 .. until`. Kept as one
/// entry per line rather than one per shipment, so its memory does not grow with lead times.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Pipeline {
    pub shipment: Shipment,
    /// First tick at which nothing more arrives.
    pub until: u32,
}

/// Longest reach of the ring of per-tick buckets, in ticks. Shipments due further ahead (a
/// very long route or customs hold) wait in an ordered map until they come within reach, so
/// the queue's memory is bounded by this and by the number of shipments in flight, whatever
/// the lead times.
pub const RING_TICKS_MAX: usize = 4096;

/// Goods held by customs or due beyond their lane's ring ([`InTransit`]), by the tick they
/// are due to leave the queue: a ring of per-tick buckets that keep their memory (so shipping
/// allocates nothing once the ring has reached its working size), an ordered map for those
/// due beyond the ring's reach, and the starting pipelines longer than their lane's ring.
/// Within a tick, shipments arrive
/// in the order they were queued (the pipeline first), wherever they waited: a shipment
/// moves from the map into the ring before any later one due the same tick can be queued.
/// The ring doubles (rarely, up to [`RING_TICKS_MAX`]) when a shipment is due further ahead
/// than it reaches.
#[derive(Resource, Debug)]
pub struct ShipmentQueue {
    ring: Vec<Vec<Shipment>>,
    later: BTreeMap<u32, Vec<Shipment>>,
    /// The starting pipelines (see [`Pipeline`]); shipping takes them out each tick to
    /// deliver what they carry.
    pub pipeline: Vec<Pipeline>,
    /// The tick the ring's reach starts from.
    now: u32,
}

impl ShipmentQueue {
    /// A ring long enough for the longest transit time, in ticks (within [`RING_TICKS_MAX`]).
    pub fn new(max_lead_ticks: usize) -> ShipmentQueue {
        let len = max_lead_ticks.saturating_add(1).clamp(1, RING_TICKS_MAX);
        ShipmentQueue {
            ring: (0..len).map(|_| Vec::new()).collect(),
            later: BTreeMap::new(),
            pipeline: Vec::new(),
            now: 0,
        }
    }

    /// Adds a supply line's starting pipeline (see [`Pipeline`]).
    pub fn add_pipeline(&mut self, p: Pipeline) {
        self.pipeline.push(p);
    }

    /// The starting pipelines still delivering.
    pub fn pipelines(&self) -> &[Pipeline] {
        &self.pipeline
    }

    /// Every shipment queued (the starting pipelines not counted), in no particular order.
    pub fn shipments(&self) -> impl Iterator<Item = &Shipment> + '_ {
        self.ring.iter().chain(self.later.values()).flatten()
    }

    /// Shipments queued, the starting pipelines not counted.
    pub fn len(&self) -> usize {
        self.ring.iter().map(Vec::len).sum::<usize>() + self.later.values().map(Vec::len).sum::<usize>()
    }

    /// True when no shipment is queued (the starting pipelines not counted).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of per-tick buckets in the ring (its reach, in ticks).
    pub fn reach(&self) -> usize {
        self.ring.len()
    }

    /// Queues a shipment due at tick `due` (to arrive, or to be released by customs), which
    /// is not before `now`.
    pub fn push(&mut self, now: u32, due: u32, s: Shipment) {
        debug_assert!(due >= now, "shipment due in the past");
        debug_assert_eq!(now, self.now, "queued at another tick than the ring's");
        let ahead = (due.saturating_sub(now)) as usize;
        if ahead >= self.ring.len() && self.ring.len() < RING_TICKS_MAX {
            let mut len = self.ring.len();
            while ahead >= len && len < RING_TICKS_MAX {
                len = (len * 2).min(RING_TICKS_MAX);
            }
            // Bucket i of the old ring holds what is due at the one tick of
            // `self.now .. self.now + old length` that is i modulo the old length.
            let old = std::mem::take(&mut self.ring);
            let n = old.len() as u64;
            self.ring = (0..len).map(|_| Vec::new()).collect();
            for (i, bucket) in old.into_iter().enumerate() {
                let from = u64::from(self.now);
                let due = from + (i as u64 + n - from % n) % n;
                self.ring[(due % len as u64) as usize].extend(bucket);
            }
            self.advance(now);
        }
        if ahead < self.ring.len() {
            let n = self.ring.len();
            let bucket = &mut self.ring[due as usize % n];
            // Buckets keep their memory from tick to tick, so grow them by a quarter rather
            // than double: at 10^6 firms the shipments in flight are gigabytes, and doubling
            // would leave up to half of that unused.
            if bucket.len() == bucket.capacity() {
                bucket.reserve_exact(bucket.len() / 4 + 16);
            }
            bucket.push(s);
            // A bucket was last written a whole transit time ago, so its memory has left the
            // caches, and shipping writes to one bucket per transit time in turn: ask for the
            // line eight shipments ahead before it is written (a third of a 10^4-firm tick's
            // shipping waited for these lines).
            prefetch(bucket.spare_capacity_mut(), 8);
        } else {
            self.later.entry(due).or_default().push(s);
        }
    }

    /// Moves the ring's reach to start at `tick`: shipments from the map that are now within
    /// reach go into their buckets, before anything else due the same tick.
    pub fn advance(&mut self, tick: u32) {
        self.now = tick;
        let reach = u64::from(tick) + self.ring.len() as u64;
        while let Some(entry) = self.later.first_entry() {
            if u64::from(*entry.key()) >= reach {
                break;
            }
            let (due, list) = entry.remove_entry();
            let n = self.ring.len();
            self.ring[due as usize % n].extend(list);
        }
    }

    /// Takes the bucket of shipments due at `tick` (after the ring's reach has moved there);
    /// give it back with [`ShipmentQueue::give_back`] to keep its memory.
    pub fn take_due(&mut self, tick: u32) -> Vec<Shipment> {
        self.advance(tick);
        let n = self.ring.len();
        std::mem::take(&mut self.ring[tick as usize % n])
    }

    pub fn give_back(&mut self, tick: u32, mut bucket: Vec<Shipment>) {
        bucket.clear();
        let n = self.ring.len();
        let b = &mut self.ring[tick as usize % n];
        if b.is_empty() {
            *b = bucket;
        }
    }
}

/// Longest ring of a lane, in ticks (see [`InTransit`]): goods due further ahead wait in the
/// [`ShipmentQueue`] until they arrive.
pub const LANE_RING_MAX: usize = 4096;

/// No tick recorded for a ring cell's goods (see [`RingGroup::stamps`]).
pub const NO_TICK: u32 = u32::MAX;

/// A link whose goods have no lane yet (see [`InTransit::lane_of`]).
pub const NO_LANE: u32 = u32::MAX;

/// [`InTransit::staged`] of a link whose goods sent today went another way than staging
/// (held by customs, beyond reach, or two transit times on one link in one tick).
pub const UNSTAGED: u16 = u16::MAX;

/// Goods on their way to the buyers, by the tick they are due: a ring of per-tick cells per
/// *lane*, each cell the units due at one tick. A lane is one input of one buyer, from home
/// or from abroad: the goods its suppliers in its nation send it, or those from all other
/// nations. Goods due on the same tick in the same lane share a cell, whichever supplier sent
/// them; a buyer with five suppliers of an input from abroad has one ring for them, not five.
/// A lane's ring is one tick longer than the longest transit (jitter included, at most
/// [`LANE_RING_MAX`]) of the links that have sent goods on it, so goods sent today never land
/// in the cell being delivered. Goods held by customs and goods due beyond a ring's reach
/// wait in the [`ShipmentQueue`]; a starting pipeline longer than its ring keeps its far end
/// there too.
///
/// Sending runs supplier by supplier, on every core, and two suppliers of one buyer may be in
/// different threads; so sending does not write cells. It stages each link's goods: what it
/// sent today is its tally's `filled` ([`crate::world::orders::LinkTally`]), and
/// [`InTransit::staged`] says in how many ticks they are due. Then delivery, buyer by buyer,
/// puts each of the buyer's links' staged goods in their cell as it takes in the day's goods
/// (a lane is one buyer's, so one thread's). The rare link that sends goods due on two ticks
/// in one tick, or held by customs, is marked [`UNSTAGED`] and its goods go in one by one, on
/// one thread.
///
/// Layout: lanes with rings of the same length form a [`RingGroup`], whose cells are stored
/// tick by tick: the cells of all its lanes for one tick of the ring are adjacent, in lane
/// order. Lanes are made buyer by buyer, and delivery walks the buyers in that order: a few
/// sequential streams, one per ring length.
///
/// Memory: 8 bytes per tick of reach per lane, 12 bytes per lane, and 6 bytes per link (its
/// lane and what it staged); a candidate link gets a lane only when goods are first sent on it.
#[derive(Resource, Debug, Default)]
pub struct InTransit {
    pub lanes: Vec<Lane>,
    /// Each link's lane ([`NO_LANE`] until goods are first sent on it).
    pub lane_of: Vec<u32>,
    /// Each link's goods sent today, staged for delivery to put into their cell: the ticks
    /// until they are due (the goods are the link's tally's `filled`); 0 for nothing staged,
    /// [`UNSTAGED`] when they went in one by one.
    pub staged: Vec<u16>,
    pub groups: Vec<RingGroup>,
    /// Only while the invariants are checked: whether cells' departures are kept.
    recording: bool,
    /// The tick the rings are at (see [`InTransit::set_tick`]).
    tick: u32,
    /// Where each group's cells are, for [`InTransit::shared`] (made again at each call).
    views: Vec<GroupCells>,
    /// One bit per link: whether it has a lane (see [`InTransit::has_lane`]).
    laned: Vec<u64>,
}

/// A lane's place in its ring group, and today's change in its consignments on the way.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lane {
    /// Its column in its group's cells.
    pub pos: u32,
    /// Today's change in the number of consignments on their way in the lane that delivery
    /// does not see itself: +1 for goods into an empty cell or into the queue on one thread,
    /// −1 for goods from the queue into a cell that already holds some. Added to the buyer's
    /// `InputSlot::in_flight` at delivery, then 0.
    pub flight: i32,
    /// Its group.
    pub group: u16,
    /// Its ring's length, ticks.
    pub len: u16,
}

/// Who sent the goods of a cell, while the invariants are checked: the tick they left (the
/// supplier, or customs after a hold; [`NO_TICK`] for goods sent before the start or before
/// checks began), their link, and the earliest day they may arrive (the day they left plus
/// their route's shortest transit). A cell keeps the stamp with the latest such day.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stamp {
    pub left: u32,
    pub link: u32,
    pub earliest_day: u64,
}

impl Stamp {
    /// No stamp: goods that left before checks began.
    pub const NONE: Stamp = Stamp {
        left: NO_TICK,
        link: 0,
        earliest_day: 0,
    };
}

/// Which links have a lane (see [`InTransit::has_lane`]), as sending reads it while it
/// stages goods.
#[derive(Clone, Copy)]
pub struct Laned<'a>(&'a [u64]);

impl Laned<'_> {
    /// Whether link `link` has a lane.
    #[inline]
    pub fn has(&self, link: usize) -> bool {
        self.0[link / 64] & (1 << (link % 64)) != 0
    }
}

/// A cell of a lane's ring (see [`SharedRings::cell`]): its group and its place in the
/// group's cells.
#[derive(Clone, Copy, Debug, Default)]
pub struct Cell {
    group: u16,
    index: usize,
}

/// A ring group's cells as [`SharedRings`] reaches them.
#[derive(Clone, Copy, Debug)]
struct GroupCells {
    cells: *mut f64,
    /// Null unless departures are recorded.
    stamps: *mut Stamp,
    len: u32,
    now: u32,
    cap: u32,
}

// SAFETY: the pointers are dereferenced only through a `SharedRings`, which holds the whole
// `InTransit` mutably borrowed and writes each lane's cells from one thread at a time.
unsafe impl Send for GroupCells {}
// SAFETY: as above.
unsafe impl Sync for GroupCells {}

/// Index of column `pos`'s cell `ahead` ticks (less than `len`) from row `now`, in cells of
/// `cap` columns a row: the row of now, moved on and wrapped once, without a division.
#[inline]
fn cell_index(now: u32, len: u32, cap: u32, pos: u32, ahead: u32) -> usize {
    let mut row = now + ahead;
    if row >= len {
        row -= len;
    }
    row as usize * cap as usize + pos as usize
}

/// The rings as several threads use them at once, each on lanes and links of its own
/// (delivery on every core: `tick::shipping`). Every method taking a lane or a link is
/// `unsafe` with one contract: while it runs, no other thread uses that lane or link.
pub struct SharedRings<'a> {
    lanes: Disjoint<'a, Lane>,
    staged: Disjoint<'a, u16>,
    lane_of: &'a [u32],
    groups: &'a [GroupCells],
}

impl SharedRings<'_> {
    /// Link `link`'s lane ([`NO_LANE`]: none).
    #[inline]
    pub fn lane_of(&self, link: usize) -> u32 {
        self.lane_of[link]
    }

    /// Puts `quantity` due `ahead` ticks from now (within the ring's reach) into its cell of
    /// lane `lane`, stamped `stamp` (kept while checking); returns whether the cell held goods
    /// already.
    ///
    /// # Safety
    /// No other thread uses lane `lane` meanwhile.
    #[inline]
    pub unsafe fn put(&self, lane: u32, ahead: u32, quantity: f64, stamp: Stamp) -> bool {
        // SAFETY: the caller's promise.
        unsafe { self.put_into(self.cell(lane, ahead), quantity, stamp) }
    }

    /// Where the goods due `ahead` ticks from now (within the ring's reach) in lane `lane` go:
    /// their cell, for [`SharedRings::prefetch`] and [`SharedRings::put_into`]. The same cell
    /// [`SharedRings::put`] finds.
    ///
    /// # Safety
    /// No other thread writes lane `lane` meanwhile.
    #[inline]
    pub unsafe fn cell(&self, lane: u32, ahead: u32) -> Cell {
        // SAFETY: the caller's promise.
        let r = *unsafe { self.lanes.get(lane as usize) };
        let g = &self.groups[usize::from(r.group)];
        assert!(ahead < g.len, "beyond the ring");
        Cell {
            group: r.group,
            index: cell_index(g.now, g.len, g.cap, r.pos, ahead),
        }
    }

    /// Asks for cell `c` to be brought into cache, for a put a few steps later. Changes no
    /// value.
    #[inline]
    pub fn prefetch(&self, c: Cell) {
        crate::world::prefetch::prefetch_at(self.groups[usize::from(c.group)].cells.wrapping_add(c.index));
    }

    /// [`SharedRings::put`] into cell `c` (from [`SharedRings::cell`] on this tick): adds
    /// `quantity`, keeps `stamp` as `put` does, and returns whether the cell held goods already.
    ///
    /// # Safety
    /// No other thread uses the cell's lane meanwhile.
    #[inline]
    pub unsafe fn put_into(&self, c: Cell, quantity: f64, stamp: Stamp) -> bool {
        let g = &self.groups[usize::from(c.group)];
        // SAFETY: `cell` found the index inside the group's cells, and the lane is the
        // caller's alone.
        let cell = unsafe { &mut *g.cells.add(c.index) };
        let occupied = *cell != 0.0;
        *cell += quantity;
        if !g.stamps.is_null() && stamp.left != NO_TICK {
            // SAFETY: as for the cell; the stamps have one entry per cell.
            let s = unsafe { &mut *g.stamps.add(c.index) };
            if s.left == NO_TICK || stamp.earliest_day > s.earliest_day {
                *s = stamp;
            }
        }
        occupied
    }

    /// Takes the goods due now in lane `lane` out of their cell: the units, and their stamp
    /// ([`Stamp::NONE`] unless recorded).
    ///
    /// # Safety
    /// No other thread uses lane `lane` meanwhile.
    #[inline]
    pub unsafe fn take(&self, lane: u32) -> (f64, Stamp) {
        // SAFETY: the caller's promise.
        let r = *unsafe { self.lanes.get(lane as usize) };
        let g = self.groups[usize::from(r.group)];
        let c = cell_index(g.now, g.len, g.cap, r.pos, 0);
        // SAFETY: the cell is this lane's own (see `put`).
        let q = std::mem::replace(unsafe { &mut *g.cells.add(c) }, 0.0);
        let stamp = if g.stamps.is_null() || q == 0.0 {
            Stamp::NONE
        } else {
            // SAFETY: as for the cell.
            std::mem::replace(unsafe { &mut *g.stamps.add(c) }, Stamp::NONE)
        };
        (q, stamp)
    }

    /// Lane `lane`'s change in consignments on the way today, set back to 0.
    ///
    /// # Safety
    /// No other thread uses lane `lane` meanwhile.
    #[inline]
    pub unsafe fn take_flight(&self, lane: u32) -> i32 {
        // SAFETY: the caller's promise.
        std::mem::take(&mut unsafe { self.lanes.get(lane as usize) }.flight)
    }

    /// Adds `by` to lane `lane`'s change in consignments on the way today.
    ///
    /// # Safety
    /// No other thread uses lane `lane` meanwhile.
    #[inline]
    pub unsafe fn add_flight(&self, lane: u32, by: i32) {
        // SAFETY: the caller's promise.
        unsafe { self.lanes.get(lane as usize) }.flight += by;
    }

    /// The length of lane `lane`'s ring, ticks.
    ///
    /// # Safety
    /// No other thread writes lane `lane` meanwhile.
    #[inline]
    pub unsafe fn len(&self, lane: u32) -> u32 {
        // SAFETY: the caller's promise.
        u32::from(unsafe { self.lanes.get(lane as usize) }.len)
    }

    /// Link `link`'s staged goods (see [`InTransit::staged`]).
    ///
    /// # Safety
    /// No other thread writes link `link` meanwhile.
    #[inline]
    pub unsafe fn staged(&self, link: usize) -> u16 {
        // SAFETY: the caller's promise.
        *unsafe { self.staged.get(link) }
    }

    /// Link `link`'s staged goods (see [`InTransit::staged`]), set back to 0.
    ///
    /// # Safety
    /// No other thread uses link `link` meanwhile.
    #[inline]
    pub unsafe fn take_staged(&self, link: usize) -> u16 {
        // SAFETY: the caller's promise.
        std::mem::take(unsafe { self.staged.get(link) })
    }
}

/// The rings of one length: `len` rows (ticks of the ring) of `cap` columns (lanes), row by
/// row; `lanes` columns are in use.
#[derive(Debug, Default)]
pub struct RingGroup {
    pub len: u16,
    /// The row of the current tick (the tick modulo `len`).
    pub now: u32,
    pub lanes: u32,
    pub cap: u32,
    pub cells: Vec<f64>,
    /// While the invariants are checked: who sent each cell's goods (see [`Stamp`]), for the
    /// lead-time check. Empty otherwise.
    pub stamps: Vec<Stamp>,
}

impl RingGroup {
    /// The next unused column, the group grown by a quarter first when it has none.
    fn take_column(&mut self) -> u32 {
        if self.lanes == self.cap {
            self.grow(self.cap + self.cap / 4 + 4);
        }
        self.lanes += 1;
        self.lanes - 1
    }

    /// Index of column `pos`'s cell for the tick `ahead` ticks from now (less than the ring's
    /// length), without a division: the row of now, moved on and wrapped once.
    #[inline]
    pub fn cell(&self, pos: u32, ahead: u32) -> usize {
        cell_index(self.now, u32::from(self.len), self.cap, pos, ahead)
    }

    /// Room for `cap` columns, the cells in use kept where they were in their rows.
    fn grow(&mut self, cap: u32) {
        let (old, new) = (self.cap as usize, cap as usize);
        let rows = usize::from(self.len);
        let mut cells = vec![0.0; rows * new];
        let mut stamps = if self.stamps.is_empty() {
            Vec::new()
        } else {
            vec![Stamp::NONE; rows * new]
        };
        for r in 0..rows {
            cells[r * new..r * new + old].copy_from_slice(&self.cells[r * old..(r + 1) * old]);
            if !stamps.is_empty() {
                stamps[r * new..r * new + old].copy_from_slice(&self.stamps[r * old..(r + 1) * old]);
            }
        }
        self.cells = cells;
        self.stamps = stamps;
        self.cap = cap;
    }
}

impl InTransit {
    /// No lanes yet, for `links` links.
    pub fn new(links: usize) -> InTransit {
        InTransit {
            lanes: Vec::new(),
            lane_of: vec![NO_LANE; links],
            staged: vec![0; links],
            groups: Vec::new(),
            recording: false,
            tick: 0,
            views: Vec::new(),
            laned: vec![0; links.div_ceil(64)],
        }
    }

    /// The ring length for a link whose longest transit is `max_transit` ticks.
    pub fn ring_len(max_transit: u32) -> u16 {
        (max_transit as usize).saturating_add(1).clamp(2, LANE_RING_MAX) as u16
    }

    /// The ring length `link` needs at `tick_days` days a tick: its longest transit, jitter
    /// included, as shipping plans it (at least a tick), and one.
    pub fn ring_len_of(link: &crate::world::network::Link, tick_days: u32) -> u16 {
        InTransit::ring_len((u32::from(link.days) + u32::from(link.jitter_days)).div_ceil(tick_days).max(1))
    }

    /// Lanes at the start, for `links` links: `lanes` gives each lane's ring length, in lane
    /// order, and `lane_of` each link's lane ([`NO_LANE`] for none). Each group gets a
    /// sixteenth more columns than it needs, for lanes made during the run.
    pub fn with_lanes(lanes: &[u16], lane_of: Vec<u32>) -> InTransit {
        let mut t = InTransit::new(lane_of.len());
        let mut counts: std::collections::BTreeMap<u16, u32> = std::collections::BTreeMap::new();
        for &len in lanes {
            *counts.entry(len).or_default() += 1;
        }
        for (&len, &n) in &counts {
            let cap = n + n / 16 + 4;
            t.groups.push(RingGroup {
                len,
                now: 0,
                lanes: 0,
                cap,
                cells: vec![0.0; usize::from(len) * cap as usize],
                stamps: Vec::new(),
            });
        }
        for &len in lanes {
            t.add_lane(len);
        }
        for (k, &lane) in lane_of.iter().enumerate() {
            if lane != NO_LANE {
                assert!((lane as usize) < t.lanes.len(), "link {k}'s lane {lane} does not exist");
                t.laned[k / 64] |= 1 << (k % 64);
            }
        }
        t.lane_of = lane_of;
        t
    }

    /// A new lane with a ring of `len` ticks: the next column of the group of that length
    /// (made if there is none; grown by a quarter when full). Returns its index.
    fn add_lane(&mut self, len: u16) -> u32 {
        let g = self.group_of_len(len);
        let group = &mut self.groups[g];
        let pos = group.take_column();
        self.lanes.push(Lane {
            pos,
            flight: 0,
            group: g as u16,
            len,
        });
        (self.lanes.len() - 1) as u32
    }

    /// The group of rings of `len` ticks, made if there is none.
    fn group_of_len(&mut self, len: u16) -> usize {
        match self.groups.iter().position(|g| g.len == len) {
            Some(g) => g,
            None => {
                self.groups.push(RingGroup {
                    len,
                    now: self.tick % u32::from(len),
                    stamps: Vec::new(),
                    ..Default::default()
                });
                let g = self.groups.len() - 1;
                if self.recording {
                    self.groups[g].stamps = vec![Stamp::NONE; self.groups[g].cells.len()];
                }
                g
            }
        }
    }

    /// Gives link `link` its lane, for goods about to be sent on it: the lane of another link
    /// of the same buyer and input from the same side of the border if there is one (its
    /// ring lengthened to `len` ticks if shorter), else a new lane of `len` ticks. The links
    /// of one input are adjacent; `owner` gives a link's owner if it is or has been a supplier
    /// (a link that never was one has no lane, and is passed over).
    pub fn give_lane(&mut self, link: usize, len: u16, owner: impl Fn(usize) -> Option<crate::world::orders::LinkOwner>) {
        debug_assert_eq!(self.lane_of[link], NO_LANE, "link {link} has a lane");
        let me = owner(link).expect("goods are sent on a supplier's link");
        let abroad = me.importer != me.exporter;
        // Whether link `k` is of the same input and has a lane from the same side of the
        // border (None: it is of another input, and so are all beyond it).
        let matches = |k: usize, lane_of: &[u32]| match owner(k) {
            Some(o) if o.buyer != me.buyer || o.slot != me.slot => None,
            Some(o) => Some(lane_of[k] != NO_LANE && (o.importer != o.exporter) == abroad),
            None => Some(false),
        };
        let mut found = NO_LANE;
        let mut k = link;
        while k > 0 && found == NO_LANE {
            k -= 1;
            match matches(k, &self.lane_of) {
                None => break,
                Some(true) => found = self.lane_of[k],
                Some(false) => {}
            }
        }
        let mut k = link + 1;
        while k < self.lane_of.len() && found == NO_LANE {
            match matches(k, &self.lane_of) {
                None => break,
                Some(true) => found = self.lane_of[k],
                Some(false) => {}
            }
            k += 1;
        }
        let lane = if found == NO_LANE {
            self.add_lane(len)
        } else {
            if self.lanes[found as usize].len < len {
                self.lengthen(found, len);
            }
            found
        };
        self.lane_of[link] = lane;
        self.laned[link / 64] |= 1 << (link % 64);
    }

    /// Moves lane `lane` to the group of rings of `len` ticks (longer than its own), with the
    /// goods (and stamps) it holds due at the same ticks; its old column stays unused.
    fn lengthen(&mut self, lane: u32, len: u16) {
        let old = self.lanes[lane as usize];
        let g = self.group_of_len(len);
        let pos = self.groups[g].take_column();
        for ahead in 0..u32::from(old.len) {
            let from = &mut self.groups[usize::from(old.group)];
            let c = from.cell(old.pos, ahead);
            let q = std::mem::replace(&mut from.cells[c], 0.0);
            let s = if from.stamps.is_empty() {
                Stamp::NONE
            } else {
                std::mem::replace(&mut from.stamps[c], Stamp::NONE)
            };
            let to = &mut self.groups[g];
            let c = to.cell(pos, ahead);
            to.cells[c] = q;
            if !to.stamps.is_empty() {
                to.stamps[c] = s;
            }
        }
        self.lanes[lane as usize] = Lane {
            pos,
            group: g as u16,
            len,
            ..old
        };
    }

    /// Whether link `link` has a lane: one bit a link, so that a pass over the day's orders
    /// can ask without reaching into the per-link list (at 10^6 firms a cache miss each).
    #[inline]
    pub fn has_lane(&self, link: usize) -> bool {
        Laned(&self.laned).has(link)
    }

    /// What sending uses at once: which links have a lane (read) and each link's staging
    /// (written by the part that sends on the link, see [`Disjoint`]).
    pub fn sending(&mut self) -> (Laned<'_>, Disjoint<'_, u16>) {
        (Laned(&self.laned), Disjoint::new(&mut self.staged))
    }

    /// The length of link `link`'s lane's ring, ticks (0: no lane).
    pub fn reach_of(&self, link: usize) -> u32 {
        match self.lane_of[link] {
            NO_LANE => 0,
            lane => u32::from(self.lanes[lane as usize].len),
        }
    }

    /// The rings for several threads to use at once, each on lanes and links of its own (see
    /// [`SharedRings`]); lanes cannot be added meanwhile.
    pub fn shared(&mut self) -> SharedRings<'_> {
        self.views.clear();
        for g in &mut self.groups {
            self.views.push(GroupCells {
                cells: g.cells.as_mut_ptr(),
                stamps: if g.stamps.is_empty() {
                    std::ptr::null_mut()
                } else {
                    g.stamps.as_mut_ptr()
                },
                len: u32::from(g.len),
                now: g.now,
                cap: g.cap,
            });
        }
        SharedRings {
            lanes: Disjoint::new(&mut self.lanes),
            staged: Disjoint::new(&mut self.staged),
            lane_of: &self.lane_of,
            groups: &self.views,
        }
    }

    /// Moves every ring to tick `tick`: cells are then addressed by ticks ahead of it.
    pub fn set_tick(&mut self, tick: u32) {
        self.tick = tick;
        for g in &mut self.groups {
            g.now = tick % u32::from(g.len);
        }
    }

    /// Starts or stops recording who sent each cell's goods (for the lead-time check); goods
    /// already on their way when it starts are not checked.
    pub fn record_departures(&mut self, on: bool) {
        if on == self.recording {
            return;
        }
        self.recording = on;
        for g in &mut self.groups {
            g.stamps = if on { vec![Stamp::NONE; g.cells.len()] } else { Vec::new() };
        }
    }

    /// Whether departures are recorded (see [`InTransit::record_departures`]).
    pub fn recording(&self) -> bool {
        self.recording
    }

    /// Cells in all rings (columns in use and spare).
    pub fn cells(&self) -> usize {
        self.groups.iter().map(|g| g.cells.len()).sum()
    }

    /// Units on their way in lane `lane`'s ring.
    pub fn lane_total(&self, lane: u32) -> f64 {
        let l = &self.lanes[lane as usize];
        let g = &self.groups[l.group as usize];
        (0..u32::from(l.len)).map(|ahead| g.cells[g.cell(l.pos, ahead)]).sum()
    }

    /// Units on their way in the rings (the queue's not counted).
    pub fn total(&self) -> f64 {
        self.groups.iter().flat_map(|g| g.cells.iter()).sum()
    }
}

/// This tick's trade as customs counts it when goods leave: exports per nation and commodity,
/// and flows per (exporter, importer, commodity). (Imports, what arrived from abroad, are
/// summed from the buyers' inputs by observation.)
#[derive(Resource, Debug, Clone)]
pub struct TradeBook {
    pub nations: usize,
    pub commodities: usize,
    /// Units exported, `nation * commodities + commodity`.
    pub exported: Vec<f64>,
    /// Units leaving, `(exporter * nations + importer) * commodities + commodity`.
    pub flow_quantity: Vec<f64>,
    /// Their value at the importer's regional price, USD.
    pub flow_value: Vec<f64>,
    /// Import tariff due on them, USD.
    pub flow_tariff: Vec<f64>,
}

impl TradeBook {
    pub fn new(nations: usize, commodities: usize) -> TradeBook {
        TradeBook {
            nations,
            commodities,
            exported: vec![0.0; nations * commodities],
            flow_quantity: vec![0.0; nations * nations * commodities],
            flow_value: vec![0.0; nations * nations * commodities],
            flow_tariff: vec![0.0; nations * nations * commodities],
        }
    }
}

impl TradeBook {
    /// Sets every total to 0, keeping the book's shape.
    pub fn clear(&mut self) {
        for v in [
            &mut self.exported,
            &mut self.flow_quantity,
            &mut self.flow_value,
            &mut self.flow_tariff,
        ] {
            v.fill(0.0);
        }
    }

    /// Adds `other`'s exports and flows, cell by cell.
    pub fn add_exports(&mut self, other: &TradeBook) {
        for (a, b) in [
            (&mut self.exported, &other.exported),
            (&mut self.flow_quantity, &other.flow_quantity),
            (&mut self.flow_value, &other.flow_value),
            (&mut self.flow_tariff, &other.flow_tariff),
        ] {
            add_cells(a, b);
        }
    }

    /// Books goods leaving `exporter` for `importer` today.
    pub fn book_export(&mut self, exporter: u16, importer: u16, commodity: u16, quantity: f64, price: f64, tariff: f64) {
        let (nn, nc) = (self.nations, self.commodities);
        let c = commodity as usize;
        self.exported[exporter as usize * nc + c] += quantity;
        let cell = (exporter as usize * nn + importer as usize) * nc + c;
        self.flow_quantity[cell] += quantity;
        let value = quantity * price;
        self.flow_value[cell] += value;
        // No tariff adds nothing, even on a value that has overflowed (inf × 0 would be NaN).
        if tariff != 0.0 {
            self.flow_tariff[cell] += value * tariff;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::orders::LinkOwner;

    /// Goods into a cell of a lane, through the view every pass uses (see [`SharedRings::put`]).
    fn put(t: &mut InTransit, lane: u32, ahead: u32, quantity: f64, stamp: Stamp) -> bool {
        let s = t.shared();
        // SAFETY: one thread.
        unsafe { s.put(lane, ahead, quantity, stamp) }
    }

    /// Goods out of a lane's cell for today (see [`SharedRings::take`]).
    fn take(t: &mut InTransit, lane: u32) -> (f64, Stamp) {
        let s = t.shared();
        // SAFETY: one thread.
        unsafe { s.take(lane) }
    }

    /// Links of one buyer (firm 0), input `slot`, from home (nation 0) or abroad (nation 1).
    fn owner(slot: u16, abroad: bool) -> LinkOwner {
        LinkOwner {
            buyer: 0,
            slot,
            commodity: 0,
            exporter: u16::from(abroad),
            importer: 0,
        }
    }

    fn stamp(left: u32, link: u32, earliest_day: u64) -> Stamp {
        Stamp { left, link, earliest_day }
    }

    /// A shipment due at `due` whose link records that tick (so a test can see when it came).
    fn push(q: &mut ShipmentQueue, now: u32, due: u32, quantity: f64) {
        q.push(now, due, Shipment::travelling(quantity, due, now));
    }

    /// Takes what is due at each tick of `from..to`, as `ship_goods` does.
    fn drain(q: &mut ShipmentQueue, from: u32, to: u32) -> Vec<(u32, f64)> {
        let mut out = Vec::new();
        for t in from..to {
            let due = q.take_due(t);
            assert!(due.iter().all(|s| s.link == t), "tick {t}: {due:?}");
            out.extend(due.iter().map(|s| (t, s.quantity)));
            q.give_back(t, due);
        }
        out
    }

    #[test]
    fn lanes_deliver_each_tick_what_was_due_then_and_lengthen_without_moving_goods() {
        assert_eq!(std::mem::size_of::<Lane>(), 12);
        // Lanes 0 and 1 have rings of 3 ticks (one group), lane 2 one of 5; link 1 has none.
        let mut t = InTransit::with_lanes(&[3, 3, 5], vec![0, NO_LANE, 1, 2]);
        assert_eq!(t.groups.len(), 2);
        assert!(!t.has_lane(1) && t.has_lane(3));
        assert_eq!((t.reach_of(0), t.reach_of(1), t.reach_of(3)), (3, 0, 5));
        t.set_tick(0);
        assert!(!put(&mut t, 0, 1, 2.0, Stamp::NONE), "an empty cell");
        assert!(put(&mut t, 0, 1, 0.5, Stamp::NONE), "goods due the same tick share a cell");
        assert!(!put(&mut t, 0, 2, 4.0, Stamp::NONE));
        assert!(!put(&mut t, 1, 2, 7.0, Stamp::NONE));
        assert!(!put(&mut t, 2, 4, 9.0, Stamp::NONE));
        let mut got = Vec::new();
        for tick in 0..6 {
            t.set_tick(tick);
            if tick == 1 {
                // Lane 1 lengthens to 6 ticks for a longer route, keeping its goods due when
                // they were; lanes made meanwhile grow their group past its spare columns.
                t.lengthen(1, 6);
                assert_eq!(t.lanes[1].len, 6);
                for _ in 0..20 {
                    t.add_lane(3);
                }
                assert!(!put(&mut t, 1, 5, 1.5, Stamp::NONE), "due at tick 6, beyond the old ring");
            }
            for lane in 0..3 {
                let (q, _) = take(&mut t, lane);
                if q != 0.0 {
                    got.push((tick, lane, q));
                }
            }
        }
        t.set_tick(6);
        got.push((6, 1, take(&mut t, 1).0));
        assert_eq!(got, vec![(1, 0, 2.5), (2, 0, 4.0), (2, 1, 7.0), (4, 2, 9.0), (6, 1, 1.5)]);
        assert_eq!(t.total(), 0.0);
        // The ring length: a tick longer than the longest transit, within its bounds.
        assert_eq!((InTransit::ring_len(0), InTransit::ring_len(10)), (2, 11));
        assert_eq!(usize::from(InTransit::ring_len(u32::MAX)), LANE_RING_MAX);
    }

    #[test]
    fn a_link_finds_its_inputs_lane_past_candidates_that_were_never_suppliers() {
        // Input 0: link 0 from home (with a lane), links 1-2 candidates never qualified (no
        // owner), link 3 qualified from home; input 1: link 4 from home, link 5 a candidate.
        let owners = [
            Some(owner(0, false)),
            None,
            None,
            Some(owner(0, false)),
            Some(owner(1, false)),
            None,
        ];
        let mut t = InTransit::with_lanes(&[4, 4], vec![0, NO_LANE, NO_LANE, NO_LANE, 1, NO_LANE]);
        let owners = |k: usize| owners[k];
        t.give_lane(3, 4, owners);
        assert_eq!(t.lane_of[3], 0, "the lane of link 0, past the candidates between them");
        let mut t = InTransit::with_lanes(&[4, 4], vec![NO_LANE, NO_LANE, NO_LANE, NO_LANE, 1, NO_LANE]);
        t.give_lane(3, 4, owners);
        assert_eq!(t.lane_of[3], 2, "input 1's lane is not input 0's: a lane of its own");
    }

    #[test]
    fn a_link_joins_the_lane_of_its_input_from_its_side_of_the_border() {
        // Links 0-2 supply input 0 (0 and 2 from home, 1 from abroad), links 3-4 input 1.
        let owners = [owner(0, false), owner(0, true), owner(0, false), owner(1, false), owner(1, false)];
        let mut t = InTransit::with_lanes(&[4], vec![0, NO_LANE, NO_LANE, NO_LANE, NO_LANE]);
        let owners = |k: usize| Some(owners[k]);
        t.give_lane(2, 6, owners);
        assert_eq!(t.lane_of[2], 0, "the lane from home of input 0, lengthened");
        assert_eq!(t.lanes[0].len, 6);
        t.give_lane(1, 3, owners);
        assert_eq!(t.lane_of[1], 1, "a new lane from abroad");
        t.give_lane(4, 3, owners);
        t.give_lane(3, 2, owners);
        assert_eq!((t.lane_of[3], t.lane_of[4]), (2, 2), "input 1 has a lane of its own");
        assert_eq!(t.lanes[2].len, 3, "a lane is never shortened");
    }

    #[test]
    fn a_cell_keeps_the_stamp_that_allows_the_latest_arrival_only_while_checking() {
        let mut t = InTransit::with_lanes(&[4], vec![0]);
        t.set_tick(0);
        put(&mut t, 0, 3, 1.0, stamp(0, 7, 10));
        t.record_departures(true);
        assert!(t.recording());
        t.set_tick(1);
        put(&mut t, 0, 2, 1.0, stamp(1, 5, 30));
        t.set_tick(2);
        put(&mut t, 0, 1, 1.0, stamp(2, 6, 20));
        t.set_tick(3);
        assert_eq!(take(&mut t, 0), (3.0, stamp(1, 5, 30)), "the latest earliest arrival");
        t.record_departures(false);
        assert!(t.groups.iter().all(|g| g.stamps.is_empty()));
    }

    #[test]
    fn a_shipment_is_16_bytes_and_keeps_its_stamp() {
        assert_eq!(std::mem::size_of::<Shipment>(), 16);
        let s = Shipment::travelling(2.5, 7, 1234);
        assert_eq!((s.held(), s.sent_tick(), s.held_transit()), (false, Some(1234), 0));
        let h = Shipment::held_by_customs(2.5, 7, 30);
        assert_eq!((h.held(), h.sent_tick(), h.held_transit()), (true, None, 30));
        assert_eq!(Shipment::held_by_customs(1.0, 0, 0).held_transit(), 1);
    }

    #[test]
    fn the_ring_grows_without_losing_or_reordering_what_waits_in_it() {
        let mut q = ShipmentQueue::new(4);
        let mut got = drain(&mut q, 0, 4);
        // At tick 3 the ring reaches ticks 3..8; fill it, one bucket twice, then reach far.
        for (due, x) in [(4, 1.0), (7, 2.0), (5, 3.0), (7, 4.0), (6, 5.0)] {
            push(&mut q, 3, due, x);
        }
        push(&mut q, 3, 40, 6.0);
        assert_eq!(q.reach(), 40);
        push(&mut q, 3, 7, 7.0);
        got.extend(drain(&mut q, 4, 41));
        assert_eq!(got, vec![(4, 1.0), (5, 3.0), (6, 5.0), (7, 2.0), (7, 4.0), (7, 7.0), (40, 6.0)]);
        assert!(q.is_empty());
    }

    #[test]
    fn far_shipments_wait_outside_the_ring_and_arrive_on_time_in_queued_order() {
        let mut q = ShipmentQueue::new(2);
        let far = RING_TICKS_MAX as u32 * 3;
        push(&mut q, 0, far, 1.0);
        push(&mut q, 0, 5, 2.0);
        push(&mut q, 0, far, 3.0);
        assert_eq!(q.reach(), RING_TICKS_MAX, "the ring grows only to its cap");
        assert_eq!(q.len(), 3);
        let mut got = drain(&mut q, 0, far - 9);
        // Queued later, when its tick is within reach: after those queued earlier for it.
        push(&mut q, far - 10, far, 4.0);
        got.extend(drain(&mut q, far - 9, far + 1));
        assert_eq!(got, vec![(5, 2.0), (far, 1.0), (far, 3.0), (far, 4.0)]);
        assert!(q.is_empty());
    }

    #[test]
    fn a_lead_time_of_four_billion_days_costs_no_memory_beyond_the_capped_ring() {
        let mut q = ShipmentQueue::new(u32::MAX as usize);
        assert_eq!(q.reach(), RING_TICKS_MAX);
        push(&mut q, 0, u32::MAX, 1.0);
        assert_eq!(q.reach(), RING_TICKS_MAX);
        assert_eq!(q.len(), 1);
    }
}
