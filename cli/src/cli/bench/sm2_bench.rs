//! `bench sigs`'s SM2 rows: this crate's engine (and its serial twin without the IFMA lanes)
//! beside RustCrypto `sm2`, libsm and (with the `system-openssl` feature) the system OpenSSL,
//! on the same items, 2 threads each.
//!
//! Traffic: distinct keys, or 64 issuers with Zipf shares; all valid, 1% invalid or all
//! invalid; 32-byte messages (FISCO BCOS signs the record's 32-byte hash) and 256-byte ones.
//! Every signer uses the default ID. The peers verify one item at a time, in parallel on the
//! same pool, parsing each item's key and signature inside the timed region as a node does
//! with the bytes of a block (our engine decodes keys through its cache: that is the point of
//! it). Our verdicts are checked against the generator's corruptions, and the peers' against
//! ours, before anything is timed.
#![forbid(unsafe_code)]

#[cfg(feature = "system-openssl")]
use blockverify::sig::sm2::{DEFAULT_ID, z_a};
use blockverify::{Backend, Sm2Item, Verifier};
use rand::{RngExt, SeedableRng};
use rayon::prelude::*;
use sm2::dsa::signature::{Signer, Verifier as _};

use super::progress::note;
use super::{CliError, GpuSigs, Row, median_time};

/// One SM2 workload: keys (04 ‖ x ‖ y), raw signatures, messages, and which are corrupted.
struct Traffic {
    keys: Vec<Vec<u8>>,
    sigs: Vec<[u8; 64]>,
    messages: Vec<Vec<u8>>,
    corrupted: Vec<usize>,
}

impl Traffic {
    fn generate(n: usize, issuers: usize, message_len: usize, invalid: f64, seed: u64) -> Traffic {
        let mut rng = rand::rngs::ChaCha20Rng::seed_from_u64(seed);
        let signers: Vec<(Vec<u8>, sm2::dsa::SigningKey)> =
            (0..if issuers == 0 { n } else { issuers })
                .map(|_| {
                    let sk = loop {
                        if let Ok(sk) = sm2::SecretKey::from_slice(&rng.random::<[u8; 32]>()) {
                            break sk;
                        }
                    };
                    let signing = sm2::dsa::SigningKey::new("1234567812345678", &sk)
                        .expect("a valid secret key");
                    (signing.verifying_key().to_sec1_bytes().to_vec(), signing)
                })
                .collect();
        // Zipf shares for issuers: issuer i gets weight 1/(i+1).
        let weights: Vec<f64> = (0..signers.len()).map(|i| 1.0 / (i + 1) as f64).collect();
        let total: f64 = weights.iter().sum();
        let mut traffic = Traffic {
            keys: Vec::with_capacity(n),
            sigs: Vec::with_capacity(n),
            messages: Vec::with_capacity(n),
            corrupted: Vec::new(),
        };
        for i in 0..n {
            let who = if issuers == 0 {
                i
            } else {
                let mut x = rng.random::<f64>() * total;
                weights
                    .iter()
                    .position(|w| {
                        x -= w;
                        x <= 0.0
                    })
                    .unwrap_or(signers.len() - 1)
            };
            let (key, signing) = &signers[who];
            let message: Vec<u8> = (0..message_len).map(|_| rng.random()).collect();
            let sig: sm2::dsa::Signature = signing.sign(&message);
            let mut sig: [u8; 64] = sig.to_bytes().as_slice().try_into().expect("64 bytes");
            if invalid >= 1.0 || rng.random::<f64>() < invalid {
                sig[63] ^= 1;
                traffic.corrupted.push(i);
            }
            traffic.keys.push(key.clone());
            traffic.sigs.push(sig);
            traffic.messages.push(message);
        }
        traffic
    }

    fn items(&self) -> Vec<Sm2Item<'_>> {
        (0..self.keys.len())
            .map(|i| Sm2Item::new(&self.keys[i], &self.sigs[i], &self.messages[i]))
            .collect()
    }
}

