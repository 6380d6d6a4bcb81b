//! Hand-built Ed25519 edge cases, with the expected verdict under each policy kept as data in
//! `tests/data/edge_cases.jsonl` (one JSON object per line:
//! `{"name", "pk", "sig", "msg", "zip215", "strict"}`, the verdicts being `"valid"` or a
//! [`Reason::as_str`] text).
//!
//! The file is written by the ignored test [`regenerate_edge_cases`]:
//!
//! ```text
//! cargo test --test edge_cases -- --ignored regenerate_edge_cases
//! ```
//!
//! Validity always comes from the reference crates (`ed25519-zebra` `verify` for Zip215,
//! `ed25519-dalek` `verify_strict` for Strict); only the reason text comes from
//! [`verify_single`], and the generator refuses to write anything if `verify_single` and an
//! oracle ever disagree on validity. The regular tests read the committed file and check
//! `verify_single`, the oracles and the batch [`Verifier`] against it.

mod common;

use std::collections::{BTreeMap, HashSet};

use blockverify::{
    DEFAULT_KEY_CACHE_SIZE, Policy, Reason, SigItem, Verdict, Verifier, verify_single,
};
use blockverify_testkit::{SigningKey, Workload, WorkloadSpec};
use common::edge_data::{
    Case, POLICIES, Record, data_path, load_cases, reasons_for, unhex, verdict_str,
};
use common::{L_BYTES, add256, challenge, oracle_valid};
use curve25519_dalek::constants::EIGHT_TORSION;
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::IsIdentity;
use sha2::{Digest, Sha512};

// ---------------------------------------------------------------------------------------------
// The data file
// ---------------------------------------------------------------------------------------------

// Record, Case, load_cases and the verdict texts live in tests/common/edge_data.rs (the GPU
// tests read the same file).

// ---------------------------------------------------------------------------------------------
// Oracles
// ---------------------------------------------------------------------------------------------

// The oracles (zebra_valid, dalek_strict_valid, oracle_valid) live in tests/common.

// ---------------------------------------------------------------------------------------------
// RFC 8032 §7.1 TEST 1–3
// ---------------------------------------------------------------------------------------------

/// (name, secret key, public key, message, signature), hex.
const RFC8032: [(&str, &str, &str, &str, &str); 3] = [
    (
        "rfc8032/test1",
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        "",
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
    ),
    (
        "rfc8032/test2",
        "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
        "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        "72",
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
    ),
    (
        "rfc8032/test3",
        "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
        "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
        "af82",
        "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
    ),
];

// ---------------------------------------------------------------------------------------------
// The generator
// ---------------------------------------------------------------------------------------------

/// `a - b` on 256-bit little-endian integers, `a >= b`.
fn sub256(a: &[u8; 32], b: &[u8; 32]) -> [u8; 32] {
    let mut out = [0u8; 32];
    let mut borrow = 0i16;
    for i in 0..32 {
        let mut t = i16::from(a[i]) - i16::from(b[i]) - borrow;
        borrow = i16::from(t < 0);
        if t < 0 {
            t += 256;
        }
        out[i] = t as u8;
    }
    assert_eq!(borrow, 0, "sub256 underflow");
    out
}

/// The encoding of `y = p + delta` (`p = 2^255 - 19`, so `delta` in `0..19`) with `sign` as x's
/// sign bit. Non-canonical: the canonical encoding of the same `y` is `delta`.
fn y_above_p(delta: u8, sign: bool) -> [u8; 32] {
    assert!(delta < 19);
    let mut b = [0xffu8; 32];
    b[0] = 0xed + delta;
    b[31] = 0x7f | (u8::from(sign) << 7);
    b
}

/// The encoding of a small canonical `y` with `sign` as x's sign bit.
fn small_y(y: u8, sign: bool) -> [u8; 32] {
    let mut b = [0u8; 32];
    b[0] = y;
    b[31] = u8::from(sign) << 7;
    b
}

fn decode(bytes: &[u8; 32]) -> Option<EdwardsPoint> {
    CompressedEdwardsY(*bytes).decompress()
}

fn torsion(i: usize) -> EdwardsPoint {
    EIGHT_TORSION[i]
}

fn torsion_bytes(i: usize) -> [u8; 32] {
    EIGHT_TORSION[i].compress().0
}

fn mul_base(s: &Scalar) -> EdwardsPoint {
    EdwardsPoint::mul_base(s)
}

