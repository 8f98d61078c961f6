//! The model-file schema: what a `.ron` file may say, with units.
//!
//! Loading (with file:line:col errors) is in [`load`], semantic checks in [`check`],
//! the `--set PATH=VALUE` overrides in [`overrides`].

pub mod calendar;
pub mod check;
pub mod hash;
pub mod limits;
pub mod load;
pub mod output;
pub mod overrides;
pub mod policy;
pub mod scenario;
pub mod spans;

pub use policy::{Action, Buying, Condition, Dist, EndUse, Event, ExportControl, Policies, Rule, Tariff};

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A whole model: the world at its start date and the rules it runs by.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Model {
    /// Short name; the default run folder is `runs/<name>/`.
    pub name: String,
    /// One paragraph on what the model represents.
    #[serde(default)]
    pub description: String,
    pub calendar: Calendar,
    /// Seed of the run's random streams (overridden by `run --seed`).
    pub seed: u64,
    pub commodities: Vec<Commodity>,
    pub nations: Vec<Nation>,
    pub firms: Vec<Firm>,
    pub routes: Routes,
    pub prices: PriceRules,
    pub planning: Planning,
    /// How buyers react to tariffs and licensing.
    pub buying: Buying,
    /// Export controls, tariffs, scheduled events and reactive rules.
    #[serde(default)]
    pub policies: Policies,
    /// How a short supplier shares its stock among its orders (default: in proportion to
    /// the orders).
    #[serde(default)]
    pub selling: Selling,
    /// What the run writes per firm (default: every firm, every tick).
    #[serde(default)]
    pub output: output::Output,
    /// A world at firm grain generated from this model's firms at load time (see
    /// [`Synthetic`]); absent, the firms run as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub synthetic: Option<Synthetic>,
    /// The suppliers of a generated world's firms, by index (see [`GeneratedSuppliers`]):
    /// what a `synthetic` expansion makes instead of a `Listed` rule per firm and input, which
    /// would name every supplier by its id (over a gigabyte at 10^6 firms). Where a firm has
    /// them for an input they take the place of its rule. Never read from or written to a
    /// file: `None` for a model as written.
    #[serde(skip)]
    pub generated: Option<std::sync::Arc<GeneratedSuppliers>>,
}

/// Every generated firm's suppliers, by firm index: firm `f`'s inputs are
/// `inputs[firm_from[f] .. firm_from[f + 1]]`, and each input's suppliers are
/// `links[from .. to]`: (supplier's firm index, share of the firm's orders of the input).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GeneratedSuppliers {
    pub firm_from: Vec<u32>,
    pub inputs: Vec<GeneratedInput>,
    pub links: Vec<(u32, f64)>,
}

/// One input of a generated firm: its commodity (index in the model's commodities) and where
/// its suppliers are in [`GeneratedSuppliers::links`].
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct GeneratedInput {
    pub commodity: u16,
    pub from: u32,
    pub to: u32,
}

impl GeneratedSuppliers {
    /// Firm `firm`'s suppliers of commodity `commodity` (index), if it has them.
    pub fn of(&self, firm: usize, commodity: usize) -> Option<&[(u32, f64)]> {
        let (a, b) = (*self.firm_from.get(firm)?, *self.firm_from.get(firm + 1)?);
        self.inputs[a as usize..b as usize]
            .iter()
            .find(|i| usize::from(i.commodity) == commodity)
            .map(|i| &self.links[i.from as usize..i.to as usize])
    }
}

/// The separator of a generated firm's id: `<template id>~<k>`, k = 0 for its largest.
pub const SYNTHETIC_ID_SEPARATOR: char = '~';

