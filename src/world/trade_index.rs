//! Where a supplier link's trade state is: the fill rate, smoothed orders, part of the
//! supplier's spare, tally, want and purchase history of [`SupplyLinks`] are kept only for
//! links that are or have been suppliers, not for every candidate of supplier search.
//!
//! At 10^6 firms nearly half of the 10.5 million links are candidates that never carry an
//! order; their 48 bytes each of trade state held 230 MB of constants (issue 11).
//!
//! [`SupplyLinks`]: crate::world::orders::SupplyLinks

use std::collections::BTreeMap;

/// A link's trade index, by link: the links that were suppliers at the start take the first
/// indices in link order, found by counting bits (one bit a link, and a count every 64 links);
/// a link that becomes a supplier later (a candidate qualified by search) takes the next index
/// free, kept in a map. A link keeps its index once it has one, so that what it learned stays
/// if it falls back to being a candidate.
#[derive(Clone, Debug, Default)]
pub struct TradeIndex {
    /// One bit a link for each 64 links: a supplier at the start; with how many suppliers at
    /// the start come before them (one load finds a link's index).
    first: Vec<Word>,
    /// Links in all.
    links: usize,
    /// Trade indices given in all.
    len: usize,
    /// One bit a link: a supplier that was not one at the start (empty until the first).
    later: Vec<u64>,
    /// Their trade indices, by link.
    later_at: BTreeMap<u32, u32>,
}

/// 64 links of [`TradeIndex::first`].
#[derive(Clone, Copy, Debug, Default)]
struct Word {
    bits: u64,
    before: u64,
}

impl TradeIndex {
    /// Appends the next link, a supplier at the start or not: call it for every link in link
    /// order before any [`TradeIndex::add`].
    pub fn push(&mut self, supplier: bool) {
        debug_assert!(self.later_at.is_empty(), "every link is pushed before any is added");
        let (w, b) = (self.links / 64, self.links % 64);
        if b == 0 {
            self.first.push(Word {
                bits: 0,
                before: self.len as u64,
            });
        }
        if supplier {
            self.first[w].bits |= 1 << b;
            self.len += 1;
        }
        self.links += 1;
    }

    /// Room for `links` links.
    pub fn with_capacity(links: usize) -> TradeIndex {
        TradeIndex {
            first: Vec::with_capacity(links.div_ceil(64)),
            ..TradeIndex::default()
        }
    }

    /// Link `l`'s trade index, if it is or has been a supplier.
    #[inline]
    pub fn of(&self, l: usize) -> Option<usize> {
        let Word { bits, before } = self.first[l / 64];
        let b = l % 64;
        if bits >> b & 1 == 1 {
            Some(before as usize + (bits & ((1u64 << b) - 1)).count_ones() as usize)
        } else {
            self.later_of(l)
        }
    }

    /// The trade index of link `l`, not a supplier at the start, if it became one.
    #[cold]
    #[inline(never)]
    fn later_of(&self, l: usize) -> Option<usize> {
        let b = l % 64;
        if self.later.get(l / 64).is_some_and(|&v| v >> b & 1 == 1) {
            Some(self.later_at[&(l as u32)] as usize)
        } else {
            None
        }
    }

    /// Link `l`'s trade index; `l` is or has been a supplier (it carries an order, goods or a
    /// share).
    #[inline(always)]
    pub fn at(&self, l: usize) -> usize {
        let Word { bits, before } = self.first[l / 64];
        let b = l % 64;
        if bits >> b & 1 == 1 {
            before as usize + (bits & ((1u64 << b) - 1)).count_ones() as usize
        } else {
            self.later_at(l)
        }
    }

    /// [`TradeIndex::at`] for a link that was not a supplier at the start.
    #[cold]
    #[inline(never)]
    fn later_at(&self, l: usize) -> usize {
        match self.later_of(l) {
            Some(t) => t,
            None => panic!("link {l} has never been a supplier: it has no trade state"),
        }
    }

    /// Gives link `l` (which has none) the next trade index, and returns it: the caller
    /// appends its trade state.
    pub fn add(&mut self, l: usize) -> usize {
        assert!(self.of(l).is_none(), "link {l} has a trade index");
        if self.later.is_empty() {
            self.later = vec![0; self.first.len()];
        }
        self.later[l / 64] |= 1 << (l % 64);
        let t = self.len;
        self.later_at.insert(l as u32, t as u32);
        self.len += 1;
        t
    }

    /// Trade indices given (the length of every trade-state list).
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Every link with a trade index, in link order: (link, trade index).
    pub fn iter(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        (0..self.first.len()).flat_map(move |w| {
            let mut bits = self.first[w].bits | self.later.get(w).copied().unwrap_or(0);
            std::iter::from_fn(move || {
                if bits == 0 {
                    return None;
                }
                let l = w * 64 + bits.trailing_zeros() as usize;
                bits &= bits - 1;
                Some((l, self.at(l)))
            })
        })
    }

    /// Bytes held: three bits a link (two once a supplier is added), and the map of later
    /// suppliers.
    pub fn bytes(&self) -> usize {
        self.first.len() * size_of::<Word>() + self.later.len() * size_of::<u64>() + self.later_at.len() * 2 * size_of::<u32>()
    }
}

#[cfg(test)]
mod tests {
    use super::TradeIndex;

    #[test]
    fn suppliers_at_the_start_are_numbered_in_link_order_and_later_ones_after_them() {
        // 150 links across three words: every third a supplier at the start.
        let mut t = TradeIndex::with_capacity(150);
        for l in 0..150 {
            t.push(l % 3 == 0);
        }
        assert_eq!(t.len(), 50);
        for l in 0..150 {
            assert_eq!(t.of(l), (l % 3 == 0).then_some(l / 3), "link {l}");
        }
        assert_eq!(t.add(130), 50);
        assert_eq!(t.add(1), 51);
        assert_eq!((t.of(130), t.of(1), t.of(2)), (Some(50), Some(51), None));
        assert_eq!(t.of(129), Some(43), "the suppliers at the start keep their indices");
        let listed: Vec<(usize, usize)> = t.iter().collect();
        assert_eq!(listed.len(), 52);
        assert!(listed.windows(2).all(|w| w[0].0 < w[1].0), "in link order");
        assert!(listed.contains(&(1, 51)) && listed.contains(&(130, 50)) && listed.contains(&(0, 0)));
    }

    #[test]
    #[should_panic(expected = "has a trade index")]
    fn a_link_is_given_one_trade_index_only() {
        let mut t = TradeIndex::default();
        t.push(true);
        t.add(0);
    }
}
