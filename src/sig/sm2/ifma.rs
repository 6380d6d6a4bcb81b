//! Eight SM2 joint sums `[s]G + [t]P` at once on AVX-512 IFMA: the point arithmetic of
//! verification, one item per lane. The serial engine (`point`, `rules`) is its twin: every
//! lane's result is the same point as `rules::joint_sum`'s, and the tests compare them on
//! random items and on the cases where partial sums meet.
//!
//! # Soundness of the dispatch
//!
//! The kernels are `#[target_feature(enable = "avx512f,avx512ifma")]` functions. The only way
//! in from safe code is [`joint_sums8`], which takes the Ed25519 lanes' `Ifma` token: only
//! `Ifma::detect` makes one, after run-time detection found both features (see `sig::ifma`).
//!
//! # Representation
//!
//! Lane `j` of limb vector `i` holds limb `i` of element `j`: five limbs of 52 bits (IFMA
//! multiplies the low 52 bits of its operands, so every limb fed to a multiplication is
//! below 2^52: every function here returns limbs below 2^52, "normalized"). Elements are in
//! Montgomery form with R = 2^260 and almost reduced: the value is below 2p, so zero has two
//! forms, 0 and p ([`Fe8::is_zero`] checks both). Multiplication is word-by-word Montgomery;
//! p ≡ −1 (mod 2^52), so −p⁻¹ mod 2^52 = 1 and each step's multiplier is the low limb
//! itself. Its bound: for inputs below 4p the result `(ab + mp)/R` is below
//! `16p²/R + p < 2p`, because R = 2^260 > 16p. So additions and subtractions that feed only a
//! multiplication may skip their final reduction (`add_lazy`, `sub_lazy`: below 4p).
//!
//! # Exceptional sums
//!
//! The lanes use the generic addition formulas, which are wrong when the two points are equal
//! or opposite (H = 0). Honest items never get there, but an adversary who knows the discrete
//! log of their own key can make a partial sum meet a table point. Every addition checks H
//! per lane and marks the lane; a marked lane's result is discarded and the caller computes
//! that item with the serial twin, which handles every case. Doubling needs no check: the
//! curve has prime order, so no finite point has y = 0.
#![allow(unsafe_code)]

use std::arch::x86_64::{
    __m512i, __mmask8, _mm512_add_epi64, _mm512_and_si512, _mm512_cmpeq_epi64_mask,
    _mm512_cmplt_epi64_mask, _mm512_madd52hi_epu64, _mm512_madd52lo_epu64, _mm512_mask_blend_epi64,
    _mm512_set1_epi64, _mm512_setzero_si512, _mm512_slli_epi64, _mm512_srai_epi64,
    _mm512_srli_epi64, _mm512_sub_epi64,
};

use super::lanes::{Job, KeyForm, LaneComb, LaneLimbs, LanePoint, from_radix52, regular_digits};
use super::point::Jacobian;
use crate::sig::ifma::Ifma;

const MASK52: u64 = (1 << 52) - 1;

/// p in radix 2^52.
const P52: [u64; 5] = [
    0xf_ffff_ffff_ffff,
    0xf_f000_0000_0fff,
    0xf_ffff_ffff_ffff,
    0xf_ffff_ffff_ffff,
    0x0_ffff_fffe_ffff,
];

/// 2p in radix 2^52.
const TWO_P52: [u64; 5] = [
    0xf_ffff_ffff_fffe,
    0xf_e000_0000_1fff,
    0xf_ffff_ffff_ffff,
    0xf_ffff_ffff_ffff,
    0x1_ffff_fffd_ffff,
];

/// Eight field elements, limb-major (module docs).
#[derive(Clone, Copy)]
struct Fe8([__m512i; 5]);

/// Eight points in Jacobian coordinates.
#[derive(Clone, Copy)]
struct Point8 {
    x: Fe8,
    y: Fe8,
    z: Fe8,
}

#[inline]
#[target_feature(enable = "avx512f,avx512ifma")]
fn splat(x: u64) -> __m512i {
    _mm512_set1_epi64(x as i64)
}

/// Limb-major lanes as vectors.
#[inline]
#[target_feature(enable = "avx512f,avx512ifma")]
fn load(limbs: &[[u64; 8]; 5]) -> Fe8 {
    // SAFETY: [u64; 8] and __m512i have the same size, and every bit pattern is valid for both.
    Fe8(limbs.map(|l| unsafe { std::mem::transmute::<[u64; 8], __m512i>(l) }))
}

