//! Markets (tick step 4): suppliers fill orders from stock, sharing it out by their
//! allocation rule when short, and prices move in each price region with the cover of the
//! region's stocks and with its producers' costs.

use crate::model::{Allocation, PriceRules};
use crate::world::chunks::{add_cells, chunked, chunks};
use crate::world::clock::Clock;
use crate::world::firm::{Finished, Inputs, Plant, Production, Trading};
use crate::world::invariants::{Invariants, ROUNDING};
use crate::world::orders::{Order, OrderBook, SupplyLinks, Terms};
use crate::world::params::Params;
use crate::world::prices::PriceBook;
use crate::world::registry::Registry;
use crate::world::workers::pieces;
use bevy_ecs::prelude::*;

/// How far a price may move from its reference, as a factor either way: a price stays
/// within [reference / 10^6, reference × 10^6]. It keeps value = quantity × price finite within
/// the model file's ranges (price ≤ 10^12 USD, quantities ≤ 10^12 × 366 × 10^6 units) whatever
/// the price rules: with a strong response to cover and a weak pull to cost, a region that has
/// run out settles at anchor × 1000^(sensitivity / weight), which can be e^69,000.
pub const PRICE_RANGE: f64 = 1e6;

/// Smallest stock cover (held ÷ wanted) a price responds to: a region that has run out reads
/// as holding a thousandth of what it wants. Only keeps ln(cover) finite; with the shipped
/// rules (sensitivity = weight) an empty region settles at 1,000 × its cost anchor.
pub const MIN_COVER: f64 = 1e-3;
/// Largest stock cover a price responds to: a glut of a thousand times the wanted stock.
pub const MAX_COVER: f64 = 1e3;

/// One order as a short supplier sees it when it shares out its stock.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Claim {
    /// Units ordered.
    pub quantity: f64,
    /// The buyer's purchase history with this supplier that the order carries, units per
    /// tick: its link's smoothed deliveries, split among the link's orders of this tick in
    /// proportion to their quantities. Used by `TurnAndEarn`.
    pub history: f64,
    /// The buyer is in the supplier's nation. Used by `HomeFirst`.
    pub home: bool,
}

/// Shares a supplier's `stock` (units) among `claims` by `rule`, writing each claim's fill
/// (units) into `out` (same length). When the claims add up to no more than the stock, each
/// is filled whole; otherwise all the stock is shared out (a stock below zero, a rounding
/// error, fills nothing) and no claim gets more than it asked:
/// - `Proportional`: every claim gets the same share, stock / total;
/// - `TurnAndEarn`: claims with a history share the stock in proportion to it, each capped at
///   its quantity, what capped claims leave being shared again among the others
///   (water-filling); claims without a history share what is left in proportion to their
///   quantities;
/// - `HomeFirst`: home claims are served first, in proportion to their quantities if the
///   stock cannot cover them all; the others share the rest in proportion to theirs.
pub fn allocate(stock: f64, claims: &[Claim], rule: Allocation, out: &mut [f64]) {
    let total: f64 = claims.iter().map(|c| c.quantity).sum();
    if total <= stock {
        for (o, c) in out.iter_mut().zip(claims) {
            *o = c.quantity;
        }
        return;
    }
    let stock = stock.max(0.0);
    match rule {
        Allocation::Proportional => {
            let ratio = stock / total;
            for (o, c) in out.iter_mut().zip(claims) {
                *o = c.quantity * ratio;
            }
        }
        Allocation::HomeFirst => {
            let home: f64 = claims.iter().filter(|c| c.home).map(|c| c.quantity).sum();
            let away: f64 = claims.iter().filter(|c| !c.home).map(|c| c.quantity).sum();
            let (home_ratio, away_ratio) = if home >= stock {
                (stock / home, 0.0)
            } else {
                (1.0, ((stock - home) / away).min(1.0))
            };
            for (o, c) in out.iter_mut().zip(claims) {
                *o = c.quantity * if c.home { home_ratio } else { away_ratio };
            }
        }
        Allocation::TurnAndEarn => {
            // Open claims (with a history, not yet filled whole) are marked NaN.
            let mut left = stock;
            for (o, c) in out.iter_mut().zip(claims) {
                *o = if c.history > 0.0 && c.quantity > 0.0 { f64::NAN } else { 0.0 };
            }
            loop {
                let weight: f64 = claims
                    .iter()
                    .zip(out.iter())
                    .filter(|(_, o)| o.is_nan())
                    .map(|(c, _)| c.history)
                    .sum();
                if weight <= 0.0 {
                    break;
                }
                // Claims whose share would reach their quantity are filled whole; the rest
                // is shared again. When none is capped, the open claims share what is left.
                let mut capped = false;
                for (o, c) in out.iter_mut().zip(claims) {
                    if o.is_nan() && left * c.history / weight >= c.quantity {
                        *o = c.quantity;
                        left -= c.quantity;
                        capped = true;
                    }
                }
                if !capped {
                    for (o, c) in out.iter_mut().zip(claims) {
                        if o.is_nan() {
                            *o = left * c.history / weight;
                        }
                    }
                    left = 0.0;
                    break;
                }
            }
            let newcomers: f64 = claims.iter().filter(|c| c.history <= 0.0).map(|c| c.quantity).sum();
            if left > 0.0 && newcomers > 0.0 {
                let ratio = (left / newcomers).min(1.0);
                for (o, c) in out.iter_mut().zip(claims) {
                    if c.history <= 0.0 {
                        *o = c.quantity * ratio;
                    }
                }
            }
        }
    }
}

