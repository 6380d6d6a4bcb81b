//! The numbers the C ABI uses for reasons, backends, policies and schemes: the one place they
//! are defined (the `BV_*` constants in `lib.rs` name them; the header lists them).
#![forbid(unsafe_code)]

use std::ffi::{CStr, c_int};

use blockverify::block::RecordVerdict;
use blockverify::merkle::Scheme;
use blockverify::{Backend, Policy, Reason, Verdict};

use crate::*;

/// Every reason's ABI code, in code order, with its name (`Reason::code`, NUL-terminated).
/// Codes are never reused or renumbered; a new reason gets the next free number. A test checks
/// that this table covers `Reason::ALL` and that the names equal `Reason::code()`.
pub(crate) const REASONS: [(u8, Reason, &CStr); 14] = [
    (
        BV_REASON_NON_CANONICAL_S,
        Reason::NonCanonicalS,
        c"non_canonical_s",
    ),
    (
        BV_REASON_KEY_NOT_ON_CURVE,
        Reason::KeyNotOnCurve,
        c"key_not_on_curve",
    ),
    (
        BV_REASON_R_NOT_ON_CURVE,
        Reason::RNotOnCurve,
        c"r_not_on_curve",
    ),
    (
        BV_REASON_SMALL_ORDER_KEY,
        Reason::SmallOrderKey,
        c"small_order_key",
    ),
    (
        BV_REASON_SMALL_ORDER_R,
        Reason::SmallOrderR,
        c"small_order_r",
    ),
    (
        BV_REASON_NON_CANONICAL_R,
        Reason::NonCanonicalR,
        c"non_canonical_r",
    ),
    (
        BV_REASON_EQUATION_FAILED,
        Reason::EquationFailed,
        c"equation_failed",
    ),
    (
        BV_REASON_KEY_MALFORMED,
        Reason::KeyMalformed,
        c"key_malformed",
    ),
    (BV_REASON_ID_TOO_LONG, Reason::IdTooLong, c"id_too_long"),
    (
        BV_REASON_SIGNATURE_MALFORMED,
        Reason::SignatureMalformed,
        c"signature_malformed",
    ),
    (
        BV_REASON_R_NOT_IN_RANGE,
        Reason::RNotInRange,
        c"r_not_in_range",
    ),
    (
        BV_REASON_S_NOT_IN_RANGE,
        Reason::SNotInRange,
        c"s_not_in_range",
    ),
    (BV_REASON_T_ZERO, Reason::TZero, c"t_zero"),
    (
        BV_REASON_SUM_AT_INFINITY,
        Reason::SumAtInfinity,
        c"sum_at_infinity",
    ),
];

/// The ABI code of a reason. `Reason` is `#[non_exhaustive]`: a reason this table does not
/// know yet maps to `BV_REASON_OTHER`, which the tests prove no reason of this build reaches.
pub(crate) fn reason_code(reason: Reason) -> u8 {
    REASONS
        .iter()
        .find(|(_, r, _)| *r == reason)
        .map_or(BV_REASON_OTHER, |(code, _, _)| *code)
}

/// The verdict byte of a signature verdict: 0 valid, else the reason's code.
pub(crate) fn verdict_code(verdict: Verdict) -> u8 {
    match verdict {
        Verdict::Valid => BV_VALID,
        Verdict::Invalid(reason) => reason_code(reason),
    }
}

/// The verdict byte of a block record: as [`verdict_code`], and `BV_DUPLICATE` for a replay.
pub(crate) fn record_code(verdict: RecordVerdict) -> u8 {
    match verdict {
        RecordVerdict::Valid => BV_VALID,
        RecordVerdict::Invalid(reason) => reason_code(reason),
        RecordVerdict::Duplicate { .. } => BV_DUPLICATE,
        _ => BV_REASON_OTHER,
    }
}

/// The name `bv_reason_name` returns for a code.
pub(crate) fn reason_name(code: u8) -> Option<&'static CStr> {
    match code {
        BV_DUPLICATE => Some(c"duplicate"),
        BV_REASON_OTHER => Some(c"other"),
        _ => REASONS
            .iter()
            .find(|(c, _, _)| *c == code)
            .map(|(_, _, name)| *name),
    }
}

pub(crate) fn backend(code: c_int) -> Result<Backend, String> {
    match code {
        BV_BACKEND_CPU => Ok(Backend::Cpu),
        BV_BACKEND_GPU => Ok(Backend::Gpu),
        BV_BACKEND_AUTO => Ok(Backend::Auto),
        other => Err(format!(
            "unknown backend {other} (expected BV_BACKEND_CPU 0, BV_BACKEND_GPU 1 or \
             BV_BACKEND_AUTO 2)"
        )),
    }
}

pub(crate) fn policy(code: c_int) -> Result<Policy, String> {
    match code {
        BV_POLICY_ZIP215 => Ok(Policy::Zip215),
        BV_POLICY_STRICT => Ok(Policy::Strict),
        other => Err(format!(
            "unknown policy {other} (expected BV_POLICY_ZIP215 0 or BV_POLICY_STRICT 1)"
        )),
    }
}

pub(crate) fn scheme(code: c_int) -> Result<Scheme, String> {
    match code {
        BV_SCHEME_RFC9162 => Ok(Scheme::Rfc9162),
        BV_SCHEME_BITCOIN => Ok(Scheme::Bitcoin),
        BV_SCHEME_FISCO_BCOS => Ok(Scheme::FiscoBcos),
        BV_SCHEME_CHAINMAKER_SM3 => Ok(Scheme::ChainMakerSm3),
        BV_SCHEME_CHAINMAKER_SHA256 => Ok(Scheme::ChainMakerSha256),
        other => Err(format!(
            "unknown scheme {other} (expected BV_SCHEME_RFC9162 0, BV_SCHEME_BITCOIN 1, \
             BV_SCHEME_FISCO_BCOS 2, BV_SCHEME_CHAINMAKER_SM3 3 or BV_SCHEME_CHAINMAKER_SHA256 4)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_has_its_own_code_and_its_library_name() {
        assert_eq!(REASONS.len(), Reason::ALL.len(), "a reason has no ABI code");
        for reason in Reason::ALL {
            let code = reason_code(reason);
            assert_ne!(code, BV_REASON_OTHER, "{reason:?} has no ABI code");
            assert_eq!(reason_name(code).unwrap().to_str().unwrap(), reason.code());
        }
        let mut codes: Vec<u8> = REASONS.iter().map(|r| r.0).collect();
        codes.dedup();
        assert_eq!(
            codes,
            (1..=14).collect::<Vec<u8>>(),
            "codes are 1, 2, … in order"
        );
        assert!(reason_name(BV_VALID).is_none());
        assert!(reason_name(15).is_none());
    }
}