/// How to expand the model's firms (the calibrated templates) into `firms` firms when the
/// model is loaded, so that a big world needs no big file (`world::synthetic`). Each template
/// becomes a group of firms of its nation, role and recipe whose sizes are heavy-tailed and sum
/// to its capacity and stocks; each generated buyer gets a few suppliers per input among the
/// generated firms of the template's suppliers (a large buyer more, and a large supplier more
/// customers), and the flows between templates (so between nations) are the model's own.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Synthetic {
    /// Firms in the generated world, at least one per template, at most 10^7; shared among the
    /// templates equally (the first ones take one more when it does not divide), so roles and
    /// nations keep the model's proportions.
    pub firms: u64,
    /// Pareto shape α of firm sizes within a template (P(size > x) ∝ x^-α), 0.5 to 10:
    /// smaller is more concentrated. Default 1.06, Axtell (2001, Science 293: 1818) for U.S.
    /// firms by employees (a Zipf law).
    #[serde(default = "default_size_tail")]
    pub size_tail: f64,
    /// Layers of links, 1 to 64: each generated buyer's orders of an input are matched to
    /// suppliers this many times over, each time in a new random order. Each layer gives a
    /// buyer on average 1 + N suppliers per input, N the number of its template's supplier
    /// templates (a large buyer more, in proportion to its size), so links and the shipments
    /// in flight on them grow with the layers. Default 1 (ASSUMPTION: 1 + N is the template's
    /// own number of suppliers, "a few", as in firm-level production networks, Bernard,
    /// Moxnes & Saito 2019, J. Political Economy 127(2)).
    #[serde(default = "default_suppliers_per_input")]
    pub suppliers_per_input: u32,
    /// Seed of the generator (not of the run): the same spec and seed give the same world.
    #[serde(default)]
    pub seed: u64,
}

fn default_size_tail() -> f64 {
    1.06
}

fn default_suppliers_per_input() -> u32 {
    1
}

/// How suppliers sell when they are short.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Selling {
    /// The rule of every supplier without its own `allocation`.
    #[serde(default)]
    pub allocation: Allocation,
    /// Mean age in days of the purchase history that `TurnAndEarn` weighs buyers by (the
    /// exponential smoothing of each supply link's deliveries), 1 to 3,650.
    #[serde(default = "year_of_days")]
    pub history_days: f64,
}

fn year_of_days() -> f64 {
    365.0
}

impl Default for Selling {
    fn default() -> Selling {
        Selling {
            allocation: Allocation::default(),
            history_days: year_of_days(),
        }
    }
}

/// How a supplier whose orders exceed its stock shares the stock out. It ships all it has
/// either way; the rule decides who gets it.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq, Default)]
pub enum Allocation {
    /// Every order gets the same share of what there is.
    #[default]
    Proportional,
    /// "Turn-and-earn": each order's share is in proportion to its buyer's smoothed past
    /// purchases from this supplier (capped at the order, the rest shared again); buyers with
    /// no history share what is left, in proportion to their orders.
    TurnAndEarn,
    /// Buyers in the supplier's own nation are served first (in proportion to their orders
    /// if even they cannot all be served), then the rest in proportion to theirs.
    HomeFirst,
}

/// Time: the first day, the length of a tick and the last day.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Calendar {
    /// First simulated day, `YYYY-MM-DD`.
    pub start: String,
    /// Days per tick (default 1), 1 to 366. The calendar (end − start + 1) may span at most
    /// 73,050 days (200 years); dates are years 0000 to 9999.
    #[serde(default = "one")]
    pub tick_days: u32,
    /// Last simulated day (inclusive), `YYYY-MM-DD`.
    pub end: String,
}

fn one() -> u32 {
    1
}

/// A traded good. Quantities of it are in `unit` everywhere in the model and the output.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Commodity {
    pub id: String,
    /// Unit of quantity, e.g. `t` (tonnes) or `vehicle`.
    pub unit: String,
    /// True if the good leaves the modelled economy when made (vehicles, end uses).
    #[serde(default)]
    pub final_demand: bool,
    /// Reference price in USD per unit: the starting price in every region and the level
    /// prices revert to. Positive, at most 1e12.
    pub price_usd: f64,
}

