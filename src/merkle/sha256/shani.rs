//! SHA-256 on the x86 SHA extensions (SHA-NI), several independent streams interleaved.
//!
//! One stream is latency-bound: each `sha256rnds2` (two rounds) waits for the previous one,
//! so a block takes about twice the instruction's throughput cost. Interleaving independent
//! messages fills those gaps. The SHA instructions are legacy-SSE encoded and can only name
//! `xmm0`–`xmm15`; one stream needs seven live registers (two state halves, four schedule
//! quads, one temporary), so two streams fit without spilling and more streams spill, and
//! `sha_ni_bound` measured two no slower than three or four (docs/tuning-log.md), so two it is.
//!
//! The state arrives in FIPS word order (`a..h`) and is shuffled into the `ABEF`/`CDGH`
//! halves the instructions use once per call, so multi-block messages pay that once.

#![allow(unsafe_code)]

use core::arch::x86_64::{
    __m128i, _mm_add_epi32, _mm_alignr_epi8, _mm_blend_epi16, _mm_loadu_si128, _mm_set_epi64x,
    _mm_sha256msg1_epu32, _mm_sha256msg2_epu32, _mm_sha256rnds2_epu32, _mm_shuffle_epi8,
    _mm_shuffle_epi32, _mm_storeu_si128,
};

use super::{Blocks, K256, LaneStates};

/// Streams interleaved per call (measured best on the reference machine).
pub(super) const LANES: usize = 2;

/// Proof that this CPU has the instructions this kernel uses. Only [`Token::detect`] makes
/// one (the field is private to this module), so holding a token is what makes the kernel's
/// `unsafe` calls sound: no safe code anywhere can reach them on a CPU without the features.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) struct Token(());

impl Token {
    /// A token if this CPU has the instructions, detected at run time.
    pub(super) fn detect() -> Option<Token> {
        is_supported().then_some(Token(()))
    }
}

/// Whether this CPU has the instructions this kernel uses.
fn is_supported() -> bool {
    std::arch::is_x86_feature_detected!("sha")
        && std::arch::is_x86_feature_detected!("sse4.1")
        && std::arch::is_x86_feature_detected!("ssse3")
}

/// Compresses `blocks[b][lane]` for every `b`, in order, into `states[lane]`, for the first
/// [`LANES`] lanes.
pub(super) fn compress(_: Token, states: &mut LaneStates, blocks: &[Blocks]) {
    // SAFETY: the `Token` argument exists only if `is_supported()` held (`Token::detect`), so
    // the target features are present.
    unsafe { compress_streams::<LANES>(states, blocks) }
}

#[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
fn compress_streams<const S: usize>(states: &mut LaneStates, blocks: &[Blocks]) {
    let byte_swap = _mm_set_epi64x(0x0c0d_0e0f_0809_0a0b, 0x0405_0607_0001_0203);
    let mut abef = [_mm_set_epi64x(0, 0); S];
    let mut cdgh = [_mm_set_epi64x(0, 0); S];
    for s in 0..S {
        // SAFETY: `states[s]` is a `[u32; 8]` (32 bytes); both unaligned loads stay inside it.
        let (abcd, efgh) = unsafe {
            let p = states[s].as_ptr().cast::<__m128i>();
            (_mm_loadu_si128(p), _mm_loadu_si128(p.add(1)))
        };
        let cdab = _mm_shuffle_epi32::<0xB1>(abcd);
        let hgfe = _mm_shuffle_epi32::<0x1B>(efgh);
        abef[s] = _mm_alignr_epi8::<8>(cdab, hgfe);
        cdgh[s] = _mm_blend_epi16::<0xF0>(hgfe, cdab);
    }
    for block in blocks {
        let saved_abef = abef;
        let saved_cdgh = cdgh;
        let mut w = [[_mm_set_epi64x(0, 0); 4]; S];
        for quad in 0..16 {
            let k = k_quad(quad);
            for s in 0..S {
                let q = quad % 4;
                if quad < 4 {
                    // SAFETY: `block[s]` is a `[u8; 64]`; quad < 4 reads bytes 16*quad..16*quad+16.
                    let raw =
                        unsafe { _mm_loadu_si128(block[s].as_ptr().cast::<__m128i>().add(quad)) };
                    w[s][q] = _mm_shuffle_epi8(raw, byte_swap);
                } else {
                    // W[t] = σ1(W[t-2]) + W[t-7] + σ0(W[t-15]) + W[t-16], four at a time:
                    // msg1 adds σ0 of the quad three back, alignr supplies W[t-7], msg2 adds σ1.
                    let x = _mm_sha256msg1_epu32(w[s][q], w[s][(quad - 3) % 4]);
                    let x = _mm_add_epi32(
                        x,
                        _mm_alignr_epi8::<4>(w[s][(quad - 1) % 4], w[s][(quad - 2) % 4]),
                    );
                    w[s][q] = _mm_sha256msg2_epu32(x, w[s][(quad - 1) % 4]);
                }
                let msg = _mm_add_epi32(w[s][q], k);
                cdgh[s] = _mm_sha256rnds2_epu32(cdgh[s], abef[s], msg);
                let msg_hi = _mm_shuffle_epi32::<0x0E>(msg);
                abef[s] = _mm_sha256rnds2_epu32(abef[s], cdgh[s], msg_hi);
            }
        }
        for s in 0..S {
            abef[s] = _mm_add_epi32(abef[s], saved_abef[s]);
            cdgh[s] = _mm_add_epi32(cdgh[s], saved_cdgh[s]);
        }
    }
    for s in 0..S {
        let feba = _mm_shuffle_epi32::<0x1B>(abef[s]);
        let dchg = _mm_shuffle_epi32::<0xB1>(cdgh[s]);
        let abcd = _mm_blend_epi16::<0xF0>(feba, dchg);
        let efgh = _mm_alignr_epi8::<8>(dchg, feba);
        // SAFETY: as for the loads above: two 16-byte stores inside the 32-byte `states[s]`.
        unsafe {
            let p = states[s].as_mut_ptr().cast::<__m128i>();
            _mm_storeu_si128(p, abcd);
            _mm_storeu_si128(p.add(1), efgh);
        }
    }
}

/// Round constants `K[4q..4q+4]` as one vector.
#[inline(always)]
fn k_quad(quad: usize) -> __m128i {
    let k = &K256[4 * quad..4 * quad + 4];
    // SAFETY: `k` is four `u32`s (16 bytes); the unaligned load reads exactly them.
    unsafe { _mm_loadu_si128(k.as_ptr().cast::<__m128i>()) }
}

/// The SHA-NI throughput bound: `rounds` × 64 compressions of cached blocks in each of
/// `streams` (1–4) independent states, nothing else (no padding, copies or stores between
/// blocks). Returns the states so the work cannot be optimised away.
pub(super) fn bound_probe(streams: usize, rounds: usize) -> Option<LaneStates> {
    if !is_supported() {
        return None;
    }
    let mut states = [super::IV; super::MAX_LANES];
    let blocks = [[[0x5au8; 64]; super::MAX_LANES]; 64];
    for _ in 0..rounds {
        // SAFETY: `is_supported()` was checked above.
        unsafe {
            match streams {
                1 => compress_streams::<1>(&mut states, &blocks),
                2 => compress_streams::<2>(&mut states, &blocks),
                3 => compress_streams::<3>(&mut states, &blocks),
                4 => compress_streams::<4>(&mut states, &blocks),
                _ => return None,
            }
        }
    }
    Some(states)
}