/// Vectors as limb-major lanes.
#[inline]
#[target_feature(enable = "avx512f,avx512ifma")]
fn store(a: &Fe8) -> [[u64; 8]; 5] {
    // SAFETY: as in `load`.
    a.0.map(|l| unsafe { std::mem::transmute::<__m512i, [u64; 8]>(l) })
}

/// Signed limbs (each within ±2^62, value in [0, 4p)) to normalized limbs, the same value.
#[inline]
#[target_feature(enable = "avx512f,avx512ifma")]
fn normalize(mut x: [__m512i; 5]) -> [__m512i; 5] {
    let mask = splat(MASK52);
    for k in 0..4 {
        let carry = _mm512_srai_epi64::<52>(x[k]);
        x[k] = _mm512_and_si512(x[k], mask);
        x[k + 1] = _mm512_add_epi64(x[k + 1], carry);
    }
    x
}

/// Signed limbs of a value in [0, 4p) to the almost reduced form (below 2p).
#[inline]
#[target_feature(enable = "avx512f,avx512ifma")]
fn reduce(x: [__m512i; 5]) -> Fe8 {
    let x = normalize(x);
    let d = normalize(std::array::from_fn(|k| {
        _mm512_sub_epi64(x[k], splat(TWO_P52[k]))
    }));
    // d = x − 2p is negative (its top limb, after the signed carries, is) exactly when x < 2p.
    let below = _mm512_cmplt_epi64_mask(d[4], _mm512_setzero_si512());
    Fe8(std::array::from_fn(|k| {
        _mm512_mask_blend_epi64(below, d[k], x[k])
    }))
}

impl Fe8 {
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn splat(limbs: &[u64; 5]) -> Fe8 {
        Fe8(limbs.map(|l| splat(l)))
    }

    /// `self · b · 2^−260 mod p`, for inputs below 4p; the result is below 2p.
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn mul(&self, b: &Fe8) -> Fe8 {
        let (a, b) = (&self.0, &b.0);
        let p: [__m512i; 5] = P52.map(|l| splat(l));
        let mask = splat(MASK52);
        // t holds at most 4 halves of products per limb per step and shifts down a limb each
        // step: every limb stays below 2^57.
        let mut t = [_mm512_setzero_si512(); 6];
        for bi in b {
            for k in 0..5 {
                t[k] = _mm512_madd52lo_epu64(t[k], a[k], *bi);
                t[k + 1] = _mm512_madd52hi_epu64(t[k + 1], a[k], *bi);
            }
            // −p⁻¹ ≡ 1 (mod 2^52): the multiple of p that clears limb 0 is its low 52 bits.
            let m = _mm512_and_si512(t[0], mask);
            for k in 0..5 {
                t[k] = _mm512_madd52lo_epu64(t[k], m, p[k]);
                t[k + 1] = _mm512_madd52hi_epu64(t[k + 1], m, p[k]);
            }
            // Limb 0 is now a multiple of 2^52: shift it out.
            let carry = _mm512_srli_epi64::<52>(t[0]);
            t = [
                _mm512_add_epi64(t[1], carry),
                t[2],
                t[3],
                t[4],
                t[5],
                _mm512_setzero_si512(),
            ];
        }
        Fe8(normalize([t[0], t[1], t[2], t[3], t[4]]))
    }

    /// `self² · 2^−260 mod p`, for an input below 4p; the result is below 2p. The product
    /// first (the ten products off the diagonal once, their columns doubled, then the five on
    /// it: 30 multiplications instead of 50), then the five Montgomery steps.
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn square(&self) -> Fe8 {
        let a = &self.0;
        let zero = _mm512_setzero_si512();
        let mask = splat(MASK52);
        let p: [__m512i; 5] = P52.map(|l| splat(l));
        let mut lo = [zero; 10];
        let mut hi = [zero; 10];
        for i in 0..5 {
            for j in i + 1..5 {
                lo[i + j] = _mm512_madd52lo_epu64(lo[i + j], a[i], a[j]);
                hi[i + j + 1] = _mm512_madd52hi_epu64(hi[i + j + 1], a[i], a[j]);
            }
        }
        // Column k (below 2^54 before doubling, 2^57 at the end of the reduction).
        let mut t: [__m512i; 10] =
            std::array::from_fn(|k| _mm512_slli_epi64::<1>(_mm512_add_epi64(lo[k], hi[k])));
        for i in 0..5 {
            t[2 * i] = _mm512_madd52lo_epu64(t[2 * i], a[i], a[i]);
            t[2 * i + 1] = _mm512_madd52hi_epu64(t[2 * i + 1], a[i], a[i]);
        }
        for i in 0..5 {
            let m = _mm512_and_si512(t[i], mask);
            for k in 0..5 {
                t[i + k] = _mm512_madd52lo_epu64(t[i + k], m, p[k]);
                t[i + k + 1] = _mm512_madd52hi_epu64(t[i + k + 1], m, p[k]);
            }
            t[i + 1] = _mm512_add_epi64(t[i + 1], _mm512_srli_epi64::<52>(t[i]));
        }
        Fe8(normalize([t[5], t[6], t[7], t[8], t[9]]))
    }

