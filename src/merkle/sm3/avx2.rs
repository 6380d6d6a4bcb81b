//! SM3, 8 messages at once in AVX2 lanes (the shared `simd::avx2` vectors).

#![allow(unsafe_code)]

use super::lanes::{compress_lanes, compress_node};
use crate::merkle::simd::avx2::{Lanes8, Token};
use crate::merkle::simd::{Blocks, LaneStates};

pub(super) use crate::merkle::simd::avx2::LANES;

/// Compresses `blocks[b][lane]` for every `b`, in order, into `states[lane]`, first 8 lanes.
pub(super) fn compress(_: Token, states: &mut LaneStates, blocks: &[Blocks]) {
    // SAFETY: the `Token` argument exists only if this CPU has AVX2 (`Token::detect`).
    unsafe { compress_avx2(states, blocks) }
}

#[target_feature(enable = "avx2")]
fn compress_avx2(states: &mut LaneStates, blocks: &[Blocks]) {
    // SAFETY: this function is compiled with the features `Lanes8` needs.
    unsafe { compress_lanes::<Lanes8>(states, blocks) }
}

/// SM3 of one 64-byte message per lane (see `lanes::compress_node`), first 8 lanes.
pub(super) fn node(_: Token, states: &mut LaneStates, blocks: &Blocks) {
    // SAFETY: as for `compress`.
    unsafe { node_avx2(states, blocks) }
}

#[target_feature(enable = "avx2")]
fn node_avx2(states: &mut LaneStates, blocks: &Blocks) {
    // SAFETY: this function is compiled with the features `Lanes8` needs.
    unsafe { compress_node::<Lanes8>(states, blocks) }
}
