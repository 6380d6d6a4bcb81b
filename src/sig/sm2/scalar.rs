//! Integers modulo the group order n of sm2p256v1 — only what verification needs: range
//! checks, `t = (r + s) mod n`, `e mod n` and `(r − e) mod n`. No multiplication or inversion
//! modulo n appears on the verification path.
#![forbid(unsafe_code)]

use super::field::{P, add4, lt4, sub4};

/// n, little-endian limbs.
pub(crate) const N: [u64; 4] = [
    0x53bb_f409_39d5_4123,
    0x7203_df6b_21c6_052b,
    0xffff_ffff_ffff_ffff,
    0xffff_fffe_ffff_ffff,
];

/// Whether `k` is in [1, n − 1].
pub(crate) fn in_range(k: &[u64; 4]) -> bool {
    *k != [0; 4] && lt4(k, &N)
}

/// `(a + b) mod n` for `a, b < n`.
pub(crate) fn add_mod_n(a: &[u64; 4], b: &[u64; 4]) -> [u64; 4] {
    let (s, carry) = add4(a, b);
    let (d, borrow) = sub4(&s, &N);
    if carry == 1 || borrow == 0 { d } else { s }
}

/// `a mod n` for any 256-bit `a` (n > 2^255, so one subtraction suffices).
pub(crate) fn reduce(a: &[u64; 4]) -> [u64; 4] {
    let (d, borrow) = sub4(a, &N);
    if borrow == 0 { d } else { *a }
}

/// `(a − b) mod n` for `a, b < n`.
pub(crate) fn sub_mod_n(a: &[u64; 4], b: &[u64; 4]) -> [u64; 4] {
    let (d, borrow) = sub4(a, b);
    if borrow == 1 { add4(&d, &N).0 } else { d }
}

/// The integers below p congruent to `c` modulo n, for `c < n`: `c`, and `c + n` when that is
/// still below p. These are the affine x-coordinates that satisfy `(e + x₁) mod n = r` for
/// `c = (r − e) mod n`, which lets the final check compare `X = c·Z²` in Jacobian form
/// instead of inverting Z.
pub(crate) fn field_candidates(c: &[u64; 4]) -> ([u64; 4], Option<[u64; 4]>) {
    let (plus_n, carry) = add4(c, &N);
    let second = (carry == 0 && lt4(&plus_n, &P)).then_some(plus_n);
    (*c, second)
}
