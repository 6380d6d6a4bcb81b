//! Signature items of every kind where two policies, two backends or two batch sizes could
//! disagree: honest, tampered, flipped bits in `S`, `R` and the key, small-order and
//! mixed-order points, non-canonical `S`. The random-mix tests of the library, the GPU and the
//! CLI draw their items from here, so they all exercise the same cases.
#![forbid(unsafe_code)]

use blockverify::SigItem;
use curve25519_dalek::constants::{ED25519_BASEPOINT_POINT, EIGHT_TORSION};
use curve25519_dalek::scalar::Scalar;

use crate::SigningKey;

/// An owned signature item.
#[derive(Clone, Debug)]
pub struct Owned {
    /// The public key.
    pub pk: [u8; 32],
    /// The signature.
    pub sig: [u8; 64],
    /// The message.
    pub msg: Vec<u8>,
}

impl Owned {
    /// The item, borrowing this one's bytes.
    pub fn item(&self) -> SigItem<'_> {
        SigItem::new(&self.pk, &self.sig, &self.msg)
    }
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

/// The RFC 8032 challenge `SHA-512(R ‖ A ‖ M) mod L`.
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
