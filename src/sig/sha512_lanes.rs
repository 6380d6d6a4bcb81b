//! SHA-512 (FIPS 180-4) of eight messages at once in AVX-512 registers, one message per
//! 64-bit lane: the Ed25519 challenges `k = SHA-512(R ‖ A ‖ M) mod L` of eight items.
//!
//! The lanes run the same rounds in lockstep (`vprorq` rotates, `vpternlogq` for Ch, Maj and
//! the three-way XORs); a lane whose message has fewer blocks than the longest keeps its state
//! through the extra blocks by a masked addition. Message words are assembled per block from
//! each lane's padded message (big-endian loads), since the messages sit anywhere in the
//! caller's memory. The `sha2` crate's digest is the reference the tests compare with, on
//! every length up to several blocks and mixed lengths across lanes.
#![allow(unsafe_code)]

use std::arch::x86_64::{
    __m512i, _mm512_add_epi64, _mm512_loadu_si512, _mm512_mask_add_epi64, _mm512_ror_epi64,
    _mm512_set1_epi64, _mm512_srli_epi64, _mm512_storeu_si512, _mm512_ternarylogic_epi64,
};

use curve25519_dalek::Scalar;

use super::SigItem;
use super::ifma::Ifma;

/// The SHA-512 round constants (FIPS 180-4 §4.2.3).
const K: [u64; 80] = [
    0x428a2f98d728ae22,
    0x7137449123ef65cd,
    0xb5c0fbcfec4d3b2f,
    0xe9b5dba58189dbbc,
    0x3956c25bf348b538,
    0x59f111f1b605d019,
    0x923f82a4af194f9b,
    0xab1c5ed5da6d8118,
    0xd807aa98a3030242,
    0x12835b0145706fbe,
    0x243185be4ee4b28c,
    0x550c7dc3d5ffb4e2,
    0x72be5d74f27b896f,
    0x80deb1fe3b1696b1,
    0x9bdc06a725c71235,
    0xc19bf174cf692694,
    0xe49b69c19ef14ad2,
    0xefbe4786384f25e3,
    0x0fc19dc68b8cd5b5,
    0x240ca1cc77ac9c65,
    0x2de92c6f592b0275,
    0x4a7484aa6ea6e483,
    0x5cb0a9dcbd41fbd4,
    0x76f988da831153b5,
    0x983e5152ee66dfab,
    0xa831c66d2db43210,
    0xb00327c898fb213f,
    0xbf597fc7beef0ee4,
    0xc6e00bf33da88fc2,
    0xd5a79147930aa725,
    0x06ca6351e003826f,
    0x142929670a0e6e70,
    0x27b70a8546d22ffc,
    0x2e1b21385c26c926,
    0x4d2c6dfc5ac42aed,
    0x53380d139d95b3df,
    0x650a73548baf63de,
    0x766a0abb3c77b2a8,
    0x81c2c92e47edaee6,
    0x92722c851482353b,
    0xa2bfe8a14cf10364,
    0xa81a664bbc423001,
    0xc24b8b70d0f89791,
    0xc76c51a30654be30,
    0xd192e819d6ef5218,
    0xd69906245565a910,
    0xf40e35855771202a,
    0x106aa07032bbd1b8,
    0x19a4c116b8d2d0c8,
    0x1e376c085141ab53,
    0x2748774cdf8eeb99,
    0x34b0bcb5e19b48a8,
    0x391c0cb3c5c95a63,
    0x4ed8aa4ae3418acb,
    0x5b9cca4f7763e373,
    0x682e6ff3d6b2b8a3,
    0x748f82ee5defb2fc,
    0x78a5636f43172f60,
    0x84c87814a1f0ab72,
    0x8cc702081a6439ec,
    0x90befffa23631e28,
    0xa4506cebde82bde9,
    0xbef9a3f7b2c67915,
    0xc67178f2e372532b,
    0xca273eceea26619c,
    0xd186b8c721c0c207,
    0xeada7dd6cde0eb1e,
    0xf57d4f7fee6ed178,
    0x06f067aa72176fba,
    0x0a637dc5a2c898a6,
    0x113f9804bef90dae,
    0x1b710b35131c471b,
    0x28db77f523047d84,
    0x32caab7b40c72493,
    0x3c9ebe0a15c9bebc,
    0x431d67c49c100d4c,
    0x4cc5d4becb3e42b6,
    0x597f299cfc657e2a,
    0x5fcb6fab3ad6faec,
    0x6c44198c4a475817,
];

/// The initial hash value (FIPS 180-4 §5.3.5).
const IV: [u64; 8] = [
    0x6a09e667f3bcc908,
    0xbb67ae8584caa73b,
    0x3c6ef372fe94f82b,
    0xa54ff53a5f1d36f1,
    0x510e527fade682d1,
    0x9b05688c2b3e6c1f,
    0x1f83d9abfb41bd6b,
    0x5be0cd19137e2179,
];

