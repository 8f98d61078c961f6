//! A firm's state, as ECS components. Components are plain data; the systems that change
//! them live in the module of their economic process.

use crate::world::trade_index::TradeIndex;
use bevy_ecs::prelude::*;

/// Dense index of the firm in the [`crate::world::network::Network`] (its stable order).
#[derive(Component, Clone, Copy, Debug)]
pub struct FirmIndex(pub u32);

/// What the firm makes and how much it can make.
#[derive(Component, Clone, Debug)]
pub struct Plant {
    /// Output capacity, units of output per tick (for a final-demand producer: planned output).
    pub capacity: f64,
    /// Commodity index of the output.
    pub output: u16,
    /// True if the output is a final-demand good (consumed when made).
    pub final_good: bool,
    pub nation: u16,
    /// Role index (see [`crate::world::network::Network::roles`]).
    pub role: u16,
    /// Price region whose prices the firm pays.
    pub region: u16,
    /// Elasticity of planned output to input cost (final-demand producers only).
    pub price_elasticity: f64,
    /// Cost of one unit's inputs at reference prices, USD (for the elasticity and the cost
    /// anchor of prices).
    pub reference_input_cost: f64,
    /// Share of the output's reference price that is input cost at reference prices, 0 to 1
    /// (`reference_input_cost / reference price`, at most 1): how much of a change in input
    /// cost passes into the cost anchor of the output's price.
    pub cost_share: f64,
}

/// This tick's production record and the smoothed plan used for procurement.
#[derive(Component, Clone, Debug, Default)]
pub struct Production {
    /// Output planned this tick, units.
    pub planned: f64,
    /// Output made this tick, units.
    pub produced: f64,
    /// Planned output not made for lack of inputs, units.
    pub shortfall: f64,
    /// Exponentially smoothed planned output, units per tick.
    pub expected_output: f64,
}

/// Finished-goods stock and the demand the firm sees for it.
#[derive(Component, Clone, Debug, Default)]
pub struct Finished {
    /// Units of output in stock.
    pub stock: f64,
    /// Largest finished stock held since the start, units: the scale of its rounding errors
    /// (see [`crate::world::invariants::ROUNDING`]).
    pub peak: f64,
    /// Days of expected sales the firm aims to hold.
    pub cover_days: f64,
    /// Exponentially smoothed orders received, units per tick.
    pub expected_sales: f64,
    /// Orders received this tick, units.
    pub received: f64,
    /// Units shipped this tick.
    pub shipped: f64,
}

/// One input of the recipe: the stock on hand and on its way.
#[derive(Clone, Debug, PartialEq)]
pub struct InputSlot {
    pub commodity: u16,
    /// Units of input per unit of output.
    pub per_unit: f64,
    /// Units on hand.
    pub stock: f64,
    /// Units shipped to the firm and not yet arrived.
    pub in_transit: f64,
    /// Units applied for under export licences and not yet shipped or refused.
    pub on_order: f64,
    /// Days the buyer expects a licence to take on this input (learned; 0 until it meets one).
    pub licence_wait_days: f64,
    /// Range of this input's links in [`crate::world::orders::SupplyLinks`]: its suppliers,
    /// then its candidates for supplier search.
    pub links: (u32, u32),
    /// How many of the input's links, from the first, are or may have been suppliers: its
    /// suppliers at the start, then up to the last candidate qualified. The links after them
    /// are candidates never qualified, with no trade state, orders, goods or lane, so the
    /// passes over what is ordered and sent stop there (half of the baseline's links are such
    /// candidates).
    pub traded: u32,
    /// The trade index (see [`TradeIndex`]) of the input's first link, and how many of its
    /// links were suppliers at the start: those take the trade indices from it on, in link
    /// order, so the passes over an input's links find them without the index.
    pub trade_from: u32,
    pub suppliers_at_start: u32,
    /// Whether the buyer has searched for a new supplier of this input; from then on its
    /// suppliers' shares follow where its orders go (habit) and unused suppliers fade.
    pub searched: bool,
    /// Share-weighted mean transit time over the input's suppliers, ticks.
    pub mean_lead_ticks: f64,
    /// Units consumed this tick.
    pub consumed: f64,
    /// Largest quantity of this input held on hand, in transit or on order since the start,
    /// units: the scale of its rounding errors (see [`crate::world::invariants::ROUNDING`]).
    pub scale: f64,
    /// Shipments of this input on their way to the firm (held by customs or travelling).
    pub in_flight: u64,
    /// Precaution h ≥ 1: the buyer aims to hold `cover_days` × h of this input. It rises
    /// towards 1 + `buying.precaution_cover` × the scarcity the buyer perceives and relaxes
    /// slowly after; exactly 1 while it perceives none.
    pub precaution: f64,
    /// Units the buyer wants shipped under its licences for this input this tick, set by
    /// procurement: expected use plus a share of the gap between the stock it wants on hand
    /// and in transit (its cover and the transit time) and what it has. Licences are drawn
    /// down at this pace, not shipped whole on approval.
    pub draw: f64,
    /// Units of this input that arrived today from another nation (its links' imports, summed
    /// in link order), which observation adds into the nation's imports.
    pub imported: f64,
}

