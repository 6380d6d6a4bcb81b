//! Eight field elements at once on AVX-512 IFMA, and with them the CPU engine's costliest
//! steps of the `Zip215` batch equation done eight items at a time: decoding `R` and keys
//! ([`decompress8`]; curve25519-dalek decodes one point at a time in serial 64-bit code), the
//! sum Σ z_i·R_i of a large group's `R` terms ([`sum_of_multiples`]), and the whole
//! combinations of many small groups, a group per lane ([`grouped_sums`]). Sums are handed to
//! dalek compressed, because dalek cannot take a point from coordinates.
//!
//! # Soundness of the dispatch
//!
//! The kernels are `#[target_feature(enable = "avx512f,avx512ifma")]` functions, which are
//! unsound to run on a CPU without those instructions. The only way in from safe code is
//! through the entry points [`decompress8`], [`sum_of_multiples`], [`grouped_sums`],
//! [`compress8`] and [`double_base8`], and
//! each takes an [`Ifma`] token as its first argument. The token is zero-sized with a private
//! field, so nothing outside this module can build one: only [`Ifma::detect`], which hands one
//! out after run-time detection found both features. Holding a token is the proof each
//! entry point's `unsafe` block relies on. The engine reaches these through
//! `super::lanes::Lanes`, which wraps the token and exists on every architecture.
//!
//! Single checks ([`double_base8`]): eight equations `[S]B − [k]A` at once, `A` by a table of
//! its multiples built per call, `B` from fixed tables of its affine multiples 0..=128 (and
//! `[2^128]B`'s) read by gathers with signed radix-256 digits; `Zip215`'s cofactored checks
//! with their scalars halved first ([`super::halving`]), in 128 doublings instead of 252.
//!
//! # Representation
//!
//! Lane `j` of limb vector `i` holds limb `i` of element `j`: radix 2^51, five limbs, 255
//! bits. IFMA multiplies the low 52 bits of its operands (`vpmadd52luq` / `vpmadd52huq` give
//! the low and high 52 bits of the 104-bit product), so every limb fed to a multiplication
//! must be below 2^52: the radix leaves one bit of slack, and every operation here returns
//! limbs 1–4 below 2^51 and limb 0 below 2^51 + 2^17 ("weakly reduced"; the squaring relies on
//! limbs 1–4 staying below 2^51). A product's high
//! half counts 2^52 = 2 · 2^51, so it enters the next column doubled.
//!
//! # What it computes
//!
//! [`decompress8`] follows curve25519-dalek's `CompressedEdwardsY::decompress` step by step
//! (y taken mod p, bit 255 ignored; `x = sqrt_ratio_i(y² − 1, d·y² + 1)` made non-negative, then
//! negated when bit 255 is set, so "negative zero" decodes to 0), so that it accepts and
//! rejects exactly the encodings dalek does, and yields the same `x`. The unit tests check it
//! against dalek (which encodings decode) and against a plain big-integer reference twin in
//! the tests (the value of `x`), on random and hand-picked encodings. On a CPU with the
//! instructions those tests fail rather than skip if no token can be had.
#![allow(unsafe_code)]

use std::arch::x86_64::{
    __m512i, __mmask8, _mm_cvtsi64_si128, _mm512_abs_epi64, _mm512_add_epi64, _mm512_and_si512,
    _mm512_cmpeq_epi64_mask, _mm512_cmplt_epi64_mask, _mm512_cvtepi8_epi64, _mm512_i64gather_epi64,
    _mm512_madd52hi_epu64, _mm512_madd52lo_epu64, _mm512_mask_blend_epi64, _mm512_min_epu64,
    _mm512_set1_epi64, _mm512_setzero_si512, _mm512_slli_epi64, _mm512_srli_epi64,
    _mm512_sub_epi64, _mm512_test_epi64_mask,
};

/// Proof that this CPU has AVX-512F and AVX-512 IFMA, the instructions of every kernel here.
/// Only [`Ifma::detect`] makes one (the field is private to this module), so safe code holding
/// a token cannot be running on a CPU without them: that is what makes the entry points'
/// `unsafe` calls sound.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Ifma(());

impl Ifma {
    /// A token if this CPU has the instructions (run-time detection, which also checks that
    /// the operating system saves the AVX-512 state), `None` otherwise.
    pub(crate) fn detect() -> Option<Ifma> {
        let available = std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512ifma");
        available.then_some(Ifma(()))
    }
}

const MASK51: u64 = (1 << 51) - 1;

/// Eight field elements, limb-major (see the module docs).
#[derive(Clone, Copy)]
struct Fe8([__m512i; 5]);

#[inline]
#[target_feature(enable = "avx512f,avx512ifma")]
fn splat(x: u64) -> __m512i {
    _mm512_set1_epi64(x as i64)
}

#[inline]
#[target_feature(enable = "avx512f,avx512ifma")]
fn times19(z: __m512i) -> __m512i {
    // 19z = 16z + 2z + z, for z < 2^59 (no 64-bit multiply needed).
    _mm512_add_epi64(
        _mm512_add_epi64(_mm512_slli_epi64::<4>(z), _mm512_slli_epi64::<1>(z)),
        z,
    )
}

/// One carry ripple through the limbs, each left below 2^51; returns the carry out of limb 4
/// (the multiple of 2^255 that was cut off).
#[inline]
#[target_feature(enable = "avx512f,avx512ifma")]
fn ripple(r: &mut [__m512i; 5]) -> __m512i {
    let mask = splat(MASK51);
    for i in 0..4 {
        let c = _mm512_srli_epi64::<51>(r[i]);
        r[i] = _mm512_and_si512(r[i], mask);
        r[i + 1] = _mm512_add_epi64(r[i + 1], c);
    }
    let c = _mm512_srli_epi64::<51>(r[4]);
    r[4] = _mm512_and_si512(r[4], mask);
    c
}

/// Limbs below 2^63 each (value anything) to the weakly reduced form: one ripple, the carry
/// out of limb 4 (2^255 ≡ 19) folded into limb 0.
#[inline]
#[target_feature(enable = "avx512f,avx512ifma")]
fn carry(mut r: [__m512i; 5]) -> Fe8 {
    let c = ripple(&mut r);
    // c < 2^12, so limb 0 stays below 2^51 + 2^17 — within the multiplier's 52 bits.
    r[0] = _mm512_add_epi64(r[0], times19(c));
    Fe8(r)
}

/// Ten product columns (`lo[k]` + 2 · `hi[k]` at weight 2^(51k), each below 2^56) to a weakly
/// reduced element: columns 5..10 folded back (2^255 ≡ 19, 2^510 ≡ 361), one carry.
#[inline]
#[target_feature(enable = "avx512f,avx512ifma")]
fn fold_columns(lo: &[__m512i; 10], hi: &[__m512i; 11]) -> Fe8 {
    let column = |k: usize| {
        let doubled = _mm512_slli_epi64::<1>(hi[k]);
        if k < 10 {
            _mm512_add_epi64(lo[k], doubled)
        } else {
            doubled
        }
    };
    let mut r = [_mm512_setzero_si512(); 5];
    for (k, limb) in r.iter_mut().enumerate() {
        *limb = _mm512_add_epi64(column(k), times19(column(k + 5)));
    }
    // Column 10 (below 2^53) counts 2^510 ≡ 361 = 19 · 19.
    r[0] = _mm512_add_epi64(r[0], times19(times19(column(10))));
    carry(r)
}

impl Fe8 {
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn splat_const(limbs: [u64; 5]) -> Fe8 {
        Fe8(limbs.map(|l| splat(l)))
    }

    #[target_feature(enable = "avx512f,avx512ifma")]
    fn one() -> Fe8 {
        Fe8::splat_const([1, 0, 0, 0, 0])
    }

    /// `self · b`: 25 low and 25 high 52-bit products into ten columns (each below 2^56),
    /// then `fold_columns`.
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn mul(&self, b: &Fe8) -> Fe8 {
        let (a, b) = (&self.0, &b.0);
        let zero = _mm512_setzero_si512();
        let mut lo = [zero; 10];
        // hi[k]: high halves of the products of column k − 1, which count 2 · 2^(51k).
        let mut hi = [zero; 11];
        for i in 0..5 {
            for j in 0..5 {
                lo[i + j] = _mm512_madd52lo_epu64(lo[i + j], a[i], b[j]);
                hi[i + j + 1] = _mm512_madd52hi_epu64(hi[i + j + 1], a[i], b[j]);
            }
        }
        fold_columns(&lo, &hi)
    }

    /// `self²`: the 10 products off the diagonal once, against the doubled limb (`a_i · 2a_j`
    /// for i < j; j ≥ 1, and limbs 1–4 are below 2^51, so 2a_j still fits the multiplier's 52
    /// bits), and the 5 on it: 15 low and 15 high products instead of 25 each, all
    /// independent; the columns stay within `mul`'s bounds.
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn square(&self) -> Fe8 {
        let a = &self.0;
        let zero = _mm512_setzero_si512();
        let doubled: [__m512i; 5] = std::array::from_fn(|j| _mm512_slli_epi64::<1>(a[j]));
        let mut lo = [zero; 10];
        let mut hi = [zero; 11];
        for i in 0..5 {
            lo[2 * i] = _mm512_madd52lo_epu64(lo[2 * i], a[i], a[i]);
            hi[2 * i + 1] = _mm512_madd52hi_epu64(hi[2 * i + 1], a[i], a[i]);
            for j in i + 1..5 {
                lo[i + j] = _mm512_madd52lo_epu64(lo[i + j], a[i], doubled[j]);
                hi[i + j + 1] = _mm512_madd52hi_epu64(hi[i + j + 1], a[i], doubled[j]);
            }
        }
        fold_columns(&lo, &hi)
    }

    /// `self^(2^n)`.
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn square_n(&self, n: u32) -> Fe8 {
        let mut r = *self;
        for _ in 0..n {
            r = r.square();
        }
        r
    }

