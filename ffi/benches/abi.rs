//! What a batch costs through the C ABI beside the same batch through the Rust API, on the
//! same verifier and the same honest Ed25519 items (ZIP 215, distinct keys, 128-byte
//! messages), at 1, 64 and 16,384 items; and the fixed cost of an empty call. The ABI's extra
//! work is per call (checks, offsets walked once, the item list built, verdicts written), so
//! it shows at 1 item and vanishes at 16,384.
//!
//! `cargo bench -p blockverify-ffi --bench abi` (README.md, "C, C++ and Go", quotes it).

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

use blockverify::{Backend, Policy, SigItem, Verifier};
use blockverify_ffi::{
    BV_BACKEND_CPU, BV_POLICY_ZIP215, bv_verifier_free, bv_verifier_new, bv_verify_ed25519,
};
use blockverify_testkit::SigningKey;

struct Batch {
    keys: Vec<[u8; 32]>,
    sigs: Vec<[u8; 64]>,
    msgs: Vec<Vec<u8>>,
    flat_msgs: Vec<u8>,
    offsets: Vec<usize>,
}

fn batch(n: usize) -> Batch {
    let mut b = Batch {
        keys: Vec::new(),
        sigs: Vec::new(),
        msgs: Vec::new(),
        flat_msgs: Vec::new(),
        offsets: vec![0],
    };
    for i in 0..n {
        let mut seed = [7u8; 32];
        seed[..8].copy_from_slice(&(i as u64).to_le_bytes());
        let key = SigningKey::from_seed(&seed);
        let msg: Vec<u8> = (0..128).map(|j| (i * 31 + j) as u8).collect();
        b.keys.push(key.public_key());
        b.sigs.push(key.sign(&msg));
        b.flat_msgs.extend_from_slice(&msg);
        b.offsets.push(b.flat_msgs.len());
        b.msgs.push(msg);
    }
    b
}

fn abi_vs_rust(c: &mut Criterion) {
    let rust = Verifier::builder()
        .backend(Backend::Cpu)
        .threads(0)
        .build()
        .expect("a CPU verifier");
    let abi = bv_verifier_new(0, BV_BACKEND_CPU);
    assert!(!abi.is_null());
    let mut group = c.benchmark_group("ed25519_call");
    for n in [0usize, 1, 64, 16_384] {
        let b = batch(n);
        if n >= 16_384 {
            group.sample_size(10);
        }
        group.throughput(Throughput::Elements(n.max(1) as u64));
        group.bench_with_input(BenchmarkId::new("rust", n), &b, |bench, b| {
            bench.iter(|| {
                let items: Vec<SigItem<'_>> = (0..n)
                    .map(|i| SigItem::new(&b.keys[i], &b.sigs[i], &b.msgs[i]))
                    .collect();
                let report = rust.verify_ed25519(Policy::Zip215, &items);
                assert!(report.all_valid());
            });
        });
        group.bench_with_input(BenchmarkId::new("c_abi", n), &b, |bench, b| {
            let mut verdicts = vec![0u8; n];
            bench.iter(|| {
                // SAFETY: the buffers hold n keys, n signatures, the messages and n + 1
                // offsets, and live through the call.
                let invalid = unsafe {
                    bv_verify_ed25519(
                        abi,
                        BV_POLICY_ZIP215,
                        n,
                        b.keys.as_ptr().cast(),
                        b.sigs.as_ptr().cast(),
                        b.flat_msgs.as_ptr(),
                        b.offsets.as_ptr(),
                        verdicts.as_mut_ptr(),
                    )
                };
                assert_eq!(invalid, 0);
            });
        });
    }
    group.finish();
    // SAFETY: made above, no call in flight.
    unsafe { bv_verifier_free(abi) };
}

criterion_group!(benches, abi_vs_rust);
criterion_main!(benches);