impl InputSlot {
    /// The trade index of link `l` if it is one of this input's suppliers at the start
    /// (consecutive from `trade_from`), found without the index.
    #[inline]
    fn start_trade(&self, l: usize) -> Option<usize> {
        let k = l.wrapping_sub(self.links.0 as usize);
        (k < self.suppliers_at_start as usize).then(|| self.trade_from as usize + k)
    }

    /// The trade index of link `l`, one of this input's links that is or has been a supplier
    /// (as [`TradeIndex::at`] finds it).
    #[inline]
    pub fn trade_at(&self, l: usize, trade: &TradeIndex) -> usize {
        match self.start_trade(l) {
            Some(t) => {
                debug_assert_eq!(t, trade.at(l));
                t
            }
            None => trade.at(l),
        }
    }

    /// The trade index of link `l`, one of this input's links, if it is or has been a
    /// supplier (as [`TradeIndex::of`] finds it).
    #[inline]
    pub fn trade_of(&self, l: usize, trade: &TradeIndex) -> Option<usize> {
        match self.start_trade(l) {
            Some(t) => {
                debug_assert_eq!(Some(t), trade.of(l));
                Some(t)
            }
            None => trade.of(l),
        }
    }
}

/// The firm's recipe inputs (empty for miners).
#[derive(Component, Clone, Debug, Default)]
pub struct Inputs {
    pub slots: Vec<InputSlot>,
    /// Days of input use the firm aims to hold on hand.
    pub cover_days: f64,
}

/// One product line of a firm, as it runs.
#[derive(Clone, Debug, PartialEq)]
pub struct LineState {
    /// Index of the line's id in [`crate::world::network::Network::line_ids`].
    pub id: u16,
    /// Share of the firm's planned output.
    pub share: f64,
    /// Units of each input slot per unit of this line's output (aligned with `Inputs::slots`).
    pub per_unit: Vec<f64>,
    /// This tick's plan and output, units.
    pub planned: f64,
    pub produced: f64,
}

/// How scarce inputs are shared among a firm's lines (see [`crate::model::LineRationing`]).
#[derive(Clone, Debug, PartialEq)]
pub enum LineRule {
    Proportional,
    MostUnits,
    /// Line positions in the order they are served.
    Priority(Vec<usize>),
}

/// A firm's product lines; only firms with lines have this component.
#[derive(Component, Clone, Debug)]
pub struct Lines {
    pub lines: Vec<LineState>,
    pub rule: LineRule,
    /// Scratch space reused every tick: serving order and inputs left.
    pub order: Vec<usize>,
    pub avail: Vec<f64>,
}

/// A trader's rules and what it has read of its price (see [`crate::model::Trading`]); only
/// traders have this component.
#[derive(Component, Clone, Debug, PartialEq)]
pub struct Trading {
    /// Holding cost of a unit of stock, share of its value per day (the model's yearly cost
    /// ÷ 365).
    pub holding_cost_per_day: f64,
    /// Days over which the log price is averaged to read its trend.
    pub trend_days: f64,
    /// Response of the multiple to the expected gain net of holding cost, in units of the
    /// holding cost.
    pub gain: f64,
    /// Largest multiple of its usual stock the trader aims for.
    pub max_multiple: f64,
    /// Working stock held on top of the sales cover, units.
    pub base_stock: f64,
    /// The trader's average of the log of its regional price (ln USD per unit), smoothed over
    /// `trend_days`; the log of the reference price at the start.
    pub log_avg: f64,
    /// The multiple m of its usual finished stock the trader now aims for, 0 to
    /// `max_multiple` (1 at the start).
    pub multiple: f64,
}

impl Trading {
    /// Reads this tick's price `price` (USD per unit) after `tick_days` days and sets the
    /// multiple (Sterman, *Business Dynamics*, 2000, ch. 16, TREND): the log price's
    /// average moves min(1, tick / trend_days) of the way to it; the expected growth per day
    /// is g = (ln price − average) / trend_days; against the daily holding cost hc, the
    /// multiple is 1 + gain (g − hc) / hc above hc, 1 within ±hc, and max(0, 1 + gain
    /// (g + hc) / hc) below −hc, capped at `max_multiple`.
    pub fn read_price(&mut self, price: f64, tick_days: f64) {
        let l = price.ln();
        self.log_avg += (tick_days / self.trend_days).min(1.0) * (l - self.log_avg);
        let g = (l - self.log_avg) / self.trend_days;
        let hc = self.holding_cost_per_day;
        let m = if g > hc {
            1.0 + self.gain * (g - hc) / hc
        } else if g < -hc {
            (1.0 + self.gain * (g + hc) / hc).max(0.0)
        } else {
            1.0
        };
        self.multiple = m.min(self.max_multiple);
    }

    /// The finished stock the trader aims to hold, units: m × (expected sales over its cover
    /// plus its working stock), for expected sales `expected_sales` per tick, `cover_days`
    /// and `tick_days`.
    pub fn stock_target(&self, expected_sales: f64, cover_days: f64, tick_days: f64) -> f64 {
        self.multiple * (expected_sales * cover_days / tick_days + self.base_stock)
    }
}
