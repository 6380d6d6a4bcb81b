//! The base field of sm2p256v1, p = 2^256 − 2^224 − 2^96 + 2^64 − 1, in Montgomery form.
//!
//! Four 64-bit limbs, little-endian, always fully reduced (`< p`). Multiplication is
//! Montgomery's CIOS with R = 2^256; the special form of p makes its Montgomery constant
//! −p⁻¹ mod 2^64 equal to 1, so each reduction step's multiplier is the low limb itself. The
//! functions are `const fn` where the curve's constants need them at compile time. This is the
//! 64-bit serial arithmetic; nothing here is secret (verification only), so it may branch.
#![forbid(unsafe_code)]

/// p, little-endian limbs.
pub(crate) const P: [u64; 4] = [
    0xffff_ffff_ffff_ffff,
    0xffff_ffff_0000_0000,
    0xffff_ffff_ffff_ffff,
    0xffff_fffe_ffff_ffff,
];

/// R² mod p (R = 2^256): multiplying by it enters Montgomery form.
const R2: [u64; 4] = [0x2_0000_0003, 0x2_ffff_ffff, 0x1_0000_0001, 0x4_0000_0002];

/// A field element in Montgomery form (`a·R mod p`), fully reduced.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Fe(pub(crate) [u64; 4]);

#[inline(always)]
const fn mac(acc: u64, a: u64, b: u64, carry: u64) -> (u64, u64) {
    let t = (acc as u128) + (a as u128) * (b as u128) + (carry as u128);
    (t as u64, (t >> 64) as u64)
}

#[inline(always)]
const fn adc(a: u64, b: u64, carry: u64) -> (u64, u64) {
    let t = (a as u128) + (b as u128) + (carry as u128);
    (t as u64, (t >> 64) as u64)
}

#[inline(always)]
const fn sbb(a: u64, b: u64, borrow: u64) -> (u64, u64) {
    let t = (a as u128).wrapping_sub((b as u128) + (borrow as u128));
    (t as u64, ((t >> 64) as u64) & 1)
}

/// `a − b` over four limbs, with the borrow out (1 when `a < b`).
#[inline(always)]
pub(crate) const fn sub4(a: &[u64; 4], b: &[u64; 4]) -> ([u64; 4], u64) {
    let (r0, c) = sbb(a[0], b[0], 0);
    let (r1, c) = sbb(a[1], b[1], c);
    let (r2, c) = sbb(a[2], b[2], c);
    let (r3, c) = sbb(a[3], b[3], c);
    ([r0, r1, r2, r3], c)
}

/// `a + b` over four limbs, with the carry out.
#[inline(always)]
pub(crate) const fn add4(a: &[u64; 4], b: &[u64; 4]) -> ([u64; 4], u64) {
    let (r0, c) = adc(a[0], b[0], 0);
    let (r1, c) = adc(a[1], b[1], c);
    let (r2, c) = adc(a[2], b[2], c);
    let (r3, c) = adc(a[3], b[3], c);
    ([r0, r1, r2, r3], c)
}

/// Whether `a < b` as 256-bit integers.
#[inline(always)]
pub(crate) const fn lt4(a: &[u64; 4], b: &[u64; 4]) -> bool {
    sub4(a, b).1 == 1
}

/// A 256-bit big-endian byte string as little-endian limbs.
pub(crate) const fn limbs_from_be(bytes: &[u8; 32]) -> [u64; 4] {
    let mut out = [0u64; 4];
    let mut i = 0;
    while i < 4 {
        let mut word = 0u64;
        let mut j = 0;
        while j < 8 {
            word = (word << 8) | bytes[(3 - i) * 8 + j] as u64;
            j += 1;
        }
        out[i] = word;
        i += 1;
    }
    out
}

/// Little-endian limbs as 32 big-endian bytes.
pub(crate) fn limbs_to_be(limbs: &[u64; 4]) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (i, limb) in limbs.iter().enumerate() {
        out[(3 - i) * 8..(4 - i) * 8].copy_from_slice(&limb.to_be_bytes());
    }
    out
}

