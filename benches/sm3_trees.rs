//! Criterion benchmark of the SM3 trees (issue 18), this crate per SM3 path beside the
//! RustCrypto `sm3` crate on the same hashes: FISCO BCOS and ChainMaker-SM3 roots of 2^20
//! transaction hashes (this crate on every thread, a rayon level-by-level `sm3` build on every
//! thread, a one-thread `sm3` loop), and one level of SM3 node hashing on one core per path
//! beside `sm3` one node at a time.
//!
//! `cargo bench --bench sm3_trees`. `blockverify bench merkle` prints the same rows in one
//! table (with the system OpenSSL's SM3 when built with `--features system-openssl`);
//! BENCHMARKS.md records both.

use blockverify::merkle::sm3::Platform;
use blockverify::merkle::{Scheme, hash_level_into, merkle_root, merkle_root_with};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rayon::prelude::*;
use sm3::{Digest, Sm3};

fn hashes(n: u32) -> Vec<[u8; 32]> {
    (0..n)
        .map(|i| Sm3::digest(i.to_le_bytes()).into())
        .collect()
}

/// A parent with `sm3`: the pair, or a lone node hashed alone (FISCO) or with itself
/// (ChainMaker).
fn sm3_node(scheme: Scheme, pair: &[[u8; 32]]) -> [u8; 32] {
    let mut h = Sm3::new();
    for node in pair {
        h.update(node);
    }
    if pair.len() == 1 && scheme == Scheme::ChainMakerSm3 {
        h.update(pair[0]);
    }
    h.finalize().into()
}

fn naive_sm3(scheme: Scheme, leaves: &[[u8; 32]]) -> [u8; 32] {
    let mut level = leaves.to_vec();
    while level.len() > 1 {
        level = level.chunks(2).map(|p| sm3_node(scheme, p)).collect();
    }
    level[0]
}

fn rayon_sm3(scheme: Scheme, leaves: &[[u8; 32]]) -> [u8; 32] {
    let mut level = leaves.to_vec();
    while level.len() > 1 {
        level = level.par_chunks(2).map(|p| sm3_node(scheme, p)).collect();
    }
    level[0]
}

fn roots(c: &mut Criterion) {
    let leaves = hashes(1 << 20);
    let threads = rayon::current_num_threads();
    for scheme in [Scheme::FiscoBcos, Scheme::ChainMakerSm3] {
        let expected = naive_sm3(scheme, &leaves);
        assert_eq!(merkle_root(scheme, &leaves).unwrap().root(), expected);
        assert_eq!(rayon_sm3(scheme, &leaves), expected);
        let mut group = c.benchmark_group(format!("merkle/{scheme}-2^20"));
        group.throughput(Throughput::Elements(leaves.len() as u64 - 1));
        group.sample_size(10);
        for platform in Platform::available()
            .into_iter()
            .filter(|p| !p.is_portable())
        {
            group.bench_function(
                BenchmarkId::new(format!("blockverify-{}", platform.name()), "1-thread"),
                |b| b.iter(|| merkle_root_with(scheme, platform, &leaves).unwrap()),
            );
        }
        group.bench_function(
            BenchmarkId::new("blockverify-detected", format!("{threads}-threads")),
            |b| b.iter(|| merkle_root(scheme, &leaves).unwrap()),
        );
        group.bench_function(BenchmarkId::new("sm3-loop", "1-thread"), |b| {
            b.iter(|| naive_sm3(scheme, &leaves))
        });
        group.bench_function(
            BenchmarkId::new("rayon-sm3", format!("{threads}-threads")),
            |b| b.iter(|| rayon_sm3(scheme, &leaves)),
        );
        group.finish();
    }
}

fn node_hashing(c: &mut Criterion) {
    let children = hashes(1 << 20);
    let scheme = Scheme::ChainMakerSm3;
    let mut group = c.benchmark_group("merkle/sm3-node-hashing-2^19");
    group.throughput(Throughput::Elements(children.len() as u64 / 2));
    group.sample_size(10);
    let mut parents = vec![[0u8; 32]; children.len() / 2];
    for platform in Platform::available() {
        group.bench_function(BenchmarkId::new(platform.name(), "1-thread"), |b| {
            b.iter(|| hash_level_into(scheme, platform, &children, &mut parents))
        });
    }
    group.bench_function(
        BenchmarkId::new("sm3-one-node-at-a-time", "1-thread"),
        |b| {
            b.iter(|| {
                children
                    .chunks(2)
                    .map(|p| sm3_node(scheme, p))
                    .collect::<Vec<_>>()
            })
        },
    );
    group.finish();
}

criterion_group!(benches, roots, node_hashing);
criterion_main!(benches);