/// RustCrypto `sm2`: parse the key and signature, verify (it computes Z_A and e itself).
fn rustcrypto(t: &Traffic, i: usize) -> bool {
    let Ok(key) = sm2::dsa::VerifyingKey::from_sec1_bytes("1234567812345678", &t.keys[i]) else {
        return false;
    };
    let Ok(sig) = sm2::dsa::Signature::from_slice(&t.sigs[i]) else {
        return false;
    };
    key.verify(&t.messages[i], &sig).is_ok()
}

/// libsm (the Rust SM2 of CITA/cryptape): parse the key (`04 ‖ x ‖ y`) and `r`, `s`, verify
/// with the default ID (it computes Z_A and e itself, on big integers).
fn libsm_verify(ctx: &libsm::sm2::signature::SigCtx, t: &Traffic, i: usize) -> bool {
    let Ok(key) = ctx.load_pubkey(&t.keys[i]) else {
        return false;
    };
    let sig = libsm::sm2::signature::Signature::new(&t.sigs[i][..32], &t.sigs[i][32..]);
    ctx.verify(&t.messages[i], &key, &sig).unwrap_or(false)
}

/// The system OpenSSL through the `openssl` crate: the SPKI of the key parsed, `e =
/// SM3(Z_A ‖ M)` computed (OpenSSL's EVP SM2 verification takes the digest), the signature
/// in DER, `EVP_PKEY_verify`.
#[cfg(feature = "system-openssl")]
fn openssl_verify(t: &Traffic, i: usize) -> bool {
    use openssl::pkey::PKey;
    use openssl::pkey_ctx::PkeyCtx;
    const SPKI_PREFIX: [u8; 26] = [
        0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08,
        0x2a, 0x81, 0x1c, 0xcf, 0x55, 0x01, 0x82, 0x2d, 0x03, 0x42, 0x00,
    ];
    let mut spki = SPKI_PREFIX.to_vec();
    spki.extend_from_slice(&t.keys[i]);
    let Ok(key) = PKey::public_key_from_der(&spki) else {
        return false;
    };
    let Ok(z) = z_a(&t.keys[i], DEFAULT_ID) else {
        return false;
    };
    let e = blockverify::unstable::sm3(&[&z[..], &t.messages[i]].concat());
    let der = blockverify::sig::sm2::encode_der_signature(&t.sigs[i]);
    let Ok(mut ctx) = PkeyCtx::new(&key) else {
        return false;
    };
    ctx.verify_init().is_ok() && ctx.verify(&e, &der).unwrap_or(false)
}

