//! The GPU Merkle backend against the CPU engine, on whatever adapter wgpu finds (Mesa's
//! lavapipe in CI).
//!
//! With `BLOCKVERIFY_REQUIRE_GPU=1` (set by `.ci/run`) a missing adapter fails every test
//! here; without it, each test prints one skip line and returns, so a fresh machine without
//! Vulkan still passes `cargo test`.
#![cfg(feature = "gpu")]

use blockverify::merkle::{self, MerkleError, MerkleTree, Scheme};
use blockverify::{Backend, GpuFault, Placement, Verifier};
use rand::rngs::ChaCha20Rng;
use rand::{Rng, RngExt, SeedableRng};

/// A verifier that sends every Merkle job to the GPU, or `None` (with a skip line) when this
/// machine has no adapter and the GPU is not required.
fn gpu_verifier(binding_limit: u64) -> Option<Verifier> {
    match Verifier::builder()
        .backend(Backend::Gpu)
        .gpu_binding_limit(binding_limit)
        .build()
    {
        Ok(v) => Some(v),
        Err(e) => {
            if std::env::var("BLOCKVERIFY_REQUIRE_GPU").is_ok_and(|v| v == "1") {
                panic!("BLOCKVERIFY_REQUIRE_GPU=1 but no GPU backend: {e}");
            }
            eprintln!("SKIP GPU test: {e} (set BLOCKVERIFY_REQUIRE_GPU=1 to make this fail)");
            None
        }
    }
}

/// `n` records of random lengths in `0..=max_len`.
fn records(n: usize, max_len: usize, rng: &mut ChaCha20Rng) -> Vec<Vec<u8>> {
    (0..n)
        .map(|_| {
            let len = rng.random_range(0..=max_len);
            let mut r = vec![0u8; len];
            rng.fill_bytes(&mut r);
            r
        })
        .collect()
}

fn txids(n: usize, rng: &mut ChaCha20Rng) -> Vec<[u8; 32]> {
    (0..n).map(|_| rng.random()).collect()
}

/// The schemes added beside RFC 9162 and Bitcoin: leaves are 32-byte hashes taken as they are.
const SM3_AND_CHAINMAKER: [Scheme; 3] = [
    Scheme::FiscoBcos,
    Scheme::ChainMakerSm3,
    Scheme::ChainMakerSha256,
];

/// Checks the GPU root of `leaves` (and its duplicate report) against the CPU engine.
fn assert_same_root<L: AsRef<[u8]> + Sync>(gpu: &Verifier, scheme: Scheme, leaves: &[L]) {
    let want = merkle::merkle_root(scheme, leaves).unwrap();
    let got = gpu.merkle_root(scheme, leaves).unwrap();
    assert_eq!(got.gpu_fault(), None, "{scheme} n={}", leaves.len());
    assert_eq!(got.placement(), Placement::Gpu);
    assert_eq!(got.root(), want.root(), "{scheme} n={}", leaves.len());
    assert_eq!(got.leaves(), want.leaves());
    assert_eq!(
        got.duplicate_pair(),
        want.duplicate_pair(),
        "{scheme} n={}",
        leaves.len()
    );
}

#[test]
fn gpu_roots_equal_cpu_roots_for_every_size_up_to_3000() {
    let Some(gpu) = gpu_verifier(128 << 20) else {
        return;
    };
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    // One pool of records, of random lengths 0..=2000 (every length class: empty, one block,
    // many blocks, every alignment); each size takes a prefix, so the whole range is covered
    // without hashing gigabytes on a software rasteriser.
    let pool = records(3000, 2000, &mut rng);
    let ids = txids(3000, &mut rng);
    for n in 0..=3000 {
        assert_same_root(&gpu, Scheme::Rfc9162, &pool[..n]);
        assert_same_root(&gpu, Scheme::Bitcoin, &ids[..n]);
    }
}

#[test]
fn gpu_roots_equal_cpu_roots_for_large_trees() {
    let Some(gpu) = gpu_verifier(128 << 20) else {
        return;
    };
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    for n in [1 << 16, (1 << 17) + 1, 200_001, 1 << 18] {
        let short = records(n, 80, &mut rng);
        assert_same_root(&gpu, Scheme::Rfc9162, &short);
        let ids = txids(n, &mut rng);
        assert_same_root(&gpu, Scheme::Bitcoin, &ids);
    }
    // Long records at scale: 2^16 leaves of up to 2000 bytes.
    let long = records(1 << 16, 2000, &mut rng);
    assert_same_root(&gpu, Scheme::Rfc9162, &long);
}