/// The challenges `k = SHA-512(R ‖ A ‖ M) mod L` of up to eight items, in order, as
/// `rules::challenge` computes them one by one.
pub(crate) fn challenges8(_: Ifma, items: &[SigItem<'_>]) -> Vec<Scalar> {
    assert!(items.len() <= 8, "at most eight items, one per lane");
    // Each lane's padded message, one after another in one buffer: R ‖ A ‖ M ‖ 0x80 ‖ zeros
    // ‖ the 128-bit bit length, a multiple of 128 bytes.
    let blocks = items
        .iter()
        .map(|item| (64 + item.message.len() + 17).div_ceil(128));
    let mut padded = Vec::with_capacity(128 * blocks.clone().sum::<usize>());
    let mut lanes = Vec::with_capacity(items.len());
    for (item, blocks) in items.iter().zip(blocks) {
        let start = padded.len();
        let len = 64 + item.message.len();
        padded.extend_from_slice(item.r_bytes());
        padded.extend_from_slice(item.public_key);
        padded.extend_from_slice(item.message);
        padded.push(0x80);
        padded.resize(start + 128 * blocks - 16, 0);
        padded.extend_from_slice(&(8 * len as u128).to_be_bytes());
        lanes.push(start..start + 128 * blocks);
    }
    let lanes: Vec<&[u8]> = lanes.into_iter().map(|range| &padded[range]).collect();
    // SAFETY: the `Ifma` argument exists only if `Ifma::detect` found AVX-512 F (and IFMA) on
    // this CPU, all that `hash_lanes` needs.
    let digests = unsafe { hash_lanes(&lanes) };
    digests
        .iter()
        .take(items.len())
        .map(Scalar::from_bytes_mod_order_wide)
        .collect()
}

#[inline(always)]
fn splat(x: u64) -> __m512i {
    // SAFETY: a register-only AVX-512F intrinsic, reached only from `hash_lanes`, which
    // enables the feature.
    unsafe { _mm512_set1_epi64(x as i64) }
}

/// The SHA-512 digests of up to eight padded messages, one per lane (idle lanes hash
/// nothing and return garbage the caller drops).
#[target_feature(enable = "avx512f")]
fn hash_lanes(padded: &[&[u8]]) -> [[u8; 64]; 8] {
    let blocks: [usize; 8] = std::array::from_fn(|j| padded.get(j).map_or(0, |m| m.len() / 128));
    let most = blocks.iter().copied().max().unwrap_or(0);
    let mut state: [__m512i; 8] = IV.map(splat);
    for b in 0..most {
        // Lanes whose message has a block `b`; the others keep their state.
        let live = (0..8).fold(0u8, |mask, j| mask | u8::from(b < blocks[j]) << j);
        let mut w = [splat(0); 16];
        for (t, word) in w.iter_mut().enumerate() {
            let lane = |j: usize| -> u64 {
                padded.get(j).filter(|_| b < blocks[j]).map_or(0, |m| {
                    let at = 128 * b + 8 * t;
                    u64::from_be_bytes(m[at..at + 8].try_into().expect("8 bytes"))
                })
            };
            let words: [u64; 8] = std::array::from_fn(lane);
            // SAFETY: reads the 64 bytes of `words`; AVX-512F is enabled here.
            *word = unsafe { _mm512_loadu_si512(words.as_ptr().cast()) };
        }
        let compressed = compress(&state, &mut w);
        for (s, c) in state.iter_mut().zip(compressed) {
            *s = _mm512_mask_add_epi64(*s, live, *s, c);
        }
    }
    let mut digests = [[0u8; 64]; 8];
    for (i, word) in state.iter().enumerate() {
        let mut lanes = [0u64; 8];
        // SAFETY: writes the 64 bytes of `lanes`; AVX-512F is enabled here.
        unsafe { _mm512_storeu_si512(lanes.as_mut_ptr().cast(), *word) };
        for (digest, lane) in digests.iter_mut().zip(lanes) {
            digest[8 * i..8 * i + 8].copy_from_slice(&lane.to_be_bytes());
        }
    }
    digests
}

/// The 80 rounds over one block per lane (`w`, its first 16 schedule words, is consumed),
/// returning the working variables to add to `state`.
#[target_feature(enable = "avx512f")]
fn compress(state: &[__m512i; 8], w: &mut [__m512i; 16]) -> [__m512i; 8] {
    let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut h] = *state;
    for (t, k) in K.iter().enumerate() {
        if t >= 16 {
            // W[t] = σ1(W[t−2]) + W[t−7] + σ0(W[t−15]) + W[t−16], in a ring of 16.
            let w2 = w[(t - 2) % 16];
            let w15 = w[(t - 15) % 16];
            let s1 = _mm512_ternarylogic_epi64::<0x96>(
                _mm512_ror_epi64::<19>(w2),
                _mm512_ror_epi64::<61>(w2),
                _mm512_srli_epi64::<6>(w2),
            );
            let s0 = _mm512_ternarylogic_epi64::<0x96>(
                _mm512_ror_epi64::<1>(w15),
                _mm512_ror_epi64::<8>(w15),
                _mm512_srli_epi64::<7>(w15),
            );
            w[t % 16] = _mm512_add_epi64(
                _mm512_add_epi64(s1, w[(t - 7) % 16]),
                _mm512_add_epi64(s0, w[t % 16]),
            );
        }
        let big_s1 = _mm512_ternarylogic_epi64::<0x96>(
            _mm512_ror_epi64::<14>(e),
            _mm512_ror_epi64::<18>(e),
            _mm512_ror_epi64::<41>(e),
        );
        let ch = _mm512_ternarylogic_epi64::<0xCA>(e, f, g);
        let t1 = _mm512_add_epi64(
            _mm512_add_epi64(h, big_s1),
            _mm512_add_epi64(ch, _mm512_add_epi64(splat(*k), w[t % 16])),
        );
        let big_s0 = _mm512_ternarylogic_epi64::<0x96>(
            _mm512_ror_epi64::<28>(a),
            _mm512_ror_epi64::<34>(a),
            _mm512_ror_epi64::<39>(a),
        );
        let maj = _mm512_ternarylogic_epi64::<0xE8>(a, b, c);
        let t2 = _mm512_add_epi64(big_s0, maj);
        h = g;
        g = f;
        f = e;
        e = _mm512_add_epi64(d, t1);
        d = c;
        c = b;
        b = a;
        a = _mm512_add_epi64(t1, t2);
    }
    [a, b, c, d, e, f, g, h]
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngExt;

    /// Every message length from 0 to 400 bytes (one to four blocks with R and A), eight at a
    /// time with mixed lengths across the lanes, and one to eight items per call: the same
    /// challenges as `rules::challenge`.
    #[test]
    fn challenges_match_the_one_at_a_time_digest() {
        let Some(ifma) = Ifma::detect() else {
            assert!(
                !(std::arch::is_x86_feature_detected!("avx512f")
                    && std::arch::is_x86_feature_detected!("avx512ifma")),
                "the lanes must run where the CPU has them"
            );
            return;
        };
        let mut rng = rand::rng();
        let keys: Vec<[u8; 32]> = (0..8).map(|_| rng.random()).collect();
        let sigs: Vec<[u8; 64]> = (0..8).map(|_| rng.random()).collect();
        for round in 0..401usize {
            let n = round % 8 + 1;
            let messages: Vec<Vec<u8>> = (0..n)
                .map(|j| {
                    let len = if j == 0 {
                        round
                    } else {
                        rng.random_range(0..400)
                    };
                    (0..len).map(|_| rng.random()).collect()
                })
                .collect();
            let items: Vec<SigItem<'_>> = (0..n)
                .map(|j| SigItem::new(&keys[j], &sigs[j], &messages[j]))
                .collect();
            let want: Vec<Scalar> = items.iter().map(super::super::rules::challenge).collect();
            assert_eq!(challenges8(ifma, &items), want, "round {round}");
        }
    }

    /// Throughput beside the one-at-a-time challenge, for BENCHMARKS.md; asserts nothing
    /// about time.
    #[test]
    #[ignore = "a measurement: cargo test --release --lib sha512_lanes -- --ignored --nocapture"]
    fn measure_challenges() {
        let Some(ifma) = Ifma::detect() else { return };
        let mut rng = rand::rng();
        for len in [32usize, 100, 256] {
            let keys: Vec<[u8; 32]> = (0..4096).map(|_| rng.random()).collect();
            let sigs: Vec<[u8; 64]> = (0..4096).map(|_| rng.random()).collect();
            let messages: Vec<Vec<u8>> = (0..4096)
                .map(|_| (0..len).map(|_| rng.random()).collect())
                .collect();
            let items: Vec<SigItem<'_>> = (0..4096)
                .map(|i| SigItem::new(&keys[i], &sigs[i], &messages[i]))
                .collect();
            let best = |f: &dyn Fn()| {
                (0..7)
                    .map(|_| {
                        let t = std::time::Instant::now();
                        f();
                        t.elapsed().as_secs_f64()
                    })
                    .fold(f64::MAX, f64::min)
            };
            let one = best(&|| {
                for item in &items {
                    std::hint::black_box(super::super::rules::challenge(item));
                }
            });
            let eight = best(&|| {
                for chunk in items.chunks(8) {
                    std::hint::black_box(challenges8(ifma, chunk));
                }
            });
            eprintln!(
                "challenge k, {len}-byte messages, 1 thread, µs per item: sha2 {:.3}, lanes x8 {:.3} ({:.2}x)",
                1e6 * one / 4096.0,
                1e6 * eight / 4096.0,
                one / eight
            );
        }
    }
}
