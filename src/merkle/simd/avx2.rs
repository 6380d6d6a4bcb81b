//! Eight `u32` lanes in AVX2 registers (rotates as two shifts and an OR, gathers to transpose
//! message blocks), and the one detection of AVX2.

#![allow(unsafe_code)]

use core::arch::x86_64::{
    __m256i, _mm_set_epi64x, _mm256_add_epi32, _mm256_and_si256, _mm256_andnot_si256,
    _mm256_broadcastsi128_si256, _mm256_i32gather_epi32, _mm256_or_si256, _mm256_set_epi32,
    _mm256_set1_epi32, _mm256_shuffle_epi8, _mm256_slli_epi32, _mm256_srli_epi32,
    _mm256_storeu_si256, _mm256_xor_si256,
};

use super::{Blocks, LaneStates, U32Lanes};

/// Messages per call.
pub(in crate::merkle) const LANES: usize = 8;

/// Proof that this CPU has AVX2. Only [`Token::detect`] makes one (the field is private to
/// this module), so holding a token is what makes a kernel's `unsafe` call into its
/// `#[target_feature(enable = "avx2")]` code sound: no safe code anywhere can reach it on a
/// CPU without the feature. SHA-256 and SM3 share this one detection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(in crate::merkle) struct Token(());

impl Token {
    /// A token if this CPU has AVX2, detected at run time.
    pub(in crate::merkle) fn detect() -> Option<Token> {
        std::arch::is_x86_feature_detected!("avx2").then_some(Token(()))
    }
}

/// Eight `u32` lanes in a `__m256i`.
#[derive(Clone, Copy)]
pub(in crate::merkle) struct Lanes8(__m256i);

// SAFETY: every method is `#[inline(always)]` and reached only from the hash kernels'
// `#[target_feature(enable = "avx2")]` entry points, which take this module's `Token`.
unsafe impl U32Lanes for Lanes8 {
    #[inline(always)]
    unsafe fn splat(x: u32) -> Self {
        // SAFETY: a register-only AVX2 intrinsic; the feature is enabled for every caller (see this impl's SAFETY note).
        Lanes8(unsafe { _mm256_set1_epi32(x as i32) })
    }
    #[inline(always)]
    unsafe fn add(a: Self, b: Self) -> Self {
        // SAFETY: a register-only AVX2 intrinsic; the feature is enabled for every caller (see this impl's SAFETY note).
        Lanes8(unsafe { _mm256_add_epi32(a.0, b.0) })
    }
    #[inline(always)]
    unsafe fn xor(a: Self, b: Self) -> Self {
        // SAFETY: a register-only AVX2 intrinsic; the feature is enabled for every caller (see this impl's SAFETY note).
        Lanes8(unsafe { _mm256_xor_si256(a.0, b.0) })
    }
    #[inline(always)]
    unsafe fn xor3(a: Self, b: Self, c: Self) -> Self {
        // SAFETY: a register-only AVX2 intrinsic; the feature is enabled for every caller (see this impl's SAFETY note).
        Lanes8(unsafe { _mm256_xor_si256(_mm256_xor_si256(a.0, b.0), c.0) })
    }
    #[inline(always)]
    unsafe fn choose(e: Self, f: Self, g: Self) -> Self {
        // SAFETY: a register-only AVX2 intrinsic; the feature is enabled for every caller (see this impl's SAFETY note).
        Lanes8(unsafe {
            _mm256_xor_si256(_mm256_and_si256(e.0, f.0), _mm256_andnot_si256(e.0, g.0))
        })
    }
    #[inline(always)]
    unsafe fn majority(a: Self, b: Self, c: Self) -> Self {
        // (a & b) | (c & (a | b)): one fewer operation than the three-AND form.
        // SAFETY: a register-only AVX2 intrinsic; the feature is enabled for every caller (see this impl's SAFETY note).
        Lanes8(unsafe {
            _mm256_or_si256(
                _mm256_and_si256(a.0, b.0),
                _mm256_and_si256(c.0, _mm256_or_si256(a.0, b.0)),
            )
        })
    }
    #[inline(always)]
    unsafe fn rotr<const R: i32, const L: i32>(a: Self) -> Self {
        // SAFETY: a register-only AVX2 intrinsic; the feature is enabled for every caller (see this impl's SAFETY note).
        Lanes8(unsafe { _mm256_or_si256(_mm256_srli_epi32::<R>(a.0), _mm256_slli_epi32::<L>(a.0)) })
    }
    #[inline(always)]
    unsafe fn shr<const R: i32>(a: Self) -> Self {
        // SAFETY: a register-only AVX2 intrinsic; the feature is enabled for every caller (see this impl's SAFETY note).
        Lanes8(unsafe { _mm256_srli_epi32::<R>(a.0) })
    }
    #[inline(always)]
    unsafe fn load_message_word(blocks: &Blocks, word: usize) -> Self {
        // SAFETY: lane l reads 4 bytes at l*64 + 4*word < 8*64, inside `Blocks`.
        unsafe {
            let base = blocks.as_ptr().cast::<u8>().add(4 * word);
            let offsets = _mm256_set_epi32(448, 384, 320, 256, 192, 128, 64, 0);
            let raw = _mm256_i32gather_epi32::<1>(base.cast(), offsets);
            let swap = _mm256_broadcastsi128_si256(_mm_set_epi64x(
                0x0c0d_0e0f_0809_0a0b,
                0x0405_0607_0001_0203,
            ));
            Lanes8(_mm256_shuffle_epi8(raw, swap))
        }
    }
    #[inline(always)]
    unsafe fn load_state_word(states: &LaneStates, word: usize) -> Self {
        // SAFETY: lane l reads 4 bytes at l*32 + 4*word < 8*32, inside `LaneStates`.
        unsafe {
            let base = states.as_ptr().cast::<u8>().add(4 * word);
            let offsets = _mm256_set_epi32(224, 192, 160, 128, 96, 64, 32, 0);
            Lanes8(_mm256_i32gather_epi32::<1>(base.cast(), offsets))
        }
    }
    #[inline(always)]
    unsafe fn store_state_word(self, states: &mut LaneStates, word: usize) {
        let mut lanes = [0u32; 8];
        // SAFETY: `lanes` is 32 bytes, exactly one unaligned 256-bit store.
        unsafe { _mm256_storeu_si256(lanes.as_mut_ptr().cast(), self.0) };
        for (state, lane) in states.iter_mut().zip(lanes) {
            state[word] = lane;
        }
    }
}