/// A nation (or a bloc such as `EU`, or the rest of the world `ROW`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Nation {
    /// ISO 3166-1 alpha-2 code, or `EU` / `ROW`.
    pub id: String,
    #[serde(default)]
    pub name: String,
    /// Price region whose prices buyers in this nation pay (e.g. `CN`, `EU`, `WORLD`).
    pub price_region: String,
}

/// A producing (or final-consuming) firm.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Firm {
    /// Stable id; also keys the firm's random streams.
    pub id: String,
    #[serde(default)]
    pub name: String,
    /// Nation id.
    pub nation: String,
    /// Role in snake_case (`miner`, `refiner`, `magnet_maker`, `automaker`, or any other).
    pub role: String,
    /// Commodity id of the firm's output.
    pub output: String,
    /// Output capacity in units of output per day. For a maker of a final-demand good this
    /// is its planned output per day. 0 to 1e12.
    pub capacity_per_day: f64,
    /// Inputs per unit of output: commodity id -> units of input (each positive, at most 1e6;
    /// each key once).
    #[serde(default)]
    pub recipe: BTreeMap<String, f64>,
    /// Days of input use the firm aims to hold in stock (order-up-to cover, excluding goods in
    /// transit). 0 to 3,650 days.
    #[serde(default)]
    pub target_cover_days: f64,
    /// Days of its own sales it aims to hold as finished stock (ignored for final goods),
    /// 0 to 3,650.
    #[serde(default)]
    pub output_cover_days: f64,
    /// Starting stocks in units: commodity id -> quantity. Inputs and the output not listed
    /// start at their targets given the steady-state flows at the start date. 0 to 1e15 each.
    #[serde(default)]
    pub initial_stock: BTreeMap<String, f64>,
    /// Where each input is bought: commodity id -> supplier rule. An input without an
    /// entry uses `ByCapacity(nations: [], home_share: None)`.
    #[serde(default)]
    pub suppliers: BTreeMap<String, Suppliers>,
    /// Price elasticity of a final-demand producer's planned output with respect to the cost
    /// of its inputs (0 = output does not respond to prices), 0 to 5: the planner multiplies
    /// output by `(cost / reference cost)^-elasticity`, which must stay finite.
    #[serde(default)]
    pub price_elasticity: f64,
    /// Share of the firm's licence applications declared for defence end use (0 = all civil),
    /// 0 to 1.
    #[serde(default)]
    pub defence_share: f64,
    /// Product lines (e.g. EV and ICE vehicles) making the same output with their own
    /// recipes, each a share of planned output. With lines, `recipe` is left out: the firm's
    /// recipe is the share-weighted sum of its lines'.
    #[serde(default)]
    pub lines: Vec<Line>,
    /// How scarce inputs are shared among lines.
    #[serde(default)]
    pub line_rationing: LineRationing,
    /// How this firm shares its output among buyers when short (default: the model's
    /// `selling.allocation`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allocation: Option<Allocation>,
    /// A trader's rules (only, and always, with role `trader`): a stockist whose recipe is
    /// exactly one unit of its output, that buys when the expected price gain beats the
    /// holding cost and sells down when the price turns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trading: Option<Trading>,
}

/// The role a firm must have to carry a [`Trading`] section.
pub const TRADER_ROLE: &str = "trader";

