//! Points of sm2p256v1 (y² = x³ − 3x + b) in Jacobian coordinates, and the scalar
//! multiplications verification needs: a fixed-base comb for `G` (and for frequent issuers'
//! keys), a width-5 wNAF for other keys.
//!
//! Formulas (Explicit-Formulas Database, a = −3): doubling `dbl-2001-b`, mixed addition
//! `madd-2007-bl`, addition `add-2007-bl`. Every exceptional case (an input at infinity, equal
//! or opposite inputs) is handled explicitly: verification inputs are chosen by adversaries,
//! and a key such as `G` itself makes the partial sums meet. Nothing here is secret, so the
//! code may branch on the data.
#![forbid(unsafe_code)]

use super::field::{Fe, limbs_from_be};

/// The curve coefficient b (GB/T 32918.5).
pub(crate) const B: Fe = Fe::from_canonical_limbs(limbs_from_be(&[
    0x28, 0xE9, 0xFA, 0x9E, 0x9D, 0x9F, 0x5E, 0x34, 0x4D, 0x5A, 0x9E, 0x4B, 0xCF, 0x65, 0x09, 0xA7,
    0xF3, 0x97, 0x89, 0xF5, 0x15, 0xAB, 0x8F, 0x92, 0xDD, 0xBC, 0xBD, 0x41, 0x4D, 0x94, 0x0E, 0x93,
]));

/// The base point G.
pub(crate) const G: Affine = Affine {
    x: Fe::from_canonical_limbs(limbs_from_be(&[
        0x32, 0xC4, 0xAE, 0x2C, 0x1F, 0x19, 0x81, 0x19, 0x5F, 0x99, 0x04, 0x46, 0x6A, 0x39, 0xC9,
        0x94, 0x8F, 0xE3, 0x0B, 0xBF, 0xF2, 0x66, 0x0B, 0xE1, 0x71, 0x5A, 0x45, 0x89, 0x33, 0x4C,
        0x74, 0xC7,
    ])),
    y: Fe::from_canonical_limbs(limbs_from_be(&[
        0xBC, 0x37, 0x36, 0xA2, 0xF4, 0xF6, 0x77, 0x9C, 0x59, 0xBD, 0xCE, 0xE3, 0x6B, 0x69, 0x21,
        0x53, 0xD0, 0xA9, 0x87, 0x7C, 0xC6, 0x2A, 0x47, 0x40, 0x02, 0xDF, 0x32, 0xE5, 0x21, 0x39,
        0xF0, 0xA0,
    ])),
};

/// A point in affine coordinates (never the point at infinity).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Affine {
    pub(crate) x: Fe,
    pub(crate) y: Fe,
}

impl Affine {
    /// Whether (x, y) satisfies y² = x³ − 3x + b.
    pub(crate) fn is_on_curve(&self) -> bool {
        let x2 = self.x.square();
        let rhs = x2.mul(self.x).sub(self.x.double().add(self.x)).add(B);
        self.y.square() == rhs
    }

    /// The point with this x and the y of the given parity, if x is on the curve.
    pub(crate) fn decompress(x: Fe, y_odd: bool) -> Option<Affine> {
        let rhs = x.square().mul(x).sub(x.double().add(x)).add(B);
        let y = rhs.sqrt()?;
        let odd = y.to_limbs()[0] & 1 == 1;
        let y = if odd == y_odd { y } else { y.neg() };
        Some(Affine { x, y })
    }

    #[cfg(test)]
    pub(crate) fn neg(&self) -> Affine {
        Affine {
            x: self.x,
            y: self.y.neg(),
        }
    }
}

/// A point in Jacobian coordinates (X/Z², Y/Z³); Z = 0 is the point at infinity.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Jacobian {
    pub(crate) x: Fe,
    pub(crate) y: Fe,
    pub(crate) z: Fe,
}

impl Jacobian {
    pub(crate) const INFINITY: Jacobian = Jacobian {
        x: Fe::ONE,
        y: Fe::ONE,
        z: Fe::ZERO,
    };

    pub(crate) fn from_affine(p: &Affine) -> Jacobian {
        Jacobian {
            x: p.x,
            y: p.y,
            z: Fe::ONE,
        }
    }

    #[inline(always)]
    pub(crate) fn is_infinity(&self) -> bool {
        self.z.is_zero()
    }

    /// `2·self` (`dbl-2001-b`, a = −3).
    pub(crate) fn double(&self) -> Jacobian {
        if self.is_infinity() || self.y.is_zero() {
            return Jacobian::INFINITY;
        }
        let delta = self.z.square();
        let gamma = self.y.square();
        let beta = self.x.mul(gamma);
        let t = self.x.sub(delta).mul(self.x.add(delta));
        let alpha = t.double().add(t);
        let beta4 = beta.double().double();
        let x3 = alpha.square().sub(beta4.double());
        let z3 = self.y.add(self.z).square().sub(gamma).sub(delta);
        let gamma2 = gamma.square();
        let y3 = alpha
            .mul(beta4.sub(x3))
            .sub(gamma2.double().double().double());
        Jacobian {
            x: x3,
            y: y3,
            z: z3,
        }
    }

