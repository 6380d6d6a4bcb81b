//! The SM2 IFMA lanes (`super::ifma`) as the engine sees them, the same on every
//! architecture, and the data they read: points and combs in the lanes' radix-2^52
//! Montgomery form (R = 2^260), and the regular signed digits of a scalar.
//!
//! [`Sm2Lanes`] is the proof that the lanes may run here, like the Ed25519 `Lanes`: it wraps
//! the `Ifma` token, so only run-time detection makes one; off x86_64 it wraps an uninhabited
//! type and [`Sm2Lanes::detect`] returns `None`. Everything else here is plain safe code.
#![forbid(unsafe_code)]

use super::field::Fe;
use super::point::{Affine, Jacobian, batch_to_affine};
use super::scalar::N;

/// An element's five 52-bit limbs, little-endian: `x·2^260 mod p` for the element x, below
/// 2p (the lanes' form, `super::ifma` module docs).
pub(crate) type LaneLimbs = [u64; 5];

/// An affine point in the lanes' form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct LanePoint {
    pub(crate) x: LaneLimbs,
    pub(crate) y: LaneLimbs,
}

impl LanePoint {
    /// 1 in the lanes' form: 2^260 mod p.
    pub(crate) const ONE: LaneLimbs = [0x10, 0xffff_ffff_0000, 0, 0, 0x10_0000];

    pub(crate) fn from_affine(p: &Affine) -> LanePoint {
        LanePoint {
            x: to_radix52(p.x),
            y: to_radix52(p.y),
        }
    }
}

/// A field element in the lanes' form. The serial form holds `x·2^256 mod p`, so the lanes'
/// `x·2^260` is the serial form of `16x`.
pub(crate) fn to_radix52(x: Fe) -> LaneLimbs {
    let w = x.double().double().double().double().0;
    const M: u64 = (1 << 52) - 1;
    [
        w[0] & M,
        ((w[0] >> 52) | (w[1] << 12)) & M,
        ((w[1] >> 40) | (w[2] << 24)) & M,
        ((w[2] >> 28) | (w[3] << 36)) & M,
        w[3] >> 16,
    ]
}

/// The element whose lanes' form is `l` (any value below 2p with 52-bit limbs).
pub(crate) fn from_radix52(l: &LaneLimbs) -> Fe {
    Fe::from_radix52_montgomery(l)
}

/// A Lim–Lee comb in the lanes' form: eight teeth 32 bits apart. Entry `i` (1..=255) is
/// `Σ 2^(32b)·P` over the bits `b` set in `i`, so with `index(k, j)` the bits `j, j + 32, …,
/// j + 224` of `k`, `[k]P = Σ_j 2^j·entry(index(k, j))`: 31 doublings and at most 32 mixed
/// additions, and the doublings can be shared with another comb's (`[s]G + [t]P` in 31
/// doublings) or with `[t]P`'s own chain. 255 points, 20 KB: a frequent issuer's comb fits
/// beside many others in the caches.
pub(crate) struct LaneComb {
    entries: Vec<LanePoint>,
}

impl LaneComb {
    /// Bits between teeth; also the doublings of a multiplication plus one.
    pub(crate) const SPACING: usize = 32;

    /// The comb of `p`, a point of prime order n (so no entry is at infinity: every entry is
    /// a multiple below n).
    pub(crate) fn new(p: &Affine) -> LaneComb {
        let mut teeth = [Jacobian::from_affine(p); 8];
        for b in 1..8 {
            teeth[b] = teeth[b - 1];
            for _ in 0..Self::SPACING {
                teeth[b] = teeth[b].double();
            }
        }
        let mut sums: Vec<Jacobian> = Vec::with_capacity(255);
        for i in 1usize..256 {
            let top = usize::BITS as usize - 1 - i.leading_zeros() as usize;
            let rest = i & !(1 << top);
            sums.push(if rest == 0 {
                teeth[top]
            } else {
                sums[rest - 1].add(&teeth[top])
            });
        }
        LaneComb {
            entries: batch_to_affine(&sums)
                .iter()
                .map(LanePoint::from_affine)
                .collect(),
        }
    }

    /// The bits `j, j + 32, …, j + 224` of `k` as an entry's index.
    #[inline]
    pub(crate) fn index(k: &[u64; 4], j: usize) -> usize {
        (0..8).fold(0, |index, b| {
            let bit = j + b * Self::SPACING;
            index | ((((k[bit / 64] >> (bit % 64)) & 1) as usize) << b)
        })
    }

    /// Entry `index`; none for 0.
    #[inline]
    pub(crate) fn entry(&self, index: usize) -> Option<&LanePoint> {
        index.checked_sub(1).map(|i| &self.entries[i])
    }
}

/// What the lanes know of a job's key: the point, or its comb (a frequent issuer's).
#[derive(Clone, Copy)]
pub(crate) enum KeyForm<'a> {
    Point(LanePoint),
    Comb(&'a LaneComb),
}

