//! Shared helpers for the integration tests: item construction and the peer oracles.
#![allow(dead_code)]

pub mod edge_data;
pub mod field_build;

use blockverify::workload::SigningKey;
use blockverify::{Policy, SigItem};
use curve25519_dalek::constants::{ED25519_BASEPOINT_POINT, EIGHT_TORSION};
use curve25519_dalek::scalar::Scalar;

/// An owned signature item.
#[derive(Clone, Debug)]
pub struct Owned {
    pub pk: [u8; 32],
    pub sig: [u8; 64],
    pub msg: Vec<u8>,
}

impl Owned {
    pub fn item(&self) -> SigItem<'_> {
        SigItem::new(&self.pk, &self.sig, &self.msg)
    }
}

/// `ed25519-zebra` 5 single verification, the definition of `Zip215`; a key that does not
/// decode is invalid.
pub fn zebra_valid(pk: &[u8; 32], sig: &[u8; 64], msg: &[u8]) -> bool {
    ed25519_zebra::VerificationKey::try_from(*pk)
        .and_then(|vk| vk.verify(&ed25519_zebra::Signature::from_bytes(sig), msg))
        .is_ok()
}

/// `ed25519-dalek` 3 `verify_strict`, the definition of `Strict`; a key that does not decode
/// is invalid.
pub fn dalek_strict_valid(pk: &[u8; 32], sig: &[u8; 64], msg: &[u8]) -> bool {
    ed25519_dalek::VerifyingKey::from_bytes(pk)
        .and_then(|vk| vk.verify_strict(msg, &ed25519_dalek::Signature::from_bytes(sig)))
        .is_ok()
}

/// The peer crate that defines `policy`'s verdict.
pub fn oracle_valid(policy: Policy, pk: &[u8; 32], sig: &[u8; 64], msg: &[u8]) -> bool {
    match policy {
        Policy::Zip215 => zebra_valid(pk, sig, msg),
        Policy::Strict => dalek_strict_valid(pk, sig, msg),
        other => panic!("no oracle for policy {other:?}"),
    }
}

pub fn oracle(policy: Policy, o: &Owned) -> bool {
    oracle_valid(policy, &o.pk, &o.sig, &o.msg)
}

/// The kinds of item the random mixes are made of. Several are valid under one policy and
/// not the other, which is where a backend or a batch could disagree.
pub const KINDS: u8 = 10;

/// Builds an item of kind `kind % KINDS` from `seed`.
pub fn make_item(kind: u8, seed: u64) -> Owned {
    let mut s = [0u8; 32];
    s[..8].copy_from_slice(&seed.to_le_bytes());
    s[8] = kind;
    let key = SigningKey::from_seed(&s);
    let msg: Vec<u8> = (0..(seed % 97) as usize)
        .map(|i| (i as u64 ^ seed) as u8)
        .collect();
    let mut o = Owned {
        pk: key.public_key(),
        sig: key.sign(&msg),
        msg,
    };
    let torsion = EIGHT_TORSION[(seed % 8) as usize];
    match kind % KINDS {
        // Honest.
        0 | 1 => {}
        // Message tampered: equation fails.
        2 => {
            if o.msg.is_empty() {
                o.msg.push(1);
            } else {
                o.msg[0] ^= 0x40;
            }
        }
        // A bit of S flipped: non-canonical or equation failure.
        3 => o.sig[32 + (seed % 32) as usize] ^= 1 << (seed % 8),
        // A bit of R flipped: off-curve or equation failure.
        4 => o.sig[(seed % 32) as usize] ^= 1 << (seed % 8),
        // A bit of the key flipped.
        5 => o.pk[(seed % 32) as usize] ^= 1 << (seed % 8),
        // Small-order key, small-order R, S = 0: Zip215 valid, Strict invalid.
        6 => {
            o.pk = torsion.compress().0;
            o.sig[..32].copy_from_slice(&EIGHT_TORSION[((seed >> 3) % 8) as usize].compress().0);
            o.sig[32..].copy_from_slice(&[0u8; 32]);
        }
        // Mixed-order R = [r]B + T with S = r + k·a: Zip215 valid, Strict invalid unless T = O.
        7 => {
            let a = secret_scalar(&s);
            let r = Scalar::from(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
            let big_r = (ED25519_BASEPOINT_POINT * r + torsion).compress().0;
            let k = challenge(&big_r, &o.pk, &o.msg);
            o.sig[..32].copy_from_slice(&big_r);
            o.sig[32..].copy_from_slice((r + k * a).as_bytes());
        }
        // Mixed-order key A + T, signed with a: Zip215 valid, Strict usually invalid.
        8 => {
            let a = secret_scalar(&s);
            let big_a = (ED25519_BASEPOINT_POINT * a + torsion).compress().0;
            let r = Scalar::from(seed | 1);
            let big_r = (ED25519_BASEPOINT_POINT * r).compress().0;
            let k = challenge(&big_r, &big_a, &o.msg);
            o.pk = big_a;
            o.sig[..32].copy_from_slice(&big_r);
            o.sig[32..].copy_from_slice((r + k * a).as_bytes());
        }
        // S + L: same equation, non-canonical S.
        _ => {
            let s_plus_l = add_l(o.sig[32..].try_into().expect("32 bytes"));
            o.sig[32..].copy_from_slice(&s_plus_l);
        }
    }
    o
}

/// The RFC 8032 secret scalar of a seed (clamped, reduced mod L).
pub fn secret_scalar(seed: &[u8; 32]) -> Scalar {
    Scalar::from_bytes_mod_order(SigningKey::from_seed(seed).secret_scalar_bytes())
}

pub fn challenge(r: &[u8; 32], a: &[u8; 32], msg: &[u8]) -> Scalar {
    use sha2::Digest;
    let h = sha2::Sha512::new()
        .chain_update(r)
        .chain_update(a)
        .chain_update(msg)
        .finalize();
    Scalar::from_bytes_mod_order_wide(&h.into())
}

/// `L = 2^252 + 27742317777372353535851937790883648493`, little-endian.
pub const L_BYTES: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];

/// `a + b` on 256-bit little-endian integers; `None` on overflow past 2^256.
pub fn add256(a: &[u8; 32], b: &[u8; 32]) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    let mut carry = 0u16;
    for i in 0..32 {
        let t = u16::from(a[i]) + u16::from(b[i]) + carry;
        out[i] = t as u8;
        carry = t >> 8;
    }
    (carry == 0).then_some(out)
}

/// Little-endian `s + L` (fits: s < L < 2^253).
pub fn add_l(s: &[u8; 32]) -> [u8; 32] {
    add256(s, &L_BYTES).expect("s < L, so s + L < 2^254")
}

/// Whether a missing GPU adapter must fail the GPU tests (`.ci/run` sets
/// `BLOCKVERIFY_REQUIRE_GPU=1`) rather than skip them.
pub fn require_gpu() -> bool {
    std::env::var("BLOCKVERIFY_REQUIRE_GPU").is_ok_and(|v| v == "1")
}

/// A verifier on the CPU engine alone, the reference the GPU and block tests compare with.
pub fn cpu_verifier(policy: Policy) -> blockverify::Verifier {
    blockverify::Verifier::builder()
        .policy(policy)
        .backend(blockverify::Backend::Cpu)
        .build()
        .expect("the CPU engine always builds")
}
