//! Random numbers. Every random number in a run is a pure function of (run seed, stable agent
//! id, purpose, tick, draw): the `n`-th draw an agent makes for a purpose on a tick is the
//! Philox4x32-10 block cipher (Salmon, Moraes, Dror & Shaw 2011, "Parallel random numbers: as
//! easy as 1, 2, 3", the generator of Random123, cuRAND and JAX) applied to the counter
//! `(n, tick, purpose, 0)` under a key hashed from the seed and the agent's id.
//!
//! So a draw never depends on the thread count, on the order in which the ECS iterates
//! entities, on which other agents exist, or on what the agent drew on earlier ticks: two
//! scenarios with the same seed share their random numbers exactly wherever they make the same
//! draws (common random numbers by construction). An agent keeps no generator state, only its
//! 64-bit key and how many draws it has made this tick ([`Streams`]), 24 bytes in place of the
//! 1,216 of four stored ChaCha8 generators.

use bevy_ecs::prelude::*;
use std::convert::Infallible;

/// What a draw is used for; part of its counter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// Day-to-day noise in a final-demand producer's planned output, and (for a nation) the
    /// nation's persistent demand shock.
    Demand = 1,
    /// Variation of a shipment's transit time around its route's lead time.
    Shipping = 2,
    /// Customs inspections of a supplier's shipments (held or not, for how long).
    Customs = 3,
    /// A buyer's licence applications: declared end use, review time, decision.
    Licensing = 4,
}

pub use crate::model::hash::{splitmix, stable_hash};

/// The key of agent `agent_id`'s draws in a run with `seed`.
pub fn agent_key(seed: u64, agent_id: &str) -> u64 {
    splitmix(splitmix(seed) ^ splitmix(stable_hash(agent_id)).rotate_left(17))
}

const PHILOX_M0: u32 = 0xD251_1F53;
const PHILOX_M1: u32 = 0xCD9E_8D57;
const PHILOX_W0: u32 = 0x9E37_79B9;
const PHILOX_W1: u32 = 0xBB67_AE85;

/// Philox4x32 with 10 rounds: four 32-bit random words from a 128-bit counter and a 64-bit key.
#[inline]
pub fn philox4x32(counter: [u32; 4], key: u64) -> [u32; 4] {
    let mut c = counter;
    let (mut k0, mut k1) = (key as u32, (key >> 32) as u32);
    for round in 0..10 {
        if round > 0 {
            k0 = k0.wrapping_add(PHILOX_W0);
            k1 = k1.wrapping_add(PHILOX_W1);
        }
        let p0 = u64::from(PHILOX_M0) * u64::from(c[0]);
        let p1 = u64::from(PHILOX_M1) * u64::from(c[2]);
        c = [
            ((p1 >> 32) as u32) ^ c[1] ^ k0,
            p1 as u32,
            ((p0 >> 32) as u32) ^ c[3] ^ k1,
            p0 as u32,
        ];
    }
    c
}

/// The block of four words for draw `n` of `purpose` at `tick` under `key`.
#[inline]
fn block(key: u64, purpose: Purpose, tick: u32, n: u32) -> [u32; 4] {
    philox4x32([n, tick, purpose as u32, 0], key)
}

