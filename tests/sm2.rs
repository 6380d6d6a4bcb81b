//! SM2 verification (GB/T 32918.2) against the standard's example, RustCrypto `sm2` as the
//! independent oracle, the system OpenSSL's keys and DER signatures, and a negative suite.

use blockverify::sig::sm2::{
    DEFAULT_ID, encode_der_signature, parse_fisco_envelope, verify_sm2_single, z_a,
};
use blockverify::{Backend, Reason, Sm2Item, Verdict, Verifier};
use rand::{RngExt, SeedableRng};
use sm2::dsa::signature::hazmat::PrehashVerifier;
use sm2::dsa::signature::{Signer, Verifier as _};

const P_HEX: &str = "FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF";
const N_HEX: &str = "FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123";

fn h32(s: &str) -> [u8; 32] {
    hex::decode(s).unwrap().try_into().unwrap()
}

/// A signer from the RustCrypto crate: (uncompressed key 04‖x‖y, signing key).
fn signer(secret: [u8; 32], id: &str) -> (Vec<u8>, sm2::dsa::SigningKey) {
    let sk = sm2::SecretKey::from_slice(&secret).expect("secret in range");
    let signing = sm2::dsa::SigningKey::new(id, &sk).expect("signing key");
    let public = signing.verifying_key().to_sec1_bytes().to_vec();
    (public, signing)
}

fn sign(key: &sm2::dsa::SigningKey, message: &[u8]) -> [u8; 64] {
    let sig: sm2::dsa::Signature = key.sign(message);
    sig.to_bytes().as_slice().try_into().unwrap()
}

fn cpu() -> Verifier {
    Verifier::builder()
        .backend(Backend::Cpu)
        .threads(2)
        .build()
        .unwrap()
}

#[test]
fn the_standards_example_verifies() {
    // GM/T 0003.5-2012 / GB/T 32918.5 Annex A on sm2p256v1 (tests/data/guomi/sm2_example.txt).
    let value = |name: &str| -> [u8; 32] {
        let line = include_str!("data/guomi/sm2_example.txt")
            .lines()
            .find(|l| l.starts_with(&format!("{name} ")))
            .expect("the example has this value");
        h32(&line[name.len() + 1..])
    };
    let (public, _) = signer(value("d"), "1234567812345678");
    let message = b"message digest";
    let e = value("e");
    let mut rs = [0u8; 64];
    rs[..32].copy_from_slice(&value("r"));
    rs[32..].copy_from_slice(&value("s"));
    // e = SM3(Z_A ‖ M) with Z_A of the default ID.
    let z = z_a(&public, DEFAULT_ID).unwrap();
    let mut zm = z.to_vec();
    zm.extend_from_slice(message);
    assert_eq!(blockverify::unstable::sm3(&zm), e);
    for key in [&public[..], &public[1..]] {
        assert_eq!(
            verify_sm2_single(&Sm2Item::new(key, &rs, message)),
            Verdict::Valid
        );
        assert_eq!(
            verify_sm2_single(&Sm2Item::prehashed(key, &rs, &e)),
            Verdict::Valid
        );
        let der = encode_der_signature(&rs);
        assert_eq!(
            verify_sm2_single(&Sm2Item::der(key, &der, message)),
            Verdict::Valid
        );
        assert_eq!(
            verify_sm2_single(&Sm2Item::new(key, &rs, b"message digesT")),
            Verdict::Invalid(Reason::EquationFailed)
        );
    }
    // The compressed form of the same key.
    let mut compressed = vec![0x02 | (public[64] & 1)];
    compressed.extend_from_slice(&public[1..33]);
    assert_eq!(
        verify_sm2_single(&Sm2Item::new(&compressed, &rs, message)),
        Verdict::Valid
    );
    compressed[0] ^= 1; // the other y: a different key
    assert_eq!(
        verify_sm2_single(&Sm2Item::new(&compressed, &rs, message)),
        Verdict::Invalid(Reason::EquationFailed)
    );
}