/// Each supplier fills its orders from finished stock. When the orders exceed the stock, it
/// ships all it has, shared out by its allocation rule ([`allocate`]). Links then update their
/// purchase history (if a supplier uses it); suppliers learn their expected sales from the
/// orders received in [`adjust_prices`]' pass over the firms. Each
/// supplier fills only its own orders, so suppliers fill on every core when parallel, the
/// book cut into parts of whole suppliers.
#[allow(clippy::too_many_arguments)]
pub fn fill_orders(
    mut book: ResMut<OrderBook>,
    mut links: ResMut<SupplyLinks>,
    firms: Query<(&Plant, &mut Finished)>,
    registry: Res<Registry>,
    clock: Res<Clock>,
    params: Res<Params>,
    mut inv: ResMut<Invariants>,
    mut scratch: Local<FillScratch>,
) {
    // (Each firm's counters of orders received and goods shipped were set to zero when its
    // day began, in production; a supplier's are set here when it fills.)
    let (orders, terms) = book.orders_and_terms();
    let pool = bevy_tasks::ComputeTaskPool::get();
    let parts = pieces(params.parallel, orders.len());
    let scratch = &mut *scratch;
    OrderBook::cut_by_supplier(orders, terms, parts, &mut scratch.cuts);
    scratch.parts.resize_with(parts.max(scratch.parts.len()), FillPart::default);
    {
        let (firms, registry, history) = (&firms, &*registry, &links.history[..]);
        if parts == 1 {
            fill_part(orders, terms, firms, registry, history, &mut scratch.parts[0]);
        } else {
            pool.scope(|s| {
                let mut rest = &mut orders[..];
                for (w, part) in scratch.cuts.windows(2).zip(scratch.parts.iter_mut()) {
                    let (mine, others) = std::mem::take(&mut rest).split_at_mut(w[1] - w[0]);
                    rest = others;
                    s.spawn(async move { fill_part(mine, terms, firms, registry, history, part) });
                }
            });
        }
    }
    inv.clamped += scratch.parts[..parts]
        .iter_mut()
        .map(|p| std::mem::take(&mut p.clamped))
        .sum::<u64>();
    if links.track_history {
        // h ← h + w × (filled − h), with w = tick / history_days.
        let w = (f64::from(clock.tick_days) / params.selling.history_days).min(1.0);
        for h in links.history.iter_mut() {
            *h -= w * *h;
        }
        for o in orders.iter() {
            links.history[terms.of(o).trade as usize] += w * o.filled;
        }
    }
}

/// Filling's lists, kept from tick to tick: where the book is cut, and each part's scratch.
#[derive(Default)]
pub struct FillScratch {
    cuts: Vec<usize>,
    parts: Vec<FillPart>,
}

/// One part's claims and fills of a rationing supplier, and its count of stocks set to zero.
#[derive(Default)]
struct FillPart {
    claims: Vec<Claim>,
    fills: Vec<f64>,
    clamped: u64,
}