/// Montgomery product `a·b·R⁻¹ mod p` of reduced inputs, reduced.
#[inline(always)]
const fn mont_mul(a: &[u64; 4], b: &[u64; 4]) -> [u64; 4] {
    // CIOS: t accumulates a·b[i] and one multiple of p per limb, shifted down a limb each
    // time. −p⁻¹ mod 2^64 = 1, so the multiple is t[0]·p.
    let mut t = [0u64; 6];
    let mut i = 0;
    while i < 4 {
        let mut carry = 0;
        let mut j = 0;
        while j < 4 {
            let (lo, hi) = mac(t[j], a[j], b[i], carry);
            t[j] = lo;
            carry = hi;
            j += 1;
        }
        let (lo, hi) = adc(t[4], carry, 0);
        t[4] = lo;
        t[5] = hi;
        let m = t[0];
        let (_, mut carry) = mac(t[0], m, P[0], 0);
        let mut j = 1;
        while j < 4 {
            let (lo, hi) = mac(t[j], m, P[j], carry);
            t[j - 1] = lo;
            carry = hi;
            j += 1;
        }
        let (lo, hi) = adc(t[4], carry, 0);
        t[3] = lo;
        t[4] = t[5] + hi;
        i += 1;
    }
    // t < 2p: one conditional subtraction.
    let r = [t[0], t[1], t[2], t[3]];
    let (d, borrow) = sub4(&r, &P);
    if t[4] == 1 || borrow == 0 { d } else { r }
}

impl Fe {
    /// 0.
    pub(crate) const ZERO: Fe = Fe([0; 4]);
    /// 1 (R mod p).
    pub(crate) const ONE: Fe = Fe::from_canonical_limbs([1, 0, 0, 0]);

    /// A canonical integer `< p` (little-endian limbs) into Montgomery form.
    pub(crate) const fn from_canonical_limbs(limbs: [u64; 4]) -> Fe {
        Fe(mont_mul(&limbs, &R2))
    }

    /// 32 big-endian bytes, if they encode an integer `< p`.
    pub(crate) fn from_be_bytes(bytes: &[u8; 32]) -> Option<Fe> {
        let limbs = limbs_from_be(bytes);
        lt4(&limbs, &P).then(|| Fe::from_canonical_limbs(limbs))
    }

    /// The element whose form in the IFMA lanes (five 52-bit limbs of `x·2^260 mod p`, any
    /// value below 2^260) is `l`: fully reduced, then scaled by 2^−4 into this form
    /// (`x·2^256 mod p` is the Montgomery product of `x·2^260` and 2^252).
    pub(crate) fn from_radix52_montgomery(l: &[u64; 5]) -> Fe {
        let mut w = [
            l[0] | (l[1] << 52),
            (l[1] >> 12) | (l[2] << 40),
            (l[2] >> 24) | (l[3] << 28),
            (l[3] >> 36) | (l[4] << 16),
        ];
        let mut top = l[4] >> 48;
        while top > 0 || !lt4(&w, &P) {
            let (d, borrow) = sub4(&w, &P);
            w = d;
            top -= borrow;
        }
        Fe(mont_mul(&w, &[0, 0, 0, 1 << 60]))
    }

    /// The canonical integer, little-endian limbs.
    pub(crate) fn to_limbs(self) -> [u64; 4] {
        mont_mul(&self.0, &[1, 0, 0, 0])
    }

    /// The canonical integer as 32 big-endian bytes.
    pub(crate) fn to_be_bytes(self) -> [u8; 32] {
        limbs_to_be(&self.to_limbs())
    }

    #[inline(always)]
    pub(crate) fn is_zero(self) -> bool {
        self.0 == [0; 4]
    }

    #[inline(always)]
    pub(crate) fn mul(self, rhs: Fe) -> Fe {
        Fe(mont_mul(&self.0, &rhs.0))
    }

    #[inline(always)]
    pub(crate) fn square(self) -> Fe {
        Fe(mont_mul(&self.0, &self.0))
    }

