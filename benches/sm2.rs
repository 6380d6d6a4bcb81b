//! Criterion benchmark of SM2 verification (issue 19): this crate's engine (and its serial
//! twin without the IFMA lanes, where the CPU has them) beside RustCrypto `sm2` and libsm on
//! the same items, on all threads: distinct keys, and 64 issuers with Zipf shares (the key
//! cache warm), 32-byte messages (FISCO BCOS signs the record's 32-byte hash).
//!
//! `cargo bench --bench sm2`. `blockverify bench sigs` prints more shapes (256-byte messages,
//! invalid items, the system OpenSSL); BENCHMARKS.md records both.

use blockverify::{Backend, Sm2Item, Verifier};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rayon::prelude::*;
use sm2::dsa::signature::{Signer, Verifier as _};

struct Traffic {
    keys: Vec<Vec<u8>>,
    sigs: Vec<[u8; 64]>,
    messages: Vec<[u8; 32]>,
}

fn traffic(n: usize, issuers: usize) -> Traffic {
    let signers: Vec<(Vec<u8>, sm2::dsa::SigningKey)> = (0..if issuers == 0 { n } else { issuers })
        .map(|i| {
            let mut secret = [0u8; 32];
            secret[..8].copy_from_slice(&(i as u64 + 1).to_le_bytes());
            secret[31] = 1;
            let sk = sm2::SecretKey::from_slice(&secret).expect("in range");
            let signing = sm2::dsa::SigningKey::new("1234567812345678", &sk).expect("key");
            (signing.verifying_key().to_sec1_bytes().to_vec(), signing)
        })
        .collect();
    let mut t = Traffic {
        keys: Vec::new(),
        sigs: Vec::new(),
        messages: Vec::new(),
    };
    for i in 0..n {
        // Zipf-like shares: issuer j signs about 1/(j+1) of the records.
        let who = if issuers == 0 {
            i
        } else {
            (i * 2654435761 % 1000).pow(2) * issuers / 1_000_000
        };
        let (key, signing) = &signers[who];
        let mut message = [0u8; 32];
        message[..8].copy_from_slice(&(i as u64).to_le_bytes());
        let sig: sm2::dsa::Signature = signing.sign(&message);
        t.keys.push(key.clone());
        t.sigs
            .push(sig.to_bytes().as_slice().try_into().expect("64 bytes"));
        t.messages.push(message);
    }
    t
}

fn verify(c: &mut Criterion) {
    let n = 4096;
    let threads = rayon::current_num_threads();
    let verifier = Verifier::builder()
        .backend(Backend::Cpu)
        .key_cache_size(4 * n)
        .build()
        .expect("verifier");
    let serial = Verifier::builder()
        .backend(Backend::Cpu)
        .key_cache_size(4 * n)
        .sm2_lanes(false)
        .build()
        .expect("verifier");
    for (label, issuers) in [("distinct-keys", 0), ("64-issuers", 64)] {
        let t = traffic(n, issuers);
        let items: Vec<Sm2Item> = (0..n)
            .map(|i| Sm2Item::new(&t.keys[i], &t.sigs[i], &t.messages[i]))
            .collect();
        assert!(verifier.verify_sm2(&items).all_valid());
        let libsm = libsm::sm2::signature::SigCtx::new();
        let libsm_verify = |i: usize| {
            let key = libsm.load_pubkey(&t.keys[i]).expect("key");
            let sig = libsm::sm2::signature::Signature::new(&t.sigs[i][..32], &t.sigs[i][32..]);
            libsm.verify(&t.messages[i], &key, &sig).unwrap_or(false)
        };
        assert!((0..n).all(libsm_verify));
        let mut group = c.benchmark_group(format!("sm2/{label}-{n}"));
        group.throughput(Throughput::Elements(n as u64));
        group.sample_size(10);
        group.bench_function(
            BenchmarkId::new("blockverify", format!("{threads}-threads")),
            |b| b.iter(|| verifier.verify_sm2(&items)),
        );
        if blockverify::unstable::cpu_has_ifma() {
            group.bench_function(
                BenchmarkId::new("blockverify-serial", format!("{threads}-threads")),
                |b| b.iter(|| serial.verify_sm2(&items)),
            );
        }
        group.bench_function(
            BenchmarkId::new("libsm", format!("{threads}-threads")),
            |b| b.iter(|| (0..n).into_par_iter().filter(|&i| libsm_verify(i)).count()),
        );
        group.bench_function(
            BenchmarkId::new("rustcrypto-sm2", format!("{threads}-threads")),
            |b| {
                b.iter(|| {
                    (0..n)
                        .into_par_iter()
                        .filter(|&i| {
                            let key = sm2::dsa::VerifyingKey::from_sec1_bytes(
                                "1234567812345678",
                                &t.keys[i],
                            )
                            .expect("key");
                            let sig = sm2::dsa::Signature::from_slice(&t.sigs[i]).expect("sig");
                            key.verify(&t.messages[i], &sig).is_ok()
                        })
                        .count()
                })
            },
        );
        group.finish();
    }
}

criterion_group!(benches, verify);
criterion_main!(benches);