/// Fills the orders of one part of the book (whole suppliers', see
/// [`OrderBook::cut_by_supplier`]) from each supplier's finished stock.
fn fill_part(
    orders: &mut [Order],
    terms: Terms<'_>,
    firms: &Query<(&Plant, &mut Finished)>,
    registry: &Registry,
    history: &[f64],
    part: &mut FillPart,
) {
    let FillPart { claims, fills, clamped } = part;
    let mut start = 0;
    while start < orders.len() {
        let supplier = terms.of(&orders[start]).supplier;
        let mut end = start;
        let mut total = 0.0;
        while end < orders.len() && terms.of(&orders[end]).supplier == supplier {
            total += orders[end].quantity;
            end += 1;
        }
        // SAFETY: a supplier's orders are all in one part, so no other part takes this
        // supplier's `Finished` while this one holds it.
        let (_, mut fin) = unsafe { firms.get_unchecked(registry.entity[supplier as usize]) }.expect("supplier entity");
        let rationed = total > fin.stock;
        if rationed {
            claims_of(&orders[start..end], terms, supplier, history, registry, claims);
            fills.clear();
            fills.resize(claims.len(), 0.0);
            allocate(fin.stock, claims, registry.allocation[supplier as usize], fills);
        }
        let mut shipped = 0.0;
        for (k, o) in orders[start..end].iter_mut().enumerate() {
            o.filled = if rationed { fills[k] } else { o.quantity };
            shipped += o.filled;
        }
        fin.received = total;
        fin.shipped = shipped;
        fin.stock -= shipped;
        // A rationing supplier ships all it has: what the sum of the shares leaves, above or
        // below zero, is rounding.
        if rationed && fin.stock != 0.0 && fin.stock.abs() <= ROUNDING * fin.peak {
            fin.stock = 0.0;
            *clamped += 1;
        }
        start = end;
    }
}

/// The claims of one supplier's orders (sorted by buyer, slot and licence, so a link's
/// orders are adjacent): each order carries its link's history in proportion to its quantity.
/// `history` is every supplier link's, by trade index (empty when none is kept).
fn claims_of(orders: &[Order], terms: Terms<'_>, supplier: u32, history: &[f64], registry: &Registry, claims: &mut Vec<Claim>) {
    claims.clear();
    let home = registry.nation[supplier as usize];
    let mut k = 0;
    while k < orders.len() {
        let (link, trade) = (terms.of(&orders[k]).link, terms.of(&orders[k]).trade);
        let mut end = k;
        let mut on_link = 0.0;
        while end < orders.len() && terms.of(&orders[end]).link == link {
            on_link += orders[end].quantity;
            end += 1;
        }
        for o in &orders[k..end] {
            claims.push(Claim {
                quantity: o.quantity,
                // (No histories are kept when no supplier shares stock by them.)
                history: if history.is_empty() || on_link <= 0.0 {
                    0.0
                } else {
                    history[trade as usize] * o.quantity / on_link
                },
                home: terms.of(o).importer == home,
            });
        }
        k = end;
    }
}

/// One chunk of firms' sums for the price step (see `world::chunks`), per (region,
/// commodity) cell: what the region holds and wants to hold, what its buyers want, and its
/// producers' expected output and cost-weighted output.
#[derive(Default)]
pub struct PriceSums {
    held: Vec<f64>,
    wanted: Vec<f64>,
    buyers: Vec<f64>,
    output: Vec<f64>,
    weighted_cost: Vec<f64>,
}

impl PriceSums {
    fn clear(&mut self, cells: usize) {
        for v in [
            &mut self.held,
            &mut self.wanted,
            &mut self.buyers,
            &mut self.output,
            &mut self.weighted_cost,
        ] {
            v.clear();
            v.resize(cells, 0.0);
        }
    }
}

/// What the price step reads of each firm (and, of its `Finished`, the expected sales it
/// updates).
type MarketFirm<'a> = (&'a Plant, &'a Production, &'a mut Finished, &'a Inputs, Option<&'a Trading>);