/// A fixed nonce scalar per label (deterministic, no randomness).
fn nonce(label: &str) -> Scalar {
    let d = Sha512::new()
        .chain_update(b"blockverify edge-case nonce\0")
        .chain_update(label.as_bytes())
        .finalize();
    Scalar::from_bytes_mod_order_wide(&d.into())
}

fn sig_of(r: &[u8; 32], s: &[u8; 32]) -> [u8; 64] {
    let mut sig = [0u8; 64];
    sig[..32].copy_from_slice(r);
    sig[32..].copy_from_slice(s);
    sig
}

/// A signer whose secret scalar is known, so signatures over altered keys and nonces can be
/// made by hand.
struct Honest {
    signer: SigningKey,
    a: Scalar,
    pk: [u8; 32],
}

impl Honest {
    fn new(seed: [u8; 32]) -> Self {
        let signer = SigningKey::from_seed(&seed);
        let a = Scalar::from_bytes_mod_order(signer.secret_scalar_bytes());
        let pk = signer.public_key();
        assert_eq!(
            mul_base(&a).compress().0,
            pk,
            "re-derived scalar matches the signer"
        );
        Honest { signer, a, pk }
    }

    /// `(R, S)` with `R` given as bytes, `S = r + k·a` where `k` is over `R_bytes ‖ A_bytes ‖ M`:
    /// the signature of this key's scalar, claimed under key bytes `a_bytes`.
    fn sign_raw(&self, r: &Scalar, r_bytes: &[u8; 32], a_bytes: &[u8; 32], m: &[u8]) -> [u8; 64] {
        let k = challenge(r_bytes, a_bytes, m);
        sig_of(r_bytes, (r + k * self.a).as_bytes())
    }
}

/// A constructed case and, where the construction makes it obvious, the verdicts it is meant
/// to get (checked against `verify_single`, after validity was checked against the oracles).
struct Built {
    name: String,
    pk: [u8; 32],
    sig: [u8; 64],
    msg: Vec<u8>,
    zip215: Option<Verdict>,
    strict: Option<Verdict>,
}

const VALID: Verdict = Verdict::Valid;

fn bad(r: Reason) -> Verdict {
    Verdict::Invalid(r)
}

#[derive(Default)]
struct Cases(Vec<Built>);

impl Cases {
    fn push(
        &mut self,
        name: impl Into<String>,
        pk: [u8; 32],
        sig: [u8; 64],
        msg: &[u8],
        zip215: Option<Verdict>,
        strict: Option<Verdict>,
    ) {
        self.0.push(Built {
            name: name.into(),
            pk,
            sig,
            msg: msg.to_vec(),
            zip215,
            strict,
        });
    }
}

