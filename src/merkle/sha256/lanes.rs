//! The SHA-256 compression written once for any vector of `u32` lanes (AVX2: 8, AVX-512: 16;
//! see the shared `simd` module).
//!
//! Each lane hashes its own message; all lanes run the same instructions. The kernels call
//! [`compress_lanes`] from a `#[target_feature]` function, so after inlining the whole
//! compression is compiled for that ISA.

#![allow(unsafe_code)]

use super::{Blocks, K256, LaneStates};
use crate::merkle::simd::U32Lanes;

/// Compresses `blocks[b][lane]` for every `b`, in order, into `states[lane]`, for the first
/// `V::LANES` lanes. Follows FIPS 180-4 §6.2.2 word for word, lane-parallel.
///
/// # Safety
/// `V`'s target features must be enabled in the caller.
#[inline(always)]
pub(super) unsafe fn compress_lanes<V: U32Lanes>(states: &mut LaneStates, blocks: &[Blocks]) {
    // SAFETY: the caller guarantees V's features (this function's contract).
    unsafe {
        let mut s = load_states::<V>(states);
        for block in blocks {
            let mut w = [V::splat(0); 16];
            for (t, word) in w.iter_mut().enumerate() {
                *word = V::load_message_word(block, t);
            }
            compress_words(&mut s, w);
        }
        store_states(s, states);
    }
}

/// An RFC 9162 interior node hashed from the initial value (the incoming `states` are not
/// read): `blocks[0]` in full, then the second block, whose words 1–15 are the same for every
/// node (padding and the 520-bit length). The IV and those words are passed as constants, so
/// the compiler drops the state gathers and folds the schedule terms that depend on them alone.
///
/// # Safety
/// `V`'s target features must be enabled in the caller.
#[inline(always)]
pub(super) unsafe fn compress_rfc9162_node<V: U32Lanes>(
    states: &mut LaneStates,
    blocks: &[Blocks; 2],
) {
    // SAFETY: the caller guarantees V's features (this function's contract).
    unsafe {
        let mut s = super::IV.map(|word| V::splat(word));
        let mut w = [V::splat(0); 16];
        for (t, word) in w.iter_mut().enumerate() {
            *word = V::load_message_word(&blocks[0], t);
        }
        compress_words(&mut s, w);
        let mut w = [V::splat(0); 16];
        w[0] = V::load_message_word(&blocks[1], 0);
        w[15] = V::splat(65 * 8);
        compress_words(&mut s, w);
        store_states(s, states);
    }
}

/// # Safety
/// `V`'s target features must be enabled in the caller.
#[inline(always)]
unsafe fn load_states<V: U32Lanes>(states: &LaneStates) -> [V; 8] {
    // SAFETY: the caller guarantees V's features.
    unsafe {
        let mut s = [V::splat(0); 8];
        for (i, word) in s.iter_mut().enumerate() {
            *word = V::load_state_word(states, i);
        }
        s
    }
}

/// # Safety
/// `V`'s target features must be enabled in the caller.
#[inline(always)]
unsafe fn store_states<V: U32Lanes>(s: [V; 8], states: &mut LaneStates) {
    for (i, word) in s.iter().enumerate() {
        // SAFETY: the caller guarantees V's features.
        unsafe { word.store_state_word(states, i) };
    }
}

/// One compression of the message words `w` into the state `s` (FIPS 180-4 §6.2.2).
///
/// # Safety
/// `V`'s target features must be enabled in the caller.
#[inline(always)]
unsafe fn compress_words<V: U32Lanes>(s: &mut [V; 8], mut w: [V; 16]) {
    // SAFETY: the caller guarantees V's features.
    unsafe {
        let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut h] = *s;
        for t in 0..64 {
            if t >= 16 {
                // W[t] = σ1(W[t-2]) + W[t-7] + σ0(W[t-15]) + W[t-16], in a 16-word ring.
                let w15 = w[(t - 15) % 16];
                let w2 = w[(t - 2) % 16];
                let s0 = V::xor3(
                    V::rotr::<7, 25>(w15),
                    V::rotr::<18, 14>(w15),
                    V::shr::<3>(w15),
                );
                let s1 = V::xor3(
                    V::rotr::<17, 15>(w2),
                    V::rotr::<19, 13>(w2),
                    V::shr::<10>(w2),
                );
                w[t % 16] = V::add(V::add(w[t % 16], s0), V::add(w[(t - 7) % 16], s1));
            }
            let big_s1 = V::xor3(
                V::rotr::<6, 26>(e),
                V::rotr::<11, 21>(e),
                V::rotr::<25, 7>(e),
            );
            let t1 = V::add(
                V::add(h, big_s1),
                V::add(V::choose(e, f, g), V::add(V::splat(K256[t]), w[t % 16])),
            );
            let big_s0 = V::xor3(
                V::rotr::<2, 30>(a),
                V::rotr::<13, 19>(a),
                V::rotr::<22, 10>(a),
            );
            let t2 = V::add(big_s0, V::majority(a, b, c));
            h = g;
            g = f;
            f = e;
            e = V::add(d, t1);
            d = c;
            c = b;
            b = a;
            a = V::add(t1, t2);
        }
        for (word, v) in s.iter_mut().zip([a, b, c, d, e, f, g, h]) {
            *word = V::add(*word, v);
        }
    }
}