    #[target_feature(enable = "avx512f,avx512ifma")]
    fn add(&self, b: &Fe8) -> Fe8 {
        carry(std::array::from_fn(|i| _mm512_add_epi64(self.0[i], b.0[i])))
    }

    /// `self − b` as `self + 4p − b` (4p spread so that no limb goes below zero for weakly
    /// reduced `b`).
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn sub(&self, b: &Fe8) -> Fe8 {
        const FOUR_P: [u64; 5] = [
            (1 << 53) - 76,
            (1 << 53) - 4,
            (1 << 53) - 4,
            (1 << 53) - 4,
            (1 << 53) - 4,
        ];
        carry(std::array::from_fn(|i| {
            _mm512_sub_epi64(_mm512_add_epi64(self.0[i], splat(FOUR_P[i])), b.0[i])
        }))
    }

    #[target_feature(enable = "avx512f,avx512ifma")]
    fn neg(&self) -> Fe8 {
        Fe8([_mm512_setzero_si512(); 5]).sub(self)
    }

    /// Lanes in `mask` from `b`, the others from `self`.
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn select(&self, mask: __mmask8, b: &Fe8) -> Fe8 {
        Fe8(std::array::from_fn(|i| {
            _mm512_mask_blend_epi64(mask, self.0[i], b.0[i])
        }))
    }

    /// The canonical limbs (value below p, every limb below 2^51).
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn canonical(&self) -> [__m512i; 5] {
        // Weakly reduced means value < 2^255 + 2^17 < 2p. q = 1 exactly when value ≥ p, i.e.
        // when value + 19 reaches 2^255; then value − p = value + 19 − 2^255.
        let mut r = carry(self.0).0;
        let mut q = _mm512_srli_epi64::<51>(_mm512_add_epi64(r[0], splat(19)));
        for limb in &r[1..] {
            q = _mm512_srli_epi64::<51>(_mm512_add_epi64(*limb, q));
        }
        r[0] = _mm512_add_epi64(r[0], times19(q));
        // The carry out of limb 4 is q's 2^255, which value − p drops.
        ripple(&mut r);
        r
    }

    /// Lanes whose values are equal mod p.
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn equal(&self, b: &Fe8) -> __mmask8 {
        let (x, y) = (self.canonical(), b.canonical());
        (0..5).fold(0xff, |m, i| m & _mm512_cmpeq_epi64_mask(x[i], y[i]))
    }

    /// Lanes whose canonical value is odd ("negative" in RFC 8032's sense).
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn is_negative(&self) -> __mmask8 {
        _mm512_test_epi64_mask(self.canonical()[0], splat(1))
    }

    /// `(self^(2^250 − 1), self^11)`, the shared part of ref10's addition chains.
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn pow22501(&self) -> (Fe8, Fe8) {
        let z = self;
        let t0 = z.square(); // 2
        let t1 = t0.square_n(2).mul(z); // 9
        let z11 = t0.mul(&t1); // 11
        let t0 = z11.square().mul(&t1); // 2^5 − 1
        let t0 = t0.square_n(5).mul(&t0); // 2^10 − 1
        let t1 = t0.square_n(10).mul(&t0); // 2^20 − 1
        let t1 = t1.square_n(20).mul(&t1); // 2^40 − 1
        let t0 = t1.square_n(10).mul(&t0); // 2^50 − 1
        let t1 = t0.square_n(50).mul(&t0); // 2^100 − 1
        let t1 = t1.square_n(100).mul(&t1); // 2^200 − 1
        (t1.square_n(50).mul(&t0), z11) // 2^250 − 1
    }

    /// `self^((p − 5) / 8) = self^(2^252 − 3)`.
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn pow_p58(&self) -> Fe8 {
        self.pow22501().0.square_n(2).mul(self)
    }

    /// `1 / self = self^(p − 2) = self^(2^255 − 21)` (0 for 0).
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn invert(&self) -> Fe8 {
        let (t, z11) = self.pow22501();
        t.square_n(5).mul(&z11)
    }
}

/// d = −121665/121666 and sqrt(−1), in radix 2^51 (curve25519-dalek's values).
const EDWARDS_D: [u64; 5] = [
    929955233495203,
    466365720129213,
    1662059464998953,
    2033849074728123,
    1442794654840575,
];
const SQRT_M1: [u64; 5] = [
    1718705420411056,
    234908883556509,
    2233514472574048,
    2117202627021982,
    765476049583133,
];

/// `(u/v is a square, sqrt(u/v) or sqrt(i·u/v))` with the root made non-negative, lane by
/// lane, exactly as curve25519-dalek's `FieldElement::sqrt_ratio_i`.
#[target_feature(enable = "avx512f,avx512ifma")]
fn sqrt_ratio_i(u: &Fe8, v: &Fe8) -> (__mmask8, Fe8) {
    let v3 = v.square().mul(v);
    let v7 = v3.square().mul(v);
    let r = u.mul(&v3).mul(&u.mul(&v7).pow_p58());
    let check = v.mul(&r.square());
    let neg_u = u.neg();
    let correct_sign = check.equal(u);
    let flipped_sign = check.equal(&neg_u);
    let flipped_sign_i = check.equal(&neg_u.mul(&Fe8::splat_const(SQRT_M1)));
    let r = r.select(
        flipped_sign | flipped_sign_i,
        &r.mul(&Fe8::splat_const(SQRT_M1)),
    );
    let r = r.select(r.is_negative(), &r.neg());
    (correct_sign | flipped_sign, r)
}

/// A decompressed point, affine, as weakly reduced radix-2^51 limbs (what the lanes hold).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Affine {
    x: [u64; 5],
    y: [u64; 5],
}

/// Eight decompressions: for each encoding, the point if it decodes under curve25519-dalek's
/// rules (`None` exactly where `CompressedEdwardsY::decompress` returns `None`).
pub(crate) fn decompress8(_: Ifma, encodings: &[[u8; 32]; 8]) -> [Option<Affine>; 8] {
    // SAFETY: the `Ifma` argument exists only if `Ifma::detect` found the target features
    // `decompress8_ifma` needs on this CPU.
    unsafe { decompress8_ifma(encodings) }
}

#[target_feature(enable = "avx512f,avx512ifma")]
fn decompress8_ifma(encodings: &[[u8; 32]; 8]) -> [Option<Affine>; 8] {
    let (valid, x, y) = decompress_lanes(encodings);
    let (xs, ys) = (to_lanes(&x), to_lanes(&y));
    std::array::from_fn(|j| {
        (valid >> j & 1 == 1).then(|| Affine {
            x: std::array::from_fn(|i| xs[i][j]),
            y: std::array::from_fn(|i| ys[i][j]),
        })
    })
}

/// The lanes that decode, and their x and y (see the module docs).
#[target_feature(enable = "avx512f,avx512ifma")]
fn decompress_lanes(encodings: &[[u8; 32]; 8]) -> (__mmask8, Fe8, Fe8) {
    let y = from_bytes(encodings);
    let one = Fe8::one();
    let yy = y.square();
    let u = yy.sub(&one);
    let v = yy.mul(&Fe8::splat_const(EDWARDS_D)).add(&one);
    let (valid, x) = sqrt_ratio_i(&u, &v);
    let sign = encodings
        .iter()
        .enumerate()
        .fold(0u8, |m, (j, e)| m | ((e[31] >> 7) << j));
    (valid, x.select(sign, &x.neg()), y)
}

/// 2d, in radix 2^51 (curve25519-dalek's value).
const EDWARDS_D2: [u64; 5] = [
    1859910466990425,
    932731440258426,
    1072319116312658,
    1815898335770999,
    633789495995903,
];

/// Eight points in extended coordinates: x = X/Z, y = Y/Z, T = XY/Z.
#[derive(Clone, Copy)]
struct Point8 {
    x: Fe8,
    y: Fe8,
    z: Fe8,
    t: Fe8,
}

/// Eight points ready to be added: (Y + X, Y − X, Z, 2d·T).
#[derive(Clone, Copy)]
struct Cached8 {
    y_plus_x: Fe8,
    y_minus_x: Fe8,
    z: Fe8,
    t2d: Fe8,
}

/// The "completed" result of an addition or doubling: x = X/Z, y = Y/T.
struct Completed8 {
    x: Fe8,
    y: Fe8,
    z: Fe8,
    t: Fe8,
}

impl Completed8 {
    /// The point with `X`, `Y`, `Z` only (three products instead of four): enough for a
    /// doubling, which never reads `T`. `T` is left zero, so the result must be doubled next.
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn projective(&self) -> Point8 {
        Point8 {
            x: self.x.mul(&self.t),
            y: self.y.mul(&self.z),
            z: self.z.mul(&self.t),
            t: Fe8([_mm512_setzero_si512(); 5]),
        }
    }

    /// The point, without `T` when `doubled_next` (the next step is a doubling, which never
    /// reads it: one product of an addition's eight saved), in extended coordinates otherwise.
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn point(&self, doubled_next: bool) -> Point8 {
        if doubled_next {
            self.projective()
        } else {
            self.extended()
        }
    }

    #[target_feature(enable = "avx512f,avx512ifma")]
    fn extended(&self) -> Point8 {
        Point8 {
            x: self.x.mul(&self.t),
            y: self.y.mul(&self.z),
            z: self.z.mul(&self.t),
            t: self.x.mul(&self.y),
        }
    }
}

impl Point8 {
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn identity() -> Point8 {
        let zero = Fe8([_mm512_setzero_si512(); 5]);
        Point8 {
            x: zero,
            y: Fe8::one(),
            z: Fe8::one(),
            t: zero,
        }
    }

    /// The affine point (x, y).
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn affine(x: &Fe8, y: &Fe8) -> Point8 {
        Point8 {
            x: *x,
            y: *y,
            z: Fe8::one(),
            t: x.mul(y),
        }
    }

