//! Random streams. Every random number in a run comes from a stream keyed by
//! (run seed, stable agent id, purpose), so that a draw never depends on the thread count,
//! on the order in which the ECS iterates entities, or on which other agents exist.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// What a stream is used for; part of its key.
#[derive(Clone, Copy, Debug)]
pub enum Purpose {
    /// Day-to-day noise in a final-demand producer's planned output, and (for a nation's stream)
    /// the nation's persistent demand shock.
    Demand,
    /// Variation of a shipment's transit time around its route's lead time.
    Shipping,
    /// Customs inspections of a supplier's shipments (held or not, for how long).
    Customs,
    /// A buyer's licence applications: declared end use, review time, decision.
    Licensing,
}

impl Purpose {
    fn tag(self) -> &'static str {
        match self {
            Purpose::Demand => "demand",
            Purpose::Shipping => "shipping",
            Purpose::Customs => "customs",
            Purpose::Licensing => "licensing",
        }
    }
}

/// 64-bit FNV-1a of a string: a stable hash of an agent's id across runs and platforms.
pub fn stable_hash(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The stream of agent `agent_id` for `purpose` in a run with `seed`.
pub fn stream(seed: u64, agent_id: &str, purpose: Purpose) -> ChaCha8Rng {
    let mut key = [0u8; 32];
    let words = [
        splitmix(seed),
        splitmix(stable_hash(agent_id)),
        splitmix(stable_hash(purpose.tag())),
        splitmix(seed ^ stable_hash(agent_id).rotate_left(17)),
    ];
    for (chunk, w) in key.chunks_exact_mut(8).zip(words) {
        chunk.copy_from_slice(&w.to_le_bytes());
    }
    ChaCha8Rng::from_seed(key)
}

/// A uniform draw in [0, 1).
pub fn uniform(rng: &mut ChaCha8Rng) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// A standard normal draw (Box–Muller; one of the pair is discarded to keep one draw per call).
pub fn standard_normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1 = 1.0 - uniform(rng); // (0, 1]
    let u2 = uniform(rng);
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_keyed_and_repeatable() {
        let a: Vec<u64> = (0..4)
            .map(|_| 0)
            .scan(stream(1, "f", Purpose::Demand), |r, _| Some(r.next_u64()))
            .collect();
        let b: Vec<u64> = (0..4)
            .map(|_| 0)
            .scan(stream(1, "f", Purpose::Demand), |r, _| Some(r.next_u64()))
            .collect();
        assert_eq!(a, b);
        assert_ne!(
            stream(1, "f", Purpose::Demand).next_u64(),
            stream(2, "f", Purpose::Demand).next_u64()
        );
        assert_ne!(
            stream(1, "f", Purpose::Demand).next_u64(),
            stream(1, "g", Purpose::Demand).next_u64()
        );
        assert_ne!(
            stream(1, "f", Purpose::Demand).next_u64(),
            stream(1, "f", Purpose::Shipping).next_u64()
        );
    }

    #[test]
    fn normal_has_unit_moments() {
        let mut r = stream(7, "x", Purpose::Demand);
        let n = 200_000;
        let xs: Vec<f64> = (0..n).map(|_| standard_normal(&mut r)).collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
        assert!(mean.abs() < 0.01, "{mean}");
        assert!((var - 1.0).abs() < 0.02, "{var}");
    }
}
