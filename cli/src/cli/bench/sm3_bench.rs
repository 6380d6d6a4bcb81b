//! `bench merkle`'s SM3 rows: FISCO BCOS and ChainMaker-SM3 roots and SM3 node hashing, this
//! crate per SM3 path beside the RustCrypto `sm3` crate (one thread, and a rayon level-by-level
//! build) and, with the `system-openssl` feature, the system OpenSSL's SM3.
//!
//! The peers build the chains' trees the way the chains' own code does (FISCO BCOS's
//! `Merkle.h` and ChainMaker's `merkle.go` hash one node at a time, over TBB or goroutines):
//! each level's nodes hashed one by one, a level split across the pool. Every root and level
//! is checked equal to the one-thread `sm3` build before anything is timed.
#![forbid(unsafe_code)]

use blockverify::merkle::sm3::Platform;
use blockverify::merkle::{Scheme, hash_level, hash_level_into, merkle_root_with};
use rayon::prelude::*;
use sm3::{Digest, Sm3};

use super::merkle_bench::{Ctx, PORTABLE_MAX_LEAVES, Row, Rows, check, pseudo_random_leaves};
use super::progress::note;
use super::{CliError, median_time};

/// SM3 of the concatenated parts, with the `sm3` crate.
fn sm3_of(parts: &[[u8; 32]]) -> [u8; 32] {
    let mut h = Sm3::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// A parent with `sm3`: the pair, or a lone last node hashed alone (FISCO BCOS) or with
/// itself (ChainMaker).
fn sm3_node(scheme: Scheme, pair: &[[u8; 32]]) -> [u8; 32] {
    match (pair, scheme) {
        ([lone], Scheme::ChainMakerSm3) => sm3_of(&[*lone, *lone]),
        _ => sm3_of(pair),
    }
}

/// The chains' build on one thread: level by level, one node at a time.
fn naive_sm3(scheme: Scheme, leaves: &[[u8; 32]]) -> [u8; 32] {
    let mut level = leaves.to_vec();
    while level.len() > 1 {
        level = level.chunks(2).map(|p| sm3_node(scheme, p)).collect();
    }
    level.first().copied().unwrap_or([0; 32])
}

/// The same on the current rayon pool, each level split across it.
fn rayon_sm3(scheme: Scheme, leaves: &[[u8; 32]]) -> [u8; 32] {
    let mut level: Vec<[u8; 32]> = leaves.par_chunks(2).map(|p| sm3_node(scheme, p)).collect();
    while level.len() > 1 {
        level = level.par_chunks(2).map(|p| sm3_node(scheme, p)).collect();
    }
    level.first().copied().unwrap_or([0; 32])
}

/// The SM3 workloads: the roots of `2^log2` transaction hashes under both SM3 schemes, and
/// one level of node hashing.
pub(super) fn run(ctx: &Ctx, log2: u32, rows: &mut Vec<Row>) -> Result<(), CliError> {
    let hashes = pseudo_random_leaves::<32>(1 << log2, 11);
    for scheme in [Scheme::FiscoBcos, Scheme::ChainMakerSm3] {
        roots(
            ctx,
            &format!("{scheme} root, 2^{log2} tx hashes"),
            scheme,
            &hashes,
            rows,
        )?;
    }
    node_hashing(
        ctx,
        &format!("sm3 node hashing, one level of 2^{log2} nodes"),
        &hashes,
        rows,
    )
}

fn platforms(n: usize) -> Vec<Platform> {
    Platform::available()
        .into_iter()
        .filter(|&p| !p.is_portable() || n <= PORTABLE_MAX_LEAVES)
        .collect()
}

fn roots(
    ctx: &Ctx,
    workload: &str,
    scheme: Scheme,
    leaves: &[[u8; 32]],
    rows: &mut Vec<Row>,
) -> Result<(), CliError> {
    let threads = ctx.threads;
    note!("bench: {workload} ({threads} threads)");
    let platforms = platforms(leaves.len());
    let expected = naive_sm3(scheme, leaves);
    for &p in &platforms {
        let root = merkle_root_with(scheme, p, leaves)?.root();
        check(
            workload,
            &format!("blockverify {}", p.name()),
            root,
            expected,
        )?;
    }
    let root = ctx.verifier.merkle_root(scheme, leaves)?.root();
    check(workload, "blockverify (all threads)", root, expected)?;
    let root = ctx.pool.install(|| rayon_sm3(scheme, leaves));
    check(workload, "rayon sm3", root, expected)?;

    let first = rows.len();
    let mut out = Rows {
        workload,
        leaves: leaves.len(),
        nodes: leaves.len().saturating_sub(1),
        record_bytes: None,
        rows,
    };
    let reps = ctx.reps;
    for &p in &platforms {
        let t = median_time(reps, || {
            std::hint::black_box(merkle_root_with(scheme, p, leaves).ok());
        });
        out.push(format!("blockverify {} (1 thr)", p.name()), 1, t, true);
    }
    let t = median_time(reps, || {
        std::hint::black_box(ctx.verifier.merkle_root(scheme, leaves).ok());
    });
    out.push(
        format!(
            "blockverify {}, detected ({threads} thr)",
            Platform::detect().name()
        ),
        threads,
        t,
        true,
    );
    let t = median_time(reps.min(5), || {
        std::hint::black_box(naive_sm3(scheme, leaves));
    });
    out.push("sm3 crate, one node at a time (1 thr)".into(), 1, t, true);
    let t = median_time(reps, || {
        ctx.pool
            .install(|| std::hint::black_box(rayon_sm3(scheme, leaves)));
    });
    out.push(
        format!("rayon sm3 level by level ({threads} thr)"),
        threads,
        t,
        true,
    );
    finish(&mut rows[first..]);
    Ok(())
}

fn node_hashing(
    ctx: &Ctx,
    workload: &str,
    children: &[[u8; 32]],
    rows: &mut Vec<Row>,
) -> Result<(), CliError> {
    let threads = ctx.threads;
    let scheme = Scheme::ChainMakerSm3;
    note!("bench: {workload} ({threads} threads)");
    let naive =
        |c: &[[u8; 32]]| -> Vec<[u8; 32]> { c.chunks(2).map(|p| sm3_node(scheme, p)).collect() };
    let parallel = |c: &[[u8; 32]]| -> Vec<[u8; 32]> {
        c.par_chunks(2).map(|p| sm3_node(scheme, p)).collect()
    };
    let expected = naive(children);
    let platforms = platforms(children.len());
    for &p in &platforms {
        if hash_level(scheme, p, children) != expected {
            return Err(format!("{workload}: blockverify {} differs from sm3", p.name()).into());
        }
    }
    if ctx.pool.install(|| parallel(children)) != expected {
        return Err(format!("{workload}: rayon sm3 differs from sm3").into());
    }
    #[cfg(feature = "system-openssl")]
    if openssl_level(children)? != expected {
        return Err(format!("{workload}: OpenSSL SM3 differs from sm3").into());
    }

    let first = rows.len();
    let mut out = Rows {
        workload,
        leaves: children.len(),
        nodes: children.len() / 2,
        record_bytes: None,
        rows,
    };
    let reps = ctx.reps;
    let mut parents = vec![[0u8; 32]; children.len().div_ceil(2)];
    for &p in &platforms {
        let t = median_time(reps, || {
            std::hint::black_box(hash_level_into(scheme, p, children, &mut parents));
        });
        out.push(format!("blockverify {} (1 thr)", p.name()), 1, t, true);
    }
    let t = median_time(reps.min(5), || {
        std::hint::black_box(naive(children));
    });
    out.push("sm3 crate, one node at a time (1 thr)".into(), 1, t, true);
    #[cfg(feature = "system-openssl")]
    {
        let t = median_time(reps.min(5), || {
            std::hint::black_box(openssl_level(children).ok());
        });
        out.push(
            format!(
                "{} SM3, one node at a time (1 thr)",
                openssl::version::version()
                    .split_whitespace()
                    .take(2)
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
            1,
            t,
            true,
        );
    }
    let t = median_time(reps, || {
        ctx.pool
            .install(|| std::hint::black_box(parallel(children)));
    });
    out.push(
        format!("rayon sm3 par_chunks ({threads} thr)"),
        threads,
        t,
        true,
    );
    finish(&mut rows[first..]);
    Ok(())
}

/// One level with the system OpenSSL's SM3 (EVP), one node at a time, reusing one context.
#[cfg(feature = "system-openssl")]
fn openssl_level(children: &[[u8; 32]]) -> Result<Vec<[u8; 32]>, CliError> {
    use openssl::hash::{Hasher, MessageDigest};
    let mut hasher = Hasher::new(MessageDigest::sm3())?;
    children
        .chunks(2)
        .map(|pair| {
            for node in pair {
                hasher.update(node)?;
            }
            if pair.len() == 1 {
                hasher.update(&pair[0])?;
            }
            let digest = hasher.finish()?;
            let mut out = [0u8; 32];
            out.copy_from_slice(&digest);
            Ok(out)
        })
        .collect()
}

/// Ratios over the workload's rayon `sm3` row (SM3 rows have no SHA-NI bound).
fn finish(rows: &mut [Row]) {
    let reference = rows
        .iter()
        .find(|r| r.engine.starts_with("rayon sm3"))
        .map(|r| r.nodes_per_s);
    for r in rows.iter_mut() {
        r.vs_rayon = reference.filter(|&x| x > 0.0).map(|x| r.nodes_per_s / x);
    }
}
