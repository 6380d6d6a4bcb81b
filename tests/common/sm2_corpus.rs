//! SM2 items for comparing engines item by item (the GPU kernel against the CPU engine and
//! `verify_sm2_single`): every reason of the negative suite, RustCrypto-signed traffic in
//! every key form, signature form and ID, and prehashed items built so that the joint sum's
//! partial sums meet — equal (a doubling inside an addition) or opposite (infinity part-way),
//! and the sum itself at infinity — which only an adversary who knows the key's discrete log
//! can arrange, and which generic formulas get wrong.
#![allow(dead_code)]

use blockverify::Sm2Item;
use blockverify::sig::sm2::encode_der_signature;
use num_bigint::BigUint;
use rand::{RngExt, SeedableRng};
use sm2::dsa::signature::Signer;

const N_HEX: &str = "FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123";
const P_HEX: &str = "FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF";

/// An SM2 item that owns its bytes.
#[derive(Clone, Debug)]
pub struct OwnedSm2 {
    pub key: Vec<u8>,
    pub raw: [u8; 64],
    /// A DER form of the signature to use instead of `raw`.
    pub der: Option<Vec<u8>>,
    pub message: Vec<u8>,
    pub id: Option<Vec<u8>>,
    /// A digest to check against instead of hashing `message`.
    pub prehashed: Option<[u8; 32]>,
}

impl OwnedSm2 {
    pub fn item(&self) -> Sm2Item<'_> {
        let item = match (&self.prehashed, &self.der) {
            (Some(e), _) => return Sm2Item::prehashed(&self.key, &self.raw, e),
            (None, Some(der)) => Sm2Item::der(&self.key, der, &self.message),
            (None, None) => Sm2Item::new(&self.key, &self.raw, &self.message),
        };
        match &self.id {
            Some(id) => item.with_id(id),
            None => item,
        }
    }
}

fn n() -> BigUint {
    BigUint::parse_bytes(N_HEX.as_bytes(), 16).unwrap()
}

fn be32(x: &BigUint) -> [u8; 32] {
    let bytes = x.to_bytes_be();
    let mut out = [0u8; 32];
    out[32 - bytes.len()..].copy_from_slice(&bytes);
    out
}

/// `04 ‖ x ‖ y` of `[u]G` for `u` in [1, n − 1], by RustCrypto.
fn public_of(u: &BigUint) -> Vec<u8> {
    let secret = sm2::SecretKey::from_slice(&be32(u)).expect("u in [1, n - 1]");
    sm2::dsa::SigningKey::new("1234567812345678", &secret)
        .expect("signing key")
        .verifying_key()
        .to_sec1_bytes()
        .to_vec()
}

/// Prehashed items with keys `[k]G` of small `k` (and `n − k`) and small `r`, `s`: `e` is
/// chosen so that each is valid — `e = (r − x₁) mod n` for the sum `[s + t·k]G` computed by
/// RustCrypto — plus the same item with `e + 1` (invalid), and, where `s + t·k ≡ 0`, the sum
/// at infinity. With small scalars the ladder's partial sums and the comb's entries coincide
/// again and again.
pub fn meeting_sums() -> Vec<OwnedSm2> {
    let n = n();
    let small = |v: u64| BigUint::from(v);
    let ks: Vec<BigUint> = [1u64, 2, 3, 7, 16]
        .iter()
        .map(|&k| small(k))
        .chain([1u64, 2, 7].iter().map(|&k| &n - small(k)))
        .collect();
    let scalars: Vec<BigUint> = [1u64, 2, 3, 8, 9, 15, 16, 17, 255, 256]
        .iter()
        .map(|&v| small(v))
        .chain([1u64, 2, 9].iter().map(|&v| &n - small(v)))
        .collect();
    let mut out = Vec::new();
    for k in &ks {
        let key = public_of(k);
        for (j, s) in scalars.iter().enumerate() {
            // A few r per (k, s): small ones, and the one that puts the sum at infinity
            // (s + (r + s)·k ≡ 0).
            for r in [
                &scalars[(j + 3) % scalars.len()],
                &scalars[(j * 7 + 1) % scalars.len()],
            ] {
                let t = (r + s) % &n;
                if t == BigUint::ZERO {
                    continue;
                }
                let u = (s + &t * k) % &n;
                let mut raw = [0u8; 64];
                raw[..32].copy_from_slice(&be32(r));
                raw[32..].copy_from_slice(&be32(s));
                let item = |e: [u8; 32]| OwnedSm2 {
                    key: key.clone(),
                    raw,
                    der: None,
                    message: Vec::new(),
                    id: None,
                    prehashed: Some(e),
                };
                if u == BigUint::ZERO {
                    out.push(item([7; 32]));
                    continue;
                }
                let x1 = BigUint::from_bytes_be(&public_of(&u)[1..33]);
                let e = (r + &n - &x1 % &n) % &n;
                out.push(item(be32(&e)));
                out.push(item(be32(&((e + 1u32) % &n))));
            }
            // The sum at infinity with this k and s: r = t − s where t·k ≡ −s, i.e. for k = 1,
            // t = n − s, r = n − 2s (when in range).
            if *k == small(1) {
                let two_s = (s * 2u32) % &n;
                let r = (&n + &n - &two_s) % &n;
                if r != BigUint::ZERO {
                    let mut raw = [0u8; 64];
                    raw[..32].copy_from_slice(&be32(&r));
                    raw[32..].copy_from_slice(&be32(s));
                    out.push(OwnedSm2 {
                        key: key.clone(),
                        raw,
                        der: None,
                        message: Vec::new(),
                        id: None,
                        prehashed: Some([3; 32]),
                    });
                }
            }
        }
    }
    out
}

