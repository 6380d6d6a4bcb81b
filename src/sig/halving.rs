//! Scalar halving for single checks (the half extended Euclidean algorithm, as in Pornin's
//! "Optimized lattice basis reduction in dimension 2" and the hEEA verification of TCHES
//! 2025): for a challenge `k`, short `ρ`, `τ` with `ρ ≡ k·τ (mod L)`, `ρ < 2^126` and
//! `0 < |τ| < 2^127`.
//!
//! # Why the verdict is the same
//!
//! `Zip215`'s single check is `[8]X = O` with `X = [S]B − [k]A − R`. Write `τk = ρ + mL`.
//! Then `[τ][8]X = [8]([τS mod L]B − [ρ]A − [τ]R) − [8mL]A`, and `[8L]A = O` for every point
//! (the group's order is 8L) while `B` has order L. So the halved equation
//! `[8]([τS mod L]B − [ρ]A − [τ]R) = O` says `[τ][8]X = O`, and `[8]X` lies in the subgroup of
//! prime order L, where multiplying by `τ` (0 < |τ| < L) is injective: the two equations hold
//! together. The variable points `A` and `R` now carry 127-bit scalars and `τS mod L` splits
//! over `B` and `[2^128]B` (fixed tables), so one chain of 128 doublings replaces 252.
//! `Strict`'s uncofactored check would also need the `[mL]A` term (the torsion component of a
//! mixed-order key), which nothing here knows, so it keeps the full chain.
//!
//! # How
//!
//! Euclid's algorithm on `(L, k)` stopped at the first remainder below 2^126, its steps
//! taken several at a time by Lehmer's method on the remainders' leading 63 bits (Knuth's
//! Algorithm L), the last few one at a time on the full numbers. The unit tests check
//! `ρ ≡ k·τ` and both bounds on random and edge scalars; the lanes' tests check the halved
//! verdicts against curve25519-dalek's.
#![forbid(unsafe_code)]

/// L = 2^252 + 27742317777372353535851937790883648493, little-endian 64-bit limbs.
const L: [u64; 4] = [
    0x5812_631a_5cf5_d3ed,
    0x14de_f9de_a2f7_9cd6,
    0,
    0x1000_0000_0000_0000,
];

/// A 256-bit unsigned integer, little-endian limbs.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct U256([u64; 4]);

impl U256 {
    fn bits(&self) -> u32 {
        for i in (0..4).rev() {
            if self.0[i] != 0 {
                return 64 * i as u32 + 64 - self.0[i].leading_zeros();
            }
        }
        0
    }

    fn lt(&self, other: &U256) -> bool {
        for i in (0..4).rev() {
            if self.0[i] != other.0[i] {
                return self.0[i] < other.0[i];
            }
        }
        false
    }

    fn shl(&self, by: u32) -> U256 {
        let (words, bits) = ((by / 64) as usize, by % 64);
        let mut out = [0u64; 4];
        for i in (words..4).rev() {
            let lo = self.0[i - words];
            out[i] = lo << bits;
            if bits > 0 && i > words {
                out[i] |= self.0[i - words - 1] >> (64 - bits);
            }
        }
        U256(out)
    }

    fn shr1(&self) -> U256 {
        let mut out = [0u64; 4];
        for (i, limb) in out.iter_mut().enumerate() {
            *limb = self.0[i] >> 1 | if i < 3 { self.0[i + 1] << 63 } else { 0 };
        }
        U256(out)
    }

    /// The low 64 bits of `self >> by` (`by < 256`).
    fn bits_from(&self, by: u32) -> u64 {
        let (word, bit) = ((by / 64) as usize, by % 64);
        let lo = self.0[word] >> bit;
        let hi = match (bit, self.0.get(word + 1)) {
            (0, _) | (_, None) => 0,
            (_, Some(next)) => next << (64 - bit),
        };
        lo | hi
    }

    /// `self · c mod 2^256`, for `|c| < 2^64`, negative `c` included (two's complement).
    fn wrapping_mul_signed(&self, c: i128) -> U256 {
        let m = c.unsigned_abs() as u64;
        let mut out = [0u64; 4];
        let mut carry = 0u128;
        for (o, &limb) in out.iter_mut().zip(&self.0) {
            let p = u128::from(limb) * u128::from(m) + carry;
            *o = p as u64;
            carry = p >> 64;
        }
        let product = U256(out);
        if c < 0 {
            U256([0; 4]).wrapping_sub(&product)
        } else {
            product
        }
    }

    fn wrapping_add(&self, other: &U256) -> U256 {
        let mut out = [0u64; 4];
        let mut carry = false;
        for (i, limb) in out.iter_mut().enumerate() {
            let (s, c1) = self.0[i].overflowing_add(other.0[i]);
            let (s, c2) = s.overflowing_add(u64::from(carry));
            *limb = s;
            carry = c1 || c2;
        }
        U256(out)
    }

