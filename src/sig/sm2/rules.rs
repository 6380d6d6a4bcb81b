//! The rules of `sig::sm2` item by item: the reference the engine is built from and tested
//! against (module docs: the checks and their order).
#![forbid(unsafe_code)]

use super::field::{Fe, limbs_from_be};
use super::point::{Affine, B, Comb, G, Jacobian, mul_wnaf};
use super::scalar;
use super::{Sm2Item, Sm2Message, Sm2Signature, parse_der_signature};
use crate::merkle::sm3::Platform as Sm3;
use crate::sig::{Reason, Verdict};

/// The default user ID of GB/T 32918 and every chain using it: `"1234567812345678"`.
pub const DEFAULT_ID: &[u8] = b"1234567812345678";

/// The longest user ID: its length in bits must fit ENTL's two bytes.
pub const MAX_ID_LEN: usize = 8191;

/// The comb of `G`, built once per process (960 points, about a millisecond).
pub(crate) fn g_comb() -> &'static Comb {
    static COMB: std::sync::OnceLock<Comb> = std::sync::OnceLock::new();
    COMB.get_or_init(|| Comb::new(&G))
}

/// Step 1: the public key, or why it is not one.
pub(crate) fn decode_key(bytes: &[u8]) -> Result<Affine, Reason> {
    let coordinate = |b: &[u8]| -> Result<Fe, Reason> {
        Fe::from_be_bytes(b.try_into().expect("32 bytes")).ok_or(Reason::KeyMalformed)
    };
    let point = match bytes.len() {
        64 => Affine {
            x: coordinate(&bytes[..32])?,
            y: coordinate(&bytes[32..])?,
        },
        65 if bytes[0] == 0x04 => Affine {
            x: coordinate(&bytes[1..33])?,
            y: coordinate(&bytes[33..])?,
        },
        33 if bytes[0] == 0x02 || bytes[0] == 0x03 => {
            let x = coordinate(&bytes[1..])?;
            return Affine::decompress(x, bytes[0] == 0x03).ok_or(Reason::KeyNotOnCurve);
        }
        _ => return Err(Reason::KeyMalformed),
    };
    if point.is_on_curve() {
        Ok(point)
    } else {
        Err(Reason::KeyNotOnCurve)
    }
}

/// `Z_A = SM3(ENTL ‖ ID ‖ a ‖ b ‖ x_G ‖ y_G ‖ x_A ‖ y_A)` for a decoded key (coordinates as 32
/// bytes each, leading zeros kept). `id` must be at most [`MAX_ID_LEN`] bytes.
pub(crate) fn z_a_of(key: &Affine, id: &[u8]) -> [u8; 32] {
    let mut data = Vec::with_capacity(2 + id.len() + 6 * 32);
    data.extend_from_slice(&((id.len() * 8) as u16).to_be_bytes());
    data.extend_from_slice(id);
    data.extend_from_slice(&Fe::from_canonical_limbs([3, 0, 0, 0]).neg().to_be_bytes());
    data.extend_from_slice(&B.to_be_bytes());
    data.extend_from_slice(&G.x.to_be_bytes());
    data.extend_from_slice(&G.y.to_be_bytes());
    data.extend_from_slice(&key.x.to_be_bytes());
    data.extend_from_slice(&key.y.to_be_bytes());
    crate::merkle::sm3::sm3(&data)
}

/// `Z_A` of a public key (any of its encodings) and user ID, as SM2 signers compute it.
///
/// # Errors
/// The key's [`Reason`] if it does not decode; [`Reason::IdTooLong`] for an ID over
/// [`MAX_ID_LEN`] bytes.
pub fn z_a(public_key: &[u8], id: &[u8]) -> Result<[u8; 32], Reason> {
    let key = decode_key(public_key)?;
    if id.len() > MAX_ID_LEN {
        return Err(Reason::IdTooLong);
    }
    Ok(z_a_of(&key, id))
}