#[test]
fn trees_larger_than_one_binding_are_hashed_in_pieces() {
    // 4 KiB bindings: pieces of 128 leaves, record batches of a few records, and records
    // larger than a binding hashed on the CPU.
    let Some(gpu) = gpu_verifier(4096) else {
        return;
    };
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    for n in [127, 128, 129, 255, 256, 257, 1000, 1025, 4096, 5000] {
        let recs = records(n, 2000, &mut rng);
        assert_same_root(&gpu, Scheme::Rfc9162, &recs);
        let ids = txids(n, &mut rng);
        assert_same_root(&gpu, Scheme::Bitcoin, &ids);
    }
    let mut big = records(300, 100, &mut rng);
    big[7] = vec![0xab; 5000];
    big[200] = vec![0xcd; 70_000];
    assert_same_root(&gpu, Scheme::Rfc9162, &big);
}

#[test]
fn bitcoin_duplicate_pairs_are_reported_as_on_the_cpu() {
    let Some(gpu) = gpu_verifier(4096) else {
        return;
    };
    let mut rng = ChaCha20Rng::seed_from_u64(4);
    for n in [2, 3, 6, 7, 130, 300, 1000] {
        let base = txids(n, &mut rng);
        // CVE-2012-2459: repeat the tail so a pair of siblings is identical, at several levels.
        let mut dup_tail = base.clone();
        dup_tail.push(*base.last().unwrap());
        assert_same_root(&gpu, Scheme::Bitcoin, &dup_tail);
        let mut dup_pair = base.clone();
        if n >= 4 {
            let left = (n / 2) & !1;
            dup_pair[left] = dup_pair[left + 1];
        }
        assert_same_root(&gpu, Scheme::Bitcoin, &dup_pair);
        // A duplicated half makes identical subtrees: a pair at a higher level.
        let mut halves = base.clone();
        halves.extend_from_slice(&base);
        assert_same_root(&gpu, Scheme::Bitcoin, &halves);
    }
}

/// Checks the GPU root of `leaves` against the CPU engine and the serial reference.
fn assert_same_root_and_reference(gpu: &Verifier, scheme: Scheme, leaves: &[[u8; 32]]) {
    assert_same_root(gpu, scheme, leaves);
    assert_eq!(
        merkle::merkle_root(scheme, leaves).unwrap().root(),
        merkle::merkle_root_reference(scheme, leaves).unwrap(),
        "{scheme} n={}",
        leaves.len()
    );
}

/// Sizes for the SM3 and ChainMaker schemes: every size up to 1100, the sizes around the
/// reduction tile (512 nodes) and its powers, and a few random ones up to 70,000.
fn scheme_sizes(rng: &mut ChaCha20Rng) -> Vec<usize> {
    let mut sizes: Vec<usize> = (0..=1100).collect();
    for edge in [1024, 2048, 4096, 8192, 1 << 15] {
        sizes.extend([edge - 1, edge, edge + 1]);
    }
    sizes.extend((0..3).map(|_| rng.random_range(5000..70_000)));
    sizes
}

#[test]
fn gpu_roots_of_the_sm3_and_chainmaker_schemes_equal_cpu_roots() {
    let Some(gpu) = gpu_verifier(128 << 20) else {
        return;
    };
    let mut rng = ChaCha20Rng::seed_from_u64(8);
    let sizes = scheme_sizes(&mut rng);
    let pool = txids(*sizes.iter().max().unwrap(), &mut rng);
    for scheme in SM3_AND_CHAINMAKER {
        for &n in &sizes {
            if n == 0 && scheme.empty_root().is_none() {
                continue;
            }
            assert_same_root_and_reference(&gpu, scheme, &pool[..n]);
        }
    }
}