/// A uniform number in [0, 1) from two words (53 bits).
#[inline]
fn unit(hi: u32, lo: u32) -> f64 {
    (((u64::from(hi) << 32) | u64::from(lo)) >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// Draw `n` of `purpose` at `tick` under `key`: uniform in [0, 1).
#[inline]
pub fn uniform_at(key: u64, purpose: Purpose, tick: u32, n: u32) -> f64 {
    let w = block(key, purpose, tick, n);
    unit(w[0], w[1])
}

/// Draw `n` of `purpose` at `tick` under `key`: standard normal (Box–Muller on the block's two
/// uniforms, one of the pair kept).
#[inline]
pub fn normal_at(key: u64, purpose: Purpose, tick: u32, n: u32) -> f64 {
    let w = block(key, purpose, tick, n);
    let u1 = 1.0 - unit(w[0], w[1]); // (0, 1]
    let u2 = unit(w[2], w[3]);
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// Uniform draws in [0, 1) of one purpose at one tick for many (key, draw number) pairs at
/// once: the numbers [`uniform_at`] gives, computed eight blocks at a time with the
/// processor's 256-bit integer instructions where it has them (AVX2), one by one otherwise.
/// A pass that makes many independent draws (shipping: one per shipment) lists them first,
/// draws them together, then reads them in the same order.
#[derive(Debug, Default)]
pub struct Batch {
    keys: Vec<u64>,
    counts: Vec<u32>,
    draws: Vec<f64>,
}

impl Batch {
    /// Forgets the listed draws (keeping the room).
    pub fn clear(&mut self) {
        self.keys.clear();
        self.counts.clear();
        self.draws.clear();
    }

    /// Lists draw `n` under `key`, after those listed before it.
    #[inline]
    pub fn push(&mut self, key: u64, n: u32) {
        self.keys.push(key);
        self.counts.push(n);
    }

    /// Computes every listed draw of `purpose` at `tick`.
    pub fn draw(&mut self, purpose: Purpose, tick: u32) {
        self.draw_with(purpose, tick, true);
    }

    /// [`Batch::draw`], eight at a time only when `wide` (and the processor can).
    fn draw_with(&mut self, purpose: Purpose, tick: u32, wide: bool) {
        let n = self.keys.len();
        self.draws.clear();
        self.draws.resize(n, 0.0);
        let mut done = 0;
        #[cfg(target_arch = "x86_64")]
        if wide && wide_available() {
            while done + 8 <= n {
                let r = done..done + 8;
                // SAFETY: AVX2 is available (checked above).
                let w = unsafe {
                    wide::philox8(
                        self.keys[r.clone()].try_into().expect("eight keys"),
                        self.counts[r.clone()].try_into().expect("eight counts"),
                        tick,
                        purpose as u32,
                    )
                };
                for (d, (hi, lo)) in self.draws[r].iter_mut().zip(w[0].iter().zip(&w[1])) {
                    *d = unit(*hi, *lo);
                }
                done += 8;
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = wide;
        for i in done..n {
            self.draws[i] = uniform_at(self.keys[i], purpose, tick, self.counts[i]);
        }
    }

    /// The `i`-th listed draw (after [`Batch::draw`]).
    #[inline]
    pub fn get(&self, i: usize) -> f64 {
        self.draws[i]
    }
}

/// Whether the eight-wide Philox can run on this processor.
#[inline]
fn wide_available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

#[cfg(target_arch = "x86_64")]
mod wide {
    use super::{PHILOX_M0, PHILOX_M1, PHILOX_W0, PHILOX_W1};
    use std::arch::x86_64::*;

    /// Words 0 and 1 of [`super::philox4x32`] for the counters `(n[i], tick, purpose, 0)` under
    /// `keys[i]`, eight blocks at once: each 32-bit lane of a vector holds one block's word, and
    /// each round's two 32×32→64-bit products are taken for the even lanes and then the odd.
    ///
    /// # Safety
    /// The processor has AVX2.
    #[target_feature(enable = "avx2")]
    pub unsafe fn philox8(keys: &[u64; 8], n: &[u32; 8], tick: u32, purpose: u32) -> [[u32; 8]; 2] {
        let lo_keys: [u32; 8] = std::array::from_fn(|i| keys[i] as u32);
        let hi_keys: [u32; 8] = std::array::from_fn(|i| (keys[i] >> 32) as u32);
        // SAFETY: the arrays hold eight 32-bit words each, as the loads and stores read and
        // write; AVX2 is the caller's promise.
        unsafe {
            let mut c0 = _mm256_loadu_si256(n.as_ptr().cast());
            let mut c1 = _mm256_set1_epi32(tick as i32);
            let mut c2 = _mm256_set1_epi32(purpose as i32);
            let mut c3 = _mm256_setzero_si256();
            let mut k0 = _mm256_loadu_si256(lo_keys.as_ptr().cast());
            let mut k1 = _mm256_loadu_si256(hi_keys.as_ptr().cast());
            let (m0, m1) = (_mm256_set1_epi32(PHILOX_M0 as i32), _mm256_set1_epi32(PHILOX_M1 as i32));
            let (w0, w1) = (_mm256_set1_epi32(PHILOX_W0 as i32), _mm256_set1_epi32(PHILOX_W1 as i32));
            for round in 0..10 {
                if round > 0 {
                    k0 = _mm256_add_epi32(k0, w0);
                    k1 = _mm256_add_epi32(k1, w1);
                }
                // Products of the even lanes, then of the odd lanes shifted down.
                let even0 = _mm256_mul_epu32(c0, m0);
                let odd0 = _mm256_mul_epu32(_mm256_srli_epi64(c0, 32), m0);
                let even1 = _mm256_mul_epu32(c2, m1);
                let odd1 = _mm256_mul_epu32(_mm256_srli_epi64(c2, 32), m1);
                // Each lane's low and high word of its product.
                let lo0 = _mm256_blend_epi32(even0, _mm256_slli_epi64(odd0, 32), 0xAA);
                let hi0 = _mm256_blend_epi32(_mm256_srli_epi64(even0, 32), odd0, 0xAA);
                let lo1 = _mm256_blend_epi32(even1, _mm256_slli_epi64(odd1, 32), 0xAA);
                let hi1 = _mm256_blend_epi32(_mm256_srli_epi64(even1, 32), odd1, 0xAA);
                let next0 = _mm256_xor_si256(_mm256_xor_si256(hi1, c1), k0);
                let next2 = _mm256_xor_si256(_mm256_xor_si256(hi0, c3), k1);
                (c0, c1, c2, c3) = (next0, lo1, next2, lo0);
            }
            let mut out = [[0u32; 8]; 2];
            _mm256_storeu_si256(out[0].as_mut_ptr().cast(), c0);
            _mm256_storeu_si256(out[1].as_mut_ptr().cast(), c1);
            out
        }
    }
}

/// An agent's key and the draws it has made this tick for each purpose that draws more than
/// once a tick. The count starts again at 0 on every tick, so the `k`-th shipment a supplier
/// sends on a day draws the same number in every scenario, however many it sent before.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Streams {
    pub key: u64,
    /// The tick the counts below belong to.
    tick: u32,
    shipping: u32,
    customs: u32,
    licensing: u32,
}

impl Streams {
    /// The streams of agent `agent_id` in a run with `seed`.
    pub fn new(seed: u64, agent_id: &str) -> Streams {
        Streams {
            key: agent_key(seed, agent_id),
            ..Streams::default()
        }
    }

    /// The next uniform draw in [0, 1) of `purpose` (shipping, customs or licensing) at `tick`.
    pub fn uniform(&mut self, purpose: Purpose, tick: u32) -> f64 {
        let n = self.next(purpose, tick);
        uniform_at(self.key, purpose, tick, n)
    }

    /// The number of the next draw of `purpose` (shipping, customs or licensing) at `tick`,
    /// counted as made: with the key, what [`Batch::push`] lists.
    #[inline]
    pub fn next(&mut self, purpose: Purpose, tick: u32) -> u32 {
        if tick != self.tick {
            self.tick = tick;
            self.shipping = 0;
            self.customs = 0;
            self.licensing = 0;
        }
        let count = match purpose {
            Purpose::Shipping => &mut self.shipping,
            Purpose::Customs => &mut self.customs,
            Purpose::Licensing => &mut self.licensing,
            Purpose::Demand => panic!("demand draws one normal per agent and tick: use demand_normal"),
        };
        let n = *count;
        *count += 1;
        n
    }

    /// This tick's demand noise: a standard normal, one per agent and tick.
    pub fn demand_normal(&self, tick: u32) -> f64 {
        normal_at(self.key, Purpose::Demand, tick, 0)
    }
}

/// Every firm's [`Streams`], by firm index.
#[derive(Resource, Debug, Default)]
pub struct FirmStreams {
    pub firms: Vec<Streams>,
}

/// A sequential generator over the same function, for code that wants `rand`'s traits (e.g. a
/// distribution's `sample`): its `i`-th 64-bit word is word pair `i mod 2` of block `i / 2`
/// for (key, purpose, tick).
#[derive(Clone, Debug)]
pub struct CounterRng {
    key: u64,
    purpose: Purpose,
    tick: u32,
    next: u64,
}

impl CounterRng {
    pub fn new(key: u64, purpose: Purpose, tick: u32) -> CounterRng {
        CounterRng {
            key,
            purpose,
            tick,
            next: 0,
        }
    }
}

impl rand::TryRng for CounterRng {
    type Error = Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        Ok(self.try_next_u64()? as u32)
    }

    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        let i = self.next;
        self.next += 1;
        let w = block(self.key, self.purpose, self.tick, (i / 2) as u32);
        let (hi, lo) = if i.is_multiple_of(2) { (w[0], w[1]) } else { (w[2], w[3]) };
        Ok((u64::from(hi) << 32) | u64::from(lo))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        for chunk in dst.chunks_mut(8) {
            let w = self.try_next_u64()?.to_le_bytes();
            chunk.copy_from_slice(&w[..chunk.len()]);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    #[test]
    fn philox_matches_the_random123_known_answers() {
        // kat_vectors of Random123 1.14, philox4x32 with 10 rounds.
        assert_eq!(philox4x32([0; 4], 0), [0x6627_e8d5, 0xe169_c58d, 0xbc57_ac4c, 0x9b00_dbd8]);
        assert_eq!(
            philox4x32([u32::MAX; 4], u64::MAX),
            [0x408f_276d, 0x41c8_3b0e, 0xa20b_c7c6, 0x6d54_51fd]
        );
        assert_eq!(
            philox4x32([0x243f_6a88, 0x85a3_08d3, 0x1319_8a2e, 0x0370_7344], 0x299f_31d0_a409_3822),
            [0xd16c_fe09, 0x94fd_cceb, 0x5001_e420, 0x2412_6ea1]
        );
    }

    #[test]
    fn draws_are_keyed_by_seed_agent_purpose_tick_and_count() {
        let k = agent_key(1, "f");
        let base = uniform_at(k, Purpose::Shipping, 5, 0);
        assert_eq!(base, uniform_at(agent_key(1, "f"), Purpose::Shipping, 5, 0));
        for other in [
            uniform_at(agent_key(2, "f"), Purpose::Shipping, 5, 0),
            uniform_at(agent_key(1, "g"), Purpose::Shipping, 5, 0),
            uniform_at(k, Purpose::Customs, 5, 0),
            uniform_at(k, Purpose::Shipping, 6, 0),
            uniform_at(k, Purpose::Shipping, 5, 1),
        ] {
            assert_ne!(base, other);
        }
    }

    #[test]
    fn a_days_draws_do_not_depend_on_earlier_days_or_other_purposes() {
        // Two agents with the same key: one draws on days 1 and 2 and for customs, the other
        // only on day 3. Their day-3 shipping draws are the same numbers.
        let mut busy = Streams::new(9, "s");
        let mut idle = Streams::new(9, "s");
        for t in 1..3 {
            for _ in 0..7 {
                busy.uniform(Purpose::Shipping, t);
            }
        }
        busy.uniform(Purpose::Customs, 3);
        let a: Vec<f64> = (0..4).map(|_| busy.uniform(Purpose::Shipping, 3)).collect();
        let b: Vec<f64> = (0..4).map(|_| idle.uniform(Purpose::Shipping, 3)).collect();
        assert_eq!(a, b);
        assert_eq!(a[2], uniform_at(agent_key(9, "s"), Purpose::Shipping, 3, 2));
    }

    #[test]
    fn uniforms_and_normals_have_their_moments() {
        let k = agent_key(7, "x");
        let n = 200_000u32;
        let us: Vec<f64> = (0..n).map(|i| uniform_at(k, Purpose::Shipping, i, 0)).collect();
        let mean = us.iter().sum::<f64>() / f64::from(n);
        let var = us.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / f64::from(n);
        assert!((mean - 0.5).abs() < 0.005, "{mean}");
        assert!((var - 1.0 / 12.0).abs() < 0.002, "{var}");
        assert!(us.iter().all(|u| (0.0..1.0).contains(u)));
        // Lag-1 correlation over ticks, as a supplier's daily draws are used.
        let c = us.windows(2).map(|w| (w[0] - mean) * (w[1] - mean)).sum::<f64>() / f64::from(n - 1) / var;
        assert!(c.abs() < 0.01, "lag-1 correlation {c}");
        let xs: Vec<f64> = (0..n).map(|i| normal_at(k, Purpose::Demand, i, 0)).collect();
        let mean = xs.iter().sum::<f64>() / f64::from(n);
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / f64::from(n);
        assert!(mean.abs() < 0.01, "{mean}");
        assert!((var - 1.0).abs() < 0.02, "{var}");
        // Neighbouring agents' draws on the same tick are uncorrelated.
        let (a, b): (Vec<f64>, Vec<f64>) = (0..n)
            .map(|i| {
                let (ka, kb) = (agent_key(7, &format!("f{i}")), agent_key(7, &format!("f{}", i + 1)));
                (uniform_at(ka, Purpose::Shipping, 1, 0), uniform_at(kb, Purpose::Shipping, 1, 0))
            })
            .unzip();
        let c = a.iter().zip(&b).map(|(x, y)| (x - 0.5) * (y - 0.5)).sum::<f64>() / f64::from(n) * 12.0;
        assert!(c.abs() < 0.01, "cross-agent correlation {c}");
    }

    #[test]
    fn batched_draws_are_the_draws_made_one_by_one() {
        // Lengths around multiples of eight, keys and counts across their ranges, eight wide
        // and one by one.
        for len in [0usize, 1, 7, 8, 9, 16, 23, 64, 101] {
            for wide in [true, false] {
                let mut b = Batch::default();
                let pairs: Vec<(u64, u32)> = (0..len as u64)
                    .map(|i| (splitmix(i ^ 0xA5A5).wrapping_mul(3 + i), splitmix(i) as u32 >> (i % 32)))
                    .collect();
                for &(k, n) in &pairs {
                    b.push(k, n);
                }
                b.draw_with(Purpose::Shipping, 7 + len as u32, wide);
                for (i, &(k, n)) in pairs.iter().enumerate() {
                    assert_eq!(
                        b.get(i).to_bits(),
                        uniform_at(k, Purpose::Shipping, 7 + len as u32, n).to_bits(),
                        "draw {i} of {len}, wide {wide}"
                    );
                }
                // Cleared, the batch lists only what comes after.
                b.clear();
                b.push(5, 6);
                b.draw_with(Purpose::Shipping, 1, wide);
                assert_eq!(b.get(0).to_bits(), uniform_at(5, Purpose::Shipping, 1, 6).to_bits());
            }
        }
        let extremes = [(0u64, 0u32), (u64::MAX, u32::MAX)];
        let mut b = Batch::default();
        for i in 0..8 {
            let (k, n) = extremes[i % 2];
            b.push(k, n);
        }
        b.draw(Purpose::Customs, u32::MAX);
        for i in 0..8 {
            let (k, n) = extremes[i % 2];
            assert_eq!(b.get(i).to_bits(), uniform_at(k, Purpose::Customs, u32::MAX, n).to_bits());
        }
    }

    #[test]
    fn the_rand_adapter_walks_the_same_blocks() {
        let k = agent_key(3, "a");
        let mut r = CounterRng::new(k, Purpose::Licensing, 4);
        let w = philox4x32([1, 4, Purpose::Licensing as u32, 0], k);
        r.next_u64();
        r.next_u64();
        assert_eq!(r.next_u64(), (u64::from(w[0]) << 32) | u64::from(w[1]));
    }
}
