//! SHA-256, 16 messages at once in AVX-512 lanes ([`simd::avx512`](super::super::simd)).

#![allow(unsafe_code)]

use super::lanes::{compress_lanes, compress_rfc9162_node};
use super::{Blocks, LaneStates};
use crate::merkle::simd::avx512::{Lanes16, Token};

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

/// An RFC 9162 node (two blocks, the second's words 1–15 fixed), all lanes.
pub(super) fn rfc9162_node(_: Token, states: &mut LaneStates, blocks: &[Blocks; 2]) {
    // SAFETY: as for `compress`.
    unsafe { rfc9162_node_avx512(states, blocks) }
}

#[target_feature(enable = "avx512f,avx512bw")]
fn rfc9162_node_avx512(states: &mut LaneStates, blocks: &[Blocks; 2]) {
    // SAFETY: this function is compiled with the features `Lanes16` needs.
    unsafe { compress_rfc9162_node::<Lanes16>(states, blocks) }
}
