//! SM2 verdicts on arbitrary and near-valid items: this crate's verdict equals RustCrypto
//! `sm2`'s (raw `r ‖ s` form, default ID), the engine (on the IFMA lanes and as its serial
//! twin) equals single verification item by item, and the DER and envelope parsers never
//! panic (a DER signature that parses re-encodes to itself: strictness means one encoding per
//! signature).
#![no_main]

use blockverify::sig::sm2::{
    encode_der_signature, parse_der_signature, parse_fisco_envelope, parse_hyperchain_envelope,
    verify_sm2_single,
};
use blockverify::{Backend, Sm2Item, Verifier};
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use sm2::dsa::signature::{Signer, Verifier as _};

fuzz_target!(|data: &[u8]| {
    // The parsers on the raw input.
    if let Some(rs) = parse_der_signature(data) {
        assert_eq!(
            encode_der_signature(&rs),
            data,
            "a strict DER signature has one encoding"
        );
    }
    let _ = parse_fisco_envelope(data);
    let _ = parse_hyperchain_envelope(data);
    if data.len() < 34 {
        return;
    }
    // Items: mode 0 takes key, signature and message from the input; otherwise a real
    // signature by a key seeded from the input, then a mutation.
    let mut keys = Vec::new();
    let mut sigs = Vec::new();
    let mut msgs = Vec::new();
    for chunk in data.chunks(34).take(8) {
        if chunk.len() < 34 {
            break;
        }
        let (mode, seed) = (chunk[0], &chunk[1..33]);
        let msg = vec![chunk[33]; (chunk[33] % 40) as usize];
        let (key, sig) = if mode % 3 == 0 {
            let mut key = vec![0x04];
            key.extend(std::iter::repeat_n(seed, 2).flatten());
            let mut sig = [0u8; 64];
            sig[..32].copy_from_slice(seed);
            sig[32..].copy_from_slice(seed);
            sig[0] = mode;
            (key, sig)
        } else {
            let Ok(secret) = sm2::SecretKey::from_slice(seed) else {
                continue;
            };
            let signing = sm2::dsa::SigningKey::new("1234567812345678", &secret).expect("key");
            let s: sm2::dsa::Signature = signing.sign(&msg);
            let mut sig: [u8; 64] = s.to_bytes().as_slice().try_into().expect("64 bytes");
            match mode % 7 {
                1 => sig[(mode as usize) % 64] ^= 1,
                2 => sig[..32].fill(0),
                3 => sig[32..].fill(0xff),
                _ => {}
            }
            (signing.verifying_key().to_sec1_bytes().to_vec(), sig)
        };
        keys.push(key);
        sigs.push(sig);
        msgs.push(msg);
    }
    let items: Vec<Sm2Item> = (0..keys.len())
        .map(|i| Sm2Item::new(&keys[i], &sigs[i], &msgs[i]))
        .collect();
    let single: Vec<_> = items.iter().map(verify_sm2_single).collect();
    for (i, v) in single.iter().enumerate() {
        let oracle = sm2::dsa::VerifyingKey::from_sec1_bytes("1234567812345678", &keys[i])
            .ok()
            .and_then(|k| {
                sm2::dsa::Signature::from_slice(&sigs[i])
                    .ok()
                    .map(|s| k.verify(&msgs[i], &s).is_ok())
            })
            .unwrap_or(false);
        assert_eq!(v.is_valid(), oracle, "item {i}: {v:?}");
    }
    // The engine (on the IFMA lanes where the CPU has them) and its serial twin alone.
    static VERIFIERS: OnceLock<[Verifier; 2]> = OnceLock::new();
    let verifiers = VERIFIERS.get_or_init(|| {
        [true, false].map(|lanes| {
            Verifier::builder()
                .backend(Backend::Cpu)
                .threads(1)
                .sm2_lanes(lanes)
                .build()
                .expect("verifier")
        })
    });
    for verifier in verifiers {
        assert_eq!(verifier.verify_sm2(&items).verdicts(), single.as_slice());
    }
});
