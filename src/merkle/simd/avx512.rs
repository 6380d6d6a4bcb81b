//! Sixteen `u32` lanes in AVX-512 registers (`vprord`/`vprold` rotates, `vpternlogd` for the
//! three-input functions, gathers to transpose message blocks), and the one detection of
//! AVX-512 F + BW.

#![allow(unsafe_code)]

use core::arch::x86_64::{
    __m512i, _mm_set_epi64x, _mm512_add_epi32, _mm512_broadcast_i32x4, _mm512_i32gather_epi32,
    _mm512_i32scatter_epi32, _mm512_ror_epi32, _mm512_set_epi32, _mm512_set1_epi32,
    _mm512_shuffle_epi8, _mm512_srl_epi32, _mm512_ternarylogic_epi32, _mm512_xor_si512,
};

use super::{Blocks, LaneStates, U32Lanes};

/// Messages per call.
pub(in crate::merkle) const LANES: usize = 16;

/// Proof that this CPU has AVX-512 F and BW. Only [`Token::detect`] makes one (the field is
/// private to this module), so holding a token is what makes a kernel's `unsafe` call into its
/// `#[target_feature(enable = "avx512f,avx512bw")]` code sound. SHA-256 and SM3 share this one
/// detection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(in crate::merkle) struct Token(());

impl Token {
    /// A token if this CPU has the instructions, detected at run time.
    pub(in crate::merkle) fn detect() -> Option<Token> {
        (std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512bw"))
        .then_some(Token(()))
    }
}

/// Sixteen `u32` lanes in a `__m512i`.
#[derive(Clone, Copy)]
pub(in crate::merkle) struct Lanes16(__m512i);

/// Byte offsets of lane `l`'s block in `Blocks` (64 bytes each).
///
/// # Safety
/// Needs avx512f (callers are inside the kernels' AVX-512 entry points).
#[inline(always)]
unsafe fn block_offsets() -> __m512i {
    // SAFETY: the caller has avx512f.
    unsafe {
        _mm512_set_epi32(
            960, 896, 832, 768, 704, 640, 576, 512, 448, 384, 320, 256, 192, 128, 64, 0,
        )
    }
}

/// Byte offsets of lane `l`'s state in `LaneStates` (32 bytes each).
///
/// # Safety
/// Needs avx512f (callers are inside the kernels' AVX-512 entry points).
#[inline(always)]
unsafe fn state_offsets() -> __m512i {
    // SAFETY: the caller has avx512f.
    unsafe {
        _mm512_set_epi32(
            480, 448, 416, 384, 352, 320, 288, 256, 224, 192, 160, 128, 96, 64, 32, 0,
        )
    }
}

// SAFETY: every method is `#[inline(always)]` and reached only from the hash kernels'
// `#[target_feature(enable = "avx512f,avx512bw")]` entry points, which take this module's
// `Token`.
unsafe impl U32Lanes for Lanes16 {
    #[inline(always)]
    unsafe fn splat(x: u32) -> Self {
        // SAFETY: a register-only AVX-512F intrinsic; the feature is enabled for every caller (see this impl's SAFETY note).
        Lanes16(unsafe { _mm512_set1_epi32(x as i32) })
    }
    #[inline(always)]
    unsafe fn add(a: Self, b: Self) -> Self {
        // SAFETY: a register-only AVX-512F intrinsic; the feature is enabled for every caller (see this impl's SAFETY note).
        Lanes16(unsafe { _mm512_add_epi32(a.0, b.0) })
    }
    #[inline(always)]
    unsafe fn xor(a: Self, b: Self) -> Self {
        // SAFETY: a register-only AVX-512F intrinsic; the feature is enabled for every caller (see this impl's SAFETY note).
        Lanes16(unsafe { _mm512_xor_si512(a.0, b.0) })
    }
    #[inline(always)]
    unsafe fn xor3(a: Self, b: Self, c: Self) -> Self {
        // SAFETY: a register-only AVX-512F intrinsic; the feature is enabled for every caller (see this impl's SAFETY note).
        Lanes16(unsafe { _mm512_ternarylogic_epi32::<0x96>(a.0, b.0, c.0) })
    }
    #[inline(always)]
    unsafe fn choose(e: Self, f: Self, g: Self) -> Self {
        // SAFETY: a register-only AVX-512F intrinsic; the feature is enabled for every caller (see this impl's SAFETY note).
        Lanes16(unsafe { _mm512_ternarylogic_epi32::<0xCA>(e.0, f.0, g.0) })
    }
    #[inline(always)]
    unsafe fn majority(a: Self, b: Self, c: Self) -> Self {
        // SAFETY: a register-only AVX-512F intrinsic; the feature is enabled for every caller (see this impl's SAFETY note).
        Lanes16(unsafe { _mm512_ternarylogic_epi32::<0xE8>(a.0, b.0, c.0) })
    }
    #[inline(always)]
    unsafe fn rotr<const R: i32, const L: i32>(a: Self) -> Self {
        // SAFETY: a register-only AVX-512F intrinsic; the feature is enabled for every caller (see this impl's SAFETY note).
        Lanes16(unsafe { _mm512_ror_epi32::<R>(a.0) })
    }
    #[inline(always)]
    unsafe fn shr<const R: i32>(a: Self) -> Self {
        // SAFETY: a register-only AVX-512F intrinsic; the feature is enabled for every caller (see this impl's SAFETY note).
        Lanes16(unsafe { _mm512_srl_epi32(a.0, _mm_set_epi64x(0, R as i64)) })
    }
    #[inline(always)]
    unsafe fn load_message_word(blocks: &Blocks, word: usize) -> Self {
        // SAFETY: lane l reads 4 bytes at l*64 + 4*word < 16*64 = size_of::<Blocks>().
        unsafe {
            let base = blocks.as_ptr().cast::<u8>().add(4 * word);
            let raw = _mm512_i32gather_epi32::<1>(block_offsets(), base.cast());
            let swap = _mm512_broadcast_i32x4(_mm_set_epi64x(
                0x0c0d_0e0f_0809_0a0b,
                0x0405_0607_0001_0203,
            ));
            Lanes16(_mm512_shuffle_epi8(raw, swap))
        }
    }
    #[inline(always)]
    unsafe fn load_state_word(states: &LaneStates, word: usize) -> Self {
        // SAFETY: lane l reads 4 bytes at l*32 + 4*word < 16*32 = size_of::<LaneStates>().
        unsafe {
            let base = states.as_ptr().cast::<u8>().add(4 * word);
            Lanes16(_mm512_i32gather_epi32::<1>(state_offsets(), base.cast()))
        }
    }
    #[inline(always)]
    unsafe fn store_state_word(self, states: &mut LaneStates, word: usize) {
        // SAFETY: the same 16 in-bounds addresses as `load_state_word`, written once each.
        unsafe {
            let base = states.as_mut_ptr().cast::<u8>().add(4 * word);
            _mm512_i32scatter_epi32::<1>(base.cast(), state_offsets(), self.0);
        }
    }
}