    #[target_feature(enable = "avx512f,avx512ifma")]
    fn cached(&self) -> Cached8 {
        Cached8 {
            y_plus_x: self.y.add(&self.x),
            y_minus_x: self.y.sub(&self.x),
            z: self.z,
            t2d: self.t.mul(&Fe8::splat_const(EDWARDS_D2)),
        }
    }

    /// `self + q` (the unified formulas of Hisil–Wong–Carter–Dawson for a = −1: complete on
    /// this curve, so torsion components and the identity need no special case).
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn add(&self, q: &Cached8) -> Point8 {
        self.added(q).extended()
    }

    /// `self + q` before its conversion, so that a sum whose next step is a doubling can skip
    /// `T` ([`Completed8::projective`]).
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn added(&self, q: &Cached8) -> Completed8 {
        let zz = self.z.mul(&q.z);
        self.added_with(&q.y_plus_x, &q.y_minus_x, &q.t2d, zz.add(&zz))
    }

    /// `self + q` for an affine `q` (`Z = 1`: one product fewer), before its conversion.
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn added_affine(&self, q: &Niels8) -> Completed8 {
        self.added_with(&q.y_plus_x, &q.y_minus_x, &q.t2d, self.z.add(&self.z))
    }

    /// The addition's shared part, given `q`'s `Y + X`, `Y − X`, `2d·T` and `2·Z·Z_q`.
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn added_with(&self, y_plus_x: &Fe8, y_minus_x: &Fe8, t2d: &Fe8, zz2: Fe8) -> Completed8 {
        let pp = self.y.add(&self.x).mul(y_plus_x);
        let mm = self.y.sub(&self.x).mul(y_minus_x);
        let tt2d = self.t.mul(t2d);
        Completed8 {
            x: pp.sub(&mm),
            y: pp.add(&mm),
            z: zz2.add(&tt2d),
            t: zz2.sub(&tt2d),
        }
    }

    /// `2 · self`.
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn double(&self) -> Point8 {
        self.doubled().extended()
    }

    /// `2^n · self` (`n ≥ 1`), the intermediate doublings without `T`
    /// ([`Completed8::projective`]).
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn double_n(&self, n: u32) -> Point8 {
        let mut p = *self;
        for _ in 1..n {
            p = p.doubled().projective();
        }
        p.doubled().extended()
    }

    /// The doubling before its conversion; reads `X`, `Y`, `Z` only.
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn doubled(&self) -> Completed8 {
        let xx = self.x.square();
        let yy = self.y.square();
        let zz = self.z.square();
        let zz2 = zz.add(&zz);
        let x_plus_y_sq = self.x.add(&self.y).square();
        let yy_plus_xx = yy.add(&xx);
        let yy_minus_xx = yy.sub(&xx);
        Completed8 {
            x: x_plus_y_sq.sub(&yy_plus_xx),
            y: yy_plus_xx,
            z: yy_minus_xx,
            t: zz2.sub(&yy_minus_xx),
        }
    }

    /// The lanes whose point times the cofactor 8 is the identity.
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn cofactor_cleared(&self) -> __mmask8 {
        // [8]P is the identity exactly when X = 0 and Y = Z (Z is never 0); T is not needed.
        let eight = self.double_n(3);
        let zero = Fe8([_mm512_setzero_si512(); 5]);
        eight.x.equal(&zero) & eight.y.equal(&eight.z)
    }

    /// Canonical encodings of the eight points.
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn compress(&self) -> [[u8; 32]; 8] {
        let recip = self.z.invert();
        let x = self.x.mul(&recip);
        let mut out = to_bytes(&self.y.mul(&recip));
        let negative = x.is_negative();
        for (j, enc) in out.iter_mut().enumerate() {
            enc[31] |= (negative >> j & 1) << 7;
        }
        out
    }
}

impl Cached8 {
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn identity() -> Cached8 {
        Point8::identity().cached()
    }

    /// The lanes in `mask` negated: −(x, y) = (−x, y) swaps Y + X and Y − X and negates T.
    /// Lanes in `mask` from `b`, the others from `self`.
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn select(&self, mask: __mmask8, b: &Cached8) -> Cached8 {
        Cached8 {
            y_plus_x: self.y_plus_x.select(mask, &b.y_plus_x),
            y_minus_x: self.y_minus_x.select(mask, &b.y_minus_x),
            z: self.z.select(mask, &b.z),
            t2d: self.t2d.select(mask, &b.t2d),
        }
    }

    #[target_feature(enable = "avx512f,avx512ifma")]
    fn negate_lanes(&self, mask: __mmask8) -> Cached8 {
        Cached8 {
            y_plus_x: self.y_plus_x.select(mask, &self.y_minus_x),
            y_minus_x: self.y_minus_x.select(mask, &self.y_plus_x),
            z: self.z,
            t2d: self.t2d.select(mask, &self.t2d.neg()),
        }
    }
}

/// Signed radix-16 digits of a 256-bit little-endian scalar: 65 digits in [−8, 8], least
/// significant first.
fn radix16(scalar: &[u8; 32]) -> [i8; 65] {
    let mut digits = [0i8; 65];
    let mut carry = 0i16;
    for (i, digit) in digits.iter_mut().take(64).enumerate() {
        let byte = scalar[i / 2];
        let nibble = if i % 2 == 0 { byte & 15 } else { byte >> 4 };
        let v = i16::from(nibble) + carry;
        carry = (v + 8) >> 4;
        *digit = (v - (carry << 4)) as i8;
    }
    digits[64] = carry as i8;
    digits
}

/// A term of a sum of multiples: a point and its scalar (256-bit little-endian; the batch
/// equation's `R` terms carry 128-bit ones, its `A` and `B` terms full 253-bit ones).
pub(crate) type Term = (Affine, [u8; 32]);

/// A 128-bit weight as a [`Term`]'s scalar.
pub(crate) fn scalar_bytes(z: u128) -> [u8; 32] {
    let mut bytes = [0u8; 32];
    bytes[..16].copy_from_slice(&z.to_le_bytes());
    bytes
}

/// `Σ z_i · P_i` by eight interleaved Straus sums (lane `j` takes points `j, j + 8, …`, all
/// lanes share each doubling; signed radix-16 digits, a table of 1..8 multiples per point,
/// looked up per lane by masked blends), whose eight results are compressed and added by
/// curve25519-dalek (exact: a point's canonical encoding decodes to that point). `None` only if
/// dalek refused a lane's encoding, which the lanes' arithmetic (group operations on curve
/// points) cannot produce; the engine then checks the items one by one instead of panicking.
pub(crate) fn sum_of_multiples(
    _: Ifma,
    points: &[Affine],
    z: &[u128],
) -> Option<curve25519_dalek::EdwardsPoint> {
    assert_eq!(points.len(), z.len());
    let n = points.len();
    let interleaved = |column: usize, lane: usize| {
        let i = 8 * column + lane;
        (i < n).then(|| (points[i], scalar_bytes(z[i])))
    };
    // SAFETY: the `Ifma` argument exists only if `Ifma::detect` found the target features
    // `lane_sums` needs on this CPU.
    let (lanes, _) = unsafe { lane_sums(n.div_ceil(8), &interleaved) };
    lanes.iter().map(decode).sum()
}

/// One sum of multiples per group of terms, group `k` being `terms[bounds[k]..bounds[k + 1]]`
/// (`bounds` ascending, from 0 to `terms.len()`), eight groups at a time, one per lane. This is
/// how many small batch groups get their whole combinations at once: eight groups share each
/// doubling, where [`sum_of_multiples`] on each group alone would spend a whole doubling chain
/// and eight hand-overs to dalek on it, and dalek's multiscalar multiplication of a group's
/// few full-size terms would spend its own chain of 256 doublings.
///
/// A sum whose cofactor multiple `[8]sum` is the identity (a passing batch equation) comes back
/// as `None` without being handed over to dalek (a field square root each); the others as
/// `Some(sum)`. `None` overall as for [`sum_of_multiples`].
pub(crate) fn grouped_sums(
    _: Ifma,
    terms: &[Term],
    bounds: &[usize],
) -> Option<Vec<Option<curve25519_dalek::EdwardsPoint>>> {
    assert!(
        bounds.first() == Some(&0) && bounds.last() == Some(&terms.len()) && bounds.is_sorted(),
        "bounds split the terms"
    );
    let groups = bounds.len() - 1;
    let mut sums = Vec::with_capacity(groups);
    for round in 0..groups.div_ceil(8) {
        let group = |lane: usize| {
            let k = 8 * round + lane;
            (k < groups).then(|| bounds[k]..bounds[k + 1])
        };
        let columns = (0..8).filter_map(group).map(|g| g.len()).max().unwrap_or(0);
        let in_lane = |column: usize, lane: usize| {
            group(lane)
                .map(|g| g.start + column)
                .filter(|&i| i < bounds[(8 * round + lane) + 1])
                .map(|i| terms[i])
        };
        // SAFETY: the `Ifma` argument exists only if `Ifma::detect` found the target
        // features `lane_sums` needs on this CPU.
        let (lanes, cleared) = unsafe { lane_sums(columns, &in_lane) };
        for (j, encoding) in lanes.iter().enumerate().take(groups - 8 * round) {
            sums.push(if cleared >> j & 1 == 1 {
                None
            } else {
                Some(decode(encoding)?)
            });
        }
    }
    Some(sums)
}

/// A lane sum's canonical encoding back into curve25519-dalek's form.
fn decode(encoding: &[u8; 32]) -> Option<curve25519_dalek::EdwardsPoint> {
    curve25519_dalek::edwards::CompressedEdwardsY(*encoding).decompress()
}

