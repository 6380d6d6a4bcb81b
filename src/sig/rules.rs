//! The validity rules, written once as plain per-item checks.
//!
//! [`verify_single`] is the reference twin of every fast path: no cache, no batching, no
//! parallelism. The batch engine and (later) the GPU shaders are tested item by item against
//! it, and it is itself tested against `ed25519-zebra` (Zip215) and `ed25519-dalek`
//! `verify_strict` (Strict).
#![forbid(unsafe_code)]

use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::IsIdentity;
use sha2::{Digest, Sha512};

use super::{Policy, Reason, SigItem, Verdict};

/// Checks one signature under `policy`, the slow and obvious way.
///
/// This is the definition every backend must agree with. It costs one SHA-512 over
/// `64 + message.len()` bytes, up to two point decompressions and one double-scalar
/// multiplication (about 1.5–2× the per-item cost of the batch engine).
pub fn verify_single(policy: Policy, item: &SigItem<'_>) -> Verdict {
    check(policy, item).into()
}

fn check(policy: Policy, item: &SigItem<'_>) -> Result<(), Reason> {
    let s = decode_s(item.s_bytes())?;
    let a = decode_key(item.public_key)?;
    let r = decode_r(item.r_bytes())?;
    let k = challenge(item);
    match policy {
        Policy::Zip215 => zip215_equation(&s, &a, &r, &k),
        Policy::Strict => {
            strict_point_checks(a.is_small_order(), &r, item.r_bytes())?;
            strict_equation(&s, &a, item.r_bytes(), &k)
        }
    }
}

/// Rule 1: `S` must be canonical, `S < L`.
pub(crate) fn decode_s(bytes: &[u8; 32]) -> Result<Scalar, Reason> {
    Option::from(Scalar::from_canonical_bytes(*bytes)).ok_or(Reason::NonCanonicalS)
}

/// Rule 2: `A` must decode (non-canonical `y` accepted, as in ZIP 215 and dalek).
pub(crate) fn decode_key(bytes: &[u8; 32]) -> Result<EdwardsPoint, Reason> {
    CompressedEdwardsY(*bytes)
        .decompress()
        .ok_or(Reason::KeyNotOnCurve)
}

/// Rule 3: `R` must decode (non-canonical `y` accepted).
pub(crate) fn decode_r(bytes: &[u8; 32]) -> Result<EdwardsPoint, Reason> {
    CompressedEdwardsY(*bytes)
        .decompress()
        .ok_or(Reason::RNotOnCurve)
}

/// `k = SHA-512(R_bytes ‖ A_bytes ‖ M) mod L`, over the bytes exactly as given.
pub(crate) fn challenge(item: &SigItem<'_>) -> Scalar {
    let digest = Sha512::new()
        .chain_update(item.r_bytes())
        .chain_update(item.public_key)
        .chain_update(item.message)
        .finalize();
    Scalar::from_bytes_mod_order_wide(&digest.into())
}

/// Each item's challenge ([`challenge`]), in order, into `out` (cleared first): eight at a
/// time in the SHA-512 lanes where there are lanes, the same values either way.
pub(crate) fn challenges_into(
    lanes: Option<super::lanes::Lanes>,
    items: &[SigItem<'_>],
    out: &mut Vec<Scalar>,
) {
    out.clear();
    match lanes {
        Some(lanes) => {
            for eight in items.chunks(8) {
                out.extend(lanes.challenges8(eight));
            }
        }
        None => out.extend(items.iter().map(challenge)),
    }
}

/// Rules 4–6 (Strict only).
pub(crate) fn strict_point_checks(
    a_is_small_order: bool,
    r: &EdwardsPoint,
    r_bytes: &[u8; 32],
) -> Result<(), Reason> {
    if a_is_small_order {
        return Err(Reason::SmallOrderKey);
    }
    if r.is_small_order() {
        return Err(Reason::SmallOrderR);
    }
    if r.compress().as_bytes() != r_bytes {
        return Err(Reason::NonCanonicalR);
    }
    Ok(())
}

/// Rule 7, Zip215: `[8](R − ([S]B − [k]A)) = O`.
pub(crate) fn zip215_equation(
    s: &Scalar,
    a: &EdwardsPoint,
    r: &EdwardsPoint,
    k: &Scalar,
) -> Result<(), Reason> {
    let r_prime = EdwardsPoint::vartime_double_scalar_mul_basepoint(k, &-a, s);
    if (r - r_prime).mul_by_cofactor().is_identity() {
        Ok(())
    } else {
        Err(Reason::EquationFailed)
    }
}

/// Rule 7, Strict: `[S]B − [k]A`, compressed, equals `R_bytes`.
pub(crate) fn strict_equation(
    s: &Scalar,
    a: &EdwardsPoint,
    r_bytes: &[u8; 32],
    k: &Scalar,
) -> Result<(), Reason> {
    let r_prime = EdwardsPoint::vartime_double_scalar_mul_basepoint(k, &-a, s);
    if r_prime.compress().as_bytes() == r_bytes {
        Ok(())
    } else {
        Err(Reason::EquationFailed)
    }
}