    /// `self + q` for an affine `q` (`madd-2007-bl`), every exceptional case handled.
    pub(crate) fn add_affine(&self, q: &Affine) -> Jacobian {
        if self.is_infinity() {
            return Jacobian::from_affine(q);
        }
        let z1z1 = self.z.square();
        let u2 = q.x.mul(z1z1);
        let s2 = q.y.mul(self.z).mul(z1z1);
        let h = u2.sub(self.x);
        let r = s2.sub(self.y).double();
        if h.is_zero() {
            return if r.is_zero() {
                self.double()
            } else {
                Jacobian::INFINITY
            };
        }
        let hh = h.square();
        let i = hh.double().double();
        let j = h.mul(i);
        let v = self.x.mul(i);
        let x3 = r.square().sub(j).sub(v.double());
        let y3 = r.mul(v.sub(x3)).sub(self.y.mul(j).double());
        let z3 = self.z.add(h).square().sub(z1z1).sub(hh);
        Jacobian {
            x: x3,
            y: y3,
            z: z3,
        }
    }

    /// `self + q` (`add-2007-bl`), every exceptional case handled.
    pub(crate) fn add(&self, q: &Jacobian) -> Jacobian {
        if self.is_infinity() {
            return *q;
        }
        if q.is_infinity() {
            return *self;
        }
        let z1z1 = self.z.square();
        let z2z2 = q.z.square();
        let u1 = self.x.mul(z2z2);
        let u2 = q.x.mul(z1z1);
        let s1 = self.y.mul(q.z).mul(z2z2);
        let s2 = q.y.mul(self.z).mul(z1z1);
        let h = u2.sub(u1);
        let r = s2.sub(s1).double();
        if h.is_zero() {
            return if r.is_zero() {
                self.double()
            } else {
                Jacobian::INFINITY
            };
        }
        let i = h.double().square();
        let j = h.mul(i);
        let v = u1.mul(i);
        let x3 = r.square().sub(j).sub(v.double());
        let y3 = r.mul(v.sub(x3)).sub(s1.mul(j).double());
        let z3 = self.z.add(q.z).square().sub(z1z1).sub(z2z2).mul(h);
        Jacobian {
            x: x3,
            y: y3,
            z: z3,
        }
    }

    pub(crate) fn neg(&self) -> Jacobian {
        Jacobian {
            x: self.x,
            y: self.y.neg(),
            z: self.z,
        }
    }

    /// The affine point (one inversion), `None` at infinity.
    #[cfg(test)]
    pub(crate) fn to_affine(self) -> Option<Affine> {
        if self.is_infinity() {
            return None;
        }
        let zi = self.z.invert();
        let zi2 = zi.square();
        Some(Affine {
            x: self.x.mul(zi2),
            y: self.y.mul(zi2).mul(zi),
        })
    }
}

/// Affine forms of many points with one inversion (Montgomery's trick). Points at infinity
/// are not allowed (callers build tables of nonzero multiples of a point of prime order).
pub(crate) fn batch_to_affine(points: &[Jacobian]) -> Vec<Affine> {
    let mut prefix = Vec::with_capacity(points.len());
    let mut acc = Fe::ONE;
    for p in points {
        prefix.push(acc);
        acc = acc.mul(p.z);
    }
    let mut inv = acc.invert();
    let mut out = vec![
        Affine {
            x: Fe::ZERO,
            y: Fe::ZERO
        };
        points.len()
    ];
    for (i, p) in points.iter().enumerate().rev() {
        let zi = inv.mul(prefix[i]);
        inv = inv.mul(p.z);
        let zi2 = zi.square();
        out[i] = Affine {
            x: p.x.mul(zi2),
            y: p.y.mul(zi2).mul(zi),
        };
    }
    out
}

/// Windows of a comb table: 64 windows of 4 bits cover a 256-bit scalar.
const WINDOWS: usize = 64;

/// A fixed-base comb: `rows[i][d − 1] = d·16^i·P` for `d` in 1..=15, affine. `[k]P` is then
/// the sum of one entry per nonzero nibble of `k`: at most 64 mixed additions and no
/// doubling. 960 points (61 KiB); built once for `G`, and for a key when the key cache sees
/// it often (see the engine).
pub(crate) struct Comb {
    rows: Vec<[Affine; 15]>,
}

impl Comb {
    /// The comb of `p` (a point of prime order n, so no entry is at infinity).
    pub(crate) fn new(p: &Affine) -> Comb {
        let mut jac = Vec::with_capacity(WINDOWS * 15);
        let mut base = Jacobian::from_affine(p);
        for _ in 0..WINDOWS {
            let mut m = base;
            jac.push(m);
            for _ in 1..15 {
                m = m.add(&base);
                jac.push(m);
            }
            // 16·base = 15·base + base.
            base = m.add(&base);
        }
        let affine = batch_to_affine(&jac);
        let rows = affine
            .chunks_exact(15)
            .map(|row| row.try_into().expect("15 points per row"))
            .collect();
        Comb { rows }
    }