    /// `self + b`, below 2p.
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn add(&self, b: &Fe8) -> Fe8 {
        reduce(std::array::from_fn(|k| _mm512_add_epi64(self.0[k], b.0[k])))
    }

    /// `self + b`, below 4p: only as a multiplication's input.
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn add_lazy(&self, b: &Fe8) -> Fe8 {
        Fe8(normalize(std::array::from_fn(|k| {
            _mm512_add_epi64(self.0[k], b.0[k])
        })))
    }

    /// The limbs of `self − b + 2p` (value in (0, 4p)), not yet normalized.
    #[inline]
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn sub_limbs(&self, b: &Fe8) -> [__m512i; 5] {
        std::array::from_fn(|k| {
            _mm512_sub_epi64(_mm512_add_epi64(self.0[k], splat(TWO_P52[k])), b.0[k])
        })
    }

    /// `self − b`, below 2p.
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn sub(&self, b: &Fe8) -> Fe8 {
        reduce(self.sub_limbs(b))
    }

    /// `self − b`, below 4p: only as a multiplication's input.
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn sub_lazy(&self, b: &Fe8) -> Fe8 {
        Fe8(normalize(self.sub_limbs(b)))
    }

    #[target_feature(enable = "avx512f,avx512ifma")]
    fn double(&self) -> Fe8 {
        self.add(self)
    }

    /// Per lane: whether the element is 0 mod p (0 or p, being below 2p).
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn is_zero(&self) -> __mmask8 {
        let mut zero: __mmask8 = 0xff;
        let mut p: __mmask8 = 0xff;
        for (limb, p_limb) in self.0.iter().zip(P52) {
            zero &= _mm512_cmpeq_epi64_mask(*limb, _mm512_setzero_si512());
            p &= _mm512_cmpeq_epi64_mask(*limb, splat(p_limb));
        }
        zero | p
    }

    /// Per lane: `b` where `mask` is set, else `self`.
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn select(&self, mask: __mmask8, b: &Fe8) -> Fe8 {
        Fe8(std::array::from_fn(|k| {
            _mm512_mask_blend_epi64(mask, self.0[k], b.0[k])
        }))
    }
}

impl Point8 {
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn select(&self, mask: __mmask8, b: &Point8) -> Point8 {
        Point8 {
            x: self.x.select(mask, &b.x),
            y: self.y.select(mask, &b.y),
            z: self.z.select(mask, &b.z),
        }
    }

    /// `2·self` (`dbl-2001-b`, a = −3, as `Jacobian::double`). The point at infinity (Z = 0)
    /// stays there; no finite point has y = 0.
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn double(&self) -> Point8 {
        let delta = self.z.square();
        let gamma = self.y.square();
        let beta = self.x.mul(&gamma);
        let t = self.x.sub_lazy(&delta).mul(&self.x.add_lazy(&delta));
        let alpha = t.double().add(&t);
        let beta4 = beta.double().double();
        let x3 = alpha.square().sub(&beta4.double());
        let z3 = self.y.add_lazy(&self.z).square().sub(&gamma).sub(&delta);
        let gamma8 = gamma.square().double().double().double();
        let y3 = alpha.mul(&beta4.sub_lazy(&x3)).sub(&gamma8);
        Point8 {
            x: x3,
            y: y3,
            z: z3,
        }
    }

