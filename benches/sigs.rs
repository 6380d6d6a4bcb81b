//! Criterion benchmark of signature verification, this crate beside its peers on the same
//! 16,384 signed 256-byte records (distinct keys, and 64 Zipf-distributed issuers).
//!
//! `cargo bench --bench sigs`. The `blockverify bench sigs` command measures the same rows
//! (plus invalid-item scenarios) in one table; BENCHMARKS.md records both.

use blockverify::{Policy, Verifier};
use blockverify_testkit::{Workload, WorkloadSpec};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rayon::prelude::*;

const ITEMS: usize = 16_384;

fn sigs(c: &mut Criterion) {
    let threads = rayon::current_num_threads();
    for (label, issuers) in [("distinct-keys", 0), ("64-issuers", 64)] {
        let traffic = Workload::generate(&WorkloadSpec {
            items: ITEMS,
            issuers,
            message_len: 256,
            invalid_fraction: 0.0,
            seed: 7,
        });
        let items = traffic.items();
        let mut group = c.benchmark_group(format!("sigs/{label}"));
        group.throughput(Throughput::Elements(ITEMS as u64));
        group.sample_size(10);

        for policy in [Policy::Zip215, Policy::Strict] {
            let v = Verifier::builder()
                .policy(policy)
                .key_cache_size(ITEMS)
                .build()
                .expect("cpu verifier");
            group.bench_function(BenchmarkId::new("blockverify", policy.name()), |b| {
                b.iter(|| v.verify_signatures(&items))
            });
        }

        let keys: Vec<ed25519_dalek::VerifyingKey> = items
            .iter()
            .map(|i| ed25519_dalek::VerifyingKey::from_bytes(i.public_key).expect("valid key"))
            .collect();
        let sigs: Vec<ed25519_dalek::Signature> = items
            .iter()
            .map(|i| ed25519_dalek::Signature::from_bytes(i.signature))
            .collect();
        let msgs: Vec<&[u8]> = items.iter().map(|i| i.message).collect();
        let chunk = ITEMS.div_ceil(threads);
        group.bench_function("ed25519-dalek/verify_batch", |b| {
            b.iter(|| {
                (0..ITEMS)
                    .step_by(chunk)
                    .collect::<Vec<_>>()
                    .par_iter()
                    .all(|&lo| {
                        let hi = (lo + chunk).min(ITEMS);
                        ed25519_dalek::verify_batch(&msgs[lo..hi], &sigs[lo..hi], &keys[lo..hi])
                            .is_ok()
                    })
            })
        });
        group.bench_function("ed25519-zebra/batch", |b| {
            b.iter(|| {
                items.par_chunks(chunk).all(|part| {
                    let mut v = ed25519_zebra::batch::Verifier::new();
                    for it in part {
                        v.queue((
                            ed25519_zebra::VerificationKeyBytes::from(*it.public_key),
                            ed25519_zebra::Signature::from_bytes(it.signature),
                            it.message,
                        ));
                    }
                    v.verify(rand::rng()).is_ok()
                })
            })
        });
        group.finish();
    }
}

criterion_group!(benches, sigs);
criterion_main!(benches);