/// Steps 3–5: `(r, s, t)` as little-endian limbs, or why not.
pub(crate) fn decode_signature(sig: &Sm2Signature<'_>) -> Result<[[u64; 4]; 3], Reason> {
    let rs = match sig {
        Sm2Signature::Raw(rs) => **rs,
        Sm2Signature::Der(der) => parse_der_signature(der).ok_or(Reason::SignatureMalformed)?,
    };
    let r = limbs_from_be(rs[..32].try_into().expect("32 bytes"));
    let s = limbs_from_be(rs[32..].try_into().expect("32 bytes"));
    if !scalar::in_range(&r) {
        return Err(Reason::RNotInRange);
    }
    if !scalar::in_range(&s) {
        return Err(Reason::SNotInRange);
    }
    let t = scalar::add_mod_n(&r, &s);
    if t == [0; 4] {
        return Err(Reason::TZero);
    }
    Ok([r, s, t])
}

/// Steps 6–7 given `e`: whether `(e + x₁) mod n = r` for `(x₁, y₁) = sum`, without inverting
/// the sum's Z (module docs).
pub(crate) fn check_sum(sum: &Jacobian, r: &[u64; 4], e: &[u8; 32]) -> Result<(), Reason> {
    if sum.is_infinity() {
        return Err(Reason::SumAtInfinity);
    }
    let e = scalar::reduce(&limbs_from_be(e));
    let c = scalar::sub_mod_n(r, &e);
    let z2 = sum.z.square();
    let (first, second) = scalar::field_candidates(&c);
    let matches = |x: [u64; 4]| Fe::from_canonical_limbs(x).mul(z2) == sum.x;
    if matches(first) || second.is_some_and(matches) {
        Ok(())
    } else {
        Err(Reason::EquationFailed)
    }
}

/// `[s]G + [t]P` with the `G` comb and, for `P`, its own comb when there is one, else a wNAF.
pub(crate) fn joint_sum(
    s: &[u64; 4],
    t: &[u64; 4],
    key: &Affine,
    key_comb: Option<&Comb>,
) -> Jacobian {
    let sg = g_comb().mul(s);
    let tp = match key_comb {
        Some(comb) => comb.mul(t),
        None => mul_wnaf(key, t),
    };
    sg.add(&tp)
}

/// The digest `e` of an item whose key is decoded: `SM3(Z_A ‖ M)`, or the caller's.
pub(crate) fn digest(key: &Affine, message: &Sm2Message<'_>) -> [u8; 32] {
    match message {
        Sm2Message::Prehashed(e) => **e,
        Sm2Message::Message { message, id } => {
            let z = z_a_of(key, id.unwrap_or(DEFAULT_ID));
            let mut data = Vec::with_capacity(32 + message.len());
            data.extend_from_slice(&z);
            data.extend_from_slice(message);
            let mut out = [[0u8; 32]; 1];
            Sm3::detect().hash_into(&[data], &mut out);
            out[0]
        }
    }
}

/// The ID of an item, checked (step 2).
pub(crate) fn check_id(message: &Sm2Message<'_>) -> Result<(), Reason> {
    match message {
        Sm2Message::Message { id: Some(id), .. } if id.len() > MAX_ID_LEN => Err(Reason::IdTooLong),
        _ => Ok(()),
    }
}

/// Verifies one SM2 item by the rules of the [module docs](super): the reference every fast
/// path is tested against. (A [`Verifier`](crate::Verifier) verifies batches in parallel with
/// a key cache; its verdicts are these.)
pub fn verify_sm2_single(item: &Sm2Item<'_>) -> Verdict {
    match verify_item(item, None) {
        Ok(()) => Verdict::Valid,
        Err(reason) => Verdict::Invalid(reason),
    }
}

/// Every check of one item, with the key's comb when the caller has one.
pub(crate) fn verify_item(
    item: &Sm2Item<'_>,
    key_comb: Option<(&Affine, &Comb)>,
) -> Result<(), Reason> {
    let key = match key_comb {
        Some((key, _)) => *key,
        None => decode_key(item.public_key)?,
    };
    check_id(&item.message)?;
    let [r, s, t] = decode_signature(&item.signature)?;
    let sum = joint_sum(&s, &t, &key, key_comb.map(|(_, comb)| comb));
    if sum.is_infinity() {
        return Err(Reason::SumAtInfinity);
    }
    check_sum(&sum, &r, &digest(&key, &item.message))
}