    /// Every entry, row by row (`d·16^i·P` at position `15·i + d − 1`).
    #[cfg(feature = "gpu")]
    pub(crate) fn entries(&self) -> impl Iterator<Item = &Affine> {
        self.rows.iter().flatten()
    }

    /// `[k]P` for a little-endian 256-bit `k`.
    pub(crate) fn mul(&self, k: &[u64; 4]) -> Jacobian {
        let mut acc = Jacobian::INFINITY;
        for (i, row) in self.rows.iter().enumerate() {
            let nibble = (k[i / 16] >> (4 * (i % 16))) & 0xf;
            if nibble != 0 {
                acc = acc.add_affine(&row[nibble as usize - 1]);
            }
        }
        acc
    }
}

/// `[k]P` for an arbitrary affine `P` with a width-5 wNAF: the odd multiples P, 3P, …, 15P in
/// Jacobian form, 256 doublings and about 43 additions.
pub(crate) fn mul_wnaf(p: &Affine, k: &[u64; 4]) -> Jacobian {
    let digits = wnaf5(k);
    let base = Jacobian::from_affine(p);
    let twice = base.double();
    let mut odd = [base; 8];
    for i in 1..8 {
        odd[i] = odd[i - 1].add(&twice);
    }
    let mut acc = Jacobian::INFINITY;
    for &d in digits.iter().rev() {
        acc = acc.double();
        if d > 0 {
            acc = acc.add(&odd[(d as usize) / 2]);
        } else if d < 0 {
            acc = acc.add(&odd[(-d as usize) / 2].neg());
        }
    }
    acc
}

/// The width-5 non-adjacent form of `k`: digits in {0, ±1, ±3, …, ±15}, least significant
/// first, 257 of them (one more than the bits, for the final carry).
fn wnaf5(k: &[u64; 4]) -> [i8; 257] {
    let mut digits = [0i8; 257];
    // Work on a copy with one extra limb for the carries of negative digits.
    let mut n = [k[0], k[1], k[2], k[3], 0u64];
    let mut i = 0;
    while i < 257 {
        if n[0] & 1 == 1 {
            let window = (n[0] & 31) as i32;
            let d = if window > 16 { window - 32 } else { window };
            digits[i] = d as i8;
            // n -= d
            if d > 0 {
                sub_small(&mut n, d as u64);
            } else {
                add_small(&mut n, (-d) as u64);
            }
        }
        shift_right_1(&mut n);
        i += 1;
    }
    digits
}

fn sub_small(n: &mut [u64; 5], v: u64) {
    let mut borrow = v;
    for limb in n.iter_mut() {
        let (r, b) = limb.overflowing_sub(borrow);
        *limb = r;
        borrow = u64::from(b);
        if borrow == 0 {
            break;
        }
    }
}

fn add_small(n: &mut [u64; 5], v: u64) {
    let mut carry = v;
    for limb in n.iter_mut() {
        let (r, c) = limb.overflowing_add(carry);
        *limb = r;
        carry = u64::from(c);
        if carry == 0 {
            break;
        }
    }
}

fn shift_right_1(n: &mut [u64; 5]) {
    for i in 0..5 {
        let high = if i + 1 < 5 { n[i + 1] << 63 } else { 0 };
        n[i] = (n[i] >> 1) | high;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn double_and_add(p: &Affine, k: &[u64; 4]) -> Jacobian {
        let mut acc = Jacobian::INFINITY;
        for limb in k.iter().rev() {
            for bit in (0..64).rev() {
                acc = acc.double();
                if (limb >> bit) & 1 == 1 {
                    acc = acc.add_affine(p);
                }
            }
        }
        acc
    }

    #[test]
    fn generator_is_on_the_curve_and_multiples_agree() {
        assert!(G.is_on_curve());
        let comb = Comb::new(&G);
        let scalars: [[u64; 4]; 6] = [
            [1, 0, 0, 0],
            [2, 0, 0, 0],
            [15, 0, 0, 0],
            [16, 0, 0, 0],
            [
                0x1234_5678_9abc_def0,
                0xfedc_ba98_7654_3210,
                0x0f0f_0f0f_f0f0_f0f0,
                0x7fff_ffff_0000_0001,
            ],
            [u64::MAX, u64::MAX, u64::MAX, u64::MAX >> 1],
        ];
        for k in &scalars {
            let want = double_and_add(&G, k).to_affine();
            assert_eq!(comb.mul(k).to_affine(), want);
            assert_eq!(mul_wnaf(&G, k).to_affine(), want);
            let p = want.expect("nonzero multiple");
            assert!(p.is_on_curve());
            assert_eq!(Affine::decompress(p.x, p.y.to_limbs()[0] & 1 == 1), Some(p));
        }
        // n·G is the point at infinity; (n − 1)·G = −G.
        let n = super::super::scalar::N;
        assert!(comb.mul(&n).is_infinity());
        assert!(mul_wnaf(&G, &n).is_infinity());
        let (n1, _) = super::super::field::sub4(&n, &[1, 0, 0, 0]);
        assert_eq!(comb.mul(&n1).to_affine(), Some(G.neg()));
        assert_eq!(mul_wnaf(&G, &n1).to_affine(), Some(G.neg()));
    }
}