/// Moves each (region, commodity) price as a commodity market sets it (Sterman, *Business
/// Dynamics*, 2000, ch. 20): with the cover of the stocks held in the region, and towards a
/// cost anchor. In the same pass over the firms, each seller (not a final producer) first
/// moves its expected sales towards today's orders received, smoothed over
/// `planning.demand_smoothing_days` (adaptive expectations), which its wanted stock below
/// then reads.
///
/// - Cover: what the region holds — sellers' finished stock, buyers' input stock on hand and
///   on its way to them — against what they want to hold — sellers' expected sales over their
///   output cover (a trader's: its stock target, which its multiple scales, so hoarding
///   raises the price), buyers' expected use over their input cover plus their suppliers'
///   mean transit time — perceived (as a log) over the price's adjustment time.
/// - Cost anchor: the reference price moved by the change in the region's producers' unit
///   input cost at the region's prices, in proportion to the inputs' share of the reference
///   price, weighted by their expected output; where the region has no producer, the same
///   over every producer of the good. Traders make nothing and are no part of it.
///
/// Only stocks move a price: a licence delay that buyers have planned for leaves their stocks,
/// and the price, where they were, and a region whose supply is cut keeps rising for as long
/// as its stocks keep falling. Sums run over firms in firm-index order (the registry's), never
/// in ECS order, in fixed chunks (`world::chunks`), so that prices are the same bits whatever
/// the storage order and the thread count.
pub fn adjust_prices(
    firms: Query<MarketFirm>,
    registry: Res<Registry>,
    mut prices: ResMut<PriceBook>,
    clock: Res<Clock>,
    params: Res<Params>,
    mut sums: Local<Vec<PriceSums>>,
) {
    let tick_days = f64::from(clock.tick_days);
    let smooth = (tick_days / params.planning.demand_smoothing_days).min(1.0);
    let book = &mut *prices;
    let nc = book.commodities;
    let cells = book.price.len();
    // Each chunk of firms in index order sums into its own cells (on every core when
    // parallel); the chunks' sums are added in chunk order (see `world::chunks`).
    let n = registry.entity.len();
    let n_chunks = chunks(n);
    let have = sums.len();
    sums.resize_with(n_chunks.max(have), PriceSums::default);
    {
        let (firms, registry, price) = (&firms, &*registry, &book.price);
        chunked(n, &mut [] as &mut [()], &mut sums[..n_chunks], params.parallel, |range, _, sum| {
            sum.clear(cells);
            for i in range {
                // SAFETY: each firm is in one chunk only, so no other chunk takes its
                // `Finished` meanwhile.
                let (plant, prod, mut fin, inputs, trading) = unsafe { firms.get_unchecked(registry.entity[i]) }.expect("firm entity");
                // Each seller first learns today's sales (orders received, whatever was filled)
                // into its expected sales, smoothed over `demand_smoothing_days`.
                if !plant.final_good {
                    fin.expected_sales += smooth * (fin.received - fin.expected_sales);
                }
                let region = plant.region as usize * nc;
                let out = region + plant.output as usize;
                if !plant.final_good {
                    sum.held[out] += fin.stock;
                    sum.wanted[out] += match trading {
                        Some(t) => t.stock_target(fin.expected_sales, fin.cover_days, tick_days),
                        None => fin.expected_sales * fin.cover_days / tick_days,
                    };
                }
                let mut cost = 0.0;
                for s in &inputs.slots {
                    let cell = region + s.commodity as usize;
                    let use_per_tick = prod.expected_output * s.per_unit;
                    sum.held[cell] += s.stock + s.in_transit;
                    let wants = use_per_tick * (inputs.cover_days / tick_days + s.mean_lead_ticks);
                    sum.wanted[cell] += wants;
                    sum.buyers[cell] += wants;
                    cost += s.per_unit * price[cell];
                }
                // A trader makes nothing: its "input cost" is the price itself, which is no
                // anchor.
                if trading.is_some() {
                    continue;
                }
                let factor = if plant.cost_share > 0.0 {
                    1.0 + plant.cost_share * (cost / plant.reference_input_cost - 1.0)
                } else {
                    1.0
                };
                sum.output[out] += prod.expected_output;
                sum.weighted_cost[out] += prod.expected_output * factor;
            }
        });
    }
    book.held.fill(0.0);
    book.wanted.fill(0.0);
    book.buyers.fill(0.0);
    book.output.fill(0.0);
    book.weighted_cost.fill(0.0);
    for sum in &sums[..n_chunks] {
        for (to, from) in [
            (&mut book.held, &sum.held),
            (&mut book.wanted, &sum.wanted),
            (&mut book.buyers, &sum.buyers),
            (&mut book.output, &sum.output),
            (&mut book.weighted_cost, &sum.weighted_cost),
        ] {
            add_cells(to, from);
        }
    }
    move_prices(book, &params.prices, tick_days);
}

