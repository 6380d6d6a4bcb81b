//! The SM3 compression written once for any vector of `u32` lanes (AVX2: 8, AVX-512: 16; see
//! the shared `simd` module), following GB/T 32905-2016 §5.3 lane-parallel.
//!
//! The kernels call these from their `#[target_feature]` functions, so after inlining the
//! whole compression is compiled for that ISA: on AVX-512 every rotation is one `vprold` and
//! every three-input function one `vpternlogd`.

#![allow(unsafe_code)]

use super::{IV, PAD64_EXPANDED, T_ROTATED};
use crate::merkle::simd::{Blocks, LaneStates, U32Lanes};

/// Compresses `blocks[b][lane]` for every `b`, in order, into `states[lane]`.
///
/// # Safety
/// `V`'s target features must be enabled in the caller.
#[inline(always)]
pub(super) unsafe fn compress_lanes<V: U32Lanes>(states: &mut LaneStates, blocks: &[Blocks]) {
    // SAFETY: the caller guarantees V's features (this function's contract).
    unsafe {
        let mut s = [V::splat(0); 8];
        for (i, word) in s.iter_mut().enumerate() {
            *word = V::load_state_word(states, i);
        }
        for block in blocks {
            compress_words(&mut s, &expand_block::<V>(block));
        }
        for (i, word) in s.iter().enumerate() {
            word.store_state_word(states, i);
        }
    }
}

/// SM3 of one 64-byte message per lane (`blocks[lane]`: a Merkle node's two children) from
/// the IV (the incoming `states` are not read). The second block is the constant padding
/// block (0x80, zeros, bit length 512), whose expansion is computed at compile time; its
/// words are passed as constants, so the compiler folds `W′ⱼ = Wⱼ ⊕ Wⱼ₊₄` too.
///
/// # Safety
/// `V`'s target features must be enabled in the caller.
#[inline(always)]
pub(super) unsafe fn compress_node<V: U32Lanes>(states: &mut LaneStates, blocks: &Blocks) {
    // SAFETY: the caller guarantees V's features (this function's contract).
    unsafe {
        let mut s = IV.map(|word| V::splat(word));
        compress_words(&mut s, &expand_block::<V>(blocks));
        compress_words(&mut s, &PAD64_EXPANDED.map(|word| V::splat(word)));
        for (i, word) in s.iter().enumerate() {
            word.store_state_word(states, i);
        }
    }
}

/// `x <<< 7`, written as the right rotation the trait offers.
macro_rules! rotl {
    ($x:expr, 7) => {
        V::rotr::<25, 7>($x)
    };
    ($x:expr, 9) => {
        V::rotr::<23, 9>($x)
    };
    ($x:expr, 12) => {
        V::rotr::<20, 12>($x)
    };
    ($x:expr, 15) => {
        V::rotr::<17, 15>($x)
    };
    ($x:expr, 17) => {
        V::rotr::<15, 17>($x)
    };
    ($x:expr, 19) => {
        V::rotr::<13, 19>($x)
    };
    ($x:expr, 23) => {
        V::rotr::<9, 23>($x)
    };
}

/// Message expansion (§5.3.2): W₀…W₁₅ from the block, Wⱼ = P₁(Wⱼ₋₁₆ ⊕ Wⱼ₋₉ ⊕ (Wⱼ₋₃ <<< 15))
/// ⊕ (Wⱼ₋₁₃ <<< 7) ⊕ Wⱼ₋₆ for j = 16…67.
///
/// # Safety
/// `V`'s target features must be enabled in the caller.
#[inline(always)]
unsafe fn expand_block<V: U32Lanes>(block: &Blocks) -> [V; 68] {
    // SAFETY: the caller guarantees V's features.
    unsafe {
        let mut w = [V::splat(0); 68];
        for (t, word) in w.iter_mut().take(16).enumerate() {
            *word = V::load_message_word(block, t);
        }
        for j in 16..68 {
            let x = V::xor3(w[j - 16], w[j - 9], rotl!(w[j - 3], 15));
            let p1 = V::xor3(x, rotl!(x, 15), rotl!(x, 23));
            w[j] = V::xor3(p1, rotl!(w[j - 13], 7), w[j - 6]);
        }
        w
    }
}

/// The compression function CF (§5.3.3) of the expanded words `w` into the state `s`.
///
/// # Safety
/// `V`'s target features must be enabled in the caller.
#[inline(always)]
unsafe fn compress_words<V: U32Lanes>(s: &mut [V; 8], w: &[V; 68]) {
    // SAFETY: the caller guarantees V's features.
    unsafe {
        let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut h] = *s;
        for j in 0..64 {
            let a12 = rotl!(a, 12);
            let ss1 = rotl!(V::add(V::add(a12, e), V::splat(T_ROTATED[j])), 7);
            let ss2 = V::xor(ss1, a12);
            let (ff, gg) = if j < 16 {
                (V::xor3(a, b, c), V::xor3(e, f, g))
            } else {
                (V::majority(a, b, c), V::choose(e, f, g))
            };
            let tt1 = V::add(V::add(ff, d), V::add(ss2, V::xor(w[j], w[j + 4])));
            let tt2 = V::add(V::add(gg, h), V::add(ss1, w[j]));
            d = c;
            c = rotl!(b, 9);
            b = a;
            a = tt1;
            h = g;
            g = rotl!(f, 19);
            f = e;
            e = V::xor3(tt2, rotl!(tt2, 9), rotl!(tt2, 17));
        }
        for (word, v) in s.iter_mut().zip([a, b, c, d, e, f, g, h]) {
            *word = V::xor(*word, v);
        }
    }
}
