//! Portable SM3 compression: the reference every SIMD kernel is tested against, and the
//! fallback on CPUs without AVX2.
//!
//! Written from GB/T 32905-2016 §5.3 as plainly as possible; one lane, no tricks.
#![forbid(unsafe_code)]

use super::{T_ROTATED, expand};
use crate::merkle::simd::{Blocks, LaneStates};

/// Lanes this kernel processes per call.
pub(super) const LANES: usize = 1;

/// Compresses `blocks[b][0]` for every `b`, in order, into `states[0]`.
pub(super) fn compress(states: &mut LaneStates, blocks: &[Blocks]) {
    for block in blocks {
        let mut words = [0u32; 16];
        for (word, bytes) in words.iter_mut().zip(block[0].chunks_exact(4)) {
            *word = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        }
        compress_expanded(&mut states[0], &expand(words));
    }
}

/// The compression function CF(V, B) of §5.3.3, given B's expanded words W₀…W₆₇ (§5.3.2);
/// W′ⱼ = Wⱼ ⊕ Wⱼ₊₄ is formed per round.
pub(super) fn compress_expanded(state: &mut [u32; 8], w: &[u32; 68]) {
    let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut h] = *state;
    for j in 0..64 {
        let a12 = a.rotate_left(12);
        let ss1 = a12
            .wrapping_add(e)
            .wrapping_add(T_ROTATED[j])
            .rotate_left(7);
        let ss2 = ss1 ^ a12;
        let (ff, gg) = if j < 16 {
            (a ^ b ^ c, e ^ f ^ g)
        } else {
            ((a & b) | (a & c) | (b & c), (e & f) | (!e & g))
        };
        let tt1 = ff
            .wrapping_add(d)
            .wrapping_add(ss2)
            .wrapping_add(w[j] ^ w[j + 4]);
        let tt2 = gg.wrapping_add(h).wrapping_add(ss1).wrapping_add(w[j]);
        d = c;
        c = b.rotate_left(9);
        b = a;
        a = tt1;
        h = g;
        g = f.rotate_left(19);
        f = e;
        e = tt2 ^ tt2.rotate_left(9) ^ tt2.rotate_left(17);
    }
    for (s, v) in state.iter_mut().zip([a, b, c, d, e, f, g, h]) {
        *s ^= v;
    }
}