    /// `self + q` (`add-2007-bl`, as `Jacobian::add`) for finite inputs, and the lanes where
    /// the inputs are equal or opposite (H = 0), whose results are wrong.
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn add(&self, q: &Point8) -> (Point8, __mmask8) {
        let z1z1 = self.z.square();
        let z2z2 = q.z.square();
        let u1 = self.x.mul(&z2z2);
        let u2 = q.x.mul(&z1z1);
        let s1 = self.y.mul(&q.z).mul(&z2z2);
        let s2 = q.y.mul(&self.z).mul(&z1z1);
        let h = u2.sub(&u1);
        let exceptional = h.is_zero();
        let r = s2.sub(&s1).double();
        let i = h.double().square();
        let j = h.mul(&i);
        let v = u1.mul(&i);
        let x3 = r.square().sub(&j).sub(&v.double());
        let y3 = r.mul(&v.sub_lazy(&x3)).sub(&s1.mul(&j).double());
        let z3 = self
            .z
            .add_lazy(&q.z)
            .square()
            .sub(&z1z1)
            .sub_lazy(&z2z2)
            .mul(&h);
        (
            Point8 {
                x: x3,
                y: y3,
                z: z3,
            },
            exceptional,
        )
    }

    /// `self + (x, y)` for an affine point (`madd-2007-bl`, as `Jacobian::add_affine`) and a
    /// finite `self`, and the lanes where H = 0.
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn add_affine(&self, qx: &Fe8, qy: &Fe8) -> (Point8, __mmask8) {
        let z1z1 = self.z.square();
        let u2 = qx.mul(&z1z1);
        let s2 = qy.mul(&self.z).mul(&z1z1);
        let h = u2.sub(&self.x);
        let exceptional = h.is_zero();
        let r = s2.sub(&self.y).double();
        let hh = h.square();
        let i = hh.double().double();
        let j = h.mul(&i);
        let v = self.x.mul(&i);
        let x3 = r.square().sub(&j).sub(&v.double());
        let y3 = r.mul(&v.sub_lazy(&x3)).sub(&self.y.mul(&j).double());
        let z3 = self.z.add_lazy(&h).square().sub(&z1z1).sub(&hh);
        (
            Point8 {
                x: x3,
                y: y3,
                z: z3,
            },
            exceptional,
        )
    }
}

/// `acc + entry` per lane for the lanes with an entry (the others keep `acc`), `y` negated in
/// the lanes of `negate`; a lane in `acc_infinite` (the point at infinity) takes the entry
/// itself. Returns the sum, the lanes still at infinity, and the lanes where the addition met
/// H = 0.
#[target_feature(enable = "avx512f,avx512ifma")]
fn add_entries(
    acc: &Point8,
    acc_infinite: __mmask8,
    entries: &[Option<&LanePoint>; 8],
    negate: __mmask8,
) -> (Point8, __mmask8, __mmask8) {
    let mut xs = [[0u64; 8]; 5];
    let mut ys = [[0u64; 8]; 5];
    let mut present: __mmask8 = 0;
    for (lane, entry) in entries.iter().enumerate() {
        if let Some(entry) = entry {
            present |= 1 << lane;
            for k in 0..5 {
                xs[k][lane] = entry.x[k];
                ys[k][lane] = entry.y[k];
            }
        } else {
            // Lanes without an entry compute on p (= 0): meaningless, harmless, discarded.
            for k in 0..5 {
                xs[k][lane] = LanePoint::ONE[k];
                ys[k][lane] = LanePoint::ONE[k];
            }
        }
    }
    if present == 0 {
        return (*acc, acc_infinite, 0);
    }
    let qx = load(&xs);
    let qy = load(&ys);
    let zero = Fe8([_mm512_setzero_si512(); 5]);
    let qy = qy.select(negate, &zero.sub(&qy));
    let (sum, hit) = acc.add_affine(&qx, &qy);
    let entering = present & acc_infinite;
    let adding = present & !acc_infinite;
    let entered = Point8 {
        x: qx,
        y: qy,
        z: Fe8::splat(&LanePoint::ONE),
    };
    let acc = acc.select(adding, &sum).select(entering, &entered);
    (acc, acc_infinite & !present, hit & adding)
}

/// Per lane, the entry of `tables[lane]` for bit column `j` of `scalars[lane]` (none for a
/// zero column).
#[inline]
fn comb_entries<'a>(
    tables: &[&'a LaneComb; 8],
    scalars: &[[u64; 4]; 8],
    j: usize,
) -> [Option<&'a LanePoint>; 8] {
    std::array::from_fn(|lane| tables[lane].entry(LaneComb::index(&scalars[lane], j)))
}

