//! Stable hashes of ids and counters, the same on every platform and in every run: the keys of
//! random draws (`world::rng`), of a generated world's draws (`world::synthetic`) and of the
//! firms an output sample keeps (`model::output`).

/// 64-bit FNV-1a of a string.
pub fn stable_hash(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// SplitMix64's finaliser (Steele, Lea & Flood 2014): a bijective mix of 64 bits.
pub fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// SplitMix64's output for state `z`: the golden-ratio increment, then [`mix64`].
pub fn splitmix(z: u64) -> u64 {
    mix64(z.wrapping_add(0x9e37_79b9_7f4a_7c15))
}