#[test]
fn verdicts_match_rustcrypto_on_random_items_across_ids_forms_and_batches() {
    let mut rng = rand::rngs::ChaCha20Rng::seed_from_u64(0x5_2222);
    let ids: [&str; 3] = ["1234567812345678", "", "alice@example.org"];
    let mut cases = Vec::new(); // (key, sig, msg, id, rustcrypto verdict)
    for i in 0..120 {
        let id = ids[i % 3];
        let (public, key) = signer(rng.random(), id);
        let len = rng.random_range(0..300);
        let message: Vec<u8> = (0..len).map(|_| rng.random()).collect();
        let mut sig = sign(&key, &message);
        let mut msg = message.clone();
        match i % 5 {
            1 => sig[rng.random_range(0..64)] ^= 1 << rng.random_range(0..8),
            2 if !msg.is_empty() => msg[0] ^= 1,
            _ => {}
        }
        let oracle = sm2::dsa::VerifyingKey::from_sec1_bytes(id, &public)
            .unwrap()
            .verify(
                &msg,
                &sm2::dsa::Signature::from_slice(&sig)
                    .map_err(|_| ())
                    .unwrap_or_else(|_| {
                        // An out-of-range r or s: the crate refuses to parse it.
                        sm2::dsa::Signature::from_slice(&sign(&key, b"x")).unwrap()
                    }),
            )
            .is_ok();
        cases.push((public, sig, msg, id.as_bytes().to_vec(), oracle));
    }
    let items: Vec<Sm2Item> = cases
        .iter()
        .map(|(k, s, m, id, _)| Sm2Item::new(k, s, m).with_id(id))
        .collect();
    let single: Vec<Verdict> = items.iter().map(verify_sm2_single).collect();
    for ((.., oracle), v) in cases.iter().zip(&single) {
        assert_eq!(v.is_valid(), *oracle);
    }
    // The engine, every thread count and shuffle, equals the single checks.
    for threads in [1, 2, 3] {
        let v = Verifier::builder()
            .backend(Backend::Cpu)
            .threads(threads)
            .build()
            .unwrap();
        let report = v.verify_sm2(&items);
        assert_eq!(report.verdicts(), single.as_slice());
        let mut order: Vec<usize> = (0..items.len()).collect();
        order.reverse();
        let shuffled: Vec<Sm2Item> = order.iter().map(|&i| items[i]).collect();
        let again = v.verify_sm2(&shuffled);
        for (k, &i) in order.iter().enumerate() {
            assert_eq!(again.verdict(k), Some(single[i]));
        }
    }
}

#[test]
fn frequent_issuers_get_tables_and_the_same_verdicts() {
    // One issuer, many items: the key cache builds the issuer's comb after a few dozen
    // sightings; verdicts before and after are the single checks'.
    let (public, key) = signer([7; 32], "1234567812345678");
    let messages: Vec<Vec<u8>> = (0..300u32).map(|i| i.to_le_bytes().to_vec()).collect();
    let mut sigs: Vec<[u8; 64]> = messages.iter().map(|m| sign(&key, m)).collect();
    for i in (0..300).step_by(7) {
        sigs[i][40] ^= 0x10;
    }
    let items: Vec<Sm2Item> = messages
        .iter()
        .zip(&sigs)
        .map(|(m, s)| Sm2Item::new(&public, s, m))
        .collect();
    let verifier = cpu();
    for _ in 0..3 {
        let report = verifier.verify_sm2(&items);
        for (i, item) in items.iter().enumerate() {
            assert_eq!(report.verdict(i), Some(verify_sm2_single(item)), "item {i}");
            assert_eq!(report.verdict(i).unwrap().is_valid(), i % 7 != 0);
        }
    }
}

#[test]
fn prehashed_items_match_rustcrypto_prehash() {
    let mut rng = rand::rngs::ChaCha20Rng::seed_from_u64(0x5_2223);
    for _ in 0..40 {
        let (public, key) = signer(rng.random(), "1234567812345678");
        let message: [u8; 32] = rng.random();
        let sig = sign(&key, &message);
        let z = z_a(&public, DEFAULT_ID).unwrap();
        let e = blockverify::unstable::sm3(&[&z[..], &message].concat());
        let vk = sm2::dsa::VerifyingKey::from_sec1_bytes("1234567812345678", &public).unwrap();
        let parsed = sm2::dsa::Signature::from_slice(&sig).unwrap();
        assert!(vk.verify_prehash(&e, &parsed).is_ok());
        assert_eq!(
            verify_sm2_single(&Sm2Item::prehashed(&public, &sig, &e)),
            Verdict::Valid
        );
        let mut wrong = e;
        wrong[31] ^= 1;
        assert!(vk.verify_prehash(&wrong, &parsed).is_err());
        assert_eq!(
            verify_sm2_single(&Sm2Item::prehashed(&public, &sig, &wrong)),
            Verdict::Invalid(Reason::EquationFailed)
        );
    }
}

