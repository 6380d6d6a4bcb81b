//! Criterion benchmark of Merkle roots, this crate per SHA-256 path and thread count beside
//! its peers on the same leaves: a naive `sha2` loop (1 thread), a rayon level-by-level
//! `sha2` build (all threads) and the `rs_merkle` crate.
//!
//! `cargo bench --bench merkle`. Workloads (issue 3): RFC 9162 root of 2^20 32-byte leaves;
//! 2^16 leaves of 512-byte records (leaf hashing dominates); Bitcoin root of 2^20 txids; and
//! one level of node hashing. `blockverify bench merkle` prints the same rows as one table
//! with the SHA-NI bound; BENCHMARKS.md records both.

use blockverify::merkle::sha256::Platform;
use blockverify::merkle::{Scheme, hash_level_into, merkle_root, merkle_root_with};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rayon::prelude::*;
use sha2::{Digest, Sha256};

fn records(n: usize, len: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| {
            (0..len)
                .map(|j| (i.wrapping_mul(31) ^ j.wrapping_mul(7)) as u8)
                .collect()
        })
        .collect()
}

fn rfc_leaf(data: &[u8]) -> [u8; 32] {
    Sha256::new()
        .chain_update([0u8])
        .chain_update(data)
        .finalize()
        .into()
}

fn rfc_node(pair: &[[u8; 32]]) -> [u8; 32] {
    match pair {
        [l, r] => Sha256::new()
            .chain_update([1u8])
            .chain_update(l)
            .chain_update(r)
            .finalize()
            .into(),
        [lone] => *lone,
        _ => unreachable!("chunks(2)"),
    }
}

fn btc_node(pair: &[[u8; 32]]) -> [u8; 32] {
    let (l, r) = (pair[0], *pair.get(1).unwrap_or(&pair[0]));
    Sha256::digest(Sha256::new().chain_update(l).chain_update(r).finalize()).into()
}

/// The obvious build: every leaf hash, then level by level, one thread.
fn naive_sha2(scheme: Scheme, leaves: &[Vec<u8>]) -> [u8; 32] {
    let mut level: Vec<[u8; 32]> = match scheme {
        Scheme::Rfc9162 => leaves.iter().map(|l| rfc_leaf(l)).collect(),
        _ => leaves.iter().map(|l| l[..32].try_into().unwrap()).collect(),
    };
    while level.len() > 1 {
        level = match scheme {
            Scheme::Rfc9162 => level.chunks(2).map(rfc_node).collect(),
            _ => level.chunks(2).map(btc_node).collect(),
        };
    }
    level[0]
}

/// The usual parallel build: each level split across rayon's threads.
fn rayon_sha2(scheme: Scheme, leaves: &[Vec<u8>]) -> [u8; 32] {
    let mut level: Vec<[u8; 32]> = match scheme {
        Scheme::Rfc9162 => leaves.par_iter().map(|l| rfc_leaf(l)).collect(),
        _ => leaves
            .par_iter()
            .map(|l| l[..32].try_into().unwrap())
            .collect(),
    };
    while level.len() > 1 {
        level = match scheme {
            Scheme::Rfc9162 => level.par_chunks(2).map(rfc_node).collect(),
            _ => level.par_chunks(2).map(btc_node).collect(),
        };
    }
    level[0]
}

/// `rs_merkle` over plain SHA-256 leaf hashes. Its tree has no domain separation, so its root
/// differs from RFC 9162's; it is here for speed only.
fn rs_merkle_root(leaves: &[Vec<u8>]) -> [u8; 32] {
    use rs_merkle::Hasher as _;
    let hashes: Vec<[u8; 32]> = leaves
        .iter()
        .map(|l| rs_merkle::algorithms::Sha256::hash(l))
        .collect();
    rs_merkle::MerkleTree::<rs_merkle::algorithms::Sha256>::from_leaves(&hashes)
        .root()
        .unwrap_or([0; 32])
}

fn roots(c: &mut Criterion) {
    let workloads = [
        ("rfc9162-2^20x32B", Scheme::Rfc9162, records(1 << 20, 32)),
        ("rfc9162-2^16x512B", Scheme::Rfc9162, records(1 << 16, 512)),
        ("bitcoin-2^20", Scheme::Bitcoin, records(1 << 20, 32)),
    ];
    let threads = rayon::current_num_threads();
    for (label, scheme, leaves) in &workloads {
        let (scheme, leaves) = (*scheme, leaves.as_slice());
        let expected = naive_sha2(scheme, leaves);
        assert_eq!(
            merkle_root(scheme, leaves).unwrap().root(),
            expected,
            "{label}"
        );
        assert_eq!(rayon_sha2(scheme, leaves), expected, "{label}");
        let mut group = c.benchmark_group(format!("merkle/{label}"));
        group.throughput(Throughput::Elements(leaves.len() as u64 - 1));
        group.sample_size(10);
        for platform in Platform::available() {
            if platform == Platform::portable() && leaves.len() > 1 << 16 {
                continue; // minutes per sample; measured on the 2^16 workload
            }
            group.bench_function(
                BenchmarkId::new(format!("blockverify-{}", platform.name()), "1-thread"),
                |b| b.iter(|| merkle_root_with(scheme, platform, leaves).unwrap()),
            );
        }
        group.bench_function(
            BenchmarkId::new("blockverify-detected", format!("{threads}-threads")),
            |b| b.iter(|| merkle_root(scheme, leaves).unwrap()),
        );
        group.bench_function(BenchmarkId::new("naive-sha2", "1-thread"), |b| {
            b.iter(|| naive_sha2(scheme, leaves))
        });
        group.bench_function(
            BenchmarkId::new("rayon-sha2", format!("{threads}-threads")),
            |b| b.iter(|| rayon_sha2(scheme, leaves)),
        );
        if scheme == Scheme::Rfc9162 {
            // rs_merkle builds on one thread.
            group.bench_function(BenchmarkId::new("rs_merkle", "1-thread"), |b| {
                b.iter(|| rs_merkle_root(leaves))
            });
        }
        group.finish();
    }
}

fn node_hashing(c: &mut Criterion) {
    let children: Vec<[u8; 32]> = (0..1u32 << 20)
        .map(|i| Sha256::digest(i.to_le_bytes()).into())
        .collect();
    let mut group = c.benchmark_group("merkle/node-hashing-2^19-rfc9162");
    group.throughput(Throughput::Elements(children.len() as u64 / 2));
    group.sample_size(10);
    // Into a reused buffer: the figure is hashing, not page faults of a fresh 16 MiB vector.
    let mut parents = vec![[0u8; 32]; children.len() / 2];
    for platform in Platform::available() {
        group.bench_function(BenchmarkId::new(platform.name(), "1-thread"), |b| {
            b.iter(|| hash_level_into(Scheme::Rfc9162, platform, &children, &mut parents))
        });
    }
    group.bench_function(BenchmarkId::new("naive-sha2", "1-thread"), |b| {
        b.iter(|| children.chunks(2).map(rfc_node).collect::<Vec<_>>())
    });
    group.finish();
}

criterion_group!(benches, roots, node_hashing);
criterion_main!(benches);
