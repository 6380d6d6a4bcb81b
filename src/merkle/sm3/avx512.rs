//! SM3, 16 messages at once in AVX-512 lanes (the shared `simd::avx512` vectors).

#![allow(unsafe_code)]

use super::lanes::{compress_lanes, compress_node};
use crate::merkle::simd::avx512::{Lanes16, Token};
use crate::merkle::simd::{Blocks, LaneStates};

pub(super) use crate::merkle::simd::avx512::LANES;

/// Compresses `blocks[b][lane]` for every `b`, in order, into `states[lane]`, all 16 lanes.
pub(super) fn compress(_: Token, states: &mut LaneStates, blocks: &[Blocks]) {
    // SAFETY: the `Token` argument exists only if this CPU has AVX-512 F and BW (`Token::detect`).
    unsafe { compress_avx512(states, blocks) }
}

#[target_feature(enable = "avx512f,avx512bw")]
fn compress_avx512(states: &mut LaneStates, blocks: &[Blocks]) {
    // SAFETY: this function is compiled with the features `Lanes16` needs.
    unsafe { compress_lanes::<Lanes16>(states, blocks) }
}

/// SM3 of one 64-byte message per lane (see `lanes::compress_node`), all 16 lanes.
pub(super) fn node(_: Token, states: &mut LaneStates, blocks: &Blocks) {
    // SAFETY: as for `compress`.
    unsafe { node_avx512(states, blocks) }
}

#[target_feature(enable = "avx512f,avx512bw")]
fn node_avx512(states: &mut LaneStates, blocks: &Blocks) {
    // SAFETY: this function is compiled with the features `Lanes16` needs.
    unsafe { compress_node::<Lanes16>(states, blocks) }
}
