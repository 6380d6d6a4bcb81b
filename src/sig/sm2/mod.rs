//! SM2 signature verification (GB/T 32918.2-2016 §7.1 on the recommended curve sm2p256v1,
//! GB/T 32918.5-2017), with exact per-item verdicts.
//!
//! # The rules, in check order
//!
//! An item is a public key `P`, a signature `(r, s)`, a message `M` and a user ID (default
//! `"1234567812345678"`), or a key, a signature and a caller-computed digest `e`. It is valid
//! iff, in this order (the first failure is the reported [`Reason`](crate::Reason)):
//!
//! 1. `P` decodes: raw `x ‖ y` (64 bytes), `04 ‖ x ‖ y` (65) or compressed `02/03 ‖ x` (33),
//!    coordinates `< p` → else [`Reason::KeyMalformed`](crate::Reason::KeyMalformed); the point is on the curve (for a
//!    compressed key: x has a square root) → else [`Reason::KeyNotOnCurve`](crate::Reason::KeyNotOnCurve). No encoding
//!    names the point at infinity, so a decoded key never is it.
//! 2. The ID is at most 8,191 bytes (its bit length fills ENTL's 16 bits) → else
//!    [`Reason::IdTooLong`](crate::Reason::IdTooLong).
//! 3. The signature decodes: 64 bytes `r ‖ s`, or strict DER ([`parse_der_signature`]) → else
//!    [`Reason::SignatureMalformed`](crate::Reason::SignatureMalformed).
//! 4. `r` in [1, n − 1] → else [`Reason::RNotInRange`](crate::Reason::RNotInRange); `s` in [1, n − 1] → else
//!    [`Reason::SNotInRange`](crate::Reason::SNotInRange).
//! 5. `t = (r + s) mod n ≠ 0` → else [`Reason::TZero`](crate::Reason::TZero).
//! 6. `(x₁, y₁) = [s]G + [t]P` is not the point at infinity → else [`Reason::SumAtInfinity`](crate::Reason::SumAtInfinity).
//! 7. `(e + x₁) mod n = r` → else [`Reason::EquationFailed`](crate::Reason::EquationFailed), where `e = SM3(Z_A ‖ M)` and
//!    `Z_A = SM3(ENTL ‖ ID ‖ a ‖ b ‖ x_G ‖ y_G ‖ x_A ‖ y_A)`, every coordinate written as 32
//!    bytes big-endian (a leading zero byte of `y_A` is kept: some Go code drops it, a bug we
//!    do not copy), ENTL the ID's length in bits as two big-endian bytes.
//!
//! # How
//!
//! SM2 has no batch equation that keeps exact verdicts (the sign of `y₁` is not transmitted),
//! so each item is verified alone, items in parallel. `[s]G` comes from a fixed-base comb of
//! `G` (64 mixed additions, no doubling); `[t]P` from a width-5 wNAF (256 doublings), or from
//! the key's own comb once the key cache has seen the issuer often (few issuers sign most
//! records). The final check needs no inversion: with `c = (r − e) mod n`, `x₁ ≡ c (mod n)`
//! holds iff `X = c·Z²` or `X = (c + n)·Z²` (the latter only when `c + n < p`) for the sum's
//! Jacobian `(X, Y, Z)`. Field arithmetic is 4×64-bit Montgomery with p's special form
//! (`field`: −p⁻¹ ≡ 1 mod 2^64, so reduction needs no multiplier).
//!
//! On CPUs with AVX-512 IFMA the engine computes the joint sums eight items at a time
//! (`ifma`: 52-bit limbs, Montgomery with R = 2^260, where again −p⁻¹ ≡ 1): `[t]P` by regular
//! signed radix-32 digits with `G`'s Lim–Lee comb entries added between the last 32
//! doublings, or, for a frequent issuer, two Lim–Lee combs sharing 31 doublings. The serial
//! code above is their twin: the tests compare the two point by point and verdict by verdict,
//! and the lanes hand back to it any sum whose partial sums meet (an adversary who knows the
//! key's discrete log can arrange that; the generic addition formulas would be wrong there).
// `deny`, not `forbid`: the IFMA kernels in `ifma` allow unsafe code for their intrinsics.
#![deny(unsafe_code)]

mod der;
#[cfg(feature = "gpu")]
pub(crate) mod device_form;
pub(crate) mod engine;
mod field;
#[cfg(target_arch = "x86_64")]
mod ifma;
mod lanes;
mod point;
mod rules;
mod scalar;

pub use der::{
    EnvelopeError, encode_der_signature, parse_der_signature, parse_fisco_envelope,
    parse_hyperchain_envelope,
};
pub use rules::{DEFAULT_ID, MAX_ID_LEN, verify_sm2_single, z_a};

/// An SM2 signature as carried: 64 bytes `r ‖ s`, or DER.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sm2Signature<'a> {
    /// `r ‖ s`, 32 bytes each, big-endian.
    Raw(&'a [u8; 64]),
    /// A DER `SEQUENCE { r INTEGER, s INTEGER }` (checked strictly).
    Der(&'a [u8]),
}

/// What was signed: a message with its signer's user ID, or the digest `e` itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sm2Message<'a> {
    /// `e = SM3(Z_A ‖ message)` is computed here; `id: None` is the default ID
    /// [`DEFAULT_ID`], `Some(b"")` the empty ID.
    Message {
        /// The signed message.
        message: &'a [u8],
        /// The signer's user ID (distinguishing identifier).
        id: Option<&'a [u8]>,
    },
    /// The caller computed `e` upstream (32 bytes, big-endian): the item is checked against
    /// it, and no ID is involved.
    Prehashed(&'a [u8; 32]),
}

/// One SM2 signature to check, everything borrowed from the caller's buffers (zero-copy).
/// Building one costs nothing and checks nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sm2Item<'a> {
    /// The public key: `x ‖ y` (64 bytes), `04 ‖ x ‖ y` (65) or `02/03 ‖ x` (33).
    pub public_key: &'a [u8],
    /// The signature.
    pub signature: Sm2Signature<'a>,
    /// What was signed.
    pub message: Sm2Message<'a>,
}

impl<'a> Sm2Item<'a> {
    /// A raw `r ‖ s` signature over `message` by the default ID.
    pub fn new(public_key: &'a [u8], signature: &'a [u8; 64], message: &'a [u8]) -> Self {
        Sm2Item {
            public_key,
            signature: Sm2Signature::Raw(signature),
            message: Sm2Message::Message { message, id: None },
        }
    }

    /// A DER signature over `message` by the default ID.
    pub fn der(public_key: &'a [u8], der: &'a [u8], message: &'a [u8]) -> Self {
        Sm2Item {
            public_key,
            signature: Sm2Signature::Der(der),
            message: Sm2Message::Message { message, id: None },
        }
    }

    /// A raw signature checked against a digest `e` the caller computed.
    pub fn prehashed(public_key: &'a [u8], signature: &'a [u8; 64], e: &'a [u8; 32]) -> Self {
        Sm2Item {
            public_key,
            signature: Sm2Signature::Raw(signature),
            message: Sm2Message::Prehashed(e),
        }
    }

    /// The same item signed under user ID `id` (the empty ID is `b""`); no effect on a
    /// prehashed item.
    pub fn with_id(mut self, id: &'a [u8]) -> Self {
        if let Sm2Message::Message { message, .. } = self.message {
            self.message = Sm2Message::Message {
                message,
                id: Some(id),
            };
        }
        self
    }
}