    #[inline(always)]
    pub(crate) fn add(self, rhs: Fe) -> Fe {
        let (s, carry) = add4(&self.0, &rhs.0);
        let (d, borrow) = sub4(&s, &P);
        Fe(if carry == 1 || borrow == 0 { d } else { s })
    }

    #[inline(always)]
    pub(crate) fn sub(self, rhs: Fe) -> Fe {
        let (d, borrow) = sub4(&self.0, &rhs.0);
        if borrow == 1 {
            Fe(add4(&d, &P).0)
        } else {
            Fe(d)
        }
    }

    #[inline(always)]
    pub(crate) fn double(self) -> Fe {
        self.add(self)
    }

    #[inline(always)]
    pub(crate) fn neg(self) -> Fe {
        Fe::ZERO.sub(self)
    }

    /// `self^e` for a little-endian exponent (square and multiply, left to right).
    pub(crate) fn pow(self, e: &[u64; 4]) -> Fe {
        let mut acc = Fe::ONE;
        for limb in e.iter().rev() {
            for bit in (0..64).rev() {
                acc = acc.square();
                if (limb >> bit) & 1 == 1 {
                    acc = acc.mul(self);
                }
            }
        }
        acc
    }

    /// The inverse (Fermat: `self^(p−2)`); 0 for 0. Off the accept path: key tables only.
    pub(crate) fn invert(self) -> Fe {
        let (e, _) = sub4(&P, &[2, 0, 0, 0]);
        self.pow(&e)
    }

    /// A square root if there is one (p ≡ 3 mod 4: `self^((p+1)/4)`, checked).
    pub(crate) fn sqrt(self) -> Option<Fe> {
        let (p1, _) = add4(&P, &[1, 0, 0, 0]);
        // (p + 1) / 4: p + 1 does not overflow 256 bits (p < 2^256 − 1).
        let e = [
            (p1[0] >> 2) | (p1[1] << 62),
            (p1[1] >> 2) | (p1[2] << 62),
            (p1[2] >> 2) | (p1[3] << 62),
            p1[3] >> 2,
        ];
        let root = self.pow(&e);
        (root.square() == self).then_some(root)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use num_bigint::BigUint;

    fn big(limbs: &[u64; 4]) -> BigUint {
        BigUint::from_bytes_be(&limbs_to_be(limbs))
    }

    fn p() -> BigUint {
        big(&P)
    }

    fn fe(x: &BigUint) -> Fe {
        let mut bytes = [0u8; 32];
        let b = x.to_bytes_be();
        bytes[32 - b.len()..].copy_from_slice(&b);
        Fe::from_be_bytes(&bytes).expect("reduced")
    }

    #[test]
    fn arithmetic_matches_big_integers() {
        let p = p();
        let mut x = BigUint::from(3u8);
        let samples: Vec<BigUint> = (0..64)
            .map(|i| {
                x = (&x * &x + BigUint::from(i as u32 + 7)) % &p;
                x.clone()
            })
            .chain([BigUint::from(0u8), BigUint::from(1u8), &p - 1u8, &p - 2u8])
            .collect();
        for a in &samples {
            for b in samples.iter().step_by(5) {
                let (fa, fb) = (fe(a), fe(b));
                assert_eq!(big(&fa.mul(fb).to_limbs()), (a * b) % &p);
                assert_eq!(big(&fa.add(fb).to_limbs()), (a + b) % &p);
                assert_eq!(big(&fa.sub(fb).to_limbs()), (a + &p - b) % &p);
            }
            let fa = fe(a);
            if !fa.is_zero() {
                assert_eq!(fa.mul(fa.invert()), Fe::ONE);
            }
            if let Some(r) = fa.sqrt() {
                assert_eq!(r.square(), fa);
            }
            assert_eq!(fa.square().sqrt().map(|r| r.square()), Some(fa.square()));
            assert_eq!(Fe::from_be_bytes(&fa.to_be_bytes()), Some(fa));
        }
        // p itself and above are not field encodings.
        assert_eq!(Fe::from_be_bytes(&limbs_to_be(&P)), None);
        assert_eq!(Fe::from_be_bytes(&[0xff; 32]), None);
    }
}
