//! Ed25519 signature verification with exact, deterministic per-item verdicts; SM2 in
//! [`sm2`].
//!
//! # Why two policies
//!
//! A ledger forks when two nodes disagree on one signature. Ed25519 as deployed has two
//! incompatible rule sets, and a node must pick one and apply it identically everywhere:
//!
//! * [`Policy::Zip215`] (default) — the rules of [ZIP 215], as implemented by
//!   `ed25519-zebra`: `S` must be canonical (`S < L`); `A` and `R` must decode to curve
//!   points, non-canonical encodings accepted; the **cofactored** equation
//!   `[8]([S]B − R − [k]A) = O` with `k = SHA-512(R_bytes ‖ A_bytes ‖ M) mod L`.
//!   This is the only rule set under which a random-linear-combination batch check gives the
//!   same answer as checking each item alone, so it is the fast path: see [`batch`].
//! * [`Policy::Strict`] — exactly what `ed25519-dalek`'s `verify_strict` accepts: canonical
//!   `S`; `A` and `R` decode; neither `A` nor `R` of small order; `R'` = `[S]B − [k]A`
//!   recomputed and compared with `R` **byte for byte** (so a non-canonical `R` never passes).
//!   A cofactorless verdict cannot be reproduced by a randomised batch when points carry
//!   torsion, so this policy checks item by item (in parallel).
//!
//! # Order of checks, and so the reason reported
//!
//! Every backend applies the checks in this order and reports the first that fails, so the
//! reason, not just the verdict, is identical everywhere:
//!
//! 1. `S` canonical → [`Reason::NonCanonicalS`]
//! 2. `A` decodes → [`Reason::KeyNotOnCurve`]
//! 3. `R` decodes → [`Reason::RNotOnCurve`]
//! 4. (Strict) `A` not small order → [`Reason::SmallOrderKey`]
//! 5. (Strict) `R` not small order → [`Reason::SmallOrderR`]
//! 6. (Strict) `R` canonically encoded → [`Reason::NonCanonicalR`]
//! 7. the policy's equation → [`Reason::EquationFailed`]
//!
//! [ZIP 215]: https://zips.z.cash/zip-0215
// `deny`, not `forbid`: the IFMA kernels in `ifma` allow unsafe code for their intrinsics.
#![deny(unsafe_code)]

pub mod batch;
mod engine;
#[cfg(target_arch = "x86_64")]
mod halving;
#[cfg(target_arch = "x86_64")]
mod ifma;
mod key_cache;
mod lanes;
mod report;
mod rules;
#[cfg(target_arch = "x86_64")]
mod sha512_lanes;
pub mod sm2;

pub use report::{Reason, SigReport, Verdict};

/// Whether this CPU runs the AVX-512 IFMA lanes (run-time detection).
pub(crate) fn cpu_has_ifma() -> bool {
    lanes::Lanes::detect().is_some()
}
pub use rules::verify_single;

pub(crate) use engine::CpuEngine;
#[cfg(feature = "gpu")]
#[cfg(feature = "gpu")]
pub(crate) use lanes::Lanes;
#[cfg(feature = "gpu")]
pub(crate) use rules::challenges_into;

/// Which Ed25519 validity rules apply. See the [module docs](self) for the exact rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[non_exhaustive]
pub enum Policy {
    /// ZIP 215 rules (`ed25519-zebra`): cofactored equation, non-canonical points accepted.
    /// Batch-verifiable; the default.
    #[default]
    Zip215,
    /// `ed25519-dalek` `verify_strict` rules: cofactorless, small-order `A`/`R` refused,
    /// `R` compared byte for byte. Verified item by item.
    Strict,
}

impl Policy {
    /// The policy's name as the CLI spells it (`zip215`, `strict`).
    pub fn name(self) -> &'static str {
        match self {
            Policy::Zip215 => "zip215",
            Policy::Strict => "strict",
        }
    }
}

impl std::str::FromStr for Policy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "zip215" => Ok(Policy::Zip215),
            "strict" => Ok(Policy::Strict),
            other => Err(format!(
                "unknown policy '{other}' (expected zip215 or strict)"
            )),
        }
    }
}

/// One signature to check: public key, signature and message, all borrowed from the caller's
/// buffers (zero-copy). Building one costs nothing and checks nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SigItem<'a> {
    /// The signer's public key `A`, as the 32 bytes that were signed over.
    pub public_key: &'a [u8; 32],
    /// The signature `R ‖ S`, 64 bytes.
    pub signature: &'a [u8; 64],
    /// The signed message.
    pub message: &'a [u8],
}

impl<'a> SigItem<'a> {
    /// Bundles borrowed key, signature and message.
    pub fn new(public_key: &'a [u8; 32], signature: &'a [u8; 64], message: &'a [u8]) -> Self {
        SigItem {
            public_key,
            signature,
            message,
        }
    }

    /// The `R` half of the signature.
    pub(crate) fn r_bytes(&self) -> &'a [u8; 32] {
        self.signature[..32].try_into().expect("64 = 32 + 32")
    }

    /// The `S` half of the signature.
    pub(crate) fn s_bytes(&self) -> &'a [u8; 32] {
        self.signature[32..].try_into().expect("64 = 32 + 32")
    }
}