fn build_cases() -> Vec<Built> {
    let mut c = Cases::default();
    let key = Honest::new([0x11; 32]);

    // --- RFC 8032 §7.1 TEST 1-3: valid everywhere, and our signer reproduces them. ---
    for (name, sk, pk, msg, sig) in RFC8032 {
        let (sk, pk, sig): ([u8; 32], [u8; 32], [u8; 64]) = (unhex(sk), unhex(pk), unhex(sig));
        let msg = hex::decode(msg).unwrap();
        let signer = SigningKey::from_seed(&sk);
        assert_eq!(signer.public_key(), pk, "{name}: public key");
        assert_eq!(signer.sign(&msg), sig, "{name}: signature");
        c.push(name, pk, sig, &msg, Some(VALID), Some(VALID));
    }

    // --- Honest baselines. ---
    for (name, msg) in [
        ("honest/empty_message", &b""[..]),
        ("honest/short_message", &b"edge"[..]),
        ("honest/long_message", &[0xa5u8; 1000][..]),
    ] {
        c.push(
            name,
            key.pk,
            key.signer.sign(msg),
            msg,
            Some(VALID),
            Some(VALID),
        );
    }

    // --- All 8 small-order points as A. ---
    for i in 0..8 {
        let a = torsion_bytes(i);
        let msg = format!("small-order A T{i}").into_bytes();
        // R small order, S = 0: [8](R + [k]A) = O whatever k is.
        let r = torsion_bytes((i + 3) % 8);
        c.push(
            format!("small_order_A/T{i}/R_small_S0"),
            a,
            sig_of(&r, &[0; 32]),
            &msg,
            Some(VALID),
            Some(bad(Reason::SmallOrderKey)),
        );
        // R = [r]B, S = r: [S]B - R - [k]A = -[k]A, a torsion point.
        let rs = nonce(&format!("small-order A T{i}"));
        c.push(
            format!("small_order_A/T{i}/R_rB_S_r"),
            a,
            sig_of(&mul_base(&rs).compress().0, rs.as_bytes()),
            &msg,
            Some(VALID),
            Some(bad(Reason::SmallOrderKey)),
        );
    }

    // --- All 8 small-order points as R, honest key, S = k·a. ---
    for i in 0..8 {
        let msg = format!("small-order R T{i}").into_bytes();
        let r = torsion_bytes(i);
        c.push(
            format!("small_order_R/T{i}"),
            key.pk,
            key.sign_raw(&Scalar::ZERO, &r, &key.pk, &msg),
            &msg,
            Some(VALID),
            Some(bad(Reason::SmallOrderR)),
        );
    }

    // --- Mixed-order A = [a]B + T, signed with a, k over the mixed A bytes. ---
    // Zip215 always accepts; verify_strict accepts exactly when [k]T = O.
    let point_a = mul_base(&key.a);
    for i in 1..8 {
        let t = torsion(i);
        let a_mixed = (point_a + t).compress().0;
        for want_kt_zero in [false, true] {
            let found = (0..10_000u32).find_map(|n| {
                let label = format!("mixed A T{i} kT{} #{n}", u8::from(want_kt_zero));
                let r = nonce(&label);
                let r_bytes = mul_base(&r).compress().0;
                let msg = label.into_bytes();
                let k = challenge(&r_bytes, &a_mixed, &msg);
                let kt_zero = (t * k).is_identity();
                (kt_zero == want_kt_zero).then(|| (key.sign_raw(&r, &r_bytes, &a_mixed, &msg), msg))
            });
            let (sig, msg) = found.expect("a message with the wanted [k]T exists");
            let (suffix, strict) = if want_kt_zero {
                ("kT_zero", VALID)
            } else {
                ("kT_nonzero", bad(Reason::EquationFailed))
            };
            c.push(
                format!("mixed_order_A/T{i}/{suffix}"),
                a_mixed,
                sig,
                &msg,
                Some(VALID),
                Some(strict),
            );
        }
    }

    // --- Mixed-order R = [r]B + T, honest key, S = r + k·a. ---
    // Zip215 accepts; Strict recomputes [r]B, which differs from R.
    for i in 1..8 {
        let label = format!("mixed R T{i}");
        let r = nonce(&label);
        let r_bytes = (mul_base(&r) + torsion(i)).compress().0;
        let msg = label.into_bytes();
        c.push(
            format!("mixed_order_R/T{i}"),
            key.pk,
            key.sign_raw(&r, &r_bytes, &key.pk, &msg),
            &msg,
            Some(VALID),
            Some(bad(Reason::EquationFailed)),
        );
    }

    // --- Mixed-order A and R together, with R = [r]B - T_i and [k]T_i = T_i: then
    // [S]B - [k]A' = [r]B - [k]T_i = R exactly, so even verify_strict accepts. ---
    for i in 1..8 {
        let t = torsion(i);
        let a_mixed = (point_a + t).compress().0;
        let found = (0..10_000u32).find_map(|n| {
            let label = format!("mixed A+R T{i} #{n}");
            let r = nonce(&label);
            let r_bytes = (mul_base(&r) - t).compress().0;
            let msg = label.into_bytes();
            let k = challenge(&r_bytes, &a_mixed, &msg);
            ((t * k).compress() == t.compress())
                .then(|| (key.sign_raw(&r, &r_bytes, &a_mixed, &msg), msg))
        });
        let (sig, msg) = found.expect("a message with [k]T = T exists");
        c.push(
            format!("mixed_order_A_and_R/T{i}"),
            a_mixed,
            sig,
            &msg,
            Some(VALID),
            Some(VALID),
        );
    }

    // --- Non-canonical S. ---
    let s_msg = b"S edge cases".to_vec();
    let base = key.signer.sign(&s_msg);
    let base_r: [u8; 32] = base[..32].try_into().unwrap();
    let base_s: [u8; 32] = base[32..].try_into().unwrap();
    let non_canonical_s = Some(bad(Reason::NonCanonicalS));
    {
        let mut multiple = base_s;
        for m in 1..=15 {
            multiple = add256(&multiple, &L_BYTES).expect("S + 15L < 2^256");
            if [1, 2, 15].contains(&m) {
                c.push(
                    format!("s/plus_{m}L"),
                    key.pk,
                    sig_of(&base_r, &multiple),
                    &s_msg,
                    non_canonical_s,
                    non_canonical_s,
                );
            }
        }
    }
    c.push(
        "s/equals_L",
        key.pk,
        sig_of(&base_r, &L_BYTES),
        &s_msg,
        non_canonical_s,
        non_canonical_s,
    );
    let l_minus_1 = sub256(&L_BYTES, &{
        let mut one = [0u8; 32];
        one[0] = 1;
        one
    });
    assert_eq!(
        Scalar::from_canonical_bytes(l_minus_1).unwrap(),
        -Scalar::ONE
    );
    let equation = Some(bad(Reason::EquationFailed));
    c.push(
        "s/L_minus_1",
        key.pk,
        sig_of(&base_r, &l_minus_1),
        &s_msg,
        equation,
        equation,
    );
    c.push(
        "s/zero",
        key.pk,
        sig_of(&base_r, &[0; 32]),
        &s_msg,
        equation,
        equation,
    );
    c.push(
        "s/all_ones",
        key.pk,
        sig_of(&base_r, &[0xff; 32]),
        &s_msg,
        non_canonical_s,
        non_canonical_s,
    );
    for bit in [253u32, 254, 255] {
        let mut s = base_s;
        s[31] |= 1 << (bit - 248);
        c.push(
            format!("s/bit{bit}_set"),
            key.pk,
            sig_of(&base_r, &s),
            &s_msg,
            non_canonical_s,
            non_canonical_s,
        );
    }
    {
        let mut s = base_s;
        s[31] |= 0xe0;
        c.push(
            "s/top3_bits_set",
            key.pk,
            sig_of(&base_r, &s),
            &s_msg,
            non_canonical_s,
            non_canonical_s,
        );
    }
    // S >= L is checked before anything else: it hides every other defect, and turns the
    // always-valid small-order construction invalid.
    let s_zero_plus_l = L_BYTES;
    let off_curve = first_off_curve_small_y();
    c.push(
        "s/plus_L/small_order_A_and_R",
        torsion_bytes(1),
        sig_of(&torsion_bytes(2), &s_zero_plus_l),
        &s_msg,
        non_canonical_s,
        non_canonical_s,
    );
    c.push(
        "s/plus_L/small_order_R",
        key.pk,
        sig_of(
            &torsion_bytes(4),
            &add256(
                key.sign_raw(&Scalar::ZERO, &torsion_bytes(4), &key.pk, &s_msg)[32..]
                    .try_into()
                    .unwrap(),
                &L_BYTES,
            )
            .unwrap(),
        ),
        &s_msg,
        non_canonical_s,
        non_canonical_s,
    );
    c.push(
        "s/plus_L/A_off_curve",
        off_curve[0],
        sig_of(&base_r, &add256(&base_s, &L_BYTES).unwrap()),
        &s_msg,
        non_canonical_s,
        non_canonical_s,
    );
    c.push(
        "s/plus_L/R_off_curve",
        key.pk,
        sig_of(&off_curve[0], &add256(&base_s, &L_BYTES).unwrap()),
        &s_msg,
        non_canonical_s,
        non_canonical_s,
    );

    // --- Non-canonical encodings y = p + delta, both sign bits, as A and as R. ---
    for delta in 0..19u8 {
        for sign in [false, true] {
            let enc = y_above_p(delta, sign);
            let tag = format!("y=p+{delta}/sign{}", u8::from(sign));
            let msg = format!("non-canonical {tag}").into_bytes();
            let point = decode(&enc);
            if let Some(p) = point {
                assert_ne!(p.compress().0, enc, "{tag} is non-canonical");
            }
            let small = point.map(|p| p.is_small_order());

            // As A: R = [r]B, S = r, so [S]B - R - [k]A = -[k]A.
            let r = nonce(&format!("non-canonical A {tag}"));
            let (zip, strict) = match small {
                None => (bad(Reason::KeyNotOnCurve), bad(Reason::KeyNotOnCurve)),
                Some(true) => (VALID, bad(Reason::SmallOrderKey)),
                Some(false) => (bad(Reason::EquationFailed), bad(Reason::EquationFailed)),
            };
            c.push(
                format!("non_canonical_A/{tag}"),
                enc,
                sig_of(&mul_base(&r).compress().0, r.as_bytes()),
                &msg,
                Some(zip),
                Some(strict),
            );

            // As R: honest key, S = k·a with k over the non-canonical R bytes, so
            // [S]B - [k]A = O and the equation holds iff R is small order.
            let (zip, strict) = match small {
                None => (bad(Reason::RNotOnCurve), bad(Reason::RNotOnCurve)),
                Some(true) => (VALID, bad(Reason::SmallOrderR)),
                Some(false) => (bad(Reason::EquationFailed), bad(Reason::NonCanonicalR)),
            };
            c.push(
                format!("non_canonical_R/{tag}"),
                key.pk,
                key.sign_raw(&Scalar::ZERO, &enc, &key.pk, &msg),
                &msg,
                Some(zip),
                Some(strict),
            );
        }
    }

    // --- "Negative zero": x = 0 with the sign bit set, y = 1 (identity) and y = -1. ---
    let mut y_minus_1 = [0xffu8; 32];
    y_minus_1[0] = 0xec;
    y_minus_1[31] = 0x7f;
    for (label, canonical) in [("y=1", small_y(1, false)), ("y=-1", y_minus_1)] {
        let mut neg_zero = canonical;
        neg_zero[31] |= 0x80;
        let p = decode(&neg_zero).expect("negative zero decodes");
        assert_eq!(p.compress().0, canonical);
        assert!(p.is_small_order());
        let msg = format!("negative zero {label}").into_bytes();
        let r = nonce(&format!("negative zero {label}"));
        c.push(
            format!("negative_zero/{label}/as_A/R_rB_S_r"),
            neg_zero,
            sig_of(&mul_base(&r).compress().0, r.as_bytes()),
            &msg,
            Some(VALID),
            Some(bad(Reason::SmallOrderKey)),
        );
        c.push(
            format!("negative_zero/{label}/as_A/R_small_S0"),
            neg_zero,
            sig_of(&torsion_bytes(6), &[0; 32]),
            &msg,
            Some(VALID),
            Some(bad(Reason::SmallOrderKey)),
        );
        c.push(
            format!("negative_zero/{label}/as_R"),
            key.pk,
            key.sign_raw(&Scalar::ZERO, &neg_zero, &key.pk, &msg),
            &msg,
            Some(VALID),
            Some(bad(Reason::SmallOrderR)),
        );
        c.push(
            format!("negative_zero/{label}/as_A_and_R"),
            neg_zero,
            sig_of(&neg_zero, &[0; 32]),
            &msg,
            Some(VALID),
            Some(bad(Reason::SmallOrderKey)),
        );
    }

    // --- Points not on the curve, as A and as R. ---
    let mut off: Vec<(String, [u8; 32])> = off_curve
        .iter()
        .map(|b| (format!("y={}/sign{}", b[0], b[31] >> 7), *b))
        .collect();
    // Off-curve encodings with large y, found by hashing a counter.
    off.extend(
        (0u32..)
            .map(|n| {
                let mut b: [u8; 32] = Sha512::new()
                    .chain_update(b"blockverify off-curve\0")
                    .chain_update(n.to_le_bytes())
                    .finalize()[..32]
                    .try_into()
                    .unwrap();
                b[31] &= 0x7f; // canonical y < 2^255 - 19 with overwhelming probability
                (n, b)
            })
            .filter(|(_, b)| decode(b).is_none())
            .take(3)
            .map(|(n, b)| (format!("hashed#{n}"), b)),
    );
    for (tag, enc) in &off {
        assert!(decode(enc).is_none());
        let msg = format!("off curve {tag}").into_bytes();
        c.push(
            format!("off_curve_A/{tag}"),
            *enc,
            key.signer.sign(&msg),
            &msg,
            Some(bad(Reason::KeyNotOnCurve)),
            Some(bad(Reason::KeyNotOnCurve)),
        );
        c.push(
            format!("off_curve_R/{tag}"),
            key.pk,
            key.sign_raw(&Scalar::ZERO, enc, &key.pk, &msg),
            &msg,
            Some(bad(Reason::RNotOnCurve)),
            Some(bad(Reason::RNotOnCurve)),
        );
    }

    // --- Several defects at once: the first check in the documented order wins. ---
    let msg = b"order of checks".to_vec();
    let key_off = Some(bad(Reason::KeyNotOnCurve));
    let r_off = Some(bad(Reason::RNotOnCurve));
    c.push(
        "order/A_off_curve+R_off_curve",
        off_curve[0],
        sig_of(&off_curve[1], &[0; 32]),
        &msg,
        key_off,
        key_off,
    );
    c.push(
        "order/A_off_curve+R_small_order",
        off_curve[0],
        sig_of(&torsion_bytes(0), &[0; 32]),
        &msg,
        key_off,
        key_off,
    );
    c.push(
        "order/A_small_order+R_off_curve",
        torsion_bytes(4),
        sig_of(&off_curve[0], &[0; 32]),
        &msg,
        r_off,
        r_off,
    );
    c.push(
        "order/A_small_order+R_small_order",
        torsion_bytes(2),
        sig_of(&torsion_bytes(5), &[0; 32]),
        &msg,
        Some(VALID),
        Some(bad(Reason::SmallOrderKey)),
    );
    c.push(
        "order/A_small_order+R_non_canonical_small_order",
        torsion_bytes(7),
        sig_of(&y_above_p(1, false), &[0; 32]),
        &msg,
        Some(VALID),
        Some(bad(Reason::SmallOrderKey)),
    );
    {
        // Mixed-order A with a small-order R: R is refused before the equation.
        let a_mixed = (point_a + torsion(3)).compress().0;
        let r = torsion_bytes(2);
        c.push(
            "order/A_mixed_order+R_small_order",
            a_mixed,
            key.sign_raw(&Scalar::ZERO, &r, &a_mixed, &msg),
            &msg,
            Some(VALID),
            Some(bad(Reason::SmallOrderR)),
        );
    }

    // --- Classics. ---
    c.push(
        "misc/all_zero",
        [0; 32],
        [0; 64],
        b"",
        Some(VALID),
        Some(bad(Reason::SmallOrderKey)),
    );
    c.push(
        "misc/identity_A_identity_R_S0",
        small_y(1, false),
        sig_of(&small_y(1, false), &[0; 32]),
        b"anything at all",
        Some(VALID),
        Some(bad(Reason::SmallOrderKey)),
    );
    c.push(
        "misc/all_ff",
        [0xff; 32],
        [0xff; 64],
        b"",
        non_canonical_s,
        non_canonical_s,
    );

    // --- Bit flips in every field of one valid signature over a 4-byte message. ---
    let flipper = Honest::new([0x5a; 32]);
    let msg = *b"blk!";
    let sig = flipper.signer.sign(&msg);
    c.push(
        "bitflip/none",
        flipper.pk,
        sig,
        &msg,
        Some(VALID),
        Some(VALID),
    );
    for bit in 0..256 {
        let mut pk = flipper.pk;
        pk[bit / 8] ^= 1 << (bit % 8);
        c.push(format!("bitflip/pk/{bit:03}"), pk, sig, &msg, None, None);
    }
    for bit in 0..512 {
        let mut s = sig;
        s[bit / 8] ^= 1 << (bit % 8);
        // Setting one of S's top three bits makes S >= L.
        let intent = (bit >= 509).then_some(bad(Reason::NonCanonicalS));
        c.push(
            format!("bitflip/sig/{bit:03}"),
            flipper.pk,
            s,
            &msg,
            intent,
            intent,
        );
    }
    for bit in 0..32 {
        let mut m = msg;
        m[bit / 8] ^= 1 << (bit % 8);
        c.push(
            format!("bitflip/msg/{bit:02}"),
            flipper.pk,
            sig,
            &m,
            equation,
            equation,
        );
    }

    c.0
}