/// One `[s]G + [t]P` for the lanes.
#[derive(Clone, Copy)]
pub(crate) struct Job<'a> {
    pub(crate) s: [u64; 4],
    pub(crate) t: [u64; 4],
    pub(crate) key: KeyForm<'a>,
}

/// The regular signed radix-32 digits of `k` (Joye–Tunstall): 52 digits, least significant
/// first, each odd in [−31, 31], `k = Σ dᵢ·32^i` — so every window adds a table entry and no
/// partial sum of an honest scalar is at infinity. The recoding needs an odd `k`: for an even
/// `k` (in [1, n − 1]) the digits are those of the odd `n − k`, and the flag says to negate
/// the result.
pub(crate) fn regular_digits(k: &[u64; 4]) -> ([i8; 52], bool) {
    let (mut v, negated) = if k[0] & 1 == 0 {
        (super::field::sub4(&N, k).0, true)
    } else {
        (*k, false)
    };
    let mut digits = [0i8; 52];
    for digit in digits.iter_mut().take(51) {
        let d = (v[0] & 63) as i64 - 32;
        *digit = d as i8;
        // v − d is ≡ 32 (mod 64), so (v − d) / 32 is odd again; v − d < 2^256 + 32 fits
        // because v < n < 2^256 − 31.
        v = if d < 0 {
            super::field::add4(&v, &[(-d) as u64, 0, 0, 0]).0
        } else {
            super::field::sub4(&v, &[d as u64, 0, 0, 0]).0
        };
        v = [
            (v[0] >> 5) | (v[1] << 59),
            (v[1] >> 5) | (v[2] << 59),
            (v[2] >> 5) | (v[3] << 59),
            v[3] >> 5,
        ];
    }
    // What remains is odd and below 3 (k < 2^256, 51 windows of 5 bits): 1.
    digits[51] = v[0] as i8;
    (digits, negated)
}

/// Proof that this CPU runs the SM2 lanes; see the module docs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Sm2Lanes(imp::Ifma);

impl Sm2Lanes {
    /// A token if this CPU has AVX-512F and AVX-512 IFMA; always `None` off x86_64.
    pub(crate) fn detect() -> Option<Sm2Lanes> {
        imp::Ifma::detect().map(Sm2Lanes)
    }

    /// `G`'s comb in the lanes' form, built once per process.
    pub(crate) fn g_comb(self) -> &'static LaneComb {
        static COMB: std::sync::OnceLock<LaneComb> = std::sync::OnceLock::new();
        COMB.get_or_init(|| LaneComb::new(&super::point::G))
    }

    /// `[s]G + [t]P` for 1 to 8 jobs, all with combs or all without: per job the serial
    /// twin's point, or `None` where the twin must compute it (`super::ifma`).
    pub(crate) fn joint_sums(self, jobs: &[Job<'_>]) -> [Option<Jacobian>; 8] {
        imp::joint_sums8(self.0, self.g_comb(), jobs)
    }
}

#[cfg(target_arch = "x86_64")]
mod imp {
    pub(crate) use super::super::ifma::joint_sums8;
    pub(crate) use crate::sig::ifma::Ifma;
}

#[cfg(not(target_arch = "x86_64"))]
mod imp {
    use super::{Jacobian, Job, LaneComb};

    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub(crate) enum Ifma {}

    impl Ifma {
        pub(crate) fn detect() -> Option<Ifma> {
            None
        }
    }