    /// `self − other mod 2^256` (exact for `other ≤ self`).
    fn wrapping_sub(&self, other: &U256) -> U256 {
        let mut out = [0u64; 4];
        let mut borrow = false;
        for (i, limb) in out.iter_mut().enumerate() {
            let (d, b1) = self.0[i].overflowing_sub(other.0[i]);
            let (d, b2) = d.overflowing_sub(u64::from(borrow));
            *limb = d;
            borrow = b1 || b2;
        }
        U256(out)
    }

    /// Whether the value is at least 2^126.
    fn reaches_2_126(&self) -> bool {
        self.0[3] | self.0[2] != 0 || self.0[1] >> 62 != 0
    }

    /// `(self / d, self mod d)` for `d ≠ 0`, if the quotient fits 127 bits.
    fn div_rem(&self, d: &U256) -> Option<(u128, U256)> {
        // Most of Euclid's quotients are small (1 in 42% of steps, at most 3 in 68%): a few
        // subtractions first, the shift-and-subtract division only past them.
        let mut rem = *self;
        for q in 0..4 {
            if rem.lt(d) {
                return Some((q, rem));
            }
            rem = rem.wrapping_sub(d);
        }
        let shift = self.bits() - d.bits();
        if shift >= 127 {
            return None;
        }
        let mut rem = *self;
        let mut step = d.shl(shift);
        let mut q = 0u128;
        for _ in 0..=shift {
            q <<= 1;
            if !rem.lt(&step) {
                rem = rem.wrapping_sub(&step);
                q |= 1;
            }
            step = step.shr1();
        }
        Some((q, rem))
    }
}

/// `(ρ, τ)` with `ρ ≡ k·τ (mod L)`, `0 ≤ ρ < 2^126` and `0 < |τ| < 2^127`, for a canonical
/// scalar `k` (little-endian, below L). `None` only if an intermediate value left its proven
/// bound, which the algorithm cannot do; the caller then checks without halving.
///
/// Euclid on `(L, k)`, stopped at the first remainder below 2^126: each remainder `r_i` is
/// `k·t_i mod L` with Bézout coefficients `t_i` of alternating sign, and `|t_i| ≤ L / r_{i−1}`,
/// where `r_{i−1} ≥ 2^126` while the loop runs, so `|t_i| < 2^253 / 2^126 = 2^127`; each
/// quotient times `|t_{i−1}|` is at most `|t_{i+1}|`, so nothing exceeds an `i128`.
pub(crate) fn half_gcd(k: &[u8; 32]) -> Option<(u128, i128)> {
    let limb = |i: usize| u64::from_le_bytes(k[8 * i..8 * i + 8].try_into().expect("8 bytes"));
    let (mut r0, mut r1) = (U256(L), U256([limb(0), limb(1), limb(2), limb(3)]));
    if !r1.lt(&r0) {
        return None;
    }
    let (mut t0, mut t1) = (0i128, 1i128);
    while r1.reaches_2_126() {
        let lead = r0.bits().saturating_sub(LEHMER_FLOOR).min(63);
        if lead >= LEHMER_MIN_BITS {
            let shift = r0.bits() - lead;
            let m = lehmer_matrix(r0.bits_from(shift), r1.bits_from(shift));
            if m[1] != 0 {
                // Several exact steps at once: (r0, r1) ← M·(r0, r1), (t0, t1) likewise. The
                // results are remainders and cofactors of Euclid's sequence, so they fit (r
                // below 2^256, t within i128), and wrapping arithmetic gives them exactly.
                (r0, r1) = (
                    r0.wrapping_mul_signed(m[0])
                        .wrapping_add(&r1.wrapping_mul_signed(m[1])),
                    r0.wrapping_mul_signed(m[2])
                        .wrapping_add(&r1.wrapping_mul_signed(m[3])),
                );
                (t0, t1) = (
                    m[0].wrapping_mul(t0).wrapping_add(m[1].wrapping_mul(t1)),
                    m[2].wrapping_mul(t0).wrapping_add(m[3].wrapping_mul(t1)),
                );
                continue;
            }
        }
        let (q, rem) = r0.div_rem(&r1)?;
        let t2 = t0.checked_sub(i128::try_from(q).ok()?.checked_mul(t1)?)?;
        (r0, r1) = (r1, rem);
        (t0, t1) = (t1, t2);
    }
    let rho = u128::from(r1.0[0]) | u128::from(r1.0[1]) << 64;
    // τ = 0 would make the halved equation hold for anything: Euclid's cofactors after the
    // first are never 0, and this keeps it so whatever happened above.
    (t1 != 0 && t1.unsigned_abs() < 1 << 127).then_some((rho, t1))
}