/// Small canonical `y` values (sign bit clear, then one with it set) that are not on the curve.
fn first_off_curve_small_y() -> Vec<[u8; 32]> {
    let mut out: Vec<[u8; 32]> = (2u8..=255)
        .map(|y| small_y(y, false))
        .filter(|b| decode(b).is_none())
        .take(4)
        .collect();
    let signed = (2u8..=255)
        .map(|y| small_y(y, true))
        .find(|b| decode(b).is_none())
        .expect("about half of all y are off the curve");
    out.push(signed);
    out
}

/// Builds every case, takes validity from the oracles and reasons from `verify_single`, and
/// refuses (panics) where they disagree or where a case misses its intended verdict.
fn generate_records() -> Vec<Record> {
    let built = build_cases();
    let mut names = HashSet::new();
    let mut problems = Vec::new();
    let mut records = Vec::with_capacity(built.len());
    for b in &built {
        assert!(
            names.insert(b.name.clone()),
            "duplicate case name {}",
            b.name
        );
        let item = SigItem::new(&b.pk, &b.sig, &b.msg);
        let mut verdicts = [VALID; 2];
        for (slot, (policy, intent)) in POLICIES.into_iter().zip([b.zip215, b.strict]).enumerate() {
            let oracle = oracle_valid(policy, &b.pk, &b.sig, &b.msg);
            let got = verify_single(policy, &item);
            if got.is_valid() != oracle {
                problems.push(format!(
                    "ORACLE DISAGREEMENT {} under {policy:?}: oracle valid = {oracle}, verify_single = {got:?}\n  pk  = {}\n  sig = {}\n  msg = {}",
                    b.name,
                    hex::encode(b.pk),
                    hex::encode(b.sig),
                    hex::encode(&b.msg)
                ));
            }
            if let Some(want) = intent
                && want != got
            {
                problems.push(format!(
                    "{} under {policy:?}: constructed to be {want:?}, verify_single says {got:?} (oracle valid = {oracle})",
                    b.name
                ));
            }
            verdicts[slot] = got;
        }
        records.push(Record {
            name: b.name.clone(),
            pk: hex::encode(b.pk),
            sig: hex::encode(b.sig),
            msg: hex::encode(&b.msg),
            zip215: verdict_str(verdicts[0]).to_string(),
            strict: verdict_str(verdicts[1]).to_string(),
        });
    }
    assert!(
        problems.is_empty(),
        "{} problem(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
    records
}

fn render(records: &[Record]) -> String {
    let mut out = String::new();
    for r in records {
        out.push_str(&serde_json::to_string(r).expect("serialize"));
        out.push('\n');
    }
    out
}

/// Category of a case: its name up to the first `/`.
fn category(name: &str) -> &str {
    name.split('/').next().unwrap_or(name)
}

/// (Re)writes `tests/data/edge_cases.jsonl`.
#[test]
#[ignore = "writes tests/data/edge_cases.jsonl; run explicitly to regenerate"]
fn regenerate_edge_cases() {
    let records = generate_records();
    let path = data_path();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, render(&records)).unwrap();
    let mut by_category: BTreeMap<&str, usize> = BTreeMap::new();
    let mut by_verdict: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for r in &records {
        *by_category.entry(category(&r.name)).or_default() += 1;
        *by_verdict.entry(("zip215", &r.zip215)).or_default() += 1;
        *by_verdict.entry(("strict", &r.strict)).or_default() += 1;
    }
    eprintln!("wrote {} cases to {}", records.len(), path.display());
    for (k, n) in by_category {
        eprintln!("  {k:24} {n}");
    }
    for ((policy, v), n) in by_verdict {
        eprintln!("  {policy} {v:34} {n}");
    }
}