    pub(crate) fn joint_sums8(ifma: Ifma, _: &LaneComb, _: &[Job<'_>]) -> [Option<Jacobian>; 8] {
        match ifma {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sig::sm2::point::G;
    use crate::sig::sm2::rules::{g_comb, joint_sum};

    /// The lanes, which a CPU with the instructions must hand out (no silent skip there).
    fn lanes() -> Option<Sm2Lanes> {
        let lanes = Sm2Lanes::detect();
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512ifma")
        {
            assert!(lanes.is_some(), "this CPU has IFMA but no lanes token");
        }
        if lanes.is_none() {
            eprintln!("no AVX-512 IFMA on this CPU: the SM2 lanes cannot run here");
        }
        lanes
    }

    /// A deterministic stream of scalars in [1, n − 1].
    struct Scalars(u64);

    impl Scalars {
        fn next(&mut self) -> [u64; 4] {
            let mut limb = || {
                self.0 ^= self.0 << 13;
                self.0 ^= self.0 >> 7;
                self.0 ^= self.0 << 17;
                self.0
            };
            let k = [limb(), limb(), limb(), limb() >> 1];
            if k == [0; 4] { [1, 0, 0, 0] } else { k }
        }
    }

    fn affine_of(k: &[u64; 4]) -> Affine {
        g_comb().mul(k).to_affine().expect("k in [1, n − 1]")
    }

    fn neg_mod_n(k: &[u64; 4]) -> [u64; 4] {
        super::super::field::sub4(&N, k).0
    }

    /// Runs `cases` (s, t, key) through the lanes in batches of every size 1..=8, with the
    /// key as a point and as a comb, and compares each result with the serial twin's. Returns
    /// how many results the lanes handed back (`None`).
    fn compare(lanes: Sm2Lanes, cases: &[([u64; 4], [u64; 4], Affine)]) -> usize {
        let combs: Vec<LaneComb> = cases.iter().map(|(_, _, key)| LaneComb::new(key)).collect();
        let mut handed_back = 0;
        for as_comb in [false, true] {
            for size in 1..=8 {
                for (chunk, chunk_combs) in cases.chunks(size).zip(combs.chunks(size)) {
                    let jobs: Vec<Job> = chunk
                        .iter()
                        .zip(chunk_combs)
                        .map(|((s, t, key), comb)| Job {
                            s: *s,
                            t: *t,
                            key: if as_comb {
                                KeyForm::Comb(comb)
                            } else {
                                KeyForm::Point(LanePoint::from_affine(key))
                            },
                        })
                        .collect();
                    let sums = lanes.joint_sums(&jobs);
                    for (i, (s, t, key)) in chunk.iter().enumerate() {
                        let want = joint_sum(s, t, key, None).to_affine();
                        match sums[i] {
                            Some(sum) => assert_eq!(
                                sum.to_affine(),
                                want,
                                "s {s:x?} t {t:x?} comb {as_comb} batch {size}"
                            ),
                            None => handed_back += 1,
                        }
                    }
                    assert!(sums[chunk.len()..].iter().all(Option::is_none));
                }
            }
        }
        handed_back
    }

    #[test]
    fn lanes_equal_the_serial_twin() {
        let Some(lanes) = lanes() else { return };
        let mut scalars = Scalars(0x9e37_79b9_7f4a_7c15);
        // Random items: no partial sums meet, so the lanes compute every one.
        let random: Vec<_> = (0..24)
            .map(|_| (scalars.next(), scalars.next(), affine_of(&scalars.next())))
            .collect();
        assert_eq!(compare(lanes, &random), 0);
        // Extreme scalars and keys (1, 2, n − 1, n − 2, G, −G).
        let one = [1, 0, 0, 0];
        let two = [2, 0, 0, 0];
        let extremes = [one, two, neg_mod_n(&one), neg_mod_n(&two)];
        let mut edge = Vec::new();
        for s in &extremes {
            for t in &extremes {
                for key in [G, affine_of(&neg_mod_n(&one)), affine_of(&scalars.next())] {
                    edge.push((*s, *t, key));
                }
            }
        }
        compare(lanes, &edge);
        // Sums that meet: key = kG with t·k ≡ ±s, so [s]G and [t]P are equal or opposite
        // (the sum is 2[s]G or the point at infinity); the lanes must hand these back or get
        // them right, never get them wrong.
        let mut meeting = Vec::new();
        for k in [one, two, [3, 0, 0, 0]] {
            let key = affine_of(&k);
            for t in [one, two, [5, 0, 0, 0], [7, 0, 0, 0]] {
                let kt = small_product(&k, &t);
                meeting.push((kt, t, key));
                meeting.push((neg_mod_n(&kt), t, key));
            }
        }
        let handed_back = compare(lanes, &meeting);
        assert!(handed_back > 0, "meeting sums reach the serial twin");
    }

    fn small_product(a: &[u64; 4], b: &[u64; 4]) -> [u64; 4] {
        [a[0] * b[0], 0, 0, 0]
    }

    #[test]
    fn radix52_round_trips_and_digits_sum_to_the_scalar() {
        let mut x = G.x;
        for _ in 0..100 {
            assert_eq!(from_radix52(&to_radix52(x)), x);
            x = x.mul(G.y).add(Fe::ONE);
        }
        assert_eq!(to_radix52(Fe::ONE), LanePoint::ONE);
        // p itself (another form of 0) comes back as 0.
        let p52 = [
            0xf_ffff_ffff_ffff,
            0xf_f000_0000_0fff,
            0xf_ffff_ffff_ffff,
            0xf_ffff_ffff_ffff,
            0x0_ffff_fffe_ffff,
        ];
        assert_eq!(from_radix52(&p52), Fe::ZERO);

        use num_bigint::{BigInt, BigUint};
        let big = |k: &[u64; 4]| {
            BigInt::from(BigUint::from_bytes_be(&super::super::field::limbs_to_be(k)))
        };
        let n = big(&N);
        let scalars = [
            [1, 0, 0, 0],
            [2, 0, 0, 0],
            [0x1234_5678_9abc_def1, 7, 9, 0xffff_fffe_0000_0000],
            super::super::field::sub4(&N, &[1, 0, 0, 0]).0,
            super::super::field::sub4(&N, &[2, 0, 0, 0]).0,
            [u64::MAX, 0, 0, 1 << 63],
        ];
        for k in &scalars {
            let (digits, negated) = regular_digits(k);
            let mut sum = BigInt::from(0);
            for d in digits.iter().rev() {
                assert!(d % 2 != 0 && (-31..=31).contains(d));
                sum = sum * 32 + BigInt::from(*d);
            }
            let want = if negated { &n - big(k) } else { big(k) };
            assert_eq!(sum, want, "digits of {k:x?}");
            assert_eq!(negated, k[0] & 1 == 0);
        }
    }
}