/// `[s]G + [t]P` from two combs per lane, sharing the doublings: 31 doublings and up to 64
/// mixed additions. Returns the sum (Z = 0 in lanes at infinity) and the exceptional lanes.
#[target_feature(enable = "avx512f,avx512ifma")]
fn comb_sums(
    g: &LaneComb,
    keys: &[&LaneComb; 8],
    s: &[[u64; 4]; 8],
    t: &[[u64; 4]; 8],
) -> (Point8, __mmask8) {
    let zero = Fe8([_mm512_setzero_si512(); 5]);
    let nowhere = Point8 {
        x: zero,
        y: zero,
        z: zero,
    };
    let g_tables = [g; 8];
    let (mut acc, mut infinite, mut exceptional) = (nowhere, 0xff, 0);
    for j in (0..LaneComb::SPACING).rev() {
        if j + 1 < LaneComb::SPACING {
            // Lanes still at infinity double garbage here; they take their first entry whole.
            acc = acc.double();
        }
        for (tables, scalars) in [(&g_tables, s), (keys, t)] {
            let (sum, still, hit) =
                add_entries(&acc, infinite, &comb_entries(tables, scalars, j), 0);
            acc = sum;
            infinite = still;
            exceptional |= hit;
        }
    }
    // With no exceptional addition, a lane still at infinity has its true sum there.
    (acc.select(infinite, &nowhere), exceptional)
}

/// `[s]G + [t]P` for eight keys without combs: the odd multiples P, 3P, …, 31P per lane, the
/// regular signed digits of an odd scalar (every digit odd, so every step adds a table entry
/// and the sum is never at infinity unless an addition was exceptional), and `G`'s comb
/// entries added between the last 32 doublings, where their weights 2^31 … 1 fall. An even
/// `t` is replaced by the odd `n − t`, and then the lane computes `−([s]G + [t]P)`: its `G`
/// entries enter negated and the result is negated. Returns the sum and the exceptional
/// lanes.
#[target_feature(enable = "avx512f,avx512ifma")]
fn key_sums(
    g: &LaneComb,
    keys: &[LanePoint; 8],
    s: &[[u64; 4]; 8],
    t: &[[u64; 4]; 8],
) -> (Point8, __mmask8) {
    const ENTRIES: usize = 16;
    let mut px = [[0u64; 8]; 5];
    let mut py = [[0u64; 8]; 5];
    for lane in 0..8 {
        for k in 0..5 {
            px[k][lane] = keys[lane].x[k];
            py[k][lane] = keys[lane].y[k];
        }
    }
    let base = Point8 {
        x: load(&px),
        y: load(&py),
        z: Fe8::splat(&LanePoint::ONE),
    };
    let mut exceptional: __mmask8 = 0;
    let twice = base.double();
    // table[e] = (2e + 1)·P, limb-major lanes (x, y, z: 15 limb vectors each entry).
    let mut table = [[[0u64; 8]; 15]; ENTRIES];
    let mut entry = base;
    for (e, slot) in table.iter_mut().enumerate() {
        if e > 0 {
            let (next, hit) = entry.add(&twice);
            exceptional |= hit;
            entry = next;
        }
        let (x, y, z) = (store(&entry.x), store(&entry.y), store(&entry.z));
        slot[..5].copy_from_slice(&x);
        slot[5..10].copy_from_slice(&y);
        slot[10..].copy_from_slice(&z);
    }

    let mut digits = [[0i8; 52]; 8];
    let mut negate: __mmask8 = 0;
    for lane in 0..8 {
        let (d, negated) = regular_digits(&t[lane]);
        digits[lane] = d;
        if negated {
            negate |= 1 << lane;
        }
    }
    let pick = |position: usize| -> Point8 {
        let mut limbs = [[0u64; 8]; 15];
        let mut negative: __mmask8 = 0;
        for lane in 0..8 {
            let d = digits[lane][position];
            if d < 0 {
                negative |= 1 << lane;
            }
            let row = &table[(d.unsigned_abs() as usize) / 2];
            for (limb, from) in limbs.iter_mut().zip(row) {
                limb[lane] = from[lane];
            }
        }
        let x = load(&limbs[..5].try_into().expect("5 limbs"));
        let y = load(&limbs[5..10].try_into().expect("5 limbs"));
        let z = load(&limbs[10..].try_into().expect("5 limbs"));
        let zero = Fe8([_mm512_setzero_si512(); 5]);
        Point8 {
            x,
            y: y.select(negative, &zero.sub(&y)),
            z,
        }
    };
    let g_tables = [g; 8];
    let mut acc = pick(51);
    for position in (0..51).rev() {
        for step in 0..5 {
            acc = acc.double();
            // Doublings still to come: what an entry added now is multiplied by.
            let weight = 5 * position + 4 - step;
            if weight < LaneComb::SPACING {
                let entries = comb_entries(&g_tables, s, weight);
                let (sum, _, hit) = add_entries(&acc, 0, &entries, negate);
                acc = sum;
                exceptional |= hit;
            }
        }
        let (sum, hit) = acc.add(&pick(position));
        exceptional |= hit;
        acc = sum;
    }
    let zero = Fe8([_mm512_setzero_si512(); 5]);
    acc.y = acc.y.select(negate, &zero.sub(&acc.y));
    (acc, exceptional)
}

