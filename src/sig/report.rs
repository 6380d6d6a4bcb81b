//! Per-item verdicts and the report that carries them.
#![forbid(unsafe_code)]

use std::fmt;

use crate::{GpuFault, Placement};

/// Which check an invalid signature failed. The checks run in the order documented in the
/// [`sig` module](crate::sig), and the first failure is reported, on every backend alike.
///
/// `#[non_exhaustive]`: other algorithms (SM2) add reasons of their own. [`Reason::code`] is
/// the stable machine-readable name (also the `serde` form).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[non_exhaustive]
pub enum Reason {
    /// `S` is not a canonical scalar (`S ≥ L`, which includes any of the top three bits set).
    NonCanonicalS,
    /// The public key `A` does not decode to a point on the curve.
    KeyNotOnCurve,
    /// `R` does not decode to a point on the curve.
    RNotOnCurve,
    /// `Strict` only: the public key is of small order (one of the 8 torsion points).
    SmallOrderKey,
    /// `Strict` only: `R` is of small order.
    SmallOrderR,
    /// `Strict` only: `R` decodes, but not from its canonical encoding, so the byte-wise
    /// comparison of `verify_strict` can never succeed.
    NonCanonicalR,
    /// The encodings are acceptable but the verification equation does not hold (Ed25519:
    /// the policy's equation; SM2: `(e + x₁) mod n ≠ r`).
    EquationFailed,
    /// SM2: the public key is not a point encoding (length other than 33, 64 or 65 bytes, a
    /// wrong prefix byte, or a coordinate ≥ p).
    KeyMalformed,
    /// SM2: the user ID is longer than 8,191 bytes (its bit length must fit ENTL's 16 bits).
    IdTooLong,
    /// SM2: the signature is not 64 bytes `r ‖ s`, or not strict DER.
    SignatureMalformed,
    /// SM2: `r` is not in [1, n − 1].
    RNotInRange,
    /// SM2: `s` is not in [1, n − 1].
    SNotInRange,
    /// SM2: `t = (r + s) mod n` is 0.
    TZero,
    /// SM2: `[s]G + [t]P` is the point at infinity.
    SumAtInfinity,
}

impl Reason {
    /// Every reason: Ed25519's in check order, then SM2's own in check order (SM2 also uses
    /// [`Reason::KeyNotOnCurve`] and [`Reason::EquationFailed`]; see `sig::sm2`).
    pub const ALL: [Reason; 14] = [
        Reason::NonCanonicalS,
        Reason::KeyNotOnCurve,
        Reason::RNotOnCurve,
        Reason::SmallOrderKey,
        Reason::SmallOrderR,
        Reason::NonCanonicalR,
        Reason::EquationFailed,
        Reason::KeyMalformed,
        Reason::IdTooLong,
        Reason::SignatureMalformed,
        Reason::RNotInRange,
        Reason::SNotInRange,
        Reason::TZero,
        Reason::SumAtInfinity,
    ];

    /// The stable machine-readable code, snake_case (`non_canonical_s`, `key_not_on_curve`,
    /// …): what the `serde` feature writes, for logs and wire formats. Never changes for an
    /// existing reason.
    pub fn code(self) -> &'static str {
        match self {
            Reason::NonCanonicalS => "non_canonical_s",
            Reason::KeyNotOnCurve => "key_not_on_curve",
            Reason::RNotOnCurve => "r_not_on_curve",
            Reason::SmallOrderKey => "small_order_key",
            Reason::SmallOrderR => "small_order_r",
            Reason::NonCanonicalR => "non_canonical_r",
            Reason::EquationFailed => "equation_failed",
            Reason::KeyMalformed => "key_malformed",
            Reason::IdTooLong => "id_too_long",
            Reason::SignatureMalformed => "signature_malformed",
            Reason::RNotInRange => "r_not_in_range",
            Reason::SNotInRange => "s_not_in_range",
            Reason::TZero => "t_zero",
            Reason::SumAtInfinity => "sum_at_infinity",
        }
    }

    /// A short, stable, human-readable description (used in the CLI's JSON output).
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::NonCanonicalS => "non-canonical S (S >= L)",
            Reason::KeyNotOnCurve => "public key is not a curve point",
            Reason::RNotOnCurve => "R is not a curve point",
            Reason::SmallOrderKey => "public key has small order",
            Reason::SmallOrderR => "R has small order",
            Reason::NonCanonicalR => "R is not canonically encoded",
            Reason::EquationFailed => "verification equation failed",
            Reason::KeyMalformed => "public key is not a valid point encoding",
            Reason::IdTooLong => "user ID is longer than 8191 bytes",
            Reason::SignatureMalformed => "signature is not r||s or strict DER",
            Reason::RNotInRange => "r is not in [1, n-1]",
            Reason::SNotInRange => "s is not in [1, n-1]",
            Reason::TZero => "t = (r + s) mod n is zero",
            Reason::SumAtInfinity => "[s]G + [t]P is the point at infinity",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The verdict on one signature.
