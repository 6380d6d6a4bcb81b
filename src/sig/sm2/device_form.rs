//! SM2 items in the form the GPU kernel reads (`shaders/sm2.wgsl`, host side in
//! `gpu::sm2`): what the CPU engine's representation looks like as 32-bit words.
//!
//! The host runs checks 1–5 and hashes the digests with the CPU engine's own code
//! ([`Sm2Engine::prepare`]), so every reason those checks give is the CPU engine's by
//! construction; the device computes `[s]G + [t]P` and checks 6 and 7. Per surviving item,
//! 48 words: the key's affine `x`, `y` (Montgomery form, as `field::Fe` holds them), `s` and
//! `t` (plain integers), and the two candidates of the final check — `c = (r − e) mod n` and
//! `c + n` where that is below p, in Montgomery form — so the kernel compares
//! `X = c·Z²` without an inversion or any arithmetic modulo n, as the CPU engine does
//! ([`rules::check_sum`]). A missing second candidate is written as all ones, which no
//! reduced value equals and which the kernel never multiplies.
#![forbid(unsafe_code)]

use super::engine::{Sm2Engine, Survivor};
use super::field::{Fe, P, limbs_from_be};
use super::{Sm2Item, rules, scalar};
use crate::sig::Verdict;

/// p, little-endian 64-bit limbs.
pub(crate) const P_LIMBS: [u64; 4] = P;

/// 1 in Montgomery form (R mod p), little-endian 64-bit limbs.
pub(crate) const ONE_LIMBS: [u64; 4] = Fe::ONE.0;

/// Words per packed item.
pub(crate) const ITEM_WORDS: usize = 48;

/// The words of a second candidate that does not exist.
const NO_CANDIDATE: [u32; 8] = [u32::MAX; 8];

/// A batch packed for the device.
pub(crate) struct Packed {
    /// [`ITEM_WORDS`] per item that reached the device, in order.
    pub words: Vec<u32>,
    /// One verdict per item of the call: the reasons of checks 1–5, `Valid` (to be
    /// overwritten) for the items on the device.
    pub verdicts: Vec<Verdict>,
    /// The call's index of each item on the device.
    pub on_device: Vec<usize>,
}

/// Runs checks 1–5 and hashes the digests of `items` on the current pool, then packs the
/// survivors.
pub(crate) fn pack(engine: &Sm2Engine, items: &[Sm2Item<'_>]) -> Packed {
    let (verdicts, packed) = engine.prepare(items, |item| (item.index, item_words(&item)));
    let mut words = Vec::with_capacity(packed.len() * ITEM_WORDS);
    let mut on_device = Vec::with_capacity(packed.len());
    for (index, item) in packed {
        on_device.push(index);
        words.extend_from_slice(&item);
    }
    Packed {
        words,
        verdicts,
        on_device,
    }
}

fn item_words(item: &Survivor<'_>) -> [u32; ITEM_WORDS] {
    let e = scalar::reduce(&limbs_from_be(&item.e));
    let c = scalar::sub_mod_n(&item.r, &e);
    let (first, second) = scalar::field_candidates(&c);
    let parts = [
        words(&item.key.x.0),
        words(&item.key.y.0),
        words(&item.s),
        words(&item.t),
        words(&Fe::from_canonical_limbs(first).0),
        second.map_or(NO_CANDIDATE, |x| words(&Fe::from_canonical_limbs(x).0)),
    ];
    let mut out = [0u32; ITEM_WORDS];
    for (dst, part) in out.chunks_exact_mut(8).zip(parts) {
        dst.copy_from_slice(&part);
    }
    out
}

/// The `G` comb the CPU engine uses (`rules::g_comb`), row by row, each entry `x ‖ y` in
/// Montgomery form: 960 entries of 16 words.
pub(crate) fn g_comb_words() -> Vec<u32> {
    rules::g_comb()
        .entries()
        .flat_map(|point| {
            let mut entry = [0u32; 16];
            entry[..8].copy_from_slice(&words(&point.x.0));
            entry[8..].copy_from_slice(&words(&point.y.0));
            entry
        })
        .collect()
}

/// Four little-endian 64-bit limbs as eight little-endian 32-bit words.
pub(crate) fn words(limbs: &[u64; 4]) -> [u32; 8] {
    let mut out = [0u32; 8];
    for (i, limb) in limbs.iter().enumerate() {
        out[2 * i] = *limb as u32;
        out[2 * i + 1] = (*limb >> 32) as u32;
    }
    out
}