// ---------------------------------------------------------------------------------------------
// Regular tests over the committed file
// ---------------------------------------------------------------------------------------------

#[test]
fn data_file_is_complete() {
    let cases = load_cases();
    assert!(cases.len() >= 800, "only {} cases", cases.len());
    let mut names = HashSet::new();
    for c in &cases {
        assert!(
            names.insert(c.name.as_str()),
            "duplicate case name {}",
            c.name
        );
    }
    for policy in POLICIES {
        let seen: HashSet<Verdict> = cases.iter().map(|c| c.expected(policy)).collect();
        assert!(seen.contains(&VALID), "no valid case under {policy:?}");
        for reason in reasons_for(policy) {
            assert!(
                seen.contains(&bad(reason)),
                "no case with reason {reason:?} under {policy:?}"
            );
        }
        // Zip215 can never report a Strict-only reason.
        if policy == Policy::Zip215 {
            for c in &cases {
                if let Some(r) = c.zip215.reason() {
                    assert!(reasons_for(policy).contains(&r), "{}: {r:?}", c.name);
                }
            }
        }
    }
    // Every RFC 8032 vector is present and valid.
    for (name, ..) in RFC8032 {
        let c = cases.iter().find(|c| c.name == name).expect(name);
        assert_eq!((c.zip215, c.strict), (VALID, VALID), "{name}");
    }
}