#[test]
fn sm3_and_chainmaker_trees_larger_than_one_binding_are_hashed_in_pieces() {
    // Pieces of 128 leaves: the last, partial piece's lone node climbs to the piece height
    // under the scheme's odd-node rule (FISCO: hashed alone at each level).
    let Some(gpu) = gpu_verifier(4096) else {
        return;
    };
    let mut rng = ChaCha20Rng::seed_from_u64(9);
    for n in [
        1, 2, 3, 127, 128, 129, 130, 255, 256, 257, 385, 513, 1000, 1025, 4096, 5000,
    ] {
        let ids = txids(n, &mut rng);
        for scheme in SM3_AND_CHAINMAKER {
            assert_same_root_and_reference(&gpu, scheme, &ids);
        }
    }
}

#[test]
fn duplicate_pairs_of_every_hash_scheme_are_reported_as_on_the_cpu() {
    // Bitcoin and ChainMaker report them; FISCO BCOS hashes an odd node alone and reports
    // none (the CPU engine's report, which `assert_same_root` compares, says so).
    let Some(gpu) = gpu_verifier(4096) else {
        return;
    };
    let mut rng = ChaCha20Rng::seed_from_u64(10);
    for scheme in SM3_AND_CHAINMAKER {
        for n in [1, 2, 3, 6, 7, 130, 300, 1000] {
            let base = txids(n, &mut rng);
            let mut dup_tail = base.clone();
            dup_tail.push(*base.last().unwrap());
            assert_same_root(&gpu, scheme, &dup_tail);
            // The last leaves repeated until the level above repeats too.
            let mut dup_tails = base.clone();
            dup_tails.extend_from_slice(&base[n.saturating_sub(3)..]);
            assert_same_root(&gpu, scheme, &dup_tails);
            let mut halves = base.clone();
            halves.extend_from_slice(&base);
            assert_same_root(&gpu, scheme, &halves);
            if scheme.pairs_odd_node_with_itself() {
                let report = gpu.merkle_root(scheme, &dup_tail).unwrap();
                if n % 2 == 1 {
                    assert!(report.duplicate_pair().is_some(), "{scheme} n={n}");
                }
            }
        }
    }
}

#[test]
fn gpu_built_sm3_and_chainmaker_trees_equal_cpu_trees() {
    let Some(gpu) = gpu_verifier(4096) else {
        return;
    };
    let mut rng = ChaCha20Rng::seed_from_u64(11);
    for n in [1, 2, 3, 5, 100, 128, 129, 257, 700] {
        let mut ids = txids(n, &mut rng);
        // A repeated last leaf, so ChainMaker trees carry a duplicate pair.
        if n % 2 == 0 {
            ids[n - 1] = ids[n - 2];
        }
        for scheme in SM3_AND_CHAINMAKER {
            let tree = gpu.merkle_tree(scheme, &ids).unwrap();
            assert_eq!(tree.placement(), Placement::Gpu);
            assert_eq!(tree.gpu_fault(), None);
            let cpu_tree = MerkleTree::build(scheme, &ids).unwrap();
            let (got, want) = (tree.root_report(), cpu_tree.root_report());
            assert_eq!(got.root(), want.root(), "{scheme} n={n}");
            assert_eq!(
                got.duplicate_pair(),
                want.duplicate_pair(),
                "{scheme} n={n}"
            );
            assert_eq!(tree.size(), cpu_tree.size());
            // Every node below the root is in some leaf's path (or FISCO group).
            for i in 0..n as u64 {
                assert_eq!(tree.leaf_hash(i), Some(ids[i as usize]));
                let proof = tree.inclusion_proof(i).unwrap();
                assert_eq!(
                    proof,
                    cpu_tree.inclusion_proof(i).unwrap(),
                    "{scheme} n={n} i={i}"
                );
                merkle::verify_inclusion(
                    scheme,
                    &tree.root(),
                    i,
                    n as u64,
                    &ids[i as usize],
                    &proof,
                )
                .unwrap();
                if scheme == Scheme::FiscoBcos {
                    let fisco = tree.fisco_proof(i).unwrap();
                    assert_eq!(fisco, cpu_tree.fisco_proof(i).unwrap());
                    let at = merkle::verify_fisco_inclusion(
                        &tree.root(),
                        n as u64,
                        &ids[i as usize],
                        &fisco,
                    )
                    .unwrap();
                    // Repeated leaves are found at their first position, as FISCO finds them.
                    assert_eq!(ids[at as usize], ids[i as usize]);
                }
            }
        }
    }
}