/// Lehmer's rounds take their leading bits of `r0` only above this size, so that one round,
/// whose matrix entries are below 2^lead, cannot carry `r0` below 2^126: a step back is
/// `r_old = M⁻¹·r_new` with entries below 2^lead, so `r0` shrinks by at most 2^(lead + 2)
/// and stays at least `2^(bits − lead − 2) ≥ 2^126`: the stopping remainder is still found by
/// the loop's test, not stepped over.
const LEHMER_FLOOR: u32 = 128;
/// Rounds with fewer leading bits than this gain too little over exact steps.
const LEHMER_MIN_BITS: u32 = 8;

/// Knuth's Algorithm L (TAOCP vol. 2, 4.5.2) on the leading bits `a > b` of two consecutive
/// remainders (the same shift, `a < 2^63`): the matrix `[A, B, C, D]` of as many Euclid steps
/// as the leading bits determine for certain (each quotient taken only when both ends of its
/// interval agree), so that `(A·r0 + B·r1, C·r0 + D·r1)` are exact later remainders. `B = 0`:
/// no step was certain.
fn lehmer_matrix(a: u64, b: u64) -> [i128; 4] {
    let (mut a, mut b) = (i128::from(a), i128::from(b));
    let (mut ca, mut cb, mut cc, mut cd) = (1i128, 0i128, 0i128, 1i128);
    loop {
        let (num_lo, den_lo, num_hi, den_hi) = (a + ca, b + cc, a + cb, b + cd);
        if den_lo <= 0 || den_hi <= 0 || num_lo < 0 || num_hi < 0 {
            break;
        }
        // Below 2^64 each (a < 2^63, cofactors at most a), so the quotients are the
        // hardware's 64-bit divisions (measured faster than comparisons for the small
        // quotients with the other end checked by multiplying back).
        let q = (num_lo as u64) / (den_lo as u64);
        if q != (num_hi as u64) / (den_hi as u64) {
            break;
        }
        let q = i128::from(q);
        (ca, cc) = (cc, ca - q * cc);
        (cb, cd) = (cd, cb - q * cd);
        (a, b) = (b, a - q * b);
    }
    [ca, cb, cc, cd]
}

#[cfg(test)]
mod tests {
    use super::*;
    use curve25519_dalek::Scalar;
    use rand::RngExt;

    fn scalar_of(v: i128) -> Scalar {
        let s = Scalar::from(v.unsigned_abs());
        if v < 0 { -s } else { s }
    }

    /// ρ ≡ k·τ (mod L) with both short, for random scalars and the edges (0, 1, small
    /// values, L − 1, values just above and below 2^126).
    #[test]
    fn half_gcd_gives_short_multiples_of_k() {
        let mut rng = rand::rng();
        let mut ks: Vec<Scalar> = (0..2000)
            .map(|_| Scalar::from_bytes_mod_order(rng.random()))
            .collect();
        ks.extend([0u128, 1, 2, 3, u128::MAX, 1 << 126, (1 << 126) - 1].map(Scalar::from));
        ks.extend([
            -Scalar::ONE,
            -Scalar::from(2u8),
            Scalar::from(1u128 << 127) * Scalar::from(3u8),
        ]);
        for k in ks {
            let (rho, tau) = half_gcd(&k.to_bytes()).expect("within bounds");
            assert!(rho < 1 << 126, "{k:?}");
            assert!(tau != 0 && tau.unsigned_abs() < 1 << 127, "{k:?}");
            assert_eq!(Scalar::from(rho), k * scalar_of(tau), "{k:?}");
        }
    }

    #[test]
    fn a_non_canonical_scalar_is_refused() {
        let mut bytes = [0xffu8; 32];
        bytes[31] = 0x7f;
        assert_eq!(half_gcd(&bytes), None);
        let l = U256(L);
        let mut l_bytes = [0u8; 32];
        for (i, limb) in l.0.iter().enumerate() {
            l_bytes[8 * i..8 * i + 8].copy_from_slice(&limb.to_le_bytes());
        }
        assert_eq!(half_gcd(&l_bytes), None);
    }
}

#[cfg(test)]
mod timing {
    #[test]
    #[ignore = "a measurement"]
    fn measure_half_gcd() {
        use rand::RngExt;
        let mut rng = rand::rng();
        let ks: Vec<[u8; 32]> = (0..4096)
            .map(|_| curve25519_dalek::Scalar::from_bytes_mod_order(rng.random()).to_bytes())
            .collect();
        let t = std::time::Instant::now();
        for k in &ks {
            std::hint::black_box(super::half_gcd(k));
        }
        eprintln!(
            "half_gcd µs: {:.3}",
            1e6 * t.elapsed().as_secs_f64() / 4096.0
        );
    }
}