///
/// Exhaustive on purpose: a consensus caller must handle both cases, and no third case will
/// ever appear (what went wrong grows in [`Reason`], not here). With the `serde` feature it is
/// written as `"valid"` or `{"invalid": "<reason code>"}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum Verdict {
    /// The signature is valid under the policy.
    Valid,
    /// The signature is invalid; the reason names the first check that failed.
    Invalid(Reason),
}

impl Verdict {
    /// `true` for [`Verdict::Valid`].
    pub fn is_valid(self) -> bool {
        matches!(self, Verdict::Valid)
    }

    /// The reason, if invalid.
    pub fn reason(self) -> Option<Reason> {
        match self {
            Verdict::Valid => None,
            Verdict::Invalid(r) => Some(r),
        }
    }
}

impl From<Result<(), Reason>> for Verdict {
    fn from(r: Result<(), Reason>) -> Self {
        match r {
            Ok(()) => Verdict::Valid,
            Err(reason) => Verdict::Invalid(reason),
        }
    }
}

/// One verdict per submitted item, in input order, and where they were computed.
///
/// Equality compares the verdicts only: two reports on the same items are equal whichever
/// backend produced them (which is the point). With the `serde` feature the whole report is
/// written (verdicts, placement, GPU share and fault).
#[derive(Debug, Clone)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct SigReport {
    verdicts: Vec<Verdict>,
    #[cfg_attr(feature = "serde", serde(rename = "invalid_count"))]
    invalid: usize,
    placement: Placement,
    gpu_items: usize,
    gpu_fault: Option<GpuFault>,
}

impl PartialEq for SigReport {
    fn eq(&self, other: &Self) -> bool {
        self.verdicts == other.verdicts
    }
}

impl Eq for SigReport {}

impl Default for SigReport {
    fn default() -> Self {
        SigReport::from_verdicts(Vec::new())
    }
}

impl SigReport {
    pub(crate) fn from_verdicts(verdicts: Vec<Verdict>) -> Self {
        let invalid = verdicts.iter().filter(|v| !v.is_valid()).count();
        SigReport {
            verdicts,
            invalid,
            placement: Placement::Cpu,
            gpu_items: 0,
            gpu_fault: None,
        }
    }

    /// Records where the verdicts came from: `gpu_items` of them from the GPU (the first
    /// ones), the rest from the CPU engine, after `gpu_fault` if the GPU failed.
    #[cfg(feature = "gpu")]
    pub(crate) fn on(mut self, gpu_items: usize, gpu_fault: Option<GpuFault>) -> Self {
        self.gpu_items = gpu_items;
        self.gpu_fault = gpu_fault;
        self.placement = match gpu_items {
            0 => Placement::Cpu,
            n if n == self.verdicts.len() => Placement::Gpu,
            _ => Placement::Split,
        };
        self
    }

    /// Where the verdicts were computed: `Cpu`, `Gpu`, or `Split` when the batch was split
    /// between them (the first [`SigReport::gpu_items`] on the GPU). Verdicts never depend on
    /// it.
    pub fn placement(&self) -> Placement {
        self.placement
    }

    /// How many items (the first ones of the batch) the GPU verified.
    pub fn gpu_items(&self) -> usize {
        self.gpu_items
    }

    /// The fault that made the CPU engine redo the GPU's share, if one did. The verdicts are
    /// then the CPU engine's, and the same.
    pub fn gpu_fault(&self) -> Option<GpuFault> {
        self.gpu_fault
    }

    /// `true` when every item is valid (also for an empty batch).
    pub fn all_valid(&self) -> bool {
        self.invalid == 0
    }

    /// Indices of the invalid items, ascending.
    pub fn invalid_indices(&self) -> Vec<usize> {
        self.verdicts
            .iter()
            .enumerate()
            .filter(|(_, v)| !v.is_valid())
            .map(|(i, _)| i)
            .collect()
    }

    /// The verdict on item `index`, or `None` if out of range.
    pub fn verdict(&self, index: usize) -> Option<Verdict> {
        self.verdicts.get(index).copied()
    }

    /// All verdicts, in input order.
    pub fn verdicts(&self) -> &[Verdict] {
        &self.verdicts
    }

    /// Number of items checked.
    pub fn len(&self) -> usize {
        self.verdicts.len()
    }

    /// `true` for a report on an empty batch.
    pub fn is_empty(&self) -> bool {
        self.verdicts.is_empty()
    }

    /// Number of valid items.
    pub fn valid_count(&self) -> usize {
        self.verdicts.len() - self.invalid
    }

    /// Number of invalid items.
    pub fn invalid_count(&self) -> usize {
        self.invalid
    }
}