/// Signed traffic from a few RustCrypto signers, in every key form (65, 64 and 33 bytes),
/// raw and DER signatures, default, empty and other IDs, and corruptions (a flipped bit in
/// `r`, `s`, the message or the key's y; `r` and `s` swapped; another signer's key), mixed
/// at random with seed `seed`.
pub fn signed_traffic(count: usize, seed: u64) -> Vec<OwnedSm2> {
    let mut rng = rand::rngs::ChaCha20Rng::seed_from_u64(seed);
    let ids: [&[u8]; 3] = [b"1234567812345678", b"", b"ALICE123@YAHOO.COM"];
    let signers: Vec<(Vec<Vec<u8>>, usize, sm2::dsa::SigningKey)> = (0..6)
        .map(|i| {
            let id = ids[i % ids.len()];
            let secret = sm2::SecretKey::from_slice(&rng.random::<[u8; 32]>()).expect("in range");
            let key = sm2::dsa::SigningKey::new(std::str::from_utf8(id).unwrap(), &secret)
                .expect("signing key");
            let full = key.verifying_key().to_sec1_bytes().to_vec();
            let mut compressed = vec![0x02 | (full[64] & 1)];
            compressed.extend_from_slice(&full[1..33]);
            let forms = vec![full.clone(), full[1..].to_vec(), compressed];
            (forms, i % ids.len(), key)
        })
        .collect();
    (0..count)
        .map(|i| {
            let (forms, id, key) = &signers[rng.random_range(0..signers.len())];
            let mut message: Vec<u8> = (0..rng.random_range(0..300usize))
                .map(|_| rng.random())
                .collect();
            let sig: sm2::dsa::Signature = key.sign(&message);
            let mut raw: [u8; 64] = sig.to_bytes().as_slice().try_into().unwrap();
            let mut key_bytes = forms[rng.random_range(0..forms.len())].clone();
            match rng.random_range(0..12u32) {
                0 => raw[rng.random_range(0..32usize)] ^= 1 << rng.random_range(0..8u32),
                1 => raw[32 + rng.random_range(0..32usize)] ^= 1 << rng.random_range(0..8u32),
                2 if !message.is_empty() => message[0] ^= 0x20,
                3 => raw.rotate_left(32),
                4 => key_bytes = signers[(i + 1) % signers.len()].0[0].clone(),
                5 if key_bytes.len() == 65 => key_bytes[64] ^= 1,
                _ => {}
            }
            let der = (i % 5 == 1).then(|| encode_der_signature(&raw));
            let id = match id {
                0 if i % 2 == 0 => None,
                k => Some(ids[*k].to_vec()),
            };
            OwnedSm2 {
                key: key_bytes,
                raw,
                der,
                message,
                id,
                prehashed: None,
            }
        })
        .collect()
}

/// One item for each reason checks 1–5 give (the CPU engine decides them before any point
/// arithmetic), built around one valid signature.
pub fn early_failures() -> Vec<OwnedSm2> {
    let secret = sm2::SecretKey::from_slice(&[9; 32]).unwrap();
    let key = sm2::dsa::SigningKey::new("1234567812345678", &secret).unwrap();
    let public = key.verifying_key().to_sec1_bytes().to_vec();
    let message = b"invoice 42".to_vec();
    let sig: sm2::dsa::Signature = key.sign(&message);
    let good: [u8; 64] = sig.to_bytes().as_slice().try_into().unwrap();
    let n = be32(&n());
    let p = be32(&BigUint::parse_bytes(P_HEX.as_bytes(), 16).unwrap());
    let with = |r: [u8; 32], s: [u8; 32]| {
        let mut x = [0u8; 64];
        x[..32].copy_from_slice(&r);
        x[32..].copy_from_slice(&s);
        x
    };
    let (r, s): ([u8; 32], [u8; 32]) = (
        good[..32].try_into().unwrap(),
        good[32..].try_into().unwrap(),
    );
    let mut one = [0u8; 32];
    one[31] = 1;
    let mut n_minus_1 = n;
    n_minus_1[31] -= 1;
    let mut off = public.clone();
    off[64] ^= 1;
    let mut big_x = public.clone();
    big_x[1..33].copy_from_slice(&p);
    let plain = |key: &[u8], raw: [u8; 64]| OwnedSm2 {
        key: key.to_vec(),
        raw,
        der: None,
        message: message.clone(),
        id: None,
        prehashed: None,
    };
    let mut out = vec![
        plain(&public, good),
        plain(&public, with([0; 32], s)),
        plain(&public, with(n, s)),
        plain(&public, with(r, [0; 32])),
        plain(&public, with(r, n)),
        plain(&public, with(one, n_minus_1)),
        plain(&off, good),
        plain(&big_x, good),
        plain(&public[..63], good),
        plain(&[0u8; 64], good),
        plain(&[0u8; 65], good),
    ];
    let mut der = plain(&public, good);
    der.der = Some(vec![0x30, 0x06, 0x02, 0x01, 0x81, 0x02, 0x01, 0x01]);
    out.push(der);
    let mut long_id = plain(&public, good);
    long_id.id = Some(vec![b'a'; 8192]);
    out.push(long_id);
    out
}

/// The whole corpus: early failures, meeting sums and `traffic` signed items.
pub fn corpus(traffic: usize, seed: u64) -> Vec<OwnedSm2> {
    let mut all = early_failures();
    all.extend(meeting_sums());
    all.extend(signed_traffic(traffic, seed));
    all
}