/// Moves every price in `book` by a tick of `tick_days` days, from the region sums already in
/// it (`held`, `wanted`, `buyers`, `output`, `weighted_cost`; see [`adjust_prices`]): each
/// price goes towards its cost anchor and away from it with the region's perceived stock
/// cover ([`price_step`]). The first call takes the buyers' wants as the normal market.
pub fn move_prices(book: &mut PriceBook, rules: &PriceRules, tick_days: f64) {
    let nc = book.commodities;
    if book.normal_buyers.is_empty() {
        book.normal_buyers = book.buyers.clone();
    }
    let thin = rules.thin_market;
    let bound = PRICE_RANGE.ln();
    let k = (tick_days / rules.adjust_days).min(1.0);
    let regions = book.price.len() / nc;
    for cell in 0..book.price.len() {
        let c = cell % nc;
        let reference = book.reference[c];
        let factor = if book.output[cell] > 0.0 {
            book.weighted_cost[cell] / book.output[cell]
        } else {
            // No producer here: the mean over every region's producers of the good.
            let (mut weighted, mut output) = (0.0, 0.0);
            for r in 0..regions {
                weighted += book.weighted_cost[r * nc + c];
                output += book.output[r * nc + c];
            }
            if output > 0.0 { weighted / output } else { 1.0 }
        };
        let anchor = (reference * factor).clamp(reference / PRICE_RANGE, reference * PRICE_RANGE);
        book.anchor[cell] = anchor;
        let cover = if book.wanted[cell] > 0.0 {
            (book.held[cell] / book.wanted[cell]).clamp(MIN_COVER, MAX_COVER)
        } else {
            1.0
        };
        // A market is made by its buyers: where they want less than `thin_market` of what
        // they wanted at the start (or there never were any), the region's stocks move its
        // price only in proportion to what is left of them.
        let presence = if thin > 0.0 {
            let normal = book.normal_buyers[cell];
            if normal > 0.0 {
                (book.buyers[cell] / (thin * normal)).min(1.0)
            } else {
                0.0
            }
        } else {
            1.0
        };
        book.log_cover[cell] += k * (presence * cover.ln() - book.log_cover[cell]);
        let log_gap = price_step(
            (book.price[cell] / reference).ln(),
            (anchor / reference).ln(),
            book.log_cover[cell],
            rules,
            k,
        );
        book.price[cell] = reference * log_gap.clamp(-bound, bound).exp();
    }
}