/// Eight Straus sums side by side: lane `j` sums the terms `term(column, j)` for `column` in
/// `0..columns` (`None`: nothing there, the lane idles). Returns each lane's sum, compressed,
/// and the lanes whose sum times the cofactor 8 is the identity.
#[target_feature(enable = "avx512f,avx512ifma")]
fn lane_sums(
    columns: usize,
    term: &dyn Fn(usize, usize) -> Option<Term>,
) -> ([[u8; 32]; 8], __mmask8) {
    let columns: Vec<Column> = (0..columns)
        .map(|column| {
            let at: [Option<Term>; 8] = std::array::from_fn(|j| term(column, j));
            let point = |j: usize| at[j].as_ref().map(|(point, _)| point);
            let (x, y) = load_affine(point);
            let scalar = |j: usize| at[j].as_ref().map(|(_, scalar)| scalar);
            Column::new(&Point8::affine(&x, &y), scalar)
        })
        .collect();
    let acc = straus8(&columns);
    (acc.compress(), acc.cofactor_cleared())
}

/// One lane's share of a Straus sum: the multiples 1..8 of each lane's point, and the signed
/// radix-16 digits of each lane's scalar, position-major (a position's eight digits are one
/// load).
struct Column {
    /// Each lane's multiples 1..8 of its point.
    table: [Cached8; 8],
    digits: [[i8; 8]; 65],
}

impl Column {
    /// `point` in every lane, with lane `j`'s scalar `scalar(j)` (`None`: zero).
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn new<'s>(point: &Point8, scalar: impl Fn(usize) -> Option<&'s [u8; 32]>) -> Column {
        let c1 = point.cached();
        let mut table = [c1; 8];
        let mut acc = point.double();
        table[1] = acc.cached();
        for multiple in &mut table[2..] {
            acc = acc.add(&c1);
            *multiple = acc.cached();
        }
        let lane_digits: [[i8; 65]; 8] =
            std::array::from_fn(|j| scalar(j).map_or([0; 65], radix16));
        Column {
            table,
            digits: std::array::from_fn(|t| std::array::from_fn(|j| lane_digits[j][t])),
        }
    }

    /// Each lane's multiple `magnitude[j]` (every one in 0..=8; 0: the identity), by masked
    /// blends over the table (cheaper here than a gather per limb vector, measured).
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn lookup(&self, magnitude: __m512i) -> Cached8 {
        let mut entry = Cached8::identity();
        for (k, multiple) in self.table.iter().enumerate() {
            let mask = _mm512_cmpeq_epi64_mask(magnitude, splat(k as u64 + 1));
            entry = entry.select(mask, multiple);
        }
        entry
    }

    /// Each lane's signed multiple for digit position `t`; `None` when all eight digits there
    /// are zero (the addition is skipped).
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn entry(&self, t: usize) -> Option<Cached8> {
        let lane_digits = i64::from_le_bytes(self.digits[t].map(|d| d as u8));
        if lane_digits == 0 {
            return None;
        }
        // The eight digits widened to 64-bit lanes; per multiple k + 1 the lanes whose digit
        // has that magnitude take it from the table.
        let widened = _mm512_cvtepi8_epi64(_mm_cvtsi64_si128(lane_digits));
        let entry = self.lookup(_mm512_abs_epi64(widened));
        let negative = _mm512_cmplt_epi64_mask(widened, _mm512_setzero_si512());
        Some(entry.negate_lanes(negative))
    }

    /// One past the highest digit position where some lane's digit is non-zero.
    fn top(&self) -> usize {
        self.digits
            .iter()
            .rposition(|d| *d != [0; 8])
            .map_or(0, |highest| highest + 1)
    }
}

/// The eight lanes of the points `point(j)` (`None`: the identity (0, 1)), as x and y.
#[target_feature(enable = "avx512f,avx512ifma")]
fn load_affine<'p>(point: impl Fn(usize) -> Option<&'p Affine>) -> (Fe8, Fe8) {
    let (mut xs, mut ys) = ([[0u64; 8]; 5], [[0u64; 8]; 5]);
    for j in 0..8 {
        let (x, y) = point(j).map_or(([0; 5], [1, 0, 0, 0, 0]), |p| (p.x, p.y));
        for i in 0..5 {
            xs[i][j] = x[i];
            ys[i][j] = y[i];
        }
    }
    (from_lanes(xs), from_lanes(ys))
}

/// `Σ` over the columns of each lane's multiple, all lanes and columns sharing one doubling
/// chain, as long as the largest scalar needs (128 doublings when every scalar is below
/// 2^128); a column whose eight digits are all zero at a position skips its addition there.
#[target_feature(enable = "avx512f,avx512ifma")]
fn straus8(columns: &[Column]) -> Point8 {
    let top = columns.iter().map(Column::top).max().unwrap_or(0);
    let mut acc = Point8::identity();
    for t in (0..top).rev() {
        if t + 1 != top {
            acc = acc.double_n(4);
        }
        for column in columns {
            if let Some(entry) = column.entry(t) {
                acc = acc.add(&entry);
            }
        }
    }
    acc
}

/// The canonical encodings of up to eight decoded points (`y`, with `x`'s sign in bit 255), as
/// curve25519-dalek's `compress` gives them.
pub(crate) fn compress8(_: Ifma, points: &[Affine]) -> Vec<[u8; 32]> {
    assert!(points.len() <= 8, "at most eight points, one per lane");
    // SAFETY: the `Ifma` argument exists only if `Ifma::detect` found the target features
    // `compress_lanes` needs on this CPU.
    unsafe { compress_lanes(points) }
}

#[target_feature(enable = "avx512f,avx512ifma")]
fn compress_lanes(points: &[Affine]) -> Vec<[u8; 32]> {
    let (x, y) = load_affine(|j| points.get(j));
    let mut encodings = to_bytes(&y);
    let negative = x.is_negative();
    for (j, encoding) in encodings.iter_mut().enumerate() {
        encoding[31] |= (negative >> j & 1) << 7;
    }
    encodings[..points.len()].to_vec()
}

/// One signature's equation for [`double_base8`]: the key `A`, `S` and the challenge `k`
/// (canonical scalars, little-endian), and for `Zip215` the decoded `R`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Single {
    pub key: Affine,
    pub s: [u8; 32],
    pub k: [u8; 32],
    /// `Some(R)`: `Zip215`'s cofactored equation is checked against it; `None`: `Strict`,
    /// whose equation compares the encoding of `[S]B − [k]A` with `R`'s bytes.
    pub r: Option<Affine>,
}

/// What [`double_base8`] found for one signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SingleOutcome {
    /// The canonical encoding of `[S]B − [k]A` (a job without `R`).
    Encoding([u8; 32]),
    /// Whether `[8](R − ([S]B − [k]A)) = O` (a job with `R`).
    Cofactored(bool),
}

/// Up to eight signatures' equations at once, one per lane: `[S]B − [k]A` by a Straus sum
/// (252 doublings shared by the eight) over `−A`'s signed radix-16 digits, with a table of
/// 1..8 multiples built per call, and `S`'s signed radix-256 digits, with the fixed table of
/// `B`'s multiples 0..=128 in affine form ([`basepoint_tables`]): half as many additions for
/// `B` as radix 16 would take, each one product cheaper, looked up by gathers (a blend per
/// entry would cost 128). Then per job either its encoding or the cofactored comparison with
/// `R` (see [`Single`]). `−[k]A` is computed as `[k](−A)`, as curve25519-dalek's
/// `vartime_double_scalar_mul_basepoint` does, not as `[L − k]A`: the two differ by `[L]A`,
/// the torsion component of a mixed-order key, which `Strict`'s uncofactored comparison
/// would see.
///
/// Jobs that all carry `R` (`Zip215`) are checked halved ([`super::halving`]): the same
/// verdicts with a chain of 128 doublings.
pub(crate) fn double_base8(ifma: Ifma, jobs: &[Single]) -> Vec<SingleOutcome> {
    assert!(jobs.len() <= 8, "at most eight jobs, one per lane");
    let tables = basepoint_tables(ifma);
    if jobs.iter().all(|job| job.r.is_some()) {
        let halved: Option<Vec<Halved>> = jobs.iter().map(Halved::of).collect();
        if let Some(halved) = halved {
            // SAFETY: as below.
            return unsafe { halved_lanes(tables, jobs, &halved) };
        }
    }
    // SAFETY: the `Ifma` argument exists only if `Ifma::detect` found the target features
    // `double_base_lanes` needs on this CPU.
    unsafe { double_base_lanes(&tables[0], jobs) }
}

/// One `Zip215` job halved ([`super::halving`]): its check `[8]([S]B − [k]A − R) = O` as
/// `[8]([b]B − [ρ]A − [τ]R) = O`, with `ρ ≡ τ·k` and `b = τ·S mod L`.
struct Halved {
    /// `b`, little-endian.
    b: [u8; 32],
    rho: [u8; 32],
    /// `|τ|`.
    tau: [u8; 32],
    tau_negative: bool,
}

impl Halved {
    /// `None` if halving refused `k` (never for the canonical scalars jobs carry), or if its
    /// `ρ ≡ τ·k (mod L)` did not hold, which the verdict's equivalence rests on: checked here
    /// by curve25519-dalek's scalar arithmetic (one product), so that the verdict does not
    /// depend on the half gcd's multi-step arithmetic being right. A `None` job is checked by
    /// the full chain.
    fn of(job: &Single) -> Option<Halved> {
        use curve25519_dalek::Scalar;
        let (rho, tau) = super::halving::half_gcd(&job.k)?;
        let magnitude = Scalar::from(tau.unsigned_abs());
        let tau_scalar = if tau < 0 { -magnitude } else { magnitude };
        if Scalar::from(rho) != Scalar::from_bytes_mod_order(job.k) * tau_scalar {
            return None;
        }
        Some(Halved {
            b: (Scalar::from_bytes_mod_order(job.s) * tau_scalar).to_bytes(),
            rho: scalar_bytes(rho),
            tau: scalar_bytes(tau.unsigned_abs()),
            tau_negative: tau < 0,
        })
    }
}