#[test]
fn invalid_and_empty_inputs_of_the_new_schemes_are_refused_as_on_the_cpu() {
    let Some(gpu) = gpu_verifier(128 << 20) else {
        return;
    };
    let bad = vec![vec![0u8; 32], vec![1u8; 33], vec![2u8; 32]];
    let empty: Vec<[u8; 32]> = Vec::new();
    for scheme in SM3_AND_CHAINMAKER {
        let want = merkle::merkle_root(scheme, &bad).unwrap_err();
        assert_eq!(want, MerkleError::InvalidLeafLength { index: 1, len: 33 });
        assert_eq!(gpu.merkle_root(scheme, &bad).unwrap_err(), want);
        assert_eq!(gpu.merkle_tree(scheme, &bad).unwrap_err(), want);
        match scheme.empty_root() {
            None => {
                let want = MerkleError::EmptyTree { scheme };
                assert_eq!(merkle::merkle_root(scheme, &empty).unwrap_err(), want);
                assert_eq!(gpu.merkle_root(scheme, &empty).unwrap_err(), want);
                assert_eq!(gpu.merkle_tree(scheme, &empty).unwrap_err(), want);
            }
            Some(root) => {
                assert_eq!(gpu.merkle_root(scheme, &empty).unwrap().root(), root);
                assert_eq!(gpu.merkle_tree(scheme, &empty).unwrap().root(), root);
            }
        }
    }
}

#[test]
fn proofs_from_gpu_built_trees_verify() {
    let Some(gpu) = gpu_verifier(4096) else {
        return;
    };
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    for n in [1, 2, 3, 100, 128, 129, 700] {
        let recs = records(n, 300, &mut rng);
        let tree = gpu.merkle_tree(Scheme::Rfc9162, &recs).unwrap();
        assert_eq!(tree.placement(), Placement::Gpu);
        assert_eq!(tree.gpu_fault(), None);
        let cpu_tree = MerkleTree::build(Scheme::Rfc9162, &recs).unwrap();
        assert_eq!(tree.root(), cpu_tree.root(), "n={n}");
        for i in 0..n as u64 {
            let proof = tree.inclusion_proof(i).unwrap();
            assert_eq!(proof, cpu_tree.inclusion_proof(i).unwrap());
            let leaf = tree.leaf_hash(i).unwrap();
            merkle::verify_inclusion(Scheme::Rfc9162, &tree.root(), i, n as u64, &leaf, &proof)
                .unwrap();
        }
        for old in 1..=n as u64 {
            let proof = tree.consistency_proof(old).unwrap();
            let old_root = merkle::merkle_root(Scheme::Rfc9162, &recs[..old as usize])
                .unwrap()
                .root();
            merkle::verify_consistency(
                Scheme::Rfc9162,
                old,
                n as u64,
                &old_root,
                &tree.root(),
                &proof,
            )
            .unwrap();
        }
        let ids = txids(n, &mut rng);
        let tree = gpu.merkle_tree(Scheme::Bitcoin, &ids).unwrap();
        let cpu_tree = MerkleTree::build(Scheme::Bitcoin, &ids).unwrap();
        assert_eq!(tree.root_report().root(), cpu_tree.root(), "n={n}");
        assert_eq!(
            tree.root_report().duplicate_pair(),
            cpu_tree.root_report().duplicate_pair()
        );
        for i in 0..n as u64 {
            let proof = tree.inclusion_proof(i).unwrap();
            merkle::verify_inclusion(
                Scheme::Bitcoin,
                &tree.root(),
                i,
                n as u64,
                &ids[i as usize],
                &proof,
            )
            .unwrap();
        }
    }
}