/// One step of a price, in logs relative to its reference: `ln p + k × (−s × g(c) + w ×
/// (ln anchor − ln p))` for a perceived log cover `c`, written as a move of min(1, k·w) of
/// the way to the settled level `ln anchor − (s / w) g(c)`; it is the same step whenever
/// k·w ≤ 1 (every shipped model: 0.02) and never overshoots when a long tick makes k·w larger.
/// `g(c) = c³ / (c² + t²)`, with `t` the cover tolerance, reads swings of cover within about
/// ±t (the ones firms' own ordering makes) as small and a shortage or glut well beyond them
/// as itself: g(c) → c − t²/c as |c| grows, so a region that has run out still settles at
/// about anchor × 1000^(s/w). It is monotone and odd; t = 0 gives g(c) = c.
pub fn price_step(log_price: f64, log_anchor: f64, log_cover: f64, rules: &PriceRules, k: f64) -> f64 {
    let t = rules.cover_tolerance;
    let felt = if t > 0.0 {
        log_cover * log_cover * log_cover / (log_cover * log_cover + t * t)
    } else {
        log_cover
    };
    let settled = log_anchor - rules.coverage_sensitivity / rules.cost_weight * felt;
    log_price + (k * rules.cost_weight).min(1.0) * (settled - log_price)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The level a price settles at, relative to its anchor, after a thousand daily steps at
    /// a fixed perceived cover.
    fn settled(cover: f64, rules: &PriceRules) -> f64 {
        let k = 1.0 / rules.adjust_days;
        let mut log_price = 0.0;
        for _ in 0..1000 {
            log_price = price_step(log_price, 0.0, cover.ln(), rules, k);
        }
        log_price.exp()
    }

    #[test]
    fn a_price_settles_where_price_times_stock_is_cost_times_wanted_stock() {
        // Sensitivity = weight and no tolerance: half the wanted stock doubles the price, a
        // tenth multiplies it by ten, twice the wanted stock halves it.
        let linear = PriceRules {
            cover_tolerance: 0.0,
            ..PriceRules::default()
        };
        for (cover, level) in [(0.5, 2.0), (0.1, 10.0), (2.0, 0.5), (1.0, 1.0)] {
            let p = settled(cover, &linear);
            assert!(
                (p / level - 1.0).abs() <= 0.01,
                "cover {cover}: settled at {p:.4}, expected {level}"
            );
        }
        // The shipped tolerance damps ordinary swings of cover and leaves a real shortage
        // nearly in full: ±10% of cover moves the price under 1.5%, a tenth of the wanted
        // stock still settles above 8 times the anchor.
        let shipped = PriceRules::default();
        for cover in [0.9, 1.1] {
            let p = settled(cover, &shipped);
            assert!((p - 1.0).abs() < 0.015, "cover {cover}: settled at {p:.4}");
        }
        let p = settled(0.1, &shipped);
        assert!(p > 8.0 && p < 10.0, "a tenth of the wanted stock: settled at {p:.2}");
    }

    #[test]
    fn a_long_tick_moves_a_price_to_its_settled_level_without_overshooting_it() {
        // k·w = 10 (a 30-day tick with weight 10, adjustment over 3 days): one step lands on
        // the settled level instead of jumping nine times past it.
        let rules = PriceRules {
            coverage_sensitivity: 10.0,
            cost_weight: 10.0,
            adjust_days: 3.0,
            cover_tolerance: 0.0,
            thin_market: 0.0,
        };
        let step = price_step(0.0, 0.2, 0.5f64.ln(), &rules, 1.0);
        assert!((step - (0.2 - 0.5f64.ln())).abs() < 1e-12, "{step}");
    }

    /// A home buyer with a history of 30 a tick and a foreign buyer with 10.
    fn claims(a: f64, b: f64) -> [Claim; 2] {
        [
            Claim {
                quantity: a,
                history: 30.0,
                home: true,
            },
            Claim {
                quantity: b,
                history: 10.0,
                home: false,
            },
        ]
    }

    fn fills(stock: f64, c: &[Claim], rule: Allocation) -> Vec<f64> {
        let mut out = vec![-1.0; c.len()];
        allocate(stock, c, rule, &mut out);
        out
    }

    #[test]
    fn allocation_rules_give_exact_shares() {
        let c = claims(50.0, 50.0);
        assert_eq!(fills(60.0, &c, Allocation::Proportional), [30.0, 30.0], "60 in proportion to 50:50");
        assert_eq!(fills(60.0, &c, Allocation::TurnAndEarn), [45.0, 15.0], "60 in proportion to 30:10");
        assert_eq!(fills(60.0, &c, Allocation::HomeFirst), [50.0, 10.0], "the home buyer whole first");
        // Home orders alone beyond the stock: shared among them, nothing abroad.
        let mut three = c.to_vec();
        three.push(Claim {
            quantity: 30.0,
            history: 0.0,
            home: true,
        });
        assert_eq!(fills(60.0, &three, Allocation::HomeFirst), [37.5, 0.0, 22.5]);
    }

    #[test]
    fn turn_and_earn_caps_a_heavy_customer_and_shares_its_rest_again() {
        // A's history share (45) is more than it orders: it gets its 20, B the other 40.
        assert_eq!(fills(60.0, &claims(20.0, 50.0), Allocation::TurnAndEarn), [20.0, 40.0]);
    }

    #[test]
    fn under_turn_and_earn_a_new_customer_gets_only_the_leftover() {
        let newcomer = Claim {
            quantity: 50.0,
            history: 0.0,
            home: true,
        };
        let regular = Claim {
            quantity: 50.0,
            history: 30.0,
            home: false,
        };
        assert_eq!(fills(60.0, &[newcomer, regular], Allocation::TurnAndEarn), [10.0, 50.0]);
        assert_eq!(fills(40.0, &[newcomer, regular], Allocation::TurnAndEarn), [0.0, 40.0]);
        // With no history anywhere, it is proportional.
        assert_eq!(fills(60.0, &[newcomer, newcomer], Allocation::TurnAndEarn), [30.0, 30.0]);
    }

    #[test]
    fn with_enough_stock_every_rule_fills_every_order_and_without_stock_none() {
        for rule in [Allocation::Proportional, Allocation::TurnAndEarn, Allocation::HomeFirst] {
            assert_eq!(fills(100.0, &claims(50.0, 50.0), rule), [50.0, 50.0], "{rule:?}");
            assert_eq!(fills(-1e-12, &claims(50.0, 50.0), rule), [0.0, 0.0], "{rule:?}");
        }
    }
}