/// How a trader (a speculative stockist) sizes its stock: its finished-stock target is
/// m × (expected sales over its output cover + `base_stock`), where the multiple m follows
/// the trend of its regional price against its holding cost (Sterman, *Business Dynamics*,
/// 2000, ch. 16's TREND): with g the price's growth per day over `trend_days` and
/// hc = `holding_cost_per_year` / 365, m = 1 + gain (g − hc) / hc when g > hc, 1 while
/// |g| ≤ hc, max(0, 1 + gain (g + hc) / hc) when g < −hc, and never above `max_multiple`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Trading {
    /// Cost of holding a unit of stock for a year, as a share of its value (interest plus
    /// storage), above 0 and at most 10 (default 0.10).
    #[serde(default = "default_holding_cost")]
    pub holding_cost_per_year: f64,
    /// Days over which the trader averages the log price to read its trend, 1 to 3,650
    /// (default 30).
    #[serde(default = "default_trend_days")]
    pub trend_days: f64,
    /// How strongly the multiple answers the expected gain net of holding cost, in units of
    /// the holding cost, 0 to 100 (default 1).
    #[serde(default = "default_trading_gain")]
    pub gain: f64,
    /// Largest multiple of its usual stock the trader aims for, 1 to 100 (default 3).
    #[serde(default = "default_max_multiple")]
    pub max_multiple: f64,
    /// Working stock the trader holds on top of its sales cover, units, 0 to 1e15.
    pub base_stock: f64,
}

fn default_holding_cost() -> f64 {
    0.10
}

fn default_trend_days() -> f64 {
    30.0
}

fn default_trading_gain() -> f64 {
    1.0
}

fn default_max_multiple() -> f64 {
    3.0
}

impl Trading {
    /// A trader with the engine's defaults and working stock `base_stock` (units).
    pub fn with_base_stock(base_stock: f64) -> Trading {
        Trading {
            holding_cost_per_year: default_holding_cost(),
            trend_days: default_trend_days(),
            gain: default_trading_gain(),
            max_multiple: default_max_multiple(),
            base_stock,
        }
    }
}

impl Firm {
    /// Inputs per unit of output: the recipe, or the share-weighted recipe of the lines.
    pub fn effective_recipe(&self) -> BTreeMap<String, f64> {
        if self.lines.is_empty() {
            return self.recipe.clone();
        }
        let mut r = BTreeMap::new();
        for l in &self.lines {
            for (c, q) in &l.recipe {
                *r.entry(c.clone()).or_insert(0.0) += l.share * q;
            }
        }
        r
    }
}

/// A product line of a firm.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Line {
    pub id: String,
    /// Share of the firm's planned output, above 0 and at most 1 (shares sum to 1).
    pub share: f64,
    /// Inputs per unit of this line's output (each positive, at most 1e6).
    pub recipe: BTreeMap<String, f64>,
}

/// How a firm with product lines shares scarce inputs among them.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Default)]
pub enum LineRationing {
    /// Every line makes the same share of its plan (as if the firm had one blended recipe).
    #[default]
    Proportional,
    /// Lines that need least of the scarcest input per unit are served first: the most units
    /// from what there is (e.g. ICE cars before EVs when magnets are short).
    MostUnits,
    /// Lines are served in the order given (ids).
    Priority(Vec<String>),
}

/// How a firm splits its orders of one input among suppliers.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub enum Suppliers {
    /// Named firms with shares of the order (shares are normalised to sum to 1).
    Listed(Vec<SupplierShare>),
    /// Every firm making the input (in `nations`, or anywhere if empty), with shares in
    /// proportion to capacity; if `home_share` is set and there are suppliers in the buyer's
    /// own nation, those together get `home_share` and the others the rest.
    ByCapacity {
        #[serde(default)]
        nations: Vec<String>,
        #[serde(default)]
        home_share: Option<f64>,
    },
    /// Shares by nation (normalised to sum to 1); within a nation, firms making the input
    /// share that nation's part in proportion to capacity.
    ByNation(BTreeMap<String, f64>),
}

/// One named supplier and its share of the orders.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SupplierShare {
    pub firm: String,
    pub share: f64,
}

/// Transit times between nations.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Routes {
    /// Days from a supplier to a buyer in the same nation, 1 to 3,650.
    pub domestic_days: u32,
    pub links: Vec<Route>,
}

/// A shipping lane from one nation to another.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Route {
    pub from: String,
    pub to: String,
    /// Mean door-to-door days, 1 to 3,650 (shipments are held per tick of transit, so the
    /// cap bounds memory).
    pub days: u32,
    /// Each shipment's transit time is uniform in `days ± jitter_days`; less than `days`.
    #[serde(default)]
    pub jitter_days: u32,
    /// Whether the same lane serves `to -> from` (default true).
    #[serde(default = "yes")]
    pub both_ways: bool,
}