/// The halved checks of up to eight `Zip215` jobs: one Straus sum of 33 radix-16 positions
/// (132 doublings) over `−A` with `ρ`, `∓R` with `|τ|`, and `b`'s signed radix-256 digits,
/// its low half from `B`'s table and its high half (`b`'s digits 16..33, weight 2^128 each
/// step) from `[2^128]B`'s.
#[target_feature(enable = "avx512f,avx512ifma")]
fn halved_lanes(tables: &[Vec<u64>; 2], jobs: &[Single], halved: &[Halved]) -> Vec<SingleOutcome> {
    let job = |j: usize| jobs.get(j);
    let half = |j: usize| halved.get(j);
    let (ax, ay) = load_affine(|j| job(j).map(|job| &job.key));
    let minus_a = Column::new(&Point8::affine(&ax.neg(), &ay), |j| half(j).map(|h| &h.rho));
    // −[τ]R = [|τ|](−R) for τ > 0, [|τ|]R for τ < 0.
    let (rx, ry) = load_affine(|j| job(j).and_then(|job| job.r.as_ref()));
    let negate_r = (0..8).fold(0u8, |mask, j| {
        mask | u8::from(half(j).is_some_and(|h| !h.tau_negative)) << j
    });
    let r = Column::new(&Point8::affine(&rx.select(negate_r, &rx.neg()), &ry), |j| {
        half(j).map(|h| &h.tau)
    });
    let b_digits = position_major_radix256(|j| half(j).map(|h| &h.b));
    // b's digit u counts 256^u: from B's table at position 2u (u < 16), from [2^128]B's at
    // position 2(u − 16) (u ≥ 16).
    let position = |u: usize| if u < 16 { 2 * u } else { 2 * (u - 16) };
    let b_top = (0..33)
        .filter(|&u| b_digits[u] != 0)
        .map(|u| position(u) + 1)
        .max();
    let top = minus_a.top().max(r.top()).max(b_top.unwrap_or(0));
    let mut acc = Point8::identity();
    for t in (0..top).rev() {
        if t + 1 != top {
            acc = acc.double_n(4);
        }
        // At an even position t: b's digit t/2 from B's table (t/2 < 16) and digit t/2 + 16
        // from [2^128]B's.
        let b_here = [(0, t / 2), (1, t / 2 + 16)].map(|(table, u)| {
            let in_table = if table == 0 { u < 16 } else { u < 33 };
            (t % 2 == 0 && in_table && b_digits[u] != 0).then_some((table, u))
        });
        let entries = [minus_a.entry(t), r.entry(t)];
        // A doubling follows the last addition of every position but the final one.
        let mut left = entries.iter().flatten().count() + b_here.iter().flatten().count();
        for entry in entries.iter().flatten() {
            left -= 1;
            acc = acc.added(entry).point(t > 0 && left == 0);
        }
        for (table, u) in b_here.into_iter().flatten() {
            left -= 1;
            let widened = _mm512_cvtepi8_epi64(_mm_cvtsi64_si128(b_digits[u]));
            let entry = lookup_basepoint(&tables[table], widened);
            acc = acc.added_affine(&entry).point(t > 0 && left == 0);
        }
    }
    let cleared = acc.cofactor_cleared();
    (0..jobs.len())
        .map(|j| SingleOutcome::Cofactored(cleared >> j & 1 == 1))
        .collect()
}

/// Each lane's scalar's signed radix-256 digits ([`radix256`]), position-major: position
/// `u`'s eight digits as one little-endian word (lane `j` in byte `j`; `None`: zero).
fn position_major_radix256<'s>(scalar: impl Fn(usize) -> Option<&'s [u8; 32]>) -> [i64; 33] {
    let lane_digits: [[i8; 33]; 8] = std::array::from_fn(|j| scalar(j).map_or([0; 33], radix256));
    std::array::from_fn(|u| i64::from_le_bytes(lane_digits.map(|d| d[u] as u8)))
}

/// Words per entry of [`basepoint_tables`]: `y + x`, `y − x` and `2d·x·y`, five limbs each.
const NIELS_WORDS: usize = 15;

/// Entries of each of [`basepoint_tables`]: the multiples 0..=128 (a signed radix-256
/// digit's magnitudes).
const BASE_MULTIPLES: usize = 129;

/// The multiples `[m]B` and `[m][2^128]B`, `m` in 0..=128, affine, as (`y + x`, `y − x`,
/// `2d·x·y`) in canonical limbs, entry-major ([`NIELS_WORDS`] words each), built once from
/// curve25519-dalek's multiples of its base point (30 KiB each; the second serves the high
/// half of a halved check's `B` scalar).
fn basepoint_tables(_: Ifma) -> &'static [Vec<u64>; 2] {
    static TABLES: std::sync::OnceLock<[Vec<u64>; 2]> = std::sync::OnceLock::new();
    TABLES.get_or_init(|| {
        use curve25519_dalek::constants::ED25519_BASEPOINT_POINT;
        let two_128 =
            curve25519_dalek::Scalar::from(1u128 << 127) * curve25519_dalek::Scalar::from(2u8);
        [ED25519_BASEPOINT_POINT, two_128 * ED25519_BASEPOINT_POINT].map(|base| {
            let multiples: Vec<[u8; 32]> = (0..BASE_MULTIPLES.next_multiple_of(8))
                .scan(curve25519_dalek::EdwardsPoint::default(), |p, _| {
                    let encoding = p.compress().to_bytes();
                    *p += base;
                    Some(encoding)
                })
                .collect();
            let mut table = Vec::with_capacity(multiples.len() * NIELS_WORDS);
            for eight in multiples.chunks_exact(8) {
                let eight: &[[u8; 32]; 8] = eight.try_into().expect("chunks of eight");
                // SAFETY: the `Ifma` argument exists only if `Ifma::detect` found the target
                // features `niels8` needs on this CPU.
                let entries = unsafe { niels8(eight) };
                table.extend(entries.iter().flatten());
            }
            table.truncate(BASE_MULTIPLES * NIELS_WORDS);
            table
        })
    })
}

/// Eight valid encodings as (`y + x`, `y − x`, `2d·x·y`), canonical limbs, per lane.
#[target_feature(enable = "avx512f,avx512ifma")]
fn niels8(encodings: &[[u8; 32]; 8]) -> [[u64; NIELS_WORDS]; 8] {
    let (valid, x, y) = decompress_lanes(encodings);
    assert_eq!(valid, 0xff, "multiples of the base point decode");
    let coordinates = [
        y.add(&x).canonical(),
        y.sub(&x).canonical(),
        x.mul(&y).mul(&Fe8::splat_const(EDWARDS_D2)).canonical(),
    ]
    .map(|limbs| to_lanes(&Fe8(limbs)));
    std::array::from_fn(|j| std::array::from_fn(|w| coordinates[w / 5][w % 5][j]))
}

/// Eight affine points ready to be added: (`y + x`, `y − x`, `2d·x·y`), `Z` = 1.
#[derive(Clone, Copy)]
struct Niels8 {
    y_plus_x: Fe8,
    y_minus_x: Fe8,
    t2d: Fe8,
}

/// Each lane's multiple `digit[j]·B` (signed, |digit| ≤ 128) from [`basepoint_tables`], by one
/// gather per limb vector.
#[target_feature(enable = "avx512f,avx512ifma")]
fn lookup_basepoint(table: &[u64], digits: __m512i) -> Niels8 {
    assert_eq!(table.len(), BASE_MULTIPLES * NIELS_WORDS);
    // The clamp keeps every gather inside the table whatever the digits.
    let magnitude = _mm512_min_epu64(_mm512_abs_epi64(digits), splat(BASE_MULTIPLES as u64 - 1));
    let index = _mm512_sub_epi64(_mm512_slli_epi64::<4>(magnitude), magnitude);
    let coordinate = |c: usize| {
        Fe8(std::array::from_fn(|i| {
            // SAFETY: lane indices are 15·m with m ≤ 128 (clamped above), so word
            // 15·m + 5c + i < 129 · 15 = table.len() (asserted above) for c < 3, i < 5.
            unsafe { _mm512_i64gather_epi64::<8>(index, table.as_ptr().add(5 * c + i).cast()) }
        }))
    };
    let (y_plus_x, y_minus_x, t2d) = (coordinate(0), coordinate(1), coordinate(2));
    let negative = _mm512_cmplt_epi64_mask(digits, _mm512_setzero_si512());
    Niels8 {
        y_plus_x: y_plus_x.select(negative, &y_minus_x),
        y_minus_x: y_minus_x.select(negative, &y_plus_x),
        t2d: t2d.select(negative, &t2d.neg()),
    }
}

/// Signed radix-256 digits of a 256-bit little-endian scalar: 33 digits, least significant
/// first, each in [−128, 127] but the last (the final carry, 0 or 1).
fn radix256(scalar: &[u8; 32]) -> [i8; 33] {
    let mut digits = [0i8; 33];
    let mut carry = 0i16;
    for (digit, &byte) in digits.iter_mut().zip(scalar) {
        let v = i16::from(byte) + carry;
        carry = (v + 128) >> 8;
        *digit = (v - (carry << 8)) as i8;
    }
    digits[32] = carry as i8;
    digits
}

