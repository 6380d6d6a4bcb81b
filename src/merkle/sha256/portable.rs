//! Portable SHA-256 compression: the reference every SIMD kernel is tested against, and the
//! fallback on CPUs without SHA-NI or AVX2.
//!
//! Written from FIPS 180-4 §6.2.2 as plainly as possible; one lane, no tricks.
#![forbid(unsafe_code)]

use super::{Blocks, K256, LaneStates};

/// Lanes this kernel processes per call.
pub(super) const LANES: usize = 1;

/// Compresses `blocks[b][0]` for every `b`, in order, into `states[0]`.
pub(super) fn compress(states: &mut LaneStates, blocks: &[Blocks]) {
    for block in blocks {
        compress_block(&mut states[0], &block[0]);
    }
}

/// One SHA-256 compression of a 64-byte block into `state` (FIPS 180-4 §6.2.2).
fn compress_block(state: &mut [u32; 8], block: &[u8; 64]) {
    let mut w = [0u32; 64];
    for (t, word) in block.chunks_exact(4).enumerate() {
        w[t] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
    }
    for t in 16..64 {
        let s0 = w[t - 15].rotate_right(7) ^ w[t - 15].rotate_right(18) ^ (w[t - 15] >> 3);
        let s1 = w[t - 2].rotate_right(17) ^ w[t - 2].rotate_right(19) ^ (w[t - 2] >> 10);
        w[t] = w[t - 16]
            .wrapping_add(s0)
            .wrapping_add(w[t - 7])
            .wrapping_add(s1);
    }
    let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut h] = *state;
    for t in 0..64 {
        let big_s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
        let ch = (e & f) ^ (!e & g);
        let t1 = h
            .wrapping_add(big_s1)
            .wrapping_add(ch)
            .wrapping_add(K256[t])
            .wrapping_add(w[t]);
        let big_s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
        let maj = (a & b) ^ (a & c) ^ (b & c);
        let t2 = big_s0.wrapping_add(maj);
        h = g;
        g = f;
        f = e;
        e = d.wrapping_add(t1);
        d = c;
        c = b;
        b = a;
        a = t1.wrapping_add(t2);
    }
    for (s, v) in state.iter_mut().zip([a, b, c, d, e, f, g, h]) {
        *s = s.wrapping_add(v);
    }
}