#[test]
fn a_failed_dispatch_falls_back_to_the_cpu_with_the_same_root() {
    let Some(gpu) = gpu_verifier(128 << 20) else {
        return;
    };
    let mut rng = ChaCha20Rng::seed_from_u64(6);
    let recs = records(1000, 200, &mut rng);
    let want = merkle::merkle_root(Scheme::Rfc9162, &recs).unwrap().root();

    assert!(gpu.inject_gpu_fault(GpuFault::DispatchFailed));
    let report = gpu.merkle_root(Scheme::Rfc9162, &recs).unwrap();
    assert_eq!(report.gpu_fault(), Some(GpuFault::DispatchFailed));
    assert_eq!(report.placement(), Placement::Cpu);
    assert_eq!(report.root(), want);

    // The device is still good: the next job runs on it.
    let report = gpu.merkle_root(Scheme::Rfc9162, &recs).unwrap();
    assert_eq!(
        (report.placement(), report.gpu_fault()),
        (Placement::Gpu, None)
    );
    assert_eq!(report.root(), want);

    assert!(gpu.inject_gpu_fault(GpuFault::DispatchFailed));
    let tree = gpu.merkle_tree(Scheme::Rfc9162, &recs).unwrap();
    assert_eq!(tree.gpu_fault(), Some(GpuFault::DispatchFailed));
    assert_eq!(tree.root(), want);
}

#[test]
fn a_lost_device_falls_back_then_is_reopened() {
    let Some(gpu) = gpu_verifier(128 << 20) else {
        return;
    };
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    let ids = txids(999, &mut rng);
    let want = merkle::merkle_root(Scheme::Bitcoin, &ids).unwrap().root();

    assert!(gpu.inject_gpu_fault(GpuFault::DeviceLost));
    let report = gpu.merkle_root(Scheme::Bitcoin, &ids).unwrap();
    assert_eq!(report.gpu_fault(), Some(GpuFault::DeviceLost));
    assert_eq!(report.placement(), Placement::Cpu);
    assert_eq!(report.root(), want);

    let report = gpu.merkle_root(Scheme::Bitcoin, &ids).unwrap();
    assert_eq!(
        (report.placement(), report.gpu_fault()),
        (Placement::Gpu, None)
    );
    assert_eq!(report.root(), want);
}

#[test]
fn invalid_bitcoin_leaves_are_refused_before_the_gpu() {
    let Some(gpu) = gpu_verifier(128 << 20) else {
        return;
    };
    let leaves = vec![vec![0u8; 32], vec![1u8; 31], vec![2u8; 32]];
    let err = gpu.merkle_root(Scheme::Bitcoin, &leaves).unwrap_err();
    assert_eq!(
        err,
        merkle::merkle_root(Scheme::Bitcoin, &leaves).unwrap_err()
    );
}

#[test]
fn concurrent_jobs_share_one_device() {
    let Some(gpu) = gpu_verifier(8192) else {
        return;
    };
    let gpu = std::sync::Arc::new(gpu);
    let handles: Vec<_> = (0..4u64)
        .map(|t| {
            let gpu = gpu.clone();
            std::thread::spawn(move || {
                let mut rng = ChaCha20Rng::seed_from_u64(100 + t);
                for _ in 0..5 {
                    let n = rng.random_range(0..2000);
                    let recs = records(n, 100, &mut rng);
                    assert_same_root(&gpu, Scheme::Rfc9162, &recs);
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
}

#[test]
fn real_bitcoin_blocks_on_the_gpu_match_their_header_roots() {
    let Some(gpu) = gpu_verifier(128 << 20) else {
        return;
    };
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/bitcoin");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "txt") {
            continue;
        }
        // `root <display hex>` then txids in display order (byte-reversed).
        let display = |h: &str| -> [u8; 32] {
            let mut b: [u8; 32] = hex::decode(h.trim()).unwrap().try_into().unwrap();
            b.reverse();
            b
        };
        let text = std::fs::read_to_string(&path).unwrap();
        let mut root = None;
        let mut ids = Vec::new();
        for line in text.lines().map(str::trim) {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            match line.strip_prefix("root ") {
                Some(r) => root = Some(display(r)),
                None => ids.push(display(line)),
            }
        }
        let report = gpu.merkle_root(Scheme::Bitcoin, &ids).unwrap();
        assert_eq!(report.placement(), Placement::Gpu);
        assert_eq!(Some(report.root()), root, "{}", path.display());
        assert_eq!(report.duplicate_pair(), None);
        checked += 1;
    }
    assert!(
        checked >= 3,
        "expected the three real blocks in {}",
        dir.display()
    );
}