#[target_feature(enable = "avx512f,avx512ifma")]
fn double_base_lanes(table: &[u64], jobs: &[Single]) -> Vec<SingleOutcome> {
    let job = |j: usize| jobs.get(j);
    let (ax, ay) = load_affine(|j| job(j).map(|job| &job.key));
    let minus_a = Column::new(&Point8::affine(&ax.neg(), &ay), |j| {
        job(j).map(|job| &job.k)
    });
    // S's digits, position-major; position u counts 256^u = 16^(2u), so it is added at the
    // radix-16 chain's position 2u.
    let s_digits = position_major_radix256(|j| job(j).map(|job| &job.s));
    let s_top = s_digits
        .iter()
        .rposition(|&d| d != 0)
        .map_or(0, |u| 2 * u + 1);
    let top = minus_a.top().max(s_top);
    let mut acc = Point8::identity();
    for t in (0..top).rev() {
        if t + 1 != top {
            acc = acc.double_n(4);
        }
        let b = (t % 2 == 0 && s_digits[t / 2] != 0).then(|| {
            let widened = _mm512_cvtepi8_epi64(_mm_cvtsi64_si128(s_digits[t / 2]));
            lookup_basepoint(table, widened)
        });
        if let Some(entry) = minus_a.entry(t) {
            acc = acc.added(&entry).point(t > 0 && b.is_none());
        }
        if let Some(entry) = b {
            acc = acc.added_affine(&entry).point(t > 0);
        }
    }
    let sum = acc;
    let any_r = jobs.iter().any(|job| job.r.is_some());
    let any_encoding = jobs.iter().any(|job| job.r.is_none());
    let cleared = if any_r {
        let (rx, ry) = load_affine(|j| job(j).and_then(|job| job.r.as_ref()));
        let minus_r = Point8::affine(&rx, &ry).cached().negate_lanes(0xff);
        sum.add(&minus_r).cofactor_cleared()
    } else {
        0
    };
    let encodings = if any_encoding {
        sum.compress()
    } else {
        [[0; 32]; 8]
    };
    jobs.iter()
        .enumerate()
        .map(|(j, job)| match job.r {
            Some(_) => SingleOutcome::Cofactored(cleared >> j & 1 == 1),
            None => SingleOutcome::Encoding(encodings[j]),
        })
        .collect()
}

/// Limb-major lanes into an element.
#[target_feature(enable = "avx512f,avx512ifma")]
fn from_lanes(limbs: [[u64; 8]; 5]) -> Fe8 {
    // SAFETY: [u64; 8] and __m512i have the same size, and every bit pattern is valid for both.
    Fe8(limbs.map(|l| unsafe { std::mem::transmute::<[u64; 8], __m512i>(l) }))
}

/// An element's limbs, limb-major (not reduced further).
#[target_feature(enable = "avx512f,avx512ifma")]
fn to_lanes(a: &Fe8) -> [[u64; 8]; 5] {
    // SAFETY: as in from_lanes.
    a.0.map(|l| unsafe { std::mem::transmute::<__m512i, [u64; 8]>(l) })
}

/// The eight encodings' y (bit 255 dropped), limb-major.
#[target_feature(enable = "avx512f,avx512ifma")]
fn from_bytes(encodings: &[[u8; 32]; 8]) -> Fe8 {
    let mut limbs = [[0u64; 8]; 5];
    for (j, e) in encodings.iter().enumerate() {
        let word = |w: usize| u64::from_le_bytes(e[8 * w..8 * w + 8].try_into().expect("8"));
        let (w0, w1, w2, w3) = (word(0), word(1), word(2), word(3));
        limbs[0][j] = w0 & MASK51;
        limbs[1][j] = (w0 >> 51 | w1 << 13) & MASK51;
        limbs[2][j] = (w1 >> 38 | w2 << 26) & MASK51;
        limbs[3][j] = (w2 >> 25 | w3 << 39) & MASK51;
        limbs[4][j] = (w3 >> 12) & MASK51;
    }
    from_lanes(limbs)
}

/// Canonical little-endian bytes of each lane.
#[target_feature(enable = "avx512f,avx512ifma")]
fn to_bytes(a: &Fe8) -> [[u8; 32]; 8] {
    let limbs = to_lanes(&Fe8(a.canonical()));
    std::array::from_fn(|j| limbs_to_bytes(std::array::from_fn(|i| limbs[i][j])))
}