/// The SM2 rows of `bench sigs` (with `gpu`, the GPU and `Auto` rows of each scenario, and on
/// a hardware GPU one GPU-sized batch).
pub(super) fn rows(
    quick: bool,
    threads: usize,
    pool: &rayon::ThreadPool,
    gpu: Option<&GpuSigs>,
) -> Result<Vec<Row>, CliError> {
    let (n, reps) = if quick { (512, 3) } else { (4096, 5) };
    let mut rows = Vec::new();
    let verifier = Verifier::builder()
        .backend(Backend::Cpu)
        .threads(threads)
        .key_cache_size(4 * n)
        .build()?;
    let cold = Verifier::builder()
        .backend(Backend::Cpu)
        .threads(threads)
        .key_cache_size(0)
        .build()?;
    // The serial arithmetic alone (the lanes' twin), where the CPU has the lanes: what they add.
    let serial = blockverify::unstable::cpu_has_ifma()
        .then(|| {
            Verifier::builder()
                .backend(Backend::Cpu)
                .threads(threads)
                .key_cache_size(4 * n)
                .sm2_lanes(false)
                .build()
        })
        .transpose()?;
    let libsm = libsm::sm2::signature::SigCtx::new();
    let scenarios: [(&str, usize, usize, f64); 6] = [
        ("distinct keys, 32 B, all valid", 0, 32, 0.0),
        ("64 issuers (Zipf), 32 B, all valid", 64, 32, 0.0),
        ("64 issuers (Zipf), 32 B, 1% invalid", 64, 32, 0.01),
        ("distinct keys, 256 B, all valid", 0, 256, 0.0),
        ("64 issuers (Zipf), 256 B, all valid", 64, 256, 0.0),
        ("distinct keys, 32 B, 100% invalid", 0, 32, 1.0),
    ];
    for (label, issuers, len, invalid) in scenarios {
        let name = format!("sm2: {label}");
        let traffic = pool.install(|| Traffic::generate(n, issuers, len, invalid, 0x5A2));
        let items = traffic.items();
        note!("bench: {name} ({n} items, {threads} threads)");
        let report = verifier.verify_sm2(&items);
        if report.invalid_indices() != traffic.corrupted {
            return Err(format!("{name}: verdicts differ from the generator's corruptions").into());
        }
        // Each peer's verdicts are checked against ours, then it is timed on the same pool.
        let peer =
            |label: &str, verify: &(dyn Fn(usize) -> bool + Sync)| -> Result<f64, CliError> {
                let ok: Vec<bool> = pool.install(|| (0..n).into_par_iter().map(verify).collect());
                if ok
                    .iter()
                    .zip(report.verdicts())
                    .any(|(p, v)| *p != v.is_valid())
                {
                    return Err(format!("{name}: {label} disagrees with blockverify").into());
                }
                Ok(median_time(reps, || {
                    pool.install(|| {
                        std::hint::black_box((0..n).into_par_iter().filter(|&i| verify(i)).count())
                    });
                }))
            };
        let rustcrypto_t = peer("RustCrypto sm2", &|i| rustcrypto(&traffic, i))?;
        let libsm_t = peer("libsm", &|i| libsm_verify(&libsm, &traffic, i))?;
        #[cfg(feature = "system-openssl")]
        let openssl_t = peer("OpenSSL", &|i| openssl_verify(&traffic, i))?;
        let mut push = |engine: String, t: f64| rows.push(Row::measured(&name, engine, n, t));
        let t = median_time(reps, || {
            std::hint::black_box(verifier.verify_sm2(&items));
        });
        push(
            format!("blockverify sm2 (key cache warm, {threads} thr)"),
            t,
        );
        let t = median_time(reps, || {
            std::hint::black_box(cold.verify_sm2(&items));
        });
        push(format!("blockverify sm2 (no key cache, {threads} thr)"), t);
        if let Some(serial) = &serial {
            let t = median_time(reps, || {
                std::hint::black_box(serial.verify_sm2(&items));
            });
            push(
                format!("blockverify sm2 serial, no IFMA (cache warm, {threads} thr)"),
                t,
            );
        }
        if let Some(gpu) = gpu {
            gpu.sm2_rows(&name, &items, &report, &mut rows)?;
        }
        let mut push = |engine: String, t: f64| rows.push(Row::measured(&name, engine, n, t));
        push(format!("RustCrypto sm2 0.14 ({threads} thr)"), rustcrypto_t);
        push(format!("libsm 0.6 ({threads} thr)"), libsm_t);
        #[cfg(feature = "system-openssl")]
        {
            let version = openssl::version::version()
                .split_whitespace()
                .take(2)
                .collect::<Vec<_>>()
                .join(" ");
            push(format!("{version} ({threads} thr)"), openssl_t);
        }
    }
    if let Some(gpu) = gpu.filter(|gpu| !gpu.software) {
        // A batch large enough to fill a big GPU, as the Ed25519 rows have: the distinct-key
        // traffic over and over (signing 2^18 fresh items would take the benchmark longer
        // than verifying them; every copy is verified in full all the same).
        let repeats = if quick { 16 } else { 64 };
        let traffic = pool.install(|| Traffic::generate(n, 0, 32, 0.0, 0x5A2));
        let base = traffic.items();
        let items: Vec<Sm2Item<'_>> = base.iter().cycle().take(n * repeats).copied().collect();
        let name = format!(
            "sm2: distinct keys, 32 B, all valid, {} items (GPU-sized)",
            items.len()
        );
        note!("bench: {name} ({threads} threads)");
        let report = verifier.verify_sm2(&items);
        if !report.all_valid() {
            return Err(format!("{name}: verdicts differ from the generator's").into());
        }
        let t = median_time(reps, || {
            std::hint::black_box(verifier.verify_sm2(&items));
        });
        rows.push(Row::measured(
            &name,
            format!("blockverify sm2 (key cache warm, {threads} thr)"),
            items.len(),
            t,
        ));
        gpu.sm2_rows(&name, &items, &report, &mut rows)?;
    }
    Ok(rows)
}