fn yes() -> bool {
    true
}

/// How prices move in each (price region, commodity): with the cover of the stocks that sellers
/// and buyers in the region hold against what they want to hold, and towards a cost anchor
/// computed from the region's producers' input prices (Sterman, *Business Dynamics*, ch. 20).
/// Per day, `ln p += k × (−coverage_sensitivity × g(ln cover) + cost_weight × ln(anchor / p))`
/// with `k = tick_days / adjust_days` (at most 1), the cover perceived over the same time, and
/// `g(c) = c³ / (c² + cover_tolerance²)`; a price settles near
/// `anchor × cover^(−coverage_sensitivity / cost_weight)` once cover is well outside its
/// tolerance.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PriceRules {
    /// Response of the log price to the log of stock cover (held ÷ wanted), 0 to 10: with it
    /// equal to `cost_weight`, half the wanted stock settles at twice the cost anchor.
    #[serde(default = "default_coverage_sensitivity")]
    pub coverage_sensitivity: f64,
    /// Pull of the log price towards the cost anchor, 0.001 to 10.
    #[serde(default = "default_cost_weight")]
    pub cost_weight: f64,
    /// Days over which a price makes its adjustment (the `k` above is `tick_days / adjust_days`),
    /// 1 to 3,650.
    #[serde(default = "default_adjust_days")]
    pub adjust_days: f64,
    /// Swings of log cover that a price largely ignores, 0 to 5: within about ± this much, the
    /// swings firms' own stock-and-supply-line ordering makes, the price moves little; well
    /// beyond it, a shortage or glut moves the price in full. 0 makes the response linear.
    #[serde(default = "default_cover_tolerance")]
    pub cover_tolerance: f64,
    /// Thin market, 0 to 1: where a region's buyers want less than this share of the stock
    /// they wanted at the start, its stocks move its price only in proportion to what is left
    /// of them (a region with no buyers at the start, only sellers, has no market of its own:
    /// its price follows its cost anchor). 0 turns this off.
    #[serde(default = "default_thin_market")]
    pub thin_market: f64,
}

fn default_thin_market() -> f64 {
    0.1
}

fn default_cover_tolerance() -> f64 {
    0.4
}

fn default_coverage_sensitivity() -> f64 {
    0.6
}

fn default_cost_weight() -> f64 {
    0.6
}

fn default_adjust_days() -> f64 {
    30.0
}

impl Default for PriceRules {
    fn default() -> PriceRules {
        PriceRules {
            coverage_sensitivity: default_coverage_sensitivity(),
            cost_weight: default_cost_weight(),
            adjust_days: default_adjust_days(),
            cover_tolerance: default_cover_tolerance(),
            thin_market: default_thin_market(),
        }
    }
}

/// How firms plan output and forecast demand.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Planning {
    /// Mean age in days of the exponential smoothing of orders received, 1 to 3,650.
    pub demand_smoothing_days: f64,
    /// Days over which a firm closes the gap between its finished stock and its target, 1 to 3,650.
    pub stock_adjust_days: f64,
    /// Standard deviation of day-to-day noise in final-demand producers' planned output,
    /// as a share of planned output, 0 ≤ x < 0.5.
    pub final_demand_noise: f64,
    /// Standard deviation of the persistent shock to each nation's final demand (of its log,
    /// once settled), as a share; 0 (the default) turns it off. It moves every final-demand
    /// producer of the nation together, on top of their own day-to-day noise.
    #[serde(default)]
    pub market_shock_sd: f64,
    /// Correlation time of the national demand shock, days: the shock keeps e^-1 of its
    /// size after this many days. 1 to 3,650.
    #[serde(default = "default_market_shock_days")]
    pub market_shock_days: f64,
}

fn default_market_shock_days() -> f64 {
    90.0
}