/// Five limbs below 2^51 as 32 little-endian bytes.
fn limbs_to_bytes(l: [u64; 5]) -> [u8; 32] {
    let words = [
        l[0] | l[1] << 51,
        l[1] >> 13 | l[2] << 38,
        l[2] >> 26 | l[3] << 25,
        l[3] >> 39 | l[4] << 12,
    ];
    let mut out = [0u8; 32];
    for (chunk, w) in out.chunks_exact_mut(8).zip(words) {
        chunk.copy_from_slice(&w.to_le_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use curve25519_dalek::edwards::CompressedEdwardsY;
    use rand::RngExt;

    /// The reference twin: RFC 8032's decoding written on `num-bigint` integers mod p, as
    /// plainly as the RFC states it (no limbs, no tricks), independent of both the lanes and
    /// curve25519-dalek.
    mod reference {
        use num_bigint::BigUint;

        pub type Fe = BigUint;

        /// p = 2^255 − 19.
        fn p() -> BigUint {
            (BigUint::from(1u8) << 255u32) - 19u8
        }

        /// `a` (any value) mod p.
        pub fn reduce(a: Fe) -> Fe {
            a % p()
        }

        pub fn add(a: &Fe, b: &Fe) -> Fe {
            (a + b) % p()
        }

        /// `a − b` mod p.
        pub fn sub(a: &Fe, b: &Fe) -> Fe {
            (a % p() + p() - b % p()) % p()
        }

        pub fn mul(a: &Fe, b: &Fe) -> Fe {
            (a * b) % p()
        }

        /// y from an encoding: bit 255 dropped, taken mod p (as dalek does).
        pub fn from_bytes(b: &[u8; 32]) -> Fe {
            let mut b = *b;
            b[31] &= 0x7f;
            BigUint::from_bytes_le(&b) % p()
        }

        pub fn to_bytes(f: &Fe) -> [u8; 32] {
            let mut out = [0u8; 32];
            let bytes = (f % p()).to_bytes_le();
            out[..bytes.len()].copy_from_slice(&bytes);
            out
        }

        /// x of the point encoded by `enc` as RFC 8032 §5.1.3 computes it (with y taken mod p
        /// and the sign applied to 0 as well, as curve25519-dalek does), or None.
        pub fn decompress_x(enc: &[u8; 32]) -> Option<[u8; 32]> {
            let p = p();
            let one = BigUint::from(1u8);
            let d = from_bytes(&hex32(
                "52036cee2b6ffe738cc740797779e89800700a4d4141d8ab75eb4dca135978a3",
            ));
            let sqrt_m1 = from_bytes(&hex32(
                "2b8324804fc1df0b2b4d00993dfbd7a72f431806ad2fe478c4ee1b274a0ea0b0",
            ));
            let y = from_bytes(enc);
            let yy = mul(&y, &y);
            let u = sub(&yy, &one);
            let v = add(&mul(&yy, &d), &one);
            // x = u v^3 (u v^7)^((p − 5) / 8).
            let e = (&p - 5u8) >> 3u32;
            let v3 = mul(&mul(&v, &v), &v);
            let v7 = mul(&mul(&v3, &v3), &v);
            let mut x = mul(&mul(&u, &v3), &mul(&u, &v7).modpow(&e, &p));
            let vxx = mul(&v, &mul(&x, &x));
            if vxx != u {
                if vxx != sub(&BigUint::ZERO, &u) {
                    return None;
                }
                x = mul(&x, &sqrt_m1);
            }
            // Non-negative root, then the encoding's sign (−0 = 0).
            if x.bit(0) {
                x = sub(&BigUint::ZERO, &x);
            }
            if enc[31] >> 7 == 1 {
                x = sub(&BigUint::ZERO, &x);
            }
            Some(to_bytes(&x))
        }

        pub fn hex32(hex: &str) -> [u8; 32] {
            let mut le = BigUint::parse_bytes(hex.as_bytes(), 16)
                .expect("hex")
                .to_bytes_le();
            le.resize(32, 0);
            le.try_into().expect("32 bytes")
        }
    }

    /// Whether the CPU reports both instructions the kernels need, asked directly (not
    /// through [`Ifma::detect`], whose answer this is the check of).
    fn cpu_has_ifma() -> bool {
        std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512ifma")
    }

    /// The token for a test of the kernels. Panics (the test fails) if the CPU has the
    /// instructions but [`Ifma::detect`] gave no token: the kernels would go untested there.
    /// `None`, after a line saying so, only on a CPU that truly lacks them (the caller then
    /// skips).
    fn token() -> Option<Ifma> {
        match (Ifma::detect(), cpu_has_ifma()) {
            (Some(ifma), true) => Some(ifma),
            (None, false) => {
                eprintln!("SKIP: no AVX-512F/AVX-512 IFMA here; the IFMA lanes are untested");
                None
            }
            (detected, cpu) => panic!(
                "Ifma::detect() gave {detected:?} but the CPU reports avx512f+avx512ifma = {cpu}"
            ),
        }
    }

    #[test]
    fn detection_agrees_with_the_cpu() {
        assert_eq!(Ifma::detect().is_some(), cpu_has_ifma());
    }

    /// Canonical bytes of x and y.
    fn affine_bytes(_: Ifma, p: &Affine) -> ([u8; 32], [u8; 32]) {
        // SAFETY: the `Ifma` argument exists only if `Ifma::detect` found the target features
        // `affine_bytes_ifma` needs on this CPU.
        unsafe { affine_bytes_ifma(p) }
    }

    #[target_feature(enable = "avx512f,avx512ifma")]
    fn affine_bytes_ifma(p: &Affine) -> ([u8; 32], [u8; 32]) {
        let x = from_lanes(std::array::from_fn(|i| [p.x[i]; 8]));
        let y = from_lanes(std::array::from_fn(|i| [p.y[i]; 8]));
        (to_bytes(&x)[0], to_bytes(&y)[0])
    }

    /// Decompresses any number of encodings, eight at a time.
    fn decompress_all(ifma: Ifma, encodings: &[[u8; 32]]) -> Vec<Option<Affine>> {
        encodings
            .chunks(8)
            .flat_map(|chunk| {
                let batch: [[u8; 32]; 8] =
                    std::array::from_fn(|j| chunk.get(j).copied().unwrap_or_default());
                decompress8(ifma, &batch).into_iter().take(chunk.len())
            })
            .collect()
    }

    fn check(ifma: Ifma, batch: &[[u8; 32]; 8]) {
        let got = decompress8(ifma, batch).map(|p| p.map(|p| affine_bytes(ifma, &p)));
        for (enc, got) in batch.iter().zip(got) {
            let dalek = CompressedEdwardsY(*enc).decompress();
            assert_eq!(got.is_some(), dalek.is_some(), "{enc:02x?}");
            let want_x = reference::decompress_x(enc);
            assert_eq!(got.map(|(x, _)| x), want_x, "{enc:02x?}");
            let lanes_encoding = decompress8(ifma, batch)
                .iter()
                .zip(batch)
                .find(|(_, e)| *e == enc)
                .and_then(|(p, _)| *p)
                .map(|p| compress8(ifma, &[p])[0]);
            assert_eq!(
                lanes_encoding,
                dalek.map(|p| p.compress().to_bytes()),
                "{enc:02x?}"
            );
            if let (Some((x, y)), Some(point)) = (got, dalek) {
                // dalek's re-encoding: canonical y, and x's sign in bit 255.
                let mut canonical_y = point.compress().to_bytes();
                assert_eq!(canonical_y[31] >> 7, x[0] & 1, "sign of x, {enc:02x?}");
                canonical_y[31] &= 0x7f;
                assert_eq!(y, canonical_y, "{enc:02x?}");
            }
        }
    }

    #[test]
    fn radix_51_constants_are_d_and_sqrt_minus_one() {
        let join = limbs_to_bytes;
        assert_eq!(
            join(EDWARDS_D),
            reference::hex32("52036cee2b6ffe738cc740797779e89800700a4d4141d8ab75eb4dca135978a3")
        );
        assert_eq!(
            join(SQRT_M1),
            reference::hex32("2b8324804fc1df0b2b4d00993dfbd7a72f431806ad2fe478c4ee1b274a0ea0b0")
        );
    }

    #[test]
    fn decompression_matches_dalek_and_the_reference_on_random_encodings() {
        let Some(ifma) = token() else { return };
        let mut rng = rand::rng();
        for _ in 0..400 {
            let batch: [[u8; 32]; 8] = std::array::from_fn(|_| rng.random());
            check(ifma, &batch);
        }
    }

    #[test]
    fn decompression_matches_on_edge_encodings() {
        let Some(ifma) = token() else { return };
        let mut edges: Vec<[u8; 32]> = Vec::new();
        // y = 0, 1, −1 (p − 1), p, p + 1, 2^255 − 1, each with and without the sign bit.
        let p_minus = |k: u8| {
            let mut b = [0xffu8; 32];
            b[31] = 0x7f;
            b[0] = 0xed - k;
            b
        };
        let small = |v: u8| {
            let mut b = [0u8; 32];
            b[0] = v;
            b
        };
        let p_plus = |k: u8| {
            let mut b = p_minus(0);
            b[0] = 0xed + k;
            b
        };
        for base in [
            small(0),
            small(1),
            p_minus(1),
            p_minus(0),
            p_plus(1),
            p_plus(18),
        ] {
            edges.push(base);
            let mut signed = base;
            signed[31] |= 0x80;
            edges.push(signed);
        }
        // The 8 small-order points and the base point, as dalek encodes them.
        for t in curve25519_dalek::constants::EIGHT_TORSION {
            edges.push(t.compress().to_bytes());
        }
        edges.push(curve25519_dalek::constants::ED25519_BASEPOINT_COMPRESSED.to_bytes());
        edges.resize(edges.len().div_ceil(8) * 8, [0u8; 32]);
        for batch in edges.chunks_exact(8) {
            check(ifma, batch.try_into().expect("8"));
        }
    }

    #[test]
    fn radix_51_two_d_is_twice_d() {
        let d = reference::from_bytes(&limbs_to_bytes(EDWARDS_D));
        let two_d = reference::reduce(reference::add(&d, &d));
        assert_eq!(reference::to_bytes(&two_d), limbs_to_bytes(EDWARDS_D2));
    }

    #[test]
    fn radix16_and_radix256_digits_recompose() {
        use curve25519_dalek::Scalar;
        let mut rng = rand::rng();
        let mut scalars: Vec<[u8; 32]> = [
            0u128,
            1,
            8,
            9,
            u128::MAX,
            0x8888_8888_8888_8888_8888_8888_8888_8888,
        ]
        .into_iter()
        .chain((0..100).map(|_| rng.random::<u128>()))
        .map(scalar_bytes)
        .collect();
        scalars.extend([
            [0xff; 32],
            [0x88; 32],
            Scalar::from(7u8).invert().to_bytes(),
        ]);
        scalars.extend((0..100).map(|_| rng.random::<[u8; 32]>()));
        for bytes in scalars {
            let digits = radix16(&bytes);
            assert!(digits.iter().all(|d| (-8..=8).contains(d)));
            let back = digits.iter().rev().fold(Scalar::ZERO, |acc, &d| {
                let digit = Scalar::from(d.unsigned_abs());
                acc * Scalar::from(16u8) + if d < 0 { -digit } else { digit }
            });
            assert_eq!(back, Scalar::from_bytes_mod_order(bytes), "{bytes:02x?}");
            // The base point's digits: each in [−128, 127], the final carry 0 or 1 (so every
            // magnitude is an entry of the 129-entry table).
            let digits = radix256(&bytes);
            assert!(digits[..32].iter().all(|d| (-128..=127).contains(d)));
            assert!((0..=1).contains(&digits[32]));
            let back = digits.iter().rev().fold(Scalar::ZERO, |acc, &d| {
                let digit = Scalar::from(d.unsigned_abs());
                acc * Scalar::from(256u16) + if d < 0 { -digit } else { digit }
            });
            assert_eq!(back, Scalar::from_bytes_mod_order(bytes), "{bytes:02x?}");
        }
    }

    #[test]
    fn sum_of_multiples_matches_dalek() {
        let Some(ifma) = token() else { return };
        use curve25519_dalek::constants::{ED25519_BASEPOINT_POINT, EIGHT_TORSION};
        use curve25519_dalek::traits::VartimeMultiscalarMul;
        use curve25519_dalek::{EdwardsPoint, Scalar};
        let mut rng = rand::rng();
        for n in [1usize, 7, 8, 9, 64, 200] {
            // Points of mixed order: a prime-order part plus a random torsion point.
            let points: Vec<EdwardsPoint> = (0..n)
                .map(|_| {
                    Scalar::from(rng.random::<u64>()) * ED25519_BASEPOINT_POINT
                        + EIGHT_TORSION[rng.random_range(0..8)]
                })
                .collect();
            let encodings: Vec<[u8; 32]> = points.iter().map(|p| p.compress().to_bytes()).collect();
            let z: Vec<u128> = (0..n).map(|_| rng.random()).collect();
            let want =
                EdwardsPoint::vartime_multiscalar_mul(z.iter().map(|&z| Scalar::from(z)), &points);
            let affine: Vec<Affine> = decompress_all(ifma, &encodings)
                .into_iter()
                .map(|p| p.expect("decodes"))
                .collect();
            let got = sum_of_multiples(ifma, &affine, &z).expect("lane sums decode");
            assert_eq!(got.compress(), want.compress(), "{n} points");
        }
    }

    /// Each group's sum against dalek's multiscalar multiplication of that group alone, with
    /// 128-bit and full-size scalars mixed (as in the batch equation), for group counts below,
    /// at and past a multiple of the eight lanes, and empty and uneven groups.
    #[test]
    fn grouped_sums_match_dalek_group_by_group() {
        let Some(ifma) = token() else { return };
        use curve25519_dalek::constants::{ED25519_BASEPOINT_POINT, EIGHT_TORSION};
        use curve25519_dalek::traits::{IsIdentity, VartimeMultiscalarMul};
        use curve25519_dalek::{EdwardsPoint, Scalar};
        let mut rng = rand::rng();
        let sizes: [&[usize]; 5] = [
            &[1],
            &[5, 0, 3],
            &[1; 8],
            &[16, 3, 0, 17, 16, 16, 2, 9, 18],
            &[4; 17],
        ];
        for sizes in sizes {
            let n: usize = sizes.iter().sum();
            // Every fifth point pure torsion: a group of one such term sums to a point whose
            // cofactor multiple is the identity (returned as None), like an empty group's.
            let points: Vec<EdwardsPoint> = (0..n)
                .map(|i| {
                    let torsion = EIGHT_TORSION[rng.random_range(0..8)];
                    if i % 5 == 4 {
                        torsion
                    } else {
                        Scalar::from(rng.random::<u64>()) * ED25519_BASEPOINT_POINT + torsion
                    }
                })
                .collect();
            // Every third scalar full-size, the others 128-bit.
            let scalars: Vec<Scalar> = (0..n)
                .map(|i| {
                    if i % 3 == 0 {
                        Scalar::from_bytes_mod_order(rng.random())
                    } else {
                        Scalar::from(rng.random::<u128>())
                    }
                })
                .collect();
            let encodings: Vec<[u8; 32]> = points.iter().map(|p| p.compress().to_bytes()).collect();
            let terms: Vec<Term> = decompress_all(ifma, &encodings)
                .into_iter()
                .zip(&scalars)
                .map(|(p, s)| (p.expect("decodes"), s.to_bytes()))
                .collect();
            let mut bounds = vec![0];
            for size in sizes {
                bounds.push(bounds.last().expect("starts at 0") + size);
            }
            let got = grouped_sums(ifma, &terms, &bounds).expect("lane sums decode");
            assert_eq!(got.len(), sizes.len(), "{sizes:?}");
            let mut cleared = 0;
            for (k, sum) in got.iter().enumerate() {
                let range = bounds[k]..bounds[k + 1];
                let want =
                    EdwardsPoint::vartime_multiscalar_mul(&scalars[range.clone()], &points[range]);
                match sum {
                    Some(sum) => {
                        assert_eq!(sum.compress(), want.compress(), "{sizes:?}, group {k}")
                    }
                    None => {
                        assert!(want.mul_by_cofactor().is_identity(), "{sizes:?}, group {k}");
                        cleared += 1;
                    }
                }
            }
            let want_cleared = (0..sizes.len())
                .filter(|&k| (bounds[k]..bounds[k + 1]).all(|i| i % 5 == 4))
                .count();
            assert_eq!(cleared, want_cleared, "{sizes:?}");
        }
    }

    /// Each job's outcome against curve25519-dalek's double-scalar multiplication, for every
    /// job count 1..=8, `Strict` and `Zip215` jobs mixed in one call, keys of mixed order (a
    /// torsion component, where `[L − k]A` and `−[k]A` differ), small-order keys, and `R`s
    /// that are right, right up to torsion (cofactored equation holds), or wrong.
    #[test]
    fn double_base8_matches_dalek() {
        let Some(ifma) = token() else { return };
        use curve25519_dalek::constants::{ED25519_BASEPOINT_POINT, EIGHT_TORSION};
        use curve25519_dalek::traits::IsIdentity;
        use curve25519_dalek::{EdwardsPoint, Scalar};
        let mut rng = rand::rng();
        let decode = |p: &EdwardsPoint| {
            let mut encodings = [[0u8; 32]; 8];
            encodings[0] = p.compress().to_bytes();
            decompress8(ifma, &encodings)[0].expect("a point decodes")
        };
        // Rounds 0..40 mix `Strict` and `Zip215` jobs (the full chain); rounds 40..240 are all
        // `Zip215` (halved, `super::halving`: the batches the dense and search single checks
        // hand over).
        for round in 0..240 {
            let n = round % 8 + 1;
            let mut jobs = Vec::new();
            let mut want = Vec::new();
            for j in 0..n {
                let torsion = EIGHT_TORSION[rng.random_range(0..8)];
                let a = match (round + j) % 5 {
                    0 => torsion,
                    _ => {
                        Scalar::from_bytes_mod_order(rng.random()) * ED25519_BASEPOINT_POINT
                            + torsion
                    }
                };
                // S's extremes too: no radix-256 digit at all, and L − 1 (every digit).
                let s = match (round % 5, j % 4) {
                    (0, 2) => Scalar::ZERO,
                    (1, 3) => -Scalar::ONE,
                    _ => Scalar::from_bytes_mod_order(rng.random()),
                };
                let k = match j % 4 {
                    0 => Scalar::ZERO,
                    1 => -Scalar::ONE,
                    _ => Scalar::from_bytes_mod_order(rng.random()),
                };
                let r_prime = EdwardsPoint::vartime_double_scalar_mul_basepoint(&k, &-a, &s);
                let r = match (round + 2 * j) % 3 {
                    0 => r_prime,
                    1 => r_prime + EIGHT_TORSION[rng.random_range(0..8)],
                    _ => r_prime + ED25519_BASEPOINT_POINT,
                };
                let strict = round < 40 && (round + j) % 2 == 0;
                jobs.push(Single {
                    key: decode(&a),
                    s: s.to_bytes(),
                    k: k.to_bytes(),
                    r: (!strict).then(|| decode(&r)),
                });
                want.push(if strict {
                    SingleOutcome::Encoding(r_prime.compress().to_bytes())
                } else {
                    SingleOutcome::Cofactored((r - r_prime).mul_by_cofactor().is_identity())
                });
            }
            assert_eq!(double_base8(ifma, &jobs), want, "round {round}");
        }
    }

    /// Throughput beside curve25519-dalek's decompression, for the measurement in
    /// BENCHMARKS.md; not a test of speed (it asserts nothing about time).
    #[test]
    #[ignore = "a measurement: cargo test --release --lib ifma -- --ignored --nocapture"]
    fn measure_decompression_throughput() {
        let Some(ifma) = token() else { return };
        let mut rng = rand::rng();
        let points: Vec<[u8; 32]> = (0..8192)
            .map(|_| {
                let s = curve25519_dalek::Scalar::from(rng.random::<u64>());
                (s * curve25519_dalek::constants::ED25519_BASEPOINT_POINT)
                    .compress()
                    .to_bytes()
            })
            .collect();
        let time = |f: &dyn Fn()| {
            let mut best = f64::MAX;
            for _ in 0..7 {
                let t = std::time::Instant::now();
                f();
                best = best.min(t.elapsed().as_secs_f64());
            }
            best
        };
        let dalek = time(&|| {
            for p in &points {
                std::hint::black_box(CompressedEdwardsY(*p).decompress());
            }
        });
        let ours = time(&|| {
            for batch in points.chunks_exact(8) {
                std::hint::black_box(decompress8(ifma, batch.try_into().expect("8")));
            }
        });
        let n = points.len() as f64;
        eprintln!(
            "decompressions/s, 1 thread: dalek {:.0}, ifma x8 {:.0} ({:.2}x)",
            n / dalek,
            n / ours,
            dalek / ours
        );
        // Σ z_i R_i over 1,024 points (the largest group, `MAX_CHUNK`) with 128-bit z: dalek's decompression
        // and multiscalar multiplication against sum_of_multiples (decompression included).
        use curve25519_dalek::traits::VartimeMultiscalarMul;
        let chunk = &points[..1024];
        let z: Vec<u128> = (0..chunk.len()).map(|_| rng.random()).collect();
        let scalars: Vec<curve25519_dalek::Scalar> = z
            .iter()
            .map(|&z| curve25519_dalek::Scalar::from(z))
            .collect();
        let dalek_msm = time(&|| {
            let decoded: Vec<_> = chunk
                .iter()
                .map(|p| CompressedEdwardsY(*p).decompress().expect("valid"))
                .collect();
            std::hint::black_box(curve25519_dalek::EdwardsPoint::vartime_multiscalar_mul(
                &scalars, &decoded,
            ));
        });
        let ours_msm = time(&|| {
            let affine: Vec<Affine> = decompress_all(ifma, chunk).into_iter().flatten().collect();
            std::hint::black_box(sum_of_multiples(ifma, &affine, &z));
        });
        let n = chunk.len() as f64;
        eprintln!(
            "decompress + sum of 1,024 multiples (128-bit z), 1 thread, µs per point: dalek {:.2}, ifma {:.2} ({:.2}x)",
            1e6 * dalek_msm / n,
            1e6 * ours_msm / n,
            dalek_msm / ours_msm
        );
        // One signature's equation, [S]B − [k]A compressed (Strict's), eight at a time against
        // dalek's double-scalar multiplication and compression, keys decoded beforehand.
        use curve25519_dalek::{EdwardsPoint, Scalar};
        let keys: Vec<EdwardsPoint> = points[..1024]
            .iter()
            .map(|p| CompressedEdwardsY(*p).decompress().expect("valid"))
            .collect();
        let lanes_keys: Vec<Affine> = decompress_all(ifma, &points[..1024])
            .into_iter()
            .flatten()
            .collect();
        let scalars: Vec<(Scalar, Scalar)> = (0..1024)
            .map(|_| {
                (
                    Scalar::from_bytes_mod_order(rng.random()),
                    Scalar::from_bytes_mod_order(rng.random()),
                )
            })
            .collect();
        let dalek_single = time(&|| {
            for (a, (s, k)) in keys.iter().zip(&scalars) {
                std::hint::black_box(
                    EdwardsPoint::vartime_double_scalar_mul_basepoint(k, &-a, s).compress(),
                );
            }
        });
        let jobs: Vec<Single> = lanes_keys
            .iter()
            .zip(&scalars)
            .map(|(a, (s, k))| Single {
                key: *a,
                s: s.to_bytes(),
                k: k.to_bytes(),
                r: None,
            })
            .collect();
        let ours_single = time(&|| {
            for eight in jobs.chunks(8) {
                std::hint::black_box(double_base8(ifma, eight));
            }
        });
        eprintln!(
            "[S]B − [k]A compressed, 1 thread, µs per signature: dalek {:.2}, ifma x8 {:.2} ({:.2}x)",
            1e6 * dalek_single / 1024.0,
            1e6 * ours_single / 1024.0,
            dalek_single / ours_single
        );
        // Zip215's check against R (decoded): halved in the lanes, against dalek's
        // double-scalar multiplication with the cofactored comparison.
        let rs: Vec<EdwardsPoint> = (0..1024u64)
            .map(|i| Scalar::from(i + 1) * curve25519_dalek::constants::ED25519_BASEPOINT_POINT)
            .collect();
        let lanes_rs: Vec<Affine> = rs
            .iter()
            .map(|r| {
                let mut encodings = [[0u8; 32]; 8];
                encodings[0] = r.compress().to_bytes();
                decompress8(ifma, &encodings)[0].expect("decodes")
            })
            .collect();
        let zip215_jobs: Vec<Single> = jobs
            .iter()
            .zip(&lanes_rs)
            .map(|(job, r)| Single {
                r: Some(*r),
                ..*job
            })
            .collect();
        let dalek_zip215 = time(&|| {
            for ((a, (s, k)), r) in keys.iter().zip(&scalars).zip(&rs) {
                let r_prime = EdwardsPoint::vartime_double_scalar_mul_basepoint(k, &-a, s);
                std::hint::black_box((r - r_prime).mul_by_cofactor());
            }
        });
        let ours_zip215 = time(&|| {
            for eight in zip215_jobs.chunks(8) {
                std::hint::black_box(double_base8(ifma, eight));
            }
        });
        let half_gcd = time(&|| {
            for (_, k) in &scalars {
                std::hint::black_box(super::super::halving::half_gcd(&k.to_bytes()));
            }
        });
        eprintln!(
            "[8]([S]B − [k]A − R), 1 thread, µs per signature: dalek {:.2}, ifma x8 halved {:.2} ({:.2}x; of which half_gcd {:.2})",
            1e6 * dalek_zip215 / 1024.0,
            1e6 * ours_zip215 / 1024.0,
            dalek_zip215 / ours_zip215,
            1e6 * half_gcd / 1024.0,
        );
    }
}