#[test]
fn data_file_matches_generator() {
    let expected = render(&generate_records());
    let committed = std::fs::read_to_string(data_path()).expect("data file");
    assert!(
        committed == expected,
        "tests/data/edge_cases.jsonl is stale; run \
         `cargo test --test edge_cases -- --ignored regenerate_edge_cases`"
    );
}

#[test]
fn rfc8032_vectors_are_reproduced_by_signer() {
    for (name, sk, pk, msg, sig) in RFC8032 {
        let signer = SigningKey::from_seed(&unhex(sk));
        let msg = hex::decode(msg).unwrap();
        assert_eq!(hex::encode(signer.public_key()), pk, "{name}");
        assert_eq!(hex::encode(signer.sign(&msg)), sig, "{name}");
    }
}

#[test]
fn verify_single_gives_recorded_verdicts() {
    let mut failures = Vec::new();
    for c in load_cases() {
        for policy in POLICIES {
            let got = verify_single(policy, &c.item());
            if got != c.expected(policy) {
                failures.push(format!(
                    "{} under {policy:?}: recorded {:?}, got {got:?}",
                    c.name,
                    c.expected(policy)
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn oracles_agree_with_recorded_validity() {
    let mut failures = Vec::new();
    for c in load_cases() {
        for policy in POLICIES {
            let oracle = oracle_valid(policy, &c.pk, &c.sig, &c.msg);
            if oracle != c.expected(policy).is_valid() {
                failures.push(format!(
                    "{} under {policy:?}: recorded {:?}, oracle valid = {oracle}",
                    c.name,
                    c.expected(policy)
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Every verifier configuration the batch tests run.
fn verifiers() -> Vec<(String, Verifier)> {
    let mut out = Vec::new();
    for policy in POLICIES {
        for threads in [1, 2] {
            for cache in [0, DEFAULT_KEY_CACHE_SIZE] {
                let v = Verifier::builder()
                    .policy(policy)
                    .threads(threads)
                    .key_cache_size(cache)
                    .build()
                    .expect("verifier");
                out.push((format!("{policy:?}/threads={threads}/cache={cache}"), v));
            }
        }
    }
    out
}

#[test]
fn verifier_gives_recorded_verdicts_in_one_batch() {
    let cases = load_cases();
    let items: Vec<SigItem<'_>> = cases.iter().map(Case::item).collect();
    for (config, verifier) in verifiers() {
        // Twice: the second call runs with the engine's failure estimate (and key cache)
        // warmed by the first, which changes its batching but must not change verdicts.
        for round in 0..2 {
            let report = verifier.verify_signatures(&items);
            assert_eq!(report.len(), cases.len());
            let failures: Vec<String> = cases
                .iter()
                .zip(report.verdicts())
                .filter(|(c, got)| **got != c.expected(verifier.policy()))
                .map(|(c, got)| {
                    format!(
                        "{}: recorded {:?}, got {got:?}",
                        c.name,
                        c.expected(verifier.policy())
                    )
                })
                .collect();
            assert!(
                failures.is_empty(),
                "{config} round {round}:\n{}",
                failures.join("\n")
            );
        }
    }
}

/// A fixed-seed permutation (SplitMix64 + Fisher–Yates).
fn shuffle<T>(v: &mut [T], seed: u64) {
    let mut state = seed;
    let mut next = || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    for i in (1..v.len()).rev() {
        let j = (next() % (i as u64 + 1)) as usize;
        v.swap(i, j);
    }
}

#[derive(Clone, Copy)]
enum Slot {
    Case(usize),
    Filler(usize),
}

#[test]
fn verifier_gives_recorded_verdicts_among_valid_traffic() {
    let cases = load_cases();
    let workload = Workload::generate(&WorkloadSpec {
        items: 2 * cases.len() + 300,
        issuers: 16,
        message_len: 40,
        invalid_fraction: 0.0,
        seed: 0xed25519,
    });
    assert!(workload.corrupted.is_empty());
    let filler = workload.items();
    for policy in POLICIES {
        for f in &filler {
            assert!(verify_single(policy, f).is_valid());
        }
    }
    for (seed, (config, verifier)) in verifiers().into_iter().enumerate() {
        let mut slots: Vec<Slot> = (0..cases.len())
            .map(Slot::Case)
            .chain((0..filler.len()).map(Slot::Filler))
            .collect();
        shuffle(&mut slots, 0x5eed_0000 + seed as u64);
        let items: Vec<SigItem<'_>> = slots
            .iter()
            .map(|s| match *s {
                Slot::Case(i) => cases[i].item(),
                Slot::Filler(j) => filler[j],
            })
            .collect();
        let report = verifier.verify_signatures(&items);
        assert_eq!(report.len(), items.len());
        let mut failures = Vec::new();
        for (pos, (slot, got)) in slots.iter().zip(report.verdicts()).enumerate() {
            let (what, want) = match *slot {
                Slot::Case(i) => (cases[i].name.clone(), cases[i].expected(verifier.policy())),
                Slot::Filler(j) => (format!("filler #{j}"), VALID),
            };
            if *got != want {
                failures.push(format!("{what} at {pos}: expected {want:?}, got {got:?}"));
            }
        }
        assert!(failures.is_empty(), "{config}:\n{}", failures.join("\n"));
    }
}