/// Eight jobs in the lanes (see [`joint_sums8`]).
#[target_feature(enable = "avx512f,avx512ifma")]
fn joint_sums8_ifma(g: &LaneComb, jobs: &[Job<'_>; 8]) -> [Option<Jacobian>; 8] {
    let s: [[u64; 4]; 8] = std::array::from_fn(|i| jobs[i].s);
    let t: [[u64; 4]; 8] = std::array::from_fn(|i| jobs[i].t);
    let (sum, exceptional) = match jobs[0].key {
        KeyForm::Comb(_) => {
            let key_combs: [&LaneComb; 8] = std::array::from_fn(|i| match jobs[i].key {
                KeyForm::Comb(comb) => comb,
                KeyForm::Point(_) => unreachable!("a batch is all combs or all points"),
            });
            comb_sums(g, &key_combs, &s, &t)
        }
        KeyForm::Point(_) => {
            let keys: [LanePoint; 8] = std::array::from_fn(|i| match jobs[i].key {
                KeyForm::Point(p) => p,
                KeyForm::Comb(_) => unreachable!("a batch is all combs or all points"),
            });
            key_sums(g, &keys, &s, &t)
        }
    };
    let (x, y, z) = (store(&sum.x), store(&sum.y), store(&sum.z));
    std::array::from_fn(|lane| {
        if exceptional & (1 << lane) != 0 {
            return None;
        }
        let coordinate = |c: &[[u64; 8]; 5]| -> LaneLimbs { std::array::from_fn(|k| c[k][lane]) };
        Some(Jacobian {
            x: from_radix52(&coordinate(&x)),
            y: from_radix52(&coordinate(&y)),
            z: from_radix52(&coordinate(&z)),
        })
    })
}

/// `[s]G + [t]P` for up to eight jobs, all with a key comb or all without: `Some(sum)` per
/// job, exactly the serial twin's point, or `None` where an addition in the lanes met equal
/// or opposite points (the caller computes that job with the twin). `g` is `G`'s lane comb.
pub(crate) fn joint_sums8(_: Ifma, g: &LaneComb, jobs: &[Job<'_>]) -> [Option<Jacobian>; 8] {
    assert!(
        (1..=8).contains(&jobs.len()),
        "1 to 8 jobs, not {}",
        jobs.len()
    );
    // Pad with copies of the first job; their results are dropped.
    let padded: [Job<'_>; 8] = std::array::from_fn(|i| *jobs.get(i).unwrap_or(&jobs[0]));
    // SAFETY: the `Ifma` argument exists only if `Ifma::detect` found the target features
    // `joint_sums8_ifma` needs on this CPU.
    let mut sums = unsafe { joint_sums8_ifma(g, &padded) };
    for sum in sums.iter_mut().skip(jobs.len()) {
        *sum = None;
    }
    sums
}

#[cfg(test)]
mod tests {
    use super::*;
    use num_bigint::BigUint;

    fn p() -> BigUint {
        limbs_value(&P52)
    }

    fn limbs_value(l: &[u64; 5]) -> BigUint {
        l.iter()
            .rev()
            .fold(BigUint::from(0u8), |acc, limb| (acc << 52) + limb)
    }

    fn limbs_of(v: &BigUint) -> [u64; 5] {
        let mask = BigUint::from((1u64 << 52) - 1);
        std::array::from_fn(|k| {
            let limb = (v >> (52 * k)) & &mask;
            limb.iter_u64_digits().next().unwrap_or(0)
        })
    }

    type Lanes = [[u64; 8]; 5];

    fn to_lanes(values: &[BigUint; 8]) -> Lanes {
        let limbs: Vec<[u64; 5]> = values.iter().map(limbs_of).collect();
        std::array::from_fn(|k| std::array::from_fn(|j| limbs[j][k]))
    }

    fn from_lanes(l: &Lanes) -> [[u64; 5]; 8] {
        std::array::from_fn(|j| std::array::from_fn(|k| l[k][j]))
    }

    /// mul, square, add, sub and is_zero on eight pairs.
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn ops(a: &Lanes, b: &Lanes) -> ([Lanes; 4], u8) {
        let (x, y) = (load(a), load(b));
        (
            [
                store(&x.mul(&y)),
                store(&x.square()),
                store(&x.add(&y)),
                store(&x.sub(&y)),
            ],
            x.is_zero(),
        )
    }

    /// The field operations against big integers on the edges of their input ranges: every
    /// result has 52-bit limbs, is below 2p and is congruent to the exact value.
    #[test]
    fn field_operations_match_big_integers_on_their_bounds() {
        if Ifma::detect().is_none() {
            assert!(
                !std::arch::is_x86_feature_detected!("avx512ifma"),
                "this CPU has IFMA but no token"
            );
            eprintln!("no AVX-512 IFMA on this CPU: the SM2 lanes cannot run here");
            return;
        }
        let p = p();
        let r_inv = BigUint::from(2u8)
            .modpow(&BigUint::from(260u32), &p)
            .modpow(&(&p - 2u8), &p);
        let two_p = &p * 2u8;
        let four_p = &p * 4u8;
        let mut x = BigUint::from(0x1234_5678u64);
        let mut random = |below: &BigUint| {
            x = (&x * &x * 7u8 + 0x9e37_79b9u64) % (BigUint::from(1u8) << 300);
            &x % below
        };
        // Inputs below 2p for every operation, and below 4p where only products take them.
        let mut small: Vec<BigUint> = vec![
            BigUint::from(0u8),
            BigUint::from(1u8),
            &p - 1u8,
            p.clone(),
            &p + 1u8,
            &two_p - 1u8,
            (BigUint::from(1u8) << 256) - 1u8,
        ];
        small.extend((0..25).map(|_| random(&two_p)));
        let mut large = small.clone();
        large.extend([&four_p - 1u8, two_p.clone(), &four_p - &p]);
        large.extend((0..21).map(|_| random(&four_p)));
        for (pairs, operands) in [(&small, true), (&large, false)] {
            for a8 in pairs.chunks(8) {
                for b8 in pairs.chunks(8) {
                    if a8.len() < 8 || b8.len() < 8 {
                        continue;
                    }
                    let a: [BigUint; 8] = std::array::from_fn(|j| a8[j].clone());
                    let b: [BigUint; 8] = std::array::from_fn(|j| b8[(j + 3) % 8].clone());
                    // SAFETY: an `Ifma` token exists (checked above), so the CPU has the
                    // target features of `ops`.
                    let (results, zero) = unsafe { ops(&to_lanes(&a), &to_lanes(&b)) };
                    let [mul, square, add, sub] = results.map(|r| from_lanes(&r));
                    for j in 0..8 {
                        let check = |what: &str, limbs: &[u64; 5], want: &BigUint| {
                            assert!(limbs.iter().all(|l| *l < 1 << 52), "{what}: limbs");
                            let got = limbs_value(limbs);
                            assert!(got < two_p, "{what} of {} and {}: not below 2p", a[j], b[j]);
                            assert_eq!(got % &p, want % &p, "{what} of {} and {}", a[j], b[j]);
                        };
                        check("mul", &mul[j], &(&a[j] * &b[j] * &r_inv));
                        check("square", &square[j], &(&a[j] * &a[j] * &r_inv));
                        if operands {
                            check("add", &add[j], &(&a[j] + &b[j]));
                            check("sub", &sub[j], &(&a[j] + &two_p - &b[j]));
                            let is_zero = (&a[j] % &p) == BigUint::from(0u8);
                            assert_eq!(zero & (1 << j) != 0, is_zero, "is_zero of {}", a[j]);
                        }
                    }
                }
            }
        }
    }
}