#[test]
fn the_negative_suite_names_the_first_failed_check() {
    let (public, key) = signer([9; 32], "1234567812345678");
    let message = b"invoice 42";
    let good = sign(&key, message);
    let check = |k: &[u8], s: &[u8; 64]| verify_sm2_single(&Sm2Item::new(k, s, message));
    assert_eq!(check(&public, &good), Verdict::Valid);
    let n = h32(N_HEX);
    let p = h32(P_HEX);
    let with = |r: [u8; 32], s: [u8; 32]| -> [u8; 64] {
        let mut x = [0u8; 64];
        x[..32].copy_from_slice(&r);
        x[32..].copy_from_slice(&s);
        x
    };
    let (r, s): ([u8; 32], [u8; 32]) = (
        good[..32].try_into().unwrap(),
        good[32..].try_into().unwrap(),
    );
    let bad = |reason| Verdict::Invalid(reason);
    // r or s = 0 or n.
    assert_eq!(check(&public, &with([0; 32], s)), bad(Reason::RNotInRange));
    assert_eq!(check(&public, &with(n, s)), bad(Reason::RNotInRange));
    assert_eq!(check(&public, &with(r, [0; 32])), bad(Reason::SNotInRange));
    assert_eq!(check(&public, &with(r, n)), bad(Reason::SNotInRange));
    assert_eq!(
        check(&public, &with([0xff; 32], [0xff; 32])),
        bad(Reason::RNotInRange)
    );
    // r + s = n: t = 0.
    let mut one = [0u8; 32];
    one[31] = 1;
    let mut n_minus_1 = n;
    n_minus_1[31] -= 1;
    assert_eq!(check(&public, &with(one, n_minus_1)), bad(Reason::TZero));
    // Keys: off the curve, a coordinate ≥ p, wrong lengths and prefixes, a compressed x with
    // no square root, the "point at infinity" as zeros.
    let mut off = public.clone();
    off[64] ^= 1;
    assert_eq!(check(&off, &good), bad(Reason::KeyNotOnCurve));
    let mut big_x = public.clone();
    big_x[1..33].copy_from_slice(&p);
    assert_eq!(check(&big_x, &good), bad(Reason::KeyMalformed));
    assert_eq!(check(&public[..63], &good), bad(Reason::KeyMalformed));
    assert_eq!(check(&public[..64], &good), bad(Reason::KeyNotOnCurve)); // raw x‖y, wrong y
    let mut prefix = public.clone();
    prefix[0] = 0x06;
    assert_eq!(check(&prefix, &good), bad(Reason::KeyMalformed));
    assert_eq!(check(&[0u8; 64], &good), bad(Reason::KeyNotOnCurve));
    assert_eq!(check(&[0u8; 65], &good), bad(Reason::KeyMalformed));
    let no_root = (0u8..=255)
        .map(|b| {
            let mut k = vec![0x02];
            k.extend_from_slice(&[b; 32]);
            k
        })
        .find(|k| check(k, &good) == bad(Reason::KeyNotOnCurve))
        .expect("some x has no square root");
    assert_eq!(check(&no_root, &good), bad(Reason::KeyNotOnCurve));
    // The key check comes first: a bad key with a bad signature is a key failure.
    assert_eq!(check(&off, &with([0; 32], s)), bad(Reason::KeyNotOnCurve));
    // DER: non-minimal, negative, trailing garbage.
    let der = encode_der_signature(&good);
    let der_check = |d: &[u8]| verify_sm2_single(&Sm2Item::der(&public, d, message));
    assert_eq!(der_check(&der), Verdict::Valid);
    let mut trailing = der.clone();
    trailing.push(0);
    assert_eq!(der_check(&trailing), bad(Reason::SignatureMalformed));
    assert_eq!(
        der_check(&[0x30, 0x06, 0x02, 0x01, 0x81, 0x02, 0x01, 0x01]),
        bad(Reason::SignatureMalformed)
    );
    assert_eq!(
        der_check(&[0x30, 0x07, 0x02, 0x02, 0x00, 0x01, 0x02, 0x01, 0x01]),
        bad(Reason::SignatureMalformed)
    );
    // An over-long ID.
    let long_id = vec![b'a'; 8192];
    assert_eq!(
        verify_sm2_single(&Sm2Item::new(&public, &good, message).with_id(&long_id)),
        bad(Reason::IdTooLong)
    );
    // [s]G + [t]P at infinity: with P = G, s = 1 and t = n − 1 (r = n − 2): the sum is
    // [1 + n − 1]G = O.
    let g = hex::decode(concat!(
        "04",
        "32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7",
        "BC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0"
    ))
    .unwrap();
    let mut n_minus_2 = n;
    n_minus_2[31] -= 2;
    assert_eq!(check(&g, &with(n_minus_2, one)), bad(Reason::SumAtInfinity));
    // A FISCO envelope carries r‖s‖x‖y.
    let mut envelope = good.to_vec();
    envelope.extend_from_slice(&public[1..]);
    let (sig, key64) = parse_fisco_envelope(&envelope).unwrap();
    assert_eq!(check(key64, sig), Verdict::Valid);
}

