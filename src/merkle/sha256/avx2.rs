//! SHA-256, 8 messages at once in AVX2 lanes ([`simd::avx2`](super::super::simd)). For CPUs
//! with AVX2 but neither SHA-NI nor AVX-512.

#![allow(unsafe_code)]

use super::lanes::{compress_lanes, compress_rfc9162_node};
use super::{Blocks, LaneStates};
use crate::merkle::simd::avx2::{Lanes8, Token};

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

/// An RFC 9162 node (two blocks, the second's words 1–15 fixed), all lanes.
pub(super) fn rfc9162_node(_: Token, states: &mut LaneStates, blocks: &[Blocks; 2]) {
    // SAFETY: as for `compress`.
    unsafe { rfc9162_node_avx2(states, blocks) }
}

#[target_feature(enable = "avx2")]
fn rfc9162_node_avx2(states: &mut LaneStates, blocks: &[Blocks; 2]) {
    // SAFETY: this function is compiled with the features `Lanes8` needs.
    unsafe { compress_rfc9162_node::<Lanes8>(states, blocks) }
}