#[test]
fn keys_whose_y_starts_with_a_zero_byte_hash_all_32_bytes() {
    // Z_A writes y as 32 bytes: find a key with a leading zero byte in y and check that a
    // signature made by RustCrypto (which pads) verifies, and that the unpadded Z_A differs.
    let mut rng = rand::rngs::ChaCha20Rng::seed_from_u64(0x5_2224);
    let (public, key) = loop {
        let (public, key) = signer(rng.random(), "1234567812345678");
        if public[33] == 0 {
            break (public, key);
        }
    };
    let sig = sign(&key, b"zero");
    assert_eq!(
        verify_sm2_single(&Sm2Item::new(&public, &sig, b"zero")),
        Verdict::Valid
    );
}

#[test]
fn the_cpu_backend_checks_sm2_on_the_cpu_engine() {
    let (public, key) = signer([3; 32], "1234567812345678");
    let sig = sign(&key, b"m");
    let items = [Sm2Item::new(&public, &sig, b"m")];
    let report = cpu().verify_sm2(&items);
    assert!(report.all_valid());
    assert_eq!(report.placement(), blockverify::Placement::Cpu);
    assert!(cpu().verify_sm2(&[]).all_valid());
}

/// Runs the system `openssl` (CI installs it); fails, never skips, without it.
fn openssl(args: &[&str], dir: &std::path::Path) -> Vec<u8> {
    let out = std::process::Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the system `openssl` command is needed for this oracle (apt-get install openssl)");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[test]
fn keys_and_der_signatures_made_by_the_system_openssl_verify() {
    let dir = std::env::temp_dir().join(format!("blockverify-sm2-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let verifier = cpu();
    // Every item (key, DER signature, message, ID) and its verdict, for the GPU below.
    type Case = (Vec<u8>, Vec<u8>, Vec<u8>, Option<&'static [u8]>, Verdict);
    let mut all: Vec<Case> = Vec::new();
    for k in 0..4 {
        openssl(&["genpkey", "-algorithm", "SM2", "-out", "key.pem"], &dir);
        openssl(
            &[
                "pkey", "-in", "key.pem", "-pubout", "-outform", "DER", "-out", "pub.der",
            ],
            &dir,
        );
        // The SubjectPublicKeyInfo ends with the BIT STRING's 04 ‖ x ‖ y.
        let spki = std::fs::read(dir.join("pub.der")).unwrap();
        let public = spki[spki.len() - 65..].to_vec();
        assert_eq!(public[0], 0x04);
        for (m, len) in [0usize, 1, 32, 200].into_iter().enumerate() {
            let message: Vec<u8> = (0..len).map(|i| (i * 7 + k * 3 + m) as u8).collect();
            std::fs::write(dir.join("msg"), &message).unwrap();
            // With the default ID, and with none (OpenSSL 3's default is the empty ID).
            openssl(
                &[
                    "dgst",
                    "-sm3",
                    "-sign",
                    "key.pem",
                    "-sigopt",
                    "distid:1234567812345678",
                    "-out",
                    "default.der",
                    "msg",
                ],
                &dir,
            );
            openssl(
                &[
                    "dgst",
                    "-sm3",
                    "-sign",
                    "key.pem",
                    "-out",
                    "empty.der",
                    "msg",
                ],
                &dir,
            );
            let default_der = std::fs::read(dir.join("default.der")).unwrap();
            let empty_der = std::fs::read(dir.join("empty.der")).unwrap();
            let items = [
                Sm2Item::der(&public, &default_der, &message),
                Sm2Item::der(&public, &empty_der, &message).with_id(b""),
                Sm2Item::der(&public, &empty_der, &message),
                Sm2Item::der(&public, &default_der, &message).with_id(b""),
            ];
            let report = verifier.verify_sm2(&items);
            let want = [
                Verdict::Valid,
                Verdict::Valid,
                Verdict::Invalid(Reason::EquationFailed),
                Verdict::Invalid(Reason::EquationFailed),
            ];
            assert_eq!(report.verdicts(), &want, "key {k} message {len} bytes");
            for (item, w) in items.iter().zip(want) {
                assert_eq!(verify_sm2_single(item), w);
            }
            for (der, id, w) in [
                (&default_der, None, want[0]),
                (&empty_der, Some(&b""[..]), want[1]),
                (&empty_der, None, want[2]),
                (&default_der, Some(&b""[..]), want[3]),
            ] {
                all.push((public.clone(), der.clone(), message.clone(), id, w));
            }
        }
    }
    std::fs::remove_dir_all(&dir).ok();
    // The same items on the GPU kernel (lavapipe in CI), all in one batch.
    #[cfg(feature = "gpu")]
    {
        let items: Vec<Sm2Item<'_>> = all
            .iter()
            .map(|(key, der, message, id, _)| {
                let item = Sm2Item::der(key, der, message);
                match id {
                    Some(id) => item.with_id(id),
                    None => item,
                }
            })
            .collect();
        let want: Vec<Verdict> = all.iter().map(|(.., w)| *w).collect();
        match Verifier::builder().backend(Backend::Gpu).build() {
            Ok(gpu) => {
                let report = gpu.verify_sm2(&items);
                assert_eq!(report.placement(), blockverify::Placement::Gpu);
                assert_eq!(report.verdicts(), &want[..]);
            }
            Err(e) if std::env::var("BLOCKVERIFY_REQUIRE_GPU").is_ok_and(|v| v == "1") => {
                panic!("BLOCKVERIFY_REQUIRE_GPU=1 but no GPU backend: {e}")
            }
            Err(e) => eprintln!("SKIP the GPU half: {e}"),
        }
    }
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    /// One generated item: a signer seed, a message, an ID choice and a mutation.
    fn item() -> impl Strategy<Value = ([u8; 32], Vec<u8>, u8, u8, usize)> {
        (
            any::<[u8; 32]>(),
            proptest::collection::vec(any::<u8>(), 0..80),
            0u8..3,
            0u8..6,
            any::<usize>(),
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

        /// The engine (any thread count, any order) equals the single checks item by item,
        /// and both agree with RustCrypto `sm2`.
        #[test]
        fn engine_single_and_rustcrypto_agree(items in proptest::collection::vec(item(), 1..24), threads in 1usize..4) {
            let ids: [&str; 3] = ["1234567812345678", "", "bob"];
            let mut data = Vec::new();
            for (seed, message, id, mutation, where_) in &items {
                let Ok(secret) = sm2::SecretKey::from_slice(seed) else { continue };
                let id = ids[*id as usize];
                let signing = sm2::dsa::SigningKey::new(id, &secret).unwrap();
                let public = signing.verifying_key().to_sec1_bytes().to_vec();
                let mut sig = sign(&signing, message);
                let mut msg = message.clone();
                match mutation {
                    1 => sig[where_ % 64] ^= 1 << (where_ % 8),
                    2 if !msg.is_empty() => { let i = where_ % msg.len(); msg[i] ^= 0x80 }
                    3 => sig[..32].copy_from_slice(&h32(N_HEX)),
                    _ => {}
                }
                let oracle = sm2::dsa::Signature::from_slice(&sig)
                    .ok()
                    .map(|s| {
                        sm2::dsa::VerifyingKey::from_sec1_bytes(id, &public)
                            .unwrap()
                            .verify(&msg, &s)
                            .is_ok()
                    })
                    .unwrap_or(false);
                data.push((public, sig, msg, id.as_bytes().to_vec(), oracle));
            }
            let built: Vec<Sm2Item> = data
                .iter()
                .map(|(k, s, m, id, _)| Sm2Item::new(k, s, m).with_id(id))
                .collect();
            let single: Vec<Verdict> = built.iter().map(verify_sm2_single).collect();
            for ((.., oracle), v) in data.iter().zip(&single) {
                prop_assert_eq!(v.is_valid(), *oracle);
            }
            let v = Verifier::builder().backend(Backend::Cpu).threads(threads).build().unwrap();
            let report = v.verify_sm2(&built);
            prop_assert_eq!(report.verdicts(), single.as_slice());
            let reversed: Vec<Sm2Item> = built.iter().rev().copied().collect();
            let mut back = v.verify_sm2(&reversed).verdicts().to_vec();
            back.reverse();
            prop_assert_eq!(back, single);
        }
    }
}
